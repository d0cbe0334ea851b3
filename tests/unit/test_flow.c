/*
 * The server-neutral request flow (consent_flow.c): DESIGN.md's HTTP table
 * without a server, the store step included (a NULL store is one that
 * cannot be reached). The nginx integration tests run the same flow
 * through a real nginx.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "consent_flow.h"
#include "consent_log.h"
#include "consent_site.h"

#define TEMPLATES TEST_SRCDIR "/templates"

static apr_pool_t *pool;
static consent_flow_conf_t conf, guard_conf;

static void quiet(void *baton, consent_log_level_t level, apr_status_t rv,
                  const char *file, int line, const char *msg)
{
}

static consent_form_t *compile(const consent_schema_t *schema,
                               const consent_ui_t *ui, const char *path)
{
    apr_array_header_t *problems =
        apr_array_make(pool, 4, sizeof(consent_problem_t));
    consent_form_t *form;

    assert_int_equal(consent_form_compile(&form, schema, path, problems,
                                          pool), APR_SUCCESS);
    assert_int_equal(consent_render_compile(ui, form, problems, pool),
                     APR_SUCCESS);
    return form;
}

static int setup(void **state)
{
    apr_array_header_t *problems =
        apr_array_make(pool, 4, sizeof(consent_problem_t));
    char keyfile[] = "/tmp/consent-test-flow-XXXXXX";
    consent_schema_t *schema;
    consent_ui_t *ui;
    consent_key_t *key;
    consent_keyring_t *ring;
    const char *err;
    int fd = mkstemp(keyfile);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef!!\n", 35),
                     35);
    close(fd);
    assert_int_equal(consent_key_load(&key, keyfile, pool, &err),
                     APR_SUCCESS);
    unlink(keyfile);
    ring = consent_keyring_make(pool);
    consent_keyring_add(ring, key);
    assert_int_equal(consent_schema_load(&schema, TEMPLATES
                                         "/consent-form.rng", problems,
                                         pool), APR_SUCCESS);
    assert_int_equal(consent_ui_load(&ui, TEMPLATES, problems, pool),
                     APR_SUCCESS);
    conf.form = compile(schema, ui, TEMPLATES "/examples/newsletter.xml");
    conf.ui = ui;
    conf.keys = ring;
    conf.withdraw_url = "/newsletter/withdraw";
    conf.lifetime = apr_time_from_sec(7200);
    conf.max_body = 65536;
    guard_conf = conf;
    guard_conf.form = compile(schema, ui,
                              TEMPLATES "/examples/signup-guard.xml");
    return 0;
}

static consent_flow_request_t request(const char *method, const char *path)
{
    consent_flow_request_t req;

    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.content_length = -1;
    req.accept_language = "fr, en;q=0.5";
    req.ip = "192.0.2.1";
    req.user_agent = "test";
    req.now = apr_time_now();
    return req;
}

static const char *header(const consent_flow_t *f, const char *name)
{
    return apr_table_get(f->answer.headers, name);
}

static const char *token_in(const consent_flow_t *f)
{
    const char *mark = "name=\"consent_token\" value=\"";
    const char *body = apr_pstrmemdup(pool, f->answer.body, f->answer.len);
    const char *s = strstr(body, mark);

    assert_non_null(s);
    s += strlen(mark);
    return apr_pstrmemdup(pool, s, strcspn(s, "\""));
}

static void get_form_and_sub_pages(void **state)
{
    consent_flow_request_t req = request("GET", "");
    consent_flow_t *f = consent_flow_start(&conf, &req, pool);

    assert_int_equal(f->step, CONSENT_FLOW_ANSWER);
    assert_int_equal(f->answer.status, 200);
    assert_string_equal(header(f, "Cache-Control"), "no-store");
    assert_string_equal(header(f, "Content-Language"), "fr");
    assert_string_equal(header(f, "X-Frame-Options"), "DENY");
    assert_true(strncmp(token_in(f), "c1.", 3) == 0);
    req = request("HEAD", "/withdraw");
    assert_int_equal(consent_flow_start(&conf, &req, pool)->answer.status,
                     200);
    req = request("GET", "/elsewhere");
    f = consent_flow_start(&conf, &req, pool);
    assert_int_equal(f->answer.status, 404);
    assert_null(f->answer.body);
}

static void refused_before_the_body(void **state)
{
    consent_flow_request_t req = request("PUT", "");
    consent_flow_t *f = consent_flow_start(&conf, &req, pool);

    assert_int_equal(f->answer.status, 405);
    assert_string_equal(header(f, "Allow"), "GET, HEAD, POST");
    req = request("POST", "");
    req.content_type = "application/json";
    assert_int_equal(consent_flow_start(&conf, &req, pool)->answer.status,
                     415);
    req.content_type = "application/x-www-form-urlencoded";
    req.content_length = 65537;
    f = consent_flow_start(&conf, &req, pool);
    assert_int_equal(f->answer.status, 413);
    assert_true(f->answer.close);
}

static consent_flow_t *post(const consent_flow_conf_t *c, const char *path,
                            const char *body)
{
    consent_flow_request_t *req = apr_palloc(pool, sizeof *req);
    consent_flow_t *f;

    *req = request("POST", path);
    req->content_type = "application/x-www-form-urlencoded";
    f = c == &guard_conf ? consent_flow_guard_start(c, req, pool)
                         : consent_flow_start(c, req, pool);
    assert_int_equal(f->step, CONSENT_FLOW_READ_BODY);
    consent_flow_body(f, body, strlen(body), 0);
    return f;
}

static void submission_to_a_store_that_is_down(void **state)
{
    consent_flow_request_t req = request("GET", "");
    const char *token = token_in(consent_flow_start(&conf, &req, pool));
    consent_flow_t *f;

    assert_int_equal(post(&conf, "", "email=a%zz")->answer.status, 400);
    assert_int_equal(post(&conf, "", "email=a%40example.org")
                     ->answer.status, 403);
    f = post(&conf, "", apr_pstrcat(pool, "email=a%40example.org&consent="
                                    "newsletter&consent_token=", token,
                                    NULL));
    assert_int_equal(f->step, CONSENT_FLOW_STORE);
    assert_int_equal(f->op, CONSENT_FLOW_OP_RECORD);
    assert_string_equal(f->proof->ip, "192.0.2.1");
    consent_flow_store(f, NULL, NULL, NULL);
    assert_true(consent_flow_store_failed(f));
    consent_flow_stored(f);
    assert_int_equal(f->answer.status, 503);
    assert_string_equal(header(f, "Retry-After"), "30");
}

static void a_suspect_store_is_probed_before_a_form(void **state)
{
    consent_flow_request_t req = request("GET", "");
    consent_flow_t *f;

    req.store_suspect = 1;
    f = consent_flow_start(&conf, &req, pool);
    assert_int_equal(f->step, CONSENT_FLOW_STORE);
    assert_int_equal(f->op, CONSENT_FLOW_OP_PROBE);
    consent_flow_store(f, NULL, NULL, NULL);
    consent_flow_stored(f);
    assert_int_equal(f->answer.status, 503);
}

static void unsubscribe_link_is_checked(void **state)
{
    consent_flow_request_t req = request("GET", "/unsubscribe");
    consent_flow_t *f = consent_flow_start(&conf, &req, pool);

    assert_int_equal(f->answer.status, 403);
    assert_non_null(f->note);
    req.args = "t=u1.AAAA";
    assert_int_equal(consent_flow_start(&conf, &req, pool)->answer.status,
                     403);
}

static void guard_requests(void **state)
{
    consent_flow_request_t req = request("GET", "");
    consent_flow_t *f = consent_flow_guard_start(&guard_conf, &req, pool);
    const char *why;

    assert_int_equal(f->step, CONSENT_FLOW_PASS);
    req.args = "a=1&optin%5Fnewsletter=on";
    assert_int_equal(consent_flow_guard_start(&guard_conf, &req, pool)
                     ->answer.status, 400);
    /* no token: refused before the application */
    assert_int_equal(post(&guard_conf, "", "email=a%40b.org&"
                          "optin_newsletter=on")->answer.status, 403);
    assert_true(consent_flow_guard_inspectable(200, "text/html", NULL,
                                               NULL, &why, pool));
    assert_false(consent_flow_guard_inspectable(200, "text/html", NULL,
                                                "gzip", &why, pool));
    assert_non_null(why);
    assert_false(consent_flow_guard_inspectable(
        200, "text/html; charset=utf-16", NULL, NULL, &why, pool));
    assert_false(consent_flow_guard_inspectable(500, "text/html", NULL,
                                                NULL, &why, pool));
    assert_null(why);
}

