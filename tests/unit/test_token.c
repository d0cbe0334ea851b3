/* Secret files and render tokens (consent_key.c, consent_token.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <apr_encode.h>

#include "consent_token.h"
#include "consent_notice.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/consent-test-XXXXXX";

static const char *write_file(const char *name, const char *content,
                              mode_t mode)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

static consent_key_t *key_from(const char *name, const char *secret)
{
    consent_key_t *key;
    const char *err = NULL;

    assert_int_equal(consent_key_load(&key, write_file(name, secret, 0600),
                                      pool, &err), APR_SUCCESS);
    assert_null(err);
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

static consent_key_t *key_a, *key_b;

/* A form built by hand: the token only needs id, version, notices. */
static consent_form_t *make_form(const char *id, unsigned version,
                                 const char *notice_text)
{
    consent_form_t *form = apr_pcalloc(pool, sizeof *form);
    consent_notice_t *n = apr_pcalloc(pool, sizeof *n);
    int i;

    form->id = id;
    form->version = version;
    form->purposes = apr_array_make(pool, 2, sizeof(void *));
    for (i = 0; i < 2; ++i) {
        APR_ARRAY_PUSH(form->purposes, void *) = NULL;
    }
    form->notices = apr_hash_make(pool);
    n->lang = "en";
    n->text = notice_text;
    /* any 32 bytes that differ with the text will do here */
    memset(n->sha256, 0, sizeof n->sha256);
    memcpy(n->sha256, notice_text,
           strlen(notice_text) < sizeof n->sha256 ? strlen(notice_text)
                                                  : sizeof n->sha256);
    apr_hash_set(form->notices, "en", APR_HASH_KEY_STRING, n);
    return form;
}

static const char *issue(const consent_keyring_t *ring,
                         const consent_form_t *form, const char *defaults)
{
    consent_token_facts_t f;
    const char *token;

    memset(&f, 0, sizeof f);
    f.form_id = form->id;
    f.form_version = form->version;
    f.lang = "en";
    f.defaults = defaults;
    f.page = CONSENT_PAGE_FORM;
    memcpy(f.notice_sha256, consent_notice_get(form, "en")->sha256, 32);
    assert_int_equal(consent_token_issue(&token, ring, &f, pool),
                     APR_SUCCESS);
    return token;
}

static const char *issue_for(const consent_keyring_t *ring,
                             const consent_form_t *form, int page)
{
    consent_token_facts_t f;
    const char *token;

    memset(&f, 0, sizeof f);
    f.form_id = form->id;
    f.form_version = form->version;
    f.lang = "en";
    f.defaults = "00";
    f.page = (consent_page_kind_t)page;
    memcpy(f.notice_sha256, consent_notice_get(form, "en")->sha256, 32);
    if (consent_token_issue(&token, ring, &f, pool) != APR_SUCCESS) {
        return NULL;
    }
    return token;
}

static consent_token_status_t verify_at(const consent_keyring_t *ring,
                                        const char *token,
                                        const consent_form_t *form,
                                        apr_time_t now)
{
    consent_token_facts_t f;

    return consent_token_verify(&f, ring, token, form, now,
                                apr_time_from_sec(3600), pool);
}

static consent_token_status_t verify(const consent_keyring_t *ring,
                                     const char *token,
                                     const consent_form_t *form)
{
    return verify_at(ring, token, form, apr_time_now());
}

static void round_trip_keeps_every_fact(void **state)
{
    consent_form_t *form = make_form("newsletter", 3, "notice");
    const char *token = issue(ring_of(key_a, NULL), form, "01");
    consent_token_facts_t f;

    assert_int_equal(consent_token_verify(&f, ring_of(key_a, NULL), token,
                                          form, apr_time_now(),
                                          apr_time_from_sec(60), pool),
                     CONSENT_TOKEN_OK);
    assert_string_equal(f.form_id, "newsletter");
    assert_int_equal(f.form_version, 3);
    assert_string_equal(f.lang, "en");
    assert_string_equal(f.defaults, "01");
    assert_memory_equal(f.key_id, key_a->id, CONSENT_KEY_ID_LEN);
    assert_true(apr_time_now() - f.issued < apr_time_from_sec(5));
}

static void nonces_differ(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    consent_keyring_t *ring = ring_of(key_a, NULL);

    assert_string_not_equal(issue(ring, form, "00"), issue(ring, form, "00"));
}

/* Every character of the token matters: no change goes unnoticed. */
static void tampering_any_character_is_refused(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    consent_keyring_t *ring = ring_of(key_a, NULL);
    const char *token = issue(ring, form, "00");
    apr_size_t i, n = strlen(token);

    for (i = 0; i < n; ++i) {
        char *t = apr_pstrdup(pool, token);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(verify(ring, t, form), CONSENT_TOKEN_OK);
        t[i] = token[i] == '-' ? '_' : '-';
        assert_int_not_equal(verify(ring, t, form), CONSENT_TOKEN_OK);
    }
    assert_int_equal(verify(ring, token, form), CONSENT_TOKEN_OK);
}

