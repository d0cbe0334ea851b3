/*
 * The notice format read back (consent_notice_read.c): a notice built
 * from a real definition gives back its controller, policy, fields and
 * purposes; anything not in the format is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <libxml/parser.h>

#include "consent_form.h"
#include "consent_notice.h"
#include "consent_notice_read.h"

#define NEWSLETTER TEST_SRCDIR "/templates/examples/newsletter.xml"
#define B2B TEST_SRCDIR "/templates/examples/b2b.xml"

static apr_pool_t *root;
static consent_schema_t *schema;

static int setup(void **state)
{
    apr_array_header_t *problems;

    (void)state;
    apr_initialize();
    xmlInitParser();
    apr_pool_create(&root, NULL);
    problems = apr_array_make(root, 2, sizeof(consent_problem_t));
    return consent_schema_load(&schema, TEST_SRCDIR
                               "/templates/consent-form.rng", problems,
                               root) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(root);
    xmlCleanupParser();
    apr_terminate();
    return 0;
}

static const char *notice_text(const char *path, const char *site,
                               const char *lang)
{
    apr_array_header_t *problems = apr_array_make(root, 2,
        sizeof(consent_problem_t));
    consent_form_t *form;

    assert_int_equal(consent_form_compile(&form, schema, path, problems,
                                          root), APR_SUCCESS);
    if (site) {
        form->site = site;
        form->notices = NULL;
        assert_int_equal(consent_notice_build(form, root), APR_SUCCESS);
    }
    return consent_notice_get(form, lang)->text;
}

static void test_round_trip(void **state)
{
    consent_notice_facts_t *n = consent_notice_read(root,
        notice_text(NEWSLETTER, "shop.test", "fr"));
    const consent_notice_field_t *f;
    const consent_notice_purpose_t *pp;

    (void)state;
    assert_non_null(n);
    assert_int_equal(n->format, 2);
    assert_string_equal(n->form_id, "newsletter");
    assert_int_equal(n->form_version, 1);
    assert_string_equal(n->regime, "opt-in");
    assert_string_equal(n->site, "shop.test");
    assert_string_equal(n->lang, "fr");
    assert_string_equal(n->controller, "Example SAS");
    assert_string_equal(n->contact, "privacy@example.org");
    assert_string_equal(n->policy, "https://example.org/privacy");
    assert_null(n->extra);
    assert_int_equal(n->fields->nelts, 1);
    f = &APR_ARRAY_IDX(n->fields, 0, consent_notice_field_t);
    assert_string_equal(f->name, "email");
    assert_string_equal(f->label, "Adresse e-mail");
    assert_int_equal(n->purposes->nelts, 2);
    pp = consent_notice_purpose(n, "partners");
    assert_non_null(pp);
    assert_string_equal(pp->label,
                        "Je souhaite recevoir les offres de nos partenaires");
    assert_null(consent_notice_purpose(n, "sms"));
}

static void test_format_1_and_extra_notice(void **state)
{
    consent_notice_facts_t *n = consent_notice_read(root,
        notice_text(B2B, NULL, "en"));

    (void)state;
    assert_non_null(n);
    assert_int_equal(n->format, 1);
    assert_null(n->site);
    assert_string_equal(n->regime, "b2b");
    assert_non_null(n->extra);
}

static void test_controller_without_contact(void **state)
{
    consent_notice_facts_t *n = consent_notice_read(root,
        "notice-format: 1\nform: f version 3 regime opt-in\n"
        "language: en\ncontroller: A <b> C\npolicy: https://x.test/\n");

    (void)state;
    assert_non_null(n);
    assert_string_equal(n->controller, "A <b> C");
    assert_null(n->contact);
}

static void test_refusals(void **state)
{
    static const char *const bad[] = {
        "",
        "notice-format: 3\nform: f version 1 regime opt-in\nlanguage: en\n",
        "notice-format: 1\nlanguage: en\n",
        "notice-format: 1\nform: f 1 opt-in\nlanguage: en\n",
        "notice-format: 1\nform: f version 1 regime opt-in\nlanguage: en\n"
        "something: else\n",
        "notice-format: 1\nform: f version 1 regime opt-in\nlanguage: en\n"
        "label: before any purpose\n",
    };
    size_t i;

    (void)state;
    assert_null(consent_notice_read(root, NULL));
    for (i = 0; i < sizeof bad / sizeof *bad; ++i) {
        assert_null(consent_notice_read(root, bad[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_format_1_and_extra_notice),
        cmocka_unit_test(test_controller_without_contact),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests_name("notice_read", tests, setup,
                                       teardown);
}
