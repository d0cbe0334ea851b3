/*
 * The proof store on APR DBD (sqlite3, pgsql, mysql).
 *
 * Design. Every record is sealed with HMAC-SHA256 over its canonical form,
 * which includes its lane, its number in the lane and the MAC of the
 * lane's previous record (for the first record: the lane's creation MAC).
 * A lane is one writer, so writers never wait on each other's chain. The
 * lane row keeps the head (count and last MAC) under its own MAC (row_mac),
 * so deleting the last records shows. Lanes form one chain of their own:
 * each new lane names the newest lane as prev_lane (UNIQUE: two creators
 * cannot both extend the same lane; the loser retries) and MACs its id
 * with the predecessor's creation MAC, so deleting a lane shows too. The
 * first lane has prev_lane 'genesis', a value rather than NULL so that
 * UNIQUE allows only one. consent_store_verify() re-checks all of it.
 *
 * Cost of one record alone (consent_store_record, consentctl), in one
 * transaction (sqlite: BEGIN IMMEDIATE, so the write lock is taken first
 * and the busy timeout applies; pgsql: the lane row is read FOR UPDATE):
 * begin, nonce lookup (when there is a token), notice insert-or-ignore
 * (when there is a text), lane read, proof insert, lane update, commit:
 * 7 statements, 2 HMACs and one durable commit (sqlite synchronous=FULL).
 * A lane's first record adds 2 statements (find newest lane, insert lane).
 * Apache writes by group commit instead (consent_store_record_batch, fed
 * by consent_writer.c): one INSERT per record, one lane update and one
 * durable commit per batch.
 *
 * apr_dbd's sqlite3 driver holds one process-wide mutex around every
 * statement, and sqlite's busy handler sleeps while holding it: two
 * threads of one process inside write transactions would wait on each
 * other until busy_timeout runs out. So a process runs one sqlite3 write
 * transaction at a time (in Apache: its writer thread; sqlite has a single
 * writer anyway, so nothing is lost); busy_timeout then only ever waits
 * for other processes.
 *
 * Reads (export, verify) go by pages of PAGE rows on keyset cursors, so
 * memory stays bounded and no read holds a snapshot for long.
 */
#include <stdarg.h>

#include <apr_strings.h>
#include <apr_general.h>
#include <apr_uuid.h>
#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <openssl/evp.h>

#include "consent_store.h"
#include "consent_log.h"
#include "consent_notice.h"
#include "consent_audit.h"

#define PAGE "500"
#define GENESIS "genesis"
#define LANE_RETRIES 8
#define MIGRATE_RETRIES 3
#define MAC_HEX_MAX (2 * CONSENT_SHA256_LEN + 1)

#define S_PROOF_INSERT "consent_proof_insert"
#define S_PROOF_INSERT_NEW "consent_proof_insert_new"
#define S_PROOF_NONCE "consent_proof_nonce"
#define S_PROOF_BY_TIME "consent_proof_by_time"
#define S_PROOF_BY_SUBJECT "consent_proof_by_subject"
#define S_PROOF_BY_LANE "consent_proof_by_lane"
#define S_PROOF_BY_PERSON "consent_proof_by_person"
#define S_PROOF_COUNT "consent_proof_count"
#define S_NOTICE_PUT "consent_notice_put"
#define S_NOTICE_GET "consent_notice_get"
#define S_NOTICE_PAGE "consent_notice_page"
#define S_LANE_GET "consent_lane_get"
#define S_LANE_NEWEST "consent_lane_newest"
#define S_LANE_LOCK "consent_lane_lock"
#define S_LANE_INSERT "consent_lane_insert"
#define S_LANE_ADVANCE "consent_lane_advance"
#define S_LANE_ALL "consent_lane_all"

/* ---- schema and statements, per dialect ----------------------------- */

#define PROOF_COLS \
    "seq, receipt_id, event, time_us, ip, user_agent, subject, form_id, " \
    "form_version, lang, regime, notice_sha256, choices, token_nonce, " \
    "token_issued, token_key_id, token_defaults, lane, lane_seq, " \
    "prev_mac, mac_key_id, mac, site"
#define LANE_COLS \
    "lane, created_us, prev_lane, creation_key_id, creation_mac, " \
    "head_seq, head_mac, head_key_id, row_mac"

/* The tables, given a dialect's auto-increment key. */
#define SCHEMA(SEQ_KEY) \
    "CREATE TABLE IF NOT EXISTS consent_schema_version (" \
    " version INTEGER NOT NULL PRIMARY KEY)", \
    "CREATE TABLE IF NOT EXISTS consent_notice (" \
    " sha256 TEXT NOT NULL PRIMARY KEY, text TEXT NOT NULL," \
    " form_id TEXT, form_version BIGINT, lang TEXT," \
    " first_seen BIGINT NOT NULL)", \
    "CREATE TABLE IF NOT EXISTS consent_lane (" \
    " lane TEXT NOT NULL PRIMARY KEY, created_us BIGINT NOT NULL," \
    " prev_lane TEXT NOT NULL UNIQUE, creation_key_id TEXT NOT NULL," \
    " creation_mac TEXT NOT NULL, head_seq BIGINT NOT NULL," \
    " head_mac TEXT NOT NULL, head_key_id TEXT NOT NULL," \
    " row_mac TEXT NOT NULL)", \
    "CREATE TABLE IF NOT EXISTS consent_proof (" \
    " seq " SEQ_KEY "," \
    " receipt_id TEXT NOT NULL UNIQUE, event TEXT NOT NULL," \
    " time_us BIGINT NOT NULL, ip TEXT, user_agent TEXT, subject TEXT," \
    " form_id TEXT, form_version BIGINT, lang TEXT, regime TEXT," \
    " notice_sha256 TEXT, choices TEXT NOT NULL," \
    " token_nonce TEXT UNIQUE, token_issued BIGINT, token_key_id TEXT," \
    " token_defaults TEXT," \
    " lane TEXT NOT NULL REFERENCES consent_lane (lane)," \
    " lane_seq BIGINT NOT NULL, prev_mac TEXT NOT NULL," \
    " mac_key_id TEXT NOT NULL, mac TEXT NOT NULL," \
    " site TEXT NOT NULL DEFAULT ''," \
    " UNIQUE (lane, lane_seq))", \
    "CREATE INDEX IF NOT EXISTS consent_proof_subject" \
    " ON consent_proof (subject)", \
    "CREATE INDEX IF NOT EXISTS consent_proof_time" \
    " ON consent_proof (time_us, seq)"

static const char *const store_sqlite_schema[] = {
    SCHEMA("INTEGER PRIMARY KEY AUTOINCREMENT"), NULL
};
static const char *const store_pgsql_schema[] = {
    SCHEMA("BIGSERIAL PRIMARY KEY"), NULL
};

/* MySQL/MariaDB: keys need bounded types (hex ids, UUIDs, e-mail
 * prefixes), byte order for keyset paging (utf8mb4_bin), and foreign keys
 * at table level (InnoDB ignores them on a column). */
