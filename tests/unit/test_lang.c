/* Accept-Language negotiation (consent_lang.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "consent_lang.h"

static apr_pool_t *pool;

static const char *pick(const char *header, const char *dflt)
{
    apr_array_header_t *offered = apr_array_make(pool, 2, sizeof(char *));

    APR_ARRAY_PUSH(offered, const char *) = "en";
    APR_ARRAY_PUSH(offered, const char *) = "fr";
    return consent_lang_negotiate(header, offered, dflt, pool);
}

static void exact_and_prefix(void **state)
{
    assert_string_equal(pick("fr", "en"), "fr");
    assert_string_equal(pick("fr-CA", "en"), "fr");
    assert_string_equal(pick("FR-be, en;q=0.5", "en"), "fr");
    assert_string_equal(pick("en-GB,en;q=0.9", "fr"), "en");
}

static void quality_wins_over_order(void **state)
{
    assert_string_equal(pick("fr;q=0.4, en;q=0.8", "fr"), "en");
    assert_string_equal(pick("de, fr;q=0.1", "en"), "fr");
    assert_string_equal(pick("fr;q=0, en;q=0.1", "fr"), "en");
}

static void default_when_nothing_matches(void **state)
{
    assert_string_equal(pick(NULL, "fr"), "fr");
    assert_string_equal(pick("", "fr"), "fr");
    assert_string_equal(pick("de, es", "fr"), "fr");
    assert_string_equal(pick("*", "en"), "en");
    assert_string_equal(pick("fr;q=0", "en"), "en");
    assert_string_equal(pick(NULL, NULL), "en");   /* first offered */
}

static void malformed_headers_are_harmless(void **state)
{
    assert_string_equal(pick(";;;,,,", "en"), "en");
    assert_string_equal(pick("fr;q=abc", "en"), "en");
    assert_string_equal(pick("fr;x=1", "en"), "en");
    assert_string_equal(pick("f", "en"), "en");
    assert_string_equal(pick("french", "en"), "en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_and_prefix),
        cmocka_unit_test(quality_wins_over_order),
        cmocka_unit_test(default_when_nothing_matches),
        cmocka_unit_test(malformed_headers_are_harmless),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
