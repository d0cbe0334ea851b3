/*
 * A connection of a thread's own to a store, kept from one use to the
 * next: opened on first use (the schema migrated, so a store down at
 * start-up gets it when it is back), set up and its statements prepared;
 * asked whether it is still alive before each use, and after a failure
 * closed, to be opened afresh by the next use, so that the store recovers
 * without a restart. APR DBD handles are not thread-safe: one thread uses
 * a connection at a time.
 */
#ifndef CONSENT_STORE_CONN_H
#define CONSENT_STORE_CONN_H

#include <apr_dbd.h>

#include "consent_store.h"

typedef struct {
    const char *driver_name;        /* as configured: "sqlite3", ... */
    const char *params;
    apr_pool_t *pool;               /* the connection's, cleared when it
                                       is closed (caller-made) */
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;              /* NULL while closed */
    consent_store_t *store;         /* NULL while closed */
} consent_store_conn_t;

/*
 * The store over c, opened when it is closed and reopened when it died
 * (a pgsql server restarted): NULL with *err (in p) when no connection
 * could be had, c then closed.
 */
consent_store_t *consent_store_conn_get(consent_store_conn_t *c,
                                        apr_pool_t *p, const char **err);

/* Closes c (after a failure, or for good), clearing its pool. */
void consent_store_conn_close(consent_store_conn_t *c);

#endif
