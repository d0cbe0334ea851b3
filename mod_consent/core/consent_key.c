#include <sys/stat.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>

#include "consent_key.h"
#include "consent_hex.h"

static apr_status_t wipe_key(void *data)
{
    consent_key_t *key = data;

    EVP_MAC_CTX_free(key->keyed);
    key->keyed = NULL;
    OPENSSL_cleanse(key->bytes, key->len);
    return APR_SUCCESS;
}

/*
 * OpenSSL 3's one-shot HMAC() fetches the algorithm and hashes the padded
 * key on every call: over a quarter of a form GET (callgrind). Keyed once
 * here, each MAC then copies this context. NULL on failure: HMAC() then.
 */
static EVP_MAC_CTX *keyed_context(const consent_key_t *key)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx && !EVP_MAC_init(ctx, key->bytes, key->len, params)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    EVP_MAC_free(mac);          /* the context keeps its own reference */
    return ctx;
}

/*
 * The owner may chmod the file back open, or (the web server's User
 * owning it) rewrite it from a compromised child: only root, or whoever
 * loads it (Apache's start-up, consentctl), may own it.
 */
static const char *check_owner(const char *path, const apr_finfo_t *fi,
                               apr_pool_t *p)
{
    uid_t me = geteuid();
    char *name = NULL;

    if (fi->user == 0 || fi->user == me) {
        return NULL;
    }
    apr_uid_name_get(&name, fi->user, p);
    return apr_psprintf(p, "secret file %s is owned by %s (uid %ld): it "
                        "must belong to root%s (chown root:root it)", path,
                        name ? name : "an unknown user", (long)fi->user,
                        me == 0 ? "" : " or to the user loading it");
}

/* Group or other access would let any local user forge consent. */
static const char *check_file(const char *path, apr_pool_t *p)
{
    apr_finfo_t fi;
    apr_status_t rv;
    char buf[120];

    rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_SIZE
                  | APR_FINFO_OWNER, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "secret file %s: %s", path,
                            apr_strerror(rv, buf, sizeof buf));
    }
    if (fi.filetype != APR_REG) {
        return apr_psprintf(p, "secret file %s is not a regular file", path);
    }
    if (fi.protection & (APR_GREAD | APR_GWRITE | APR_WREAD | APR_WWRITE)) {
        return apr_psprintf(p, "secret file %s is accessible by group or "
                            "others: chmod 600 it", path);
    }
    if (fi.size > 64 * 1024) {
        return apr_psprintf(p, "secret file %s is larger than 64 KiB", path);
    }
    return check_owner(path, &fi, p);
}

static const char *read_secret(consent_key_t *key, const char *path,
                               apr_pool_t *p)
{
    char *buf;
    apr_size_t len;
    apr_file_t *f;
    apr_status_t rv;
    char ebuf[120];

    buf = apr_palloc(p, 64 * 1024 + 1);
    len = 64 * 1024;
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, len, &len);
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(p, "secret file %s: %s", path,
                            apr_strerror(rv, ebuf, sizeof ebuf));
    }
    /* Files made with `openssl rand -base64 48 > f` end with a newline. */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        --len;
    }
    key->bytes = (unsigned char *)buf;
    key->len = len;
    apr_pool_cleanup_register(p, key, wipe_key, apr_pool_cleanup_null);
    if (len < CONSENT_KEY_MIN_LEN) {
        return apr_psprintf(p, "secret file %s holds %" APR_SIZE_T_FMT
                            " bytes, at least %d are needed (e.g. "
                            "openssl rand -base64 48)", path, len,
                            CONSENT_KEY_MIN_LEN);
    }
    return NULL;
}

apr_status_t consent_key_load(consent_key_t **pkey, const char *path,
                              apr_pool_t *p, const char **err)
{
    consent_key_t *key = apr_pcalloc(p, sizeof *key);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen;

    *pkey = NULL;
    if ((*err = check_file(path, p)) || (*err = read_secret(key, path, p))) {
        return APR_EGENERAL;
    }
    if (!EVP_Digest(key->bytes, key->len, digest, &dlen, EVP_sha256(),
                    NULL)) {
        *err = apr_psprintf(p, "secret file %s: SHA-256 failed", path);
        return APR_EGENERAL;
    }
    memcpy(key->id, digest, CONSENT_KEY_ID_LEN);
    key->path = apr_pstrdup(p, path);
    key->keyed = keyed_context(key);
    *pkey = key;
    return APR_SUCCESS;
}

consent_key_t *consent_key_from_bytes(const unsigned char *bytes,
                                      apr_size_t len, const char *label,
                                      apr_pool_t *p)
{
    consent_key_t *key = apr_pcalloc(p, sizeof *key);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen;

    key->bytes = apr_pmemdup(p, bytes, len);
    key->len = len;
    apr_pool_cleanup_register(p, key, wipe_key, apr_pool_cleanup_null);
    if (!EVP_Digest(key->bytes, key->len, digest, &dlen, EVP_sha256(),
                    NULL)) {
        return NULL;
    }
    memcpy(key->id, digest, CONSENT_KEY_ID_LEN);
    key->path = apr_pstrdup(p, label);
    key->keyed = keyed_context(key);
    return key;
}

consent_keyring_t *consent_keyring_make(apr_pool_t *p)
{
    consent_keyring_t *ring = apr_pcalloc(p, sizeof *ring);

    ring->keys = apr_array_make(p, 2, sizeof(consent_key_t *));
    return ring;
}

void consent_keyring_add(consent_keyring_t *ring, consent_key_t *key)
{
    APR_ARRAY_PUSH(ring->keys, consent_key_t *) = key;
}

const consent_key_t *consent_keyring_find(const consent_keyring_t *ring,
                                          const unsigned char *id)
{
    int i;

    for (i = 0; ring && i < ring->keys->nelts; ++i) {
        const consent_key_t *k = APR_ARRAY_IDX(ring->keys, i, consent_key_t *);
        if (memcmp(k->id, id, CONSENT_KEY_ID_LEN) == 0) {
            return k;
        }
    }
    return NULL;
}

apr_status_t consent_hmac(const consent_key_t *key, const void *data,
                          apr_size_t len, unsigned char *mac)
{
    unsigned int mlen = 0;
    EVP_MAC_CTX *ctx = key->keyed ? EVP_MAC_CTX_dup(key->keyed) : NULL;

    if (ctx) {
        size_t out = 0;
        int ok = EVP_MAC_update(ctx, data, len)
                 && EVP_MAC_final(ctx, mac, &out, CONSENT_SHA256_LEN)
                 && out == CONSENT_SHA256_LEN;

        EVP_MAC_CTX_free(ctx);
        return ok ? APR_SUCCESS : APR_EGENERAL;
    }
    if (!HMAC(EVP_sha256(), key->bytes, (int)key->len, data, len, mac,
              &mlen) || mlen != CONSENT_SHA256_LEN) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

const char *consent_hmac_hex(const consent_key_t *key, const void *data,
                             apr_size_t len, apr_pool_t *p)
{
    unsigned char mac[CONSENT_SHA256_LEN];

    if (consent_hmac(key, data, len, mac) != APR_SUCCESS) {
        return NULL;
    }
    return consent_hex(p, mac, sizeof mac);
}

int consent_mac_equal(const unsigned char *a, const unsigned char *b,
                      apr_size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
