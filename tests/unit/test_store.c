/*
 * The proof store (consent_store.c, consent_proof.c) against a real
 * sqlite3 file, then tampered with through a connection of its own.
 * With CONSENT_TEST_PGSQL=DBDParams the same tests also run on pgsql
 * (the server is not started here).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_file_info.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>

#include "consent_store.h"
#include "consent_notice.h"
#include "consent_hex.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-store-XXXXXX";
static const char *driver_name = "sqlite3";
static const char *pg_params;
static consent_key_t *key_a, *key_b;

typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    consent_store_t *store;
} db_t;

/* ---- fixtures --------------------------------------------------------- */

static consent_key_t *make_key(const char *name, const char *secret)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    consent_key_t *key;
    const char *err = NULL;
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(secret, f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(consent_key_load(&key, path, pool, &err), APR_SUCCESS);
    return key;
}

static consent_keyring_t *ring_of(consent_key_t *first,
                                  consent_key_t *second)
{
    consent_keyring_t *ring = consent_keyring_make(pool);

    consent_keyring_add(ring, first);
    if (second) {
        consent_keyring_add(ring, second);
    }
    return ring;
}

static const char *params_of(const char *name)
{
    return pg_params ? pg_params
                     : apr_pstrcat(pool, tmpdir, "/", name, ".db", NULL);
}

static void connect_db(db_t *db, const char *name, apr_pool_t *p)
{
    const char *err = NULL;

    assert_int_equal(apr_dbd_get_driver(p, driver_name, &db->driver),
                     APR_SUCCESS);
    assert_int_equal(apr_dbd_open_ex(db->driver, p, params_of(name),
                                     &db->handle, &err), APR_SUCCESS);
    assert_int_equal(consent_store_connection_init(db->driver, db->handle,
                                                   p, &err), APR_SUCCESS);
}

static void open_db(db_t *db, const char *name, apr_pool_t *p)
{
    const char *err = NULL;

    connect_db(db, name, p);
    if (consent_store_migrate(db->driver, db->handle, p, &err)) {
        fail_msg("migrate: %s", err);
    }
    if (consent_store_open(&db->store, db->driver, db->handle, p, &err)) {
        fail_msg("open: %s", err);
    }
}

/* Tampering, the way someone with the database but not the key would. */
static void raw(const db_t *db, const char *sql)
{
    int n = 0, rv = apr_dbd_query(db->driver, db->handle, &n, sql);

    if (rv != 0) {
        fail_msg("%s: %s", sql, apr_dbd_error(db->driver, db->handle, rv));
    }
}

static const char *raw_value(const db_t *db, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL;

    assert_int_equal(apr_dbd_select(db->driver, pool, db->handle, &res, sql,
                                    1), 0);
    while (apr_dbd_get_row(db->driver, pool, res, &row, -1) == 0) {
        if (v == NULL) {
            const char *e = apr_dbd_get_entry(db->driver, row, 0);
            v = apr_pstrdup(pool, e ? e : "(null)");
        }
    }
    return v;
}

/* A fresh store for each test: a new sqlite file, or emptied pgsql. */
static void fresh_db(db_t *db, const char *name)
{
    if (pg_params) {
        connect_db(db, name, pool);
        raw(db, "DROP TABLE IF EXISTS consent_proof, consent_lane, "
            "consent_notice, consent_schema_version");
        apr_dbd_close(db->driver, db->handle);
    }
    open_db(db, name, pool);
}

static const char *sha256_hex(const char *text, apr_pool_t *p)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL);
    return consent_hex(p, d, n);
}

static consent_proof_t *make_proof(apr_pool_t *p, int i, const char *nonce)
{
    consent_proof_t *pf = consent_proof_make(p, CONSENT_EVENT_SUBMISSION);
    const char *text = i % 2 ? "Send me the newsletter.\nÉté: oui."
                             : "Partners: offers by email.";

    pf->ip = "192.0.2.7";
    pf->user_agent = "Mozilla/5.0 (\"test\")\t\xc3\xa9";
    pf->subject = apr_psprintf(p, "person%d@example.org", i % 5);
    pf->form_id = "newsletter";
    pf->form_version = 3;
    pf->lang = i % 2 ? "fr" : "en";
    pf->regime = "opt-in";
    pf->notice_text = text;
    pf->notice_sha256 = sha256_hex(text, p);
    consent_proof_add_choice(pf, "newsletter", CONSENT_STATE_GIVEN);
    consent_proof_add_choice(pf, "partners", CONSENT_STATE_REFUSED);
    pf->token_nonce = nonce;
    pf->token_issued = pf->time - 5 * APR_USEC_PER_SEC;
    pf->token_key_id = nonce ? "0011223344556677" : NULL;
    pf->token_defaults = nonce ? "00" : NULL;
    return pf;
}

