/*
 * Site names and per-site keys (consent_tenant.h).
 */
#include <apr_lib.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "consent_tenant.h"
#include "consent_hex.h"

#define SITE_KEY_LEN 32

const char *consent_site_check(const char *name, apr_pool_t *p)
{
    const char *c;
    apr_size_t label = 0;

    if (!name || !*name) {
        return "a site name cannot be empty";
    }
    if (strlen(name) > CONSENT_SITE_MAX) {
        return apr_psprintf(p, "site name longer than %d characters",
                            CONSENT_SITE_MAX);
    }
    for (c = name; *c; ++c) {
        if (*c == '.') {
            if (label == 0) {
                return apr_psprintf(p, "site %s has an empty label", name);
            }
            label = 0;
            continue;
        }
        if (!(apr_islower(*c) || apr_isdigit(*c) || *c == '-'
              || *c == '_') || ++label > 63) {
            return apr_psprintf(p, "site %s: only lower-case letters, "
                                "digits, '-', '_' and '.' between labels "
                                "of up to 63 characters", name);
        }
    }
    return label ? NULL : apr_psprintf(p, "site %s ends with a dot", name);
}

const char *consent_site_from_host(const char *host, apr_pool_t *p)
{
    char *s = apr_pstrdup(p, host ? host : "");
    char *c;

    for (c = s; *c; ++c) {
        *c = apr_tolower(*c);
        if (!(apr_islower(*c) || apr_isdigit(*c) || *c == '.'
              || *c == '_')) {
            *c = '-';           /* an IPv6 address: [::1] */
        }
    }
    return s;
}

static int hkdf(unsigned char *out, const consent_key_t *master,
                const char *site)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5];
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  master->bytes,
                                                  master->len);
    params[2] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, (char *)CONSENT_SITE_SALT,
        sizeof CONSENT_SITE_SALT - 1);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  (char *)site,
                                                  strlen(site));
    params[4] = OSSL_PARAM_construct_end();
    ok = ctx && EVP_KDF_derive(ctx, out, SITE_KEY_LEN, params) > 0;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok;
}

static consent_key_t *derive(const consent_key_t *master, const char *site,
                             apr_pool_t *p, const char **err)
{
    unsigned char raw[SITE_KEY_LEN];
    consent_key_t *key = NULL;

    if (hkdf(raw, master, site)) {
        key = consent_key_from_bytes(raw, sizeof raw,
                                     apr_pstrcat(p, master->path, " for ",
                                                 site, NULL), p);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    if (!key) {
        *err = apr_psprintf(p, "deriving the key of site %s failed "
                            "(OpenSSL HKDF)", site);
    }
    return key;
}

consent_keyring_t *consent_site_keyring(const consent_keyring_t *master,
                                        const char *site, apr_pool_t *p,
                                        const char **err)
{
    consent_keyring_t *ring = consent_keyring_make(p);
    int i;

    for (i = 0; i < master->keys->nelts; ++i) {
        consent_key_t *key = derive(APR_ARRAY_IDX(master->keys, i,
                                                  consent_key_t *),
                                    site, p, err);
        if (!key) {
            return NULL;
        }
        consent_keyring_add(ring, key);
    }
    return ring;
}

const char *consent_site_key_text(const consent_key_t *master,
                                  const char *site, apr_pool_t *p,
                                  const char **err)
{
    consent_key_t *key = derive(master, site, p, err);

    return key ? apr_pstrcat(p, CONSENT_SITE_KEY_PREFIX " ", site, " ",
                             consent_hex(p, key->bytes, key->len), "\n",
                             NULL)
               : NULL;
}

int consent_site_key_is(const consent_key_t *key)
{
    static const char prefix[] = CONSENT_SITE_KEY_PREFIX " ";

    return key->len >= sizeof prefix - 1
           && memcmp(key->bytes, prefix, sizeof prefix - 1) == 0;
}

int consent_site_key_parse(const consent_key_t *key, const char **site,
                           consent_key_t **out, apr_pool_t *p,
                           const char **err)
{
    static const char prefix[] = CONSENT_SITE_KEY_PREFIX " ";
    unsigned char raw[SITE_KEY_LEN];
    char *text, *sp;

    if (!consent_site_key_is(key)) {
        return 0;
    }
    text = apr_pstrmemdup(p, (const char *)key->bytes + sizeof prefix - 1,
                          key->len - (sizeof prefix - 1));
    sp = strchr(text, ' ');
    if (!sp || (*sp = '\0', consent_site_check(text, p))
        || !consent_hex_decode(raw, sp + 1, sizeof raw)) {
        *err = apr_psprintf(p, "site key file %s is malformed", key->path);
        OPENSSL_cleanse(text, strlen(text));
        return -1;
    }
    *site = text;
    *out = consent_key_from_bytes(raw, sizeof raw, key->path, p);
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(sp + 1, strlen(sp + 1));
    return *out ? 1 : -1;
}
