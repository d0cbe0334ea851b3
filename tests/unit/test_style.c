/* The pages' stylesheet (consent_style.c): what any adapter answers at
 * L/consent.css, and the checks of a ConsentStyle file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include <apr_file_io.h>

#include "consent_style.h"

static apr_pool_t *pool;
static const char *dir;

static const char *write_file(const char *name, const char *text)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    return path;
}

static const char *base(void)
{
    return write_file("base.css",
                      ":root { --consent-accent: #00f; --consent-radius: 0;"
                      " }\nbody { color: var(--consent-accent); }\n");
}

/* The load's problems, one "line: message" a line. */
static const char *load(const char *site_text, consent_style_t **st)
{
    apr_array_header_t *problems =
        apr_array_make(pool, 4, sizeof(consent_problem_t));
    const char *site = site_text ? write_file("site.css", site_text) : NULL;
    const char *out = "";
    int i;

    consent_style_load(st, base(), site, problems, pool);
    for (i = 0; i < problems->nelts; i++) {
        consent_problem_t *pb = &APR_ARRAY_IDX(problems, i,
                                               consent_problem_t);
        out = apr_psprintf(pool, "%s%d: %s\n", out, pb->line, pb->message);
    }
    return out;
}

static void the_default_alone(void **state)
{
    consent_style_t *st;

    assert_string_equal(load(NULL, &st), "");
    assert_non_null(st);
    assert_int_equal(st->len, strlen(st->body));
    assert_int_equal(strlen(st->etag), 34);
    assert_int_equal(st->etag[0], '"');
    assert_memory_equal(st->version, st->etag + 1, 12);
    assert_string_equal(consent_style_href(st, "/news", pool),
                        apr_pstrcat(pool, "/news/consent.css?v=",
                                    st->version, NULL));
}

static void a_site_file_is_appended_and_changes_the_tag(void **state)
{
    consent_style_t *plain, *site;

    assert_string_equal(load(NULL, &plain), "");
    assert_string_equal(load(":root { --consent-accent : red; }\n", &site),
                        "");
    assert_non_null(strstr(site->body, "--consent-accent : red;"));
    assert_int_equal(strncmp(site->body, plain->body, plain->len), 0);
    assert_string_not_equal(site->etag, plain->etag);
}

static void a_bad_site_file_names_its_line(void **state)
{
    consent_style_t *st;

    assert_string_equal(load("a{}\n:root {\n --consent-acent: 1; }\n", &st),
                        "3: unknown property --consent-acent (the default "
                        "stylesheet declares the --consent-* properties a "
                        "site may set)\n");
    assert_null(st);
    /* using a property is not setting one; comments and strings hide */
    assert_string_equal(load("a { color: var(--consent-nope); }\n"
                             "/* --consent-x: 1 */ b { content: "
                             "\"--consent-y: 2\"; }\n", &st), "");
    assert_string_equal(load("\n\na {\n", &st),
                        "3: a '{' is not closed\n");
    assert_string_equal(load("a { } }\n", &st),
                        "1: a '}' closes no block\n");
    assert_string_equal(load("\n@IMPORT \"x.css\";\n", &st),
                        "2: @import is not allowed: everything is served "
                        "from this file\n");
    assert_string_equal(load("a {}\n\xc3\x28\n", &st),
                        "2: a NUL byte or invalid UTF-8\n");
    assert_string_equal(load("a { content: \"\xc3\xa9\"; }\n", &st), "");
}

static void the_answer(void **state)
{
    consent_style_t *st;
    consent_style_answer_t a;
    const char *current;

    load(NULL, &st);
    current = apr_pstrcat(pool, "v=", st->version, NULL);
    consent_style_answer(st, current, NULL, &a);
    assert_int_equal(a.status, 200);
    assert_ptr_equal(a.body, st->body);
    assert_int_equal(a.len, st->len);
    assert_string_equal(a.content_type, "text/css; charset=utf-8");
    assert_string_equal(a.cache_control,
                        "public, max-age=31536000, immutable");
    consent_style_answer(st, NULL, NULL, &a);
    assert_string_equal(a.cache_control, "public, max-age=3600");
    consent_style_answer(st, "v=0", NULL, &a);
    assert_string_equal(a.cache_control, "public, max-age=3600");

    consent_style_answer(st, NULL, st->etag, &a);
    assert_int_equal(a.status, 304);
    assert_null(a.body);
    consent_style_answer(st, NULL, apr_pstrcat(pool, "\"a\", W/", st->etag,
                                               NULL), &a);
    assert_int_equal(a.status, 304);
    consent_style_answer(st, NULL, "*", &a);
    assert_int_equal(a.status, 304);
    /* a prefix of the tag is another tag */
    consent_style_answer(st, NULL, apr_pstrmemdup(pool, st->etag, 10), &a);
    assert_int_equal(a.status, 200);
    consent_style_answer(st, NULL, "\"other\"", &a);
    assert_int_equal(a.status, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_default_alone),
        cmocka_unit_test(a_site_file_is_appended_and_changes_the_tag),
        cmocka_unit_test(a_bad_site_file_names_its_line),
        cmocka_unit_test(the_answer),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    dir = apr_psprintf(pool, "/tmp/consent-test-style-%ld", (long)getpid());
    assert_int_equal(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(apr_pstrcat(pool, dir, "/base.css", NULL));
    unlink(apr_pstrcat(pool, dir, "/site.css", NULL));
    apr_dir_remove(dir, pool);
    apr_terminate();
    return rc;
}
