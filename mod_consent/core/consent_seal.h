/*
 * Sealed tokens: a payload encrypted and authenticated with AES-256-GCM
 * under a key derived from the site secret, for links that travel in
 * mail (the confirmation link of double opt-in, consent_confirm.h; the
 * unsubscribe link, consent_unsub.h):
 *
 *   PREFIX base64url(key_id(8) || nonce(12) || ciphertext || tag(16))
 *   key        = HMAC-SHA256(secret, LABEL)
 *   AAD        = PREFIX || key_id
 *
 * A token sealed for one purpose (label, prefix) never opens for another.
 */
#ifndef CONSENT_SEAL_H
#define CONSENT_SEAL_H

#include "consent_key.h"

#define CONSENT_SEAL_NONCE_LEN 12

typedef enum {
    CONSENT_SEAL_OK = 0,
    CONSENT_SEAL_MISSING,
    CONSENT_SEAL_MALFORMED,     /* not ours, truncated, bad base64 */
    CONSENT_SEAL_UNKNOWN_KEY,   /* sealed by a key no longer listed */
    CONSENT_SEAL_FORGED         /* fails authentication: altered */
} consent_seal_status_t;

typedef struct {
    const char *prefix;         /* e.g. "c1." */
    const char *label;          /* key derivation label */
    apr_size_t max_chars;       /* longest token accepted */
} consent_seal_kind_t;

/* What an opened token held besides its payload. */
typedef struct {
    unsigned char key_id[CONSENT_KEY_ID_LEN];
    unsigned char nonce[CONSENT_SEAL_NONCE_LEN];
} consent_seal_facts_t;

/* Seals len bytes of plain with the keyring's first key. */
apr_status_t consent_seal(const char **token, const consent_seal_kind_t *kind,
                          const consent_keyring_t *ring,
                          const unsigned char *plain, apr_size_t len,
                          apr_pool_t *p);

/* Decodes unpadded base64url, refusing any other spelling of the same
 * bytes (so that every character of a token counts); NULL when invalid. */
unsigned char *consent_b64url_decode_strict(const char *b64, apr_size_t *len,
                                            apr_pool_t *p);

/* Opens a token: *plain and *len set only when CONSENT_SEAL_OK. */
consent_seal_status_t consent_unseal(unsigned char **plain, apr_size_t *len,
                                     consent_seal_facts_t *facts,
                                     const consent_seal_kind_t *kind,
                                     const consent_keyring_t *ring,
                                     const char *token, apr_pool_t *p);

#endif
