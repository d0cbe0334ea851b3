/* The core's urlencoded parser (consent_urlencoded.c), strict on purpose. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "consent_urlencoded.h"

static apr_pool_t *pool;

static apr_array_header_t *parse(const char *body)
{
    apr_array_header_t *fs;

    if (consent_urlencoded_parse(body, strlen(body), &fs, NULL, pool)
        != APR_SUCCESS) {
        assert_null(fs);
        return NULL;
    }
    return fs;
}

static const consent_field_value_t *at(apr_array_header_t *fs, int i)
{
    return &APR_ARRAY_IDX(fs, i, consent_field_value_t);
}

static void fields_in_order_decoded(void **state)
{
    apr_array_header_t *fs = parse("email=Ada%40Example.org&consent=a"
                                   "&consent=b&name=Ada+L%C3%B6");

    assert_non_null(fs);
    assert_int_equal(fs->nelts, 4);
    assert_string_equal(at(fs, 0)->name, "email");
    assert_string_equal(at(fs, 0)->value, "Ada@Example.org");
    assert_string_equal(at(fs, 1)->value, "a");
    assert_string_equal(at(fs, 2)->value, "b");
    assert_string_equal(at(fs, 3)->value, "Ada L\xc3\xb6");
    assert_int_equal(at(fs, 3)->len, strlen("Ada L\xc3\xb6"));
}

static void nul_shows_in_the_length(void **state)
{
    apr_array_header_t *fs = parse("v=a%00b&e=");

    assert_non_null(fs);
    assert_int_equal(at(fs, 0)->len, 3);
    assert_int_equal(strlen(at(fs, 0)->value), 1);
    assert_int_equal(at(fs, 1)->len, 0);
    assert_string_equal(at(fs, 1)->value, "");
}

static void empty_pairs_are_skipped(void **state)
{
    apr_array_header_t *fs = parse("&a=1&&b=2&");

    assert_non_null(fs);
    assert_int_equal(fs->nelts, 2);
    assert_int_equal(parse("")->nelts, 0);
}

static void malformed_is_refused(void **state)
{
    assert_null(parse("a=%zz"));
    assert_null(parse("a=%4"));
    assert_null(parse("a=%"));
    assert_null(parse("a=1&b"));        /* no '=' */
    assert_null(parse("=1"));           /* no name */
}

/* A NUL in a name is not malformed bytes but a name no page may take:
 * kept, flagged, so that the page answers it (400) with its own page. */
static void nul_in_a_name_is_flagged(void **state)
{
    apr_array_header_t *fs = parse("a%00b=1");

    assert_non_null(fs);
    assert_int_equal(fs->nelts, 1);
    assert_true(APR_ARRAY_IDX(fs, 0, consent_field_value_t).bad_name);
}

static void content_types(void **state)
{
    assert_true(consent_urlencoded_is("application/x-www-form-urlencoded"));
    assert_true(consent_urlencoded_is(
        "Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
    assert_false(consent_urlencoded_is("application/x-www-form-urlencodedx"));
    assert_false(consent_urlencoded_is("multipart/form-data; boundary=x"));
    assert_false(consent_urlencoded_is(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_in_order_decoded),
        cmocka_unit_test(nul_shows_in_the_length),
        cmocka_unit_test(empty_pairs_are_skipped),
        cmocka_unit_test(malformed_is_refused),
        cmocka_unit_test(nul_in_a_name_is_flagged),
        cmocka_unit_test(content_types),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
