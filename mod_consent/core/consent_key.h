/*
 * Secret keys (ConsentSecretFile, consentctl -k). The first key of a
 * keyring signs; every key verifies, so a site rotates by adding the new
 * file first and removing the old one once its tokens have expired.
 * A key is known by an id derived from it (no name to keep in sync).
 */
#ifndef CONSENT_KEY_H
#define CONSENT_KEY_H

#include "consent.h"

#define CONSENT_KEY_MIN_LEN 32
#define CONSENT_KEY_ID_LEN 8

typedef struct {
    const char *path;
    unsigned char id[CONSENT_KEY_ID_LEN];  /* first bytes of SHA-256(key) */
    unsigned char *bytes;                  /* wiped by a pool cleanup */
    apr_size_t len;
    void *keyed;    /* EVP_MAC_CTX keyed once; each MAC works on a copy */
} consent_key_t;

typedef struct {
    apr_array_header_t *keys;   /* consent_key_t*, keys[0] signs */
} consent_keyring_t;

/*
 * Reads a secret file. Refused (APR_EGENERAL, *err says why and names the
 * file): missing or unreadable, not a regular file, readable or writable by
 * group or others, shorter than CONSENT_KEY_MIN_LEN bytes once a trailing
 * newline is removed. The secret itself never appears in a message.
 */
apr_status_t consent_key_load(consent_key_t **key, const char *path,
                              apr_pool_t *p, const char **err);

/* A key from bytes held in memory (a derived site key); label stands
 * for its path in messages. The bytes are copied and wiped with p. */
consent_key_t *consent_key_from_bytes(const unsigned char *bytes,
                                      apr_size_t len, const char *label,
                                      apr_pool_t *p);

consent_keyring_t *consent_keyring_make(apr_pool_t *p);
void consent_keyring_add(consent_keyring_t *ring, consent_key_t *key);
const consent_key_t *consent_keyring_find(const consent_keyring_t *ring,
                                          const unsigned char *id);

/* HMAC-SHA256 of data under key into mac[32]. */
apr_status_t consent_hmac(const consent_key_t *key, const void *data,
                          apr_size_t len, unsigned char *mac);

/* The same as lower-case hex (how MACs are stored); NULL on failure. */
const char *consent_hmac_hex(const consent_key_t *key, const void *data,
                             apr_size_t len, apr_pool_t *p);

/* Constant-time comparison (CRYPTO_memcmp): 1 when equal. */
int consent_mac_equal(const unsigned char *a, const unsigned char *b,
                      apr_size_t len);

#endif
