/*
 * Departures in the core: a person's state from their history
 * (consent_status.c), the withdrawal page's verdict and the unsubscribe
 * proof (consent_withdraw.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <apr_general.h>

#include "consent_withdraw.h"
#include "consent_notice.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-status-XXXXXX";
static consent_keyring_t *ring;
static consent_form_t *newsletter, *soft;

/* ---- fixtures --------------------------------------------------------- */

static consent_proof_t *proof(const char *event, apr_time_t t,
                              const char *regime, ...)
{
    consent_proof_t *pf = consent_proof_make(pool, event);
    const char *purpose;
    va_list ap;

    pf->time = t;
    pf->regime = regime;
    pf->form_id = "newsletter";
    va_start(ap, regime);
    while ((purpose = va_arg(ap, const char *)) != NULL) {
        consent_proof_add_choice(pf, purpose, va_arg(ap, const char *));
    }
    va_end(ap);
    return pf;
}

static const char *state_of(const consent_status_t *st, const char *p)
{
    const consent_purpose_state_t *s = consent_status_get(st, p);

    return s ? s->state : NULL;
}

static consent_form_t *load(const char *file)
{
    apr_array_header_t *problems = apr_array_make(pool, 4,
                                                  sizeof(consent_problem_t));
    consent_schema_t *schema;
    consent_form_t *form;

    assert_int_equal(consent_schema_load(&schema, TEST_SRCDIR
                                         "/templates/consent-form.rng",
                                         problems, pool), APR_SUCCESS);
    assert_int_equal(consent_form_compile(&form, schema, apr_pstrcat(
        pool, TEST_SRCDIR "/templates/examples/", file, NULL), problems,
        pool), APR_SUCCESS);
    return form;
}

static const char *token_for(const consent_form_t *form, const char *lang)
{
    consent_token_facts_t facts;
    const char *token;

    memset(&facts, 0, sizeof facts);
    facts.form_id = form->id;
    facts.form_version = form->version;
    facts.lang = lang;
    facts.defaults = apr_pstrndup(pool, "0000000000",
                                  form->purposes->nelts);
    facts.page = CONSENT_PAGE_WITHDRAW;
    memcpy(facts.notice_sha256, consent_notice_get(form, lang)->sha256,
           CONSENT_SHA256_LEN);
    assert_int_equal(consent_token_issue(&token, ring, &facts, pool),
                     APR_SUCCESS);
    return token;
}

static apr_array_header_t *fields(const char *first, ...)
{
    apr_array_header_t *fs = apr_array_make(pool, 4,
                                            sizeof(consent_field_value_t));
    const char *name = first;
    va_list ap;

    va_start(ap, first);
    for (; name; name = va_arg(ap, const char *)) {
        consent_field_value_t *f = apr_array_push(fs);

        f->name = name;
        f->value = va_arg(ap, const char *);
        f->len = strlen(f->value);
    }
    va_end(ap);
    return fs;
}

static consent_request_info_t info(void)
{
    consent_request_info_t in;

    in.ip = "192.0.2.1";
    in.user_agent = "test";
    in.now = apr_time_now();
    in.lifetime = apr_time_from_sec(3600);
    in.page = CONSENT_PAGE_WITHDRAW;
    return in;
}

/* ---- status ----------------------------------------------------------- */

static void latest_decision_wins(void **state)
{
    consent_status_t *st = consent_status_make(pool);

    (void)state;
    consent_status_add(st, proof("submission", 10, "opt-in", "newsletter",
                                 "given", "partners", "refused", NULL));
    assert_string_equal(state_of(st, "newsletter"), "given");
    consent_status_add(st, proof("withdrawal", 20, "opt-in", "newsletter",
                                 "withdrawn", NULL));
    assert_string_equal(state_of(st, "newsletter"), "withdrawn");
    assert_string_equal(state_of(st, "partners"), "refused");
    assert_string_equal(consent_status_get(st, "newsletter")->event,
                        "withdrawal");
    /* an older proof met late changes nothing */
    consent_status_add(st, proof("submission", 5, "opt-in", "newsletter",
                                 "given", NULL));
    assert_string_equal(state_of(st, "newsletter"), "withdrawn");
    /* consenting again after a withdrawal */
    consent_status_add(st, proof("submission", 30, "opt-in", "newsletter",
                                 "given", NULL));
    assert_string_equal(state_of(st, "newsletter"), "given");
    assert_null(state_of(st, "unknown"));
}

