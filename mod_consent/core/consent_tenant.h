/*
 * Tenancy (ConsentSite): one server, one store, one master secret, many
 * customers' sites. Each site signs and seals with its own keys, derived
 * from the master secrets:
 *
 *   site key = HKDF-SHA256(ikm = master secret, salt = CONSENT_SITE_SALT,
 *                          info = site name), 32 bytes
 *
 * so a render token, withdrawal token, unsubscribe link or confirmation
 * link made for one site carries another key id than any of another
 * site's, and is refused there (403) even with the same master, store and
 * form id. A customer can be given their site's key (consentctl site-key)
 * to make their own unsubscribe links: it opens nothing at another site,
 * and cannot seal proofs, which stay under the master (consent_proof.h).
 */
#ifndef CONSENT_TENANT_H
#define CONSENT_TENANT_H

#include "consent_key.h"

#define CONSENT_SITE_MAX 253
#define CONSENT_SITE_SALT "mod_consent site key v1"
/* How a site key is written to a file (consentctl site-key):
 * PREFIX " " site " " hex(32 bytes) "\n" */
#define CONSENT_SITE_KEY_PREFIX "mod_consent-site-key-v1"

/* NULL when name is a valid site name (lower-case letters, digits, '-',
 * '_', '.' between non-empty labels, at most 253 chars), else why not. */
const char *consent_site_check(const char *name, apr_pool_t *p);

/* A site name from a host name: lower-cased, any character but letters,
 * digits, '.' and '_' made '-' (an IPv6 [::1]), copied into p. */
const char *consent_site_from_host(const char *host, apr_pool_t *p);

/* The keyring of site: each master key derived in turn, so the first
 * master's derivation signs and every one verifies (rotation). NULL
 * (and *err) when derivation fails. */
consent_keyring_t *consent_site_keyring(const consent_keyring_t *master,
                                        const char *site, apr_pool_t *p,
                                        const char **err);

/* The text of a site key file for site, derived from key. */
const char *consent_site_key_text(const consent_key_t *master,
                                  const char *site, apr_pool_t *p,
                                  const char **err);

/* 1 when key was loaded from a site key file (CONSENT_SITE_KEY_PREFIX). */
int consent_site_key_is(const consent_key_t *key);

/*
 * When key was loaded from a site key file: *site is set to its site,
 * *out to the usable key, and 1 is answered. 0 when key is a master
 * secret (no prefix). -1 (and *err) when it has the prefix but is
 * malformed.
 */
int consent_site_key_parse(const consent_key_t *key, const char **site,
                           consent_key_t **out, apr_pool_t *p,
                           const char **err);

#endif
