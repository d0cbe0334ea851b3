/*
 * A store's start-up, the same in both adapters: the schema created with
 * a connection of the master's own (while root, before any worker opens
 * one), an sqlite3 file then handed to the user the workers run as, a
 * failed creation retried later from a worker, and how messages name a
 * store without its password.
 */
#ifndef CONSENT_STORE_SETUP_H
#define CONSENT_STORE_SETUP_H

#include <sys/types.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_dbd.h>

#include "consent_log.h"

/* CONSENT#### numbers of what consent_store_setup_owner() logs. */
#define CONSENT_SETUP_LOG_CHOWN 20
#define CONSENT_SETUP_LOG_DIR 25
/* ... and of what consent_store_setup_start() logs */
#define CONSENT_SETUP_LOG_UNAVAILABLE 21

/* How a message names a store: "driver params", any password (pgsql
 * password=, mysql pass=) shown as ***. */
const char *consent_store_label(const char *driver, const char *params,
                                apr_pool_t *p);

/* params without any password at all, for a file others may read (the
 * sites file): the password and the space after it are left out. */
const char *consent_store_public_params(const char *params, apr_pool_t *p);

/* Creates or updates the schema over a connection opened and closed here
 * (per-connection settings first: another generation may be writing).
 * *err says why not. */
apr_status_t consent_store_setup_schema(const char *driver,
                                        const char *params, apr_pool_t *p,
                                        const char **err);

/*
 * Once the schema exists: when running as root with an sqlite3 store,
 * its file (and -wal, -shm) becomes uid's, or every write from a worker
 * fails; and its directory must let that user create -wal/-shm there.
 * who names the user in messages ("the httpd User"). What is wrong is
 * appended to logs (consent_log_line_t, errors).
 */
void consent_store_setup_owner(const char *driver, const char *file,
                               uid_t uid, gid_t gid, const char *who,
                               apr_array_header_t *logs, apr_pool_t *p);

/*
 * Both in turn, as a master starts a store: the schema, and then, when
 * set_owner, the file handed to uid (who, as above). A store that cannot
 * be reached is named name in the line appended to logs (errors, as
 * consent_store_setup_owner's): its locations answer 503 until it is
 * back, when a worker creates the schema.
 */
apr_status_t consent_store_setup_start(const char *driver,
                                       const char *params, const char *name,
                                       int set_owner, uid_t uid, gid_t gid,
                                       const char *who,
                                       apr_array_header_t *logs,
                                       apr_pool_t *p);

/*
 * A connection its driver reset after the server restarted (pgsql's
 * PQreset, mysql's reconnect) has none of the statements prepared on it:
 * each statement of driver_name that prepared holds (label -> prepared)
 * is prepared again, in pool ("already exists": it was still there).
 */
void consent_store_reprepare(const apr_dbd_driver_t *driver,
                             apr_dbd_t *handle, apr_hash_t *prepared,
                             apr_pool_t *pool);

/*
 * Whether the caller is the one to retry a failed schema creation now:
 * at most once per every seconds in a process, by one thread (the
 * others answer 503 meanwhile). *after (0 at first) is shared by the
 * process's threads and only used through apr_atomic.
 */
int consent_store_setup_retry_due(volatile apr_uint32_t *after,
                                  apr_uint32_t now_sec,
                                  apr_uint32_t every_sec);

/*
 * In a worker, a store whose schema could not be made at start-up: at
 * most once per every seconds (consent_store_setup_retry_due) one
 * thread tries again. *ready (set at start-up, shared by the process's
 * threads, apr_atomic only) becomes 1 once it worked. An error when this
 * call tried and failed, with *err, for the caller to log; else
 * APR_SUCCESS.
 */
apr_status_t consent_store_setup_retry(volatile apr_uint32_t *ready,
                              volatile apr_uint32_t *after,
                              apr_uint32_t every_sec, const char *driver,
                              const char *params, const char **err,
                              apr_pool_t *p);

#endif
