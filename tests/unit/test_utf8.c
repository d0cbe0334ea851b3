/* Strict input (consent_utf8.c, consent_urlencoded.c): the byte
 * sequences of issue 11, the subject rules, the one normalisation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "consent_utf8.h"
#include "consent_urlencoded.h"

static apr_pool_t *pool;

static int valid(const char *s)
{
    return consent_utf8_valid(s, strlen(s));
}

static void rfc3629_refusals(void **state)
{
    assert_false(valid("\xc0\xae"));            /* overlong '.' */
    assert_false(valid("\xc0\x80"));            /* overlong NUL */
    assert_false(valid("\xc1\xbf"));            /* overlong DEL */
    assert_false(valid("\xe0\x80\xaf"));        /* overlong '/' */
    assert_false(valid("\xe0\x9f\xbf"));        /* overlong U+07FF */
    assert_false(valid("\xf0\x8f\xbf\xbf"));    /* overlong U+FFFF */
    assert_false(valid("\xed\xa0\x80"));        /* surrogate D800 */
    assert_false(valid("\xed\xbf\xbf"));        /* surrogate DFFF */
    assert_false(valid("\xf4\x90\x80\x80"));    /* U+110000 */
    assert_false(valid("\xf5\x80\x80\x80"));
    assert_false(valid("\xff"));
    assert_false(valid("\x80"));                /* lone continuation */
    assert_false(valid("\xe2\x82"));            /* truncated */
    assert_false(valid("a\xe2\x82"));
    assert_false(valid("\xf0\x9f\x98"));
    assert_false(valid("\xc3\x28"));            /* bad continuation */
    assert_false(valid("\xe2\x28\xa1"));
    assert_false(consent_utf8_valid("a\0b", 3));  /* NUL inside */
}

static void rfc3629_acceptances(void **state)
{
    assert_true(valid(""));
    assert_true(valid("ada@example.org"));
    assert_true(valid("Zo\xc3\xa9"));                   /* U+00E9 */
    assert_true(valid("\xc2\x80"));                     /* U+0080 */
    assert_true(valid("\xe0\xa0\x80"));                 /* U+0800 */
    assert_true(valid("\xed\x9f\xbf"));                 /* U+D7FF */
    assert_true(valid("\xee\x80\x80"));                 /* U+E000 */
    assert_true(valid("\xef\xbf\xbd"));                 /* U+FFFD */
    assert_true(valid("\xf0\x90\x80\x80"));             /* U+10000 */
    assert_true(valid("\xf4\x8f\xbf\xbf"));             /* U+10FFFF */
    assert_true(valid("\xf0\x9f\x98\x80"));             /* emoji */
}

static void single_line(void **state)
{
    assert_true(consent_text_single_line("Zo\xc3\xa9 Lovelace"));
    assert_false(consent_text_single_line("a\nb"));
    assert_false(consent_text_single_line("a\tb"));
    assert_false(consent_text_single_line("a\x7f"));
    assert_false(consent_text_single_line("a\xc2\x85"));      /* NEL */
    assert_false(consent_text_single_line("a\xc2\x9f"));      /* C1 */
    assert_false(consent_text_single_line("a\xe2\x80\xa8"));  /* U+2028 */
    assert_false(consent_text_single_line("a\xe2\x80\xa9"));  /* U+2029 */
}

