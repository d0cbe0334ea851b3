/*
 * Proof records (LEGAL.md R7): receipt ids, the canonical bytes that are
 * MACed, and the JSON line of `consentctl export`.
 *
 * The canonical form is "name:length:value\n" per field in a fixed order,
 * a NULL value written "name:-\n": no value can slide into its neighbour
 * and NULL stays distinct from "". notice_text is left out: the record
 * holds its digest, and the store checks the text against the digest.
 */
#include <apr_uuid.h>

#include "consent_proof.h"
#include "consent_hex.h"

static void put_bytes(apr_array_header_t *out, const void *data,
                      apr_size_t n)
{
    const char *b = data;

    while (n-- > 0) {
        *(char *)apr_array_push(out) = *b++;
    }
}

consent_proof_t *consent_proof_make(apr_pool_t *p, const char *event)
{
    consent_proof_t *proof = apr_pcalloc(p, sizeof *proof);
    char buf[APR_UUID_FORMATTED_LENGTH + 1];
    apr_uuid_t uuid;

    apr_uuid_get(&uuid);
    apr_uuid_format(buf, &uuid);
    proof->receipt_id = apr_pstrdup(p, buf);
    proof->event = apr_pstrdup(p, event);
    proof->time = apr_time_now();
    proof->choices = apr_array_make(p, 4, sizeof(consent_choice_t));
    return proof;
}

void consent_proof_add_choice(consent_proof_t *proof, const char *purpose,
                              const char *state)
{
    consent_choice_t *c = apr_array_push(proof->choices);

    c->purpose = purpose;
    c->state = state;
}

