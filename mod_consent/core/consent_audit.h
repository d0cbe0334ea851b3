/*
 * What consent_store_verify() checks beyond each record's MAC and chain:
 *
 * - every row of every table is accounted for: COUNT(*) against what the
 *   pages read, and the rows no page can reach named (a proof with lane ''
 *   and lane_seq -1 was never read, so never checked);
 * - every column, with its type: an integer column whose text is not a
 *   canonical integer ('1796095070949596x', which apr_atoi64 reads as the
 *   number the MAC covers) is tampering; seq, the database's row number
 *   (assigned after the MAC is made, so outside it), must grow along each
 *   lane; a notice's metadata (form_id, form_version, lang, first_seen)
 *   must be that of a proof citing it (they are written together);
 * - checkpoints (consentctl checkpoint): a signed summary kept off the
 *   machine; every lane head it names must still be there, unchanged,
 *   and no table may have shrunk since. This is what the key holder
 *   cannot forge after the fact: rewriting history re-MACs the chain, so
 *   the head a checkpoint recorded changes.
 */
#ifndef CONSENT_AUDIT_H
#define CONSENT_AUDIT_H

#include "consent_store.h"

typedef struct consent_audit_t consent_audit_t;

/* A checkpoint read back (consent_checkpoint_parse). */
typedef struct {
    const char *source;         /* file name, for messages */
    apr_time_t time;
    const char *key_id;         /* hex id of the key that signed it */
    apr_int64_t proofs, lanes, notices;     /* table counts */
    apr_hash_t *lanes_at;       /* lane id -> checkpoint lane (private) */
} consent_checkpoint_t;

/*
 * A checkpoint of store, signed with key: text lines, the last one
 * "mac HEX" over every byte before it. *text is NULL and *err set when the
 * store cannot be read (or holds a lane id mod_consent never makes).
 */
apr_status_t consent_checkpoint_make(consent_store_t *store,
                                     const consent_key_t *key,
                                     const char **text, apr_pool_t *p,
                                     const char **err);

/* Reads and authenticates a checkpoint; *err says why it cannot be. */
apr_status_t consent_checkpoint_parse(consent_checkpoint_t **cp,
                                      const char *source, const char *text,
                                      const consent_keyring_t *ring,
                                      apr_pool_t *p, const char **err);

/* ---- hooks of consent_store_verify() (consent_store.c) --------------- */

/* checkpoints: consent_checkpoint_t*, may be NULL. */
consent_audit_t *consent_audit_make(consent_store_t *store,
                                    const apr_array_header_t *checkpoints,
                                    apr_array_header_t *problems,
                                    apr_pool_t *p);

/* Reads the notices' metadata; non-zero when the store cannot be read. */
int consent_audit_begin(consent_audit_t *a, apr_pool_t *scratch);

/* One consent_lane row as read (LANE_COLS order, NULL for SQL NULL). */
void consent_audit_lane_row(consent_audit_t *a, const char **cols);

/* One consent_proof row as read (PROOF_COLS order) and its proof. */
void consent_audit_proof_row(consent_audit_t *a, const char **cols,
                             const consent_proof_t *pf);

/* After every page: counts against the tables, what no page reached,
 * notices and checkpoint heads not met. */
void consent_audit_end(consent_audit_t *a, apr_int64_t proofs_read,
                       apr_int64_t lanes_read, apr_int64_t notices_read,
                       apr_pool_t *scratch);

/* 1 when s is an integer as the store writes it ("0", "-12", "123"). */
int consent_audit_canonical_int(const char *s);

#endif
