/*
 * A store's start-up (consent_store_setup.h) and the sites file
 * (consent_sites_file.h): passwords never shown, the schema created on a
 * real sqlite3 file, an sqlite3 file handed to the workers' user, one
 * retry at a time.
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

#include <apr_general.h>
#include <apr_dbd.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "consent_sites_file.h"
#include "consent_store.h"
#include "consent_store_setup.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-setup-XXXXXX";

static void labels_hide_passwords(void **state)
{
    assert_string_equal(consent_store_label("pgsql", "host=db user=u "
                                            "password=s3cret dbname=c",
                                            pool),
                        "pgsql host=db user=u password=*** dbname=c");
    assert_string_equal(consent_store_label("mysql", "host=db,PASS=x,"
                                            "dbname=c", pool),
                        "mysql host=db,pass=***,dbname=c");
    assert_string_equal(consent_store_label(NULL, NULL, pool), "? ?");
    assert_string_equal(consent_store_public_params("host=db password=s "
                                                    "dbname=c", pool),
                        "host=db dbname=c");
    assert_string_equal(consent_store_public_params("host=db password=s",
                                                    pool), "host=db");
    assert_string_equal(consent_store_public_params("host=db,pass=s,"
                                                    "dbname=c", pool),
                        "host=db,dbname=c");
    assert_string_equal(consent_store_public_params("/var/x.db", pool),
                        "/var/x.db");
}

static void schema_on_sqlite3(void **state)
{
    const char *file = apr_pstrcat(pool, tmpdir, "/c.db", NULL);
    const char *err = "unset";

    assert_int_equal(consent_store_setup_schema("sqlite3", file, pool, &err),
                     APR_SUCCESS);
    assert_int_equal(access(file, F_OK), 0);
    /* idempotent: a second start finds the schema */
    assert_int_equal(consent_store_setup_schema("sqlite3", file, pool, &err),
                     APR_SUCCESS);
    assert_int_not_equal(consent_store_setup_schema(
        "sqlite3", apr_pstrcat(pool, tmpdir, "/no/dir/c.db", NULL), pool,
        &err), APR_SUCCESS);
    assert_non_null(err);
    assert_int_not_equal(consent_store_setup_schema("nosuchdriver", "x",
                                                    pool, &err),
                         APR_SUCCESS);
    assert_non_null(strstr(err, "no APR DBD driver nosuchdriver"));
}

/* Statements prepared again on the same connection stay usable. */
static void reprepare_keeps_statements(void **state)
{
    const char *file = apr_pstrcat(pool, tmpdir, "/r.db", NULL);
    const apr_dbd_driver_t *driver;
    consent_store_t *store;
    apr_dbd_t *handle;
    const char *err;

    assert_int_equal(consent_store_setup_schema("sqlite3", file, pool, &err),
                     APR_SUCCESS);
    assert_int_equal(apr_dbd_get_driver(pool, "sqlite3", &driver),
                     APR_SUCCESS);
    assert_int_equal(apr_dbd_open_ex(driver, pool, file, &handle, &err),
                     APR_SUCCESS);
    assert_int_equal(consent_store_open(&store, driver, handle, pool, &err),
                     APR_SUCCESS);
    consent_store_reprepare(driver, handle, store->prepared, pool);
    assert_non_null(apr_hash_get(store->prepared,
                                 consent_store_statements("sqlite3")->label,
                                 APR_HASH_KEY_STRING));
    assert_int_equal(consent_store_migrate(driver, handle, pool, &err),
                     APR_SUCCESS);
    apr_dbd_close(driver, handle);
}

static void owner_of_sqlite3(void **state)
{
    const char *dir = apr_pstrcat(pool, tmpdir, "/own", NULL);
    const char *file = apr_pstrcat(pool, dir, "/c.db", NULL);
    apr_array_header_t *logs = apr_array_make(pool, 2,
                                              sizeof(consent_log_line_t));
    const consent_log_line_t *l;
    struct stat st;
    FILE *f;

    assert_int_equal(mkdir(dir, 0755), 0);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    consent_store_setup_owner("pgsql", file, 4242, 4242, "the User", logs,
                              pool);
    assert_int_equal(logs->nelts, 0);
    consent_store_setup_owner("sqlite3", file, 4242, 4242, "the User", logs,
                              pool);
    if (geteuid() != 0) {
        assert_int_equal(logs->nelts, 0);   /* only root gives files */
        return;
    }
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_uid, 4242);
    /* the directory stays root's 0755: the User cannot add -wal there */
    assert_int_equal(logs->nelts, 1);
    l = &APR_ARRAY_IDX(logs, 0, consent_log_line_t);
    assert_int_equal(l->id, CONSENT_SETUP_LOG_DIR);
    assert_non_null(strstr(l->text, "is not writable by the User"));
    assert_int_equal(chown(dir, 4242, 4242), 0);
    apr_array_clear(logs);
    consent_store_setup_owner("sqlite3", file, 4242, 4242, "the User", logs,
                              pool);
    assert_int_equal(logs->nelts, 0);
}

static void one_retry_at_a_time(void **state)
{
    volatile apr_uint32_t after = 0;

    assert_true(consent_store_setup_retry_due(&after, 100, 5));
    assert_int_equal(after, 105);
    assert_false(consent_store_setup_retry_due(&after, 101, 5));
    assert_false(consent_store_setup_retry_due(&after, 104, 5));
    assert_true(consent_store_setup_retry_due(&after, 105, 5));
}

static const char *read_all(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void sites_file(void **state)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/sites", NULL);
    apr_array_header_t *entries = apr_array_make(pool, 4,
                                                 sizeof(consent_sites_entry_t));
    consent_keyring_t *ring = consent_keyring_make(pool);
    consent_sites_entry_t *e;

    consent_keyring_add(ring, consent_key_from_bytes(
        (const unsigned char *)"0123456789abcdef0123456789abcdef", 32,
        "/etc/k1", pool));
    e = apr_array_push(entries);
    e->site = "a.test"; e->driver = "pgsql"; e->keys = ring;
    e->params = "host=db password=s dbname=c";
    e = apr_array_push(entries);          /* a second line for a.test */
    e->site = "a.test"; e->driver = "sqlite3"; e->params = "/x";
    e->keys = ring;
    e = apr_array_push(entries);          /* no keys: no line */
    e->site = "b.test"; e->driver = "sqlite3"; e->params = "/x";
    e = apr_array_push(entries);          /* a tab would split the line */
    e->site = "c.test"; e->driver = "sqlite3"; e->params = "/x\ty";
    e->keys = ring;
    assert_int_equal(consent_sites_file_write(path, entries, pool),
                     APR_SUCCESS);
    assert_string_equal(read_all(path),
                        "# mod_consent sites 1: site\tdriver\tparams\t"
                        "secret file...\n"
                        "a.test\tpgsql\thost=db dbname=c\t/etc/k1\n");
    assert_int_not_equal(consent_sites_file_write(
        apr_pstrcat(pool, tmpdir, "/no/sites", NULL), entries, pool),
        APR_SUCCESS);
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
        cmocka_unit_test(labels_hide_passwords),
        cmocka_unit_test(schema_on_sqlite3),
        cmocka_unit_test(reprepare_keeps_statements),
        cmocka_unit_test(owner_of_sqlite3),
        cmocka_unit_test(one_retry_at_a_time),
        cmocka_unit_test(sites_file),
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