static const char *nonce_of(int i)
{
    return apr_psprintf(pool, "%032x", i);
}

static consent_proof_t *record(db_t *db, const char *lane, int i,
                               const consent_key_t *key)
{
    consent_proof_t *pf = make_proof(pool, i, nonce_of(i));
    const char *err = NULL;

    if (consent_store_record(db->store, pf, lane, key, pool, &err)
        != CONSENT_STORE_OK) {
        fail_msg("record %d: %s", i, err);
    }
    return pf;
}

static apr_array_header_t *problems_of(db_t *db,
                                       const consent_keyring_t *ring)
{
    apr_array_header_t *pbs = apr_array_make(pool, 4,
                                             sizeof(consent_problem_t));

    consent_store_verify(db->store, ring, pbs, pool);
    return pbs;
}

/* Some problem's message holds needle (and the list is printed if not). */
static void assert_problem(const apr_array_header_t *pbs, const char *needle)
{
    int i;

    for (i = 0; i < pbs->nelts; ++i) {
        if (strstr(APR_ARRAY_IDX(pbs, i, consent_problem_t).message,
                   needle)) {
            return;
        }
    }
    for (i = 0; i < pbs->nelts; ++i) {
        print_message("  %s\n", consent_problem_str(pool,
                      &APR_ARRAY_IDX(pbs, i, consent_problem_t)));
    }
    fail_msg("no problem mentions \"%s\"", needle);
}

static void assert_clean(db_t *db, const consent_keyring_t *ring)
{
    apr_array_header_t *pbs = problems_of(db, ring);

    if (pbs->nelts) {
        assert_problem(pbs, "(none expected)");
    }
}

typedef struct {
    apr_array_header_t *seen;
} collect_t;

static apr_status_t collect(void *baton, const consent_proof_t *pf,
                            apr_pool_t *scratch)
{
    collect_t *c = baton;
    consent_proof_t *copy = apr_pmemdup(pool, pf, sizeof *pf);

    /* each()'s pages are short-lived: keep what the tests read */
    copy->receipt_id = apr_pstrdup(pool, pf->receipt_id);
    copy->event = apr_pstrdup(pool, pf->event);
    copy->ip = apr_pstrdup(pool, pf->ip);
    copy->user_agent = apr_pstrdup(pool, pf->user_agent);
    copy->subject = apr_pstrdup(pool, pf->subject);
    copy->form_id = apr_pstrdup(pool, pf->form_id);
    copy->lang = apr_pstrdup(pool, pf->lang);
    copy->regime = apr_pstrdup(pool, pf->regime);
    copy->notice_sha256 = apr_pstrdup(pool, pf->notice_sha256);
    copy->choices = apr_array_copy(pool, pf->choices);
    copy->token_nonce = apr_pstrdup(pool, pf->token_nonce);
    copy->token_key_id = apr_pstrdup(pool, pf->token_key_id);
    copy->token_defaults = apr_pstrdup(pool, pf->token_defaults);
    copy->lane = apr_pstrdup(pool, pf->lane);
    copy->prev_mac = apr_pstrdup(pool, pf->prev_mac);
    copy->mac_key_id = apr_pstrdup(pool, pf->mac_key_id);
    copy->mac = apr_pstrdup(pool, pf->mac);
    APR_ARRAY_PUSH(c->seen, consent_proof_t *) = copy;
    return APR_SUCCESS;
}

static apr_array_header_t *all_proofs(db_t *db, apr_time_t since,
                                      const char *subject)
{
    collect_t c;
    const char *err = NULL;

    c.seen = apr_array_make(pool, 8, sizeof(consent_proof_t *));
    assert_int_equal(consent_store_each(db->store, since, subject, collect,
                                        &c, pool, &err), APR_SUCCESS);
    return c.seen;
}

/* ---- proofs (no database) -------------------------------------------- */

