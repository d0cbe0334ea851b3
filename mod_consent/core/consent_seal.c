/*
 * AES-256-GCM sealed tokens through libcrypto's EVP interface (see
 * consent_seal.h). The key is derived from the secret, so that the secret
 * itself never encrypts anything.
 */
#include <apr_encode.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "consent_seal.h"

#define NONCE_LEN CONSENT_SEAL_NONCE_LEN
#define TAG_LEN 16
#define HEAD_LEN (CONSENT_KEY_ID_LEN + NONCE_LEN)
#define MAX_PREFIX 16

static int derive(const consent_seal_kind_t *kind, const consent_key_t *key,
                  unsigned char *out)
{
    return consent_hmac(key, kind->label, strlen(kind->label), out)
           == APR_SUCCESS;
}

/* AAD = prefix || key_id: a token of another kind never opens here. */
static apr_size_t make_aad(unsigned char *aad, const char *prefix,
                           const unsigned char *key_id)
{
    apr_size_t n = strlen(prefix);

    memcpy(aad, prefix, n);
    memcpy(aad + n, key_id, CONSENT_KEY_ID_LEN);
    return n + CONSENT_KEY_ID_LEN;
}

/* Encrypts (enc = 1) or decrypts and authenticates (enc = 0) in one
 * pass; tag is written when encrypting, checked when decrypting. */
static int gcm(int enc, const unsigned char *k, const unsigned char *nonce,
               const unsigned char *aad, apr_size_t aad_len,
               const unsigned char *in, apr_size_t len, unsigned char *out,
               unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    ok = ctx != NULL
         && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc)
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
                                NULL)
         && EVP_CipherInit_ex(ctx, NULL, NULL, k, nonce, enc)
         && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len)
         && EVP_CipherUpdate(ctx, out, &n, in, (int)len)
         && (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                        tag))
         && EVP_CipherFinal_ex(ctx, out + n, &n)
         && (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                         tag));
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

apr_status_t consent_seal(const char **token, const consent_seal_kind_t *kind,
                          const consent_keyring_t *ring,
                          const unsigned char *plain, apr_size_t len,
                          apr_pool_t *p)
{
    unsigned char k[CONSENT_SHA256_LEN], aad[MAX_PREFIX + CONSENT_KEY_ID_LEN];
    const consent_key_t *key;
    unsigned char *buf;
    apr_size_t aad_len;
    const char *b64;
    int ok;

    if (!ring || ring->keys->nelts == 0 || strlen(kind->prefix) > MAX_PREFIX
        || len == 0 || len > kind->max_chars) {
        return APR_EINVAL;
    }
    key = APR_ARRAY_IDX(ring->keys, 0, const consent_key_t *);
    buf = apr_palloc(p, HEAD_LEN + len + TAG_LEN);
    memcpy(buf, key->id, CONSENT_KEY_ID_LEN);
    aad_len = make_aad(aad, kind->prefix, key->id);
    ok = RAND_bytes(buf + CONSENT_KEY_ID_LEN, NONCE_LEN) == 1
         && derive(kind, key, k)
         && gcm(1, k, buf + CONSENT_KEY_ID_LEN, aad, aad_len, plain, len,
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
    *token = apr_pstrcat(p, kind->prefix, b64, NULL);
    return APR_SUCCESS;
}

/* Base64 leaves slack in the last character's low bits; re-encoding and
 * comparing makes every character significant. */
unsigned char *consent_b64url_decode_strict(const char *b64, apr_size_t *len,
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

consent_seal_status_t consent_unseal(unsigned char **plain, apr_size_t *len,
                                     consent_seal_facts_t *facts,
                                     const consent_seal_kind_t *kind,
                                     const consent_keyring_t *ring,
                                     const char *token, apr_pool_t *p)
{
    unsigned char k[CONSENT_SHA256_LEN], aad[MAX_PREFIX + CONSENT_KEY_ID_LEN];
    apr_size_t pre = strlen(kind->prefix), n, clen, aad_len;
    const consent_key_t *key;
    unsigned char *buf, *out;
    int ok;

    *plain = NULL;
    *len = 0;
    if (!token || !*token) {
        return CONSENT_SEAL_MISSING;
    }
    if (pre > MAX_PREFIX || strncmp(token, kind->prefix, pre) != 0
        || strlen(token) > kind->max_chars
        || !(buf = consent_b64url_decode_strict(token + pre, &n, p))
        || n < HEAD_LEN + 1 + TAG_LEN) {
        return CONSENT_SEAL_MALFORMED;
    }
    if (!ring || !(key = consent_keyring_find(ring, buf))) {
        return CONSENT_SEAL_UNKNOWN_KEY;
    }
    clen = n - HEAD_LEN - TAG_LEN;
    out = apr_palloc(p, clen + 16);
    aad_len = make_aad(aad, kind->prefix, buf);
    ok = derive(kind, key, k)
         && gcm(0, k, buf + CONSENT_KEY_ID_LEN, aad, aad_len, buf + HEAD_LEN,
                clen, out, buf + HEAD_LEN + clen);
    OPENSSL_cleanse(k, sizeof k);
    if (!ok) {
        return CONSENT_SEAL_FORGED;
    }
    if (facts) {
        memcpy(facts->key_id, buf, CONSENT_KEY_ID_LEN);
        memcpy(facts->nonce, buf + CONSENT_KEY_ID_LEN, NONCE_LEN);
    }
    *plain = out;
    *len = clen;
    return CONSENT_SEAL_OK;
}
