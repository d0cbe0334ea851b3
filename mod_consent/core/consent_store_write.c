/*
 * Recording proofs: one alone, or a writer's batch (group commit).
 *
 * Cost of one record alone (consent_store_record, consentctl), in one
 * transaction (sqlite: BEGIN IMMEDIATE, so the write lock is taken first
 * and the busy timeout applies; pgsql: the lane row is read FOR UPDATE):
 * begin, nonce lookup (when there is a token), notice insert-or-ignore
 * (when there is a text), lane read, proof insert, lane update, commit:
 * 7 statements, 2 HMACs and one durable commit (sqlite synchronous=FULL).
 * A lane's first record adds 2 statements (find newest lane, insert lane).
 * Apache writes by group commit instead (consent_store_record_batch, fed
 * by consent_writer.c): one multi-row INSERT per 32 records, one lane
 * update and one durable commit per batch.
 */
#include "consent_store_int.h"

#define LANE_RETRIES 8

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
 * has no memory of it), the notice when it is new to the writer, ONE
 * multi-row INSERT per STORE_ROWS_MAX proofs, ONE lane head update for the
 * whole batch and one durable commit. The proofs are chained in arrival
 * order before the insert, so a proof the insert skipped (a replayed
 * nonce: ON CONFLICT ... DO NOTHING, sqlite 3.24 and PostgreSQL 9.5)
 * would leave a hole in the chain: when fewer rows went in than were
 * sealed, the transaction is rolled back and the batch written again one
 * proof at a time, where a replay is refused alone and the others chain
 * past it, without a savepoint each (on pgsql a failed statement would
 * abort the whole transaction). Replays are rare; the batch pays twice
 * only then.
 */

/* The label of the statement inserting k proofs, prepared on first use
 * on this connection (a store lives as long as its connection). */
static const char *rows_label(consent_store_t *s, int k, apr_pool_t *p,
                              const char **err)
{
    apr_pool_t *sp = apr_hash_pool_get(s->prepared);
    const char *label = k == 1 ? S_PROOF_INSERT_NEW
                        : apr_psprintf(p, S_PROOF_INSERT_NEW "_%d", k);
    apr_dbd_prepared_t *st = NULL;
    const char *sql;
    int rv;

    if (k == 1 || apr_hash_get(s->prepared, label, APR_HASH_KEY_STRING)) {
        return label;
    }
    label = apr_pstrdup(sp, label);
    sql = store_proof_insert_rows(apr_dbd_name(s->driver), k, p);
    rv = apr_dbd_prepare(s->driver, sp, s->handle, sql, label, &st);
    if (rv != 0) {
        *err = store_db_error(s->driver, s->handle, rv, label, p);
        return NULL;
    }
    apr_hash_set(s->prepared, label, APR_HASH_KEY_STRING, st);
    return label;
}

/* Inserts proofs[0..n) in statements of up to STORE_ROWS_MAX rows; *in
 * counts the rows that went in. */
static const char *insert_rows(consent_store_t *s, consent_proof_t **proofs,
                               int n, int *in, apr_pool_t *p)
{
    const char **args = apr_palloc(p, sizeof *args * 22 * STORE_ROWS_MAX);
    const char *label, *err = NULL;
    int done, k, i, rv, rows;

    *in = 0;
    for (done = 0; done < n; done += k) {
        k = n - done < STORE_ROWS_MAX ? n - done : STORE_ROWS_MAX;
        if ((label = rows_label(s, k, p, &err)) == NULL) {
            return err;
        }
        for (i = 0; i < k; ++i) {
            proof_args(args + 22 * i, proofs[done + i], p);
        }
        rows = 0;
        if ((rv = store_exec(s, label, &rows, p, 22 * k, args)) != 0) {
            return store_db_error(s->driver, s->handle, rv, label, p);
        }
        *in += rows;
    }
    return NULL;
}