#define MYSQL_TABLE \
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
static const char *const store_mysql_schema[] = {
    "CREATE TABLE IF NOT EXISTS consent_schema_version ("
    " version INTEGER NOT NULL PRIMARY KEY)" MYSQL_TABLE,
    "CREATE TABLE IF NOT EXISTS consent_notice ("
    " sha256 VARCHAR(64) NOT NULL PRIMARY KEY, text MEDIUMTEXT NOT NULL,"
    " form_id TEXT, form_version BIGINT, lang TEXT,"
    " first_seen BIGINT NOT NULL)" MYSQL_TABLE,
    "CREATE TABLE IF NOT EXISTS consent_lane ("
    " lane VARCHAR(64) NOT NULL PRIMARY KEY, created_us BIGINT NOT NULL,"
    " prev_lane VARCHAR(64) NOT NULL UNIQUE,"
    " creation_key_id VARCHAR(64) NOT NULL,"
    " creation_mac VARCHAR(128) NOT NULL, head_seq BIGINT NOT NULL,"
    " head_mac VARCHAR(128) NOT NULL, head_key_id VARCHAR(64) NOT NULL,"
    " row_mac VARCHAR(128) NOT NULL)" MYSQL_TABLE,
    "CREATE TABLE IF NOT EXISTS consent_proof ("
    " seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " receipt_id VARCHAR(64) NOT NULL UNIQUE, event VARCHAR(64) NOT NULL,"
    " time_us BIGINT NOT NULL, ip TEXT, user_agent TEXT, subject TEXT,"
    " form_id TEXT, form_version BIGINT, lang TEXT, regime TEXT,"
    " notice_sha256 VARCHAR(64), choices MEDIUMTEXT NOT NULL,"
    " token_nonce VARCHAR(128) UNIQUE, token_issued BIGINT,"
    " token_key_id TEXT, token_defaults TEXT,"
    " lane VARCHAR(64) NOT NULL, lane_seq BIGINT NOT NULL,"
    " prev_mac VARCHAR(128) NOT NULL, mac_key_id VARCHAR(64) NOT NULL,"
    " mac VARCHAR(128) NOT NULL,"
    " site VARCHAR(253) NOT NULL DEFAULT '', UNIQUE (lane, lane_seq),"
    " FOREIGN KEY (lane) REFERENCES consent_lane (lane))" MYSQL_TABLE,
    "CREATE INDEX IF NOT EXISTS consent_proof_subject"
    " ON consent_proof (subject(255))",
    "CREATE INDEX IF NOT EXISTS consent_proof_time"
    " ON consent_proof (time_us, seq)",
    NULL
};

/*
 * N is how the dialect takes an integer parameter: apr_dbd's pgsql driver
 * declares %s as varchar, which PostgreSQL will not compare with or store
 * into a BIGINT without a cast. NOTICE_PUT is "insert unless present".
 */
/* Keyset pages are written "a >= x AND (a > x OR b > y)": with bound
 * parameters sqlite3 plans the plain "a > x OR (a = x AND b > y)" as a
 * full index scan, so each page of an export restarted from the first row
 * (1M proofs: 0.09x the rate of a 20k store, bench/RESULTS.md). */
#define STATEMENTS(N, NOTICE_PUT, FOR_UPDATE, LANE_LOCK, NONCE_USED) { \
    { S_PROOF_INSERT, \
      "INSERT INTO consent_proof (receipt_id, event, time_us, ip," \
      " user_agent, subject, form_id, form_version, lang, regime," \
      " notice_sha256, choices, token_nonce, token_issued, token_key_id," \
      " token_defaults, lane, lane_seq, prev_mac, mac_key_id, mac," \
      " site)" \
      " VALUES (%s, %s, " N ", %s, %s, %s, %s, " N ", %s, %s, %s, %s," \
      " %s, " N ", %s, %s, %s, " N ", %s, %s, %s, %s)" }, \
    { S_PROOF_INSERT_NEW, \
      "INSERT INTO consent_proof (receipt_id, event, time_us, ip," \
      " user_agent, subject, form_id, form_version, lang, regime," \
      " notice_sha256, choices, token_nonce, token_issued, token_key_id," \
      " token_defaults, lane, lane_seq, prev_mac, mac_key_id, mac," \
      " site)" \
      " VALUES (%s, %s, " N ", %s, %s, %s, %s, " N ", %s, %s, %s, %s," \
      " %s, " N ", %s, %s, %s, " N ", %s, %s, %s, %s)" \
      NONCE_USED }, \
    { S_PROOF_NONCE, \
      "SELECT receipt_id FROM consent_proof WHERE token_nonce = %s" }, \
    { S_PROOF_BY_TIME, \
      "SELECT " PROOF_COLS " FROM consent_proof" \
      " WHERE time_us >= " N " AND (time_us > " N " OR seq > " N ")" \
      " ORDER BY time_us, seq LIMIT " PAGE }, \
    { S_PROOF_BY_SUBJECT, \
      "SELECT " PROOF_COLS " FROM consent_proof WHERE subject = %s" \
      " AND time_us >= " N " AND (time_us > " N " OR seq > " N ")" \
      " ORDER BY time_us, seq LIMIT " PAGE }, \
    { S_PROOF_BY_PERSON, \
      "SELECT " PROOF_COLS " FROM consent_proof" \
      " WHERE subject >= %s AND (subject > %s OR seq > " N ")" \
      " ORDER BY subject, seq LIMIT " PAGE }, \
    { S_PROOF_BY_LANE, \
      "SELECT " PROOF_COLS " FROM consent_proof" \
      " WHERE lane >= %s AND (lane > %s OR lane_seq > " N ")" \
      " ORDER BY lane, lane_seq LIMIT " PAGE }, \
    { S_PROOF_COUNT, "SELECT COUNT(*) FROM consent_proof" }, \
    { S_NOTICE_PUT, NOTICE_PUT }, \
    { S_NOTICE_GET, "SELECT text FROM consent_notice WHERE sha256 = %s" }, \
    { S_NOTICE_PAGE, \
      "SELECT sha256, text FROM consent_notice WHERE sha256 > %s" \
      " ORDER BY sha256 LIMIT 100" }, \
    { S_LANE_GET, \
      "SELECT " LANE_COLS " FROM consent_lane WHERE lane = %s" \
      FOR_UPDATE }, \
    { S_LANE_LOCK, LANE_LOCK }, \
    { S_LANE_NEWEST, \
      "SELECT lane, creation_mac FROM consent_lane l WHERE NOT EXISTS" \
      " (SELECT 1 FROM consent_lane n WHERE n.prev_lane = l.lane)" \
      " ORDER BY created_us DESC, lane LIMIT 1" }, \
    { S_LANE_INSERT, \
      "INSERT INTO consent_lane (" LANE_COLS ")" \
      " VALUES (%s, " N ", %s, %s, %s, " N ", %s, %s, %s)" }, \
    { S_LANE_ADVANCE, \
      "UPDATE consent_lane SET head_seq = " N ", head_mac = %s," \
      " head_key_id = %s, row_mac = %s" \
      " WHERE lane = %s AND head_seq = " N " AND head_mac = %s" }, \
    { S_LANE_ALL, "SELECT " LANE_COLS " FROM consent_lane" }, \
    { NULL, NULL } \
}

#define NOTICE_COLS "(sha256, text, form_id, form_version, lang, first_seen)"

static const consent_stmt_def_t sqlite_statements[] = STATEMENTS(
    "%s",
    "INSERT OR IGNORE INTO consent_notice " NOTICE_COLS
    " VALUES (%s, %s, %s, %s, %s, %s)",
    "",
    "SELECT 1",      /* BEGIN IMMEDIATE already serialises writers */
    " ON CONFLICT (token_nonce) DO NOTHING");

static const consent_stmt_def_t pgsql_statements[] = STATEMENTS(
    "CAST(%s AS BIGINT)",
    "INSERT INTO consent_notice " NOTICE_COLS
    " VALUES (%s, %s, %s, CAST(%s AS BIGINT), %s, CAST(%s AS BIGINT))"
    " ON CONFLICT (sha256) DO NOTHING",
    " FOR UPDATE",
    /* Lane creation only (once per writer): without it, the threads of
     * freshly started nodes all race for the same predecessor and most
     * exhaust their retries. Released at commit. */
    "SELECT pg_advisory_xact_lock(1668247143)",
    " ON CONFLICT (token_nonce) DO NOTHING");

