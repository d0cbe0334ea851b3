/*
 * The pages' stylesheet: read and checked once at start-up, answered
 * from memory with a strong ETag (see consent_style.h).
 */
#include <apr_file_io.h>
#include <apr_lib.h>
#include <openssl/evp.h>

#include "consent_style.h"
#include "consent_hex.h"
#include "consent_file.h"

#define PROP_PREFIX "--consent-"
#define PROP_PREFIX_LEN (sizeof(PROP_PREFIX) - 1)

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static apr_size_t utf8_len(const unsigned char *s, apr_size_t n)
{
    apr_size_t want, i;
    unsigned int c = s[0];

    if (c < 0x80) {
        return 1;
    }
    want = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (want == 0 || (c >= 0xf0 && want != 4) || want > n) {
        return 0;
    }
    for (i = 1; i < want; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    /* overlongs and surrogates */
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f)
        || (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)) {
        return 0;
    }
    return want;
}

static int is_ident(int c)
{
    return apr_isalnum(c) || c == '-' || c == '_';
}

typedef struct {
    const char *file;
    const char *s;
    apr_size_t len, i;
    int line;
    int open_line[16];          /* where each open block began */
    apr_hash_t *declared;       /* names after the prefix; NULL: any */
    apr_hash_t *found;          /* what this file declares */
    apr_array_header_t *problems;
    apr_pool_t *p;
} css_scan_t;

static void problem(css_scan_t *c, const char *what)
{
    consent_problem_add(c->problems, c->file, c->line, "style", "%s", what);
}

/* At "--consent-": a declaration when a colon follows the name. */
static void scan_property(css_scan_t *c)
{
    apr_size_t start = c->i + PROP_PREFIX_LEN, end = start, k;
    const char *name;

    while (end < c->len && is_ident((unsigned char)c->s[end])) {
        end++;
    }
    for (k = end; k < c->len && apr_isspace(c->s[k]) && c->s[k] != '\n';
         k++) {
    }
    name = apr_pstrmemdup(c->p, c->s + start, end - start);
    if (k < c->len && c->s[k] == ':') {
        apr_hash_set(c->found, name, APR_HASH_KEY_STRING, name);
        if (c->declared && !apr_hash_get(c->declared, name,
                                         APR_HASH_KEY_STRING)) {
            consent_problem_add(c->problems, c->file, c->line, "style",
                                "unknown property %s%s (the default "
                                "stylesheet declares the --consent-* "
                                "properties a site may set)",
                                PROP_PREFIX, name);
        }
    }
    c->i = end;
}

/* Skips a comment or a string starting at c->i; 0 when unterminated. */
static int skip_quoted(css_scan_t *c)
{
    const char *s = c->s;
    char q = s[c->i];

    if (q == '/') {
        for (c->i += 2; c->i + 1 < c->len; c->i++) {
            if (s[c->i] == '*' && s[c->i + 1] == '/') {
                c->i += 2;
                return 1;
            }
            c->line += s[c->i] == '\n';
        }
        return 0;
    }
    for (c->i++; c->i < c->len && s[c->i] != '\n'; c->i++) {
        if (s[c->i] == '\\' && c->i + 1 < c->len) {
            c->i++;
        }
        else if (s[c->i] == q) {
            c->i++;
            return 1;
        }
    }
    return 0;
}

static int scan_at(css_scan_t *c, int *depth)
{
    const char *s = c->s + c->i;
    apr_size_t n;

    if (*s == '/' && s[1] == '*') {
        if (!skip_quoted(c)) {
            problem(c, "a comment is not closed");
            return 0;
        }
        return 1;
    }
    if (*s == '"' || *s == '\'') {
        if (!skip_quoted(c)) {
            problem(c, "a string is not closed on its line");
            return 0;
        }
        return 1;
    }
    n = utf8_len((const unsigned char *)s, c->len - c->i);
    if (*s == '\0' || n == 0) {
        problem(c, "a NUL byte or invalid UTF-8");
        return 0;
    }
    if (strncasecmp(s, "@import", 7) == 0) {
        problem(c, "@import is not allowed: everything is served from "
                   "this file");
    }
    else if (strncmp(s, PROP_PREFIX, PROP_PREFIX_LEN) == 0
             && (c->i == 0 || !is_ident((unsigned char)s[-1]))) {
        scan_property(c);
        return 1;
    }
    else if (*s == '{') {
        c->open_line[*depth < 16 ? *depth : 15] = c->line;
        ++*depth;
    }
    else if (*s == '}' && --*depth < 0) {
        problem(c, "a '}' closes no block");
        *depth = 0;
    }
    c->line += *s == '\n';
    c->i += n;
    return 1;
}