static void suppression(void **state)
{
    consent_status_t *st = consent_status_make(pool);

    (void)state;
    assert_false(consent_status_suppressed(st, NULL));   /* no history */
    consent_status_add(st, proof("submission", 10, "opt-in", "newsletter",
                                 "given", "partners", "refused", NULL));
    assert_false(consent_status_suppressed(st, NULL));
    assert_false(consent_status_suppressed(st, "newsletter"));
    assert_true(consent_status_suppressed(st, "partners"));
    assert_false(consent_status_suppressed(st, "never-heard-of"));
    consent_status_add(st, proof("unsubscribe", 20, "opt-in", "newsletter",
                                 "withdrawn", NULL));
    assert_true(consent_status_suppressed(st, NULL));
    assert_true(consent_status_suppressed(st, "newsletter"));
}

static void regimes(void **state)
{
    consent_status_t *st = consent_status_make(pool);

    (void)state;
    assert_string_equal(consent_departure_state("opt-in"), "withdrawn");
    assert_string_equal(consent_departure_state("soft-opt-in"), "objected");
    assert_string_equal(consent_departure_state("b2b"), "objected");
    assert_true(consent_state_allows_mail("not-objected"));
    assert_false(consent_state_allows_mail("objected"));
    assert_false(consent_state_allows_mail("refused"));
    consent_status_add(st, proof("submission", 10, "soft-opt-in", "offers",
                                 "not-objected", NULL));
    assert_false(consent_status_suppressed(st, NULL));
    consent_status_add(st, proof("submission", 20, "soft-opt-in", "offers",
                                 "objected", NULL));
    assert_true(consent_status_suppressed(st, NULL));
}

/* ---- withdrawal page -------------------------------------------------- */

static void withdrawal_of_one_purpose(void **state)
{
    consent_request_info_t in = info();
    consent_verdict_t *v;
    const consent_choice_t *c;

    (void)state;
    v = consent_withdrawal_check(newsletter, ring, fields(
        "email", " Ada@Example.org ", "withdraw", "partners",
        "consent_token", token_for(newsletter, "fr"), NULL), &in, pool);
    assert_int_equal(v->kind, CONSENT_VERDICT_OK);
    assert_string_equal(v->proof->event, "withdrawal");
    assert_string_equal(v->proof->subject, "ada@example.org");
    assert_string_equal(v->proof->lang, "fr");
    assert_int_equal(v->proof->choices->nelts, 1);
    c = &APR_ARRAY_IDX(v->proof->choices, 0, consent_choice_t);
    assert_string_equal(c->purpose, "partners");
    assert_string_equal(c->state, "withdrawn");
    assert_non_null(v->proof->token_nonce);
    assert_non_null(v->proof->notice_text);
}

static void withdrawal_of_all(void **state)
{
    consent_request_info_t in = info();
    consent_verdict_t *v;

    (void)state;
    v = consent_withdrawal_check(newsletter, ring, fields(
        "email", "ada@example.org", "withdraw_all", "1",
        "consent_token", token_for(newsletter, "en"), NULL), &in, pool);
    assert_int_equal(v->kind, CONSENT_VERDICT_OK);
    assert_int_equal(v->proof->choices->nelts, 2);
    v = consent_withdrawal_check(soft, ring, fields(
        "email", "ada@example.org", "withdraw_all", "1",
        "consent_token", token_for(soft, "en"), NULL), &in, pool);
    assert_int_equal(v->kind, CONSENT_VERDICT_OK);
    assert_string_equal(APR_ARRAY_IDX(v->proof->choices, 0,
                                      consent_choice_t).state, "objected");
}

