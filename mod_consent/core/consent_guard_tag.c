#include <apr_lib.h>

#include "consent_guard_tag.h"

#define IS_WHITE(c) CONSENT_TAG_WHITE(c)

/* Character classes of the tokenizer's tag states, one load a byte: the
 * loops below run over every tag of every guarded page. */
#define C_WHITE 1
#define C_SLASH 2
#define C_GT    4
#define C_EQ    8
#define C_LT    16
static const unsigned char cls[256] = {
    ['\t'] = C_WHITE, ['\n'] = C_WHITE, ['\f'] = C_WHITE,
    ['\r'] = C_WHITE, [' '] = C_WHITE, ['/'] = C_SLASH, ['>'] = C_GT,
    ['='] = C_EQ, ['<'] = C_LT
};
#define CLS(c) cls[(unsigned char)(c)]

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Attribute name state: up to white space, '/', '>' or '=' (a first '='
 * belongs to the name, as the tokenizer says). */
static apr_size_t read_attr_name(const char *b, apr_size_t i, apr_size_t len,
                                 int *lt)
{
    unsigned char seen = CLS(b[i]);

    for (i++; i < len; ++i) {
        unsigned char c = CLS(b[i]);
        if (c & (C_WHITE | C_SLASH | C_GT | C_EQ)) {
            break;
        }
        seen |= c;
    }
    *lt |= (seen & C_LT) != 0;
    return i;
}

static apr_size_t skip_white(const char *b, apr_size_t i, apr_size_t len)
{
    while (i < len && (CLS(b[i]) & C_WHITE)) {
        i++;
    }
    return i;
}

apr_size_t consent_tag_name_end(const char *b, apr_size_t i, apr_size_t len,
                                int *lt)
{
    unsigned char seen = 0;

    for (; i < len; ++i) {
        unsigned char c = CLS(b[i]);
        if (c & (C_WHITE | C_SLASH | C_GT)) {
            break;
        }
        seen |= c;
    }
    *lt = (seen & C_LT) != 0;
    return i;
}

/* Before, then in, an attribute value: returns where the value's bytes
 * end (a quoted one: past its quote, or len when it does not close). */
static apr_size_t read_value(const char *b, apr_size_t i, apr_size_t len,
                             consent_tag_attr_t *a, int *lt)
{
    char q = b[i];

    if (q == '"' || q == '\'') {
        const char *close = memchr(b + i + 1, q, len - i - 1);

        a->value = i + 1;
        a->value_len = close ? (apr_size_t)(close - b) - i - 1
                             : len - i - 1;
        *lt |= a->value_len && memchr(b + a->value, '<', a->value_len);
        return close ? (apr_size_t)(close - b) + 1 : len;
    }
    a->value = i;
    while (i < len && !(CLS(b[i]) & (C_WHITE | C_GT))) {
        *lt |= b[i] == '<';
        i++;
    }
    a->value_len = i - a->value;
    return i;
}

/* One attribute from its name on; returns the offset after it. */
static apr_size_t read_attr(const char *b, apr_size_t i, apr_size_t len,
                            consent_tag_attr_t *a, int *lt)
{
    apr_size_t j;

    a->name = i;
    i = read_attr_name(b, i, len, lt);
    a->name_len = i - a->name;
    a->value = i;
    a->value_len = 0;
    a->end = i;
    j = skip_white(b, i, len);
    if (j < len && b[j] == '=') {
        j = skip_white(b, j + 1, len);
        if (j < len && b[j] != '>') {
            i = read_value(b, j, len, a, lt);
        }
        else {
            i = j;              /* missing value: the tag ends here */
        }
        a->end = i;
    }
    return i;
}

int consent_tag_read(consent_tag_t *tag, const char *b, apr_size_t len,
                     apr_array_header_t *attrs)
{
    apr_size_t i = 1;

    if (len < 2 || b[0] != '<') {
        return 0;
    }
    tag->end_tag = b[1] == '/';
    i += tag->end_tag;
    if (i >= len || !is_alpha(b[i])) {
        return 0;
    }
    tag->name = i;
    i = consent_tag_name_end(b, i, len, &tag->has_lt);
    tag->name_len = i - tag->name;
    consent_tag_read_attrs(tag, b, len, attrs);
    return 1;
}

void consent_tag_read_attrs(consent_tag_t *tag, const char *b,
                            apr_size_t len, apr_array_header_t *attrs)
{
    apr_size_t i = tag->name + tag->name_len;
    consent_tag_attr_t a;

    tag->self_closing = 0;
    tag->attrs = attrs;
    if (attrs) {
        attrs->nelts = 0;
    }
    for (;;) {
        i = skip_white(b, i, len);
        if (i >= len) {
            tag->end = len;
            tag->ended = 0;
            return;
        }
        if (b[i] == '>') {
            tag->end = i;
            tag->ended = 1;
            return;
        }
        if (b[i] == '/') {
            /* self-closing slash, or a stray one: either way skipped */
            tag->self_closing = i + 1 < len && b[i + 1] == '>';
            i++;
            continue;
        }
        i = read_attr(b, i, len, &a, &tag->has_lt);
        if (attrs) {
            *(consent_tag_attr_t *)apr_array_push(attrs) = a;
        }
    }
}

