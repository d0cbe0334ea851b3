/*
 * Erasure by tombstones (consent_purge.h): batches of records, each
 * announced by a sealed purge event, then erased in one transaction.
 * Memory holds one batch (CONSENT_PURGE_BATCH records) whatever the number
 * of records erased.
 */
#include <openssl/evp.h>

#include "consent_purge.h"
#include "consent_hex.h"
#include "consent_utf8.h"

/* Guarded on the MAC and on not being a tombstone yet: a record that
 * changed since it was read (another purge) is left alone, and counted. */
#define ERASE_SQL \
    "UPDATE consent_proof SET ip = NULL, user_agent = NULL, subject = %s," \
    " erasure = %s WHERE receipt_id = %s AND mac = %s AND erasure IS NULL"

typedef struct {
    consent_proof_t *pf;        /* as read, in the batch pool */
    int objection;              /* its tombstone keeps the hash */
    int lost;                   /* the erasure changed no row */
} pending_t;

struct consent_purge_t {
    consent_store_t *store;
    const consent_keyring_t *ring;
    const consent_key_t *signer;
    const char *site, *reason, *lane;
    int dry_run;
    consent_purge_note_fn *note;
    void *baton;
    apr_pool_t *pool;
    apr_pool_t *batch_pool;     /* the pending records, cleared per batch */
    apr_array_header_t *batch;  /* pending_t */
    apr_dbd_prepared_t *erase;  /* ERASE_SQL, prepared at first use */
    consent_purge_counts_t counts;
};

consent_purge_t *consent_purge_make(consent_store_t *store,
                                    const consent_keyring_t *ring,
                                    const consent_key_t *signer,
                                    const char *site, const char *reason,
                                    int dry_run, consent_purge_note_fn *note,
                                    void *baton, apr_pool_t *p)
{
    consent_purge_t *pg = apr_pcalloc(p, sizeof *pg);

    pg->store = store;
    pg->ring = ring;
    pg->signer = signer;
    pg->site = site ? site : "";
    pg->reason = reason;
    pg->dry_run = dry_run;
    pg->note = note;
    pg->baton = baton;
    pg->pool = p;
    pg->lane = consent_store_lane_id(p);    /* this run's: one writer */
    apr_pool_create(&pg->batch_pool, p);
    pg->batch = apr_array_make(pg->batch_pool, CONSENT_PURGE_BATCH,
                               sizeof(pending_t));
    return pg;
}

const consent_purge_counts_t *consent_purge_counts(const consent_purge_t *pg)
{
    return &pg->counts;
}

int consent_purge_is_objection(const consent_proof_t *pf)
{
    int i;

    if (pf->event && strcmp(pf->event, CONSENT_EVENT_UNSUBSCRIBE) == 0) {
        return 1;
    }
    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const char *st = APR_ARRAY_IDX(pf->choices, i,
                                       consent_choice_t).state;

        if (st && (strcmp(st, CONSENT_STATE_WITHDRAWN) == 0
                   || strcmp(st, CONSENT_STATE_OBJECTED) == 0)) {
            return 1;
        }
    }
    return 0;
}

const char *consent_purge_subject_hash(apr_pool_t *p, const char *subject)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const char *low = consent_subject_normalise(p, subject);

    if (low == NULL
        || !EVP_Digest(low, strlen(low), digest, &n, EVP_sha256(), NULL)) {
        return NULL;
    }
    return apr_pstrcat(p, CONSENT_PURGE_HASH_PREFIX,
                       consent_hex(p, digest, n), NULL);
}

static void note(consent_purge_t *pg, const char *what,
                 const consent_proof_t *pf, const char *detail)
{
    if (pg->note) {
        pg->note(pg->baton, what, pf, detail);
    }
}

apr_status_t consent_purge_add(consent_purge_t *pg, const consent_proof_t *pf,
                               const char **err)
{
    pending_t *pd;
    apr_pool_t *p;

    *err = NULL;
    if (pf->event && strcmp(pf->event, CONSENT_EVENT_PURGE) == 0) {
        return APR_SUCCESS;
    }
    if (pf->erasure != NULL) {
        ++pg->counts.already;
        note(pg, "already", pf, NULL);
        return APR_SUCCESS;
    }
    apr_pool_create(&p, pg->pool);
    if (consent_proof_key(pg->ring, pf->mac_key_id) == NULL
        || !consent_proof_check(pf, pg->ring, p)) {
        ++pg->counts.refused;
        note(pg, "refused", pf, consent_proof_key(pg->ring, pf->mac_key_id)
             ? "its MAC does not match (altered? run verify): left intact"
             : apr_psprintf(p, "sealed with key %s, not given (-k): left "
                            "intact", pf->mac_key_id));
        apr_pool_destroy(p);
        return APR_SUCCESS;
    }
    apr_pool_destroy(p);
    pd = apr_array_push(pg->batch);
    pd->lost = 0;
    pd->pf = consent_proof_copy(pg->batch_pool, pf);
    pd->objection = consent_purge_is_objection(pf) && pf->subject
                    && *pf->subject;
    if (pg->batch->nelts >= CONSENT_PURGE_BATCH) {
        return consent_purge_finish(pg, err);
    }
    return APR_SUCCESS;
}

/* The sealed purge event naming the batch, in its own transaction,
 * before any record of it is touched. */
