/*
 * A thread's own connection to a store (consent_store_conn.h): opened on
 * first use with the schema, kept while alive, closed and opened afresh,
 * and a store that cannot be had says why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_dbd.h>
#include <apr_strings.h>

#include "consent_store_conn.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-conn-XXXXXX";

static void opens_keeps_and_reopens(void **state)
{
    consent_store_conn_t c = { 0 };
    consent_store_t *store;
    const char *err = "unset";

    c.driver_name = "sqlite3";
    c.params = apr_pstrcat(pool, tmpdir, "/c.db", NULL);
    assert_int_equal(apr_pool_create(&c.pool, pool), APR_SUCCESS);
    store = consent_store_conn_get(&c, pool, &err);
    assert_non_null(store);
    assert_null(err);
    assert_int_equal(access(c.params, F_OK), 0);    /* schema made */
    /* kept from one use to the next */
    assert_ptr_equal(consent_store_conn_get(&c, pool, &err), store);
    consent_store_conn_close(&c);
    assert_null(c.store);
    assert_null(c.handle);
    assert_non_null(consent_store_conn_get(&c, pool, &err));
    consent_store_conn_close(&c);
    consent_store_conn_close(&c);                   /* twice is fine */
}

static void says_why_not(void **state)
{
    consent_store_conn_t c = { 0 };
    const char *err = NULL;

    c.driver_name = "nosuchdriver";
    c.params = "x";
    assert_int_equal(apr_pool_create(&c.pool, pool), APR_SUCCESS);
    assert_null(consent_store_conn_get(&c, pool, &err));
    assert_string_equal(err, "no APR DBD driver nosuchdriver");
    assert_null(c.store);

    c.driver_name = "sqlite3";
    c.params = apr_pstrcat(pool, tmpdir, "/no/such/dir/c.db", NULL);
    err = NULL;
    assert_null(consent_store_conn_get(&c, pool, &err));
    assert_non_null(err);
    assert_null(c.handle);
}

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
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
        cmocka_unit_test(opens_keeps_and_reopens),
        cmocka_unit_test(says_why_not),
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
