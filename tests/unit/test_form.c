/*
 * Form definitions: loading, the schema, lint (one fixture per rule, each
 * refused at the line of the offending element), the notice and its
 * digest, and the parser's refusal of DTDs and external entities.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include <apr_general.h>

#include <libxml/parser.h>

#include "consent_form.h"
#include "consent_lint.h"
#include "consent_notice.h"
#include "consent_hex.h"

#define FIXTURE(name) TEST_SRCDIR "/tests/fixtures/" name
#define NEWSLETTER TEST_SRCDIR "/templates/examples/newsletter.xml"

static apr_pool_t *root;
static consent_schema_t *schema;

static int setup(void **state)
{
    apr_array_header_t *problems;

    apr_initialize();
    xmlInitParser();
    apr_pool_create(&root, NULL);
    problems = apr_array_make(root, 2, sizeof(consent_problem_t));
    if (consent_schema_load(&schema, TEST_SRCDIR "/templates/consent-form.rng",
                            problems, root) != APR_SUCCESS) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(root);
    xmlCleanupParser();
    apr_terminate();
    return 0;
}

/* A pool and a problem list per test, so nothing leaks between them. */
typedef struct {
    apr_pool_t *p;
    apr_array_header_t *problems;
} ctx_t;

static ctx_t ctx_make(void)
{
    ctx_t c;

    apr_pool_create(&c.p, root);
    c.problems = apr_array_make(c.p, 4, sizeof(consent_problem_t));
    return c;
}

static const consent_problem_t *problem(const ctx_t *c, int i)
{
    return &APR_ARRAY_IDX(c->problems, i, consent_problem_t);
}

static void print_problems(const ctx_t *c)
{
    int i;

    for (i = 0; i < c->problems->nelts; i++) {
        print_message("  %s\n", consent_problem_str(c->p, problem(c, i)));
    }
}

/* The 1-based line of the first line of path containing needle. */
static int line_of(const char *path, const char *needle)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    int line = 0, found = 0;

    assert_non_null(f);
    while (!found && fgets(buf, sizeof buf, f) != NULL) {
        line++;
        found = strstr(buf, needle) != NULL;
    }
    fclose(f);
    assert_true(found);
    return line;
}

static apr_status_t load_string(ctx_t *c, consent_form_t **form,
                                const char *xml)
{
    return consent_form_load_memory(form, schema, "mem.xml", xml,
                                    strlen(xml), c->problems, c->p);
}

/* ---- good definitions ----------------------------------------------- */

static void test_newsletter_example(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;
    const consent_purpose_t *pp;

    assert_int_equal(consent_form_compile(&form, schema, NEWSLETTER,
                                          c.problems, c.p), APR_SUCCESS);
    print_problems(&c);
    assert_int_equal(c.problems->nelts, 0);
    assert_string_equal(form->id, "newsletter");
    assert_int_equal(form->version, 1);
    assert_int_equal(form->regime, CONSENT_REGIME_OPT_IN);
    assert_string_equal(form->regime_name, "opt-in");
    /* libxml2's line of an element: where its start tag ends. */
    assert_int_equal(form->line, 5);
    assert_int_equal(form->languages->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(form->languages, 0, const char *),
                        "en");
    assert_string_equal(APR_ARRAY_IDX(form->languages, 1, const char *),
                        "fr");
    assert_int_equal(form->purposes->nelts, 2);
    pp = APR_ARRAY_IDX(form->purposes, 1, consent_purpose_t *);
    assert_string_equal(pp->id, "partners");
    assert_null(pp->input);
    assert_null(pp->default_attr);
    assert_string_equal(consent_text(pp->labels, "fr"),
                        "Je souhaite recevoir les offres de nos partenaires");
    assert_non_null(form->controller);
    assert_string_equal(form->controller->name, "Example SAS");
    assert_string_equal(form->controller->policy,
                        "https://example.org/privacy");
    assert_int_equal(form->controller->line, 7);
    assert_non_null(form->subject);
    assert_string_equal(form->subject->name, "email");
    assert_true(form->subject->required);
    assert_int_equal(apr_hash_count(form->notices), 2);
    apr_pool_destroy(c.p);
}

