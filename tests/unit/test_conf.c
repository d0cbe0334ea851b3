/*
 * The rules of directive values (consent_conf.h), the same for both
 * adapters: bounds, language tags, success URLs, secret files, the site
 * of a host name and double opt-in's start-up check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "consent_conf.h"
#include "consent_tenant.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-conf-XXXXXX";

static const consent_conf_names_t names = {
    "Apache", "ConsentForm", "ConsentGuard", "ConsentGuardFix", "On",
    "ConsentMailFrom", "ConsentMailCommand"
};

static const char *secret_file(const char *name, const char *secret)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(secret, f);
    fclose(f);
    chmod(path, 0600);
    return path;
}

static void bounds(void **state)
{
    assert_false(consent_conf_lifetime_ok(apr_time_from_sec(9)));
    assert_true(consent_conf_lifetime_ok(apr_time_from_sec(10)));
    assert_true(consent_conf_lifetime_ok(apr_time_from_sec(30 * 86400)));
    assert_false(consent_conf_lifetime_ok(apr_time_from_sec(30 * 86400
                                                            + 1)));
    assert_false(consent_conf_confirm_lifetime_ok(apr_time_from_sec(59)));
    assert_true(consent_conf_confirm_lifetime_ok(apr_time_from_sec(60)));
    assert_false(consent_conf_confirm_lifetime_ok(
        apr_time_from_sec(90 * 86400 + 1)));
    assert_false(consent_conf_max_body_ok(1023));
    assert_true(consent_conf_max_body_ok(1024));
    assert_true(consent_conf_max_body_ok(16 * 1024 * 1024));
    assert_false(consent_conf_max_body_ok(16 * 1024 * 1024 + 1));
}

static void paths(void **state)
{
    const char *file = secret_file("style.css", ":root {}\n");

    assert_true(consent_conf_dir_ok(tmpdir, pool));
    assert_false(consent_conf_dir_ok(file, pool));
    assert_false(consent_conf_dir_ok(NULL, pool));
    assert_true(consent_conf_file_ok(file, pool));
    assert_false(consent_conf_file_ok(tmpdir, pool));
    assert_false(consent_conf_file_ok(apr_pstrcat(pool, tmpdir, "/none",
                                                  NULL), pool));
}

static void language_tags(void **state)
{
    static const char long_tag[] = "abcdefghijabcdefghijabcdefghijabcdef";

    assert_true(consent_conf_lang_ok("en", 2));
    assert_true(consent_conf_lang_ok("pt-BR", 5));
    assert_true(consent_conf_lang_ok(long_tag, 35));
    assert_false(consent_conf_lang_ok(long_tag, 36));
    assert_false(consent_conf_lang_ok("", 0));
    assert_false(consent_conf_lang_ok("e n", 3));
    assert_false(consent_conf_lang_ok("en_GB", 5));
    /* only len bytes count: nginx's values are not NUL-terminated */
    assert_true(consent_conf_lang_ok("fr;x", 2));
}

static void success_urls(void **state)
{
    assert_true(consent_conf_success_url_ok("/thanks.html", pool));
    assert_true(consent_conf_success_url_ok("https://example.org/t", pool));
    assert_true(consent_conf_success_url_ok("HTTP://example.org", pool));
    assert_false(consent_conf_success_url_ok("thanks.html", pool));
    assert_false(consent_conf_success_url_ok("javascript:alert(1)", pool));
    assert_false(consent_conf_success_url_ok("data:text/html,x", pool));
    assert_false(consent_conf_success_url_ok("https:///nohost", pool));
}

/* The words both servers print after a directive's name. */
static void one_word_checks(void **state)
{
    assert_null(consent_conf_lang_check("pt-BR", pool));
    assert_string_equal(consent_conf_lang_check("e n", pool),
                        "a language tag such as en or fr");
    assert_null(consent_conf_success_url_check("/thanks", pool));
    assert_string_equal(consent_conf_success_url_check("javascript:x", pool),
                        "an absolute URL or a path starting with /");
    assert_null(consent_conf_mail_command_check("/usr/sbin/sendmail -t",
                                                pool));
    assert_non_null(consent_conf_mail_command_check("sendmail -t", pool));
    assert_null(consent_conf_mail_from_check("n@example.org", pool));
    assert_true(strncmp(consent_conf_mail_from_check("noreply", pool),
                        "noreply: ", 9) == 0);
}

