#include <apr_encode.h>
#include <openssl/rand.h>

#include "consent_token.h"
#include "consent_notice.h"
#include "consent_random.h"
#include "consent_seal.h"

#define TOKEN_PREFIX "c1."
#define TOKEN_VERSION 2
#define TOKEN_VERSION_NO_PAGE 1
#define TOKEN_FIXED_V1 (1 + CONSENT_KEY_ID_LEN + 8 + CONSENT_NONCE_LEN + 4 \
                        + CONSENT_SHA256_LEN)
#define TOKEN_FIXED (TOKEN_FIXED_V1 + 1)
/* Far more than any form needs; bounds what an attacker makes us decode. */
#define TOKEN_MAX_CHARS 2048
#define TOKEN_MAX_SKEW apr_time_from_sec(60)

const char *consent_token_status_str(consent_token_status_t st)
{
    static const char *const names[] = {
        "ok", "missing", "malformed", "unknown key", "bad signature",
        "other form", "older form version", "expired", "issued in the future",
        "issued by another kind of page", "version 1 (no page kind)"
    };

    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

static void put_be(unsigned char *b, apr_uint64_t v, int n)
{
    while (n-- > 0) {
        b[n] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static apr_uint64_t get_be(const unsigned char *b, int n)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < n; ++i) {
        v = (v << 8) | b[i];
    }
    return v;
}

static unsigned char *put_str(unsigned char *b, const char *s, apr_size_t n)
{
    *b++ = (unsigned char)n;
    memcpy(b, s, n);
    return b + n;
}

/* Writes the payload into buf (large enough); returns its length. */
static apr_size_t encode_payload(unsigned char *buf,
                                 const consent_token_facts_t *f)
{
    unsigned char *b = buf;

    *b++ = TOKEN_VERSION;
    memcpy(b, f->key_id, CONSENT_KEY_ID_LEN);
    b += CONSENT_KEY_ID_LEN;
    put_be(b, (apr_uint64_t)f->issued, 8);
    b += 8;
    memcpy(b, f->nonce, CONSENT_NONCE_LEN);
    b += CONSENT_NONCE_LEN;
    put_be(b, f->form_version, 4);
    b += 4;
    memcpy(b, f->notice_sha256, CONSENT_SHA256_LEN);
    b += CONSENT_SHA256_LEN;
    *b++ = (unsigned char)f->page;
    b = put_str(b, f->form_id, strlen(f->form_id));
    b = put_str(b, f->lang, strlen(f->lang));
    b = put_str(b, f->defaults, strlen(f->defaults));
    return (apr_size_t)(b - buf);
}

/* The MAC covers the prefix too, so a future format cannot be confused. */
static apr_status_t sign(const consent_key_t *key, const unsigned char *pl,
                         apr_size_t len, unsigned char *mac, apr_pool_t *p)
{
    unsigned char *msg = apr_palloc(p, len + sizeof TOKEN_PREFIX);

    memcpy(msg, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
    memcpy(msg + sizeof TOKEN_PREFIX - 1, pl, len);
    return consent_hmac(key, msg, len + sizeof TOKEN_PREFIX - 1, mac);
}

apr_status_t consent_token_issue(const char **token,
                                 const consent_keyring_t *ring,
                                 consent_token_facts_t *facts,
                                 apr_pool_t *p)
{
    const consent_key_t *key;
    unsigned char *buf;
    apr_size_t len;
    const char *b64;

    if (!ring || ring->keys->nelts == 0 || facts->page < CONSENT_PAGE_FORM
        || facts->page > CONSENT_PAGE_GUARD || strlen(facts->form_id) > 255
        || strlen(facts->lang) > 255 || strlen(facts->defaults) > 255) {
        return APR_EINVAL;
    }
    key = APR_ARRAY_IDX(ring->keys, 0, const consent_key_t *);
    memcpy(facts->key_id, key->id, CONSENT_KEY_ID_LEN);
    facts->issued = apr_time_now();
    if (consent_random_bytes(facts->nonce, CONSENT_NONCE_LEN)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    buf = apr_palloc(p, TOKEN_FIXED + 3 * 256 + CONSENT_SHA256_LEN);
    len = encode_payload(buf, facts);
    if (sign(key, buf, len, buf + len, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    b64 = apr_pencode_base64(p, (const char *)buf, len + CONSENT_SHA256_LEN,
                             APR_ENCODE_BASE64URL, NULL);
    if (!b64) {
        return APR_EGENERAL;
    }
    *token = apr_pstrcat(p, TOKEN_PREFIX, b64, NULL);
    return APR_SUCCESS;
}

/* Reads a length-prefixed string; NULL when it overruns end. */
static const unsigned char *get_str(const unsigned char *b,
                                    const unsigned char *end,
                                    const char **out, apr_pool_t *p)
{
    apr_size_t n;

    if (b >= end || (apr_size_t)(end - b) < 1u + *b) {
        return NULL;
    }
    n = *b++;
    if (memchr(b, '\0', n)) {
        return NULL;
    }
    *out = apr_pstrmemdup(p, (const char *)b, n);
    return b + n;
}

static int parse_payload(consent_token_facts_t *f, const unsigned char *b,
                         apr_size_t len, apr_pool_t *p)
{
    const unsigned char *end = b + len;
    int version = b[0];

    if ((version != TOKEN_VERSION && version != TOKEN_VERSION_NO_PAGE)
        || len < (version == TOKEN_VERSION ? TOKEN_FIXED : TOKEN_FIXED_V1)
                 + 3) {
        return 0;
    }
    ++b;
    memcpy(f->key_id, b, CONSENT_KEY_ID_LEN);
    b += CONSENT_KEY_ID_LEN;
    /* A time before 1970 was never issued here, and would overflow the
     * age computed in consent_token_verify() (found by fuzz_token). */
    if (b[0] & 0x80) {
        return 0;
    }
    f->issued = (apr_time_t)get_be(b, 8);
    b += 8;
    memcpy(f->nonce, b, CONSENT_NONCE_LEN);
    b += CONSENT_NONCE_LEN;
    f->form_version = (unsigned)get_be(b, 4);
    b += 4;
    memcpy(f->notice_sha256, b, CONSENT_SHA256_LEN);
    b += CONSENT_SHA256_LEN;
    f->page = CONSENT_PAGE_NONE;
    if (version == TOKEN_VERSION) {
        if (*b < CONSENT_PAGE_FORM || *b > CONSENT_PAGE_GUARD) {
            return 0;
        }
        f->page = (consent_page_kind_t)*b++;
    }
    b = get_str(b, end, &f->form_id, p);
    b = b ? get_str(b, end, &f->lang, p) : NULL;
    b = b ? get_str(b, end, &f->defaults, p) : NULL;
    return b == end;
}

consent_token_status_t consent_token_decode(consent_token_facts_t *facts,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            apr_pool_t *p)
{
    const consent_key_t *key;
    unsigned char *buf, mac[CONSENT_SHA256_LEN];
    apr_size_t len, plen;

    memset(facts, 0, sizeof *facts);
    if (!token || !*token) {
        return CONSENT_TOKEN_MISSING;
    }
    if (strncmp(token, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) != 0
        || strlen(token) > TOKEN_MAX_CHARS) {
        return CONSENT_TOKEN_MALFORMED;
    }
    buf = consent_b64url_decode_strict(token + sizeof TOKEN_PREFIX - 1, &len,
                                        p);
    if (!buf || len < TOKEN_FIXED_V1 + CONSENT_SHA256_LEN) {
        return CONSENT_TOKEN_MALFORMED;
    }
    plen = len - CONSENT_SHA256_LEN;
    if (buf[0] != TOKEN_VERSION && buf[0] != TOKEN_VERSION_NO_PAGE) {
        return CONSENT_TOKEN_MALFORMED;
    }
    key = consent_keyring_find(ring, buf + 1);
    if (!key) {
        return CONSENT_TOKEN_UNKNOWN_KEY;
    }
    if (sign(key, buf, plen, mac, p) != APR_SUCCESS
        || !consent_mac_equal(mac, buf + plen, CONSENT_SHA256_LEN)) {
        return CONSENT_TOKEN_BAD_MAC;
    }
    /* Only a payload we signed ourselves gets parsed. */
    if (!parse_payload(facts, buf, plen, p)) {
        return CONSENT_TOKEN_MALFORMED;
    }
    return CONSENT_TOKEN_OK;
}

static consent_token_status_t check_binding(const consent_token_facts_t *f,
                                            const consent_form_t *form)
{
    const consent_notice_t *notice;

    if (strcmp(f->form_id, form->id) != 0) {
        return CONSENT_TOKEN_WRONG_FORM;
    }
    notice = consent_notice_get(form, f->lang);
    if (f->form_version != form->version || !notice
        || strlen(f->defaults) != (apr_size_t)form->purposes->nelts
        || memcmp(notice->sha256, f->notice_sha256, CONSENT_SHA256_LEN)) {
        return CONSENT_TOKEN_STALE_FORM;
    }
    return CONSENT_TOKEN_OK;
}

consent_token_status_t consent_token_verify(consent_token_facts_t *facts,
                                            const consent_keyring_t *ring,
                                            const char *token,
                                            const consent_form_t *form,
                                            apr_time_t now,
                                            apr_interval_time_t lifetime,
                                            apr_pool_t *p)
{
    return consent_token_verify_page(facts, ring, token, form,
                                     CONSENT_PAGE_FORM, now, lifetime, p);
}

consent_token_status_t consent_token_verify_page(
    consent_token_facts_t *facts, const consent_keyring_t *ring,
    const char *token, const consent_form_t *form, int page,
    apr_time_t now, apr_interval_time_t lifetime, apr_pool_t *p)
{
    consent_token_status_t st = consent_token_decode(facts, ring, token, p);

    /* the page first: a token of another page says nothing here */
    if (st == CONSENT_TOKEN_OK && facts->page == CONSENT_PAGE_NONE) {
        st = CONSENT_TOKEN_OLD_FORMAT;
    }
    else if (st == CONSENT_TOKEN_OK && (int)facts->page != page) {
        st = CONSENT_TOKEN_WRONG_PAGE;
    }
    if (st == CONSENT_TOKEN_OK) {
        st = check_binding(facts, form);
    }
    if (st == CONSENT_TOKEN_OK && facts->issued > now + TOKEN_MAX_SKEW) {
        st = CONSENT_TOKEN_FUTURE;
    }
    if (st == CONSENT_TOKEN_OK && now - facts->issued > lifetime) {
        st = CONSENT_TOKEN_EXPIRED;
    }
    return st;
}
