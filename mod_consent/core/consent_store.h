/*
 * The proof store, through APR DBD (sqlite3 by default, pgsql, mysql).
 * Statements are prepared under labels so that the Apache adapter can hand
 * them to mod_dbd (ap_dbd_prepare) and consentctl can prepare them itself.
 *
 * Tamper evidence without a global lock: every record is MACed and chained
 * to the previous record of its *lane*. A lane is one writer (an httpd
 * child's writer thread for a store, or one consentctl run), so lanes never
 * contend; each lane row holds its head (count and last MAC, itself MACed),
 * and lanes are chained to each other when created (rare), so that a
 * modified, inserted or deleted record, or a deleted lane, is found by
 * consent_store_verify().
 */
#ifndef CONSENT_STORE_H
#define CONSENT_STORE_H

#include <apr_dbd.h>

#include "consent_proof.h"

#define CONSENT_SCHEMA_VERSION 3

typedef struct {
    const char *label;          /* e.g. "consent_insert_proof" */
    const char *sql;            /* apr_dbd placeholders (%s) */
} consent_stmt_def_t;

/* The statements of a dialect ("sqlite3", "pgsql", "mysql"), NULL-ended;
 * NULL for a driver we do not support. */
const consent_stmt_def_t *consent_store_statements(const char *driver);

/* A store on one open connection. */
typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared;       /* label -> apr_dbd_prepared_t* */
    /* not NULL: consent_store_each* hand only the proofs of this site,
     * and those recorded before tenancy (site '') unless only_site_exact
     * (a person's state at a site, consentctl --site); verify always
     * covers the whole store */
    const char *only_site;
    int only_site_exact;
} consent_store_t;

/*
 * Creates or migrates the schema (consent_schema_version table) on an
 * open connection, idempotent and safe to race with another process.
 * For sqlite3 also sets WAL mode on the file. *err explains a failure.
 */
apr_status_t consent_store_migrate(const apr_dbd_driver_t *driver,
                                   apr_dbd_t *handle, apr_pool_t *p,
                                   const char **err);

/* Per-connection settings (sqlite3: busy_timeout, foreign keys...). The
 * adapter puts them in DBDInitSQL-equivalent place; consentctl runs them. */
const char *const *consent_store_connection_sql(const char *driver);

/* Runs consent_store_connection_sql() on a connection. Through
 * apr_dbd_select: a PRAGMA that answers a row (busy_timeout does) makes
 * apr_dbd_query return SQLITE_ROW (100) although it took effect. */
apr_status_t consent_store_connection_init(const apr_dbd_driver_t *driver,
                                           apr_dbd_t *handle, apr_pool_t *p,
                                           const char **err);

/* How long an sqlite3 statement waits for a lock before it fails. */
#define CONSENT_SQLITE_BUSY_MS 10000

/*
 * sqlite3 (consent_store_sqlite.c): from now until p goes, every sqlite3
 * connection this process opens waits CONSENT_SQLITE_BUSY_MS for locks
 * from its very first statement, and does not checkpoint when it closes.
 * Needs apr-util's sqlite3 driver loaded (apr_dbd_get_driver) first;
 * APR_ENOTIMPL when it is not, or sqlite is older than 3.16.
 */
apr_status_t consent_store_sqlite_defaults(apr_pool_t *p);

/* Prepares every statement (consentctl; mod_dbd does it for httpd). */
apr_status_t consent_store_open(consent_store_t **store,
                                const apr_dbd_driver_t *driver,
                                apr_dbd_t *handle, apr_pool_t *p,
                                const char **err);

typedef enum {
    CONSENT_STORE_OK = 0,
    CONSENT_STORE_DUPLICATE,    /* the token's nonce was already used */
    CONSENT_STORE_ERROR         /* nothing was written */
} consent_store_status_t;

/*
 * Writes one proof durably in one transaction: the notice text if its
 * digest is new, the record (chained in lane, sealed with key) and the
 * lane head. lane is the writer's lane id (consent_store_lane_id).
 */
consent_store_status_t consent_store_record(consent_store_t *store,
                                            consent_proof_t *proof,
                                            const char *lane,
                                            const consent_key_t *key,
                                            apr_pool_t *p, const char **err);

/*
 * What one writer remembers between its records, to save statements:
 * its lane's head (a lane has one writer, and the head update is guarded
 * on the head chained to, count and MAC, so a stale memory only costs a
 * retry) and the last
 * notice digest it knows stored. Zero it before first use, and whenever
 * the writer turns to another store; never share it between threads.
 */
