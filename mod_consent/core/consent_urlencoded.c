/*
 * A hand-written parser, for a reason: nginx hands a module the raw body
 * and has no form parser, and the one in APR-util (apr_uri) does not
 * decode bodies. Strict on purpose: a malformed escape is refused (400)
 * rather than guessed at, since a consent must not be read from bytes
 * whose meaning is unclear. tests/fuzz/fuzz_urlencoded.c fuzzes it.
 */
#include <string.h>
#include <apr_lib.h>

#include "consent_urlencoded.h"

#define URLENCODED "application/x-www-form-urlencoded"

int consent_urlencoded_is(const char *ct)
{
    apr_size_t n = sizeof URLENCODED - 1;

    return ct && strncasecmp(ct, URLENCODED, n) == 0
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int hexval(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/* Decodes s[0..n) into a fresh NUL-terminated buffer; NULL when an
 * escape is malformed. */
static char *decode(const char *s, apr_size_t n, apr_size_t *len,
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
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
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

static apr_status_t add_pair(apr_array_header_t *fs, const char *pair,
                             apr_size_t n, apr_pool_t *p)
{
    const char *eq = memchr(pair, '=', n);
    consent_field_value_t *f;
    apr_size_t nlen, dummy;

    if (!eq || eq == pair) {
        return APR_EINVAL;
    }
    nlen = (apr_size_t)(eq - pair);
    f = apr_array_push(fs);
    f->name = decode(pair, nlen, &dummy, p);
    f->value = decode(eq + 1, n - nlen - 1, &f->len, p);
    /* a name is looked up with strcmp: one with a NUL is not a name */
    if (!f->name || !f->value || strlen(f->name) != dummy || !dummy) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t consent_urlencoded_parse(const char *body, apr_size_t len,
                                      apr_array_header_t **fields,
                                      apr_pool_t *p)
{
    apr_array_header_t *fs = apr_array_make(p, 8,
                                            sizeof(consent_field_value_t));
    const char *amp;
    apr_size_t n;

    *fields = NULL;
    while (len > 0) {
        amp = memchr(body, '&', len);
        n = amp ? (apr_size_t)(amp - body) : len;
        if (n > 0 && add_pair(fs, body, n, p) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        if (!amp) {
            break;
        }
        len -= n + 1;
        body = amp + 1;
    }
    *fields = fs;
    return APR_SUCCESS;
}