/* Seals one proof after *head and moves *head on to it. */
static consent_store_status_t chain_one(consent_store_t *s,
                                        consent_store_item_t *it,
                                        lane_t *head,
                                        consent_lane_cache_t *mem,
                                        apr_pool_t *p, const char **err)
{
    consent_proof_t *pf = it->proof;

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
    head->head_seq = pf->lane_seq;
    head->head_mac = pf->mac;
    head->head_key_id = pf->mac_key_id;
    return CONSENT_STORE_OK;
}

/* One proof at a time: DUPLICATE when its nonce was used, and the next
 * proof chains to the one before it. */
static consent_store_status_t batch_one(consent_store_t *s,
                                        consent_store_item_t *it,
                                        lane_t *head,
                                        consent_lane_cache_t *mem,
                                        apr_pool_t *p, const char **err)
{
    lane_t next = *head;
    consent_store_status_t st = chain_one(s, it, &next, mem, p, err);
    int in = 0;

    if (st == CONSENT_STORE_OK
        && (*err = insert_rows(s, &it->proof, 1, &in, p)) != NULL) {
        return CONSENT_STORE_ERROR;
    }
    if (st == CONSENT_STORE_OK && in != 1) {
        return CONSENT_STORE_DUPLICATE;
    }
    if (st == CONSENT_STORE_OK) {
        *head = next;
    }
    return st;
}

/* All of the batch's proofs chained, then inserted together; *replay
 * when some did not go in. */
static void batch_rows(consent_store_t *s, consent_store_item_t *items,
                       int n, lane_t *head, consent_lane_cache_t *mem,
                       apr_pool_t *p, const char **err, int *replay)
{
    consent_proof_t **sealed = apr_palloc(p, sizeof *sealed * (apr_size_t)n);
    int i, m = 0, in = 0;

    for (i = 0; i < n && *err == NULL; ++i) {
        items[i].status = chain_one(s, &items[i], head, mem, p, err);
        if (items[i].status == CONSENT_STORE_OK) {
            sealed[m++] = items[i].proof;
        }
    }
    if (*err == NULL && m > 0
        && (*err = insert_rows(s, sealed, m, &in, p)) == NULL && in != m) {
        *err = "a token nonce was used already";
        *replay = 1;
    }
}

/* The batch inside an open transaction; *err on a failure that undoes
 * it all, *stale when the writer's memory of its lane was wrong. */
static void batch_statements(consent_store_t *s, consent_store_item_t *items,
                             int n, const char *lane,
                             consent_lane_cache_t *mem, int one_by_one,
                             apr_pool_t *p, const char **err, int *stale,
                             int *replay)
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
    if (one_by_one) {
        for (i = 0; i < n && *err == NULL; ++i) {
            items[i].status = batch_one(s, &items[i], &head, mem, p, err);
        }
    }
    else {
        batch_rows(s, items, n, &head, mem, p, err, replay);
    }
    for (i = 0; i < n; ++i) {
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
    int i, rv, attempt, stale, replay = 0;
    tx_t tx;

    for (attempt = 0; ; ++attempt) {
        int one_by_one = replay;

        *err = NULL;
        stale = 0;
        replay = 0;
        for (i = 0; i < n; ++i) {
            items[i].status = CONSENT_STORE_ERROR;
            items[i].err = NULL;
        }
        if ((rv = store_tx_begin(&tx, store->driver, store->handle, p))) {
            *err = store_db_error(store->driver, store->handle, rv, "BEGIN",
                                  p);
            break;
        }
        batch_statements(store, items, n, lane, cache, one_by_one, p, err,
                         &stale, &replay);
        rv = store_tx_end(&tx, *err == NULL, p);
        if (*err == NULL && rv != 0) {
            *err = store_db_error(store->driver, store->handle, rv,
                                  "COMMIT", p);
        }
        if (*err == NULL) {
            break;
        }
        memset(cache, 0, sizeof *cache);    /* read the lane afresh */
        /* once more after a stale memory, and once one by one after a
         * replay: three attempts at most */
        if (!((stale && attempt == 0) || (replay && !one_by_one))) {
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