static void test_good_minimal(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    assert_int_equal(consent_form_compile(&form, schema,
                                          FIXTURE("good-minimal.xml"),
                                          c.problems, c.p), APR_SUCCESS);
    assert_int_equal(c.problems->nelts, 0);
    assert_int_equal(form->languages->nelts, 1);
    assert_int_equal(form->fields->nelts, 1);
    assert_int_equal(form->purposes->nelts, 1);
    assert_int_equal(consent_form_purpose_index(form, "newsletter"), 0);
    assert_int_equal(consent_form_purpose_index(form, "partners"), -1);
    assert_int_equal(consent_form_purpose_index(form, NULL), -1);
    assert_null(consent_text(form->subject->labels, "fr"));
    assert_null(consent_text(NULL, "en"));
    assert_null(consent_text(form->subject->labels, NULL));
    apr_pool_destroy(c.p);
}

/* default="unchecked" and required="false" say what lint wants: allowed. */
static void test_explicit_unticked_allowed(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    assert_int_equal(load_string(&c, &form,
        "<consent-form xmlns='urn:mod-consent:form:1' id='f' version='7'"
        " regime='b2b'>"
        "<controller name='C' policy='http://example.org/p'/>"
        "<notice xml:lang='en'>About your profession only.</notice>"
        "<field name='mail' type='email'><label xml:lang='en'>M</label>"
        "</field>"
        "<purpose id='news' input='optin[news]' default='unchecked'"
        " required='false'>"
        "<label xml:lang='en'>News</label>"
        "<description xml:lang='en'>Monthly.</description></purpose>"
        "</consent-form>"), APR_SUCCESS);
    assert_int_equal(consent_lint(form, c.problems), 0);
    assert_int_equal(form->regime, CONSENT_REGIME_B2B);
    assert_int_equal(form->version, 7);
    assert_string_equal(APR_ARRAY_IDX(form->purposes, 0,
                                      consent_purpose_t *)->input,
                        "optin[news]");
    apr_pool_destroy(c.p);
}

/* subject="true" beats the first email field; texts are normalised. */
static void test_subject_and_whitespace(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;
    const consent_purpose_t *pp;

    assert_int_equal(load_string(&c, &form,
        "<consent-form xmlns='urn:mod-consent:form:1' id='f' version='1'>\n"
        "<controller name='  Example\n  SAS ' policy='https://e.org/p'/>\n"
        "<field name='mail' type='email'><label xml:lang='EN'>M</label>"
        "</field>\n"
        "<field name='customer' type='text' subject='true'>"
        "<label xml:lang='en'>Customer number</label></field>\n"
        "<purpose id='news'>\n"
        "  <label xml:lang='en'>\n    Send me\t\tthe   news\n  </label>\n"
        "  <description xml:lang='en'><![CDATA[One  a]]> month.</description>"
        "\n</purpose>\n"
        "</consent-form>\n"), APR_SUCCESS);
    assert_string_equal(form->subject->name, "customer");
    assert_string_equal(form->controller->name, "Example SAS");
    assert_string_equal(APR_ARRAY_IDX(form->languages, 0, const char *),
                        "en");
    pp = APR_ARRAY_IDX(form->purposes, 0, consent_purpose_t *);
    assert_string_equal(consent_text(pp->labels, "en"), "Send me the news");
    assert_string_equal(consent_text(pp->descriptions, "en"),
                        "One a month.");
    assert_int_equal(pp->line, 6);     /* the controller takes two lines */
    assert_int_equal(consent_lint(form, c.problems), 0);
    apr_pool_destroy(c.p);
}

/* ---- the notice ------------------------------------------------------ */

/* The format is stored in proofs: this pins it byte for byte. */
static void test_notice_golden(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;
    const consent_notice_t *n;

    assert_int_equal(consent_form_compile(&form, schema,
                                          FIXTURE("good-minimal.xml"),
                                          c.problems, c.p), APR_SUCCESS);
    n = consent_notice_get(form, "en");
    assert_non_null(n);
    assert_string_equal(n->lang, "en");
    assert_string_equal(n->text,
        "notice-format: 1\n"
        "form: minimal version 1 regime opt-in\n"
        "language: en\n"
        "controller: Example SAS <privacy@example.org>\n"
        "policy: https://example.org/privacy\n"
        "field email: Email address\n"
        "purpose newsletter\n"
        "label: Send me the newsletter\n"
        "description: One email a month.\n");
    assert_int_equal(n->len, strlen(n->text));
    assert_string_equal(n->sha256_hex, "b1baeb912e998865a79340941929a19f"
                                       "ad4698bf96e49eda7d0992858778d0b4");
    assert_string_equal(consent_hex(c.p, n->sha256, CONSENT_SHA256_LEN),
                        n->sha256_hex);
    assert_null(consent_notice_get(form, "fr"));
    apr_pool_destroy(c.p);
}