static void test_proof_json(void **state)
{
    consent_proof_t *pf = make_proof(pool, 1, "abcd");
    const char *json;

    pf->subject = "a\"b\\c\n\x01\x7f é";
    pf->user_agent = "bad \xff byte";
    pf->time = apr_time_from_sec(1795851575) + 123456;
    json = consent_proof_json(pool, pf);
    assert_non_null(strstr(json, "\"time\":\"2026-11-28T07:39:35.123456Z\""));
    assert_non_null(strstr(json,
                           "\"subject\":\"a\\\"b\\\\c\\n\\u0001\\u007f é\""));
    assert_non_null(strstr(json, "\"user_agent\":\"bad \\ufffd byte\""));
    assert_non_null(strstr(json, "\"purposes\":{\"newsletter\":\"given\","
                           "\"partners\":\"refused\"}"));
    assert_non_null(strstr(json, "\"language\":\"fr\""));
    assert_non_null(strstr(json, "\"form_version\":3,"));
    assert_non_null(strstr(json, "\"token\":{\"nonce\":\"abcd\""));
    assert_int_equal(json[strlen(json) - 1], '}');
    pf->token_nonce = NULL;
    assert_non_null(strstr(consent_proof_json(pool, pf), "\"token\":null"));
}

static void test_choices_and_canonical(void **state)
{
    consent_proof_t *pf = make_proof(pool, 2, NULL);
    apr_array_header_t *back;
    const char *enc, *c1, *c2;
    apr_size_t l1, l2;

    consent_proof_add_choice(pf, "odd;id=%", CONSENT_STATE_OBJECTED);
    enc = consent_choices_encode(pool, pf->choices);
    back = consent_choices_decode(pool, enc);
    assert_int_equal(back->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(back, 2, consent_choice_t).purpose,
                        "odd;id=%");
    assert_string_equal(APR_ARRAY_IDX(back, 2, consent_choice_t).state,
                        "objected");
    /* moving bytes between neighbouring fields changes the canonical form */
    pf->ip = "1";
    pf->user_agent = "2x";
    c1 = consent_proof_canonical(pool, pf, &l1);
    pf->ip = "12";
    pf->user_agent = "x";
    c2 = consent_proof_canonical(pool, pf, &l2);
    assert_true(l1 != l2 || memcmp(c1, c2, l1) != 0);
    assert_int_equal(consent_proof_seal(pf, key_a, pool), APR_SUCCESS);
    assert_true(consent_proof_check(pf, ring_of(key_a, NULL), pool));
    assert_false(consent_proof_check(pf, ring_of(key_b, NULL), pool));
}

/* ---- store ------------------------------------------------------------ */

static void test_migrate_twice(void **state)
{
    db_t db, other;
    const char *err = NULL;

    fresh_db(&db, "migrate");
    assert_int_equal(consent_store_migrate(db.driver, db.handle, pool, &err),
                     APR_SUCCESS);
    connect_db(&other, "migrate", pool);
    assert_int_equal(consent_store_migrate(other.driver, other.handle, pool,
                                           &err), APR_SUCCESS);
    assert_string_equal(raw_value(&db, "SELECT COUNT(*) FROM "
                                  "consent_schema_version"), "1");
    if (!pg_params) {
        assert_string_equal(raw_value(&db, "PRAGMA journal_mode"), "wal");
    }
}

static void test_record_and_each(void **state)
{
    db_t db;
    const char *lane = consent_store_lane_id(pool), *err = NULL;
    consent_proof_t *in, *out, *nt;
    apr_array_header_t *seen;

    fresh_db(&db, "each");
    in = record(&db, lane, 1, key_a);
    nt = make_proof(pool, 2, NULL);     /* withdrawal without a token */
    nt->event = CONSENT_EVENT_WITHDRAWAL;
    nt->ip = NULL;
    assert_int_equal(consent_store_record(db.store, nt, lane, key_a, pool,
                                          &err), CONSENT_STORE_OK);
    seen = all_proofs(&db, 0, NULL);
    assert_int_equal(seen->nelts, 2);
    out = APR_ARRAY_IDX(seen, 0, consent_proof_t *);
    assert_string_equal(out->receipt_id, in->receipt_id);
    assert_string_equal(out->event, "submission");
    assert_true(out->time == in->time);
    assert_string_equal(out->ip, in->ip);
    assert_string_equal(out->user_agent, in->user_agent);
    assert_string_equal(out->subject, in->subject);
    assert_string_equal(out->form_id, "newsletter");
    assert_int_equal(out->form_version, 3);
    assert_string_equal(out->lang, "fr");
    assert_string_equal(out->regime, "opt-in");
    assert_string_equal(out->notice_sha256, in->notice_sha256);
    assert_null(out->notice_text);
    assert_string_equal(consent_choices_encode(pool, out->choices),
                        "newsletter=given;partners=refused");
    assert_string_equal(out->token_nonce, in->token_nonce);
    assert_true(out->token_issued == in->token_issued);
    assert_string_equal(out->token_key_id, in->token_key_id);
    assert_string_equal(out->token_defaults, "00");
    assert_string_equal(out->lane, lane);
    assert_true(out->lane_seq == 1);
    assert_string_equal(out->prev_mac, in->prev_mac);
    assert_string_equal(out->mac_key_id, in->mac_key_id);
    assert_string_equal(out->mac, in->mac);
    out = APR_ARRAY_IDX(seen, 1, consent_proof_t *);
    assert_null(out->ip);
    assert_null(out->token_nonce);
    assert_true(out->lane_seq == 2);
    assert_string_equal(out->prev_mac, in->mac);
    assert_string_equal(consent_store_notice(db.store, in->notice_sha256,
                                             pool), in->notice_text);
    /* filters */
    assert_int_equal(all_proofs(&db, nt->time + 1, NULL)->nelts, 0);
    assert_int_equal(all_proofs(&db, 0, in->subject)->nelts, 1);
    assert_int_equal(all_proofs(&db, 0, "nobody")->nelts, 0);
    assert_clean(&db, ring_of(key_a, NULL));
}

