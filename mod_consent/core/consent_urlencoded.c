/* The urlencoded body reader of consent_urlencoded.h. */
#include <apr_lib.h>

#include "consent_urlencoded.h"
#include "consent_utf8.h"

static int hexval(int c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
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
    apr_size_t nlen = eq ? (apr_size_t)(eq - pair) : n, dlen = 0;
    consent_field_value_t f;

    memset(&f, 0, sizeof f);
    f.name = unescape(pair, nlen, &dlen, p);
    f.value = eq ? unescape(eq + 1, n - nlen - 1, &f.len, p) : "";
    if (!f.name || !f.value) {
        return APR_EINVAL;
    }
    f.bad_name = !consent_utf8_valid(f.name, dlen);
    *(consent_field_value_t *)apr_array_push(fs) = f;
    return APR_SUCCESS;
}

apr_status_t consent_urlencoded_parse(const char *body, apr_size_t len,
                                      apr_array_header_t **fields,
                                      const char **why, apr_pool_t *p)
{
    const char *amp;
    apr_size_t n;

    if (*fields == NULL) {
        *fields = apr_array_make(p, 8, sizeof(consent_field_value_t));
    }
    while (len > 0) {
        amp = memchr(body, '&', len);
        n = amp ? (apr_size_t)(amp - body) : len;
        if (n > 0 && add_pair(*fields, body, n, p) != APR_SUCCESS) {
            *why = "malformed %-escape";
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
