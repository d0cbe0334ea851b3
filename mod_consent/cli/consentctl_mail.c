/*
 * consentctl unsubscribe-url and suppression-list: what a mailer (listmonk,
 * Mautic, a script around sendmail) needs so that every message carries a
 * working one-click unsubscribe and nobody who left is written to again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>

#include <apr_getopt.h>
#include <openssl/evp.h>

#include "consentctl_store.h"
#include "consent_status.h"
#include "consent_purge.h"
#include "consent_unsub.h"
#include "consent_notice.h"
#include "consent_hex.h"
#include "consent_utf8.h"

#define EXIT_PROBLEM CONSENTCTL_PROBLEM
#define EXIT_USAGE CONSENTCTL_USAGE

/* ---- unsubscribe-url ------------------------------------------------ */

typedef struct {
    const char *base;
    const char *form_file;      /* --form-file: check --form, --purpose */
    consent_unsub_t link;
} url_args_t;

static int parse_url_args(const consentctl_opts *o, int argc,
                          const char *const *argv, url_args_t *a)
{
    static const apr_getopt_option_t opts[] = {
        { "base", 'b', 1, "the form's location, https://site/newsletter" },
        { "form", 'f', 1, "the form's id" },
        { "subject", 'S', 1, "the person (their email address)" },
        { "purpose", 'P', 1, "a purpose to stop (repeatable; none: all)" },
        { "form-file", 'F', 1, "the form's definition, to check the ids" },
        { NULL, 0, 0, NULL }
    };
    const char *arg;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt;

    memset(a, 0, sizeof *a);
    a->link.purposes = apr_array_make(o->pool, 4, sizeof(const char *));
    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case 'b': a->base = arg; break;
        case 'f': a->link.form_id = arg; break;
        case 'S': a->link.subject = consentctl_subject(o->pool, arg); break;
        case 'F': a->form_file = arg; break;
        case 'P': APR_ARRAY_PUSH(a->link.purposes, const char *) = arg;
            break;
        }
    }
    return rv == APR_EOF && os->ind == argc && a->base && a->link.form_id
           && a->link.subject && *a->link.subject;
}

/*
 * A mail client opens the link from anywhere: it must be absolute. It
 * goes into a mail header between < and >: a CR or LF would start a
 * header of its own (a Bcc:), so anything but printable ASCII without
 * space, quote or angle bracket is refused (non-ASCII is %-encoded in a
 * URL anyway).
 */
static const char *link_base(apr_pool_t *p, const char *base)
{
    apr_size_t n = strlen(base), scheme;
    const char *c;

    if (strncasecmp(base, "https://", 8) == 0) {
        scheme = 8;
    }
    else if (strncasecmp(base, "http://", 7) == 0) {
        scheme = 7;
    }
    else {
        return NULL;
    }
    for (c = base; *c; ++c) {
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f
            || strchr("<>\"\\^`{|}", *c)) {
            return NULL;
        }
    }
    if (base[scheme] == '\0' || strchr("/?#@", base[scheme])) {
        return NULL;    /* no host */
    }
    while (n > 0 && base[n - 1] == '/') {
        --n;
    }
    return apr_pstrmemdup(p, base, n);
}

/* Ids in the schema's syntax; with --form-file, ids of that form. */
static int check_ids(const consentctl_opts *o, const url_args_t *a)
{
    const consent_form_t *form = NULL;
    int i;

    if (!consent_identifier_valid(a->link.form_id)) {
        fprintf(stderr, "consentctl unsubscribe-url: --form: not a form "
                "id ([A-Za-z][A-Za-z0-9_.-]*)\n");
        return EXIT_USAGE;
    }
    if (a->form_file) {
        if (!(form = consentctl_load_form(o, a->form_file))) {
            return EXIT_PROBLEM;
        }
        if (strcmp(form->id, a->link.form_id) != 0) {
            fprintf(stderr, "consentctl unsubscribe-url: --form %s: %s "
                    "defines form %s\n", a->link.form_id, a->form_file,
                    form->id);
            return EXIT_USAGE;
        }
    }
    for (i = 0; i < a->link.purposes->nelts; ++i) {
        const char *id = APR_ARRAY_IDX(a->link.purposes, i, const char *);

        if (!consent_identifier_valid(id)
            || (form && consent_form_purpose_index(form, id) < 0)) {
            fprintf(stderr, "consentctl unsubscribe-url: --purpose: %s\n",
                    form ? "not a purpose of the form"
                         : "not a purpose id ([A-Za-z][A-Za-z0-9_.-]*)");
            return EXIT_USAGE;
        }
    }
    return 0;
}