/* What the Apache adapter did alone before it drove the flow. */
static void guard_rules_once_apache_only(void **state)
{
    consent_flow_request_t req = request("PUT", "");
    consent_flow_t *f;

    req.content_length = 5;
    f = consent_flow_guard_start(&guard_conf, &req, pool);
    assert_int_equal(f->answer.status, 405);
    assert_true(f->answer.close);
    assert_int_equal(APR_ARRAY_IDX(f->logs, 0, consent_flow_log_t).id, 513);
    req = request("post", "");
    req.chunked = 1;
    assert_int_equal(consent_flow_guard_start(&guard_conf, &req, pool)
                     ->answer.status, 405);
    /* a spelling PHP reads as the box */
    req = request("GET", "");
    req.args = "optin.newsletter=on";
    assert_int_equal(consent_flow_guard_start(&guard_conf, &req, pool)
                     ->answer.status, 400);
    assert_true(consent_flow_is_receipt_header("Consent-Receipt"));
    assert_true(consent_flow_is_receipt_header("CONSENT_RECEIPT"));
    assert_true(consent_flow_is_receipt_header("consent.receipt"));
    assert_false(consent_flow_is_receipt_header("Consent-Receipts"));
}

static void style_page_and_log_numbers(void **state)
{
    consent_flow_request_t req = request("GET", "/consent.css");
    consent_flow_t *f = consent_flow_start(&conf, &req, pool);

    assert_int_equal(f->answer.status, 404);    /* no stylesheet here */
    req = request("GET", "");
    f = consent_flow_start(&conf, &req, pool);
    f = post(&conf, "", apr_pstrcat(pool, "email=a%40b.org&consent_token=",
                                    token_in(f), "&consent_token=x", NULL));
    assert_int_equal(f->answer.status, 400);
    assert_int_equal(APR_ARRAY_IDX(f->logs, 0, consent_flow_log_t).id, 33);
    assert_int_equal(APR_ARRAY_IDX(f->logs, 0, consent_flow_log_t).level,
                     CONSENT_LOG_INFO);
}

