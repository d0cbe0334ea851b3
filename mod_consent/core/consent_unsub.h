/*
 * One-click unsubscribe links (LEGAL.md R6, RFC 8058). A mailer puts
 * L/unsubscribe?t=TOKEN in every message; the token names the form, the
 * person and the purposes to stop, sealed so that nobody can forge one
 * for somebody else, and encrypted so that the address is not in the URL
 * (URLs end up in proxy logs, mail scanners and browser histories):
 *
 *   "u1." base64url(key_id(8) || nonce(12) || ciphertext || tag(16))
 *   key        = HMAC-SHA256(secret, "mod_consent unsubscribe v1")
 *   cipher     = AES-256-GCM, AAD = "u1." || key_id
 *   plaintext  = len(1) form_id  len(2, big-endian) subject
 *                count(1) { len(1) purpose }*
 *
 * The key id selects the secret in the keyring (ConsentSecretFile), so
 * links survive a rotation as long as the old file stays listed. Links do
 * not expire: people read their mail late, and an unsubscribe must work
 * whenever it is clicked.
 */
#ifndef CONSENT_UNSUB_H
#define CONSENT_UNSUB_H

#include "consent_key.h"

#define CONSENT_UNSUB_PREFIX "u1."
#define CONSENT_UNSUB_MAX_SUBJECT 1024
#define CONSENT_UNSUB_MAX_PURPOSES 64

typedef struct {
    const char *form_id;
    const char *subject;
    apr_array_header_t *purposes;   /* const char*; empty: all of them */
    unsigned char key_id[CONSENT_KEY_ID_LEN];   /* set by decode */
} consent_unsub_t;

typedef enum {
    CONSENT_UNSUB_OK = 0,
    CONSENT_UNSUB_MISSING,
    CONSENT_UNSUB_MALFORMED,    /* not ours, truncated, bad base64 */
    CONSENT_UNSUB_UNKNOWN_KEY,  /* sealed by a key no longer listed */
    CONSENT_UNSUB_FORGED        /* fails authentication: altered */
} consent_unsub_status_t;

const char *consent_unsub_status_str(consent_unsub_status_t st);

/* Seals u with the keyring's first key. APR_EINVAL when a value is too
 * long for the format or a purpose is empty. */
apr_status_t consent_unsub_issue(const char **token,
                                 const consent_keyring_t *ring,
                                 const consent_unsub_t *u, apr_pool_t *p);

/* Opens a token; u is filled only when CONSENT_UNSUB_OK. */
consent_unsub_status_t consent_unsub_decode(consent_unsub_t *u,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            apr_pool_t *p);

#endif
