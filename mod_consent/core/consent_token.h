/*
 * Render tokens: the hidden consent_token of every form the server rendered
 * (or, in guard mode, inspected). It carries the facts an auditor needs
 * about how the form was shown (R1, R7), signed with HMAC-SHA256:
 *
 *   "c1." base64url(payload || mac)
 *   payload = version(1) key_id(8) issued_usec(8, big-endian) nonce(16)
 *             form_version(4) notice_sha256(32) page(1)
 *             len(1) form_id  len(1) lang  count(1) defaults[count]
 *   mac     = HMAC-SHA256(key, "c1." || payload)
 *
 * Version 2 added page, the kind of page that issued the token (form,
 * withdrawal, guard): a withdrawal page's token posted to the form would
 * otherwise record a consent, and the reverse. A version 1 token (issued
 * before the upgrade, minutes ago at most) is answered as expired: the
 * person gets a fresh page.
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

/* The page a token was issued by, and may only be posted back to. */
typedef enum {
    CONSENT_PAGE_NONE = 0,      /* version 1 token: no page recorded */
    CONSENT_PAGE_FORM = 1,      /* the form mod_consent renders */
    CONSENT_PAGE_WITHDRAW = 2,  /* L/withdraw */
    CONSENT_PAGE_GUARD = 3,     /* an application's form (ConsentGuard) */
    CONSENT_PAGE_UNSUBSCRIBE = 4    /* L/unsubscribe: sealed links, never
                                       a render token (consent_flow.h) */
} consent_page_kind_t;

typedef struct {
    unsigned char key_id[CONSENT_KEY_ID_LEN];
    apr_time_t issued;
    unsigned char nonce[CONSENT_NONCE_LEN];
    const char *form_id;
    unsigned form_version;
    unsigned char notice_sha256[CONSENT_SHA256_LEN];
    const char *lang;
    const char *defaults;   /* one CONSENT_BOX_* per purpose, form order */
    consent_page_kind_t page;
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
    CONSENT_TOKEN_FUTURE,       /* issued in the future (clock skew) */
    CONSENT_TOKEN_WRONG_PAGE,   /* issued by another kind of page */
    CONSENT_TOKEN_OLD_FORMAT    /* version 1: no page, issue a fresh one */
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
 * (skew of up to 60 s in the future tolerated). A form page's token.
 */
consent_token_status_t consent_token_verify(consent_token_facts_t *facts,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            const consent_form_t *form,
                                            apr_time_t now,
                                            apr_interval_time_t lifetime,
                                            apr_pool_t *p);

/* The same, for a token that page (a consent_page_kind_t) issued. */
consent_token_status_t consent_token_verify_page(
    consent_token_facts_t *facts, const consent_keyring_t *ring,
    const char *token, const consent_form_t *form, int page,
    apr_time_t now, apr_interval_time_t lifetime, apr_pool_t *p);

#endif