static void test_duplicate_nonce(void **state)
{
    db_t db;
    const char *lane = consent_store_lane_id(pool), *err = NULL;
    consent_proof_t *again;

    fresh_db(&db, "dup");
    record(&db, lane, 7, key_a);
    again = make_proof(pool, 7, nonce_of(7));
    assert_int_equal(consent_store_record(db.store, again,
                                          consent_store_lane_id(pool), key_a,
                                          pool, &err),
                     CONSENT_STORE_DUPLICATE);
    assert_string_equal(raw_value(&db, "SELECT COUNT(*) FROM consent_proof"),
                        "1");
    assert_string_equal(raw_value(&db, "SELECT COUNT(*) FROM consent_lane"),
                        "1");
    assert_clean(&db, ring_of(key_a, NULL));
}

static consent_store_status_t record_warm(db_t *db, const char *lane, int i,
                                          consent_lane_cache_t *cache)
{
    consent_proof_t *pf = make_proof(pool, i, nonce_of(i));
    const char *err = NULL;

    return consent_store_record_cached(db->store, pf, lane, cache, key_a,
                                       pool, &err);
}

/* A writer's memory saves reads, and a wrong one costs only a retry. */
static void test_lane_cache(void **state)
{
    db_t a, b;
    consent_lane_cache_t cache, stale;
    const char *lane = consent_store_lane_id(pool);
    int i;

    memset(&cache, 0, sizeof cache);
    fresh_db(&a, "cache-a");
    for (i = 0; i < 3; ++i) {
        assert_int_equal(record_warm(&a, lane, i, &cache), CONSENT_STORE_OK);
    }
    assert_true(cache.valid);
    assert_int_equal(cache.head_seq, 3);
    stale = cache;
    for (i = 3; i < 5; ++i) {
        assert_int_equal(record_warm(&a, lane, i, &cache), CONSENT_STORE_OK);
    }
    /* a replay is still a replay when warm (the insert's constraint) */
    assert_int_equal(record_warm(&a, lane, 4, &cache),
                     CONSENT_STORE_DUPLICATE);
    /* an out-of-date memory fails the guarded head update: read afresh */
    assert_int_equal(record_warm(&a, lane, 5, &stale), CONSENT_STORE_OK);
    assert_int_equal(stale.head_seq, 6);
    assert_clean(&a, ring_of(key_a, NULL));
    if (pg_params) {
        return;     /* one pgsql database: no second store to carry it to */
    }
    /* the same memory carried to another store with the same lane id */
    fresh_db(&b, "cache-b");
    for (i = 100; i < 103; ++i) {
        assert_int_equal(record_warm(&b, lane, i, &stale), CONSENT_STORE_OK);
    }
    assert_int_equal(record_warm(&a, lane, 200, &stale), CONSENT_STORE_OK);
    assert_clean(&a, ring_of(key_a, NULL));
    assert_clean(&b, ring_of(key_a, NULL));
    assert_string_equal(raw_value(&a, "SELECT COUNT(*) FROM consent_proof"),
                        "7");
    assert_string_equal(raw_value(&b, "SELECT COUNT(*) FROM consent_proof"),
                        "3");
}

/* Group commit: one transaction for a batch; a replayed nonce, inside
 * the batch or against a committed proof, fails only its own item. */
