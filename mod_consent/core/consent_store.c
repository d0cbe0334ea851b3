/*
 * The proof store on APR DBD (sqlite3, pgsql, mysql): a connection's
 * store (open, schema migration, connection settings) and the statement
 * and row helpers that the store's other files share
 * (consent_store_int.h says which file holds which idea).
 */
#include <openssl/evp.h>

#include "consent_store_int.h"
#include "consent_hex.h"

#define MIGRATE_RETRIES 3

/* ---- small helpers ---------------------------------------------------- */

const char *store_i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

apr_int64_t store_num(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}

const char *store_db_error(const apr_dbd_driver_t *driver,
                                  apr_dbd_t *handle, int rv, const char *what,
                                  apr_pool_t *p)
{
    const char *msg = apr_dbd_error(driver, handle, rv);

    return apr_psprintf(p, "%s: %s (%d)", what, msg ? msg : "error", rv);
}

static apr_dbd_prepared_t *stmt(const consent_store_t *s, const char *label)
{
    return apr_hash_get(s->prepared, label, APR_HASH_KEY_STRING);
}

/* A column's value, NULL for SQL NULL: pgsql's get_entry answers ""
 * for NULL, only datum_get tells them apart. */
static const char *entry(const apr_dbd_driver_t *driver, apr_dbd_row_t *row,
                         int col, apr_pool_t *p)
{
    const char *v;
    char *ignored;

    if (apr_dbd_datum_get(driver, row, col, APR_DBD_TYPE_STRING, &ignored)
        == APR_ENOENT) {
        return NULL;
    }
    v = apr_dbd_get_entry(driver, row, col);
    return v ? apr_pstrdup(p, v) : NULL;
}

/* Rows are read in order, to the end (rows_of). pgsql and sqlite3 do that
 * with a result fetched whole ("random access"; pgsql's sequential mode
 * sleeps 100 ms on an empty batch); apr-util's mysql driver does not
 * read a random-access result in order (row -1 is refused), only a
 * sequential one. */
static int random_access(const apr_dbd_driver_t *driver)
{
    return !store_is_mysql(apr_dbd_name(driver));
}

/* Every row, each a const char*[ncols] copied into p (NULL kept), so the
 * driver's result can go at once; the result is always read to its end,
 * which pgsql needs before the next statement. */
static int rows_of(const apr_dbd_driver_t *driver, apr_dbd_results_t *res,
                   apr_array_header_t **rows, apr_pool_t *p)
{
    apr_dbd_row_t *row = NULL;
    int ncols = apr_dbd_num_cols(driver, res), i;

    *rows = apr_array_make(p, 16, sizeof(const char **));
    while (apr_dbd_get_row(driver, p, res, &row, -1) == 0) {
        const char **cols = apr_pcalloc(p, (ncols + 1) * sizeof *cols);

        for (i = 0; i < ncols; ++i) {
            cols[i] = entry(driver, row, i, p);
        }
        APR_ARRAY_PUSH(*rows, const char **) = cols;
    }
    return 0;
}

int store_select_rows(const consent_store_t *s, const char *label,
                             apr_array_header_t **rows, apr_pool_t *p,
                             int nargs, const char **args)
{
    apr_dbd_results_t *res = NULL;
    int rv;

    rv = apr_dbd_pselect(s->driver, p, s->handle, &res, stmt(s, label),
                         random_access(s->driver),
                         nargs, args);
    if (rv != 0) {
        return rv;
    }
    return rows_of(s->driver, res, rows, p);
}

/* The first row's columns, or NULL in *cols when there is none. */
int store_select_one(const consent_store_t *s, const char *label,
                            const char ***cols, apr_pool_t *p,
                            int nargs, const char **args)
{
    apr_array_header_t *rows;
    int rv = store_select_rows(s, label, &rows, p, nargs, args);

    *cols = (rv == 0 && rows->nelts > 0)
            ? APR_ARRAY_IDX(rows, 0, const char **) : NULL;
    return rv;
}

int store_exec(const consent_store_t *s, const char *label, int *nrows,
                      apr_pool_t *p, int nargs, const char **args)
{
    int n = 0;
    int rv = apr_dbd_pquery(s->driver, p, s->handle, &n, stmt(s, label),
                            nargs, args);

    if (nrows) {
        *nrows = n;
    }
    return rv;
}

/* Runs fixed SQL that may return rows (a PRAGMA does, and then
 * apr_dbd_query would answer SQLITE_ROW as if it had failed). */
