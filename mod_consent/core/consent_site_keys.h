/*
 * The keyrings of sites, derived once: a configuration serving one site
 * at many locations (or servers) derives its keys from the master's once
 * per master keyring and site (consent_site_keyring), every location then
 * sharing them.
 */
#ifndef CONSENT_SITE_KEYS_H
#define CONSENT_SITE_KEYS_H

#include <apr_hash.h>

#include "consent_tenant.h"

/* The keyring of site from master, made in p and kept in cache (an
 * apr_hash_t of p, empty at first); NULL with *err as
 * consent_site_keyring says. */
consent_keyring_t *consent_site_keys(apr_hash_t *cache,
                                     const consent_keyring_t *master,
                                     const char *site, apr_pool_t *p,
                                     const char **err);

/*
 * A server's site and its keyring, the same rule on both servers: *site
 * as a directive named it (ConsentSite, consent_site), else made from
 * host (consent_conf_host_site); its keys as consent_site_keys gives
 * them. NULL with *why: "\"host\" does not make a site name (...)"
 * (*site left NULL: the adapter says which directive to set), or why
 * the keys cannot be derived.
 */
consent_keyring_t *consent_site_keys_of(apr_hash_t *cache,
                                        const consent_keyring_t *master,
                                        const char **site, const char *host,
                                        apr_pool_t *p, const char **why);

#endif