/* Checks one file; fills found with the properties it declares. */
static int scan_css(const char *file, const char *s, apr_size_t len,
                    apr_hash_t *declared, apr_hash_t *found,
                    apr_array_header_t *problems, apr_pool_t *p)
{
    css_scan_t c;
    int depth = 0, before = problems->nelts;

    memset(&c, 0, sizeof c);
    c.file = file;
    c.s = s;
    c.len = len;
    c.line = 1;
    c.declared = declared;
    c.found = found;
    c.problems = problems;
    c.p = p;
    while (c.i < c.len && scan_at(&c, &depth)) {
    }
    if (depth > 0 && problems->nelts == before) {
        c.line = c.open_line[depth <= 16 ? depth - 1 : 15];
        problem(&c, "a '{' is not closed");
    }
    return problems->nelts == before;
}

apr_status_t consent_style_load(consent_style_t **style, const char *base,
                                const char *site,
                                apr_array_header_t *problems,
                                apr_pool_t *p)
{
    const char *b, *s = "";
    apr_size_t blen, slen = 0;
    apr_hash_t *declared = apr_hash_make(p);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    consent_style_t *st;
    const char *hex;

    *style = NULL;
    if (consent_file_read(base, CONSENT_STYLE_MAX, "style", &b, &blen,
                          problems, p)
        != APR_SUCCESS
        || !scan_css(base, b, blen, NULL, declared, problems, p)) {
        return APR_EGENERAL;
    }
    if (site && (consent_file_read(site, CONSENT_STYLE_SITE_MAX, "style", &s,
                                   &slen, problems, p) != APR_SUCCESS
                 || !scan_css(site, s, slen, declared, apr_hash_make(p),
                              problems, p))) {
        return APR_EGENERAL;
    }
    st = apr_pcalloc(p, sizeof *st);
    st->body = site ? apr_pstrcat(p, b, "\n/* ConsentStyle */\n", s, NULL)
                    : b;
    st->len = strlen(st->body);
    if (!EVP_Digest(st->body, st->len, md, &mdlen, EVP_sha256(), NULL)) {
        consent_problem_add(problems, base, 0, "style", "SHA-256 failed");
        return APR_EGENERAL;
    }
    hex = consent_hex(p, md, 16);
    st->etag = apr_pstrcat(p, "\"", hex, "\"", NULL);
    st->version = apr_pstrmemdup(p, hex, 12);
    *style = st;
    return APR_SUCCESS;
}

const char *consent_style_href(const consent_style_t *style,
                               const char *location, apr_pool_t *p)
{
    return apr_pstrcat(p, location, "/" CONSENT_STYLE_NAME "?v=",
                       style->version, NULL);
}

/* RFC 9110 13.1.2: "*" or a list of tags compared weakly. */
static int tag_matches(const char *list, const char *etag)
{
    apr_size_t n = strlen(etag);
    const char *c = list;

    while (*c) {
        while (*c == ' ' || *c == '\t' || *c == ',') {
            c++;
        }
        if (*c == '*') {
            return 1;
        }
        if (strncmp(c, "W/", 2) == 0) {
            c += 2;
        }
        if (strncmp(c, etag, n) == 0
            && (c[n] == '\0' || c[n] == ',' || c[n] == ' '
                || c[n] == '\t')) {
            return 1;
        }
        while (*c && *c != ',') {
            c++;
        }
    }
    return 0;
}

void consent_style_answer(const consent_style_t *style, const char *query,
                          const char *if_none_match,
                          consent_style_answer_t *a)
{
    int current = query && strncmp(query, "v=", 2) == 0
                  && strcmp(query + 2, style->version) == 0;

    memset(a, 0, sizeof *a);
    a->content_type = CONSENT_STYLE_TYPE;
    a->etag = style->etag;
    a->cache_control = current ? "public, max-age=31536000, immutable"
                               : "public, max-age=3600";
    if (if_none_match && tag_matches(if_none_match, style->etag)) {
        a->status = 304;
        return;
    }
    a->status = 200;
    a->body = style->body;
    a->len = style->len;
}
