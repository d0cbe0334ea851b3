/*
 * The POST baseline of bench/run, never installed: on POST it reads the
 * body and does one prepared INSERT, in one transaction, through mod_dbd,
 * and answers a small 200 page. That is the least any module storing a
 * durable record per request must do, so mod_consent's POST is measured
 * against it (same Apache, same DBD pool, same file or server).
 *
 *     <Location /insert>
 *         SetHandler bench-insert
 *     </Location>
 *
 * The table (bench_row, 21 TEXT columns like a proof) is created by
 * bench/bench.py. Connection settings (busy_timeout, synchronous=FULL)
 * come from DBDInitSQL, run once per connection (mod_consent's own run
 * once per connection too).
 *
 * Built by bench/bench.py with `apxs -c` into a temporary directory.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_dbd.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_uuid.h>
#include <mod_dbd.h>

#define LABEL "bench_insert"
#define NCOLS 21

module AP_MODULE_DECLARE_DATA bench_insert_module;

static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *dbd_prepare;
static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire;

/*
 * apr_dbd's sqlite3 driver serialises every statement on one process-wide
 * mutex and sqlite's busy handler sleeps while holding it, so two threads
 * of one process in write transactions would stall each other until the
 * busy timeout: one writer per process (mod_consent's store does the same).
 */
static apr_thread_mutex_t *writer;

static const char *insert_sql(apr_pool_t *p)
{
    const char *cols = "c1", *vals = "%s";
    int i;

    for (i = 2; i <= NCOLS; ++i) {
        cols = apr_psprintf(p, "%s, c%d", cols, i);
        vals = apr_pstrcat(p, vals, ", %s", NULL);
    }
    return apr_psprintf(p, "INSERT INTO bench_row (%s) VALUES (%s)",
                        cols, vals);
}

static int bench_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    dbd_prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    if (!dbd_prepare || !dbd_acquire) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "mod_bench_insert needs mod_dbd");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    dbd_prepare(s, insert_sql(pconf), LABEL);
    return OK;
}

static void bench_child_init(apr_pool_t *p, server_rec *s)
{
    apr_thread_mutex_create(&writer, APR_THREAD_MUTEX_DEFAULT, p);
}

/* A row of about the size of a proof: 21 values, ~560 bytes. */
static const char **row_values(request_rec *r)
{
    const char **v = apr_palloc(r->pool, NCOLS * sizeof *v);
    char uuid[APR_UUID_FORMATTED_LENGTH + 1];
    apr_uuid_t u;
    int i;

    apr_uuid_get(&u);
    apr_uuid_format(uuid, &u);
    v[0] = apr_pstrdup(r->pool, uuid);
    v[1] = apr_psprintf(r->pool, "%" APR_TIME_T_FMT, apr_time_now());
    v[2] = r->useragent_ip;
    for (i = 3; i < NCOLS; ++i) {
        /* 64 hex characters for the digests and MACs of a proof */
        v[i] = i % 3 ? "0123456789abcdef0123456789abcdef"
                     : "0123456789abcdef0123456789abcdef"
                       "0123456789abcdef0123456789abcdef";
    }
    return v;
}

static int insert_row(request_rec *r, ap_dbd_t *dbd)
{
    apr_dbd_prepared_t *st = apr_hash_get(dbd->prepared, LABEL,
                                          APR_HASH_KEY_STRING);
    apr_dbd_transaction_t *tx = NULL;
    int sqlite = strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0;
    int rv, n = 0;

    if (sqlite) {
        apr_thread_mutex_lock(writer);
    }
    rv = apr_dbd_transaction_start(dbd->driver, r->pool, dbd->handle, &tx);
    if (rv == 0) {
        rv = apr_dbd_pquery(dbd->driver, r->pool, dbd->handle, &n, st,
                            NCOLS, row_values(r));
        if (rv != 0) {
            apr_dbd_transaction_mode_set(dbd->driver, tx,
                                         APR_DBD_TRANSACTION_ROLLBACK);
        }
        if (apr_dbd_transaction_end(dbd->driver, r->pool, tx) != 0) {
            rv = rv ? rv : -1;
        }
    }
    if (sqlite) {
        apr_thread_mutex_unlock(writer);
    }
    if (rv != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "insert failed: %s",
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
    }
    return rv;
}

static int bench_handler(request_rec *r)
{
    ap_dbd_t *dbd;

    if (!r->handler || strcmp(r->handler, "bench-insert") != 0) {
        return DECLINED;
    }
    if (r->method_number != M_POST) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (ap_discard_request_body(r) != OK) {
        return HTTP_BAD_REQUEST;
    }
    if ((dbd = dbd_acquire(r)) == NULL) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (insert_row(r, dbd) != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ap_set_content_type(r, "text/plain");
    ap_rputs("stored\n", r);
    return OK;
}

static void bench_hooks(apr_pool_t *p)
{
    static const char *const after_dbd[] = { "mod_dbd.c", NULL };

    ap_hook_check_config(bench_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(bench_child_init, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(bench_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA bench_insert_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    bench_hooks
};
