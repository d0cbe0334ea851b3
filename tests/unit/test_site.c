/*
 * Tenancy (consent_tenant.h): site names, per-site keys derived with HKDF,
 * and the site key file that consentctl site-key writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>

#include "consent_tenant.h"
#include "consent_notice.h"

static apr_pool_t *pool;

static consent_key_t *key_of(const char *secret)
{
    return consent_key_from_bytes((const unsigned char *)secret,
                                  strlen(secret), "test", pool);
}

/* RFC 5869 written out with HMAC, to check OpenSSL's HKDF is used as
 * documented: PRK = HMAC(salt, ikm), OKM = HMAC(PRK, info || 0x01). */
static void hkdf_by_hand(unsigned char *okm, const char *ikm,
                         const char *site)
{
    unsigned char prk[32], in[300];
    unsigned int n = 0;
    size_t len = strlen(site);

    HMAC(EVP_sha256(), CONSENT_SITE_SALT, sizeof CONSENT_SITE_SALT - 1,
         (const unsigned char *)ikm, strlen(ikm), prk, &n);
    memcpy(in, site, len);
    in[len] = 1;
    HMAC(EVP_sha256(), prk, sizeof prk, in, len + 1, okm, &n);
}

static void test_site_names(void **state)
{
    char big[300];

    (void)state;
    assert_null(consent_site_check("e.test", pool));
    assert_null(consent_site_check("customer-42", pool));
    assert_null(consent_site_check("127.0.0.1", pool));
    assert_null(consent_site_check("a_b.example.org", pool));
    assert_non_null(consent_site_check("", pool));
    assert_non_null(consent_site_check(NULL, pool));
    assert_non_null(consent_site_check("E.test", pool));
    assert_non_null(consent_site_check("e..test", pool));
    assert_non_null(consent_site_check(".e.test", pool));
    assert_non_null(consent_site_check("e.test.", pool));
    assert_non_null(consent_site_check("e test", pool));
    assert_non_null(consent_site_check("e.test:8080", pool));
    assert_non_null(consent_site_check("e/test", pool));
    memset(big, 'a', sizeof big);
    big[63] = '\0';
    assert_null(consent_site_check(big, pool));
    big[63] = 'a';
    big[64] = '\0';
    assert_non_null(consent_site_check(big, pool));     /* label > 63 */
    memset(big, 'a', sizeof big);
    for (int i = 50; i < 290; i += 51) {
        big[i] = '.';
    }
    big[254] = '\0';
    assert_non_null(consent_site_check(big, pool));     /* > 253 */
    big[253] = '\0';
    assert_null(consent_site_check(big, pool));
    assert_string_equal(consent_site_from_host("WWW.E.Test", pool),
                        "www.e.test");
    assert_string_equal(consent_site_from_host("[::1]", pool), "---1-");
}

static void test_keys_per_site(void **state)
{
    const char *secret = "0123456789abcdef0123456789abcdef-master";
    consent_keyring_t *master = consent_keyring_make(pool), *e, *f, *e2;
    const consent_key_t *ke, *kf;
    unsigned char want[32];
    const char *err = NULL;

    (void)state;
    consent_keyring_add(master, key_of(secret));
    e = consent_site_keyring(master, "e.test", pool, &err);
    f = consent_site_keyring(master, "f.test", pool, &err);
    e2 = consent_site_keyring(master, "e.test", pool, &err);
    assert_non_null(e);
    assert_non_null(f);
    ke = APR_ARRAY_IDX(e->keys, 0, const consent_key_t *);
    kf = APR_ARRAY_IDX(f->keys, 0, const consent_key_t *);
    hkdf_by_hand(want, secret, "e.test");
    assert_int_equal(ke->len, 32);
    assert_memory_equal(ke->bytes, want, 32);
    /* another site: another key and key id, so tokens do not cross */
    assert_memory_not_equal(ke->bytes, kf->bytes, 32);
    assert_memory_not_equal(ke->id, kf->id, CONSENT_KEY_ID_LEN);
    assert_null(consent_keyring_find(f, ke->id));
    /* deterministic: every node and consentctl derive the same */
    assert_memory_equal(APR_ARRAY_IDX(e2->keys, 0, consent_key_t *)->id,
                        ke->id, CONSENT_KEY_ID_LEN);
}

static void test_rotation(void **state)
{
    consent_keyring_t *old = consent_keyring_make(pool);
    consent_keyring_t *both = consent_keyring_make(pool);
    consent_keyring_t *site_old, *site_both;
    const consent_key_t *signer;
    const char *err = NULL;
    consent_key_t *k1 = key_of("old-master-0123456789abcdef0123456789");
    consent_key_t *k2 = key_of("new-master-0123456789abcdef0123456789");

    (void)state;
    consent_keyring_add(old, k1);
    consent_keyring_add(both, k2);
    consent_keyring_add(both, k1);
    site_old = consent_site_keyring(old, "e.test", pool, &err);
    site_both = consent_site_keyring(both, "e.test", pool, &err);
    assert_int_equal(site_both->keys->nelts, 2);
    /* the new master's derivation signs; the old one's still verifies */
    signer = APR_ARRAY_IDX(site_old->keys, 0, const consent_key_t *);
    assert_non_null(consent_keyring_find(site_both, signer->id));
    assert_memory_not_equal(APR_ARRAY_IDX(site_both->keys, 0,
                                          consent_key_t *)->id,
                            signer->id, CONSENT_KEY_ID_LEN);
}

static void test_site_key_file(void **state)
{
    consent_key_t *master = key_of("0123456789abcdef0123456789abcdef-m");
    consent_keyring_t *ring = consent_keyring_make(pool), *derived;
    consent_key_t *parsed = NULL;
    const char *text, *err = NULL, *site = NULL;
    int rv;

    (void)state;
    consent_keyring_add(ring, master);
    derived = consent_site_keyring(ring, "f.test", pool, &err);
    text = consent_site_key_text(master, "f.test", pool, &err);
    assert_non_null(text);
    assert_int_equal(strncmp(text, CONSENT_SITE_KEY_PREFIX " f.test ",
                             strlen(CONSENT_SITE_KEY_PREFIX) + 8), 0);
    /* as consent_key_load reads it: the trailing newline removed */
    rv = consent_site_key_parse(key_of(apr_pstrndup(pool, text,
                                                    strlen(text) - 1)),
                                &site, &parsed, pool, &err);
    assert_int_equal(rv, 1);
    assert_string_equal(site, "f.test");
    assert_memory_equal(parsed->id, APR_ARRAY_IDX(derived->keys, 0,
                                                  consent_key_t *)->id,
                        CONSENT_KEY_ID_LEN);
    /* a master is not a site key; a damaged site key is refused */
    assert_int_equal(consent_site_key_parse(master, &site, &parsed, pool,
                                            &err), 0);
    assert_int_equal(consent_site_key_parse(
        key_of(CONSENT_SITE_KEY_PREFIX " f.test 00ff"), &site, &parsed,
        pool, &err), -1);
    assert_int_equal(consent_site_key_parse(
        key_of(CONSENT_SITE_KEY_PREFIX " F.test 0123456789abcdef0123456789"
               "abcdef0123456789abcdef0123456789abcdef"), &site, &parsed,
        pool, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_names),
        cmocka_unit_test(test_keys_per_site),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_site_key_file),
    };
    int failed;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    failed = cmocka_run_group_tests_name("site", tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed;
}
