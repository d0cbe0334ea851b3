/*
 * The sites file: at each start a server writes which site uses which
 * store and secret files, so that consentctl --site S finds them without
 * -d/-p/-k repeated per customer. Nothing secret goes in it: secret files
 * by path, and a store's password (pgsql password=, mysql pass=) left
 * out.
 *
 *   # mod_consent sites 1: site<TAB>driver<TAB>params<TAB>secret file...
 *   e.test<TAB>sqlite3<TAB>/var/lib/mod_consent/consent.db<TAB>/etc/...
 */
#ifndef CONSENT_SITES_FILE_H
#define CONSENT_SITES_FILE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "consent_key.h"

#define CONSENT_SITES_FILE "mod_consent-sites"

/* What a server knows of one of its sites. */
typedef struct {
    const char *site;
    const char *driver;
    const char *params;
    const consent_keyring_t *keys;      /* the masters, by path */
} consent_sites_entry_t;

/*
 * Writes path whole (a temporary file renamed: a reader never sees half
 * of it), one line per site, the first entry naming it; an entry with a
 * field missing or holding a tab or a line break is left out.
 */
apr_status_t consent_sites_file_write(const char *path,
                                      const apr_array_header_t *entries,
                                      apr_pool_t *p);

#endif
