/*
 * The store's transactions.
 *
 * apr_dbd's sqlite3 driver holds one process-wide mutex around every
 * statement, and sqlite's busy handler sleeps while holding it: two
 * threads of one process inside write transactions would wait on each
 * other until busy_timeout runs out. So a process runs one sqlite3 write
 * transaction at a time (in Apache: its writer thread; sqlite has a single
 * writer anyway, so nothing is lost); busy_timeout then only ever waits
 * for other processes.
 */
#include <apr_atomic.h>
#include <apr_thread_mutex.h>

#include "consent_store_int.h"

#if APR_HAS_THREADS
static void *volatile sqlite_writer;    /* apr_thread_mutex_t */

/* Created on first use; APR's global pool owns it. */
static apr_thread_mutex_t *writer_mutex(void)
{
    apr_thread_mutex_t *fresh;
    apr_pool_t *p;
    void *m = sqlite_writer;

    if (m != NULL || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return m;
    }
    if (apr_thread_mutex_create(&fresh, APR_THREAD_MUTEX_DEFAULT, p)) {
        apr_pool_destroy(p);
        return NULL;
    }
    m = apr_atomic_casptr((volatile void **)&sqlite_writer, fresh, NULL);
    if (m != NULL) {
        apr_pool_destroy(p);    /* another thread was first */
        return m;
    }
    return fresh;
}
#endif

/* sqlite3: BEGIN IMMEDIATE takes the write lock first, so the busy
 * timeout applies there rather than at a later statement. */
int store_tx_begin(tx_t *tx, const apr_dbd_driver_t *driver,
                          apr_dbd_t *handle, apr_pool_t *p)
{
    int rv, n = 0;
    int sqlite = store_is_sqlite(apr_dbd_name(driver));

    (void)p;
    tx->driver = driver;
    tx->handle = handle;
#if APR_HAS_THREADS
    tx->held = sqlite ? writer_mutex() : NULL;
    if (tx->held) {
        apr_thread_mutex_lock(tx->held);
    }
#endif
    rv = apr_dbd_query(driver, handle, &n,
                       sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
#if APR_HAS_THREADS
    if (rv != 0 && tx->held) {
        apr_thread_mutex_unlock(tx->held);
    }
#endif
    return rv;
}

/* Commits, or rolls back everything when ok is 0. A COMMIT that fails
 * leaves sqlite3 inside the transaction: roll it back then. */
int store_tx_end(tx_t *tx, int ok, apr_pool_t *p)
{
    int rv, n = 0;

    (void)p;
    rv = apr_dbd_query(tx->driver, tx->handle, &n,
                       ok ? "COMMIT" : "ROLLBACK");
    if (ok && rv != 0) {
        apr_dbd_query(tx->driver, tx->handle, &n, "ROLLBACK");
    }
#if APR_HAS_THREADS
    if (tx->held) {
        apr_thread_mutex_unlock(tx->held);
    }
#endif
    return rv;
}