int consent_tag_attr_is(const char *buf, const consent_tag_attr_t *a,
                        const char *lname)
{
    apr_size_t k;

    for (k = 0; k < a->name_len; ++k) {
        char c = buf[a->name + k];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (lname[k] == '\0' || lname[k] != c) {
            return 0;
        }
    }
    return lname[k] == '\0';
}

/* ---- character references in attribute values ------------------------ */

/* The named references that spell ASCII: enough for a name or a type. */
static const struct {
    const char *name;
    char c;
} named[] = {
    { "amp", '&' }, { "AMP", '&' }, { "lt", '<' }, { "LT", '<' },
    { "gt", '>' }, { "GT", '>' }, { "quot", '"' }, { "QUOT", '"' },
    { "apos", '\'' }, { "lowbar", '_' }, { "UnderBar", '_' },
    { "period", '.' }, { "Tab", '\t' }, { "NewLine", '\n' },
    { "excl", '!' }, { "num", '#' }, { "dollar", '$' }, { "percnt", '%' },
    { "lpar", '(' }, { "rpar", ')' }, { "ast", '*' }, { "midast", '*' },
    { "plus", '+' }, { "comma", ',' }, { "sol", '/' }, { "colon", ':' },
    { "semi", ';' }, { "equals", '=' }, { "quest", '?' },
    { "commat", '@' }, { "lsqb", '[' }, { "lbrack", '[' },
    { "rsqb", ']' }, { "rbrack", ']' }, { "bsol", '\\' }, { "Hat", '^' },
    { "grave", '`' }, { "lcub", '{' }, { "lbrace", '{' },
    { "verbar", '|' }, { "vert", '|' }, { "VerticalLine", '|' },
    { "rcub", '}' }, { "rbrace", '}' }, { NULL, 0 }
};

/* Without ';' in an attribute value only these are references (and
 * only when neither a letter, digit nor '=' follows). */
static const char *const legacy[] = {
    "amp", "AMP", "lt", "LT", "gt", "GT", "quot", "QUOT", NULL
};

static char *put_utf8(char *o, apr_uint32_t cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        *o++ = (char)cp;
    }
    else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* "&#..." at s (s[0] == '&', s[1] == '#'): its bytes, or 0 when no digit
 * follows (then "&#" is text). */
static apr_size_t numeric_ref(const char *s, apr_size_t n, char **o)
{
    apr_size_t i = 2, from;
    apr_uint32_t cp = 0;
    int hex = i < n && (s[i] == 'x' || s[i] == 'X');

    i += hex;
    from = i;
    for (; i < n && (hex ? apr_isxdigit(s[i]) : apr_isdigit(s[i])); ++i) {
        int d = apr_isdigit(s[i]) ? s[i] - '0'
                : (apr_tolower(s[i]) - 'a' + 10);
        cp = cp > 0x10FFFF ? cp : cp * (hex ? 16 : 10) + (apr_uint32_t)d;
    }
    if (i == from) {
        return 0;
    }
    *o = put_utf8(*o, cp);
    return i + (i < n && s[i] == ';');
}

/* "&name..." at s: its bytes (then *c is the character), 0 when it is
 * text, or -1 (as apr_size_t) when it is a reference not decoded here. */
static apr_size_t named_ref(const char *s, apr_size_t n, char *c)
{
    apr_size_t run = 1, k;
    int i;

    while (run < n && apr_isalnum(s[run])) {
        run++;
    }
    if (run == 1) {
        return 0;
    }
    for (i = 0; run < n && s[run] == ';' && named[i].name; ++i) {
        k = strlen(named[i].name);
        if (k == run - 1 && memcmp(s + 1, named[i].name, k) == 0) {
            *c = named[i].c;
            return run + 1;
        }
    }
    for (i = 0; legacy[i]; ++i) {
        k = strlen(legacy[i]);
        if (run - 1 >= k && memcmp(s + 1, legacy[i], k) == 0) {
            if (run - 1 > k || (run < n && s[run] == '=')) {
                return 0;       /* "&ampx", "&amp=": text */
            }
            *c = named[i].c;    /* legacy[i] and named[i] agree */
            return run;
        }
    }
    return (apr_size_t)-1;
}

const char *consent_tag_value(const char *buf, const consent_tag_attr_t *a,
                              int *unsure, apr_pool_t *p)
{
    const char *s = buf + a->value;
    apr_size_t n = a->value_len, i = 0, k;
    char *out = apr_palloc(p, n * 4 + 1), *o = out, c;

    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        apr_size_t run = amp ? (apr_size_t)(amp - s) - i : n - i;

        memcpy(o, s + i, run);
        o += run;
        i += run;
        if (i >= n) {
            break;
        }
        if (i + 1 < n && s[i + 1] == '#') {
            k = numeric_ref(s + i, n - i, &o);
        }
        else {
            k = named_ref(s + i, n - i, &c);
            if (k == (apr_size_t)-1) {
                *unsure = 1;
                k = 0;
            }
            else if (k) {
                *o++ = c;
            }
        }
        if (k == 0) {
            *o++ = '&';
            k = 1;
        }
        i += k;
    }
    *o = '\0';
    return out;
}