static apr_status_t record_event(consent_purge_t *pg, consent_proof_t **ev,
                                 apr_pool_t *p, const char **err)
{
    consent_proof_t *e = consent_proof_make(p, CONSENT_EVENT_PURGE);
    int i;

    e->site = pg->site;
    e->user_agent = pg->reason;
    for (i = 0; i < pg->batch->nelts; ++i) {
        consent_proof_add_choice(e, APR_ARRAY_IDX(pg->batch, i,
                                                  pending_t).pf->receipt_id,
                                 CONSENT_STATE_ERASED);
    }
    *ev = e;
    if (consent_store_record(pg->store, e, pg->lane, pg->signer, p, err)
        != CONSENT_STORE_OK) {
        return APR_EGENERAL;
    }
    ++pg->counts.events;
    note(pg, "purge", e, NULL);
    return APR_SUCCESS;
}

static int tx(consent_purge_t *pg, const char *sql)
{
    int n = 0;

    return apr_dbd_query(pg->store->driver, pg->store->handle, &n, sql);
}

static const char *db_err(consent_purge_t *pg, int rv, const char *what,
                          apr_pool_t *p)
{
    const char *msg = apr_dbd_error(pg->store->driver, pg->store->handle,
                                    rv);

    return apr_psprintf(p, "%s: %s (%d)", what, msg ? msg : "error", rv);
}

/* One record into its tombstone; *n is the rows changed (0 or 1). */
static int erase_one(consent_purge_t *pg, const pending_t *pd,
                     const char *by, int *n, apr_pool_t *p)
{
    consent_proof_t tomb = *pd->pf;
    const consent_key_t *key = consent_proof_key(pg->ring, tomb.mac_key_id);
    const char *args[4], *mac;

    tomb.ip = NULL;
    tomb.user_agent = NULL;
    tomb.subject = pd->objection
                   ? consent_purge_subject_hash(p, pd->pf->subject) : NULL;
    tomb.erasure = NULL;
    if (key == NULL || (mac = consent_proof_tomb_mac(p, &tomb, by, key))
        == NULL) {
        return APR_EGENERAL;
    }
    args[0] = tomb.subject;
    args[1] = apr_pstrcat(p, by, " ", mac, NULL);
    args[2] = tomb.receipt_id;
    args[3] = tomb.mac;
    return apr_dbd_pquery(pg->store->driver, p, pg->store->handle, n,
                          pg->erase, 4, args);
}

/* The batch's tombstones, all or none. */
static apr_status_t erase_batch(consent_purge_t *pg, const char *by,
                                apr_pool_t *p, const char **err)
{
    int sqlite = strcmp(apr_dbd_name(pg->store->driver), "sqlite3") == 0;
    int rv, i, n;

    if (pg->erase == NULL
        && (rv = apr_dbd_prepare(pg->store->driver, pg->pool,
                                 pg->store->handle, ERASE_SQL, NULL,
                                 &pg->erase)) != 0) {
        *err = db_err(pg, rv, "preparing the erasure", p);
        return APR_EGENERAL;
    }
    /* sqlite3: take the write lock first, so the busy timeout applies */
    if ((rv = tx(pg, sqlite ? "BEGIN IMMEDIATE" : "BEGIN")) != 0) {
        *err = db_err(pg, rv, "BEGIN", p);
        return APR_EGENERAL;
    }
    for (i = 0; i < pg->batch->nelts; ++i) {
        n = 0;
        if ((rv = erase_one(pg, &APR_ARRAY_IDX(pg->batch, i, pending_t), by,
                            &n, p)) != 0) {
            *err = db_err(pg, rv, "erasing", p);
            tx(pg, "ROLLBACK");
            return APR_EGENERAL;
        }
        APR_ARRAY_IDX(pg->batch, i, pending_t).lost = n == 0;
    }
    if ((rv = tx(pg, "COMMIT")) != 0) {
        *err = db_err(pg, rv, "COMMIT", p);
        tx(pg, "ROLLBACK");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* What the batch did, once committed (or, dry, what it would do). */
static void count_batch(consent_purge_t *pg)
{
    int i;

    for (i = 0; i < pg->batch->nelts; ++i) {
        const pending_t *pd = &APR_ARRAY_IDX(pg->batch, i, pending_t);

        if (pd->lost) {
            ++pg->counts.lost;
            note(pg, "lost", pd->pf, "changed by another writer meanwhile: "
                 "left as it is now");
            continue;
        }
        ++pg->counts.erased;
        pg->counts.hashed += pd->objection;
        note(pg, pg->dry_run ? "would erase" : "erased", pd->pf,
             pd->objection ? "objection kept as a hash" : NULL);
    }
}

apr_status_t consent_purge_finish(consent_purge_t *pg, const char **err)
{
    consent_proof_t *ev = NULL;
    apr_status_t rv = APR_SUCCESS;
    apr_pool_t *p;

    *err = NULL;
    if (pg->batch->nelts == 0) {
        return APR_SUCCESS;
    }
    apr_pool_create(&p, pg->pool);
    if (!pg->dry_run) {
        rv = record_event(pg, &ev, p, err);
        if (rv == APR_SUCCESS) {
            rv = erase_batch(pg, ev->receipt_id, p, err);
        }
    }
    if (rv == APR_SUCCESS) {
        count_batch(pg);
    }
    else {
        *err = apr_pstrdup(pg->pool, *err);
    }
    apr_pool_destroy(p);
    apr_pool_clear(pg->batch_pool);
    pg->batch = apr_array_make(pg->batch_pool, CONSENT_PURGE_BATCH,
                               sizeof(pending_t));
    return rv;
}