static void withdrawal_refusals(void **state)
{
    consent_request_info_t in = info();
    const char *tok = token_for(newsletter, "en");
    consent_verdict_t *v;

    (void)state;
    v = consent_withdrawal_check(newsletter, ring, fields(
        "email", "ada@example.org", NULL), &in, pool);
    assert_int_equal(v->kind, CONSENT_VERDICT_FORBIDDEN);
    v = consent_withdrawal_check(newsletter, ring, fields(
        "email", "ada@example.org", "consent_token", tok, NULL), &in, pool);
    assert_int_equal(v->kind, CONSENT_VERDICT_BAD_INPUT);
    assert_string_equal(v->error_key, "error.nothing_selected");
    v = consent_withdrawal_check(newsletter, ring, fields(
        "email", "", "withdraw_all", "1", "consent_token", tok, NULL), &in,
        pool);
    assert_string_equal(v->error_key, "error.missing_field");
    v = consent_withdrawal_check(newsletter, ring, fields(
        "email", "ada@example.org", "withdraw", "everything",
        "consent_token", tok, NULL), &in, pool);
    assert_string_equal(v->error_key, "error.unknown_purpose");
    v = consent_withdrawal_check(newsletter, ring, fields(
        "email", "ada@example.org", "withdraw", "partners", "withdraw",
        "partners", "consent_token", tok, NULL), &in, pool);
    assert_string_equal(v->error_key, "error.bad_input");
}

/* ---- unsubscribe ------------------------------------------------------ */

static void unsubscribe_records_once(void **state)
{
    consent_request_info_t in = info();
    consent_status_t *st = consent_status_make(pool);
    consent_proof_t *pf;

    (void)state;
    /* unknown person, link naming nothing: every purpose of the form */
    pf = consent_unsubscribe_proof(newsletter, "ada@example.org", NULL, st,
                                   "en", &in, pool);
    assert_non_null(pf);
    assert_string_equal(pf->event, "unsubscribe");
    assert_int_equal(pf->choices->nelts, 2);
    consent_status_add(st, pf);
    /* the same click again: nothing left to record */
    assert_null(consent_unsubscribe_proof(newsletter, "ada@example.org",
                                          NULL, st, "en", &in, pool));
}

static void unsubscribe_skips_what_is_closed(void **state)
{
    consent_request_info_t in = info();
    consent_status_t *st = consent_status_make(pool);
    apr_array_header_t *named = apr_array_make(pool, 1, sizeof(char *));
    consent_proof_t *pf;

    (void)state;
    consent_status_add(st, proof("submission", 10, "opt-in", "newsletter",
                                 "given", "partners", "refused", NULL));
    pf = consent_unsubscribe_proof(newsletter, "ada@example.org", NULL, st,
                                   "en", &in, pool);
    assert_int_equal(pf->choices->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(pf->choices, 0,
                                      consent_choice_t).purpose,
                        "newsletter");
    APR_ARRAY_PUSH(named, const char *) = "partners";
    assert_null(consent_unsubscribe_proof(newsletter, "ada@example.org",
                                          named, st, "en", &in, pool));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(latest_decision_wins),
        cmocka_unit_test(suppression),
        cmocka_unit_test(regimes),
        cmocka_unit_test(withdrawal_of_one_purpose),
        cmocka_unit_test(withdrawal_of_all),
        cmocka_unit_test(withdrawal_refusals),
        cmocka_unit_test(unsubscribe_records_once),
        cmocka_unit_test(unsubscribe_skips_what_is_closed),
    };
    const char *key_path, *err = NULL;
    consent_key_t *key;
    FILE *f;
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_non_null(mkdtemp(tmpdir));
    key_path = apr_pstrcat(pool, tmpdir, "/k.key", NULL);
    f = fopen(key_path, "w");
    fputs("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", f);
    fclose(f);
    chmod(key_path, 0600);
    if (consent_key_load(&key, key_path, pool, &err) != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ring = consent_keyring_make(pool);
    consent_keyring_add(ring, key);
    newsletter = load("newsletter.xml");
    soft = load("soft-opt-in.xml");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(key_path);
    rmdir(tmpdir);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
