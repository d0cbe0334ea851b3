/* One-click unsubscribe tokens (consent_unsub.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <apr_general.h>

#include "consent_unsub.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-unsub-XXXXXX";
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

static consent_keyring_t *ring_of(consent_key_t *a, consent_key_t *b)
{
    consent_keyring_t *ring = consent_keyring_make(pool);

    consent_keyring_add(ring, a);
    if (b) {
        consent_keyring_add(ring, b);
    }
    return ring;
}

static consent_unsub_t link_for(const char *subject, const char *purpose)
{
    consent_unsub_t u;

    memset(&u, 0, sizeof u);
    u.form_id = "newsletter";
    u.subject = subject;
    u.purposes = apr_array_make(pool, 2, sizeof(const char *));
    if (purpose) {
        APR_ARRAY_PUSH(u.purposes, const char *) = purpose;
    }
    return u;
}

static const char *issue(consent_keyring_t *ring, const consent_unsub_t *u)
{
    const char *token = NULL;

    assert_int_equal(consent_unsub_issue(&token, ring, u, pool),
                     APR_SUCCESS);
    return token;
}

static void round_trip(void **state)
{
    consent_unsub_t u = link_for("ada@example.org", "partners"), out;
    const char *token = issue(ring_of(key_a, NULL), &u);

    (void)state;
    assert_true(strncmp(token, "u1.", 3) == 0);
    assert_int_equal(consent_unsub_decode(&out, ring_of(key_a, NULL), token,
                                          pool), CONSENT_UNSUB_OK);
    assert_string_equal(out.form_id, "newsletter");
    assert_string_equal(out.subject, "ada@example.org");
    assert_int_equal(out.purposes->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(out.purposes, 0, const char *),
                        "partners");
    assert_memory_equal(out.key_id, key_a->id, CONSENT_KEY_ID_LEN);
}

static void no_purpose_means_all(void **state)
{
    consent_unsub_t u = link_for("bob@example.org", NULL), out;
    const char *token = issue(ring_of(key_a, NULL), &u);

    (void)state;
    assert_int_equal(consent_unsub_decode(&out, ring_of(key_a, NULL), token,
                                          pool), CONSENT_UNSUB_OK);
    assert_int_equal(out.purposes->nelts, 0);
}

/* The address must not be readable in the URL. */
static void subject_is_not_in_clear(void **state)
{
    consent_unsub_t u = link_for("ada@example.org", NULL);
    const char *a = issue(ring_of(key_a, NULL), &u);
    const char *b = issue(ring_of(key_a, NULL), &u);

    (void)state;
    assert_null(strstr(a, "ada"));
    assert_null(strstr(a, "example"));
    assert_string_not_equal(a, b);          /* a fresh nonce each time */
}

static void every_character_matters(void **state)
{
    consent_unsub_t u = link_for("ada@example.org", "newsletter"), out;
    const char *token = issue(ring_of(key_a, NULL), &u);
    apr_size_t i, n = strlen(token);

    (void)state;
    for (i = 0; i < n; ++i) {
        char *t = apr_pstrdup(pool, token);

        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(consent_unsub_decode(&out, ring_of(key_a, NULL),
                                                  t, pool),
                             CONSENT_UNSUB_OK);
    }
}

static void truncated_and_foreign(void **state)
{
    consent_unsub_t u = link_for("ada@example.org", NULL), out;
    const char *token = issue(ring_of(key_a, NULL), &u);
    consent_keyring_t *ring = ring_of(key_a, NULL);

    (void)state;
    assert_int_equal(consent_unsub_decode(&out, ring, "", pool),
                     CONSENT_UNSUB_MISSING);
    assert_int_equal(consent_unsub_decode(&out, ring, NULL, pool),
                     CONSENT_UNSUB_MISSING);
    assert_int_equal(consent_unsub_decode(&out, ring, "c1.AAAA", pool),
                     CONSENT_UNSUB_MALFORMED);
    assert_int_equal(consent_unsub_decode(
        &out, ring, apr_pstrndup(pool, token, 20), pool),
        CONSENT_UNSUB_MALFORMED);
    assert_int_not_equal(consent_unsub_decode(
        &out, ring, apr_pstrndup(pool, token, strlen(token) - 2), pool),
        CONSENT_UNSUB_OK);
}

static void keys_and_rotation(void **state)
{
    consent_unsub_t u = link_for("ada@example.org", NULL), out;
    const char *old = issue(ring_of(key_a, NULL), &u);

    (void)state;
    /* the old key still listed after the new one: links keep working */
    assert_int_equal(consent_unsub_decode(&out, ring_of(key_b, key_a), old,
                                          pool), CONSENT_UNSUB_OK);
    assert_int_equal(consent_unsub_decode(&out, ring_of(key_b, NULL), old,
                                          pool), CONSENT_UNSUB_UNKNOWN_KEY);
}

static void limits(void **state)
{
    consent_unsub_t u = link_for(NULL, NULL);
    const char *token;
    char *long_subject = apr_palloc(pool, 2000);

    (void)state;
    memset(long_subject, 'a', 1999);
    long_subject[1999] = '\0';
    u.subject = long_subject;
    assert_int_equal(consent_unsub_issue(&token, ring_of(key_a, NULL), &u,
                                         pool), APR_EINVAL);
    u = link_for("a@b.c", "");
    assert_int_equal(consent_unsub_issue(&token, ring_of(key_a, NULL), &u,
                                         pool), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(no_purpose_means_all),
        cmocka_unit_test(subject_is_not_in_clear),
        cmocka_unit_test(every_character_matters),
        cmocka_unit_test(truncated_and_foreign),
        cmocka_unit_test(keys_and_rotation),
        cmocka_unit_test(limits),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    assert_non_null(mkdtemp(tmpdir));
    key_a = key_from("a.key", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    key_b = key_from("b.key", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(apr_pstrcat(pool, tmpdir, "/a.key", NULL));
    unlink(apr_pstrcat(pool, tmpdir, "/b.key", NULL));
    rmdir(tmpdir);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