static void truncated_or_padded_is_malformed(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    consent_keyring_t *ring = ring_of(key_a, NULL);
    const char *token = issue(ring, form, "00");
    apr_size_t i, n = strlen(token);

    for (i = 0; i < n; ++i) {
        assert_int_not_equal(verify(ring, apr_pstrndup(pool, token, i),
                                    form), CONSENT_TOKEN_OK);
    }
    assert_int_equal(verify(ring, "", form), CONSENT_TOKEN_MISSING);
    assert_int_equal(verify(ring, NULL, form), CONSENT_TOKEN_MISSING);
    assert_int_not_equal(verify(ring, apr_pstrcat(pool, token, "A", NULL),
                                form), CONSENT_TOKEN_OK);
    assert_int_equal(verify(ring, apr_pstrcat(pool, token, "==", NULL),
                            form), CONSENT_TOKEN_MALFORMED);
    assert_int_equal(verify(ring, "c1.!!!!", form), CONSENT_TOKEN_MALFORMED);
    assert_int_equal(verify(ring, "x", form), CONSENT_TOKEN_MALFORMED);
}

static void wrong_key_is_unknown(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    const char *token = issue(ring_of(key_a, NULL), form, "00");

    assert_int_equal(verify(ring_of(key_b, NULL), token, form),
                     CONSENT_TOKEN_UNKNOWN_KEY);
}

static void rotation_old_key_still_verifies(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    const char *old = issue(ring_of(key_a, NULL), form, "00");
    consent_keyring_t *rotated = ring_of(key_b, key_a);
    consent_token_facts_t f;
    const char *fresh = issue(rotated, form, "00");

    assert_int_equal(verify(rotated, old, form), CONSENT_TOKEN_OK);
    assert_int_equal(consent_token_decode(&f, rotated, fresh, pool),
                     CONSENT_TOKEN_OK);
    /* the new key signs once it is listed first */
    assert_memory_equal(f.key_id, key_b->id, CONSENT_KEY_ID_LEN);
    assert_int_equal(verify(ring_of(key_a, NULL), fresh, form),
                     CONSENT_TOKEN_UNKNOWN_KEY);
}

static void expired_and_future(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    consent_keyring_t *ring = ring_of(key_a, NULL);
    const char *token = issue(ring, form, "00");
    apr_time_t now = apr_time_now();

    assert_int_equal(verify_at(ring, token, form,
                               now + apr_time_from_sec(3590)),
                     CONSENT_TOKEN_OK);
    assert_int_equal(verify_at(ring, token, form,
                               now + apr_time_from_sec(3700)),
                     CONSENT_TOKEN_EXPIRED);
    assert_int_equal(verify_at(ring, token, form,
                               now - apr_time_from_sec(30)),
                     CONSENT_TOKEN_OK);
    assert_int_equal(verify_at(ring, token, form,
                               now - apr_time_from_sec(120)),
                     CONSENT_TOKEN_FUTURE);
}

static void other_form_version_or_notice(void **state)
{
    consent_keyring_t *ring = ring_of(key_a, NULL);
    const char *token = issue(ring, make_form("newsletter", 1, "notice"),
                              "00");

    assert_int_equal(verify(ring, token, make_form("survey", 1, "notice")),
                     CONSENT_TOKEN_WRONG_FORM);
    assert_int_equal(verify(ring, token, make_form("newsletter", 2,
                                                   "notice")),
                     CONSENT_TOKEN_STALE_FORM);
    assert_int_equal(verify(ring, token, make_form("newsletter", 1,
                                                   "changed")),
                     CONSENT_TOKEN_STALE_FORM);
}

static void defaults_are_signed(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    consent_keyring_t *ring = ring_of(key_a, NULL);
    consent_token_facts_t f;

    assert_int_equal(consent_token_verify(&f, ring, issue(ring, form, "10"),
                                          form, apr_time_now(),
                                          apr_time_from_sec(60), pool),
                     CONSENT_TOKEN_OK);
    assert_string_equal(f.defaults, "10");
    /* a count that does not match the form's purposes is stale */
    assert_int_equal(verify(ring, issue(ring, form, "0"), form),
                     CONSENT_TOKEN_STALE_FORM);
}

static void expect_key_refused(const char *path, const char *needle)
{
    consent_key_t *key;
    const char *err = NULL;

    assert_int_equal(consent_key_load(&key, path, pool, &err), APR_EGENERAL);
    assert_null(key);
    assert_non_null(err);
    assert_non_null(strstr(err, needle));
}

static void bad_secret_files_are_refused(void **state)
{
    const char *secret = "0123456789abcdef0123456789abcdef";

    expect_key_refused(apr_pstrcat(pool, tmpdir, "/absent", NULL), "absent");
    expect_key_refused(write_file("short", "0123456789abcdef0123\n", 0600),
                       "at least 32");
    expect_key_refused(write_file("group", secret, 0640), "group or others");
    expect_key_refused(write_file("world", secret, 0604), "group or others");
    expect_key_refused(tmpdir, "not a regular file");
}

/* Refused after its bytes were read (mode 0600, too short): the one
 * error path where the secret is in memory when the message is made. A
 * 0644 file would be refused for its mode before any byte is read. */
