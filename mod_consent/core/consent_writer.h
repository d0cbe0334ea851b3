/*
 * Group commit: one writer thread per store and per process. Request
 * threads hand it their proof and wait; it writes whatever has arrived
 * meanwhile in one transaction with one durable commit, then wakes each
 * request with its own outcome.
 *
 * Why a thread of its own (apr-util 1.6.3, dbd/apr_dbd_sqlite3.c): the
 * sqlite3 driver runs every statement of the process under ONE mutex
 * (apr_dbd_mutex_lock, a static in apr_dbd.c, shared by all connections),
 * and sqlite's busy handler sleeps inside sqlite3_step while holding it;
 * without a busy timeout the driver itself retries SQLITE_BUSY 15 times,
 * sleeping 100 ms each with the mutex released. So two threads of one
 * process in write transactions stall each other for the busy timeout,
 * and a busy file costs 100 ms steps. Here a single thread per process
 * ever holds a write transaction, so the busy handler only ever waits
 * for another process, and no multi-statement transaction interleaves
 * with another thread's. pgsql and others gain the same way: N proofs
 * pay one commit (one fsync) instead of N.
 *
 * The writer owns its lane (one lane per writer, so per process and store
 * generation: bounded, unlike one per thread) and chains the proofs of a
 * batch one after another in it, exactly as one writer did before.
 */
#ifndef CONSENT_WRITER_H
#define CONSENT_WRITER_H

#include "consent_store.h"

typedef struct consent_writer_t consent_writer_t;

/*
 * Starts a writer for the store (driver, params): its own connection,
 * opened (schema migrated, statements prepared) on first use and again
 * after a failure. name is how logs call the store. The writer drains its
 * queue and stops when p is cleaned up (a pre-cleanup: before p's
 * subpools go).
 */
apr_status_t consent_writer_start(consent_writer_t **w, const char *driver,
                                  const char *params, const char *name,
                                  apr_pool_t *p);

/*
 * Stores proof durably through w, sealed with key; blocks until the
 * commit that holds it is durable (or failed). The proof's lane, lane_seq,
 * prev_mac, mac_key_id and mac are then set, in p. *err explains a
 * failure (in p).
 */
consent_store_status_t consent_writer_record(consent_writer_t *w,
                                             consent_proof_t *proof,
                                             const consent_key_t *key,
                                             apr_pool_t *p,
                                             const char **err);

/*
 * One group-commit writer per store and per process (consent_writer.h):
 * servers that share a store share its writer. *w is the writer started
 * (in started, keyed by driver and params) for the same store, else a
 * new one, named by the store's label and kept in started once it runs.
 */
apr_status_t consent_writer_shared(struct consent_writer_t **w,
                                   apr_hash_t *started, const char *driver,
                                   const char *params, apr_pool_t *p);

#endif