static void test_batch(void **state)
{
    db_t db;
    consent_lane_cache_t cache;
    consent_store_item_t items[6];
    const char *lane = consent_store_lane_id(pool), *err = NULL;
    static const int which[6] = { 1, 2, 2, 3, 0, 4 };
    static const consent_store_status_t expect[6] = {
        CONSENT_STORE_OK, CONSENT_STORE_OK, CONSENT_STORE_DUPLICATE,
        CONSENT_STORE_OK, CONSENT_STORE_DUPLICATE, CONSENT_STORE_OK
    };
    int i;

    memset(&cache, 0, sizeof cache);
    fresh_db(&db, "batch");
    record(&db, consent_store_lane_id(pool), 0, key_a);
    for (i = 0; i < 6; ++i) {
        items[i].proof = make_proof(pool, which[i], nonce_of(which[i]));
        items[i].key = i % 2 ? key_b : key_a;
        items[i].status = CONSENT_STORE_ERROR;
        items[i].err = NULL;
    }
    assert_int_equal(consent_store_record_batch(db.store, items, 6, lane,
                                                &cache, pool, &err),
                     APR_SUCCESS);
    for (i = 0; i < 6; ++i) {
        assert_int_equal(items[i].status, expect[i]);
        assert_true((items[i].proof->mac != NULL)
                    == (expect[i] == CONSENT_STORE_OK));
    }
    assert_string_equal(raw_value(&db, "SELECT COUNT(*) FROM consent_proof"),
                        "5");
    /* chained one after the other in the writer's lane */
    assert_int_equal(items[5].proof->lane_seq, 4);
    assert_true(cache.valid);
    assert_int_equal(cache.head_seq, 4);
    /* the next batch goes on from the writer's memory */
    items[0].proof = make_proof(pool, 9, nonce_of(9));
    assert_int_equal(consent_store_record_batch(db.store, items, 1, lane,
                                                &cache, pool, &err),
                     APR_SUCCESS);
    assert_int_equal(items[0].status, CONSENT_STORE_OK);
    assert_int_equal(items[0].proof->lane_seq, 5);
    assert_clean(&db, ring_of(key_a, key_b));
}

/* More proofs than one multi-row insert carries (32 + 32 + 6), then a
 * batch of 40 whose 36th replays a committed nonce: it alone is refused,
 * the others are chained past it. */
static void test_batch_rows(void **state)
{
    db_t db;
    consent_lane_cache_t cache;
    consent_store_item_t items[70];
    const char *lane = consent_store_lane_id(pool), *err = NULL;
    int i;

    memset(&cache, 0, sizeof cache);
    fresh_db(&db, "batch_rows");
    for (i = 0; i < 70; ++i) {
        items[i].proof = make_proof(pool, 100 + i, nonce_of(100 + i));
        items[i].key = key_a;
    }
    assert_int_equal(consent_store_record_batch(db.store, items, 70, lane,
                                                &cache, pool, &err),
                     APR_SUCCESS);
    for (i = 0; i < 70; ++i) {
        assert_int_equal(items[i].status, CONSENT_STORE_OK);
        assert_int_equal(items[i].proof->lane_seq, i + 1);
    }
    for (i = 0; i < 40; ++i) {
        int n = i == 35 ? 100 : 200 + i;

        items[i].proof = make_proof(pool, n, nonce_of(n));
    }
    assert_int_equal(consent_store_record_batch(db.store, items, 40, lane,
                                                &cache, pool, &err),
                     APR_SUCCESS);
    for (i = 0; i < 40; ++i) {
        assert_int_equal(items[i].status, i == 35 ? CONSENT_STORE_DUPLICATE
                                                  : CONSENT_STORE_OK);
    }
    assert_int_equal(items[39].proof->lane_seq, 70 + 39);
    assert_string_equal(raw_value(&db, "SELECT COUNT(*) FROM consent_proof"),
                        "109");
    assert_clean(&db, ring_of(key_a, NULL));
}

/* Three lanes (b created after a, c after b), n records spread. */
static const char **three_lanes(db_t *db, const char *name, int n)
{
    const char **lanes = apr_pcalloc(pool, 3 * sizeof *lanes);
    int i;

    fresh_db(db, name);
    for (i = 0; i < 3; ++i) {
        lanes[i] = consent_store_lane_id(pool);
    }
    for (i = 0; i < n; ++i) {
        record(db, lanes[i % 3], i, key_a);
    }
    return lanes;
}

