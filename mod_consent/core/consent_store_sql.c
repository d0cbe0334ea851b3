/*
 * The store's SQL, per dialect (sqlite3, pgsql, mysql): the schema, the
 * prepared statements under their labels, and each connection's settings.
 */
#include "consent_store_int.h"

/* ---- schema and statements, per dialect ----------------------------- */

#define PROOF_COLS \
    "seq, receipt_id, event, time_us, ip, user_agent, subject, form_id, " \
    "form_version, lang, regime, notice_sha256, choices, token_nonce, " \
    "token_issued, token_key_id, token_defaults, lane, lane_seq, " \
    "prev_mac, mac_key_id, mac, site, erasure"
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
    " site TEXT NOT NULL DEFAULT '', erasure TEXT," \
    " UNIQUE (lane, lane_seq))", \
    "CREATE INDEX IF NOT EXISTS consent_proof_subject" \
    " ON consent_proof (subject)", \
    "CREATE INDEX IF NOT EXISTS consent_proof_time" \
    " ON consent_proof (time_us, seq)"

static const char *const sqlite_schema[] = {
    SCHEMA("INTEGER PRIMARY KEY AUTOINCREMENT"), NULL
};
static const char *const pgsql_schema[] = {
    SCHEMA("BIGSERIAL PRIMARY KEY"), NULL
};

/* MySQL/MariaDB: keys need bounded types (hex ids, UUIDs, e-mail
 * prefixes), byte order for keyset paging (utf8mb4_bin), and foreign keys
 * at table level (InnoDB ignores them on a column). */
#define MYSQL_TABLE \
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
static const char *const mysql_schema[] = {
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
    " site VARCHAR(253) NOT NULL DEFAULT '', erasure TEXT,"
    " UNIQUE (lane, lane_seq),"
    " FOREIGN KEY (lane) REFERENCES consent_lane (lane))" MYSQL_TABLE,
    "CREATE INDEX IF NOT EXISTS consent_proof_subject"
    " ON consent_proof (subject(255))",
    "CREATE INDEX IF NOT EXISTS consent_proof_time"
    " ON consent_proof (time_us, seq)",
    NULL
};

/* The 22 values of a proof row (proof_args in consent_store_write.c
 * fills them in this order); N as in STATEMENTS. */
#define PROOF_INSERT_HEAD \
    "INSERT INTO consent_proof (receipt_id, event, time_us, ip," \
    " user_agent, subject, form_id, form_version, lang, regime," \
    " notice_sha256, choices, token_nonce, token_issued, token_key_id," \
    " token_defaults, lane, lane_seq, prev_mac, mac_key_id, mac, site)" \
    " VALUES "
#define PROOF_ROW(N) \
    "(%s, %s, " N ", %s, %s, %s, %s, " N ", %s, %s, %s, %s," \
    " %s, " N ", %s, %s, %s, " N ", %s, %s, %s, %s)"
#define PROOF_INSERT(N) PROOF_INSERT_HEAD PROOF_ROW(N)

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
    { S_PROOF_INSERT, PROOF_INSERT(N) }, \
    { S_PROOF_INSERT_NEW, PROOF_INSERT(N) NONCE_USED }, \
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

/* How each dialect takes an integer, and skips a proof whose token nonce
 * was used already (the group commit's insert, single or multi-row). */
#define SQLITE_N "%s"
#define SQLITE_NONCE_USED " ON CONFLICT (token_nonce) DO NOTHING"
#define PGSQL_N "CAST(%s AS BIGINT)"
#define PGSQL_NONCE_USED " ON CONFLICT (token_nonce) DO NOTHING"
#define MYSQL_N "%s"
#define MYSQL_NONCE_USED " ON DUPLICATE KEY UPDATE token_nonce = token_nonce"

static const consent_stmt_def_t sqlite_statements[] = STATEMENTS(
    SQLITE_N,
    "INSERT OR IGNORE INTO consent_notice " NOTICE_COLS
    " VALUES (%s, %s, %s, %s, %s, %s)",
    "",
    "SELECT 1",      /* BEGIN IMMEDIATE already serialises writers */
    SQLITE_NONCE_USED);