/*
 * MySQL/MariaDB (InnoDB): integers as strings convert by themselves. An
 * "insert unless present" is an update that changes nothing, which
 * reports no row changed (apr-util connects without CLIENT_FOUND_ROWS
 * unless DBDParams asks for it: do not). Lane creation is serialised by
 * a row lock on the schema version, held until commit.
 */
static const consent_stmt_def_t mysql_statements[] = STATEMENTS(
    "%s",
    "INSERT INTO consent_notice " NOTICE_COLS
    " VALUES (%s, %s, %s, %s, %s, %s)"
    " ON DUPLICATE KEY UPDATE sha256 = sha256",
    " FOR UPDATE",
    "SELECT version FROM consent_schema_version FOR UPDATE",
    " ON DUPLICATE KEY UPDATE token_nonce = token_nonce");

/* Durability: a receipt handed out must survive a crash (FULL); a busy
 * file is waited for rather than failed (busy_timeout). Not foreign_keys:
 * changing it expires the statements mod_dbd prepared on the connection,
 * and apr_dbd's sqlite3 driver then fails them (verify checks the links). */
static const char *const sqlite_connection_sql[] = {
    "PRAGMA busy_timeout=" APR_STRINGIFY(CONSENT_SQLITE_BUSY_MS),
    "PRAGMA synchronous=FULL",
    NULL
};
static const char *const pgsql_connection_sql[] = { NULL };
/* The tables are utf8mb4; so must the connection be, whatever the
 * client library's default. READ COMMITTED, as PostgreSQL's default:
 * under InnoDB's REPEATABLE READ the lane read FOR UPDATE of a lane not
 * yet created takes a gap lock, and writers creating their lanes at once
 * deadlocked against the lane lock; and the newest lane must be read as
 * committed now, not as at the transaction's first read. */
static const char *const mysql_connection_sql[] = {
    "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    NULL
};

static int store_is_sqlite(const char *driver)
{
    return driver && strcmp(driver, "sqlite3") == 0;
}

static int store_is_pgsql(const char *driver)
{
    return driver && strcmp(driver, "pgsql") == 0;
}

static int store_is_mysql(const char *driver)
{
    return driver && strcmp(driver, "mysql") == 0;
}

const consent_stmt_def_t *consent_store_statements(const char *driver)
{
    return store_is_sqlite(driver) ? sqlite_statements
           : store_is_pgsql(driver) ? pgsql_statements
           : store_is_mysql(driver) ? mysql_statements : NULL;
}

const char *const *consent_store_connection_sql(const char *driver)
{
    return store_is_sqlite(driver) ? sqlite_connection_sql
           : store_is_pgsql(driver) ? pgsql_connection_sql
           : store_is_mysql(driver) ? mysql_connection_sql : NULL;
}

/* ---- small helpers ---------------------------------------------------- */

static const char *store_i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static apr_int64_t store_num(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}