static void site_copies_a_form_per_site(void **state)
{
    apr_array_header_t *problems =
        apr_array_make(pool, 4, sizeof(consent_problem_t));
    consent_site_t *site = consent_site_make(pool);
    consent_form_t *form = consent_site_form(
        site, TEMPLATES "/examples/newsletter.xml", 0, TEMPLATES, problems);
    consent_form_t *a, *b;

    assert_non_null(consent_site_pages(site, &form, TEMPLATES, problems));
    a = consent_site_for(site, form, "a.test");
    b = consent_site_for(site, form, "b.test");
    assert_ptr_equal(a, form);
    assert_ptr_not_equal(b, form);
    assert_string_equal(b->site, "b.test");
    assert_ptr_equal(consent_site_for(site, form, "b.test"), b);
    assert_ptr_equal(b->pages, form->pages);    /* compiled: shared */
}

static void site_compiles_each_thing_once(void **state)
{
    apr_array_header_t *problems =
        apr_array_make(pool, 4, sizeof(consent_problem_t));
    consent_site_t *site = consent_site_make(pool);
    const char *path = TEMPLATES "/examples/newsletter.xml";
    consent_form_t *form = consent_site_form(site, path, 0, TEMPLATES,
                                             problems);
    consent_form_t *again = consent_site_form(site, path, 0, TEMPLATES,
                                              problems);
    const consent_ui_t *ui;

    assert_non_null(form);
    assert_ptr_equal(form, again);
    ui = consent_site_pages(site, &form, TEMPLATES, problems);
    assert_non_null(ui);
    assert_ptr_equal(form, again);          /* same layout: no copy */
    assert_ptr_equal(consent_site_pages(site, &again, TEMPLATES, problems),
                     ui);
    assert_int_equal(problems->nelts, 0);
    /* the same file as a guard definition: its purposes name no input */
    assert_null(consent_site_form(site, path, 1, TEMPLATES, problems));
    assert_true(problems->nelts > 0);
    assert_string_equal(APR_ARRAY_IDX(problems, 0, consent_problem_t).rule,
                        "guard");
}

/* One call resolves what a location serves, for both adapters. */
static void site_location_styles_compiles_and_sites(void **state)
{
    apr_array_header_t *problems =
        apr_array_make(pool, 4, sizeof(consent_problem_t));
    consent_site_t *site = consent_site_make(pool);
    consent_site_location_t loc = {
        consent_site_form(site, TEMPLATES "/examples/newsletter.xml", 0,
                          TEMPLATES, problems),
        0, TEMPLATES, NULL, "/news", "a.test"
    };
    consent_flow_conf_t fc = { 0 }, guarded = { 0 };

    assert_true(consent_site_location(site, &loc, &fc, problems));
    assert_non_null(fc.style);
    assert_non_null(fc.ui);
    assert_string_equal(fc.form->site, "a.test");
    assert_string_equal(fc.withdraw_url, "/news/withdraw");
    /* a guard's pages are the application's: no stylesheet */
    loc.guard = 1;
    assert_true(consent_site_location(site, &loc, &guarded, problems));
    assert_null(guarded.style);
    /* a style file that is no stylesheet stops the location */
    loc.guard = 0;
    loc.style_file = TEMPLATES "/examples/newsletter.xml";
    assert_false(consent_site_location(site, &loc, &fc, problems));
    assert_true(problems->nelts > 0);
    assert_string_equal(APR_ARRAY_IDX(problems, 0, consent_problem_t).rule,
                        "style");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_form_and_sub_pages),
        cmocka_unit_test(refused_before_the_body),
        cmocka_unit_test(submission_to_a_store_that_is_down),
        cmocka_unit_test(a_suspect_store_is_probed_before_a_form),
        cmocka_unit_test(unsubscribe_link_is_checked),
        cmocka_unit_test(guard_requests),
        cmocka_unit_test(site_compiles_each_thing_once),
        cmocka_unit_test(guard_rules_once_apache_only),
        cmocka_unit_test(style_page_and_log_numbers),
        cmocka_unit_test(site_copies_a_form_per_site),
        cmocka_unit_test(site_location_styles_compiles_and_sites),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    consent_log_set(quiet, NULL);
    rc = cmocka_run_group_tests(tests, setup, NULL);
    apr_terminate();
    return rc;
}
