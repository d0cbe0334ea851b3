/*
 * consentctl and tenancy (consent_tenant.h): --site S, wherever it is on
 * the command line; the keys a site signs with (derived from a master
 * given with -k, or a site key file made by `site-key`); and `site-key`.
 */
#include <stdio.h>

#include <apr_uri.h>
#include <apr_getopt.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_strings.h>

#include "consentctl_store.h"
#include "consent_tenant.h"

int consentctl_take_site(consentctl_opts *o, int *argc, const char **argv)
{
    int i, j = 0;

    for (i = 0; i < *argc; ++i) {
        const char *a = argv[i], *v = NULL;

        if (strcmp(a, "--site") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "consentctl: --site needs a site name\n");
                return 0;
            }
            v = argv[++i];
        }
        else if (strncmp(a, "--site=", 7) == 0) {
            v = a + 7;
        }
        if (v) {
            o->site = v;
        }
        else {
            argv[j++] = a;
        }
    }
    *argc = j;
    argv[j] = NULL;
    if (o->site && consent_site_check(o->site, o->pool)) {
        fprintf(stderr, "consentctl: --site %s: %s\n", o->site,
                consent_site_check(o->site, o->pool));
        return 0;
    }
    return 1;
}

const char *consentctl_site_of_url(const char *url, apr_pool_t *p)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.hostname) {
        return NULL;
    }
    return consent_site_from_host(uri.hostname, p);
}

/* Each -k file: a site key file (its site must be *site, or sets it when
 * NULL) or a master secret (derived for the site). */
consent_keyring_t *consentctl_site_keyring(const consentctl_opts *o,
                                           const char **site,
                                           const char *fallback)
{
    consent_keyring_t *given = consentctl_load_keyring(o), *ring, *one;
    const char *err = NULL, *of = NULL;
    int i;

    if (!given) {
        return NULL;
    }
    ring = consent_keyring_make(o->pool);
    for (i = 0; i < given->keys->nelts; ++i) {
        consent_key_t *k = APR_ARRAY_IDX(given->keys, i, consent_key_t *);
        consent_key_t *sk;

        switch (consent_site_key_parse(k, &of, &sk, o->pool, &err)) {
        case 1:
            if (*site && strcmp(*site, of) != 0) {
                fprintf(stderr, "consentctl: %s is the key of site %s, "
                        "not %s\n", k->path, of, *site);
                return NULL;
            }
            *site = of;
            consent_keyring_add(ring, sk);
            continue;
        case -1:
            fprintf(stderr, "consentctl: %s\n", err);
            return NULL;
        }
        if (!*site) {
            *site = fallback;
        }
        if (!*site || consent_site_check(*site, o->pool)) {
            fprintf(stderr, "consentctl: name the site with --site\n");
            return NULL;
        }
        one = consent_keyring_make(o->pool);
        consent_keyring_add(one, k);
        if (!(one = consent_site_keyring(one, *site, o->pool, &err))) {
            fprintf(stderr, "consentctl: %s\n", err);
            return NULL;
        }
        consent_keyring_add(ring, APR_ARRAY_IDX(one->keys, 0,
                                                consent_key_t *));
    }
    return ring;
}

int consentctl_site_key(const consentctl_opts *o, int argc,
                        const char *const *argv)
{
    consent_keyring_t *ring;
    consent_key_t *master, *sk;
    const char *text, *err = NULL, *of;

    if (argc > 1 || !o->site || o->key_files->nelts < 1) {
        fprintf(stderr, "usage: consentctl -k MASTER site-key --site S\n");
        return CONSENTCTL_USAGE;
    }
    if (!(ring = consentctl_load_keyring(o))) {
        return CONSENTCTL_USAGE;
    }
    master = APR_ARRAY_IDX(ring->keys, 0, consent_key_t *);
    if (consent_site_key_parse(master, &of, &sk, o->pool, &err) != 0) {
        fprintf(stderr, "consentctl site-key: %s is a site key, not a "
                "master secret\n", master->path);
        return CONSENTCTL_USAGE;
    }
    if (!(text = consent_site_key_text(master, o->site, o->pool, &err))) {
        fprintf(stderr, "consentctl site-key: %s\n", err);
        return CONSENTCTL_PROBLEM;
    }
    if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
        return CONSENTCTL_PROBLEM;
    }
    return 0;
}

static apr_status_t count_one(void *baton, const consent_proof_t *proof,
                              apr_pool_t *scratch)
{
    (void)proof;
    (void)scratch;
    ++*(apr_int64_t *)baton;
    return APR_SUCCESS;
}

apr_status_t consentctl_site_report(consent_store_t *store,
                                    const consentctl_opts *o,
                                    const char **err)
{
    apr_int64_t n = 0;
    apr_status_t rv;

    store->only_site_exact = 1;
    rv = consent_store_each(store, 0, NULL, count_one, &n, o->pool, err);

    if (rv == APR_SUCCESS) {
        printf("site %s: %" APR_INT64_T_FMT " proofs, verified with the "
               "whole store\n", o->site, n);
    }
    return rv;
}

/* The fields of site's line in the sites file, NULL if none. */
static char **sites_line(const char *text, const char *site, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, text), *line, *state = NULL;

    for (line = apr_strtok(copy, "\n", &state); line;
         line = apr_strtok(NULL, "\n", &state)) {
        char *tab = strchr(line, '\t');

        if (*line != '#' && tab && (size_t)(tab - line) == strlen(site)
            && strncmp(line, site, tab - line) == 0) {
            char **fields = apr_pcalloc(p, 64 * sizeof *fields);
            char *f, *fs = NULL;
            int n = 0;

            for (f = apr_strtok(line, "\t", &fs); f && n < 63;
                 f = apr_strtok(NULL, "\t", &fs)) {
                fields[n++] = f;
            }
            return n >= 4 ? fields : NULL;
        }
    }
    return NULL;
}

int consentctl_from_sites(consentctl_opts *o)
{
    const char *path = o->sites_file ? o->sites_file
                                     : CONSENTCTL_SITES_FILE;
    apr_finfo_t fi;
    apr_file_t *f;
    char *text, **fields;
    apr_size_t len;
    int i;

    /* the default file only when the store is not named otherwise */
    if (!o->site || (!o->sites_file
                     && (o->params
                         || apr_stat(&fi, path, APR_FINFO_TYPE, o->pool)))) {
        return 1;
    }
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, o->pool)
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f)
        || fi.size > 16 * 1024 * 1024) {
        fprintf(stderr, "consentctl: cannot read the sites file %s\n",
                path);
        return 0;
    }
    len = (apr_size_t)fi.size;
    text = apr_palloc(o->pool, len + 1);
    if (apr_file_read_full(f, text, len, &len) != APR_SUCCESS) {
        fprintf(stderr, "consentctl: cannot read the sites file %s\n",
                path);
        return 0;
    }
    text[len] = '\0';
    apr_file_close(f);
    if (!(fields = sites_line(text, o->site, o->pool))) {
        fprintf(stderr, "consentctl: site %s is not in %s (is it served "
                "by this Apache? restarted since?)\n", o->site, path);
        return 0;
    }
    if (!o->params) {
        o->driver = fields[1];
        o->params = fields[2];
    }
    if (o->key_files->nelts == 0) {
        for (i = 3; fields[i]; ++i) {
            APR_ARRAY_PUSH(o->key_files, const char *) = fields[i];
        }
    }
    return 1;
}
