/*
 * What every sqlite3 connection of the process needs before its first
 * statement, which no SQL and no apr_dbd call can give in time.
 *
 * mod_dbd prepares its statements as soon as it opens a connection, and
 * only then runs DBDInitSQL (or our post_connect hook): a busy timeout set
 * there comes too late for the prepares. Under writes, in WAL mode, a new
 * connection's first read can meet a lock for a moment (the wal-index
 * header being rewritten by a commit, a checkpoint at another
 * connection's close), and without a busy handler sqlite answers at once
 * "database is locked": during graceful restarts under load, new
 * children failed so (AH00632/AH00636 child init failed).
 *
 * sqlite's auto-extensions run inside sqlite3_open, before anything is
 * prepared: ours sets the busy timeout and turns off the checkpoint at
 * close (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE: a closing connection would
 * otherwise take an EXCLUSIVE lock to checkpoint whenever nobody else is
 * reading; commits still checkpoint as the WAL grows, wal_autocheckpoint).
 *
 * libsqlite3 is already loaded by apr-util's sqlite3 driver; it is looked
 * up there rather than linked, so libconsent depends on apr-util only.
 */
#include <dlfcn.h>

#include "consent_store.h"

#define DBCONFIG_NO_CKPT_ON_CLOSE 1010     /* sqlite3.h, 3.16.0 */

typedef int db_config_fn(void *db, int op, ...);
typedef int busy_timeout_fn(void *db, int ms);
typedef void entry_fn(void);
typedef int auto_extension_fn(entry_fn *entry);
typedef void reset_fn(void);

static struct {
    db_config_fn *db_config;
    busy_timeout_fn *busy_timeout;
    auto_extension_fn *add;
    reset_fn *reset;
} sq;

static int find_sqlite(void)
{
    /* only if already loaded: RTLD_NOLOAD never loads a library */
    void *lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_NOLOAD);

    if (lib == NULL) {
        return 0;
    }
    sq.db_config = (db_config_fn *)dlsym(lib, "sqlite3_db_config");
    sq.busy_timeout = (busy_timeout_fn *)dlsym(lib, "sqlite3_busy_timeout");
    sq.add = (auto_extension_fn *)dlsym(lib, "sqlite3_auto_extension");
    sq.reset = (reset_fn *)dlsym(lib, "sqlite3_reset_auto_extension");
    dlclose(lib);           /* still loaded by the driver */
    return sq.db_config && sq.busy_timeout && sq.add && sq.reset;
}

/* An sqlite3 auto-extension: runs in sqlite3_open, on the new db. */
static int on_open(void *db, const char **err, const void *api)
{
    int now = 0;

    (void)err;
    (void)api;
    sq.busy_timeout(db, CONSENT_SQLITE_BUSY_MS);
    sq.db_config(db, DBCONFIG_NO_CKPT_ON_CLOSE, 1, &now);
    return 0;               /* SQLITE_OK */
}

/* Reset rather than cancel: sqlite3_cancel_auto_extension keeps the
 * list's memory, which only a reset frees (valgrind saw it at exit). No
 * other httpd module registers sqlite auto-extensions; one that did would
 * have to register again at its next post_config, as this one does. */
static apr_status_t cancel(void *unused)
{
    (void)unused;
    sq.reset();
    return APR_SUCCESS;
}

apr_status_t consent_store_sqlite_defaults(apr_pool_t *p)
{
    if (!find_sqlite() || sq.add((entry_fn *)on_open) != 0) {
        return APR_ENOTIMPL;
    }
    /* sqlite must not call into this code once it is unloaded */
    apr_pool_cleanup_register(p, NULL, cancel, apr_pool_cleanup_null);
    return APR_SUCCESS;
}
