/*
 * Render tokens: the one value of a POST that the server itself wrote and
 * that comes back from anyone. The first byte picks what the rest is:
 *   even: a token string as posted (decoding, prefix, base64, MAC);
 *   odd:  a payload that the fuzzer's key signs here, so the fuzzer gets
 *         past the MAC into the payload reader and the binding checks,
 *         which a forged token never reaches.
 */
#include <string.h>
#include <apr_encode.h>

#include "consent_token.h"
#include "fuzz.h"

#define PREFIX "c1."

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_form();
    fuzz_keyring();
    return 0;
}

/* "c1." base64url(payload || HMAC(key, "c1." payload)), as issued. */
static const char *signed_token(const uint8_t *data, size_t size,
                                apr_pool_t *p)
{
    const consent_key_t *key =
        APR_ARRAY_IDX(fuzz_keyring()->keys, 0, const consent_key_t *);
    unsigned char *buf = apr_palloc(p, sizeof PREFIX + size + 32);
    unsigned char *payload = buf + sizeof PREFIX - 1;

    memcpy(buf, PREFIX, sizeof PREFIX - 1);
    memcpy(payload, data, size);
    /* version (1 or 2) and key id as ours, or nothing past them is
     * reached */
    if (size >= 1 + CONSENT_KEY_ID_LEN) {
        payload[0] = payload[0] == 1 ? 1 : 2;
        memcpy(payload + 1, key->id, CONSENT_KEY_ID_LEN);
    }
    consent_hmac(key, buf, sizeof PREFIX - 1 + size, payload + size);
    return apr_pstrcat(p, PREFIX,
                       apr_pencode_base64_binary(p, payload, size + 32,
                                                 APR_ENCODE_BASE64URL,
                                                 NULL), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    consent_token_facts_t facts;
    apr_pool_t *p;
    const char *token;

    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_pool());
    token = data[0] & 1 ? signed_token(data + 1, size - 1, p)
                        : fuzz_cstr(data + 1, size - 1, p);
    consent_token_decode(&facts, fuzz_keyring(), token, p);
    consent_token_verify(&facts, fuzz_keyring(), token, fuzz_form(),
                         apr_time_now(), apr_time_from_sec(7200), p);
    apr_pool_destroy(p);
    return 0;
}