static void secret_files(void **state)
{
    consent_keyring_t *ring = NULL;
    const char *a = secret_file("a.key", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaa\n");
    const char *again = secret_file("again.key", "aaaaaaaaaaaaaaaaaaaaaaaa"
                                    "aaaaaaaaaaaaaaaa\n");
    const char *site = secret_file("site.key", CONSENT_SITE_KEY_PREFIX
                                   " e.test 00112233445566778899aabbccdd"
                                   "eeff00112233445566778899aabbccddeeff\n");
    const char *err;

    assert_null(consent_conf_secret_file(&ring, a, &names, pool));
    assert_non_null(ring);
    assert_int_equal(ring->keys->nelts, 1);
    err = consent_conf_secret_file(&ring, again, &names, pool);
    assert_non_null(err);
    assert_non_null(strstr(err, "holds the same secret as an earlier"));
    err = consent_conf_secret_file(&ring, site, &names, pool);
    assert_non_null(err);
    assert_non_null(strstr(err, "is a site's key (consentctl site-key)"));
    assert_non_null(strstr(err, "give Apache the master"));
    assert_non_null(consent_conf_secret_file(
        &ring, apr_pstrcat(pool, tmpdir, "/none", NULL), &names, pool));
    assert_int_equal(ring->keys->nelts, 1);
}

static void locations_and_links(void **state)
{
    int on = -1;

    assert_string_equal(consent_conf_location("/news//", 7, pool), "/news");
    assert_string_equal(consent_conf_location("/news/x", 5, pool), "/news");
    assert_string_equal(consent_conf_location("/", 1, pool), "");
    assert_true(consent_conf_confirm_mode("EMAIL", &on));
    assert_int_equal(on, 1);
    assert_true(consent_conf_confirm_mode("off", &on));
    assert_int_equal(on, 0);
    assert_false(consent_conf_confirm_mode("sms", &on));
    assert_string_equal(consent_conf_base_url("http", "e.test", 80, "/n",
                                              pool), "http://e.test/n");
    assert_string_equal(consent_conf_base_url("https", "e.test", 443, "/n",
                                              pool), "https://e.test/n");
    assert_string_equal(consent_conf_base_url("https", "e.test", 80, "/n",
                                              pool), "https://e.test:80/n");
    assert_string_equal(consent_conf_base_url("http", "e.test", 8080, "/n",
                                              pool), "http://e.test:8080/n");
    assert_string_equal(consent_conf_base_url("http", "e.test", 0, "/n",
                                              pool), "http://e.test/n");
}

static void host_sites(void **state)
{
    const char *why = NULL;

    assert_string_equal(consent_conf_host_site("WWW.Example.ORG", &why,
                                               pool), "www.example.org");
    assert_null(why);
    assert_null(consent_conf_host_site("*.example.org", &why, pool));
    assert_string_equal(why, "a wildcard or regular expression");
    assert_null(consent_conf_host_site("~^www", &why, pool));
    assert_null(consent_conf_host_site("", &why, pool));
    assert_non_null(why);
}

static void confirm_problems(void **state)
{
    consent_field_t email = { "email", "email", 1, 1, NULL, 1 };
    consent_field_t name = { "name", "text", 1, 1, NULL, 1 };
    consent_form_t form;
    const char *const *argv = NULL;
    const char *problem;

    memset(&form, 0, sizeof form);
    form.regime = CONSENT_REGIME_OPT_IN;
    form.subject = &email;
    assert_string_equal(consent_conf_confirm_problem(
        &form, 1, "n@example.org", NULL, &names, &argv, pool),
        "works with ConsentForm, not with ConsentGuard");
    problem = consent_conf_confirm_problem(&form, 0, NULL, NULL, &names,
                                           &argv, pool);
    assert_non_null(strstr(problem, "needs ConsentMailFrom (the From"));
    problem = consent_conf_confirm_problem(&form, 0, "n@example.org",
                                           "sendmail -t", &names, &argv,
                                           pool);
    assert_non_null(strstr(problem, "ConsentMailCommand sendmail -t: "));
    assert_null(consent_conf_confirm_problem(&form, 0, "n@example.org",
                                             NULL, &names, &argv, pool));
    assert_string_equal(argv[0], "/usr/sbin/sendmail");
    form.subject = &name;
    assert_non_null(consent_conf_confirm_problem(
        &form, 0, "n@example.org", NULL, &names, &argv, pool));
    form.subject = &email;
    form.regime = CONSENT_REGIME_B2B;
    assert_non_null(consent_conf_confirm_problem(
        &form, 0, "n@example.org", NULL, &names, &argv, pool));
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
        cmocka_unit_test(bounds),
        cmocka_unit_test(paths),
        cmocka_unit_test(language_tags),
        cmocka_unit_test(success_urls),
        cmocka_unit_test(one_word_checks),
        cmocka_unit_test(secret_files),
        cmocka_unit_test(locations_and_links),
        cmocka_unit_test(host_sites),
        cmocka_unit_test(confirm_problems),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, setup, teardown);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