static void test_notice_deterministic(void **state)
{
    ctx_t c1 = ctx_make(), c2 = ctx_make();
    consent_form_t *f1, *f2;
    const consent_notice_t *en1, *en2, *fr1;

    assert_int_equal(consent_form_compile(&f1, schema, NEWSLETTER,
                                          c1.problems, c1.p), APR_SUCCESS);
    assert_int_equal(consent_form_compile(&f2, schema, NEWSLETTER,
                                          c2.problems, c2.p), APR_SUCCESS);
    en1 = consent_notice_get(f1, "en");
    en2 = consent_notice_get(f2, "en");
    fr1 = consent_notice_get(f1, "fr");
    assert_non_null(en1);
    assert_non_null(en2);
    assert_non_null(fr1);
    assert_string_equal(en1->text, en2->text);
    assert_memory_equal(en1->sha256, en2->sha256, CONSENT_SHA256_LEN);
    assert_int_equal(strlen(en1->sha256_hex), 64);
    assert_string_not_equal(en1->text, fr1->text);
    assert_string_not_equal(en1->sha256_hex, fr1->sha256_hex);
    assert_non_null(strstr(fr1->text, "label: Je souhaite recevoir la "
                           "lettre d'information mensuelle\n"));
    assert_non_null(strstr(fr1->text, "description: Un e-mail par mois. "
                           "D\xc3\xa9sinscription \xc3\xa0 tout moment.\n"));
    /* Purposes in document order. */
    assert_true(strstr(en1->text, "purpose newsletter\n")
                < strstr(en1->text, "purpose partners\n"));
    apr_pool_destroy(c1.p);
    apr_pool_destroy(c2.p);
}

static void test_notice_extra_text(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;
    /* A second <notice> goes between head and tail. */
    const char *head =
        "<consent-form xmlns='urn:mod-consent:form:1' id='f' version='2'"
        " regime='soft-opt-in'>"
        "<controller name='C' policy='https://e.org/p'/>"
        "<notice xml:lang='en'>You are a customer:  we may write.</notice>";
    const char *tail =
        "<field name='mail' type='email'><label xml:lang='en'>M</label>"
        "<label xml:lang='fr'>M</label></field>"
        "<purpose id='news'><label xml:lang='en'>N</label>"
        "<label xml:lang='fr'>N</label>"
        "<description xml:lang='en'>D</description>"
        "<description xml:lang='fr'>D</description></purpose>"
        "</consent-form>";
    const consent_notice_t *n;

    /* A notice in English only: French readers would miss it (R5; for
     * soft opt-in, the notice the regime needs: R9). */
    assert_int_equal(load_string(&c, &form,
                                 apr_pstrcat(c.p, head, tail, NULL)),
                     APR_SUCCESS);
    assert_int_equal(consent_lint(form, c.problems), 1);
    assert_string_equal(problem(&c, 0)->rule, "R9");
    assert_int_equal(problem(&c, 0)->line, 1);

    c.problems->nelts = 0;
    assert_int_equal(load_string(&c, &form, apr_pstrcat(c.p, head,
        "<notice xml:lang='fr'>Vous \xc3\xaates client.</notice>", tail,
        NULL)), APR_SUCCESS);
    assert_int_equal(consent_lint(form, c.problems), 0);
    assert_int_equal(consent_notice_build(form, c.p), APR_SUCCESS);
    n = consent_notice_get(form, "en");
    assert_non_null(strstr(n->text, "form: f version 2 regime soft-opt-in\n"
                           "language: en\n"
                           "controller: C\n"
                           "policy: https://e.org/p\n"
                           "notice: You are a customer: we may write.\n"
                           "field mail: M\n"));
    apr_pool_destroy(c.p);
}

/* ---- refused definitions: one fixture per rule ----------------------- */

