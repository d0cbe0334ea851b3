/* Double opt-in (consent_confirm.c, consent_mail.c, consent_status.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "consent_confirm.h"
#include "consent_mail.h"
#include "consent_unsub.h"

#define TEMPLATES TEST_SRCDIR "/templates"
#define NOW ((apr_time_t)1796000000 * APR_USEC_PER_SEC)
#define DAY apr_time_from_sec(86400)

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-confirm-XXXXXX";
static consent_keyring_t *ring_a, *ring_b;

static consent_keyring_t *ring_from(const char *name, const char *secret)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    consent_keyring_t *ring = consent_keyring_make(pool);
    consent_key_t *key;
    const char *err = NULL;
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(secret, f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(consent_key_load(&key, path, pool, &err), APR_SUCCESS);
    unlink(path);
    consent_keyring_add(ring, key);
    return ring;
}

static consent_confirm_link_t link_for(const char *form_id)
{
    consent_confirm_link_t l;

    memset(&l, 0, sizeof l);
    l.site = "";
    l.form_id = form_id;
    l.receipt_id = "7d1c9a52-0000-4000-8000-000000000001";
    l.subject = "ada@example.org";
    l.lang = "fr";
    l.issued = NOW;
    return l;
}

static const char *issue(consent_keyring_t *ring,
                         const consent_confirm_link_t *l)
{
    const char *token = NULL;

    assert_int_equal(consent_confirm_issue(&token, ring, l, pool),
                     APR_SUCCESS);
    return token;
}

static consent_confirm_status_t open_at(const char *token, apr_time_t now,
                                        consent_confirm_link_t *out)
{
    return consent_confirm_open(out, ring_a, token, "", "newsletter", now,
                                7 * DAY, pool);
}

static void link_round_trip(void **state)
{
    consent_confirm_link_t l = link_for("newsletter"), got;
    const char *token = issue(ring_a, &l);

    (void)state;
    assert_true(strncmp(token, "c1.", 3) == 0);
    assert_null(strstr(token, "ada"));
    assert_int_equal(open_at(token, NOW + DAY, &got), CONSENT_CONFIRM_OK);
    assert_string_equal(got.form_id, "newsletter");
    assert_string_equal(got.receipt_id, l.receipt_id);
    assert_string_equal(got.subject, "ada@example.org");
    assert_string_equal(got.lang, "fr");
    assert_true(got.issued == NOW);
}

static void link_expires(void **state)
{
    consent_confirm_link_t l = link_for("newsletter"), got;
    const char *token = issue(ring_a, &l);

    (void)state;
    assert_int_equal(open_at(token, NOW + 7 * DAY, &got), CONSENT_CONFIRM_OK);
    assert_int_equal(open_at(token, NOW + 7 * DAY + 1, &got),
                     CONSENT_CONFIRM_EXPIRED);
    assert_null(got.subject);
    /* issued in the future beyond clock skew: not ours to trust */
    assert_int_equal(open_at(token, NOW - CONSENT_CONFIRM_SKEW - 1, &got),
                     CONSENT_CONFIRM_EXPIRED);
}

static void every_character_matters(void **state)
{
    consent_confirm_link_t l = link_for("newsletter"), got;
    const char *token = issue(ring_a, &l);
    apr_size_t i, n = strlen(token);

    (void)state;
    for (i = 3; i < n; ++i) {
        char *t = apr_pstrdup(pool, token);

        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(open_at(t, NOW, &got), CONSENT_CONFIRM_OK);
    }
    assert_int_not_equal(open_at(apr_pstrndup(pool, token, n - 4), NOW,
                                 &got), CONSENT_CONFIRM_OK);
}

static void foreign_links(void **state)
{
    consent_confirm_link_t l = link_for("other-form"), got;
    consent_unsub_t u;
    const char *token;

    (void)state;
    assert_int_equal(open_at(issue(ring_a, &l), NOW, &got),
                     CONSENT_CONFIRM_FOREIGN);
    l = link_for("newsletter");
    l.site = "shop.example";
    assert_int_equal(open_at(issue(ring_a, &l), NOW, &got),
                     CONSENT_CONFIRM_FOREIGN);
    l = link_for("newsletter");
    assert_int_equal(open_at(issue(ring_b, &l), NOW, &got),
                     CONSENT_CONFIRM_UNKNOWN_KEY);
    assert_int_equal(open_at(NULL, NOW, &got), CONSENT_CONFIRM_MISSING);
    /* an unsubscribe link, sealed with the same secret, is not one */
    memset(&u, 0, sizeof u);
    u.form_id = "newsletter";
    u.subject = "ada@example.org";
    u.purposes = apr_array_make(pool, 1, sizeof(const char *));
    assert_int_equal(consent_unsub_issue(&token, ring_a, &u, pool),
                     APR_SUCCESS);
    assert_int_equal(open_at(token, NOW, &got), CONSENT_CONFIRM_MALFORMED);
    assert_int_equal(open_at(apr_pstrcat(pool, "c1.", token + 3, NULL), NOW,
                             &got), CONSENT_CONFIRM_FORGED);
}

