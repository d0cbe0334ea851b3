/*
 * The keyrings of sites, derived once (consent_site_keys.h).
 */
#include <apr_strings.h>

#include "consent_conf.h"
#include "consent_site_keys.h"

consent_keyring_t *consent_site_keys(apr_hash_t *cache,
                                     const consent_keyring_t *master,
                                     const char *site, apr_pool_t *p,
                                     const char **err)
{
    /* a master keyring is one configuration's: its address names it */
    const char *key = apr_psprintf(p, "%pp %s", (const void *)master, site);
    consent_keyring_t *ring = apr_hash_get(cache, key, APR_HASH_KEY_STRING);

    if (!ring && (ring = consent_site_keyring(master, site, p, err))) {
        apr_hash_set(cache, key, APR_HASH_KEY_STRING, ring);
    }
    return ring;
}

consent_keyring_t *consent_site_keys_of(apr_hash_t *cache,
                                        const consent_keyring_t *master,
                                        const char **site, const char *host,
                                        apr_pool_t *p, const char **why)
{
    if (!*site && !(*site = consent_conf_host_site(host, why, p))) {
        *why = apr_psprintf(p, "\"%s\" does not make a site name (%s)",
                            host ? host : "", *why);
        return NULL;
    }
    return consent_site_keys(cache, master, *site, p, why);
}
