/*
 * Unsubscribe tokens: AES-256-GCM through libcrypto's EVP interface, with
 * a key derived from the site secret so that the secret itself never
 * encrypts anything (see consent_unsub.h for the format).
 */
#include <apr_encode.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "consent_unsub.h"

#define LABEL "mod_consent unsubscribe v1"
#define NONCE_LEN 12
#define TAG_LEN 16
#define AAD_LEN (sizeof CONSENT_UNSUB_PREFIX - 1 + CONSENT_KEY_ID_LEN)
#define HEAD_LEN (CONSENT_KEY_ID_LEN + NONCE_LEN)
/* Bounds what an attacker can make us decode. */
#define MAX_CHARS 4096

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

/* ---- crypto ----------------------------------------------------------- */

/* The encryption key: never the secret itself. */
static apr_status_t derive(const consent_key_t *key, unsigned char *out)
{
    return consent_hmac(key, LABEL, sizeof LABEL - 1, out);
}

static void make_aad(unsigned char *aad, const unsigned char *key_id)
{
    memcpy(aad, CONSENT_UNSUB_PREFIX, sizeof CONSENT_UNSUB_PREFIX - 1);
    memcpy(aad + sizeof CONSENT_UNSUB_PREFIX - 1, key_id,
           CONSENT_KEY_ID_LEN);
}

/* Encrypts (enc = 1) or decrypts and authenticates (enc = 0) in one
 * pass; tag is written when encrypting, checked when decrypting. */
static int gcm(int enc, const unsigned char *k, const unsigned char *nonce,
               const unsigned char *aad, const unsigned char *in,
               apr_size_t len, unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    ok = ctx != NULL
         && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc)
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
                                NULL)
         && EVP_CipherInit_ex(ctx, NULL, NULL, k, nonce, enc)
         && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)AAD_LEN)
         && EVP_CipherUpdate(ctx, out, &n, in, (int)len)
         && (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                        tag))
         && EVP_CipherFinal_ex(ctx, out + n, &n)
         && (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                         tag));
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

apr_status_t consent_unsub_issue(const char **token,
                                 const consent_keyring_t *ring,
                                 const consent_unsub_t *u, apr_pool_t *p)
{
    const consent_key_t *key;
    unsigned char k[CONSENT_SHA256_LEN], aad[AAD_LEN], *plain, *buf;
    apr_size_t len;
    const char *b64;
    int ok;

    if (!ring || ring->keys->nelts == 0 || !u->form_id || !u->subject) {
        return APR_EINVAL;
    }
    key = APR_ARRAY_IDX(ring->keys, 0, const consent_key_t *);
    plain = apr_palloc(p, plain_max());
    if (!encode_plain(plain, &len, u)) {
        return APR_EINVAL;
    }
    buf = apr_palloc(p, HEAD_LEN + len + TAG_LEN);
    memcpy(buf, key->id, CONSENT_KEY_ID_LEN);
    make_aad(aad, key->id);
    ok = RAND_bytes(buf + CONSENT_KEY_ID_LEN, NONCE_LEN) == 1
         && derive(key, k) == APR_SUCCESS
         && gcm(1, k, buf + CONSENT_KEY_ID_LEN, aad, plain, len,
                buf + HEAD_LEN, buf + HEAD_LEN + len);
    OPENSSL_cleanse(k, sizeof k);
    if (!ok) {
        return APR_EGENERAL;
    }
    b64 = apr_pencode_base64(p, (const char *)buf, HEAD_LEN + len + TAG_LEN,
                             APR_ENCODE_BASE64URL, NULL);
    if (!b64) {
        return APR_EGENERAL;
    }
    *token = apr_pstrcat(p, CONSENT_UNSUB_PREFIX, b64, NULL);
    return APR_SUCCESS;
}

/* Base64 leaves slack in the last character's low bits; re-encoding and
 * comparing makes every character significant (as render tokens do). */
static unsigned char *decode_strict(const char *b64, apr_size_t *len,
                                    apr_pool_t *p)
{
    apr_size_t n = 0;
    const char *again;
    char *buf;

    if (apr_decode_base64(NULL, b64, APR_ENCODE_STRING, APR_ENCODE_BASE64URL,
                          &n) != APR_SUCCESS) {
        return NULL;
    }
    buf = apr_palloc(p, n + 1);
    if (apr_decode_base64(buf, b64, APR_ENCODE_STRING, APR_ENCODE_BASE64URL,
                          len) != APR_SUCCESS) {
        return NULL;
    }
    again = apr_pencode_base64(p, buf, *len, APR_ENCODE_BASE64URL, NULL);
    return again && strcmp(again, b64) == 0 ? (unsigned char *)buf : NULL;
}

consent_unsub_status_t consent_unsub_decode(consent_unsub_t *u,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            apr_pool_t *p)
{
    const apr_size_t pre = sizeof CONSENT_UNSUB_PREFIX - 1;
    unsigned char k[CONSENT_SHA256_LEN], aad[AAD_LEN], *buf, *plain;
    const consent_key_t *key;
    apr_size_t len, clen;
    int ok;

    memset(u, 0, sizeof *u);
    if (!token || !*token) {
        return CONSENT_UNSUB_MISSING;
    }
    if (strncmp(token, CONSENT_UNSUB_PREFIX, pre) != 0
        || strlen(token) > MAX_CHARS
        || !(buf = decode_strict(token + pre, &len, p))
        || len < HEAD_LEN + 4 + TAG_LEN) {
        return CONSENT_UNSUB_MALFORMED;
    }
    if (!(key = consent_keyring_find(ring, buf))) {
        return CONSENT_UNSUB_UNKNOWN_KEY;
    }
    clen = len - HEAD_LEN - TAG_LEN;
    plain = apr_palloc(p, clen + 16);
    make_aad(aad, buf);
    ok = derive(key, k) == APR_SUCCESS
         && gcm(0, k, buf + CONSENT_KEY_ID_LEN, aad, buf + HEAD_LEN, clen,
                plain, buf + HEAD_LEN + clen);
    OPENSSL_cleanse(k, sizeof k);
    if (!ok) {
        return CONSENT_UNSUB_FORGED;
    }
    /* Authenticated, so ours: a payload we cannot read is a bug, but
     * it is still refused rather than trusted. */
    if (!decode_plain(u, plain, clen, p)) {
        memset(u, 0, sizeof *u);
        return CONSENT_UNSUB_MALFORMED;
    }
    memcpy(u->key_id, buf, CONSENT_KEY_ID_LEN);
    return CONSENT_UNSUB_OK;
}
