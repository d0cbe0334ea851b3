/*
 * Strict UTF-8 and the text rules of consent_utf8.h. libxml2's
 * xmlCheckUTF8 accepts overlong forms and surrogates: a proof must not
 * hold bytes that two readers decode differently.
 */
#include <apr_lib.h>

#include "consent_utf8.h"

#define SUBJECT_MAX 254

/* Length of the sequence led by b, 0 when b cannot lead one. */
static int lead_length(unsigned char b)
{
    if (b < 0x80) {
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        return 2;
    }
    if (b >= 0xe0 && b <= 0xef) {
        return 3;
    }
    if (b >= 0xf0 && b <= 0xf4) {
        return 4;
    }
    return 0;   /* 80..BF continuation, C0 C1 overlong, F5..FF */
}

/* RFC 3629 section 4: the second byte's range depends on the first. */
static int second_ok(unsigned char lead, unsigned char b)
{
    switch (lead) {
    case 0xe0: return b >= 0xa0 && b <= 0xbf;    /* not overlong */
    case 0xed: return b >= 0x80 && b <= 0x9f;    /* not a surrogate */
    case 0xf0: return b >= 0x90 && b <= 0xbf;    /* not overlong */
    case 0xf4: return b >= 0x80 && b <= 0x8f;    /* not > U+10FFFF */
    default:   return b >= 0x80 && b <= 0xbf;
    }
}

int consent_utf8_valid(const char *s, apr_size_t len)
{
    const unsigned char *b = (const unsigned char *)s;
    apr_size_t i = 0;
    int n, k;

    while (i < len) {
        if (b[i] == 0) {
            return 0;
        }
        n = lead_length(b[i]);
        if (n == 0 || len - i < (apr_size_t)n
            || (n > 1 && !second_ok(b[i], b[i + 1]))) {
            return 0;
        }
        for (k = 2; k < n; ++k) {
            if ((b[i + k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        i += (apr_size_t)n;
    }
    return 1;
}

/* The next code point of valid UTF-8, advancing *s; 0 at the end. */
static apr_uint32_t next_cp(const unsigned char **s)
{
    const unsigned char *b = *s;
    int n = lead_length(*b), k;
    apr_uint32_t cp;

    if (*b == 0 || n == 0) {
        return 0;
    }
    cp = n == 1 ? *b : (apr_uint32_t)(*b & (0x7f >> n));
    for (k = 1; k < n; ++k) {
        cp = (cp << 6) | (b[k] & 0x3f);
    }
    *s = b + n;
    return cp;
}

static int breaks_line(apr_uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028
           || c == 0x2029;
}

/* Unicode 15 general category Cf, and the Zl Zp separators. */
static int is_format(apr_uint32_t c)
{
    static const apr_uint32_t ranges[][2] = {
        { 0x00ad, 0x00ad }, { 0x0600, 0x0605 }, { 0x061c, 0x061c },
        { 0x06dd, 0x06dd }, { 0x070f, 0x070f }, { 0x0890, 0x0891 },
        { 0x08e2, 0x08e2 }, { 0x180e, 0x180e }, { 0x200b, 0x200f },
        { 0x2028, 0x202e }, { 0x2060, 0x2064 }, { 0x2066, 0x206f },
        { 0xfeff, 0xfeff }, { 0xfff9, 0xfffb }, { 0x110bd, 0x110bd },
        { 0x110cd, 0x110cd }, { 0x13430, 0x1343f },
        { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
        { 0xe0020, 0xe007f }
    };
    apr_size_t i;

    for (i = 0; i < sizeof ranges / sizeof ranges[0]; ++i) {
        if (c >= ranges[i][0] && c <= ranges[i][1]) {
            return 1;
        }
    }
    return 0;
}

int consent_text_single_line(const char *s)
{
    const unsigned char *b = (const unsigned char *)s;
    apr_uint32_t c;

    while ((c = next_cp(&b)) != 0) {
        if (breaks_line(c)) {
            return 0;
        }
    }
    return 1;
}

int consent_text_visible(const char *s)
{
    const unsigned char *b = (const unsigned char *)s;
    apr_uint32_t c;

    while ((c = next_cp(&b)) != 0) {
        if (is_format(c)) {
            return 0;
        }
    }
    return 1;
}

/* A telephone number ("+33 1 23 45 67 89") starts with + and is harmless
 * in a spreadsheet: digits and "+-. ()" make no function call. */
static int phone_like(const char *s)
{
    for (; *s; ++s) {
        if (!apr_isdigit(*s) && !strchr("+-. ()", *s)) {
            return 0;
        }
    }
    return 1;
}

const char *consent_subject_problem(const char *s)
{
    apr_size_t n = s ? strlen(s) : 0;

    if (n == 0) {
        return "empty";
    }
    if (n > SUBJECT_MAX) {
        return "longer than 254 bytes";
    }
    if (!consent_utf8_valid(s, n)) {
        return "not valid UTF-8";
    }
    if (!consent_text_single_line(s)) {
        return "a control character or line break";
    }
    if (!consent_text_visible(s)) {
        return "an invisible character";
    }
    if (strchr("=+-@", *s) && !phone_like(s)) {
        return "starts with =, +, - or @";
    }
    return NULL;
}

int consent_identifier_valid(const char *s)
{
    const char *c;

    if (s == NULL || !apr_isalpha(*s) || !apr_isascii(*s)
        || strlen(s) > 255) {
        return 0;
    }
    for (c = s; *c; ++c) {
        if (!apr_isascii(*c)
            || !(apr_isalnum(*c) || *c == '_' || *c == '.' || *c == '-')) {
            return 0;
        }
    }
    return 1;
}

const char *consent_subject_normalise(apr_pool_t *p, const char *s)
{
    apr_size_t n;
    char *out, *c;

    if (s == NULL) {
        return NULL;
    }
    while (apr_isspace(*s)) {
        ++s;
    }
    n = strlen(s);
    while (n > 0 && apr_isspace(s[n - 1])) {
        --n;
    }
    out = apr_pstrmemdup(p, s, n);
    if (strchr(out, '@')) {
        for (c = out; *c; ++c) {
            *c = (char)apr_tolower(*c);
        }
    }
    return out;
}

const char *consent_text_collapse(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) + 1), *d = out;
    int space = 0;

    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            space = d != out;
            continue;
        }
        if (space) {
            *d++ = ' ';
            space = 0;
        }
        *d++ = *s;
    }
    *d = '\0';
    return out;
}