static const char *store_db_error(const apr_dbd_driver_t *driver,
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

static int store_select_rows(const consent_store_t *s, const char *label,
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
static int store_select_one(const consent_store_t *s, const char *label,
                            const char ***cols, apr_pool_t *p,
                            int nargs, const char **args)
{
    apr_array_header_t *rows;
    int rv = store_select_rows(s, label, &rows, p, nargs, args);

    *cols = (rv == 0 && rows->nelts > 0)
            ? APR_ARRAY_IDX(rows, 0, const char **) : NULL;
    return rv;
}

static int store_exec(const consent_store_t *s, const char *label, int *nrows,
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

/* "name:length:value\n" pairs, as consent_proof_canonical does. */
static const char *canon(apr_pool_t *p, apr_size_t *len, ...)
{
    const char *out = "", *name, *value;
    va_list ap;

    va_start(ap, len);
    while ((name = va_arg(ap, const char *)) != NULL) {
        value = va_arg(ap, const char *);
        out = value == NULL
            ? apr_pstrcat(p, out, name, ":-\n", NULL)
            : apr_psprintf(p, "%s%s:%" APR_SIZE_T_FMT ":%s\n", out, name,
                           strlen(value), value);
    }
    va_end(ap);
    *len = strlen(out);
    return out;
}

static const char *hmac_hex(const consent_key_t *key, const char *data,
                            apr_size_t len, apr_pool_t *p)
{
    unsigned char mac[CONSENT_SHA256_LEN];

    if (consent_hmac(key, data, len, mac) != APR_SUCCESS) {
        return NULL;
    }
    return consent_hex(p, mac, sizeof mac);
}

/* MACs are compared in constant time, even as hex. */
static int hex_equal(const char *a, const char *b)
{
    return a && b && strlen(a) == strlen(b)
           && consent_mac_equal((const unsigned char *)a,
                                (const unsigned char *)b, strlen(a));
}

static const char *store_sha256_hex(const char *text, apr_pool_t *p)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (!EVP_Digest(text, strlen(text), digest, &dlen, EVP_sha256(),
                    NULL)) {
        return NULL;
    }
    return consent_hex(p, digest, dlen);
}

/* ---- transactions ----------------------------------------------------- */

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

/*
 * Transactions are plain statements, never apr_dbd_transaction_start():
 * apr-util 1.6's pgsql driver dereferences a NULL transaction when BEGIN
 * fails (dbd_pgsql_start_transaction sets (*trans)->handle whether or not
 * it allocated *trans), which is what BEGIN on a connection whose server
 * restarted or stopped does: the httpd child died. libpq only learns that
 * a connection is dead on its next use, so no check beforehand can rule
 * it out; a failed BEGIN here is just an error (503), and the caller
 * drops or repairs the connection.
 */
typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
#if APR_HAS_THREADS
    apr_thread_mutex_t *held;
#endif
} tx_t;

/* sqlite3: BEGIN IMMEDIATE takes the write lock first, so the busy
 * timeout applies there rather than at a later statement. */
static int store_tx_begin(tx_t *tx, const apr_dbd_driver_t *driver,
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
static int store_tx_end(tx_t *tx, int ok, apr_pool_t *p)
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

/* ---- lanes ------------------------------------------------------------ */

typedef struct {
    const char *lane;
    apr_int64_t created_us;
    const char *prev_lane;
    const char *creation_key_id;
    const char *creation_mac;
    apr_int64_t head_seq;
    const char *head_mac;
    const char *head_key_id;
    const char *row_mac;
} lane_t;

static void store_lane_from_cols(lane_t *ln, const char **c)
{
    ln->lane = c[0];
    ln->created_us = store_num(c[1]);
    ln->prev_lane = c[2];
    ln->creation_key_id = c[3];
    ln->creation_mac = c[4];
    ln->head_seq = store_num(c[5]);
    ln->head_mac = c[6];
    ln->head_key_id = c[7];
    ln->row_mac = c[8];
}

/* What creation_mac covers: the lane and the one it extends. */
static const char *store_lane_creation_mac(const lane_t *ln,
                                           const char *prev_mac,
                                           const consent_key_t *key,
                                           apr_pool_t *p)
{
    apr_size_t len;
    const char *data = canon(p, &len, "v", "consent-lane-1",
                             "lane", ln->lane,
                             "created_us", store_i64(p, ln->created_us),
                             "prev_lane", ln->prev_lane,
                             "prev_creation_mac", prev_mac,
                             "creation_key_id", ln->creation_key_id, NULL);

    return hmac_hex(key, data, len, p);
}

/* What row_mac covers: the whole lane row but row_mac. */
static const char *store_lane_row_mac(const lane_t *ln,
                                      const consent_key_t *key,
                                      apr_pool_t *p)
{
    apr_size_t len;
    const char *data = canon(p, &len, "v", "consent-lane-row-1",
                             "lane", ln->lane,
                             "created_us", store_i64(p, ln->created_us),
                             "prev_lane", ln->prev_lane,
                             "creation_key_id", ln->creation_key_id,
                             "creation_mac", ln->creation_mac,
                             "head_seq", store_i64(p, ln->head_seq),
                             "head_mac", ln->head_mac,
                             "head_key_id", ln->head_key_id, NULL);

    return hmac_hex(key, data, len, p);
}

/* Creates lane as the successor of the newest lane (or as the first). */
static const char *lane_create(consent_store_t *s, lane_t *ln,
                               const char *lane, const consent_key_t *key,
                               apr_pool_t *p)
{
    const char **newest, *args[9];
    const char *kid = consent_hex(p, key->id, CONSENT_KEY_ID_LEN);
    int rv;

    if ((rv = store_select_one(s, S_LANE_LOCK, &newest, p, 0, NULL)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_LOCK, p);
    }
    if ((rv = store_select_one(s, S_LANE_NEWEST, &newest, p, 0, NULL)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_NEWEST, p);
    }
    ln->lane = lane;
    ln->created_us = apr_time_now();
    ln->prev_lane = newest ? newest[0] : GENESIS;
    ln->creation_key_id = kid;
    ln->creation_mac = store_lane_creation_mac(ln, newest ? newest[1] : "",
                                               key, p);
    ln->head_seq = 0;
    ln->head_mac = ln->creation_mac;
    ln->head_key_id = kid;
    ln->row_mac = store_lane_row_mac(ln, key, p);
    if (!ln->creation_mac || !ln->row_mac) {
        return "HMAC failed";
    }
    args[0] = ln->lane;
    args[1] = store_i64(p, ln->created_us);
    args[2] = ln->prev_lane;
    args[3] = ln->creation_key_id;
    args[4] = ln->creation_mac;
    args[5] = "0";
    args[6] = ln->head_mac;
    args[7] = ln->head_key_id;
    args[8] = ln->row_mac;
    if ((rv = store_exec(s, S_LANE_INSERT, NULL, p, 9, args)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_INSERT, p);
    }
    return NULL;
}

const char *consent_store_lane_id(apr_pool_t *p)
{
    unsigned char b[16];

    if (apr_generate_random_bytes(b, sizeof b) != APR_SUCCESS) {
        apr_uuid_t uuid;    /* unique is what matters, not secret */

        apr_uuid_get(&uuid);
        memcpy(b, uuid.data, sizeof b);
    }
    return consent_hex(p, b, sizeof b);
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
    const char *const *ddl = store_is_sqlite(name) ? store_sqlite_schema
                             : store_is_mysql(name) ? store_mysql_schema
                             : store_pgsql_schema;
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
    /* 1 -> 2 (tenancy): proofs gain their site; older ones get '' */
    if (version == 1
        && (rv = apr_dbd_query(driver, handle, &n, store_is_mysql(name)
                               ? "ALTER TABLE consent_proof ADD COLUMN site"
                                 " VARCHAR(253) NOT NULL DEFAULT ''"
                               : "ALTER TABLE consent_proof ADD COLUMN site"
                                 " TEXT NOT NULL DEFAULT ''"))) {
        return store_db_error(driver, handle, rv, "adding the site column", p);
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

/* ---- recording -------------------------------------------------------- */

static const char *insert_notice(consent_store_t *s,
                                 const consent_proof_t *proof, apr_pool_t *p)
{
    const char *args[6];
    int rv;

    args[0] = proof->notice_sha256;
    args[1] = proof->notice_text;
    args[2] = proof->form_id;
    args[3] = store_i64(p, proof->form_version);
    args[4] = proof->lang;
    args[5] = store_i64(p, proof->time);
    rv = store_exec(s, S_NOTICE_PUT, NULL, p, 6, args);
    return rv ? store_db_error(s->driver, s->handle, rv, S_NOTICE_PUT, p)
              : NULL;
}

/* The 22 values of a proof row, in the order of both inserts. */
static void proof_args(const char **args, const consent_proof_t *pf,
                       apr_pool_t *p)
{
    args[0] = pf->receipt_id;
    args[1] = pf->event;
    args[2] = store_i64(p, pf->time);
    args[3] = pf->ip;
    args[4] = pf->user_agent;
    args[5] = pf->subject;
    args[6] = pf->form_id;
    args[7] = store_i64(p, pf->form_version);
    args[8] = pf->lang;
    args[9] = pf->regime;
    args[10] = pf->notice_sha256;
    args[11] = consent_choices_encode(p, pf->choices);
    args[12] = pf->token_nonce;
    args[13] = store_i64(p, pf->token_issued);
    args[14] = pf->token_key_id;
    args[15] = pf->token_defaults;
    args[16] = pf->lane;
    args[17] = store_i64(p, pf->lane_seq);
    args[18] = pf->prev_mac;
    args[19] = pf->mac_key_id;
    args[20] = pf->mac;
    args[21] = pf->site ? pf->site : "";
}

static const char *insert_proof(consent_store_t *s,
                                const consent_proof_t *pf, apr_pool_t *p)
{
    const char *args[22];
    int rv;

    proof_args(args, pf, p);
    rv = store_exec(s, S_PROOF_INSERT, NULL, p, 22, args);
    return rv ? store_db_error(s->driver, s->handle, rv, S_PROOF_INSERT, p)
              : NULL;
}

/* Moves the lane's head to the proof just inserted. The head_seq guard
 * turns two writers on one lane into an error rather than a fork. */
static const char *store_lane_advance(consent_store_t *s, lane_t *ln,
                                      const consent_proof_t *pf,
                                      const consent_key_t *key, apr_pool_t *p)
{
    const char *args[7];
    apr_int64_t was = ln->head_seq;
    const char *was_mac = ln->head_mac;
    int rv, n = 0;

    ln->head_seq = pf->lane_seq;
    ln->head_mac = pf->mac;
    ln->head_key_id = pf->mac_key_id;
    if ((ln->row_mac = store_lane_row_mac(ln, key, p)) == NULL) {
        return "HMAC failed";
    }
    args[0] = store_i64(p, ln->head_seq);
    args[1] = ln->head_mac;
    args[2] = ln->head_key_id;
    args[3] = ln->row_mac;
    args[4] = ln->lane;
    args[5] = store_i64(p, was);
    args[6] = was_mac;      /* the head this record chained to, exactly */
    if ((rv = store_exec(s, S_LANE_ADVANCE, &n, p, 7, args)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_ADVANCE, p);
    }
    return n == 1 ? NULL : apr_psprintf(p, "lane %s changed under its "
                                        "writer (two writers on one "
                                        "lane?)", ln->lane);
}

static int nonce_used(consent_store_t *s, const char *nonce, apr_pool_t *p,
                      const char **err)
{
    const char **row;
    int rv;

    if (nonce == NULL) {
        return 0;
    }
    if ((rv = store_select_one(s, S_PROOF_NONCE, &row, p, 1, &nonce)) != 0) {
        *err = store_db_error(s->driver, s->handle, rv, S_PROOF_NONCE, p);
        return 0;
    }
    return row != NULL;
}

/* The lane's head, from the writer's memory when it has it. */
static const char *store_lane_read(consent_store_t *s, lane_t *ln,
                                   const char *lane,
                                   const consent_lane_cache_t *cache,
                                   const consent_key_t *key, apr_pool_t *p,
                                   int *lane_race)
{
    const char **row;
    const char *err;
    int rv;

    if (cache && cache->valid && strcmp(cache->lane, lane) == 0) {
        ln->lane = cache->lane;
        ln->created_us = cache->created_us;
        ln->prev_lane = cache->prev_lane;
        ln->creation_key_id = cache->creation_key_id;
        ln->creation_mac = cache->creation_mac;
        ln->head_seq = cache->head_seq;
        ln->head_mac = cache->head_mac;
        ln->head_key_id = cache->head_key_id;
        return NULL;
    }
    if ((rv = store_select_one(s, S_LANE_GET, &row, p, 1, &lane)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_GET, p);
    }
    if (row) {
        store_lane_from_cols(ln, row);
        return NULL;
    }
    if ((err = lane_create(s, ln, lane, key, p)) != NULL) {
        *lane_race = 1;
    }
    return err;
}

/* Remembers what a committed record left; forgets what does not fit. */
static void store_lane_remember(consent_lane_cache_t *c, const lane_t *ln,
                                const consent_proof_t *pf)
{
    c->valid = strlen(ln->lane) < sizeof c->lane
               && strlen(ln->prev_lane) < sizeof c->prev_lane
               && strlen(ln->creation_key_id) < sizeof c->creation_key_id
               && strlen(ln->creation_mac) < sizeof c->creation_mac
               && strlen(ln->head_mac) < sizeof c->head_mac
               && strlen(ln->head_key_id) < sizeof c->head_key_id;
    if (c->valid) {
        apr_cpystrn(c->lane, ln->lane, sizeof c->lane);
        c->created_us = ln->created_us;
        apr_cpystrn(c->prev_lane, ln->prev_lane, sizeof c->prev_lane);
        apr_cpystrn(c->creation_key_id, ln->creation_key_id,
                    sizeof c->creation_key_id);
        apr_cpystrn(c->creation_mac, ln->creation_mac,
                    sizeof c->creation_mac);
        c->head_seq = ln->head_seq;
        apr_cpystrn(c->head_mac, ln->head_mac, sizeof c->head_mac);
        apr_cpystrn(c->head_key_id, ln->head_key_id, sizeof c->head_key_id);
    }
    if (pf->notice_sha256 && strlen(pf->notice_sha256) < sizeof c->notice) {
        apr_cpystrn(c->notice, pf->notice_sha256, sizeof c->notice);
    }
}

/* The statements of one record, inside the caller's transaction. */
static consent_store_status_t write_proof(consent_store_t *s,
                                          consent_proof_t *pf,
                                          const char *lane,
                                          consent_lane_cache_t *cache,
                                          const consent_key_t *key,
                                          apr_pool_t *p, const char **err,
                                          int *lane_race, lane_t *ln)
{
    int warm = cache && cache->valid;

    /* warm, the insert's unique constraint says it (record_once asks) */
    if (!warm && nonce_used(s, pf->token_nonce, p, err)) {
        return CONSENT_STORE_DUPLICATE;
    }
    if (*err || (pf->notice_text
                 && !(cache && pf->notice_sha256
                      && strcmp(cache->notice, pf->notice_sha256) == 0)
                 && (*err = insert_notice(s, pf, p)))) {
        return CONSENT_STORE_ERROR;
    }
    if ((*err = store_lane_read(s, ln, lane, cache, key, p, lane_race))) {
        return CONSENT_STORE_ERROR;
    }
    pf->lane = ln->lane;
    pf->lane_seq = ln->head_seq + 1;
    pf->prev_mac = ln->head_mac;
    if (consent_proof_seal(pf, key, p) != APR_SUCCESS) {
        *err = "HMAC failed";
        return CONSENT_STORE_ERROR;
    }
    if ((*err = insert_proof(s, pf, p))
        || (*err = store_lane_advance(s, ln, pf, key, p))) {
        /* a memory that went stale: read the lane again and retry */
        *lane_race = *lane_race || warm;
        return CONSENT_STORE_ERROR;
    }
    return CONSENT_STORE_OK;
}

/* A text that does not hash to the digest would read as tampering. */
static const char *check_notice(const consent_proof_t *pf, apr_pool_t *p)
{
    const char *digest;

    if (pf->notice_text == NULL) {
        return NULL;
    }
    digest = store_sha256_hex(pf->notice_text, p);
    if (pf->notice_sha256 == NULL || digest == NULL
        || strcmp(digest, pf->notice_sha256) != 0) {
        return apr_psprintf(p, "receipt %s: the notice text does not match "
                            "notice_sha256", pf->receipt_id);
    }
    return NULL;
}

static consent_store_status_t record_once(consent_store_t *s,
                                          consent_proof_t *pf,
                                          const char *lane,
                                          consent_lane_cache_t *cache,
                                          const consent_key_t *key,
                                          apr_pool_t *p, const char **err,
                                          int *lane_race)
{
    consent_store_status_t st;
    const char *nerr = NULL;
    lane_t ln;
    tx_t tx;
    int rv;

    memset(&ln, 0, sizeof ln);
    if ((rv = store_tx_begin(&tx, s->driver, s->handle, p))) {
        *err = store_db_error(s->driver, s->handle, rv, "BEGIN", p);
        return CONSENT_STORE_ERROR;
    }
    st = write_proof(s, pf, lane, cache, key, p, err, lane_race, &ln);
    rv = store_tx_end(&tx, st == CONSENT_STORE_OK, p);
    if (st == CONSENT_STORE_OK && rv != 0) {
        *err = store_db_error(s->driver, s->handle, rv, "COMMIT", p);
        st = CONSENT_STORE_ERROR;
    }
    if (cache && st == CONSENT_STORE_OK) {
        store_lane_remember(cache, &ln, pf);
    }
    else if (cache) {
        cache->valid = 0;           /* the lane is read again next time */
    }
    /* A replay that won the race makes our insert fail: say so. */
    if (st == CONSENT_STORE_ERROR && nonce_used(s, pf->token_nonce, p,
                                                &nerr)) {
        *lane_race = 0;
        st = CONSENT_STORE_DUPLICATE;
    }
    return st;
}

consent_store_status_t consent_store_record(consent_store_t *store,
                                            consent_proof_t *proof,
                                            const char *lane,
                                            const consent_key_t *key,
                                            apr_pool_t *p, const char **err)
{
    return consent_store_record_cached(store, proof, lane, NULL, key, p,
                                       err);
}

consent_store_status_t consent_store_record_cached(consent_store_t *store,
                                                   consent_proof_t *proof,
                                                   const char *lane,
                                                   consent_lane_cache_t *cache,
                                                   const consent_key_t *key,
                                                   apr_pool_t *p,
                                                   const char **err)
{
    consent_store_status_t st;
    int attempt, lane_race;

    *err = check_notice(proof, p);
    if (*err) {
        return CONSENT_STORE_ERROR;
    }
    /* Only lane creation can lose a race (pgsql: two new lanes extending
     * the same one), or a writer's memory go stale; the whole record is
     * then tried again, reading the lane afresh. */
    for (attempt = 0; ; ++attempt) {
        lane_race = 0;
        *err = NULL;
        st = record_once(store, proof, lane, cache, key, p, err,
                         &lane_race);
        if (st != CONSENT_STORE_ERROR || !lane_race
            || attempt >= LANE_RETRIES) {
            break;
        }
        apr_sleep((apr_interval_time_t)(attempt + 1) * 1000);
    }
    if (st == CONSENT_STORE_DUPLICATE) {
        *err = apr_psprintf(p, "receipt %s: token nonce already used",
                            proof->receipt_id);
    }
    if (st != CONSENT_STORE_OK) {
        proof->lane = NULL;
        proof->mac = NULL;
    }
    return st;
}

/* ---- group commit ------------------------------------------------------ */

/*
 * A batch costs, in one transaction: the lane read (only when the writer
 * has no memory of it), one INSERT per proof (plus the notice when it is
 * new to the writer), ONE lane head update for the whole batch and one
 * durable commit. A replayed nonce is not an error: the insert does
 * nothing (ON CONFLICT ... DO NOTHING, sqlite 3.24 and PostgreSQL 9.5)
 * and reports no row, so that proof alone is refused and the others go
 * on, without a savepoint each (on pgsql a failed statement would abort
 * the whole transaction).
 */
static int insert_new_proof(consent_store_t *s, const consent_proof_t *pf,
                            int *inserted, apr_pool_t *p)
{
    const char *args[22];

    proof_args(args, pf, p);
    return store_exec(s, S_PROOF_INSERT_NEW, inserted, p, 22, args);
}

/* One proof chained after *head; DUPLICATE when its nonce was used. */
static consent_store_status_t batch_one(consent_store_t *s,
                                        consent_store_item_t *it,
                                        lane_t *head,
                                        consent_lane_cache_t *mem,
                                        apr_pool_t *p, const char **err)
{
    consent_proof_t *pf = it->proof;
    int rv, inserted = 0;

    if ((it->err = check_notice(pf, p)) != NULL) {
        return CONSENT_STORE_ERROR;         /* this proof's own fault */
    }
    if (pf->notice_text && strcmp(mem->notice, pf->notice_sha256) != 0) {
        if ((*err = insert_notice(s, pf, p)) != NULL) {
            return CONSENT_STORE_ERROR;
        }
        if (strlen(pf->notice_sha256) < sizeof mem->notice) {
            apr_cpystrn(mem->notice, pf->notice_sha256, sizeof mem->notice);
        }
    }
    pf->lane = head->lane;
    pf->lane_seq = head->head_seq + 1;
    pf->prev_mac = head->head_mac;
    if (consent_proof_seal(pf, it->key, p) != APR_SUCCESS) {
        *err = "HMAC failed";
        return CONSENT_STORE_ERROR;
    }
    if ((rv = insert_new_proof(s, pf, &inserted, p)) != 0) {
        *err = store_db_error(s->driver, s->handle, rv, S_PROOF_INSERT_NEW, p);
        return CONSENT_STORE_ERROR;
    }
    if (inserted != 1) {
        return CONSENT_STORE_DUPLICATE;
    }
    head->head_seq = pf->lane_seq;
    head->head_mac = pf->mac;
    head->head_key_id = pf->mac_key_id;
    return CONSENT_STORE_OK;
}

/* The batch inside an open transaction; *err on a failure that undoes
 * it all, *stale when the writer's memory of its lane was wrong. */
static void batch_statements(consent_store_t *s, consent_store_item_t *items,
                             int n, const char *lane,
                             consent_lane_cache_t *mem, apr_pool_t *p,
                             const char **err, int *stale)
{
    const consent_proof_t *last = NULL;
    const consent_key_t *last_key = NULL;
    lane_t was, head;
    int i, race = 0;

    memset(&was, 0, sizeof was);
    if ((*err = store_lane_read(s, &was, lane, mem, items[0].key, p, &race))) {
        return;
    }
    head = was;
    for (i = 0; i < n && *err == NULL; ++i) {
        items[i].status = batch_one(s, &items[i], &head, mem, p, err);
        if (items[i].status == CONSENT_STORE_OK) {
            last = items[i].proof;
            last_key = items[i].key;
        }
    }
    /* the head moves once, guarded on the head the batch chained to */
    if (*err == NULL && last
        && (*err = store_lane_advance(s, &was, last, last_key, p)) != NULL) {
        *stale = mem->valid;
    }
    if (*err == NULL && last) {
        store_lane_remember(mem, &was, last);
    }
}

apr_status_t consent_store_record_batch(consent_store_t *store,
                                        consent_store_item_t *items, int n,
                                        const char *lane,
                                        consent_lane_cache_t *cache,
                                        apr_pool_t *p, const char **err)
{
    int i, rv, attempt, stale;
    tx_t tx;

    for (attempt = 0; ; ++attempt) {
        *err = NULL;
        stale = 0;
        for (i = 0; i < n; ++i) {
            items[i].status = CONSENT_STORE_ERROR;
            items[i].err = NULL;
        }
        if ((rv = store_tx_begin(&tx, store->driver, store->handle, p))) {
            *err = store_db_error(store->driver, store->handle, rv, "BEGIN",
                                  p);
            break;
        }
        batch_statements(store, items, n, lane, cache, p, err, &stale);
        rv = store_tx_end(&tx, *err == NULL, p);
        if (*err == NULL && rv != 0) {
            *err = store_db_error(store->driver, store->handle, rv,
                                  "COMMIT", p);
        }
        if (*err == NULL) {
            break;
        }
        memset(cache, 0, sizeof *cache);    /* read the lane afresh */
        if (!stale || attempt > 0) {
            break;
        }
    }
    for (i = 0; i < n; ++i) {
        consent_store_item_t *it = &items[i];

        if (*err) {
            it->status = CONSENT_STORE_ERROR;   /* nothing was written */
            it->err = it->err ? it->err : *err;
        }
        else if (it->status == CONSENT_STORE_DUPLICATE) {
            it->err = apr_psprintf(p, "receipt %s: token nonce already "
                                   "used", it->proof->receipt_id);
        }
        if (it->status != CONSENT_STORE_OK) {
            it->proof->lane = NULL;
            it->proof->mac = NULL;
        }
    }
    return *err ? APR_EGENERAL : APR_SUCCESS;
}

/* ---- reading ---------------------------------------------------------- */

static consent_proof_t *store_proof_from_cols(const char **c, apr_pool_t *p)
{
    consent_proof_t *pf = apr_pcalloc(p, sizeof *pf);

    pf->receipt_id = c[1];
    pf->event = c[2];
    pf->time = store_num(c[3]);
    pf->ip = c[4];
    pf->user_agent = c[5];
    pf->subject = c[6];
    pf->form_id = c[7];
    pf->form_version = (unsigned)store_num(c[8]);
    pf->lang = c[9];
    pf->regime = c[10];
    pf->notice_sha256 = c[11];
    pf->choices = consent_choices_decode(p, c[12]);
    pf->token_nonce = c[13];
    pf->token_issued = store_num(c[14]);
    pf->token_key_id = c[15];
    pf->token_defaults = c[16];
    pf->lane = c[17];
    pf->lane_seq = store_num(c[18]);
    pf->prev_mac = c[19];
    pf->mac_key_id = c[20];
    pf->mac = c[21];
    pf->site = c[22] ? c[22] : "";
    return pf;
}

/*
 * Pages of label's rows: arg (if any) then the cursor (a, a, b) bound, fn
 * called on each row, and the cursor moved to the last row's columns ca
 * and cb. Two page pools take turns, so the cursor can point into the
 * previous page while the next is read: two pages at most, whatever the
 * length of a subject.
 */
static apr_status_t each_page(consent_store_t *store, const char *label,
                              const char *arg, const char *a,
                              const char *b, int ca, int cb,
                              consent_proof_fn *fn, void *baton,
                              apr_pool_t *p, const char **err)
{
    const char *args[4];
    apr_array_header_t *rows;
    apr_status_t status = APR_SUCCESS;
    apr_pool_t *pages[2], *page;
    int rv, i, n, turn = 0;

    *err = NULL;
    apr_pool_create(&pages[0], p);
    apr_pool_create(&pages[1], p);
    do {
        page = pages[turn];
        turn = !turn;
        apr_pool_clear(page);
        n = 0;
        if (arg) {
            args[n++] = arg;
        }
        args[n++] = a;
        args[n++] = a;
        args[n++] = b;
        rv = store_select_rows(store, label, &rows, page, n, args);
        if (rv != 0) {
            *err = store_db_error(store->driver, store->handle, rv, label, p);
            status = APR_EGENERAL;
            break;
        }
        for (i = 0; i < rows->nelts && status == APR_SUCCESS; ++i) {
            const char **c = APR_ARRAY_IDX(rows, i, const char **);

            const char *site = c[22] ? c[22] : "";

            if (!store->only_site || strcmp(store->only_site, site) == 0
                || (!*site && !store->only_site_exact)) {
                status = fn(baton, store_proof_from_cols(c, page), page);
            }
        }
        if (rows->nelts > 0) {
            const char **last = APR_ARRAY_IDX(rows, rows->nelts - 1,
                                              const char **);
            a = last[ca] ? last[ca] : "";
            b = last[cb] ? last[cb] : "-1";
        }
    } while (status == APR_SUCCESS && rows->nelts == atoi(PAGE));
    apr_pool_destroy(pages[0]);
    apr_pool_destroy(pages[1]);
    return status;
}

apr_status_t consent_store_each(consent_store_t *store, apr_time_t since,
                                const char *subject, consent_proof_fn *fn,
                                void *baton, apr_pool_t *p, const char **err)
{
    return each_page(store, subject ? S_PROOF_BY_SUBJECT : S_PROOF_BY_TIME,
                     subject, store_i64(p, since), "-1", 3, 0, fn, baton, p,
                     err);
}

apr_status_t consent_store_each_by_subject(consent_store_t *store,
                                           consent_proof_fn *fn,
                                           void *baton, apr_pool_t *p,
                                           const char **err)
{
    return each_page(store, S_PROOF_BY_PERSON, NULL, "", "-1", 6, 0, fn,
                     baton, p, err);
}

const char *consent_store_notice(consent_store_t *store, const char *sha256,
                                 apr_pool_t *p)
{
    const char **row;

    if (store_select_one(store, S_NOTICE_GET, &row, p, 1, &sha256) != 0
        || row == NULL) {
        return NULL;
    }
    return row[0];
}

apr_status_t consent_store_count(consent_store_t *store,
                                 apr_int64_t *proofs, apr_int64_t *lanes,
                                 apr_pool_t *p, const char **err)
{
    apr_array_header_t *rows;
    const char **row;
    int rv;

    *err = NULL;
    rv = store_select_one(store, S_PROOF_COUNT, &row, p, 0, NULL);
    if (rv == 0) {
        *proofs = store_num(row ? row[0] : NULL);
        rv = store_select_rows(store, S_LANE_ALL, &rows, p, 0, NULL);
    }
    if (rv != 0) {
        *err = store_db_error(store->driver, store->handle, rv, "count", p);
        return APR_EGENERAL;
    }
    *lanes = rows->nelts;
    return APR_SUCCESS;
}

/* ---- verification ----------------------------------------------------- */

typedef struct {
    lane_t row;
    apr_int64_t seen_seq;               /* last lane_seq met */
    char last_mac[MAC_HEX_MAX + 1];     /* its mac; fixed: no growth */
} lane_state_t;

typedef struct {
    consent_store_t *store;
    const consent_keyring_t *ring;
    apr_array_header_t *problems;
    apr_hash_t *lanes;                  /* lane id -> lane_state_t* */
    apr_hash_t *notices;                /* sha256 -> "" */
    apr_hash_t *missing;                /* key id -> missing_key_t* */
    apr_pool_t *pool;
    consent_audit_t *audit;             /* counts, types, checkpoints */
    apr_int64_t notices_read, proofs_read;
} verify_t;

/* A key the ring lacks: what it leaves unchecked (counted, not listed,
 * so that a store of millions does not make millions of lines). */
typedef struct {
    const char *key_id;
    apr_int64_t records;
    apr_int64_t lanes;
} missing_key_t;

static void key_missing(verify_t *v, const char *key_id, int is_lane)
{
    missing_key_t *m;

    key_id = key_id ? key_id : "(none)";
    m = apr_hash_get(v->missing, key_id, APR_HASH_KEY_STRING);
    if (m == NULL) {
        m = apr_pcalloc(v->pool, sizeof *m);
        m->key_id = apr_pstrdup(v->pool, key_id);
        apr_hash_set(v->missing, m->key_id, APR_HASH_KEY_STRING, m);
    }
    if (is_lane) {
        ++m->lanes;
    }
    else {
        ++m->records;
    }
}

static void report_missing_keys(verify_t *v, apr_pool_t *p)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, v->missing); hi; hi = apr_hash_next(hi)) {
        const missing_key_t *m = apr_hash_this_val(hi);

        consent_problem_add(v->problems, "store", 0, "key",
                            "key %s is not in the keyring: %"
                            APR_INT64_T_FMT " record%s and %" APR_INT64_T_FMT
                            " lane seal%s could not be checked (give its "
                            "secret file with -k)", m->key_id, m->records,
                            m->records == 1 ? "" : "s", m->lanes,
                            m->lanes == 1 ? "" : "s");
    }
}

#define TAMPER(v, ...) \
    consent_problem_add((v)->problems, "store", 0, "tamper", __VA_ARGS__)
#define UNREADABLE(v, ...) \
    consent_problem_add((v)->problems, "store", 0, "store", __VA_ARGS__)

static void check_lane_macs(verify_t *v, lane_state_t *ls, apr_pool_t *p)
{
    const lane_t *ln = &ls->row;
    const lane_state_t *prev = NULL;
    const consent_key_t *key;
    const char *mac;

    key = consent_proof_key(v->ring, ln->head_key_id);
    mac = key ? store_lane_row_mac(ln, key, p) : NULL;
    if (key == NULL) {
        key_missing(v, ln->head_key_id, 1);
    }
    else if (!hex_equal(mac, ln->row_mac)) {
        TAMPER(v, "lane %s: lane row altered (row_mac does not match)",
               ln->lane);
    }
    if (strcmp(ln->prev_lane, GENESIS) != 0) {
        prev = apr_hash_get(v->lanes, ln->prev_lane, APR_HASH_KEY_STRING);
        if (prev == NULL) {
            TAMPER(v, "lane %s: its predecessor lane %s is missing "
                   "(a lane was deleted)", ln->lane, ln->prev_lane);
            return;
        }
    }
    key = consent_proof_key(v->ring, ln->creation_key_id);
    mac = key ? store_lane_creation_mac(ln, prev ? prev->row.creation_mac : "",
                                        key, p) : NULL;
    if (key == NULL) {
        key_missing(v, ln->creation_key_id, 1);
    }
    else if (!hex_equal(mac, ln->creation_mac)) {
        TAMPER(v, "lane %s: creation_mac does not match (lane forged or "
               "re-chained)", ln->lane);
    }
}

/* Exactly one first lane, and every lane reachable from it. */
static void check_lane_chain(verify_t *v, apr_pool_t *p)
{
    apr_hash_t *next = apr_hash_make(p);
    apr_hash_index_t *hi;
    const char *first = NULL, *at;
    int firsts = 0, reached = 0;

    for (hi = apr_hash_first(p, v->lanes); hi; hi = apr_hash_next(hi)) {
        lane_state_t *ls = apr_hash_this_val(hi);

        if (strcmp(ls->row.prev_lane, GENESIS) == 0) {
            first = ls->row.lane;
            ++firsts;
        }
        else {
            apr_hash_set(next, ls->row.prev_lane, APR_HASH_KEY_STRING,
                         ls->row.lane);
        }
    }
    if (apr_hash_count(v->lanes) > 0 && firsts != 1) {
        TAMPER(v, "%d lanes have no predecessor, exactly one should (the "
               "first lane was deleted or a lane forged)", firsts);
        return;
    }
    for (at = first; at; at = apr_hash_get(next, at, APR_HASH_KEY_STRING)) {
        if (++reached > (int)apr_hash_count(v->lanes)) {
            break;
        }
    }
    if (firsts == 1 && reached != (int)apr_hash_count(v->lanes)) {
        TAMPER(v, "the lane chain from the first lane reaches %d of %u "
               "lanes", reached, apr_hash_count(v->lanes));
    }
}

static int load_lanes(verify_t *v, apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_hash_index_t *hi;
    int rv, i;

    rv = store_select_rows(v->store, S_LANE_ALL, &rows, v->pool, 0, NULL);
    if (rv != 0) {
        UNREADABLE(v, "cannot read lanes: %s",
                   store_db_error(v->store->driver, v->store->handle, rv,
                                  S_LANE_ALL, p));
        return rv;
    }
    for (i = 0; i < rows->nelts; ++i) {
        lane_state_t *ls = apr_pcalloc(v->pool, sizeof *ls);

        store_lane_from_cols(&ls->row, APR_ARRAY_IDX(rows, i, const char **));
        apr_hash_set(v->lanes, ls->row.lane, APR_HASH_KEY_STRING, ls);
        consent_audit_lane_row(v->audit,
                               APR_ARRAY_IDX(rows, i, const char **));
    }
    for (hi = apr_hash_first(p, v->lanes); hi; hi = apr_hash_next(hi)) {
        check_lane_macs(v, apr_hash_this_val(hi), p);
    }
    check_lane_chain(v, p);
    return 0;
}

static int load_notices(verify_t *v, apr_pool_t *page)
{
    const char *after = "";
    apr_array_header_t *rows;
    int rv, i;

    do {
        apr_pool_clear(page);
        rv = store_select_rows(v->store, S_NOTICE_PAGE, &rows, page, 1,
                               &after);
        if (rv != 0) {
            UNREADABLE(v, "cannot read notices: %s",
                       store_db_error(v->store->driver, v->store->handle, rv,
                                      S_NOTICE_PAGE, page));
            return rv;
        }
        for (i = 0; i < rows->nelts; ++i) {
            const char **c = APR_ARRAY_IDX(rows, i, const char **);
            const char *digest = store_sha256_hex(c[1] ? c[1] : "", page);

            if (digest == NULL || strcmp(digest, c[0]) != 0) {
                TAMPER(v, "notice %s: its text does not match its digest",
                       c[0]);
            }
            after = apr_pstrdup(v->pool, c[0]);
            apr_hash_set(v->notices, after, APR_HASH_KEY_STRING, "");
            ++v->notices_read;
        }
    } while (rows->nelts == 100);
    return 0;
}

/* One record against its MAC, its lane and the record before it. */
static void check_proof(verify_t *v, const consent_proof_t *pf,
                        apr_pool_t *p)
{
    lane_state_t *ls = apr_hash_get(v->lanes, pf->lane, APR_HASH_KEY_STRING);
    const char *expect;

    if (consent_proof_key(v->ring, pf->mac_key_id) == NULL) {
        key_missing(v, pf->mac_key_id, 0);
    }
    else if (!consent_proof_check(pf, v->ring, p)) {
        TAMPER(v, "receipt %s (lane %s #%" APR_INT64_T_FMT "): MAC does "
               "not match: the record was altered or forged",
               pf->receipt_id, pf->lane, pf->lane_seq);
    }
    if (pf->notice_sha256
        && !apr_hash_get(v->notices, pf->notice_sha256,
                         APR_HASH_KEY_STRING)) {
        TAMPER(v, "receipt %s: its notice %s is missing", pf->receipt_id,
               pf->notice_sha256);
    }
    if (ls == NULL) {
        TAMPER(v, "receipt %s: its lane %s does not exist",
               pf->receipt_id, pf->lane);
        return;
    }
    expect = ls->seen_seq ? ls->last_mac : ls->row.creation_mac;
    if (pf->lane_seq != ls->seen_seq + 1) {
        TAMPER(v, "lane %s: record(s) #%" APR_INT64_T_FMT "..#%"
               APR_INT64_T_FMT " missing before receipt %s", pf->lane,
               ls->seen_seq + 1, pf->lane_seq - 1, pf->receipt_id);
    }
    else if (!hex_equal(expect, pf->prev_mac)) {
        TAMPER(v, "receipt %s (lane %s #%" APR_INT64_T_FMT "): does not "
               "follow the lane's previous record", pf->receipt_id,
               pf->lane, pf->lane_seq);
    }
    ls->seen_seq = pf->lane_seq;
    apr_cpystrn(ls->last_mac, pf->mac ? pf->mac : "", sizeof ls->last_mac);
}

/* Two page pools take turns, so that the cursor (lane, seq) can point
 * into the page before: no copy that grows with the pages. */
static int check_proofs(verify_t *v, apr_pool_t *page)
{
    const char *lane = "", *seq = "-1", *args[3];
    apr_array_header_t *rows;
    apr_pool_t *pages[2];
    int rv, i, turn = 0;

    pages[0] = page;
    apr_pool_create(&pages[1], v->pool);
    do {
        page = pages[turn];
        turn = !turn;
        apr_pool_clear(page);
        args[0] = lane;
        args[1] = lane;
        args[2] = seq;
        rv = store_select_rows(v->store, S_PROOF_BY_LANE, &rows, page, 3,
                               args);
        if (rv != 0) {
            UNREADABLE(v, "cannot read proofs: %s",
                       store_db_error(v->store->driver, v->store->handle, rv,
                                      S_PROOF_BY_LANE, page));
            apr_pool_destroy(pages[1]);
            return rv;
        }
        for (i = 0; i < rows->nelts; ++i) {
            const char **c = APR_ARRAY_IDX(rows, i, const char **);
            const consent_proof_t *pf = store_proof_from_cols(c, page);

            check_proof(v, pf, page);
            consent_audit_proof_row(v->audit, c, pf);
            ++v->proofs_read;
        }
        if (rows->nelts > 0) {
            const char **last = APR_ARRAY_IDX(rows, rows->nelts - 1,
                                              const char **);
            lane = last[17] ? last[17] : "";
            seq = last[18] ? last[18] : "-1";
        }
    } while (rows->nelts == atoi(PAGE));
    apr_pool_destroy(pages[1]);
    return 0;
}

/* The head of each lane against the last record found in it. */
static void check_heads(verify_t *v, apr_pool_t *p)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, v->lanes); hi; hi = apr_hash_next(hi)) {
        lane_state_t *ls = apr_hash_this_val(hi);
        const char *last = ls->seen_seq ? ls->last_mac
                                        : ls->row.creation_mac;

        if (ls->seen_seq != ls->row.head_seq) {
            TAMPER(v, "lane %s: its head is record #%" APR_INT64_T_FMT
                   " but the last record found is #%" APR_INT64_T_FMT
                   " (%s)", ls->row.lane, ls->row.head_seq, ls->seen_seq,
                   ls->seen_seq < ls->row.head_seq
                   ? "records deleted at the end"
                   : "records added after the head");
        }
        else if (!hex_equal(last, ls->row.head_mac)) {
            TAMPER(v, "lane %s: head MAC differs from its last record's",
                   ls->row.lane);
        }
    }
}