static int run_sql(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                   const char *sql, apr_array_header_t **rows,
                   apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_array_header_t *ignored;
    int rv = apr_dbd_select(driver, p, handle, &res, sql,
                            random_access(driver));

    if (rv != 0) {
        return rv;
    }
    return rows_of(driver, res, rows ? rows : &ignored, p);
}

const char *store_sha256_hex(const char *text, apr_pool_t *p)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (!EVP_Digest(text, strlen(text), digest, &dlen, EVP_sha256(),
                    NULL)) {
        return NULL;
    }
    return consent_hex(p, digest, dlen);
}

/* ---- schema ----------------------------------------------------------- */

static int schema_version(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                          apr_int64_t *version, apr_pool_t *p)
{
    apr_array_header_t *rows;
    int rv = run_sql(driver, handle,
                     "SELECT MAX(version) FROM consent_schema_version",
                     &rows, p);

    *version = (rv == 0 && rows->nelts > 0)
               ? store_num(APR_ARRAY_IDX(rows, 0, const char **)[0]) : 0;
    return rv;
}

static const char *migrate_once(const apr_dbd_driver_t *driver,
                                apr_dbd_t *handle, apr_pool_t *p)
{
    const char *name = apr_dbd_name(driver);
    const char *const *ddl = store_schema(name);
    apr_int64_t version = 0;
    int rv = 0, n;

    /* pgsql: CREATE TABLE IF NOT EXISTS races in the catalogue, so
     * concurrent migrations queue on a lock (sqlite: the write lock). */
    if (store_is_pgsql(name)) {
        rv = run_sql(driver, handle,
                     "SELECT pg_advisory_xact_lock(1668247142)", NULL, p);
    }
    /* MySQL: DDL commits by itself; a named lock queues migrations */
    else if (store_is_mysql(name)) {
        rv = run_sql(driver, handle,
                     "SELECT GET_LOCK('consent_migrate', 60)", NULL, p);
    }
    for (; rv == 0 && *ddl; ++ddl) {
        rv = apr_dbd_query(driver, handle, &n, *ddl);
    }
    if (rv != 0 || (rv = schema_version(driver, handle, &version, p))) {
        return store_db_error(driver, handle, rv, "creating the schema", p);
    }
    if (version == 1
        && (rv = apr_dbd_query(driver, handle, &n,
                               store_schema_add_site(name)))) {
        return store_db_error(driver, handle, rv, "adding the site column", p);
    }
    /* 2 -> 3 (purge): a tombstone's erasure (consent_purge.h); NULL for
     * every record written before, whose MACs are unchanged */
    if (version >= 1 && version < 3
        && (rv = apr_dbd_query(driver, handle, &n, "ALTER TABLE"
                               " consent_proof ADD COLUMN erasure TEXT"))) {
        return store_db_error(driver, handle, rv, "adding the erasure column",
                              p);
    }
    if (version > CONSENT_SCHEMA_VERSION) {
        return apr_psprintf(p, "the store's schema version %" APR_INT64_T_FMT
                            " is newer than this mod_consent's (%d)",
                            version, CONSENT_SCHEMA_VERSION);
    }
    if (version < CONSENT_SCHEMA_VERSION
        && (rv = apr_dbd_query(driver, handle, &n,
                               "INSERT INTO consent_schema_version"
                               " (version) VALUES ("
                               APR_STRINGIFY(CONSENT_SCHEMA_VERSION) ")"))) {
        return store_db_error(driver, handle, rv, "recording the version", p);
    }
    return NULL;
}

/* journal_mode is a property of the file: set once, all connections.
 * Asked first, so that a file already in WAL mode (every start but the
 * first, every graceful restart) is never asked to change. */
static const char *sqlite_wal(const apr_dbd_driver_t *driver,
                              apr_dbd_t *handle, apr_pool_t *p)
{
    apr_array_header_t *rows;
    int rv = run_sql(driver, handle, "PRAGMA journal_mode", &rows, p);

    if (rv == 0 && rows->nelts > 0) {
        const char *mode = APR_ARRAY_IDX(rows, 0, const char **)[0];

        if (mode && strcmp(mode, "wal") == 0) {
            return NULL;
        }
    }
    if (rv == 0) {
        rv = run_sql(driver, handle, "PRAGMA journal_mode=WAL", NULL, p);
    }
    return rv ? store_db_error(driver, handle, rv, "PRAGMA journal_mode", p)
              : NULL;
}

