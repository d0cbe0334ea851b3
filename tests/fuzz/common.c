/* See fuzz.h. Failures here are set-up errors, not findings: abort. */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <openssl/sha.h>

#include "consent_log.h"
#include "fuzz.h"

static apr_pool_t *pool;

/* The core logs problems it handles; a fuzzer would drown in them. */
static void log_nothing(void *baton, consent_log_level_t level,
                        apr_status_t rv, const char *file, int line,
                        const char *msg)
{
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz set-up: %s\n", what);
    abort();
}

apr_pool_t *fuzz_pool(void)
{
    if (!pool) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
            die("APR");
        }
        consent_log_set(log_nothing, NULL);
        /* APR's allocator mmaps its blocks, which LeakSanitizer does not
         * scan: without this the schema, held only from pool memory,
         * is reported as leaked when libFuzzer exits. */
        atexit(apr_terminate);
    }
    return pool;
}

const consent_schema_t *fuzz_schema(void)
{
    static consent_schema_t *schema;
    apr_array_header_t *problems;

    if (!schema) {
        problems = apr_array_make(fuzz_pool(), 4, sizeof(consent_problem_t));
        if (consent_schema_load(&schema,
                                FUZZ_SRCDIR "/templates/consent-form.rng",
                                problems, fuzz_pool()) != APR_SUCCESS) {
            die("schema");
        }
    }
    return schema;
}

const consent_form_t *fuzz_form_at(const char *relpath)
{
    consent_form_t *form;
    apr_array_header_t *problems;

    problems = apr_array_make(fuzz_pool(), 4, sizeof(consent_problem_t));
    if (consent_form_compile(&form, fuzz_schema(),
                             apr_pstrcat(fuzz_pool(), FUZZ_SRCDIR "/",
                                         relpath, NULL),
                             problems, fuzz_pool()) != APR_SUCCESS) {
        die(relpath);
    }
    return form;
}

const consent_form_t *fuzz_form(void)
{
    static const consent_form_t *form;

    if (!form) {
        form = fuzz_form_at("templates/examples/newsletter.xml");
    }
    return form;
}

const consent_keyring_t *fuzz_keyring(void)
{
    static consent_keyring_t *ring;
    static unsigned char secret[48];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    consent_key_t *key;

    if (!ring) {
        memset(secret, 'k', sizeof secret);
        key = apr_pcalloc(fuzz_pool(), sizeof *key);
        key->path = "(fuzz)";
        key->bytes = secret;
        key->len = sizeof secret;
        /* the id consent_key_load derives: first bytes of SHA-256 */
        SHA256(secret, sizeof secret, digest);
        memcpy(key->id, digest, CONSENT_KEY_ID_LEN);
        ring = consent_keyring_make(fuzz_pool());
        consent_keyring_add(ring, key);
    }
    return ring;
}

char *fuzz_cstr(const uint8_t *data, size_t size, apr_pool_t *p)
{
    char *s = apr_palloc(p, size + 1);

    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
