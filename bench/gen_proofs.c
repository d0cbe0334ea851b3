/*
 * Fills a store with N real proofs for bench/run's export and verify
 * figures: 1,000,000 submissions through HTTP would take longer than the
 * whole bench, so they are written through the core's own store, one
 * consent_store_record() each, with real chains and MACs, spread over
 * lanes as if many httpd threads had written them.
 *
 *     gen_proofs DRIVER PARAMS KEYFILE COUNT [LANES]
 *
 * Only the durability of the generation is relaxed (synchronous=OFF on its
 * connection): the rows are the same, the wait for the disk is not.
 */
#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_dbd.h>
#include <openssl/evp.h>

#include "consent_store.h"
#include "consent_notice.h"
#include "consent_hex.h"

#define NOTICE "notice-format: 1\nform: bench 1 opt-in\n" \
               "purpose: newsletter\nSend me the monthly newsletter\n"

static const char *sha256_hex(apr_pool_t *p, const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    return consent_hex(p, md, n);
}

static int fail(const char *what, const char *err)
{
    fprintf(stderr, "gen_proofs: %s: %s\n", what, err ? err : "error");
    return 1;
}

/* A submission as the POST handler builds it, with a fresh nonce. */
static consent_proof_t *make_proof(apr_pool_t *p, long i, const char *digest)
{
    consent_proof_t *pf = consent_proof_make(p, CONSENT_EVENT_SUBMISSION);
    unsigned char nonce[16];

    apr_generate_random_bytes(nonce, sizeof nonce);
    pf->ip = "127.0.0.1";
    pf->user_agent = "bench/gen_proofs";
    pf->subject = apr_psprintf(p, "person%ld@example.org", i);
    pf->form_id = "bench";
    pf->form_version = 1;
    pf->lang = "en";
    pf->regime = "opt-in";
    pf->notice_sha256 = digest;
    pf->notice_text = i == 0 ? NOTICE : NULL;
    consent_proof_add_choice(pf, "newsletter", i % 2 ? CONSENT_STATE_GIVEN
                                                     : CONSENT_STATE_REFUSED);
    pf->token_nonce = consent_hex(p, nonce, sizeof nonce);
    pf->token_issued = pf->time - apr_time_from_sec(30);
    pf->token_key_id = "0000000000000000";
    pf->token_defaults = "u";
    return pf;
}

static int generate(consent_store_t *store, const consent_key_t *key,
                    long count, long lanes, apr_pool_t *p)
{
    const char *digest = sha256_hex(p, NOTICE), *lane = NULL, *err;
    apr_pool_t *iter;
    long i;

    apr_pool_create(&iter, p);
    for (i = 0; i < count; ++i) {
        if (i % (count / lanes + 1) == 0) {
            lane = consent_store_lane_id(p);
        }
        apr_pool_clear(iter);
        if (consent_store_record(store, make_proof(iter, i, digest), lane,
                                 key, iter, &err) != CONSENT_STORE_OK) {
            return fail("record", err);
        }
    }
    return 0;
}

int main(int argc, const char *const *argv)
{
    const apr_dbd_driver_t *driver;
    consent_store_t *store;
    consent_key_t *key;
    apr_dbd_t *handle;
    const char *err = NULL;
    apr_pool_t *p;
    int nrows;

    if (argc < 5) {
        fprintf(stderr, "usage: gen_proofs DRIVER PARAMS KEYFILE COUNT "
                "[LANES]\n");
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    apr_dbd_init(p);
    if (apr_dbd_get_driver(p, argv[1], &driver)
        || apr_dbd_open_ex(driver, p, argv[2], &handle, &err)) {
        return fail("open", err);
    }
    if (consent_key_load(&key, argv[3], p, &err)) {
        return fail("key", err);
    }
    if (consent_store_connection_init(driver, handle, p, &err)
        || consent_store_migrate(driver, handle, p, &err)
        || consent_store_open(&store, driver, handle, p, &err)) {
        return fail("store", err);
    }
    if (strcmp(argv[1], "sqlite3") == 0) {
        apr_dbd_query(driver, handle, &nrows, "PRAGMA synchronous=OFF");
    }
    else {
        apr_dbd_query(driver, handle, &nrows,
                      "SET synchronous_commit TO off");
    }
    return generate(store, key, atol(argv[4]),
                    argc > 5 ? atol(argv[5]) : 64, p);
}
