/*
 * consent_store_verify: every record, lane and notice checked again
 * against its MAC or digest and against the chains (consent_store_lane.c
 * says what they cover); the audit's checks (consent_audit.c) ride along
 * on the same pass.
 */
#include "consent_store_int.h"
#include "consent_audit.h"

#define MAC_HEX_MAX (2 * CONSENT_SHA256_LEN + 1)

/* MACs are compared in constant time, even as hex. */
static int hex_equal(const char *a, const char *b)
{
    return a && b && strlen(a) == strlen(b)
           && consent_mac_equal((const unsigned char *)a,
                                (const unsigned char *)b, strlen(a));
}

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

static apr_status_t check_row(void *baton, const char **c,
                               apr_pool_t *page)
{
    verify_t *v = baton;
    const consent_proof_t *pf = store_proof_from_cols(c, page);

    check_proof(v, pf, page);
    consent_audit_proof_row(v->audit, c, pf);
    ++v->proofs_read;
    return APR_SUCCESS;
}

/* In lane order, so that each record is checked against the one before
 * it with only the lanes' states kept. */
static int check_proofs(verify_t *v)
{
    const char *err;

    if (store_each_row(v->store, S_PROOF_BY_LANE, NULL, "", "-1", COL_LANE,
                       COL_LANE_SEQ, check_row, v, v->pool, &err)) {
        UNREADABLE(v, "cannot read proofs: %s", err);
        return 1;
    }
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
        && load_notices(&v, page) == 0 && check_proofs(&v) == 0) {
        check_heads(&v, p);
        consent_audit_end(v.audit, v.proofs_read,
                          apr_hash_count(v.lanes), v.notices_read, page);
    }
    report_missing_keys(&v, p);
    apr_pool_destroy(page);
    return problems->nelts - before;
}
