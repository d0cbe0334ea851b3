#include <apr_lib.h>

#include "consent_guard_tag.h"

/* The tokenizer's white space: tab, line feed, form feed, return, space. */
static int is_white(char c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

typedef struct {
    const char *buf;
    apr_size_t len;
    apr_size_t i;
} reader_t;

static int more(const reader_t *rd)
{
    return rd->i < rd->len;
}

static void skip_white(reader_t *rd)
{
    while (more(rd) && is_white(rd->buf[rd->i])) {
        rd->i++;
    }
}

/* Attribute name state: up to white space, '/', '>' or '=' (a first
 * '=' belongs to the name, as the tokenizer says). */
static apr_size_t read_name(reader_t *rd)
{
    apr_size_t from = rd->i++;

    while (more(rd) && !is_white(rd->buf[rd->i])
           && !strchr("/>=", rd->buf[rd->i])) {
        rd->i++;
    }
    return rd->i - from;
}

/* Before, then in, an attribute value; 0 when the tag does not end. */
static int read_value(reader_t *rd)
{
    char q;

    skip_white(rd);
    if (!more(rd)) {
        return 0;
    }
    q = rd->buf[rd->i];
    if (q == '>') {
        return 1;               /* missing value: the tag ends here */
    }
    if (q == '"' || q == '\'') {
        const char *close = memchr(rd->buf + rd->i + 1, q,
                                   rd->len - rd->i - 1);
        if (!close) {
            return 0;
        }
        rd->i = (apr_size_t)(close - rd->buf) + 1;
        return 1;
    }
    while (more(rd) && !is_white(rd->buf[rd->i]) && rd->buf[rd->i] != '>') {
        rd->i++;
    }
    return 1;
}

static void add_attr(consent_tag_t *tag, const char *name, apr_size_t n,
                     apr_size_t from, apr_size_t to)
{
    consent_tag_attr_t *a;
    int k;

    for (k = 0; k < tag->attrs->nelts; ++k) {
        a = &APR_ARRAY_IDX(tag->attrs, k, consent_tag_attr_t);
        if (a->name_len == n && strncasecmp(a->name, name, n) == 0) {
            return;             /* a duplicate is dropped */
        }
    }
    a = apr_array_push(tag->attrs);
    a->name = name;
    a->name_len = n;
    a->cut_from = from;
    a->cut_to = to;
}

/* One attribute from its name on; 0 when the tag does not end. */
static int read_attr(reader_t *rd, consent_tag_t *tag)
{
    apr_size_t before = rd->i, from, n;

    /* the white space before the name goes with it when it is cut */
    while (before > 0 && is_white(rd->buf[before - 1])) {
        before--;
    }
    from = rd->i;
    n = read_name(rd);
    skip_white(rd);
    if (more(rd) && rd->buf[rd->i] == '=') {
        rd->i++;
        if (!read_value(rd)) {
            return 0;
        }
    }
    else {
        /* no value: the attribute ends with its name */
        add_attr(tag, rd->buf + from, n, before, from + n);
        return more(rd);
    }
    add_attr(tag, rd->buf + from, n, before, rd->i);
    return more(rd);
}

int consent_tag_read(consent_tag_t *tag, const char *buf, apr_size_t len,
                     apr_pool_t *p)
{
    reader_t rd = { buf, len, 1 };

    if (len < 2 || buf[0] != '<' || !apr_isalpha(buf[1])) {
        return 0;
    }
    tag->attrs = apr_array_make(p, 8, sizeof(consent_tag_attr_t));
    while (more(&rd) && !is_white(buf[rd.i]) && !strchr("/>", buf[rd.i])) {
        rd.i++;
    }
    for (;;) {
        skip_white(&rd);
        if (!more(&rd)) {
            return 0;
        }
        if (buf[rd.i] == '>') {
            tag->end = rd.i;
            return 1;
        }
        if (buf[rd.i] == '/') {
            /* self-closing slash, or a stray one: either way skipped */
            rd.i++;
            continue;
        }
        if (!read_attr(&rd, tag)) {
            return 0;
        }
    }
}

const consent_tag_attr_t *consent_tag_attr(const consent_tag_t *tag,
                                           const char *name)
{
    apr_size_t n = strlen(name);
    int k;

    for (k = 0; k < tag->attrs->nelts; ++k) {
        const consent_tag_attr_t *a =
            &APR_ARRAY_IDX(tag->attrs, k, consent_tag_attr_t);
        if (a->name_len == n && strncasecmp(a->name, name, n) == 0) {
            return a;
        }
    }
    return NULL;
}
