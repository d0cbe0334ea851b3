/*
 * The sites file: at each start (post_config, as root) the module writes
 * which site uses which store and secret files, so that consentctl
 * --site S finds them without -d/-p/-k repeated per customer. Nothing
 * secret goes in it: secret files by path, and a store's password
 * (pgsql password=, mysql pass=) left out.
 *
 *   # mod_consent sites 1: site<TAB>driver<TAB>params<TAB>secret file...
 *   e.test<TAB>sqlite3<TAB>/var/lib/mod_consent/consent.db<TAB>/etc/...
 *
 * Written whole to a temporary file and renamed, so a reader never sees
 * half of it.
 */
#include <httpd.h>
#include <http_log.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "mod_consent.h"

#define SITES_FILE "mod_consent-sites"
#define SITES_HEADER "# mod_consent sites 1: site\tdriver\tparams\t" \
                     "secret file...\n"

static const char *without_password(const char *params, apr_pool_t *p)
{
    static const char *const keys[] = { "password=", "pass=", NULL };
    const char *const *k;
    char *out;
    apr_size_t n;

    for (k = keys; *k; ++k) {
        const char *pw = ap_strcasestr(params, *k), *end;

        if (pw) {
            for (end = pw; *end && *end != ' '; ++end) {
            }
            while (*end == ' ') {
                ++end;
            }
            params = apr_pstrcat(p, apr_pstrmemdup(p, params, pw - params),
                                 end, NULL);
        }
    }
    out = apr_pstrdup(p, params);
    for (n = strlen(out); n > 0 && out[n - 1] == ' '; --n) {
        out[n - 1] = '\0';       /* the space before a last password */
    }
    return out;
}

/* A field may not hold the separators. */
static int plain(const char *s)
{
    return s && !strpbrk(s, "\t\n\r");
}

static const char *site_line(const consent_server_conf *sc, apr_pool_t *p)
{
    const char *line, *params;
    int i;

    if (!sc->site || !sc->dbd_driver || !sc->keys) {
        return NULL;
    }
    params = without_password(sc->dbd_params, p);
    if (!plain(params)) {
        return NULL;
    }
    line = apr_pstrcat(p, sc->site, "\t", sc->dbd_driver, "\t", params,
                       NULL);
    for (i = 0; i < sc->keys->keys->nelts; ++i) {
        const consent_key_t *k = APR_ARRAY_IDX(sc->keys->keys, i,
                                               const consent_key_t *);

        if (!plain(k->path)) {
            return NULL;
        }
        line = apr_pstrcat(p, line, "\t", k->path, NULL);
    }
    return apr_pstrcat(p, line, "\n", NULL);
}

void consent_sites_write(apr_pool_t *pconf, server_rec *main_s)
{
    const char *path = ap_runtime_dir_relative(pconf, SITES_FILE);
    const char *tmp = apr_pstrcat(pconf, path, ".XXXXXX", NULL);
    apr_hash_t *seen = apr_hash_make(pconf);
    apr_file_t *f;
    apr_status_t rv;
    server_rec *s;

    if (!path) {
        return;
    }
    rv = apr_file_mktemp(&f, (char *)tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                         | APR_FOPEN_EXCL | APR_FOPEN_BUFFERED, pconf);
    if (rv == APR_SUCCESS) {
        apr_file_puts(SITES_HEADER, f);
        for (s = main_s; s; s = s->next) {
            consent_server_conf *sc =
                ap_get_module_config(s->module_config, &consent_module);
            const char *line = site_line(sc, pconf);

            /* one line a site: the first server naming it */
            if (line && !apr_hash_get(seen, sc->site, APR_HASH_KEY_STRING)) {
                apr_hash_set(seen, sc->site, APR_HASH_KEY_STRING, "");
                apr_file_puts(line, f);
            }
        }
        rv = apr_file_close(f);
    }
    if (rv == APR_SUCCESS) {
        apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE
                           | APR_FPROT_GREAD | APR_FPROT_WREAD);
        rv = apr_file_rename(tmp, path, pconf);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, pconf);
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, main_s,
                     CONSENT_LOGNO(0123) "cannot write %s (consentctl "
                     "--site needs -d, -p and -k then)", path);
    }
}
