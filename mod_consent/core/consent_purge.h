/*
 * Erasure (LEGAL.md R11, GDPR art. 17): a proof's personal fields (ip,
 * user_agent, subject) are erased, and what the controller must still be
 * able to show stays: that a decision of that kind was made, when, on
 * which form, version and notice, with which purpose states.
 *
 * Tombstones stay inside the tamper evidence. Before a batch is erased a
 * "purge" event is recorded, sealed and chained like any proof, naming
 * the receipts it erases (its choices are "<receipt id>=erased"). Then, in
 * one transaction, each record of the batch, whose MAC is checked first
 * (a purge must not launder a tampered record), becomes a tombstone: its
 * personal fields NULL, its mac column unchanged (the chain runs through
 * it), and its erasure column "<purge receipt id> <tombstone MAC>", a MAC
 * over the record as it now is and its first MAC (consent_proof_tomb_mac).
 * verify accepts a tombstone only when that MAC matches and the purge
 * event it names exists and names it; a row blanked without the key, a
 * changed field of a tombstone, a forged purge event all fail.
 *
 * A crash between the event and its batch leaves an event naming records
 * still intact: verifiable, and the next run erases them under a new
 * event. Records already tombstones are counted and left: running a purge
 * twice changes nothing the second time.
 *
 * Objections stay (R11: kept, preferably as a hash of the address): a
 * record of an unsubscribe, or with a purpose withdrawn or objected,
 * keeps as subject "sha256:" and the hex SHA-256 of the address as
 * stored, which suppression-list --hashed prints as it prints the others.
 */
#ifndef CONSENT_PURGE_H
#define CONSENT_PURGE_H

#include "consent_store.h"

/* How a tombstone's subject spells the hash of an objector's address. */
#define CONSENT_PURGE_HASH_PREFIX "sha256:"

/* Records per purge event and per erasing transaction. */
#define CONSENT_PURGE_BATCH 200

typedef struct consent_purge_t consent_purge_t;

typedef struct {
    apr_int64_t erased;         /* tombstones written (or, dry, to be) */
    apr_int64_t hashed;         /* of which keep the objector's hash */
    apr_int64_t already;        /* tombstones already: left as they are */
    apr_int64_t refused;        /* MAC wrong or key missing: left intact */
    apr_int64_t lost;           /* changed by another writer meanwhile */
    apr_int64_t events;         /* purge events recorded */
} consent_purge_counts_t;

/* What a purge did, one thing at a time, for the caller to print:
 * what is "erased", "would erase", "refused" (why in detail), "purge"
 * (the event, pf), "already". pf lives until the call returns. */
typedef void consent_purge_note_fn(void *baton, const char *what,
                                   const consent_proof_t *pf,
                                   const char *detail);

/*
 * A purge on store: ring checks the records (their keys), signer seals
 * the purge events, recorded at site (NULL or "") with reason as their
 * user_agent (what made the record: never the erased subject). dry_run:
 * nothing is written, the notes say what would be.
 */
consent_purge_t *consent_purge_make(consent_store_t *store,
                                    const consent_keyring_t *ring,
                                    const consent_key_t *signer,
                                    const char *site, const char *reason,
                                    int dry_run, consent_purge_note_fn *note,
                                    void *baton, apr_pool_t *p);

/* Takes one record (copied) to erase; erases a batch when one is full.
 * A purge event is never erased (it holds nobody's data). */
apr_status_t consent_purge_add(consent_purge_t *pg, const consent_proof_t *pf,
                               const char **err);

/* Erases what is left; then the counts are final. */
apr_status_t consent_purge_finish(consent_purge_t *pg, const char **err);

const consent_purge_counts_t *consent_purge_counts(const consent_purge_t *pg);

/* 1 when the record stands for an objection the suppression list keeps. */
int consent_purge_is_objection(const consent_proof_t *pf);

/* "sha256:HEX" of the subject as stored (consent_subject_normalise). */
const char *consent_purge_subject_hash(apr_pool_t *p, const char *subject);

#endif