int consentctl_unsubscribe_url(const consentctl_opts *o, int argc,
                               const char *const *argv)
{
    consent_keyring_t *ring;
    const char *token, *base, *url, *why, *site = o->site;
    url_args_t a;
    int rc;

    if (!parse_url_args(o, argc, argv, &a) || o->key_files->nelts == 0) {
        fprintf(stderr, "usage: consentctl -k KEYFILE unsubscribe-url "
                "--base URL --form ID --subject S [--purpose P]... "
                "[--form-file FILE]\n");
        return EXIT_USAGE;
    }
    if (!(base = link_base(o->pool, a.base))) {
        /* not echoed: it may hold the line breaks refused here */
        fprintf(stderr, "consentctl unsubscribe-url: --base: expected an "
                "absolute http(s) URL, printable ASCII, no space\n");
        return EXIT_USAGE;
    }
    if ((why = consent_subject_problem(a.link.subject)) != NULL) {
        fprintf(stderr, "consentctl unsubscribe-url: --subject: %s\n",
                why);
        return EXIT_USAGE;
    }
    if ((rc = check_ids(o, &a)) != 0) {
        return rc;
    }
    /* links open at one site only: --site, a site key's, else --base's */
    if (!(ring = consentctl_site_keyring(o, &site, consentctl_site_of_url(
                                             a.base, o->pool)))) {
        return EXIT_USAGE;
    }
    if (consent_unsub_issue(&token, ring, &a.link, o->pool)
        != APR_SUCCESS) {
        fprintf(stderr, "consentctl unsubscribe-url: cannot make the link "
                "(a value too long?)\n");
        return EXIT_PROBLEM;
    }
    url = apr_pstrcat(o->pool, base, "/unsubscribe?t=", token, NULL);
    printf("%s\nList-Unsubscribe: <%s>\n"
           "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n", url, url);
    return 0;
}

/* ---- suppression-list ----------------------------------------------- */

/* The store hands every person's proofs together (ordered by subject):
 * one person's state is folded at a time, judged, printed, forgotten. */
typedef struct {
    apr_pool_t *pool;           /* the current person's, cleared after */
    consent_status_t *status;
    const char *subject;        /* in pool; NULL before the first */
    const char *purpose;        /* --purpose, or NULL */
    int hash;                   /* --hashed */
    int csv;                    /* --csv */
    int risky;                  /* plain lines a spreadsheet would run */
    int failed;                 /* the output could not be written */
    int tombs;                  /* the person's proofs are all tombstones */
    int erased;                 /* purged objectors left out of plain */
} people_t;

/* Lower-case hex SHA-256 of the subject as the store spells it (an
 * address lower-cased: consent_subject_normalise()). */
static const char *hashed(apr_pool_t *p, const char *subject)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const char *low = consent_subject_normalise(p, subject);

    if (!EVP_Digest(low, strlen(low), digest, &n, EVP_sha256(), NULL)) {
        return NULL;
    }
    return consent_hex(p, digest, n);
}

/* A cell a spreadsheet would run as a formula (OWASP "CSV injection"). */
static int formula_like(const char *s)
{
    return *s && strchr("=+-@\t\r", *s) != NULL;
}

/*
 * --csv: RFC 4180 quoting, and a formula-like cell behind a quote mark
 * so that a spreadsheet shows it as text. For people opening the list;
 * a mailer reads the plain output, which stays exact (a suppression
 * must match the address byte for byte).
 */
static int print_csv_cell(const char *s)
{
    int bad = putchar('"') == EOF
              || (formula_like(s) && putchar('\'') == EOF);

    for (; *s; ++s) {
        bad |= (*s == '"' && putchar('"') == EOF) || putchar(*s) == EOF;
    }
    return bad || fputs("\"\r\n", stdout) == EOF;
}

static void print_line(people_t *pp, const char *line)
{
    if (line == NULL) {
        pp->failed = 1;
    }
    else if (pp->csv) {
        pp->failed |= print_csv_cell(line);
    }
    else {
        pp->risky += formula_like(line);
        pp->failed |= printf("%s\n", line) < 0;
    }
}

