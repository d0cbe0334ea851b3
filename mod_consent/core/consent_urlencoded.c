/*
 * The urlencoded body reader of consent_urlencoded.h, used by every page
 * of both adapters. A hand-written parser, for a reason: nginx hands a
 * module the raw body and has no form parser, and httpd's
 * ap_parse_form_data cuts a name at a %00 (so "consent%00junk" was read
 * as "consent"). Strict on purpose: a malformed escape, a pair without
 * '=' or an empty name is refused (400) rather than guessed at, since a
 * consent must not be read from bytes whose meaning is unclear.
 * tests/fuzz/fuzz_urlencoded.c and fuzz_submit.c fuzz it.
 */
#include <string.h>
#include <apr_lib.h>

#include "consent_urlencoded.h"
#include "consent_utf8.h"
#include "consent_hex.h"

#define URLENCODED "application/x-www-form-urlencoded"

int consent_urlencoded_is(const char *ct)
{
    apr_size_t n = sizeof URLENCODED - 1;

    return ct && strncasecmp(ct, URLENCODED, n) == 0
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Decodes s[0..n) ('+' is a space); NULL on a malformed escape. */
static char *unescape(const char *s, apr_size_t n, apr_size_t *len,
                      apr_pool_t *p)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] != '%') {
            *o++ = s[i];
        }
        else if (i + 2 < n && apr_isxdigit(s[i + 1])
                 && apr_isxdigit(s[i + 2])) {
            *o++ = (char)(consent_hex_digit(s[i + 1]) * 16
                          + consent_hex_digit(s[i + 2]));
            i += 2;
        }
        else {
            return NULL;
        }
    }
    *o = '\0';
    *len = (apr_size_t)(o - out);
    return out;
}

static const char *add_pair(apr_array_header_t *fs, const char *pair,
                            apr_size_t n, apr_pool_t *p)
{
    const char *eq = memchr(pair, '=', n);
    apr_size_t nlen, dlen = 0;
    consent_field_value_t f;

    if (eq == NULL) {
        return "a pair without '='";
    }
    if ((nlen = (apr_size_t)(eq - pair)) == 0) {
        return "an empty name";
    }
    memset(&f, 0, sizeof f);
    f.name = unescape(pair, nlen, &dlen, p);
    f.value = unescape(eq + 1, n - nlen - 1, &f.len, p);
    if (!f.name || !f.value) {
        return "malformed %-escape";
    }
    f.bad_name = !consent_utf8_valid(f.name, dlen);
    *(consent_field_value_t *)apr_array_push(fs) = f;
    return NULL;
}

apr_status_t consent_urlencoded_parse(const char *body, apr_size_t len,
                                      apr_array_header_t **fields,
                                      const char **why, apr_pool_t *p)
{
    const char *amp, *bad;
    apr_size_t n;

    *fields = apr_array_make(p, 8, sizeof(consent_field_value_t));
    while (len > 0) {
        amp = memchr(body, '&', len);
        n = amp ? (apr_size_t)(amp - body) : len;
        /* empty pairs ("a=1&&b=2"): browsers never send them, some
         * clients do, and they carry nothing */
        if (n > 0 && (bad = add_pair(*fields, body, n, p)) != NULL) {
            if (why) {
                *why = bad;
            }
            *fields = NULL;
            return APR_EINVAL;
        }
        if (!amp) {
            break;
        }
        len -= n + 1;
        body = amp + 1;
    }
    return APR_SUCCESS;
}