typedef struct {
    const char *file;
    const char *rule;
    const char *needle;     /* text on the offending element's first line */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    { "bad-r1-default-checked.xml", "R1", "default=\"checked\"" },
    { "bad-r1-checked-attr.xml", "R1", "checked=\"false\"" },
    { "bad-r3-duplicate-purpose.xml", "R3", "input=\"offers\"" },
    { "bad-r3-duplicate-field.xml", "R3", "type=\"text\"" },
    { "bad-r3-reserved-field.xml", "R3", "name=\"consent\"" },
    { "bad-r3-terms.xml", "R3", "<purpose id=\"signup\">" },
    { "bad-r3-terms-id.xml", "R3", "accept_cgv" },
    { "bad-r4-required.xml", "R4", "<purpose id=\"newsletter\" required" },
    { "bad-r5-no-controller.xml", "R5", "<consent-form" },
    { "bad-r5-no-policy.xml", "R5", "<controller" },
    { "bad-r5-no-name.xml", "R5", "<controller" },
    { "bad-r5-policy-not-url.xml", "R5", "<controller" },
    { "bad-r5-missing-description.xml", "R5", "<purpose" },
    { "bad-r5-missing-label-lang.xml", "R5", "<purpose" },
    { "bad-r5-field-label-lang.xml", "R5", "<field" },
    { "bad-r5-no-purpose.xml", "R5", "<consent-form" },
    { "bad-r7-no-subject.xml", "R7", "<consent-form" },
    { "bad-schema-unknown-element.xml", "schema", "<bogus" },
    { "bad-schema-unknown-attribute.xml", "schema", "colour=" },
    { "bad-schema-missing-id.xml", "schema", "<consent-form" },
    { "bad-schema-bad-version.xml", "schema", "<consent-form" },
    { "bad-schema-bad-type.xml", "schema", "type=\"number\"" },
    { "bad-xml-malformed.xml", "xml", "</labl>" },
    { "bad-xml-doctype.xml", "xml", "<!DOCTYPE" },
};

/*
 * A lint fixture must pass the schema and break exactly its rule, once;
 * a schema or XML fixture must fail loading with its rule at its line.
 */
static void test_bad_fixture(void **state)
{
    const bad_case_t *bc = *state;
    const char *path = apr_pstrcat(root, TEST_SRCDIR "/tests/fixtures/",
                                   bc->file, NULL);
    int lint = bc->rule[0] == 'R';
    ctx_t c = ctx_make();
    consent_form_t *form;
    apr_status_t rv;
    int i, found = 0;

    rv = consent_form_compile(&form, schema, path, c.problems, c.p);
    print_message("%s:\n", bc->file);
    print_problems(&c);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(c.problems->nelts > 0);
    if (lint) {
        assert_non_null(form);
        assert_int_equal(c.problems->nelts, 1);
    }
    else {
        assert_null(form);
    }
    for (i = 0; i < c.problems->nelts; i++) {
        const consent_problem_t *pb = problem(&c, i);

        assert_string_equal(pb->rule, bc->rule);
        assert_string_equal(pb->file, path);
        found |= pb->line == line_of(path, bc->needle);
    }
    assert_true(found);
    apr_pool_destroy(c.p);
}

static void test_r1_message(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    consent_form_compile(&form, schema, FIXTURE("bad-r1-default-checked.xml"),
                         c.problems, c.p);
    assert_int_equal(c.problems->nelts, 1);
    assert_string_equal(problem(&c, 0)->message,
                        "purpose \"newsletter\" is ticked by default "
                        "(default=\"checked\"): a pre-ticked box is not "
                        "consent (Planet49)");
    apr_pool_destroy(c.p);
}

/* ---- what the parser must never do ----------------------------------- */

/* An external entity naming a local file: the file is never read. */
static void test_xxe_file_not_read(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form = (void *)1;
    int i;

    assert_int_not_equal(consent_form_load(&form, schema,
                                           FIXTURE("bad-xml-doctype.xml"),
                                           c.problems, c.p), APR_SUCCESS);
    assert_null(form);
    assert_int_equal(c.problems->nelts, 1);
    assert_non_null(strstr(problem(&c, 0)->message, "DOCTYPE"));
    for (i = 0; i < c.problems->nelts; i++) {
        assert_null(strstr(problem(&c, i)->message, "root:"));
    }
    apr_pool_destroy(c.p);
}

/* An external DTD on the network: refused before any fetch is tried. */
static void test_external_dtd_refused(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    assert_int_not_equal(load_string(&c, &form,
        "<?xml version='1.0'?>\n"
        "<!DOCTYPE consent-form SYSTEM 'http://127.0.0.1:9/evil.dtd'>\n"
        "<consent-form xmlns='urn:mod-consent:form:1' id='f' version='1'/>"),
        APR_SUCCESS);
    assert_int_equal(c.problems->nelts, 1);
    assert_string_equal(problem(&c, 0)->rule, "xml");
    assert_int_equal(problem(&c, 0)->line, 2);
    apr_pool_destroy(c.p);
}

