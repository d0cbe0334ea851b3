/*
 * What every adapter calls around the core (consent_log.h, consent_flow.h
 * consent_flow_table.c, consent_store_setup.h): problems
 * as log lines, an edited guard page's headers, a location's values in
 * the flow's configuration, the request headers the flow reads, receipts
 * a client may not send, a store's start-up and its retry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_dbd.h>
#include <apr_strings.h>

#include "consent_flow.h"
#include "consent_log.h"
#include "consent_store_setup.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-adapter-XXXXXX";

static void problem_lines(void **state)
{
    apr_array_header_t *problems = apr_array_make(pool, 2,
                                                  sizeof(consent_problem_t));
    apr_array_header_t *lines;
    const consent_log_line_t *l;

    consent_problem_add(problems, "f.xml", 3, "R1", "no %s", "title");
    consent_problem_add(problems, "f.xml", 0, "xml", "bad");
    lines = consent_problem_lines(problems, 2, "form f.xml", pool);
    assert_int_equal(lines->nelts, 2);
    l = &APR_ARRAY_IDX(lines, 0, consent_log_line_t);
    assert_int_equal(l->level, CONSENT_LOG_ERR);
    assert_int_equal(l->id, 2);
    assert_non_null(strstr(l->text, "form f.xml: "));
    assert_non_null(strstr(l->text, "no title"));
    problems->nelts = 0;
    assert_int_equal(consent_problem_lines(problems, 1, "x", pool)->nelts,
                     0);
}

static void edited_page_headers(void **state)
{
    apr_table_t *h = apr_table_make(pool, 4);

    apr_table_setn(h, "Content-Length", "10");
    apr_table_setn(h, "ETag", "\"x\"");
    apr_table_setn(h, "Vary", "Accept-Encoding");
    consent_flow_edit_page_headers(h);
    assert_null(apr_table_get(h, "Content-Length"));
    assert_null(apr_table_get(h, "ETag"));
    assert_string_equal(apr_table_get(h, "Cache-Control"), "no-store");
    assert_string_equal(apr_table_get(h, "Vary"),
                        "Accept-Encoding, Accept-Language");
}

static void location_values(void **state)
{
    consent_flow_conf_t fc;
    consent_location_values_t v = {
        "fr", apr_time_from_sec(60), 2048, "/thanks", 1,
        apr_time_from_sec(3600), 1
    };

    memset(&fc, 0, sizeof fc);
    fc.withdraw_url = "/l/withdraw";
    consent_location_values(&fc, &v);
    assert_string_equal(fc.default_lang, "fr");
    assert_true(fc.lifetime == apr_time_from_sec(60));
    assert_int_equal(fc.max_body, 2048);
    assert_string_equal(fc.success_url, "/thanks");
    assert_int_equal(fc.confirm_email, 1);
    assert_true(fc.confirm_lifetime == apr_time_from_sec(3600));
    assert_int_equal(fc.guard_fix, 1);
    assert_string_equal(fc.withdraw_url, "/l/withdraw");
}

static void request_headers(void **state)
{
    apr_table_t *h = apr_table_make(pool, 4);
    consent_flow_request_t req;

    memset(&req, 0, sizeof req);
    consent_flow_request_headers(&req, h);
    assert_true(req.content_length == -1);
    assert_false(req.chunked);
    assert_null(req.content_type);
    apr_table_setn(h, "Content-Length", "42");
    apr_table_setn(h, "Content-Type", "text/plain");
    apr_table_setn(h, "Accept-Language", "fr");
    consent_flow_request_headers(&req, h);
    assert_true(req.content_length == 42);
    assert_string_equal(req.content_type, "text/plain");
    assert_string_equal(req.accept_language, "fr");
    /* unreadable: larger than any limit */
    apr_table_setn(h, "Content-Length", "-1");
    consent_flow_request_headers(&req, h);
    assert_true(req.content_length == APR_INT64_MAX);
    apr_table_setn(h, "Content-Length", "99999999999999999999999");
    consent_flow_request_headers(&req, h);
    assert_true(req.content_length == APR_INT64_MAX);
    apr_table_setn(h, "Transfer-Encoding", "chunked");
    consent_flow_request_headers(&req, h);
    assert_true(req.chunked);
}

static void receipts_stripped(void **state)
{
    apr_table_t *h = apr_table_make(pool, 4);

    apr_table_setn(h, "Consent-Receipt", "forged");
    apr_table_setn(h, "consent_receipt", "forged");
    apr_table_setn(h, "Host", "example.org");
    consent_flow_strip_receipts(h, pool);
    assert_null(apr_table_get(h, "Consent-Receipt"));
    assert_null(apr_table_get(h, "consent_receipt"));
    assert_string_equal(apr_table_get(h, "Host"), "example.org");
}

static void store_start_and_retry(void **state)
{
    const char *file = apr_pstrcat(pool, tmpdir, "/a.db", NULL);
    const char *bad = apr_pstrcat(pool, tmpdir, "/no/dir/b.db", NULL);
    apr_array_header_t *logs = apr_array_make(pool, 2,
                                              sizeof(consent_log_line_t));
    volatile apr_uint32_t ready = 0, after = 0;
    const char *err = NULL;

    assert_int_equal(consent_store_setup_start("sqlite3", file, "a", 1,
                                               getuid(), getgid(), "me",
                                               logs, pool), APR_SUCCESS);
    assert_int_equal(logs->nelts, 0);
    assert_int_not_equal(consent_store_setup_start("sqlite3", bad, "b", 1,
                                                   getuid(), getgid(), "me",
                                                   logs, pool), APR_SUCCESS);
    assert_int_equal(logs->nelts, 1);
    /* a failed retry says so, the next one waits its turn */
    assert_int_not_equal(consent_store_setup_retry(&ready, &after, 60,
                                                   "sqlite3", bad, &err,
                                                   pool), APR_SUCCESS);
    assert_int_equal(ready, 0);
    assert_int_equal(consent_store_setup_retry(&ready, &after, 60,
                                               "sqlite3", bad, &err, pool),
                     APR_SUCCESS);
    after = 0;
    assert_int_equal(consent_store_setup_retry(&ready, &after, 60,
                                               "sqlite3", file, &err, pool),
                     APR_SUCCESS);
    assert_int_equal(ready, 1);
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    apr_snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(problem_lines),
        cmocka_unit_test(edited_page_headers),
        cmocka_unit_test(location_values),
        cmocka_unit_test(request_headers),
        cmocka_unit_test(receipts_stripped),
        cmocka_unit_test(store_start_and_retry),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_dbd_init(pool);
    rc = cmocka_run_group_tests(tests, setup, teardown);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