static void subjects(void **state)
{
    static const char *const refused[] = {
        "", "a\xe2\x80\x8b@x.org", "a\xe2\x80\x8c@x.org",
        "a\xe2\x80\x8d@x.org", "a\xe2\x80\x8e@x.org", "a\xe2\x80\x8f@x.org",
        "a\xe2\x80\xa8@x.org", "a\xe2\x80\xa9@x.org", "\xef\xbb\xbf" "a@x",
        "a\xc2\xad@x.org", "a\xe2\x81\xa0@x.org", "a\xe2\x80\xae@x.org",
        "a\xf3\xa0\x80\x81@x.org", "a\x01@x.org", "a\xc2\x9b@x.org",
        "=1+1", "+sum", "-x", "@a", "a\xc0\xae@x.org",
        NULL
    };
    char longest[300];
    int i;

    for (i = 0; refused[i]; ++i) {
        assert_non_null(consent_subject_problem(refused[i]));
    }
    assert_non_null(consent_subject_problem(NULL));
    assert_null(consent_subject_problem("ada@example.org"));
    assert_null(consent_subject_problem("zo\xc3\xa9@exemple.fr"));
    assert_null(consent_subject_problem("customer 1-2=3"));
    assert_null(consent_subject_problem("+33 1 23 45 67 89"));
    assert_null(consent_subject_problem("+1 (555) 010-0000"));
    assert_non_null(consent_subject_problem("+33 1 23|x"));
    assert_non_null(consent_subject_problem("-2+3*cmd"));
    memset(longest, 'a', 254);
    longest[254] = '\0';
    assert_null(consent_subject_problem(longest));
    longest[254] = 'a';
    longest[255] = '\0';
    assert_non_null(consent_subject_problem(longest));
}

static void one_normalisation(void **state)
{
    assert_string_equal(consent_subject_normalise(pool, " Ada@Example.ORG "),
                        "ada@example.org");
    assert_string_equal(consent_subject_normalise(pool, "Customer-42"),
                        "Customer-42");
    assert_string_equal(consent_subject_normalise(pool, "Zo\xc3\x89@X.fr"),
                        "zo\xc3\x89@x.fr");   /* ASCII only */
    assert_null(consent_subject_normalise(pool, NULL));
}

static apr_array_header_t *parse(const char *body, apr_status_t want)
{
    apr_array_header_t *fs = NULL;
    const char *why = NULL;

    assert_int_equal(consent_urlencoded_parse(body, strlen(body), &fs, &why,
                                              pool), want);
    return fs;
}

static consent_field_value_t *field(apr_array_header_t *fs, int i)
{
    return &APR_ARRAY_IDX(fs, i, consent_field_value_t);
}

static void urlencoded(void **state)
{
    apr_array_header_t *fs;

    fs = parse("a=1&&b=x+y%21&c=&consent%00junk=newsletter&n%C0%80=v"
               "&v=a%00b", APR_SUCCESS);
    assert_int_equal(fs->nelts, 6);
    assert_string_equal(field(fs, 0)->name, "a");
    assert_false(field(fs, 0)->bad_name);
    assert_string_equal(field(fs, 1)->value, "x y!");
    assert_string_equal(field(fs, 2)->name, "c");
    assert_string_equal(field(fs, 2)->value, "");
    assert_true(field(fs, 3)->bad_name);        /* NUL in the name */
    assert_true(field(fs, 4)->bad_name);        /* overlong in the name */
    assert_false(field(fs, 5)->bad_name);
    assert_int_equal(field(fs, 5)->len, 3);     /* a NUL in a value */
    assert_false(consent_value_is_clean(field(fs, 5), 100));
    assert_non_null(consent_fields_problem(fs, pool));
    assert_null(consent_fields_problem(parse("a=1&b=2", APR_SUCCESS),
                                       pool));
    parse("a=%zz", APR_EINVAL);
    parse("a=%4", APR_EINVAL);
    parse("a=%", APR_EINVAL);
    parse("%g0=1", APR_EINVAL);
    parse("a=1&c", APR_EINVAL);         /* a pair without '=' */
    parse("=1", APR_EINVAL);            /* an empty name */
}

static void values_are_checked_strictly(void **state)
{
    static const char *const bad[] = {
        "\xc0\xae", "\xc0\x80", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xe2\x82", NULL
    };
    consent_field_value_t f;
    int i;

    for (i = 0; bad[i]; ++i) {
        f.name = "email";
        f.value = bad[i];
        f.len = strlen(bad[i]);
        f.bad_name = 0;
        assert_false(consent_value_is_clean(&f, 100));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3629_refusals),
        cmocka_unit_test(rfc3629_acceptances),
        cmocka_unit_test(single_line),
        cmocka_unit_test(subjects),
        cmocka_unit_test(one_normalisation),
        cmocka_unit_test(urlencoded),
        cmocka_unit_test(values_are_checked_strictly),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