static void test_fifty_records_three_lanes(void **state)
{
    db_t db;
    apr_int64_t proofs = 0, lanes = 0;
    const char *err = NULL;

    three_lanes(&db, "fifty", 50);
    assert_clean(&db, ring_of(key_a, NULL));
    assert_int_equal(consent_store_count(db.store, &proofs, &lanes, pool,
                                         &err), APR_SUCCESS);
    assert_int_equal(proofs, 50);
    assert_int_equal(lanes, 3);
}

static void test_tamper_field(void **state)
{
    db_t db;
    consent_proof_t *victim;

    three_lanes(&db, "field", 6);
    victim = record(&db, consent_store_lane_id(pool), 100, key_a);
    record(&db, victim->lane, 101, key_a);
    assert_clean(&db, ring_of(key_a, NULL));
    raw(&db, apr_psprintf(pool, "UPDATE consent_proof SET choices = "
                          "'newsletter=given;partners=given' WHERE "
                          "receipt_id = '%s'", victim->receipt_id));
    assert_problem(problems_of(&db, ring_of(key_a, NULL)),
                   victim->receipt_id);
}

static void test_tamper_delete_middle(void **state)
{
    db_t db;
    const char **lanes = three_lanes(&db, "middle", 9);
    apr_array_header_t *pbs;

    raw(&db, apr_psprintf(pool, "DELETE FROM consent_proof WHERE lane = "
                          "'%s' AND lane_seq = 2", lanes[1]));
    pbs = problems_of(&db, ring_of(key_a, NULL));
    assert_problem(pbs, "missing");
    assert_problem(pbs, lanes[1]);
}

static void test_tamper_delete_last(void **state)
{
    db_t db;
    const char **lanes = three_lanes(&db, "last", 9);

    raw(&db, apr_psprintf(pool, "DELETE FROM consent_proof WHERE lane = "
                          "'%s' AND lane_seq = 3", lanes[2]));
    assert_problem(problems_of(&db, ring_of(key_a, NULL)),
                   "records deleted at the end");
}

static void test_tamper_forged_insert(void **state)
{
    db_t db;
    const char **lanes = three_lanes(&db, "forged", 6);
    apr_array_header_t *pbs;

    raw(&db, apr_psprintf(pool, "INSERT INTO consent_proof (receipt_id, "
                          "event, time_us, subject, choices, lane, lane_seq, "
                          "prev_mac, mac_key_id, mac) SELECT 'forged-1', "
                          "event, time_us + 1, subject, 'newsletter=given', "
                          "lane, 3, mac, mac_key_id, mac FROM consent_proof "
                          "WHERE lane = '%s' AND lane_seq = 2", lanes[0]));
    pbs = problems_of(&db, ring_of(key_a, NULL));
    assert_problem(pbs, "forged-1");
    assert_problem(pbs, "records added after the head");
}

static void test_tamper_delete_lane(void **state)
{
    db_t db;
    const char **lanes = three_lanes(&db, "lane", 9);

    raw(&db, apr_psprintf(pool, "DELETE FROM consent_proof WHERE lane = "
                          "'%s'", lanes[1]));
    raw(&db, apr_psprintf(pool, "DELETE FROM consent_lane WHERE lane = "
                          "'%s'", lanes[1]));
    assert_problem(problems_of(&db, ring_of(key_a, NULL)),
                   apr_psprintf(pool, "predecessor lane %s is missing",
                                lanes[1]));
}

static void test_tamper_delete_first_lane(void **state)
{
    db_t db;
    const char **lanes = three_lanes(&db, "firstlane", 3);

    raw(&db, apr_psprintf(pool, "DELETE FROM consent_proof WHERE lane = "
                          "'%s'", lanes[0]));
    raw(&db, apr_psprintf(pool, "DELETE FROM consent_lane WHERE lane = "
                          "'%s'", lanes[0]));
    assert_problem(problems_of(&db, ring_of(key_a, NULL)),
                   "0 lanes have no predecessor");
}

static void test_tamper_notice(void **state)
{
    db_t db;

    three_lanes(&db, "notice", 2);
    raw(&db, "UPDATE consent_notice SET text = 'Nothing to see.'");
    assert_problem(problems_of(&db, ring_of(key_a, NULL)),
                   "does not match its digest");
    raw(&db, "DELETE FROM consent_notice");
    assert_problem(problems_of(&db, ring_of(key_a, NULL)),
                   "notice");
}

