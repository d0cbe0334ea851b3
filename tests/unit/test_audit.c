/* verify's audit (consent_audit.c): integers by their text, and
 * checkpoints read back only when their MAC holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "consent_audit.h"
#include "consent_notice.h"
#include "consent_hex.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-audit-XXXXXX";
static consent_key_t *key_a, *key_b;

static consent_key_t *key_from(const char *name, const char *secret)
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

static void canonical_integers(void **state)
{
    static const char *const good[] = {
        "0", "1", "-1", "1796095070949596", "9223372036854775807",
        "-9223372036854775808", NULL
    };
    static const char *const bad[] = {
        "", "1796095070949596x", "01", "-0", "+1", " 1", "1 ", "1.0",
        "1e3", "9223372036854775808", "-9223372036854775809", "x",
        "0x10", "99999999999999999999999999999999", NULL
    };
    int i;

    for (i = 0; good[i]; ++i) {
        assert_true(consent_audit_canonical_int(good[i]));
    }
    for (i = 0; bad[i]; ++i) {
        assert_false(consent_audit_canonical_int(bad[i]));
    }
    assert_false(consent_audit_canonical_int(NULL));
}

/* A checkpoint as consentctl writes it, signed with key. */
static const char *signed_text(const consent_key_t *key, const char *body)
{
    unsigned char mac[CONSENT_SHA256_LEN];
    const char *text = apr_psprintf(pool, "consent-checkpoint-1\n"
                                    "time 2026-12-01T00:00:00.000000Z\n"
                                    "time_us 1796083200000000\n"
                                    "key_id %s\n%s",
                                    consent_hex(pool, key->id,
                                                CONSENT_KEY_ID_LEN), body);

    assert_int_equal(consent_hmac(key, text, strlen(text), mac),
                     APR_SUCCESS);
    return apr_pstrcat(pool, text, "mac ",
                       consent_hex(pool, mac, sizeof mac), "\n", NULL);
}

static consent_keyring_t *ring_of(consent_key_t *k)
{
    consent_keyring_t *ring = consent_keyring_make(pool);

    consent_keyring_add(ring, k);
    return ring;
}

#define COUNTS "count consent_proof 3\ncount consent_lane 1\n" \
               "count consent_notice 1\n"
#define LANE "lane abc0 c0ffee 3 beef\n"

static apr_status_t parse(const char *text, const consent_keyring_t *ring,
                          consent_checkpoint_t **cp)
{
    const char *err = NULL;
    apr_status_t rv = consent_checkpoint_parse(cp, "cp", text, ring, pool,
                                               &err);

    assert_true(rv == APR_SUCCESS ? err == NULL : err != NULL);
    return rv;
}

static void checkpoint_round_trip(void **state)
{
    consent_checkpoint_t *cp;

    assert_int_equal(parse(signed_text(key_a, COUNTS LANE), ring_of(key_a),
                           &cp), APR_SUCCESS);
    assert_int_equal(cp->proofs, 3);
    assert_int_equal(cp->lanes, 1);
    assert_int_equal(cp->notices, 1);
    assert_int_equal(cp->time, APR_INT64_C(1796083200000000));
    assert_int_equal(apr_hash_count(cp->lanes_at), 1);
}

static void checkpoint_refusals(void **state)
{
    const char *good = signed_text(key_a, COUNTS LANE);
    consent_checkpoint_t *cp;
    char *altered = apr_pstrdup(pool, good);

    /* another key, or a key not given */
    assert_int_not_equal(parse(good, ring_of(key_b), &cp), APR_SUCCESS);
    assert_null(cp);
    /* any byte changed */
    *strstr(altered, "proof 3") = 'P';
    assert_int_not_equal(parse(altered, ring_of(key_a), &cp), APR_SUCCESS);
    altered = apr_pstrdup(pool, good);
    strstr(altered, "lane abc0 c0ffee 3")[17] = '4';
    assert_int_not_equal(parse(altered, ring_of(key_a), &cp), APR_SUCCESS);
    /* signed but incomplete or malformed */
    assert_int_not_equal(parse(signed_text(key_a, LANE), ring_of(key_a),
                               &cp), APR_SUCCESS);
    assert_int_not_equal(parse(signed_text(key_a, COUNTS "lane a b 1x c\n"),
                               ring_of(key_a), &cp), APR_SUCCESS);
    assert_int_not_equal(parse(signed_text(key_a, COUNTS "lane a b 1 c d\n"),
                               ring_of(key_a), &cp), APR_SUCCESS);
    assert_int_not_equal(parse(signed_text(key_a, COUNTS "what is this\n"),
                               ring_of(key_a), &cp), APR_SUCCESS);
    /* no mac line, not a checkpoint */
    assert_int_not_equal(parse("consent-checkpoint-1\n" COUNTS,
                               ring_of(key_a), &cp), APR_SUCCESS);
    assert_int_not_equal(parse("hello\n", ring_of(key_a), &cp),
                         APR_SUCCESS);
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(tmpdir));
    key_a = key_from("a.key", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
    key_b = key_from("b.key", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    apr_snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_integers),
        cmocka_unit_test(checkpoint_round_trip),
        cmocka_unit_test(checkpoint_refusals),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, setup, teardown);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
