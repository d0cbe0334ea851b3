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
#include "consent_unsub.h"
#include "consent_notice.h"

#define EXIT_PROBLEM CONSENTCTL_PROBLEM
#define EXIT_USAGE CONSENTCTL_USAGE

/* ---- unsubscribe-url ------------------------------------------------ */

typedef struct {
    const char *base;
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
        case 'P': APR_ARRAY_PUSH(a->link.purposes, const char *) = arg;
            break;
        }
    }
    return rv == APR_EOF && os->ind == argc && a->base && a->link.form_id
           && a->link.subject && *a->link.subject;
}

/* A mail client opens the link from anywhere: it must be absolute. */
static const char *link_base(apr_pool_t *p, const char *base)
{
    apr_size_t n = strlen(base);

    if (strncasecmp(base, "https://", 8) != 0
        && strncasecmp(base, "http://", 7) != 0) {
        return NULL;
    }
    while (n > 0 && base[n - 1] == '/') {
        --n;
    }
    return apr_pstrmemdup(p, base, n);
}

int consentctl_unsubscribe_url(const consentctl_opts *o, int argc,
                               const char *const *argv)
{
    consent_keyring_t *ring;
    const char *token, *base, *url, *site = o->site;
    url_args_t a;

    if (!parse_url_args(o, argc, argv, &a) || o->key_files->nelts == 0) {
        fprintf(stderr, "usage: consentctl -k KEYFILE unsubscribe-url "
                "--base URL --form ID --subject S [--purpose P]...\n");
        return EXIT_USAGE;
    }
    if (!(base = link_base(o->pool, a.base))) {
        fprintf(stderr, "consentctl unsubscribe-url: --base %s: expected "
                "an absolute http(s) URL\n", a.base);
        return EXIT_USAGE;
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
    int failed;                 /* the output could not be written */
} people_t;

/* Lower-case hex SHA-256 of the lower-cased subject. */
static const char *hashed(apr_pool_t *p, const char *subject)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char *low = apr_pstrdup(p, subject), *c;

    for (c = low; *c; ++c) {
        *c = (char)tolower((unsigned char)*c);
    }
    if (!EVP_Digest(low, strlen(low), digest, &n, EVP_sha256(), NULL)) {
        return NULL;
    }
    return consent_hex(p, digest, n);
}

/* Prints the person folded so far if suppressed, then forgets them. */
static void person_done(people_t *pp)
{
    const char *line;

    if (pp->subject != NULL
        && consent_status_suppressed(pp->status, pp->purpose)) {
        line = pp->hash ? hashed(pp->pool, pp->subject) : pp->subject;
        if (line == NULL || printf("%s\n", line) < 0) {
            pp->failed = 1;
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
    }
    consent_status_add(pp->status, pf);
    return pp->failed ? APR_EGENERAL : APR_SUCCESS;
}

int consentctl_suppression_list(const consentctl_opts *o, int argc,
                                const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "hashed", 'H', 0, "SHA-256 of each address instead" },
        { "purpose", 'P', 1, "only those who must not get this purpose" },
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
        else {
            pp.purpose = arg;
        }
    }
    if (rv != APR_EOF || os->ind < argc) {
        fprintf(stderr, "usage: consentctl -d DRIVER -p PARAMS "
                "suppression-list [--hashed] [--purpose P]\n");
        return EXIT_USAGE;
    }
    if ((store = consentctl_open_store(o)) == NULL) {
        return CONSENTCTL_NO_STORE;
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
    return 0;
}
