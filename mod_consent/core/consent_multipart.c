/*
 * A deliberately small multipart/form-data reader. APR and libxml2 have
 * none, and libapreq2 would be a new dependency for a single field of a
 * single request kind; the body is bounded by the caller, and every read
 * below is bounds-checked against it (fuzzed in tests/fuzz).
 */
#include <apr_lib.h>

#include "consent_multipart.h"

#define MAX_BOUNDARY 70     /* RFC 2046 5.1.1 */

int consent_multipart_is(const char *ct)
{
    return ct && strncasecmp(ct, "multipart/form-data", 19) == 0
           && (ct[19] == ';' || ct[19] == ' ');
}

/* The boundary parameter, quoted or not; NULL when absent or too long. */
static const char *boundary_of(const char *ct, apr_pool_t *p)
{
    const char *b = ct ? strstr(ct, "boundary=") : NULL;
    apr_size_t n;

    if (!b) {
        return NULL;
    }
    b += 9;
    if (*b == '"') {
        const char *end = strchr(++b, '"');
        n = end ? (apr_size_t)(end - b) : 0;
    }
    else {
        n = strcspn(b, "; \t");
    }
    return n > 0 && n <= MAX_BOUNDARY ? apr_pstrmemdup(p, b, n) : NULL;
}

static const char *memfind(const char *hay, apr_size_t hlen,
                           const char *needle, apr_size_t nlen)
{
    apr_size_t i;

    for (i = 0; nlen <= hlen && i <= hlen - nlen; ++i) {
        if (memcmp(hay + i, needle, nlen) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

static void lower(char *s)
{
    for (; *s; ++s) {
        *s = (char)apr_tolower(*s);
    }
}

/* 1 when the part's headers name the field (and no filename). */
static int part_is(const char *hdr, apr_size_t hlen, const char *name,
                   apr_pool_t *p)
{
    char *h = apr_pstrmemdup(p, hdr, hlen);
    char *want = apr_psprintf(p, "name=\"%s\"", name);

    /* header names and our field names compare case-insensitively */
    lower(h);
    lower(want);
    return strstr(h, "content-disposition: form-data") != NULL
           && strstr(h, want) != NULL && strstr(h, "filename") == NULL;
}

const char *consent_multipart_field(const char *ct, const char *body,
                                    apr_size_t len, const char *name,
                                    apr_pool_t *p)
{
    const char *bnd = boundary_of(ct, p), *found = NULL, *end = body + len;
    const char *delim, *part, *next, *sep;
    apr_size_t dlen;

    if (!consent_multipart_is(ct) || !bnd) {
        return NULL;
    }
    delim = apr_pstrcat(p, "\r\n--", bnd, NULL);
    dlen = strlen(delim);
    /* the first delimiter may open the body without its CRLF */
    part = memfind(body, len, delim + 2, dlen - 2);
    while (part) {
        part += dlen - 2;
        if (end - part >= 2 && memcmp(part, "--", 2) == 0) {
            return found;                       /* closing delimiter */
        }
        next = memfind(part, (apr_size_t)(end - part), delim, dlen);
        sep = next ? memfind(part, (apr_size_t)(next - part), "\r\n\r\n", 4)
                   : NULL;
        if (!next || !sep) {
            return NULL;                        /* unterminated */
        }
        if (part_is(part, (apr_size_t)(sep - part), name, p)) {
            if (found) {
                return NULL;                    /* twice: ambiguous */
            }
            found = apr_pstrmemdup(p, sep + 4, (apr_size_t)(next - sep - 4));
        }
        part = next + 2;
    }
    return NULL;
}