static consent_proof_t *proof_of(const char *event, const char *receipt,
                                 apr_time_t t, const char *newsletter,
                                 const char *partners)
{
    consent_proof_t *pf = consent_proof_make(pool, event);

    pf->receipt_id = receipt;
    pf->time = t;
    pf->subject = "ada@example.org";
    pf->form_id = "newsletter";
    pf->lang = "en";
    pf->regime = "opt-in";
    if (newsletter) {
        consent_proof_add_choice(pf, "newsletter", newsletter);
    }
    if (partners) {
        consent_proof_add_choice(pf, "partners", partners);
    }
    return pf;
}

static const char *state_of(const consent_status_t *st, const char *purpose)
{
    const consent_purpose_state_t *s = consent_status_get(st, purpose);

    return s ? s->state : "none";
}

static void hold_and_confirm(void **state)
{
    consent_proof_t *sub = proof_of(CONSENT_EVENT_SUBMISSION, "r1", NOW,
                                    "given", "refused");
    consent_status_t *st = consent_status_make(pool);

    (void)state;
    assert_int_equal(consent_confirm_hold(sub), 1);
    consent_status_add(st, sub);
    assert_string_equal(state_of(st, "newsletter"), "pending");
    assert_string_equal(state_of(st, "partners"), "refused");
    /* pending is not mailable */
    assert_true(consent_status_suppressed(st, NULL));
    assert_true(consent_status_suppressed(st, "newsletter"));
    consent_status_add(st, proof_of(CONSENT_EVENT_CONFIRMATION, "r2",
                                    NOW + 1, "given", NULL));
    assert_string_equal(state_of(st, "newsletter"), "given");
    assert_false(consent_status_suppressed(st, NULL));
}

static void confirmation_never_makes_consent_alone(void **state)
{
    consent_status_t *st = consent_status_make(pool);

    (void)state;
    /* no pending submission: a confirmation changes nothing */
    consent_status_add(st, proof_of(CONSENT_EVENT_CONFIRMATION, "r2", NOW,
                                    "given", "given"));
    assert_null(consent_status_get(st, "newsletter"));
    assert_false(consent_status_suppressed(st, NULL));
    /* nor after a refusal, nor after a withdrawal of the pending one */
    consent_status_add(st, proof_of(CONSENT_EVENT_SUBMISSION, "r3",
                                    NOW + 1, "pending", "refused"));
    consent_status_add(st, proof_of(CONSENT_EVENT_WITHDRAWAL, "r4",
                                    NOW + 2, "withdrawn", NULL));
    consent_status_add(st, proof_of(CONSENT_EVENT_CONFIRMATION, "r5",
                                    NOW + 3, "given", "given"));
    assert_string_equal(state_of(st, "newsletter"), "withdrawn");
    assert_string_equal(state_of(st, "partners"), "refused");
}

static void confirmation_proof(void **state)
{
    consent_proof_t *sub = proof_of(CONSENT_EVENT_SUBMISSION, "r1", NOW,
                                    "given", "refused");
    consent_status_t *st = consent_status_make(pool);
    consent_confirm_link_t l = link_for("newsletter"), got;
    consent_request_info_t in;
    consent_form_t form;
    consent_proof_t *pr;

    (void)state;
    memset(&form, 0, sizeof form);
    form.id = "newsletter";
    form.version = 1;
    form.regime_name = "opt-in";
    form.notices = apr_hash_make(pool);
    memset(&in, 0, sizeof in);
    in.now = NOW + DAY;
    in.ip = "192.0.2.1";
    consent_confirm_hold(sub);
    consent_status_add(st, sub);
    l.receipt_id = "r1";
    assert_int_equal(open_at(issue(ring_a, &l), NOW, &got),
                     CONSENT_CONFIRM_OK);
    assert_false(consent_confirm_done(sub, st));
    pr = consent_confirmation_proof(&form, &got, sub, st, &in, pool);
    assert_non_null(pr);
    assert_string_equal(pr->event, "confirmation");
    assert_int_equal(pr->choices->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(pr->choices, 0,
                                      consent_choice_t).state, "given");
    assert_non_null(pr->token_nonce);
    consent_status_add(st, pr);
    assert_true(consent_confirm_done(sub, st));
    /* a repeat finds nothing left to confirm */
    assert_null(consent_confirmation_proof(&form, &got, sub, st, &in, pool));
    /* a newer submission replaces the pending one: its link confirms
     * nothing of the newer */
    st = consent_status_make(pool);
    consent_status_add(st, sub);
    consent_status_add(st, proof_of(CONSENT_EVENT_SUBMISSION, "r9",
                                    NOW + 5, "pending", NULL));
    assert_null(consent_confirmation_proof(&form, &got, sub, st, &in, pool));
}