static void test_rotated_keyring(void **state)
{
    db_t db;
    const char *lane = consent_store_lane_id(pool);
    apr_array_header_t *pbs;

    fresh_db(&db, "rotate");
    record(&db, lane, 1, key_a);
    record(&db, lane, 2, key_a);
    /* rotation: the new key signs, the old one still verifies */
    record(&db, lane, 3, key_b);
    record(&db, consent_store_lane_id(pool), 4, key_b);
    assert_clean(&db, ring_of(key_b, key_a));
    pbs = problems_of(&db, ring_of(key_b, NULL));
    assert_problem(pbs, "not in the keyring");
}

/* ---- concurrency ------------------------------------------------------ */

#define WRITERS 4
#define PER_WRITER 100

typedef struct {
    int id;
    int failures;
    char first_error[256];
} writer_t;

static void *APR_THREAD_FUNC writer(apr_thread_t *t, void *data)
{
    writer_t *w = data;
    apr_pool_t *p, *iter;
    const char *lane, *err = NULL;
    db_t db;
    int i;

    apr_pool_create(&p, NULL);
    apr_pool_create(&iter, p);
    open_db(&db, "concurrent", p);
    lane = consent_store_lane_id(p);
    for (i = 0; i < PER_WRITER; ++i) {
        int n = w->id * 1000 + i;
        consent_proof_t *pf;

        apr_pool_clear(iter);
        pf = make_proof(iter, n, apr_psprintf(iter, "%032x", n));
        if (consent_store_record(db.store, pf, lane, key_a, iter, &err)
            != CONSENT_STORE_OK) {
            if (w->failures++ == 0) {
                apr_cpystrn(w->first_error, err ? err : "?",
                            sizeof w->first_error);
            }
        }
    }
    apr_dbd_close(db.driver, db.handle);
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    apr_thread_t *threads[WRITERS];
    writer_t w[WRITERS];
    apr_status_t rv;
    db_t db;
    int i;

    fresh_db(&db, "concurrent");
    for (i = 0; i < WRITERS; ++i) {
        w[i].id = i + 1;
        w[i].failures = 0;
        w[i].first_error[0] = '\0';
        assert_int_equal(apr_thread_create(&threads[i], NULL, writer, &w[i],
                                           pool), APR_SUCCESS);
    }
    for (i = 0; i < WRITERS; ++i) {
        apr_thread_join(&rv, threads[i]);
    }
    for (i = 0; i < WRITERS; ++i) {
        if (w[i].failures) {
            fail_msg("writer %d: %d failures, first: %s", i, w[i].failures,
                     w[i].first_error);
        }
    }
    assert_string_equal(raw_value(&db, "SELECT COUNT(*) FROM consent_proof"),
                        "400");
    assert_string_equal(raw_value(&db, "SELECT COUNT(*) FROM consent_lane"),
                        "4");
    assert_clean(&db, ring_of(key_a, NULL));
}

static void remove_tmpdir(void)
{
    apr_dir_t *dir;
    apr_finfo_t fi;

    if (apr_dir_open(&dir, tmpdir, pool) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
           == APR_SUCCESS) {
        if (fi.filetype == APR_REG) {
            apr_file_remove(apr_pstrcat(pool, tmpdir, "/", fi.name, NULL),
                            pool);
        }
    }
    apr_dir_close(dir);
    apr_dir_remove(tmpdir, pool);
}


/* ---- tenancy: the site column ------------------------------------------ */

/* Proofs recorded before tenancy have site '': their canonical form, so
 * their MAC, must be what it was (no site line); a site is MACed. */
static void test_site_in_canonical(void **state)
{
    consent_proof_t *pf = make_proof(pool, 1, nonce_of(1));
    const char *c;
    apr_size_t len;

    c = consent_proof_canonical(pool, pf, &len);
    assert_null(strstr(c, "site:"));
    pf->site = "";
    assert_string_equal(consent_proof_canonical(pool, pf, &len), c);
    pf->site = "e.test";
    assert_non_null(strstr(consent_proof_canonical(pool, pf, &len),
                           "\nsite:6:e.test\n"));
    assert_non_null(strstr(consent_proof_json(pool, pf),
                           "\"site\":\"e.test\""));
}

static apr_status_t keep_site(void *baton, const consent_proof_t *pf,
                              apr_pool_t *scratch)
{
    apr_array_header_t *sites = baton;

    (void)scratch;
    APR_ARRAY_PUSH(sites, const char *) = apr_pstrdup(sites->pool,
                                                      pf->site);
    return APR_SUCCESS;
}

