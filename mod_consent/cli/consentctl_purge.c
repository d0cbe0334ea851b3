/*
 * consentctl purge: erasure of a person's personal data (--subject, GDPR
 * art. 17) or of everyone's whose latest proof is older than a date
 * (--inactive-before, LEGAL.md R11: CNIL, 3 years after the last contact
 * for prospects). Tombstones, purge events and what stays: consent_purge.h.
 *
 * It writes, so it needs the key (-k: records are checked before they are
 * erased, purge events sealed) and opens the store for writing; with
 * --site only that site's proofs are erased, with its key.
 */
#include <stdio.h>

#include <apr_getopt.h>

#include "consentctl_store.h"
#include "consent_purge.h"

typedef struct {
    const char *subject;        /* --subject, as stored */
    const char *before_arg;     /* --inactive-before, as given */
    apr_time_t before;
    int dry_run;
} purge_args_t;

/* One line per thing done: receipt ids and facts, never personal data. */
static void print_note(void *baton, const char *what,
                       const consent_proof_t *pf, const char *detail)
{
    apr_pool_t *p = baton;      /* one line's */

    apr_pool_clear(p);
    if (strcmp(what, "purge") == 0) {
        printf("purge event %s: names %d receipt%s\n", pf->receipt_id,
               pf->choices->nelts, pf->choices->nelts == 1 ? "" : "s");
        return;
    }
    if (strcmp(what, "already") == 0) {
        return;                 /* counted in the summary */
    }
    printf("%s %s %s %s form %s v%u%s%s\n", what, pf->receipt_id,
           pf->event ? pf->event : "-",
           consent_time_rfc3339(p, pf->time),
           pf->form_id ? pf->form_id : "-", pf->form_version,
           detail ? ": " : "", detail ? detail : "");
}

static int parse_args(const consentctl_opts *o, int argc,
                      const char *const *argv, purge_args_t *a)
{
    static const apr_getopt_option_t opts[] = {
        { "subject", 'S', 1, "erase this person's personal data" },
        { "inactive-before", 'B', 1, "erase everyone's whose latest proof "
          "is older" },
        { "dry-run", 'n', 0, "say what would be erased, write nothing" },
        { NULL, 0, 0, NULL }
    };
    const char *arg;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt;

    memset(a, 0, sizeof *a);
    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        if (opt == 'S') {
            a->subject = consentctl_subject(o->pool, arg);
        }
        else if (opt == 'B') {
            a->before_arg = arg;
        }
        else {
            a->dry_run = 1;
        }
    }
    if (a->before_arg && !consentctl_parse_time(a->before_arg, &a->before)) {
        fprintf(stderr, "consentctl purge: --inactive-before %s: expected "
                "RFC 3339 (2023-11-28) or epoch seconds\n", a->before_arg);
        return 0;
    }
    if (rv != APR_EOF || os->ind < argc || !a->subject == !a->before_arg
        || (a->subject && !*a->subject)) {
        fprintf(stderr, "usage: consentctl -d DRIVER -p PARAMS -k KEYFILE "
                "purge --subject S | --inactive-before DATE [--dry-run]\n");
        return 0;
    }
    return 1;
}

/* ---- --subject ------------------------------------------------------ */

static apr_status_t add_proof(void *baton, const consent_proof_t *pf,
                              apr_pool_t *scratch)
{
    const char *err = NULL;
    apr_status_t rv = consent_purge_add(baton, pf, &err);

    if (rv != APR_SUCCESS) {
        fprintf(stderr, "consentctl purge: %s\n", err);
    }
    return rv;
}

/* ---- --inactive-before ---------------------------------------------- */

/* The store hands each person's proofs together: they are kept (one
 * person's at a time) until the next person shows whether the latest
 * was before the date. */
typedef struct {
    consent_purge_t *pg;
    apr_time_t before;
    apr_pool_t *pool;           /* the current person's, cleared after */
    const char *subject;
    apr_array_header_t *proofs; /* consent_proof_t*, copied */
    apr_time_t latest;
    apr_int64_t people;         /* found inactive */
} inactive_t;

static apr_status_t person_done(inactive_t *in)
{
    apr_status_t rv = APR_SUCCESS;
    const char *err = NULL;
    int i;

    if (in->subject && in->latest < in->before) {
        ++in->people;
        for (i = 0; i < in->proofs->nelts && rv == APR_SUCCESS; ++i) {
            rv = consent_purge_add(in->pg, APR_ARRAY_IDX(in->proofs, i,
                                   consent_proof_t *), &err);
        }
    }
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "consentctl purge: %s\n", err);
    }
    apr_pool_clear(in->pool);
    in->subject = NULL;
    return rv;
}