static void decide(void **state)
{
    consent_confirm_link_t l = link_for("newsletter");
    consent_confirm_history_t *h;
    consent_request_info_t in;
    consent_proof_t *sub, *pr;
    const char *receipt;
    consent_form_t form;

    (void)state;
    memset(&form, 0, sizeof form);
    form.id = "newsletter";
    form.regime_name = "opt-in";
    form.notices = apr_hash_make(pool);
    memset(&in, 0, sizeof in);
    in.now = NOW + DAY;
    l.receipt_id = "r1";
    sub = proof_of(CONSENT_EVENT_SUBMISSION, "r1", NOW, "given", NULL);
    consent_confirm_hold(sub);
    /* nothing in the history: another person's or a made-up receipt */
    h = consent_confirm_history_make(&l, pool);
    consent_confirm_collect(h, proof_of(CONSENT_EVENT_SUBMISSION, "r0",
                                        NOW, "pending", NULL), NULL);
    assert_int_equal(consent_confirm_decide(&form, &l, h, &in, &pr,
                                            &receipt, pool),
                     CONSENT_CONFIRM_UNKNOWN);
    consent_confirm_collect(h, sub, NULL);
    form.id = "signup";
    assert_int_equal(consent_confirm_decide(&form, &l, h, &in, &pr,
                                            &receipt, pool),
                     CONSENT_CONFIRM_UNKNOWN);
    form.id = "newsletter";
    assert_int_equal(consent_confirm_decide(&form, &l, h, &in, &pr,
                                            &receipt, pool),
                     CONSENT_CONFIRM_RECORD);
    pr->receipt_id = "r2";
    consent_confirm_collect(h, pr, NULL);
    assert_int_equal(consent_confirm_decide(&form, &l, h, &in, &pr,
                                            &receipt, pool),
                     CONSENT_CONFIRM_ALREADY);
    assert_string_equal(receipt, "r2");
    assert_null(pr);
    consent_confirm_collect(h, proof_of(CONSENT_EVENT_WITHDRAWAL, "r3",
                                        NOW + 2 * DAY, "withdrawn", NULL),
                            NULL);
    assert_int_equal(consent_confirm_decide(&form, &l, h, &in, &pr,
                                            &receipt, pool),
                     CONSENT_CONFIRM_NOTHING);
}

/* ---- the message ------------------------------------------------------ */

static consent_form_t *example_form(consent_ui_t **ui)
{
    apr_array_header_t *problems = apr_array_make(pool, 2,
                                                  sizeof(consent_problem_t));
    consent_schema_t *schema = NULL;
    consent_form_t *form = NULL;

    assert_int_equal(consent_ui_load(ui, TEMPLATES, problems, pool),
                     APR_SUCCESS);
    assert_int_equal(consent_schema_load(&schema,
                                         TEMPLATES "/consent-form.rng",
                                         problems, pool), APR_SUCCESS);
    assert_int_equal(consent_form_compile(&form, schema,
                                          TEMPLATES "/examples/newsletter.xml",
                                          problems, pool), APR_SUCCESS);
    return form;
}

static consent_mail_t mail_for(const char *lang)
{
    consent_proof_t *sub = proof_of(CONSENT_EVENT_SUBMISSION,
                                    "8a6b8c1e-1111-4222-8333-944445555666",
                                    NOW, "pending", "refused");
    consent_mail_t m;

    memset(&m, 0, sizeof m);
    sub->lang = lang;
    m.proof = sub;
    m.form = example_form((consent_ui_t **)&m.ui);
    m.from = "Example <noreply@example.org>";
    m.confirm_url = "https://example.org/newsletter/confirm?t=c1.AAAA";
    m.unsubscribe_url = "https://example.org/newsletter/unsubscribe?t=u1.B";
    m.expires = NOW + 7 * DAY;
    return m;
}

/* The header block of a message, unfolded. */
static const char *headers_of(const char *msg)
{
    const char *end = strstr(msg, "\n\n");

    assert_non_null(end);
    return apr_pstrmemdup(pool, msg, end - msg + 1);
}