static apr_array_header_t *sites_of(db_t *db, const char *only, int exact)
{
    apr_array_header_t *sites = apr_array_make(pool, 4,
                                               sizeof(const char *));
    const char *err = NULL;

    db->store->only_site = only;
    db->store->only_site_exact = exact;
    assert_int_equal(consent_store_each(db->store, 0, NULL, keep_site,
                                        sites, pool, &err), APR_SUCCESS);
    db->store->only_site = NULL;
    return sites;
}

/* A version 1 store (no site column) migrates: its proofs get site ''
 * and keep verifying, new ones carry and seal their site. */
static void test_migrate_from_version_1(void **state)
{
    db_t db, later;
    const char *lane = consent_store_lane_id(pool), *err = NULL;
    consent_proof_t *pf;
    apr_array_header_t *sites;

    fresh_db(&db, "v1");
    record(&db, lane, 1, key_a);
    record(&db, lane, 2, key_a);
    /* what a store written by the previous version looks like */
    raw(&db, "ALTER TABLE consent_proof DROP COLUMN site");
    raw(&db, "ALTER TABLE consent_proof DROP COLUMN erasure");
    raw(&db, "DELETE FROM consent_schema_version");
    raw(&db, "INSERT INTO consent_schema_version (version) VALUES (1)");
    apr_dbd_close(db.driver, db.handle);

    open_db(&later, "v1", pool);
    assert_string_equal(raw_value(&later, "SELECT MAX(version) FROM "
                                  "consent_schema_version"), "3");
    pf = make_proof(pool, 3, nonce_of(3));
    pf->site = "e.test";
    assert_int_equal(consent_store_record(later.store, pf, lane, key_a,
                                          pool, &err), CONSENT_STORE_OK);
    assert_int_equal(problems_of(&later, ring_of(key_a, NULL))->nelts, 0);
    sites = sites_of(&later, NULL, 0);
    assert_int_equal(sites->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(sites, 0, const char *), "");
    assert_string_equal(APR_ARRAY_IDX(sites, 2, const char *), "e.test");
    sites = sites_of(&later, "e.test", 1);
    assert_int_equal(sites->nelts, 1);
    /* a person's state at a site counts what was recorded before sites */
    assert_int_equal(sites_of(&later, "e.test", 0)->nelts, 3);
    assert_int_equal(sites_of(&later, "f.test", 0)->nelts, 2);
    assert_int_equal(sites_of(&later, "f.test", 1)->nelts, 0);
    /* the site is sealed: moving a proof to another site shows */
    raw(&later, "UPDATE consent_proof SET site = 'f.test' "
        "WHERE site = 'e.test'");
    assert_problem(problems_of(&later, ring_of(key_a, NULL)), "");
    apr_dbd_close(later.driver, later.handle);
}

/* ---- main ------------------------------------------------------------- */

static int use_pgsql(void **state)
{
    driver_name = "pgsql";
    pg_params = getenv("CONSENT_TEST_PGSQL");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proof_json),
        cmocka_unit_test(test_choices_and_canonical),
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_record_and_each),
        cmocka_unit_test(test_duplicate_nonce),
        cmocka_unit_test(test_lane_cache),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_rows),
        cmocka_unit_test(test_fifty_records_three_lanes),
        cmocka_unit_test(test_tamper_field),
        cmocka_unit_test(test_tamper_delete_middle),
        cmocka_unit_test(test_tamper_delete_last),
        cmocka_unit_test(test_tamper_forged_insert),
        cmocka_unit_test(test_tamper_delete_lane),
        cmocka_unit_test(test_tamper_delete_first_lane),
        cmocka_unit_test(test_tamper_notice),
        cmocka_unit_test(test_rotated_keyring),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_site_in_canonical),
        cmocka_unit_test(test_migrate_from_version_1),
    };
    int failed;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_dbd_init(pool);
    if (mkdtemp(tmpdir) == NULL) {
        return 1;
    }
    key_a = make_key("a.key", "0123456789abcdef0123456789abcdef-key-a\n");
    key_b = make_key("b.key", "fedcba9876543210fedcba9876543210-key-b\n");
    failed = cmocka_run_group_tests_name("store (sqlite3)", tests, NULL,
                                         NULL);
    if (getenv("CONSENT_TEST_PGSQL") && *getenv("CONSENT_TEST_PGSQL")) {
        failed += cmocka_run_group_tests_name("store (pgsql)", tests,
                                              use_pgsql, NULL);
    }
    if (!failed) {
        remove_tmpdir();
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return failed;
}