static const consent_stmt_def_t pgsql_statements[] = STATEMENTS(
    PGSQL_N,
    "INSERT INTO consent_notice " NOTICE_COLS
    " VALUES (%s, %s, %s, CAST(%s AS BIGINT), %s, CAST(%s AS BIGINT))"
    " ON CONFLICT (sha256) DO NOTHING",
    " FOR UPDATE",
    /* Lane creation only (once per writer): without it, the threads of
     * freshly started nodes all race for the same predecessor and most
     * exhaust their retries. Released at commit. */
    "SELECT pg_advisory_xact_lock(1668247143)",
    PGSQL_NONCE_USED);

/*
 * MySQL/MariaDB (InnoDB): integers as strings convert by themselves. An
 * "insert unless present" is an update that changes nothing, which
 * reports no row changed (apr-util connects without CLIENT_FOUND_ROWS
 * unless DBDParams asks for it: do not). Lane creation is serialised by
 * a row lock on the schema version, held until commit.
 */
static const consent_stmt_def_t mysql_statements[] = STATEMENTS(
    MYSQL_N,
    "INSERT INTO consent_notice " NOTICE_COLS
    " VALUES (%s, %s, %s, %s, %s, %s)"
    " ON DUPLICATE KEY UPDATE sha256 = sha256",
    " FOR UPDATE",
    "SELECT version FROM consent_schema_version FOR UPDATE",
    MYSQL_NONCE_USED);

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

int store_is_sqlite(const char *driver)
{
    return driver && strcmp(driver, "sqlite3") == 0;
}

int store_is_pgsql(const char *driver)
{
    return driver && strcmp(driver, "pgsql") == 0;
}

int store_is_mysql(const char *driver)
{
    return driver && strcmp(driver, "mysql") == 0;
}

const char *const *store_schema(const char *driver)
{
    return store_is_sqlite(driver) ? sqlite_schema
           : store_is_mysql(driver) ? mysql_schema : pgsql_schema;
}

/* Schema 1 -> 2 (tenancy): proofs gain their site; older ones get ''. */
const char *store_schema_add_site(const char *driver)
{
    return store_is_mysql(driver)
           ? "ALTER TABLE consent_proof ADD COLUMN site"
             " VARCHAR(253) NOT NULL DEFAULT ''"
           : "ALTER TABLE consent_proof ADD COLUMN site"
             " TEXT NOT NULL DEFAULT ''";
}

const consent_stmt_def_t *consent_store_statements(const char *driver)
{
    return store_is_sqlite(driver) ? sqlite_statements
           : store_is_pgsql(driver) ? pgsql_statements
           : store_is_mysql(driver) ? mysql_statements : NULL;
}

/* k proofs in one statement: a group commit's batch pays one round trip
 * and one statement for up to STORE_ROWS_MAX proofs, not one each. */
const char *store_proof_insert_rows(const char *driver, int k, apr_pool_t *p)
{
    const char *row = store_is_pgsql(driver) ? PROOF_ROW(PGSQL_N)
                      : PROOF_ROW(SQLITE_N);      /* mysql's N is sqlite's */
    const char *tail = store_is_mysql(driver) ? MYSQL_NONCE_USED
                       : SQLITE_NONCE_USED;       /* pgsql's is sqlite's */
    struct iovec *v;
    int i;

    if (k < 1 || consent_store_statements(driver) == NULL) {
        return NULL;
    }
    v = apr_palloc(p, sizeof *v * (apr_size_t)(2 * k + 1));
    v[0].iov_base = (void *)PROOF_INSERT_HEAD;
    v[0].iov_len = sizeof PROOF_INSERT_HEAD - 1;
    for (i = 0; i < k; ++i) {
        v[2 * i + 1].iov_base = (void *)(i ? ", " : "");
        v[2 * i + 1].iov_len = i ? 2 : 0;
        v[2 * i + 2].iov_base = (void *)row;
        v[2 * i + 2].iov_len = strlen(row);
    }
    return apr_pstrcat(p, apr_pstrcatv(p, v, (apr_size_t)(2 * k + 1), NULL),
                       tail, NULL);
}

const char *const *consent_store_connection_sql(const char *driver)
{
    return store_is_sqlite(driver) ? sqlite_connection_sql
           : store_is_pgsql(driver) ? pgsql_connection_sql
           : store_is_mysql(driver) ? mysql_connection_sql : NULL;
}