int consent_store_verify(consent_store_t *store,
                         const consent_keyring_t *ring,
                         apr_array_header_t *problems, apr_pool_t *p)
{
    return consent_store_verify_checkpoints(store, ring, NULL, problems, p);
}

int consent_store_verify_checkpoints(consent_store_t *store,
                                     const consent_keyring_t *ring,
                                     const apr_array_header_t *checkpoints,
                                     apr_array_header_t *problems,
                                     apr_pool_t *p)
{
    int before = problems->nelts;
    apr_pool_t *page;
    verify_t v;

    memset(&v, 0, sizeof v);
    v.store = store;
    v.ring = ring;
    v.problems = problems;
    v.pool = p;
    v.lanes = apr_hash_make(p);
    v.notices = apr_hash_make(p);
    v.missing = apr_hash_make(p);
    v.audit = consent_audit_make(store, checkpoints, problems, p);
    apr_pool_create(&page, p);
    if (consent_audit_begin(v.audit, page) == 0 && load_lanes(&v, p) == 0
        && load_notices(&v, page) == 0 && check_proofs(&v, page) == 0) {
        check_heads(&v, p);
        consent_audit_end(v.audit, v.proofs_read,
                          apr_hash_count(v.lanes), v.notices_read, page);
    }
    report_missing_keys(&v, p);
    apr_pool_destroy(page);
    return problems->nelts - before;
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
