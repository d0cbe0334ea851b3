/*
 * What the store's files share; not libconsent's API (consent_store.h is).
 * The store is cut by idea:
 *   consent_store.c         a connection's store: open, migrate, and the
 *                           statement and row helpers below
 *   consent_store_sql.c     each dialect's schema and statement text
 *   consent_store_tx.c      transactions
 *   consent_store_lane.c    the lane chain (tamper evidence)
 *   consent_store_write.c   recording: one proof, or a group commit
 *   consent_store_read.c    reading: proofs by pages, counts, notices
 *   consent_store_verify.c  verify: the whole chain checked again
 *   consent_store_sqlite.c  sqlite3's defaults for every connection
 */
#ifndef CONSENT_STORE_INT_H
#define CONSENT_STORE_INT_H

#include <apr_strings.h>

#include "consent_store.h"

#define PAGE "500"
#define GENESIS "genesis"

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

/* consent_store_sql.c */
/* The tables and indexes, NULL-ended, for a supported driver. */
const char *const *store_schema(const char *driver);
const char *store_schema_add_site(const char *driver);
int store_is_sqlite(const char *driver);
int store_is_pgsql(const char *driver);
int store_is_mysql(const char *driver);
/* The most proofs one multi-row insert carries (22 parameters each). */
#define STORE_ROWS_MAX 32
const char *store_proof_insert_rows(const char *driver, int k, apr_pool_t *p);

/* consent_store.c */
const char *store_i64(apr_pool_t *p, apr_int64_t v);
apr_int64_t store_num(const char *s);
const char *store_db_error(const apr_dbd_driver_t *driver,
                           apr_dbd_t *handle, int rv, const char *what,
                           apr_pool_t *p);
int store_select_rows(const consent_store_t *s, const char *label,
                      apr_array_header_t **rows, apr_pool_t *p,
                      int nargs, const char **args);
int store_select_one(const consent_store_t *s, const char *label,
                     const char ***cols, apr_pool_t *p,
                     int nargs, const char **args);
int store_exec(const consent_store_t *s, const char *label, int *nrows,
               apr_pool_t *p, int nargs, const char **args);
const char *store_sha256_hex(const char *text, apr_pool_t *p);

/* consent_store_tx.c */
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

int store_tx_begin(tx_t *tx, const apr_dbd_driver_t *driver,
                   apr_dbd_t *handle, apr_pool_t *p);
int store_tx_end(tx_t *tx, int ok, apr_pool_t *p);

/* consent_store_lane.c */
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

void store_lane_from_cols(lane_t *ln, const char **c);
const char *store_lane_creation_mac(const lane_t *ln,
                                    const char *prev_mac,
                                    const consent_key_t *key,
                                    apr_pool_t *p);
const char *store_lane_row_mac(const lane_t *ln,
                               const consent_key_t *key,
                               apr_pool_t *p);
const char *store_lane_advance(consent_store_t *s, lane_t *ln,
                               const consent_proof_t *pf,
                               const consent_key_t *key, apr_pool_t *p);
const char *store_lane_read(consent_store_t *s, lane_t *ln,
                            const char *lane,
                            const consent_lane_cache_t *cache,
                            const consent_key_t *key, apr_pool_t *p,
                            int *lane_race);
void store_lane_remember(consent_lane_cache_t *c, const lane_t *ln,
                         const consent_proof_t *pf);

/* consent_store_read.c */

/* Columns of a proof row (PROOF_COLS) that cursors and filters read. */
enum {
    COL_SEQ = 0, COL_TIME = 3, COL_SUBJECT = 6, COL_LANE = 17,
    COL_LANE_SEQ = 18, COL_SITE = 22, COL_ERASURE = 23
};

consent_proof_t *store_proof_from_cols(const char **c, apr_pool_t *p);

/* One row of a page (its columns, NULL for SQL NULL), in the page's
 * pool; anything but APR_SUCCESS stops the reading. */
typedef apr_status_t store_row_fn(void *baton, const char **cols,
                                  apr_pool_t *page);
apr_status_t store_each_row(consent_store_t *store, const char *label,
                            const char *arg, const char *a, const char *b,
                            int ca, int cb, store_row_fn *fn, void *baton,
                            apr_pool_t *p, const char **err);

#endif