static apr_status_t note_person(void *baton, const consent_proof_t *pf,
                                apr_pool_t *scratch)
{
    inactive_t *in = baton;
    apr_status_t rv = APR_SUCCESS;

    /* tombstones are erased already; an objector's hashed one would
     * read as a person of its own */
    if (pf->subject == NULL || *pf->subject == '\0' || pf->erasure) {
        return APR_SUCCESS;
    }
    if (in->subject == NULL || strcmp(in->subject, pf->subject) != 0) {
        rv = person_done(in);
        in->subject = apr_pstrdup(in->pool, pf->subject);
        in->proofs = apr_array_make(in->pool, 8, sizeof(consent_proof_t *));
        in->latest = pf->time;
    }
    if (pf->time > in->latest) {
        in->latest = pf->time;
    }
    APR_ARRAY_PUSH(in->proofs, consent_proof_t *) =
        consent_proof_copy(in->pool, pf);
    return rv;
}

static apr_status_t purge_inactive(consent_store_t *store,
                                   consent_purge_t *pg, apr_time_t before,
                                   apr_pool_t *p, const char **err)
{
    inactive_t in;
    apr_status_t rv;

    memset(&in, 0, sizeof in);
    in.pg = pg;
    in.before = before;
    apr_pool_create(&in.pool, p);
    rv = consent_store_each_by_subject(store, note_person, &in, p, err);
    if (rv == APR_SUCCESS) {
        rv = person_done(&in);
    }
    printf("%" APR_INT64_T_FMT " subject%s inactive since before %s\n",
           in.people, in.people == 1 ? "" : "s",
           consent_time_rfc3339(p, before));
    return rv;
}

/* ---- the command ---------------------------------------------------- */

static void print_summary(const consent_purge_counts_t *n, int dry_run)
{
    printf("%s%" APR_INT64_T_FMT " proof%s %s (%" APR_INT64_T_FMT
           " objection%s kept as a hash), %" APR_INT64_T_FMT " already "
           "erased, %" APR_INT64_T_FMT " refused, %" APR_INT64_T_FMT
           " changed meanwhile; %" APR_INT64_T_FMT " purge event%s "
           "recorded\n", dry_run ? "dry run, nothing written: " : "",
           n->erased, n->erased == 1 ? "" : "s",
           dry_run ? "would be erased" : "erased", n->hashed,
           n->hashed == 1 ? "" : "s", n->already, n->refused, n->lost,
           n->events, n->events == 1 ? "" : "s");
}

static const char *reason_of(const purge_args_t *a, apr_pool_t *p)
{
    return a->subject
           ? "consentctl purge --subject (erasure, GDPR art. 17)"
           : apr_psprintf(p, "consentctl purge --inactive-before %s "
                          "(retention)", consent_time_rfc3339(p, a->before));
}

int consentctl_purge(const consentctl_opts *o, int argc,
                     const char *const *argv)
{
    const char *site = o->site, *err = NULL;
    const consent_purge_counts_t *n;
    consent_keyring_t *ring;
    consent_store_t *store;
    consent_purge_t *pg;
    purge_args_t a;
    apr_pool_t *np;
    apr_status_t rv;

    if (!parse_args(o, argc, argv, &a)) {
        return CONSENTCTL_USAGE;
    }
    if (o->key_files == NULL || o->key_files->nelts == 0) {
        fprintf(stderr, "consentctl purge: the key is needed (-k): records "
                "are checked before they are erased, and the purge is "
                "sealed\n");
        return CONSENTCTL_USAGE;
    }
    ring = site ? consentctl_site_keyring(o, &site, NULL)
                : consentctl_load_keyring(o);
    if (ring == NULL || ring->keys->nelts == 0) {
        return CONSENTCTL_USAGE;
    }
    if ((store = consentctl_open_store_rw(o)) == NULL) {
        return CONSENTCTL_NO_STORE;
    }
    store->only_site = site;
    store->only_site_exact = 1;     /* a site's purge: its proofs only */
    apr_pool_create(&np, o->pool);
    pg = consent_purge_make(store, ring, APR_ARRAY_IDX(ring->keys, 0,
                                                       consent_key_t *),
                            site, reason_of(&a, o->pool), a.dry_run,
                            print_note, np, o->pool);
    rv = a.subject
         ? consent_store_each(store, 0, a.subject, add_proof, pg, o->pool,
                              &err)
         : purge_inactive(store, pg, a.before, o->pool, &err);
    if (rv == APR_SUCCESS && (rv = consent_purge_finish(pg, &err))) {
        fprintf(stderr, "consentctl purge: %s\n", err);
    }
    else if (rv != APR_SUCCESS && err) {
        fprintf(stderr, "consentctl purge: %s\n", err);
    }
    n = consent_purge_counts(pg);
    print_summary(n, a.dry_run);
    if (fflush(stdout) != 0) {
        return CONSENTCTL_PROBLEM;
    }
    if (rv != APR_SUCCESS) {
        return CONSENTCTL_NO_STORE;
    }
    return n->refused ? CONSENTCTL_PROBLEM : CONSENTCTL_OK;
}