static void secret_never_in_messages(void **state)
{
    consent_key_t *key;
    const char *err = NULL;
    const char *path = write_file("leaky", "SECRET-SECRET-SECRET-SECR\n",
                                  0600);

    assert_int_equal(consent_key_load(&key, path, pool, &err), APR_EGENERAL);
    assert_non_null(err);
    /* the refusal came from reading: it counts the bytes read */
    assert_non_null(strstr(err, "holds 25 bytes"));
    assert_null(strstr(err, "SECRET"));
    assert_null(strstr(err, "SECR"));
}

static void trailing_newline_is_not_key_material(void **state)
{
    consent_key_t *a = key_from("nl1", "0123456789abcdef0123456789abcdef\n");
    consent_key_t *b = key_from("nl2", "0123456789abcdef0123456789abcdef");

    assert_int_equal(a->len, 32);
    assert_memory_equal(a->id, b->id, CONSENT_KEY_ID_LEN);
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

/* A token is good for the kind of page that issued it, and no other. */
static void token_is_bound_to_its_page(void **state)
{
    consent_form_t *form = make_form("newsletter", 1, "notice");
    consent_keyring_t *ring = ring_of(key_a, NULL);
    consent_token_facts_t f;
    int issued, posted;

    for (issued = CONSENT_PAGE_FORM; issued <= CONSENT_PAGE_GUARD;
         ++issued) {
        const char *token = issue_for(ring, form, issued);

        assert_non_null(token);
        for (posted = CONSENT_PAGE_FORM; posted <= CONSENT_PAGE_GUARD;
             ++posted) {
            assert_int_equal(consent_token_verify_page(
                &f, ring, token, form, posted, apr_time_now(),
                apr_time_from_sec(60), pool), issued == posted
                ? CONSENT_TOKEN_OK : CONSENT_TOKEN_WRONG_PAGE);
        }
    }
    /* no token without a page kind is issued any more */
    assert_null(issue_for(ring, form, CONSENT_PAGE_NONE));
    assert_null(issue_for(ring, form, 7));
}

/* A version 1 token (no page kind) of the same key: answered as stale,
 * never accepted. Built by hand as the old code did. */
static void version_1_token_is_old_format(void **state)
{
    static const char prefix[] = "c1.";
    consent_form_t *form = make_form("newsletter", 1, "notice");
    consent_keyring_t *ring = ring_of(key_a, NULL);
    unsigned char buf[256], *b = buf;
    apr_time_t now = apr_time_now();
    unsigned char msg[300];
    consent_token_facts_t f;
    const char *token;
    int i;

    *b++ = 1;
    memcpy(b, key_a->id, CONSENT_KEY_ID_LEN);
    b += CONSENT_KEY_ID_LEN;
    for (i = 7; i >= 0; --i) {
        *b++ = (unsigned char)((apr_uint64_t)now >> (8 * i));
    }
    memset(b, 7, CONSENT_NONCE_LEN);
    b += CONSENT_NONCE_LEN;
    memcpy(b, "\0\0\0\1", 4);
    b += 4;
    memcpy(b, consent_notice_get(form, "en")->sha256, 32);
    b += 32;
    memcpy(b, "\012newsletter\002en\00200", 17);
    b += 17;
    memcpy(msg, prefix, 3);
    memcpy(msg + 3, buf, (size_t)(b - buf));
    assert_int_equal(consent_hmac(key_a, msg, 3 + (apr_size_t)(b - buf), b),
                     APR_SUCCESS);
    b += 32;
    token = apr_pstrcat(pool, prefix, apr_pencode_base64_binary(
        pool, buf, (apr_size_t)(b - buf), APR_ENCODE_BASE64URL, NULL), NULL);
    assert_int_equal(consent_token_decode(&f, ring, token, pool),
                     CONSENT_TOKEN_OK);
    assert_int_equal(f.page, CONSENT_PAGE_NONE);
    for (i = CONSENT_PAGE_FORM; i <= CONSENT_PAGE_GUARD; ++i) {
        assert_int_equal(consent_token_verify_page(
            &f, ring, token, form, i, now, apr_time_from_sec(60), pool),
            CONSENT_TOKEN_OLD_FORMAT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_keeps_every_fact),
        cmocka_unit_test(nonces_differ),
        cmocka_unit_test(tampering_any_character_is_refused),
        cmocka_unit_test(truncated_or_padded_is_malformed),
        cmocka_unit_test(wrong_key_is_unknown),
        cmocka_unit_test(rotation_old_key_still_verifies),
        cmocka_unit_test(expired_and_future),
        cmocka_unit_test(other_form_version_or_notice),
        cmocka_unit_test(defaults_are_signed),
        cmocka_unit_test(bad_secret_files_are_refused),
        cmocka_unit_test(secret_never_in_messages),
        cmocka_unit_test(trailing_newline_is_not_key_material),
        cmocka_unit_test(token_is_bound_to_its_page),
        cmocka_unit_test(version_1_token_is_old_format),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, setup, teardown);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