/* Internal entities (the billion laughs) are refused with their DTD. */
static void test_entity_expansion_refused(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    assert_int_not_equal(load_string(&c, &form,
        "<!DOCTYPE consent-form [<!ENTITY a 'aaaaaaaaaa'>"
        "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>\n"
        "<consent-form xmlns='urn:mod-consent:form:1' id='f' version='1'>"
        "<controller name='&b;'/></consent-form>"), APR_SUCCESS);
    assert_string_equal(problem(&c, 0)->rule, "xml");
    apr_pool_destroy(c.p);
}

/* XInclude is never processed: to the schema it is an unknown element. */
static void test_xinclude_not_processed(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    assert_int_not_equal(load_string(&c, &form,
        "<consent-form xmlns='urn:mod-consent:form:1' id='f' version='1'\n"
        " xmlns:xi='http://www.w3.org/2001/XInclude'>\n"
        "<xi:include href='/etc/passwd' parse='text'/>\n"
        "</consent-form>"), APR_SUCCESS);
    assert_string_equal(problem(&c, 0)->rule, "schema");
    assert_int_equal(problem(&c, 0)->line, 3);
    apr_pool_destroy(c.p);
}

/* ---- other load failures --------------------------------------------- */

static void test_two_labels_one_language(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    assert_int_not_equal(load_string(&c, &form,
        "<consent-form xmlns='urn:mod-consent:form:1' id='f' version='1'>\n"
        "<purpose id='news'>\n"
        "<label xml:lang='en'>A</label>\n"
        "<label xml:lang='EN'>B</label>\n"
        "</purpose></consent-form>"), APR_SUCCESS);
    assert_int_equal(c.problems->nelts, 1);
    assert_string_equal(problem(&c, 0)->rule, "schema");
    assert_int_equal(problem(&c, 0)->line, 4);
    apr_pool_destroy(c.p);
}

static void test_missing_file(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;
    consent_schema_t *s;

    assert_int_not_equal(consent_form_load(&form, schema,
                                           FIXTURE("no-such-file.xml"),
                                           c.problems, c.p), APR_SUCCESS);
    assert_int_equal(c.problems->nelts, 1);
    assert_int_equal(problem(&c, 0)->line, 0);
    assert_int_not_equal(consent_schema_load(&s, FIXTURE("no-such.rng"),
                                             c.problems, c.p), APR_SUCCESS);
    assert_null(s);
    /* A form definition is no schema. */
    assert_int_not_equal(consent_schema_load(&s, NEWSLETTER, c.problems,
                                             c.p), APR_SUCCESS);
    assert_null(s);
    apr_pool_destroy(c.p);
}

static void test_empty_and_garbage(void **state)
{
    ctx_t c = ctx_make();
    consent_form_t *form;

    assert_int_not_equal(consent_form_load_memory(&form, schema, "empty",
                                                  "", 0, c.problems, c.p),
                         APR_SUCCESS);
    assert_true(c.problems->nelts > 0);
    assert_int_not_equal(load_string(&c, &form, "<a xmlns='urn:other'/>"),
                         APR_SUCCESS);
    assert_int_not_equal(load_string(&c, &form, "\x01\x02garbage"),
                         APR_SUCCESS);
    assert_int_not_equal(consent_form_load_memory(&form, NULL, "x", "<a/>",
                                                  4, c.problems, c.p),
                         APR_SUCCESS);
    apr_pool_destroy(c.p);
}

#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

/* Tests in a run-time array: one per fixture, named after the file. */
#define ADD(f) tests[n++] = (struct CMUnitTest)cmocka_unit_test(f)

int main(void)
{
    struct CMUnitTest tests[64];
    size_t n = 0, i;

    ADD(test_newsletter_example);
    ADD(test_good_minimal);
    ADD(test_explicit_unticked_allowed);
    ADD(test_subject_and_whitespace);
    ADD(test_notice_golden);
    ADD(test_notice_deterministic);
    ADD(test_notice_extra_text);
    for (i = 0; i < N_BAD; i++) {
        struct CMUnitTest t = cmocka_unit_test_prestate(test_bad_fixture,
                                                        (void *)&bad_cases[i]);
        t.name = bad_cases[i].file;
        tests[n++] = t;
    }
    ADD(test_r1_message);
    ADD(test_xxe_file_not_read);
    ADD(test_external_dtd_refused);
    ADD(test_entity_expansion_refused);
    ADD(test_xinclude_not_processed);
    ADD(test_two_labels_one_language);
    ADD(test_missing_file);
    ADD(test_empty_and_garbage);
    return _cmocka_run_group_tests("form", tests, n, setup, teardown);
}