typedef struct {
    int valid;
    char lane[64];
    apr_int64_t created_us;
    char prev_lane[64];
    char creation_key_id[2 * CONSENT_KEY_ID_LEN + 1];
    char creation_mac[2 * CONSENT_SHA256_LEN + 1];
    apr_int64_t head_seq;
    char head_mac[2 * CONSENT_SHA256_LEN + 1];
    char head_key_id[2 * CONSENT_KEY_ID_LEN + 1];
    char notice[2 * CONSENT_SHA256_LEN + 1];
} consent_lane_cache_t;

/* consent_store_record with a writer's memory: 4 statements instead of
 * 7 once warm (no lane read, no notice insert, the unique nonce checked
 * by the insert itself). cache may be NULL. */
consent_store_status_t consent_store_record_cached(consent_store_t *store,
                                                   consent_proof_t *proof,
                                                   const char *lane,
                                                   consent_lane_cache_t *cache,
                                                   const consent_key_t *key,
                                                   apr_pool_t *p,
                                                   const char **err);

/* One proof of a group commit, and what became of it. */
typedef struct {
    consent_proof_t *proof;
    const consent_key_t *key;       /* seals it (vhosts may differ) */
    consent_store_status_t status;  /* out */
    const char *err;                /* out, in the batch's pool */
} consent_store_item_t;

/*
 * Group commit: writes items[0..n) in ONE transaction and one durable
 * commit, chained one after the other in lane (the writer's, cache its
 * memory). Each proof is undone alone when it fails (a savepoint each): a
 * replayed nonce makes only its own item DUPLICATE. APR_SUCCESS when the
 * commit is durable; otherwise every item is ERROR (nothing written) and
 * *err says why. Statuses are final either way.
 */
apr_status_t consent_store_record_batch(consent_store_t *store,
                                        consent_store_item_t *items, int n,
                                        const char *lane,
                                        consent_lane_cache_t *cache,
                                        apr_pool_t *p, const char **err);

/* A fresh lane id for a writer (random; callers keep it per writer). */
const char *consent_store_lane_id(apr_pool_t *p);

/*
 * Calls fn for each proof (time order), filters optional (NULL). The
 * proof, and whatever fn allocates from scratch, live until the next page
 * of rows: memory stays bounded however many proofs the store holds, so
 * fn must copy what it keeps into a pool of its own.
 */
typedef apr_status_t consent_proof_fn(void *baton,
                                      const consent_proof_t *proof,
                                      apr_pool_t *scratch);
apr_status_t consent_store_each(consent_store_t *store, apr_time_t since,
                                const char *subject, consent_proof_fn *fn,
                                void *baton, apr_pool_t *p, const char **err);

/* As consent_store_each, every proof with a subject, ordered by subject
 * (then as written): one person's proofs come together, so a caller can
 * fold them and forget the person before the next (suppression list). */
apr_status_t consent_store_each_by_subject(consent_store_t *store,
                                           consent_proof_fn *fn,
                                           void *baton, apr_pool_t *p,
                                           const char **err);

/*
 * Every problem of the tamper evidence, one line each; 0 when intact.
 * A record or lane sealed with a key the ring lacks cannot be checked,
 * which is not tampering: one problem of rule "key" per missing key id
 * says how many records and lanes it leaves unchecked (the links between
 * records are still checked). Every other problem has rule "tamper" or
 * "store".
 */
int consent_store_verify(consent_store_t *store,
                         const consent_keyring_t *ring,
                         apr_array_header_t *problems, apr_pool_t *p);

/* The same, and against checkpoints (consent_checkpoint_t*, see
 * consent_audit.h; NULL for none). */
int consent_store_verify_checkpoints(consent_store_t *store,
                                     const consent_keyring_t *ring,
                                     const apr_array_header_t *checkpoints,
                                     apr_array_header_t *problems,
                                     apr_pool_t *p);

/* Fixed SQL (apr_dbd %s placeholders, text arguments only) prepared for
 * this one call: rows of const char*[] (NULL for SQL NULL) in p. For the
 * audit's occasional reads (consent_audit.c); non-zero and *err on
 * failure. */
int consent_store_query(consent_store_t *store, const char *sql,
                        apr_array_header_t **rows, apr_pool_t *p, int nargs,
                        const char **args, const char **err);

/* How many proofs and lanes the store holds (verify's summary). */
apr_status_t consent_store_count(consent_store_t *store,
                                 apr_int64_t *proofs, apr_int64_t *lanes,
                                 apr_pool_t *p, const char **err);

/* Notice text by digest (export --with-notices, receipts). */
const char *consent_store_notice(consent_store_t *store, const char *sha256,
                                 apr_pool_t *p);

#endif
