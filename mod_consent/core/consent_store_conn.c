/*
 * A thread's own connection to a store (consent_store_conn.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "consent_store_conn.h"

void consent_store_conn_close(consent_store_conn_t *c)
{
    if (c->handle) {
        apr_dbd_close(c->driver, c->handle);
    }
    c->handle = NULL;
    c->store = NULL;
    if (c->pool) {
        apr_pool_clear(c->pool);
    }
}

/* Opens, migrates (a store down at start-up gets its schema when it is
 * back), sets the connection up and prepares the statements. */
static const char *conn_open(consent_store_conn_t *c)
{
    const char *err = NULL;
    apr_status_t rv;

    rv = apr_dbd_get_driver(c->pool, c->driver_name, &c->driver);
    if (rv != APR_SUCCESS) {
        return apr_pstrcat(c->pool, "no APR DBD driver ", c->driver_name,
                           NULL);
    }
    rv = apr_dbd_open_ex(c->driver, c->pool, c->params, &c->handle, &err);
    if (rv != APR_SUCCESS) {
        c->handle = NULL;
        return err ? err : "cannot open the store";
    }
    if (consent_store_migrate(c->driver, c->handle, c->pool, &err)
        != APR_SUCCESS
        || consent_store_connection_init(c->driver, c->handle, c->pool, &err)
           != APR_SUCCESS
        || consent_store_open(&c->store, c->driver, c->handle, c->pool, &err)
           != APR_SUCCESS) {
        c->store = NULL;
        return err ? err : "cannot prepare the store";
    }
    return NULL;
}

/* apr-util 1.6's pgsql driver segfaults when BEGIN fails on a connection
 * whose server went away, and libpq only learns that on its next use:
 * ask first, so a restarted PostgreSQL costs a reconnect, not a worker. */
static int conn_alive(consent_store_conn_t *c, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;

    if (strcmp(c->driver_name, "pgsql") != 0) {
        return 1;
    }
    /* random access: PQexec, which waits for the answer (sequential
     * access only sends, and a send to a dead server can look fine) */
    if (apr_dbd_select(c->driver, p, c->handle, &res, "SELECT 1", 1) != 0) {
        return 0;
    }
    while (apr_dbd_get_row(c->driver, p, res, &row, -1) == 0) {
        /* drain */
    }
    return 1;
}

consent_store_t *consent_store_conn_get(consent_store_conn_t *c,
                                        apr_pool_t *p, const char **err)
{
    *err = NULL;
    if (c->store && !conn_alive(c, p)) {
        consent_store_conn_close(c);
    }
    if (!c->store && (*err = conn_open(c)) != NULL) {
        *err = apr_pstrdup(p, *err);
        consent_store_conn_close(c);
    }
    return c->store;
}
