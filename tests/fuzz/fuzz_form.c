/*
 * Form definitions: bytes an admin (or an attacker who can write one)
 * hands to start-up and `consentctl lint`. Parse, schema-validate, then
 * lint and build the notices exactly as consent_form_compile() does.
 */
#include "consent_lint.h"
#include "consent_notice.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_schema();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *problems;
    consent_form_t *form;
    int i;

    apr_pool_create(&p, fuzz_pool());
    problems = apr_array_make(p, 4, sizeof(consent_problem_t));
    if (consent_form_load_memory(&form, fuzz_schema(), "fuzz.xml",
                                 (const char *)data, size, problems, p)
        == APR_SUCCESS) {
        consent_lint(form, problems);
        consent_notice_build(form, p);
    }
    /* every message is formatted, as lint's output would be */
    for (i = 0; i < problems->nelts; ++i) {
        consent_problem_str(p, &APR_ARRAY_IDX(problems, i,
                                              consent_problem_t));
    }
    apr_pool_destroy(p);
    return 0;
}
