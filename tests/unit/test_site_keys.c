/*
 * The keyrings of sites, derived once (consent_site_keys.h): one per
 * master keyring and site, the same keys as consent_site_keyring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_hash.h>

#include "consent_site_keys.h"

static apr_pool_t *pool;

static consent_keyring_t *master_of(const char *secret)
{
    consent_keyring_t *ring = consent_keyring_make(pool);

    consent_keyring_add(ring, consent_key_from_bytes(
        (const unsigned char *)secret, strlen(secret), "test", pool));
    return ring;
}

static void derived_once(void **state)
{
    apr_hash_t *cache = apr_hash_make(pool);
    consent_keyring_t *m1 = master_of("0123456789abcdef0123456789abcdef-a");
    consent_keyring_t *m2 = master_of("0123456789abcdef0123456789abcdef-b");
    consent_keyring_t *e, *f, *e2, *plain;
    const consent_key_t *k, *kp;
    const char *err = NULL;

    e = consent_site_keys(cache, m1, "e.test", pool, &err);
    f = consent_site_keys(cache, m1, "f.test", pool, &err);
    assert_non_null(e);
    assert_non_null(f);
    assert_ptr_not_equal(e, f);
    /* the same master and site: the same keyring, not derived again */
    assert_ptr_equal(consent_site_keys(cache, m1, "e.test", pool, &err), e);
    /* another master: its own */
    e2 = consent_site_keys(cache, m2, "e.test", pool, &err);
    assert_non_null(e2);
    assert_ptr_not_equal(e2, e);
    assert_int_equal(apr_hash_count(cache), 3);
    /* the keys consent_site_keyring derives */
    plain = consent_site_keyring(m1, "e.test", pool, &err);
    k = APR_ARRAY_IDX(e->keys, 0, const consent_key_t *);
    kp = APR_ARRAY_IDX(plain->keys, 0, const consent_key_t *);
    assert_int_equal(k->len, kp->len);
    assert_memory_equal(k->bytes, kp->bytes, k->len);
}

/* A server's site: the named one, else its host's; none from a
 * wildcard, and then no keys. */
static void site_of_a_server(void **state)
{
    apr_hash_t *cache = apr_hash_make(pool);
    consent_keyring_t *m = master_of("0123456789abcdef0123456789abcdef-a");
    const char *site = NULL, *named = "shop", *why = NULL;

    assert_non_null(consent_site_keys_of(cache, m, &site, "WWW.E.test",
                                         pool, &why));
    assert_string_equal(site, "www.e.test");
    assert_ptr_equal(consent_site_keys_of(cache, m, &named, "x.test", pool,
                                          &why),
                     consent_site_keys(cache, m, "shop", pool, &why));
    assert_string_equal(named, "shop");
    site = NULL;
    assert_null(consent_site_keys_of(cache, m, &site, "*.e.test", pool,
                                     &why));
    assert_null(site);
    assert_string_equal(why, "\"*.e.test\" does not make a site name (a "
                        "wildcard or regular expression)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(derived_once),
        cmocka_unit_test(site_of_a_server),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