static const char *dupstr(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

consent_proof_t *consent_proof_copy(apr_pool_t *p, const consent_proof_t *in)
{
    consent_proof_t *pf = apr_pmemdup(p, in, sizeof *pf);
    const char **s[] = { &pf->receipt_id, &pf->event, &pf->site, &pf->ip,
                         &pf->user_agent, &pf->subject, &pf->form_id,
                         &pf->lang, &pf->regime, &pf->notice_sha256,
                         &pf->notice_text, &pf->token_nonce,
                         &pf->token_key_id, &pf->token_defaults, &pf->lane,
                         &pf->prev_mac, &pf->mac_key_id, &pf->mac,
                         &pf->erasure };
    unsigned i;

    for (i = 0; i < sizeof s / sizeof *s; ++i) {
        *s[i] = dupstr(p, *s[i]);
    }
    pf->choices = apr_array_make(p, in->choices ? in->choices->nelts : 1,
                                 sizeof(consent_choice_t));
    for (i = 0; in->choices && i < (unsigned)in->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(in->choices, i,
                                                   consent_choice_t);

        consent_proof_add_choice(pf, dupstr(p, c->purpose),
                                 dupstr(p, c->state));
    }
    return pf;
}

/* ---- choices: "id=state;id=state" ------------------------------------ */

/* Purpose ids are plain names, but the encoding must invert whatever
 * it is given: the three separators are percent-escaped. */
static void put_escaped(apr_array_header_t *out, const char *s)
{
    for (; *s; ++s) {
        if (*s == '%' || *s == ';' || *s == '=') {
            char hex[4];

            apr_snprintf(hex, sizeof hex, "%%%02X", (unsigned char)*s);
            put_bytes(out, hex, 3);
        }
        else {
            *(char *)apr_array_push(out) = *s;
        }
    }
}

const char *consent_choices_encode(apr_pool_t *p,
                                   const apr_array_header_t *choices)
{
    apr_array_header_t *out = apr_array_make(p, 64, 1);
    int i;

    for (i = 0; choices && i < choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(choices, i,
                                                   consent_choice_t);
        if (i > 0) {
            *(char *)apr_array_push(out) = ';';
        }
        put_escaped(out, c->purpose ? c->purpose : "");
        *(char *)apr_array_push(out) = '=';
        put_escaped(out, c->state ? c->state : "");
    }
    *(char *)apr_array_push(out) = '\0';
    return out->elts;
}

/* Decodes in place (the result is never longer). */
static char *unescape(char *s)
{
    char *in = s, *out = s;

    while (*in) {
        if (in[0] == '%' && consent_hex_digit(in[1]) >= 0
            && consent_hex_digit(in[2]) >= 0) {
            *out++ = (char)(consent_hex_digit(in[1]) * 16
                            + consent_hex_digit(in[2]));
            in += 3;
        }
        else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return s;
}

apr_array_header_t *consent_choices_decode(apr_pool_t *p, const char *s)
{
    apr_array_header_t *choices = apr_array_make(p, 4,
                                                 sizeof(consent_choice_t));
    char *copy, *item, *last;

    if (s == NULL || *s == '\0') {
        return choices;
    }
    copy = apr_pstrdup(p, s);
    for (item = apr_strtok(copy, ";", &last); item;
         item = apr_strtok(NULL, ";", &last)) {
        consent_choice_t *c = apr_array_push(choices);
        char *eq = strchr(item, '=');

        if (eq) {
            *eq = '\0';
        }
        c->purpose = unescape(item);
        c->state = eq ? unescape(eq + 1) : "";
    }
    return choices;
}

/* ---- canonical form and MAC ------------------------------------------ */

static void put_field(apr_array_header_t *out, const char *name,
                      const char *value)
{
    const char *line;

    if (value == NULL) {
        line = apr_psprintf(out->pool, "%s:-\n", name);
    }
    else {
        line = apr_psprintf(out->pool, "%s:%" APR_SIZE_T_FMT ":", name,
                            strlen(value));
    }
    put_bytes(out, line, strlen(line));
    if (value != NULL) {
        put_bytes(out, value, strlen(value));
        *(char *)apr_array_push(out) = '\n';
    }
}

static const char *int64_str(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

const char *consent_proof_canonical(apr_pool_t *p,
                                    const consent_proof_t *proof,
                                    apr_size_t *len)
{
    apr_array_header_t *out = apr_array_make(p, 1024, 1);

    put_field(out, "v", "consent-proof-1");
    put_field(out, "receipt_id", proof->receipt_id);
    put_field(out, "event", proof->event);
    if (proof->site && *proof->site) {
        put_field(out, "site", proof->site);
    }
    put_field(out, "time", int64_str(p, proof->time));
    put_field(out, "ip", proof->ip);
    put_field(out, "user_agent", proof->user_agent);
    put_field(out, "subject", proof->subject);
    put_field(out, "form_id", proof->form_id);
    put_field(out, "form_version", int64_str(p, proof->form_version));
    put_field(out, "lang", proof->lang);
    put_field(out, "regime", proof->regime);
    put_field(out, "notice_sha256", proof->notice_sha256);
    put_field(out, "choices", consent_choices_encode(p, proof->choices));
    put_field(out, "token_nonce", proof->token_nonce);
    put_field(out, "token_issued", int64_str(p, proof->token_issued));
    put_field(out, "token_key_id", proof->token_key_id);
    put_field(out, "token_defaults", proof->token_defaults);
    put_field(out, "lane", proof->lane);
    put_field(out, "lane_seq", int64_str(p, proof->lane_seq));
    put_field(out, "prev_mac", proof->prev_mac);
    put_field(out, "mac_key_id", proof->mac_key_id);
    *len = out->nelts;
    *(char *)apr_array_push(out) = '\0';
    return out->elts;
}

static const char *mac_hex(apr_pool_t *p, const consent_proof_t *proof,
                           const consent_key_t *key)
{
    unsigned char mac[CONSENT_SHA256_LEN];
    const char *data;
    apr_size_t len;

    data = consent_proof_canonical(p, proof, &len);
    if (consent_hmac(key, data, len, mac) != APR_SUCCESS) {
        return NULL;
    }
    return consent_hex(p, mac, sizeof mac);
}

apr_status_t consent_proof_seal(consent_proof_t *proof,
                                const consent_key_t *key, apr_pool_t *p)
{
    proof->mac_key_id = consent_hex(p, key->id, CONSENT_KEY_ID_LEN);
    proof->mac = mac_hex(p, proof, key);
    return proof->mac ? APR_SUCCESS : APR_EGENERAL;
}

/* The key whose hex id is id_hex, NULL when the ring lacks it. */
const consent_key_t *consent_proof_key(const consent_keyring_t *ring,
                                       const char *id_hex)
{
    unsigned char id[CONSENT_KEY_ID_LEN];

    if (id_hex == NULL
        || strlen(id_hex) != 2 * CONSENT_KEY_ID_LEN
        || !consent_hex_decode(id, id_hex, CONSENT_KEY_ID_LEN)) {
        return NULL;
    }
    return consent_keyring_find(ring, id);
}

/*
 * Tombstones. The record's MAC cannot be checked once its personal fields
 * are gone (an HMAC is not made of parts), so the purge, which held the
 * key and checked that MAC first, seals what remains with a second MAC
 * that covers the first: the chain (next record's prev_mac, lane head,
 * checkpoints) still runs through the first, untouched, and the first is
 * a keyed commitment to what was erased, useless without the key.
 */
const char *consent_proof_tomb_mac(apr_pool_t *p, const consent_proof_t *tomb,
                                   const char *erased_by,
                                   const consent_key_t *key)
{
    apr_array_header_t *out = apr_array_make(p, 1024, 1);
    unsigned char mac[CONSENT_SHA256_LEN];
    const char *rest;
    apr_size_t len;

    put_field(out, "v", "consent-tombstone-1");
    put_field(out, "erased_by", erased_by);
    put_field(out, "mac", tomb->mac);
    rest = consent_proof_canonical(p, tomb, &len);
    put_bytes(out, rest, len);
    if (consent_hmac(key, out->elts, out->nelts, mac) != APR_SUCCESS) {
        return NULL;
    }
    return consent_hex(p, mac, sizeof mac);
}

int consent_proof_erasure_parse(apr_pool_t *p, const char *erasure,
                                const char **erased_by,
                                const char **tomb_mac)
{
    const char *sp = erasure ? strchr(erasure, ' ') : NULL;
    const char *h;

    if (sp == NULL || sp == erasure || strlen(sp + 1)
        != 2 * CONSENT_SHA256_LEN) {
        return 0;
    }
    for (h = sp + 1; *h; ++h) {
        if (consent_hex_digit(*h) < 0) {
            return 0;
        }
    }
    *erased_by = apr_pstrmemdup(p, erasure, (apr_size_t)(sp - erasure));
    *tomb_mac = sp + 1;
    return strchr(*erased_by, ' ') == NULL;
}

static int hex_same(const char *a, const char *b)
{
    return a && b && strlen(a) == strlen(b)
           && consent_mac_equal((const unsigned char *)a,
                                (const unsigned char *)b, strlen(a));
}

int consent_proof_check(const consent_proof_t *proof,
                        const consent_keyring_t *ring, apr_pool_t *p)
{
    const consent_key_t *key = consent_proof_key(ring, proof->mac_key_id);
    const char *by, *tomb;

    if (key == NULL || proof->mac == NULL) {
        return 0;
    }
    if (proof->erasure != NULL) {
        return consent_proof_erasure_parse(p, proof->erasure, &by, &tomb)
               && hex_same(consent_proof_tomb_mac(p, proof, by, key), tomb);
    }
    return hex_same(mac_hex(p, proof, key), proof->mac);
}

/* ---- JSON ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s, 0 when invalid. */
static int utf8_len(const unsigned char *s)
{
    int n, i;
    unsigned cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2, cp = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3, cp = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4, cp = s[0] & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; ++i) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
        || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return 0;
    }
    return n;
}

static void put_str(apr_array_header_t *out, const char *s)
{
    put_bytes(out, s, strlen(s));
}

/*
 * A JSON string. A header such as User-Agent may hold bytes that are not
 * UTF-8; they become U+FFFD so the line stays valid JSON (the stored
 * record, which the MAC covers, keeps the original bytes).
 */
static void put_json_str(apr_array_header_t *out, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    if (s == NULL) {
        put_str(out, "null");
        return;
    }
    *(char *)apr_array_push(out) = '"';
    while (*u) {
        int n = utf8_len(u);
        char esc[8];

        if (*u == '"' || *u == '\\') {
            esc[0] = '\\', esc[1] = (char)*u, esc[2] = '\0';
            put_str(out, esc);
        }
        else if (*u < 0x20 || *u == 0x7f) {
            apr_snprintf(esc, sizeof esc, "\\u%04x", *u);
            put_str(out, *u == '\n' ? "\\n" : *u == '\r' ? "\\r"
                    : *u == '\t' ? "\\t" : esc);
        }
        else if (n == 0) {
            put_str(out, "\\ufffd");
            n = 1;
        }
        else {
            put_bytes(out, u, n);
        }
        u += n ? n : 1;
    }
    *(char *)apr_array_push(out) = '"';
}

const char *consent_json_str(apr_pool_t *p, const char *s)
{
    apr_array_header_t *out = apr_array_make(p, 64, 1);

    put_json_str(out, s);
    *(char *)apr_array_push(out) = '\0';
    return out->elts;
}

static void put_member(apr_array_header_t *out, const char *name,
                       const char *value)
{
    put_json_str(out, name);
    *(char *)apr_array_push(out) = ':';
    put_json_str(out, value);
    *(char *)apr_array_push(out) = ',';
}

static void put_number(apr_array_header_t *out, const char *name,
                       apr_int64_t value)
{
    put_json_str(out, name);
    put_str(out, apr_psprintf(out->pool, ":%" APR_INT64_T_FMT ",", value));
}

static void put_purposes(apr_array_header_t *out,
                         const apr_array_header_t *choices)
{
    int i;

    put_str(out, "\"purposes\":{");
    for (i = 0; choices && i < choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(choices, i,
                                                   consent_choice_t);
        put_member(out, c->purpose, c->state);
    }
    if (choices && choices->nelts > 0) {
        --out->nelts;               /* the last comma */
    }
    put_str(out, "},");
}

static void put_token(apr_array_header_t *out, const consent_proof_t *proof)
{
    if (proof->token_nonce == NULL) {
        put_str(out, "\"token\":null,");
        return;
    }
    put_str(out, "\"token\":{");
    put_member(out, "nonce", proof->token_nonce);
    put_member(out, "issued",
               consent_time_rfc3339(out->pool, proof->token_issued));
    put_member(out, "key_id", proof->token_key_id);
    put_member(out, "defaults", proof->token_defaults);
    --out->nelts;
    put_str(out, "},");
}

const char *consent_proof_json(apr_pool_t *p, const consent_proof_t *proof)
{
    apr_array_header_t *out = apr_array_make(p, 1024, 1);

    *(char *)apr_array_push(out) = '{';
    put_member(out, "receipt_id", proof->receipt_id);
    put_member(out, "event", proof->event);
    put_member(out, "site", proof->site ? proof->site : "");
    put_member(out, "time", consent_time_rfc3339(p, proof->time));
    put_member(out, "ip", proof->ip);
    put_member(out, "user_agent", proof->user_agent);
    put_member(out, "subject", proof->subject);
    put_member(out, "form_id", proof->form_id);
    put_number(out, "form_version", proof->form_version);
    put_member(out, "language", proof->lang);
    put_member(out, "regime", proof->regime);
    put_member(out, "notice_sha256", proof->notice_sha256);
    put_purposes(out, proof->choices);
    put_token(out, proof);
    put_member(out, "lane", proof->lane);
    put_number(out, "lane_seq", proof->lane_seq);
    put_member(out, "prev_mac", proof->prev_mac);
    put_member(out, "mac_key_id", proof->mac_key_id);
    put_member(out, "mac", proof->mac);
    if (proof->erasure) {
        const char *by = NULL, *tomb = NULL;

        /* a tombstone: who erased it (a malformed one shown as is) */
        if (consent_proof_erasure_parse(p, proof->erasure, &by, &tomb)) {
            put_member(out, "erased_by", by);
        }
        else {
            put_member(out, "erasure", proof->erasure);
        }
    }
    out->elts[out->nelts - 1] = '}';    /* replaces the last comma */
    *(char *)apr_array_push(out) = '\0';
    return out->elts;
}

const char *consent_time_rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    if (apr_time_exp_gmt(&tm, t) != APR_SUCCESS) {
        return NULL;
    }
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_usec);
}