static void message_headers(void **state)
{
    consent_mail_t m = mail_for("fr");
    const char *msg = NULL, *h, *line;

    (void)state;
    assert_int_equal(consent_mail_build(&msg, &m, pool), APR_SUCCESS);
    h = headers_of(msg);
    assert_non_null(strstr(h, "From: Example <noreply@example.org>\n"));
    assert_non_null(strstr(h, "To: ada@example.org\n"));
    assert_non_null(strstr(h, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(h, "Date: Mon, 30 Nov 2026 00:53:20 +0000\n"));
    assert_non_null(strstr(h, "Message-ID: <"));
    assert_non_null(strstr(h, "@example.org>\n"));
    assert_non_null(strstr(h, "MIME-Version: 1.0\n"));
    assert_non_null(strstr(h, "Content-Type: text/plain; charset=utf-8\n"));
    assert_non_null(strstr(h, "Content-Transfer-Encoding: "
                              "quoted-printable\n"));
    assert_non_null(strstr(h, "List-Unsubscribe: <https://example.org/"
                              "newsletter/unsubscribe?t=u1.B>\n"));
    assert_non_null(strstr(h, "List-Unsubscribe-Post: "
                              "List-Unsubscribe=One-Click\n"));
    /* every line of the message is 7-bit and short */
    for (line = msg; *line; ) {
        const char *nl = strchr(line, '\n');
        apr_size_t n = nl ? (apr_size_t)(nl - line) : strlen(line);
        apr_size_t i;

        assert_true(n <= 78);
        for (i = 0; i < n; ++i) {
            assert_true((unsigned char)line[i] < 0x80);
        }
        line += n + (nl ? 1 : 0);
    }
}

static void message_refuses_header_injection(void **state)
{
    consent_mail_t m = mail_for("en");
    const char *msg = NULL;

    (void)state;
    ((consent_proof_t *)m.proof)->subject = "ada@example.org\nBcc: x@y.z";
    assert_int_equal(consent_mail_build(&msg, &m, pool), APR_EINVAL);
    assert_null(msg);
    ((consent_proof_t *)m.proof)->subject = "ada@example.org\rBcc: x@y.z";
    assert_int_equal(consent_mail_build(&msg, &m, pool), APR_EINVAL);
    ((consent_proof_t *)m.proof)->subject = "";
    assert_int_equal(consent_mail_build(&msg, &m, pool), APR_EINVAL);
    m = mail_for("en");
    m.from = "a@b.c\nX: y";
    assert_int_equal(consent_mail_build(&msg, &m, pool), APR_EINVAL);
}

static void mail_from_values(void **state)
{
    const char *why;

    (void)state;
    assert_true(consent_mail_from_ok("noreply@example.org", &why, pool));
    assert_true(consent_mail_from_ok("Example SAS <noreply@example.org>",
                                     &why, pool));
    assert_false(consent_mail_from_ok("noreply", &why, pool));
    assert_non_null(why);
    assert_false(consent_mail_from_ok("Ex, \"SAS\" <n@example.org>", &why,
                                      pool));
    assert_false(consent_mail_from_ok("Ex <n@example.org", &why, pool));
    assert_false(consent_mail_from_ok("n@example.org\n", &why, pool));
    assert_false(consent_mail_from_ok("a b@example.org", &why, pool));
}

static void mail_command(void **state)
{
    const char *why, *status;
    const char *const *argv;

    (void)state;
    assert_null(consent_mail_argv("sendmail -t", &why, pool));
    assert_null(consent_mail_argv("", &why, pool));
    assert_null(consent_mail_argv("/nonexistent/sendmail", &why, pool));
    argv = consent_mail_argv("/bin/sh -c 'cat >/dev/null; exit 3'", &why,
                             pool);
    assert_non_null(argv);
    assert_int_not_equal(consent_mail_send(argv, "hello\n",
                                           apr_time_from_sec(10), &status,
                                           pool), APR_SUCCESS);
    assert_string_equal(status, "exit status 3");
    argv = consent_mail_argv("/bin/sh -c 'cat >/dev/null'", &why, pool);
    assert_int_equal(consent_mail_send(argv, "hello\n",
                                       apr_time_from_sec(10), &status, pool),
                     APR_SUCCESS);
    /* a stuck command is killed, not waited for */
    argv = consent_mail_argv("/bin/sleep 30", &why, pool);
    assert_int_equal(consent_mail_send(argv, "hello\n",
                                       apr_time_from_msec(200), &status,
                                       pool), APR_TIMEUP);
    assert_non_null(strstr(status, "killed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(link_round_trip),
        cmocka_unit_test(link_expires),
        cmocka_unit_test(every_character_matters),
        cmocka_unit_test(foreign_links),
        cmocka_unit_test(hold_and_confirm),
        cmocka_unit_test(confirmation_never_makes_consent_alone),
        cmocka_unit_test(confirmation_proof),
        cmocka_unit_test(decide),
        cmocka_unit_test(message_headers),
        cmocka_unit_test(message_refuses_header_injection),
        cmocka_unit_test(mail_from_values),
        cmocka_unit_test(mail_command),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_non_null(mkdtemp(tmpdir));
    ring_a = ring_from("a.key", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ring_b = ring_from("b.key", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(tmpdir);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
