/*
 * The sites file (consent_sites_file.h), at each start (post_config, as
 * root) in httpd's run-time directory: each server's site, the store
 * mod_dbd gives it and its secret files.
 */
#include <httpd.h>
#include <http_log.h>

#include "mod_consent.h"
#include "consent_sites_file.h"

APLOG_USE_MODULE(consent);

void consent_sites_write(apr_pool_t *pconf, server_rec *main_s)
{
    const char *path = ap_runtime_dir_relative(pconf, CONSENT_SITES_FILE);
    apr_array_header_t *entries;
    apr_status_t rv;
    server_rec *s;

    if (!path) {
        return;
    }
    entries = apr_array_make(pconf, 4, sizeof(consent_sites_entry_t));
    for (s = main_s; s; s = s->next) {
        consent_server_conf *sc =
            ap_get_module_config(s->module_config, &consent_module);
        consent_sites_entry_t *e = apr_array_push(entries);

        e->site = sc->site;
        e->driver = sc->dbd_driver;
        e->params = sc->dbd_params;
        e->keys = sc->keys;
    }
    rv = consent_sites_file_write(path, entries, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, main_s,
                     CONSENT_LOGNO(0123) "cannot write %s (consentctl "
                     "--site needs -d, -p and -k then)", path);
    }
}
