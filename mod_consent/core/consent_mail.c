/*
 * The confirmation message and the mail command (consent_mail.h).
 */
#include <apr_encode.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <openssl/rand.h>
#include <signal.h>

#include "consent_mail.h"
#include "consent_confirm.h"
#include "consent_hex.h"
#include "consent_unsub.h"

#define QP_WIDTH 75
/* 45 bytes of UTF-8 make 60 characters of base64: a 72-column word */
#define WORD_BYTES 45
#define MAX_ADDRESS 320

/* ---- header values ---------------------------------------------------- */

/* Nothing that could end a header line or start another. */
static int header_ok(const char *v)
{
    if (v == NULL) {
        return 0;
    }
    for (; *v; ++v) {
        if ((unsigned char)*v < ' ' || *v == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int is_ascii(const char *v)
{
    for (; *v; ++v) {
        if ((unsigned char)*v > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* "Subject:" with RFC 2047 "B" encoded words, one per folded line, each
 * cut between UTF-8 characters. */
static const char *subject_header(const char *text, apr_pool_t *p)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    apr_size_t len = strlen(text), off = 0, n;

    while (off < len) {
        n = len - off > WORD_BYTES ? WORD_BYTES : len - off;
        while (off + n < len && n > 1
               && ((unsigned char)text[off + n] & 0xc0) == 0x80) {
            --n;                    /* never cut a character in two */
        }
        /* folded: every word after the first on a line of its own */
        APR_ARRAY_PUSH(words, const char *) = apr_pstrcat(
            p, off ? "\n " : "", "=?UTF-8?B?",
            apr_pencode_base64(p, text + off, n, APR_ENCODE_NONE, NULL),
            "?=", NULL);
        off += n;
    }
    return apr_pstrcat(p, "Subject: ", apr_array_pstrcat(p, words, 0),
                       "\n", NULL);
}

/* RFC 5322 date, always in English and UTC whatever the locale. */
static const char *mail_date(apr_time_t t, apr_pool_t *p)
{
    static const char *const days[] = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static const char *const months[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
        "Oct", "Nov", "Dec"
    };
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%s, %02d %s %d %02d:%02d:%02d +0000",
                        days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                        tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
}

/* The date a person reads in the body: 2026-12-08 04:50 UTC. */
static const char *body_date(apr_time_t t, apr_pool_t *p)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

static const char *domain_of(const char *from, apr_pool_t *p)
{
    const char *at = strrchr(from, '@');
    apr_size_t n = at ? strcspn(at + 1, ">") : 0;

    return n ? apr_pstrmemdup(p, at + 1, n) : "localhost";
}

static const char *message_id(const char *from, apr_pool_t *p)
{
    unsigned char r[16];

    if (RAND_bytes(r, sizeof r) != 1) {
        return NULL;
    }
    return apr_pstrcat(p, "<", consent_hex(p, r, sizeof r), ".consent@",
                       domain_of(from, p), ">", NULL);
}

/* ---- body ------------------------------------------------------------- */

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text whose lines end in LF. A
 * dot or "From " at the start of a line is encoded too, so that neither
 * a sendmail without -i nor an mbox can take it for something else. */
static const char *quoted_printable(const char *text, apr_pool_t *p)
{
    apr_size_t len = strlen(text), i, o = 0, col = 0;
    char *out = apr_palloc(p, len * 4 + len / QP_WIDTH * 2 + 4);
    static const char hex[] = "0123456789ABCDEF";

    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)text[i];
        int last = i + 1 == len || text[i + 1] == '\n', enc;

        if (c == '\n') {
            out[o++] = '\n';
            col = 0;
            continue;
        }
        enc = c == '=' || c > 126 || (c < ' ' && c != '\t')
              || ((c == ' ' || c == '\t') && last)
              || (col == 0 && (c == '.' || strncmp(text + i, "From ", 5)
                                            == 0));
        if (col + (enc ? 3 : 1) > QP_WIDTH - (last ? 0 : 1)) {
            out[o++] = '=';
            out[o++] = '\n';
            col = 0;
        }
        if (enc) {
            out[o++] = '=';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
            col += 3;
        }
        else {
            out[o++] = (char)c;
            ++col;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *text(const consent_mail_t *m, const char *key)
{
    return consent_ui_text(m->ui, m->proof->lang, key);
}

/* The purposes waiting for this confirmation, one line each. */
static const char *purpose_lines(const consent_mail_t *m, apr_pool_t *p)
{
    apr_array_header_t *lines = apr_array_make(p, 4, sizeof(const char *));
    const apr_array_header_t *ch = m->proof->choices;
    int i, idx;

    for (i = 0; ch && i < ch->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(ch, i, consent_choice_t);
        const consent_purpose_t *pu;
        const char *label;

        idx = consent_form_purpose_index(m->form, c->purpose);
        if (idx < 0 || strcmp(c->state, CONSENT_STATE_PENDING) != 0) {
            continue;
        }
        pu = APR_ARRAY_IDX(m->form->purposes, idx, const consent_purpose_t *);
        label = consent_text(pu->labels, m->proof->lang);
        APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(
            p, "  - ", label ? label : pu->id, "\n", NULL);
    }
    return apr_array_pstrcat(p, lines, 0);
}

static const char *body(const consent_mail_t *m, apr_pool_t *p)
{
    const consent_controller_t *ctl = m->form->controller;

    return apr_pstrcat(
        p, text(m, "confirm_email.mail.greeting"), "\n\n",
        text(m, "confirm_email.mail.intro"), "\n\n",
        purpose_lines(m, p), "\n",
        text(m, "confirm_email.mail.action"), "\n",
        m->confirm_url, "\n\n",
        text(m, "confirm_email.mail.expires"), " ",
        body_date(m->expires, p), "\n\n",
        text(m, "confirm_email.mail.ignore"), "\n\n",
        "-- \n",
        text(m, "form.controller"), ": ", ctl ? ctl->name : "",
        ctl && ctl->contact ? apr_pstrcat(p, " <", ctl->contact, ">", NULL)
                            : "", "\n",
        text(m, "form.policy"), ": ", ctl && ctl->policy ? ctl->policy : "",
        "\n",
        text(m, "confirm.receipt"), ": ", m->proof->receipt_id, "\n",
        NULL);
}

apr_status_t consent_mail_build(const char **message,
                                const consent_mail_t *m, apr_pool_t *p)
{
    const consent_controller_t *ctl = m->form->controller;
    const char *subject, *id;

    *message = NULL;
    subject = apr_pstrcat(p, text(m, "confirm_email.mail.subject"),
                          ctl && ctl->name ? " - " : "",
                          ctl && ctl->name ? ctl->name : "", NULL);
    id = message_id(m->from, p);
    /* every value checked: the address comes from a form */
    if (!header_ok(m->from) || !header_ok(m->proof->subject)
        || !is_ascii(m->proof->subject) || !*m->proof->subject
        || strlen(m->proof->subject) > MAX_ADDRESS
        || !header_ok(subject) || !header_ok(m->confirm_url)
        || !header_ok(m->proof->lang) || !is_ascii(m->proof->lang)
        || !header_ok(m->unsubscribe_url) || !id) {
        return APR_EINVAL;
    }
    *message = apr_pstrcat(
        p, "From: ", m->from, "\n",
        "To: ", m->proof->subject, "\n",
        subject_header(subject, p),
        "Date: ", mail_date(m->proof->time, p), "\n",
        "Message-ID: ", id, "\n",
        "MIME-Version: 1.0\n",
        "Content-Type: text/plain; charset=utf-8\n",
        "Content-Transfer-Encoding: quoted-printable\n",
        "Content-Language: ", m->proof->lang, "\n",
        /* RFC 3834: no vacation reply to a machine */
        "Auto-Submitted: auto-generated\n",
        "List-Unsubscribe: <", m->unsubscribe_url, ">\n",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n",
        "\n",
        quoted_printable(body(m, p), p), NULL);
    return APR_SUCCESS;
}

apr_status_t consent_confirm_message(const char **message,
                                     const consent_keyring_t *ring,
                                     const consent_ui_t *ui,
                                     const consent_form_t *form,
                                     const consent_proof_t *proof,
                                     const char *from, const char *base,
                                     const char *site,
                                     apr_interval_time_t lifetime,
                                     apr_pool_t *p)
{
    consent_confirm_link_t link;
    const char *ctok, *utok;
    consent_unsub_t u;
    consent_mail_t m;

    *message = NULL;
    memset(&link, 0, sizeof link);
    link.site = site ? site : "";
    link.form_id = form->id;
    link.receipt_id = proof->receipt_id;
    link.subject = proof->subject;
    link.lang = proof->lang;
    link.issued = proof->time;
    memset(&u, 0, sizeof u);
    u.form_id = form->id;
    u.subject = proof->subject;
    u.purposes = apr_array_make(p, 1, sizeof(const char *));
    if (consent_confirm_issue(&ctok, ring, &link, p) != APR_SUCCESS
        || consent_unsub_issue(&utok, ring, &u, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    memset(&m, 0, sizeof m);
    m.ui = ui;
    m.form = form;
    m.proof = proof;
    m.from = from;
    m.confirm_url = apr_pstrcat(p, base, "/confirm?t=", ctok, NULL);
    m.unsubscribe_url = apr_pstrcat(p, base, "/unsubscribe?t=", utok, NULL);
    m.expires = proof->time + lifetime;
    return consent_mail_build(message, &m, p);
}

/* ---- ConsentMailFrom -------------------------------------------------- */

static int addr_spec_ok(const char *a, apr_size_t n)
{
    const char *at = memchr(a, '@', n);
    apr_size_t i;

    if (!at || at == a || at == a + n - 1 || memchr(at + 1, '@',
                                                    a + n - at - 1)
        || n > MAX_ADDRESS) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)a[i];

        if (c <= ' ' || c > 0x7e || strchr("<>()[]\\,;:\"", c)) {
            return 0;
        }
    }
    return 1;
}

int consent_mail_from_ok(const char *addr, const char **why, apr_pool_t *p)
{
    const char *lt = strchr(addr, '<'), *c;
    apr_size_t n = strlen(addr);

    *why = NULL;
    if (!lt) {
        if (addr_spec_ok(addr, n)) {
            return 1;
        }
        *why = "not an address such as noreply@example.org";
        return 0;
    }
    for (c = addr; c < lt; ++c) {
        if (!apr_isalnum(*c) && !strchr(" .!#$%&'*+-/=?^_`{|}~", *c)) {
            *why = apr_psprintf(p, "the name before <...> may hold ASCII "
                                "letters, digits, spaces and dots only, not "
                                "'%c'", *c);
            return 0;
        }
    }
    if (addr[n - 1] != '>' || !addr_spec_ok(lt + 1, addr + n - 1 - lt - 1)) {
        *why = "not of the form Name <noreply@example.org>";
        return 0;
    }
    return 1;
}

/* ---- the command ------------------------------------------------------ */

const char *const *consent_mail_argv(const char *command, const char **why,
                                     apr_pool_t *p)
{
    char **argv = NULL;
    apr_finfo_t fi;

    *why = NULL;
    if (!command || apr_tokenize_to_argv(command, &argv, p) != APR_SUCCESS
        || !argv || !argv[0] || !*argv[0]) {
        *why = "an empty command";
        return NULL;
    }
    if (argv[0][0] != '/') {
        *why = apr_pstrcat(p, argv[0], " is not an absolute path", NULL);
        return NULL;
    }
    if (apr_stat(&fi, argv[0], APR_FINFO_TYPE | APR_FINFO_PROT, p)
        != APR_SUCCESS || fi.filetype != APR_REG
        || !(fi.protection & (APR_UEXECUTE | APR_GEXECUTE | APR_WEXECUTE))) {
        *why = apr_pstrcat(p, argv[0], " is not an executable file", NULL);
        return NULL;
    }
    return (const char *const *)argv;
}

/* Waits for the child until deadline; 1 when it ended. */
static int wait_until(apr_proc_t *proc, apr_time_t deadline, int *code,
                      apr_exit_why_e *why)
{
    apr_interval_time_t nap = apr_time_from_msec(1);

    for (;;) {
        if (apr_proc_wait(proc, code, why, APR_NOWAIT) == APR_CHILD_DONE) {
            return 1;
        }
        if (apr_time_now() >= deadline) {
            return 0;
        }
        apr_sleep(nap);
        if (nap < apr_time_from_msec(50)) {
            nap *= 2;
        }
    }
}

static apr_status_t feed(apr_proc_t *proc, const char *message,
                         apr_interval_time_t timeout)
{
    apr_size_t len = strlen(message);
    apr_status_t rv;

    apr_file_pipe_timeout_set(proc->in, timeout);
    rv = apr_file_write_full(proc->in, message, len, NULL);
    apr_file_close(proc->in);
    return rv;
}

apr_status_t consent_mail_send(const char *const *argv, const char *message,
                               apr_interval_time_t timeout,
                               const char **status, apr_pool_t *p)
{
    apr_time_t deadline = apr_time_now() + timeout;
    apr_procattr_t *attr;
    apr_exit_why_e why = APR_PROC_EXIT;
    apr_proc_t proc;
    apr_status_t rv;
    int code = 0;

    *status = NULL;
    if ((rv = apr_procattr_create(&attr, p)) != APR_SUCCESS
        || (rv = apr_procattr_io_set(attr, APR_CHILD_BLOCK, APR_NO_PIPE,
                                     APR_NO_PIPE)) != APR_SUCCESS
        || (rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM))
           != APR_SUCCESS
        || (rv = apr_procattr_error_check_set(attr, 1)) != APR_SUCCESS
        || (rv = apr_proc_create(&proc, argv[0], argv, NULL, attr, p))
           != APR_SUCCESS) {
        *status = apr_psprintf(p, "cannot run %s: %pm", argv[0], &rv);
        return rv;
    }
    /* a command that exits without reading gives EPIPE: its exit status
     * says more, so it is the one reported */
    feed(&proc, message, timeout);
    if (!wait_until(&proc, deadline, &code, &why)) {
        apr_proc_kill(&proc, SIGKILL);
        apr_proc_wait(&proc, &code, &why, APR_WAIT);
        *status = apr_psprintf(p, "timed out after %" APR_TIME_T_FMT
                               " s and killed", apr_time_sec(timeout));
        return APR_TIMEUP;
    }
    if (APR_PROC_CHECK_EXIT(why) && code == 0) {
        return APR_SUCCESS;
    }
    *status = APR_PROC_CHECK_SIGNALED(why)
              ? apr_psprintf(p, "killed by signal %d", code)
              : apr_psprintf(p, "exit status %d", code);
    return APR_EGENERAL;
}
