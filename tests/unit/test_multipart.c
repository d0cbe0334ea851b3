/* The one multipart/form-data field RFC 8058 needs (consent_multipart.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "consent_multipart.h"

static apr_pool_t *pool;

#define CT "multipart/form-data; boundary=XyZ"

static const char *field(const char *ct, const char *body)
{
    return consent_multipart_field(ct, body, strlen(body),
                                   "List-Unsubscribe", pool);
}

static void one_click_as_providers_send_it(void **state)
{
    const char *body =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
        "\r\n"
        "One-Click\r\n"
        "--XyZ--\r\n";

    assert_string_equal(field(CT, body), "One-Click");
    assert_string_equal(field("multipart/form-data; boundary=\"XyZ\"", body),
                        "One-Click");
    assert_string_equal(field(CT, apr_pstrcat(pool, "preamble\r\n", body,
                                              NULL)), "One-Click");
}

static void other_parts_are_skipped(void **state)
{
    const char *body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
        "1\r\n"
        "--XyZ\r\ncontent-disposition: form-data; name=\"list-unsubscribe\""
        "\r\n\r\nOne-Click\r\n--XyZ--";

    assert_string_equal(field(CT, body), "One-Click");
}

static void malformed_or_ambiguous_is_nothing(void **state)
{
    const char *twice =
        "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\""
        "\r\n\r\nOne-Click\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\""
        "\r\n\r\nOne-Click\r\n--XyZ--";
    const char *file =
        "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\";"
        " filename=\"a\"\r\n\r\nOne-Click\r\n--XyZ--";

    assert_null(field(CT, twice));
    assert_null(field(CT, file));
    assert_null(field(CT, "--XyZ\r\nContent-Disposition: form-data; "
                          "name=\"List-Unsubscribe\"\r\n\r\nOne-Cl"));
    assert_null(field(CT, ""));
    assert_null(field("multipart/form-data", "--XyZ--"));
    assert_null(field("application/json", "{}"));
    assert_null(field("multipart/form-data; boundary=", "--\r\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_click_as_providers_send_it),
        cmocka_unit_test(other_parts_are_skipped),
        cmocka_unit_test(malformed_or_ambiguous_is_nothing),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
