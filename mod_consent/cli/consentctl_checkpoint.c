/*
 * consentctl checkpoint, and the checkpoints verify --checkpoint reads:
 * signed summaries of the store (consent_audit.h) meant to leave the
 * machine (cron mail, syslog), so that a history rewritten later, even
 * by whoever holds the key, shows.
 */
#include <stdio.h>
#include <stdlib.h>

#include <apr_getopt.h>
#include <apr_file_io.h>

#include "consentctl_store.h"
#include "consent_audit.h"

#define EXIT_PROBLEM 1
#define EXIT_USAGE 2
#define CHECKPOINT_MAX (64 * 1024 * 1024)

static int print_problems(const apr_array_header_t *problems,
                          apr_pool_t *p)
{
    int i;

    for (i = 0; i < problems->nelts; ++i) {
        fprintf(stderr, "%s\n", consent_problem_str(p,
                &APR_ARRAY_IDX(problems, i, consent_problem_t)));
    }
    return problems->nelts;
}

int consentctl_checkpoint(const consentctl_opts *o, int argc,
                          const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "no-verify", 'n', 0, "do not verify the store first" },
        { NULL, 0, 0, NULL }
    };
    apr_array_header_t *problems;
    consent_keyring_t *ring;
    consent_store_t *store;
    const char *text, *err = NULL, *arg;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt, check = 1;

    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        check = 0;
    }
    if (rv != APR_EOF || os->ind < argc || o->key_files->nelts == 0) {
        fprintf(stderr, "usage: consentctl -d DRIVER -p PARAMS -k KEYFILE "
                "checkpoint [--no-verify]\n");
        return EXIT_USAGE;
    }
    if ((ring = consentctl_load_keyring(o)) == NULL) {
        return EXIT_USAGE;
    }
    if ((store = consentctl_open_store(o)) == NULL) {
        return CONSENTCTL_NO_STORE;
    }
    /* a checkpoint vouches for the state it names: never a broken one */
    problems = apr_array_make(o->pool, 8, sizeof(consent_problem_t));
    if (check && consent_store_verify(store, ring, problems, o->pool)) {
        print_problems(problems, o->pool);
        fprintf(stderr, "consentctl checkpoint: the store does not verify: "
                "no checkpoint made\n");
        return EXIT_PROBLEM;
    }
    if (consent_checkpoint_make(store, APR_ARRAY_IDX(ring->keys, 0,
                                                     const consent_key_t *),
                                &text, o->pool, &err) != APR_SUCCESS) {
        fprintf(stderr, "consentctl checkpoint: %s\n", err);
        return EXIT_PROBLEM;
    }
    fputs(text, stdout);
    return fflush(stdout) == 0 ? 0 : EXIT_PROBLEM;
}

/* One checkpoint file, authenticated; NULL after saying why. */
static consent_checkpoint_t *read_checkpoint(const consentctl_opts *o,
                                             const consent_keyring_t *ring,
                                             const char *path)
{
    consent_checkpoint_t *cp;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len;
    const char *err = NULL;
    char *buf, ebuf[120];
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                       o->pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    }
    if (rv == APR_SUCCESS && fi.size > CHECKPOINT_MAX) {
        rv = APR_ENOSPC;
    }
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        buf = apr_palloc(o->pool, len + 1);
        rv = apr_file_read_full(f, buf, len, &len);
        buf[len] = '\0';
    }
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "consentctl verify: checkpoint %s: %s\n", path,
                apr_strerror(rv, ebuf, sizeof ebuf));
        return NULL;
    }
    apr_file_close(f);
    if (strlen(buf) != len || consent_checkpoint_parse(&cp, path, buf, ring,
                                                       o->pool, &err)) {
        fprintf(stderr, "consentctl verify: checkpoint %s: %s\n", path,
                err ? err : "a NUL byte inside");
        return NULL;
    }
    return cp;
}

apr_array_header_t *consentctl_read_checkpoints(
    const consentctl_opts *o, const consent_keyring_t *ring,
    const apr_array_header_t *paths)
{
    apr_array_header_t *cps = apr_array_make(o->pool, paths->nelts + 1,
                                             sizeof(consent_checkpoint_t *));
    int i;

    for (i = 0; i < paths->nelts; ++i) {
        consent_checkpoint_t *cp = read_checkpoint(
            o, ring, APR_ARRAY_IDX(paths, i, const char *));

        if (cp == NULL) {
            return NULL;
        }
        APR_ARRAY_PUSH(cps, consent_checkpoint_t *) = cp;
    }
    return cps;
}
