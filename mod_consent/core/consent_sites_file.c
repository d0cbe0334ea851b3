/*
 * The sites file (consent_sites_file.h), written by a server at start-up
 * and read by consentctl --site.
 */
#include <string.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "consent_sites_file.h"
#include "consent_store_setup.h"

#define SITES_HEADER "# mod_consent sites 1: site\tdriver\tparams\t" \
                     "secret file...\n"

/* A field may not hold the separators. */
static int plain(const char *s)
{
    return s && !strpbrk(s, "\t\n\r");
}

static const char *site_line(const consent_sites_entry_t *e, apr_pool_t *p)
{
    const char *line, *params;
    int i;

    if (!e->site || !e->driver || !e->params || !e->keys) {
        return NULL;
    }
    params = consent_store_public_params(e->params, p);
    if (!plain(e->site) || !plain(e->driver) || !plain(params)) {
        return NULL;
    }
    line = apr_pstrcat(p, e->site, "\t", e->driver, "\t", params, NULL);
    for (i = 0; i < e->keys->keys->nelts; ++i) {
        const consent_key_t *k = APR_ARRAY_IDX(e->keys->keys, i,
                                               const consent_key_t *);

        if (!plain(k->path)) {
            return NULL;
        }
        line = apr_pstrcat(p, line, "\t", k->path, NULL);
    }
    return apr_pstrcat(p, line, "\n", NULL);
}

static void write_lines(apr_file_t *f, const apr_array_header_t *entries,
                        apr_pool_t *p)
{
    apr_hash_t *seen = apr_hash_make(p);
    int i;

    apr_file_puts(SITES_HEADER, f);
    for (i = 0; i < entries->nelts; ++i) {
        const consent_sites_entry_t *e = &APR_ARRAY_IDX(
            entries, i, consent_sites_entry_t);
        const char *line = site_line(e, p);

        if (line && !apr_hash_get(seen, e->site, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, e->site, APR_HASH_KEY_STRING, "");
            apr_file_puts(line, f);
        }
    }
}

apr_status_t consent_sites_file_write(const char *path,
                                      const apr_array_header_t *entries,
                                      apr_pool_t *p)
{
    char *tmp = apr_pstrcat(p, path, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_status_t rv;

    rv = apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                         | APR_FOPEN_EXCL | APR_FOPEN_BUFFERED, p);
    if (rv == APR_SUCCESS) {
        write_lines(f, entries, p);
        rv = apr_file_close(f);
    }
    if (rv == APR_SUCCESS) {
        apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE
                           | APR_FPROT_GREAD | APR_FPROT_WREAD);
        rv = apr_file_rename(tmp, path, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
    }
    return rv;
}
