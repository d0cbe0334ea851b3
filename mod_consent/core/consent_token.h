/*
 * Render tokens: the hidden consent_token of every form the server rendered
 * (or, in guard mode, inspected). It carries the facts an auditor needs
 * about how the form was shown (R1, R7), signed with HMAC-SHA256:
 *
 *   "c1." base64url(payload || mac)
 *   payload = version(1) key_id(8) issued_usec(8, big-endian) nonce(16)
 *             form_version(4) notice_sha256(32)
 *             len(1) form_id  len(1) lang  count(1) defaults[count]
 *   mac     = HMAC-SHA256(key, "c1." || payload)
 *
 * A fixed binary layout rather than JSON: short tokens, one bounds-checked
 * reader, and nothing to canonicalise before signing.
 */
#ifndef CONSENT_TOKEN_H
#define CONSENT_TOKEN_H

#include "consent_key.h"
#include "consent_form.h"

#define CONSENT_NONCE_LEN 16
#define CONSENT_TOKEN_MAX_PURPOSES 255

/* Default state of a box as rendered (one char per purpose). */
#define CONSENT_BOX_UNTICKED '0'
#define CONSENT_BOX_TICKED   '1'
#define CONSENT_BOX_ABSENT   '-'    /* guard mode: box not found in page */

typedef struct {
    unsigned char key_id[CONSENT_KEY_ID_LEN];
    apr_time_t issued;
    unsigned char nonce[CONSENT_NONCE_LEN];
    const char *form_id;
    unsigned form_version;
    unsigned char notice_sha256[CONSENT_SHA256_LEN];
    const char *lang;
    const char *defaults;   /* one CONSENT_BOX_* per purpose, form order */
} consent_token_facts_t;

typedef enum {
    CONSENT_TOKEN_OK = 0,
    CONSENT_TOKEN_MISSING,      /* no token at all */
    CONSENT_TOKEN_MALFORMED,    /* not a token of ours, truncated... */
    CONSENT_TOKEN_UNKNOWN_KEY,  /* signed by a key we no longer have */
    CONSENT_TOKEN_BAD_MAC,      /* forged or altered */
    CONSENT_TOKEN_WRONG_FORM,   /* issued for another form */
    CONSENT_TOKEN_STALE_FORM,   /* same form, older version or notice */
    CONSENT_TOKEN_EXPIRED,      /* older than the lifetime */
    CONSENT_TOKEN_FUTURE        /* issued in the future (clock skew) */
} consent_token_status_t;

const char *consent_token_status_str(consent_token_status_t st);

/*
 * Signs facts with the keyring's first key. issued and nonce are filled
 * in here (now, RAND_bytes) and copied back into *facts.
 */
apr_status_t consent_token_issue(const char **token,
                                 const consent_keyring_t *ring,
                                 consent_token_facts_t *facts,
                                 apr_pool_t *p);

/* Decodes and checks the signature only (no time or form checks). */
consent_token_status_t consent_token_decode(consent_token_facts_t *facts,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            apr_pool_t *p);

/*
 * Full verification for a submission: signature, key, then binding to
 * the form (id, version, notice of the token's language), then age
 * (skew of up to 60 s in the future tolerated).
 */
consent_token_status_t consent_token_verify(consent_token_facts_t *facts,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            const consent_form_t *form,
                                            apr_time_t now,
                                            apr_interval_time_t lifetime,
                                            apr_pool_t *p);

#endif
