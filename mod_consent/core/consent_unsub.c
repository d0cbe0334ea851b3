/*
 * Unsubscribe tokens: the plaintext of consent_unsub.h, sealed as a
 * consent_seal.h token (the format below predates that helper and is its
 * model, so links issued before still open).
 */
#include "consent_seal.h"
#include "consent_unsub.h"

#define LABEL "mod_consent unsubscribe v1"
/* Bounds what an attacker can make us decode. */
#define MAX_CHARS 4096
/* key_id(8) nonce(12) shortest plaintext(4) tag(16), in base64url. */
#define MIN_BYTES (CONSENT_KEY_ID_LEN + CONSENT_SEAL_NONCE_LEN + 4 + 16)
#define MIN_CHARS (sizeof CONSENT_UNSUB_PREFIX - 1 + (4 * MIN_BYTES + 2) / 3)

const char *consent_unsub_status_str(consent_unsub_status_t st)
{
    static const char *const names[] = {
        "ok", "missing", "malformed", "unknown key", "forged or altered"
    };

    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* ---- plaintext ------------------------------------------------------- */

static apr_size_t plain_max(void)
{
    return 1 + 255 + 2 + CONSENT_UNSUB_MAX_SUBJECT + 1
           + CONSENT_UNSUB_MAX_PURPOSES * 256;
}

static int encode_plain(unsigned char *b, apr_size_t *len,
                        const consent_unsub_t *u)
{
    apr_size_t n = strlen(u->form_id), s = strlen(u->subject), off = 0;
    int count = u->purposes ? u->purposes->nelts : 0, i;

    if (n == 0 || n > 255 || s > CONSENT_UNSUB_MAX_SUBJECT
        || count > CONSENT_UNSUB_MAX_PURPOSES) {
        return 0;
    }
    b[off++] = (unsigned char)n;
    memcpy(b + off, u->form_id, n);
    off += n;
    b[off++] = (unsigned char)(s >> 8);
    b[off++] = (unsigned char)(s & 0xff);
    memcpy(b + off, u->subject, s);
    off += s;
    b[off++] = (unsigned char)count;
    for (i = 0; i < count; ++i) {
        const char *pu = APR_ARRAY_IDX(u->purposes, i, const char *);

        n = strlen(pu);
        if (n == 0 || n > 255) {
            return 0;
        }
        b[off++] = (unsigned char)n;
        memcpy(b + off, pu, n);
        off += n;
    }
    *len = off;
    return 1;
}

/* A string of n bytes at *b (no NUL inside), or NULL when it overruns. */
static const char *take(const unsigned char **b, const unsigned char *end,
                        apr_size_t n, apr_pool_t *p)
{
    const char *s;

    if ((apr_size_t)(end - *b) < n || memchr(*b, '\0', n)) {
        return NULL;
    }
    s = apr_pstrmemdup(p, (const char *)*b, n);
    *b += n;
    return s;
}

static int decode_plain(consent_unsub_t *u, const unsigned char *b,
                        apr_size_t len, apr_pool_t *p)
{
    const unsigned char *end = b + len;
    apr_size_t n;
    int count, i;

    if (len < 4) {
        return 0;
    }
    n = *b++;
    if (!(u->form_id = take(&b, end, n, p)) || end - b < 3) {
        return 0;
    }
    n = ((apr_size_t)b[0] << 8) | b[1];
    b += 2;
    if (!(u->subject = take(&b, end, n, p)) || b >= end) {
        return 0;
    }
    count = *b++;
    u->purposes = apr_array_make(p, count + 1, sizeof(const char *));
    for (i = 0; i < count; ++i) {
        const char *pu;

        if (b >= end) {
            return 0;
        }
        n = *b++;
        if (n == 0 || !(pu = take(&b, end, n, p))) {
            return 0;
        }
        APR_ARRAY_PUSH(u->purposes, const char *) = pu;
    }
    return b == end;
}

/* ---- sealing (consent_seal.h) ---------------------------------------- */

/* Tokens already issued must keep opening: same prefix, label, bound. */
static const consent_seal_kind_t kind = {
    CONSENT_UNSUB_PREFIX, LABEL, MAX_CHARS
};

apr_status_t consent_unsub_issue(const char **token,
                                 const consent_keyring_t *ring,
                                 const consent_unsub_t *u, apr_pool_t *p)
{
    unsigned char *plain;
    apr_size_t len;

    if (!ring || ring->keys->nelts == 0 || !u->form_id || !u->subject) {
        return APR_EINVAL;
    }
    plain = apr_palloc(p, plain_max());
    if (!encode_plain(plain, &len, u)) {
        return APR_EINVAL;
    }
    return consent_seal(token, &kind, ring, plain, len, p);
}

static consent_unsub_status_t from_seal(consent_seal_status_t st)
{
    switch (st) {
    case CONSENT_SEAL_OK:
        return CONSENT_UNSUB_OK;
    case CONSENT_SEAL_MISSING:
        return CONSENT_UNSUB_MISSING;
    case CONSENT_SEAL_UNKNOWN_KEY:
        return CONSENT_UNSUB_UNKNOWN_KEY;
    case CONSENT_SEAL_FORGED:
        return CONSENT_UNSUB_FORGED;
    default:
        return CONSENT_UNSUB_MALFORMED;
    }
}

consent_unsub_status_t consent_unsub_decode(consent_unsub_t *u,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            apr_pool_t *p)
{
    consent_seal_facts_t facts;
    consent_seal_status_t st;
    unsigned char *plain;
    apr_size_t clen;

    memset(u, 0, sizeof *u);
    /* Shorter than the shortest plaintext: malformed before any key is
     * looked up, as links have always been answered. */
    if (token && *token && strlen(token) < MIN_CHARS) {
        return CONSENT_UNSUB_MALFORMED;
    }
    st = consent_unseal(&plain, &clen, &facts, &kind, ring, token, p);
    if (st != CONSENT_SEAL_OK) {
        return from_seal(st);
    }
    /* Authenticated, so ours: a payload we cannot read is a bug, but
     * it is still refused rather than trusted. */
    if (!decode_plain(u, plain, clen, p)) {
        memset(u, 0, sizeof *u);
        return CONSENT_UNSUB_MALFORMED;
    }
    memcpy(u->key_id, facts.key_id, CONSENT_KEY_ID_LEN);
    return CONSENT_UNSUB_OK;
}