/* Prints the person folded so far if suppressed, then forgets them. */
static void person_done(people_t *pp)
{
    /* a purged objector is known by the hash of the address only
     * (consent_purge.h): listed by --hashed, as everyone there */
    int purged = pp->tombs && !strncmp(pp->subject ? pp->subject : "",
                                       CONSENT_PURGE_HASH_PREFIX,
                                       strlen(CONSENT_PURGE_HASH_PREFIX));

    if (pp->subject != NULL
        && consent_status_suppressed(pp->status, pp->purpose)) {
        if (purged && !pp->hash) {
            ++pp->erased;
        }
        else {
            print_line(pp, purged ? pp->subject
                                    + strlen(CONSENT_PURGE_HASH_PREFIX)
                       : pp->hash ? hashed(pp->pool, pp->subject)
                       : pp->subject);
        }
    }
    apr_pool_clear(pp->pool);
    pp->subject = NULL;
    pp->status = NULL;
}

static apr_status_t note_person(void *baton, const consent_proof_t *pf,
                                apr_pool_t *scratch)
{
    people_t *pp = baton;

    if (pf->subject == NULL || *pf->subject == '\0') {
        return APR_SUCCESS;
    }
    if (pp->subject == NULL || strcmp(pp->subject, pf->subject) != 0) {
        person_done(pp);
        pp->subject = apr_pstrdup(pp->pool, pf->subject);
        pp->status = consent_status_make(pp->pool);
        pp->tombs = 1;
    }
    pp->tombs &= pf->erasure != NULL;
    consent_status_add(pp->status, pf);
    return pp->failed ? APR_EGENERAL : APR_SUCCESS;
}

/* made before subjects like these were refused at input */
static void warn_risky(const people_t *pp)
{
    if (pp->erased) {
        fprintf(stderr, "consentctl suppression-list: %d objector%s purged "
                "since, known by the hash of the address only: listed by "
                "--hashed\n", pp->erased, pp->erased == 1 ? "" : "s");
    }
    if (pp->risky) {
        fprintf(stderr, "consentctl suppression-list: %d subject%s "
                "start%s with = + - or @: open the list as text, or use "
                "--csv\n", pp->risky, pp->risky == 1 ? "" : "s",
                pp->risky == 1 ? "s" : "");
    }
}

int consentctl_suppression_list(const consentctl_opts *o, int argc,
                                const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "hashed", 'H', 0, "SHA-256 of each address instead" },
        { "purpose", 'P', 1, "only those who must not get this purpose" },
        { "csv", 'C', 0, "CSV for a spreadsheet (formulas neutralised)" },
        { NULL, 0, 0, NULL }
    };
    const char *arg, *err = NULL;
    consent_store_t *store;
    apr_getopt_t *os;
    apr_status_t rv;
    people_t pp;
    int opt;

    memset(&pp, 0, sizeof pp);
    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        if (opt == 'H') {
            pp.hash = 1;
        }
        else if (opt == 'C') {
            pp.csv = 1;
        }
        else {
            pp.purpose = arg;
        }
    }
    if (rv != APR_EOF || os->ind < argc) {
        fprintf(stderr, "usage: consentctl -d DRIVER -p PARAMS "
                "suppression-list [--hashed] [--purpose P] [--csv]\n");
        return EXIT_USAGE;
    }
    if ((store = consentctl_open_store(o)) == NULL) {
        return CONSENTCTL_NO_STORE;
    }
    if (pp.csv && fputs("subject\r\n", stdout) == EOF) {
        pp.failed = 1;
    }
    apr_pool_create(&pp.pool, o->pool);
    rv = consent_store_each_by_subject(store, note_person, &pp, o->pool,
                                       &err);
    if (rv == APR_SUCCESS) {
        person_done(&pp);
    }
    if (err != NULL) {
        /* a partial list would pass for a complete one: say so loudly */
        fprintf(stderr, "consentctl suppression-list: %s (the list above "
                "is INCOMPLETE)\n", err);
        return CONSENTCTL_NO_STORE;
    }
    if (pp.failed || fflush(stdout) != 0) {
        fprintf(stderr, "consentctl suppression-list: cannot write the "
                "output\n");
        return EXIT_PROBLEM;
    }
    warn_risky(&pp);
    return 0;
}