apr_status_t consent_store_migrate(const apr_dbd_driver_t *driver,
                                   apr_dbd_t *handle, apr_pool_t *p,
                                   const char **err)
{
    const char *name = apr_dbd_name(driver);
    apr_int64_t version;
    tx_t tx;
    int attempt, rv;

    *err = NULL;
    if (!consent_store_statements(name)) {
        *err = apr_psprintf(p, "DBD driver %s is not supported (sqlite3, "
                            "pgsql or mysql)", name);
        return APR_ENOTIMPL;
    }
    if (store_is_sqlite(name) && (*err = sqlite_wal(driver, handle, p))) {
        return APR_EGENERAL;
    }
    /* Up to date (every graceful restart): no write lock is taken. The
     * table may not exist yet, and then the read fails: migrate. */
    if (schema_version(driver, handle, &version, p) == 0
        && version == CONSENT_SCHEMA_VERSION) {
        return APR_SUCCESS;
    }
    for (attempt = 0; attempt < MIGRATE_RETRIES; ++attempt) {
        if ((rv = store_tx_begin(&tx, driver, handle, p))) {
            *err = store_db_error(driver, handle, rv, "BEGIN", p);
            continue;
        }
        *err = migrate_once(driver, handle, p);
        rv = store_tx_end(&tx, *err == NULL, p);
        if (store_is_mysql(name)) {       /* a session lock: not with the tx */
            run_sql(driver, handle, "SELECT RELEASE_LOCK('consent_migrate')",
                    NULL, p);
        }
        if (*err == NULL && rv != 0) {
            *err = store_db_error(driver, handle, rv, "COMMIT", p);
        }
        /* Another process may have won a race: what matters is that the
         * schema is there now. */
        if (*err == NULL
            || (schema_version(driver, handle, &version, p) == 0
                && version == CONSENT_SCHEMA_VERSION)) {
            *err = NULL;
            return APR_SUCCESS;
        }
    }
    return APR_EGENERAL;
}

apr_status_t consent_store_connection_init(const apr_dbd_driver_t *driver,
                                           apr_dbd_t *handle, apr_pool_t *p,
                                           const char **err)
{
    const char *const *sql = consent_store_connection_sql(
        apr_dbd_name(driver));
    int rv;

    *err = NULL;
    for (; sql && *sql; ++sql) {
        int n = 0;

        /* sqlite: PRAGMAs answer rows; mysql: SET has no result set,
         * which apr_dbd_select cannot take */
        rv = store_is_sqlite(apr_dbd_name(driver))
             ? run_sql(driver, handle, *sql, NULL, p)
             : apr_dbd_query(driver, handle, &n, *sql);
        if (rv != 0) {
            *err = store_db_error(driver, handle, rv, *sql, p);
            return APR_EGENERAL;
        }
    }
    return sql ? APR_SUCCESS : APR_ENOTIMPL;
}

apr_status_t consent_store_open(consent_store_t **store,
                                const apr_dbd_driver_t *driver,
                                apr_dbd_t *handle, apr_pool_t *p,
                                const char **err)
{
    const consent_stmt_def_t *def;
    consent_store_t *s = apr_pcalloc(p, sizeof *s);
    int rv;

    *store = NULL;
    *err = NULL;
    s->driver = driver;
    s->handle = handle;
    s->prepared = apr_hash_make(p);
    def = consent_store_statements(apr_dbd_name(driver));
    if (def == NULL) {
        *err = apr_psprintf(p, "DBD driver %s is not supported",
                            apr_dbd_name(driver));
        return APR_ENOTIMPL;
    }
    for (; def->label; ++def) {
        apr_dbd_prepared_t *st = NULL;

        rv = apr_dbd_prepare(driver, p, handle, def->sql, def->label, &st);
        if (rv != 0) {
            *err = store_db_error(driver, handle, rv, def->label, p);
            return APR_EGENERAL;
        }
        apr_hash_set(s->prepared, def->label, APR_HASH_KEY_STRING, st);
    }
    *store = s;
    return APR_SUCCESS;
}

int consent_store_query(consent_store_t *store, const char *sql,
                        apr_array_header_t **rows, apr_pool_t *p, int nargs,
                        const char **args, const char **err)
{
    apr_dbd_prepared_t *st = NULL;
    apr_dbd_results_t *res = NULL;
    int rv;

    rv = apr_dbd_prepare(store->driver, p, store->handle, sql, NULL, &st);
    if (rv == 0) {
        rv = apr_dbd_pselect(store->driver, p, store->handle, &res, st,
                             random_access(store->driver), nargs, args);
    }
    if (rv != 0) {
        *err = store_db_error(store->driver, store->handle, rv, "audit", p);
        return rv;
    }
    return rows_of(store->driver, res, rows, p);
}
