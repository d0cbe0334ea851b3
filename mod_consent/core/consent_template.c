/*
 * The template compiler: source -> segments, partial evaluation (bind),
 * and rendering. See consent_template.h for the syntax and why it exists.
 */
#include <stdarg.h>

#include <apr_escape.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#define APR_WANT_IOVEC
#include <apr_want.h>

#include "consent_template.h"
#include "consent_file.h"

/* Templates are small pages; anything bigger is a mistake, not a page. */
#define TPL_MAX_SIZE (1024 * 1024)

/* A fragment may splice a fragment; a deeper chain is a lookup loop. */
#define TPL_MAX_DEPTH 8

/* Input bytes escaped per call into a stack buffer (x6 at worst). */
#define ESC_CHUNK 256

/* ---- building a segment array, merging adjacent literals ---- */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *segs;
    apr_array_header_t *pending;    /* struct iovec of literal pieces */
    int pending_line;
} tpl_builder_t;

static void builder_init(tpl_builder_t *b, apr_pool_t *p)
{
    b->p = p;
    b->segs = apr_array_make(p, 16, sizeof(consent_seg_t));
    b->pending = apr_array_make(p, 8, sizeof(struct iovec));
    b->pending_line = 0;
}

static void builder_flush(tpl_builder_t *b)
{
    consent_seg_t *seg;
    struct iovec *vec = (struct iovec *)b->pending->elts;
    apr_size_t len;

    if (b->pending->nelts == 0) {
        return;
    }
    seg = apr_array_push(b->segs);
    seg->kind = CONSENT_SEG_TEXT;
    seg->line = b->pending_line;
    if (b->pending->nelts == 1) {
        /* One piece: it already lives in a pool at least as long. */
        seg->text = vec[0].iov_base;
        seg->len = vec[0].iov_len;
    }
    else {
        seg->text = apr_pstrcatv(b->p, vec, b->pending->nelts, &len);
        seg->len = len;
    }
    apr_array_clear(b->pending);
}

static void builder_text(tpl_builder_t *b, const char *text, apr_size_t len,
                         int line)
{
    struct iovec *vec;

    if (len == 0) {
        return;
    }
    if (b->pending->nelts == 0) {
        b->pending_line = line;
    }
    vec = apr_array_push(b->pending);
    vec->iov_base = (void *)text;
    vec->iov_len = len;
}

static void builder_slot(tpl_builder_t *b, consent_seg_kind_t kind,
                         const char *name, int line)
{
    consent_seg_t *seg;

    builder_flush(b);
    seg = apr_array_push(b->segs);
    seg->kind = kind;
    seg->text = name;
    seg->len = strlen(name);
    seg->line = line;
}

static consent_tpl_t *builder_finish(tpl_builder_t *b, const char *name)
{
    consent_tpl_t *tpl = apr_pcalloc(b->p, sizeof(*tpl));

    builder_flush(b);
    tpl->name = name;
    tpl->segs = b->segs;
    return tpl;
}

/* ---- compiling ---- */

typedef struct {
    const char *name;
    const char *buf;
    apr_size_t len;
    apr_size_t pos;
    int line;
    consent_tpl_key_fn *known;
    void *baton;
    apr_array_header_t *problems;
    int errors;
    tpl_builder_t out;
} tpl_parser_t;

static int is_name_char(char c)
{
    return apr_isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':';
}

static void parse_error(tpl_parser_t *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void parse_error(tpl_parser_t *ps, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(ps->out.p, fmt, ap);
    va_end(ap);
    consent_problem_add(ps->problems, ps->name, ps->line, "template", "%s",
                        msg);
    ps->errors++;
}

/* Why a tag starting at ps->pos does not close where its name ends. */
static void tag_not_closed(tpl_parser_t *ps, apr_size_t end, int raw)
{
    const char *closer = raw ? "}}}" : "}}";

    if (end >= ps->len || ps->buf[end] == '\n' || ps->buf[end] == '}') {
        parse_error(ps, "unterminated tag: expected '%s'", closer);
    }
    else {
        parse_error(ps, "invalid character in tag name: '%c'",
                    ps->buf[end]);
    }
}

/* Checks a {{t:key}} and reports an unknown key. */
static int check_translation(tpl_parser_t *ps, const char *name, int raw)
{
    const char *key = name + 2;

    if (raw) {
        parse_error(ps, "a translation is text: write {{%s}}", name);
        return 0;
    }
    if (*key == '\0' || strchr(key, ':') != NULL) {
        parse_error(ps, "invalid translation key '%s'", key);
        return 0;
    }
    if (ps->known && !ps->known(ps->baton, key)) {
        parse_error(ps, "unknown translation key '%s'", key);
        return 0;
    }
    return 1;
}

/*
 * Parses the tag at ps->pos ("{{..." or "{{{..."). On success appends a
 * slot and moves past the tag; on error reports it and moves past the
 * opening braces only, so the rest of the file is still checked.
 */
static void parse_tag(tpl_parser_t *ps)
{
    int raw = ps->pos + 2 < ps->len && ps->buf[ps->pos + 2] == '{';
    apr_size_t open = raw ? 3 : 2;
    apr_size_t start = ps->pos + open, end = start;
    const char *name;

    while (end < ps->len && is_name_char(ps->buf[end])) {
        end++;
    }
    if (end + open > ps->len
        || memcmp(ps->buf + end, raw ? "}}}" : "}}", open) != 0) {
        tag_not_closed(ps, end, raw);
        ps->pos += open;
        return;
    }
    ps->pos = end + open;
    if (end == start) {
        parse_error(ps, "empty tag");
        return;
    }
    if (!raw && ps->pos < ps->len && ps->buf[ps->pos] == '}') {
        parse_error(ps, "unbalanced braces: '{{' closed by '}}}'");
        return;
    }
    name = apr_pstrmemdup(ps->out.p, ps->buf + start, end - start);
    if (strncmp(name, "t:", 2) == 0 && !check_translation(ps, name, raw)) {
        return;
    }
    builder_slot(&ps->out, raw ? CONSENT_SEG_RAW : CONSENT_SEG_SLOT, name,
                 ps->line);
}

static void parse(tpl_parser_t *ps)
{
    apr_size_t start = 0;
    int start_line = 1;

    while (ps->pos < ps->len) {
        if (ps->buf[ps->pos] == '{' && ps->pos + 1 < ps->len
            && ps->buf[ps->pos + 1] == '{') {
            builder_text(&ps->out, ps->buf + start, ps->pos - start,
                         start_line);
            parse_tag(ps);
            start = ps->pos;
            start_line = ps->line;
            continue;
        }
        if (ps->buf[ps->pos] == '\n') {
            ps->line++;
        }
        ps->pos++;
    }
    builder_text(&ps->out, ps->buf + start, ps->len - start, start_line);
}

apr_status_t consent_tpl_compile(consent_tpl_t **tpl, const char *name,
                                 const char *buf, apr_size_t len,
                                 consent_tpl_key_fn *known, void *baton,
                                 apr_array_header_t *problems,
                                 apr_pool_t *p)
{
    tpl_parser_t ps;
    consent_tpl_t *t;

    memset(&ps, 0, sizeof(ps));
    ps.name = apr_pstrdup(p, name);
    /* Segments point into this copy; the HTML checks read it too. */
    ps.buf = apr_pstrmemdup(p, buf, len);
    ps.len = len;
    ps.line = 1;
    ps.known = known;
    ps.baton = baton;
    ps.problems = problems;
    builder_init(&ps.out, p);
    *tpl = NULL;

    parse(&ps);
    if (ps.errors) {
        return APR_EGENERAL;
    }
    t = builder_finish(&ps.out, ps.name);
    t->source = ps.buf;
    t->source_len = len;
    *tpl = t;
    return APR_SUCCESS;
}

apr_status_t consent_tpl_compile_file(consent_tpl_t **tpl, const char *path,
                                      consent_tpl_key_fn *known,
                                      void *baton,
                                      apr_array_header_t *problems,
                                      apr_pool_t *p)
{
    const char *buf = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    *tpl = NULL;
    rv = consent_file_read(path, TPL_MAX_SIZE, "template", &buf, &len,
                           problems, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return consent_tpl_compile(tpl, path, buf, len, known, baton, problems,
                               p);
}

/* ---- escaping ---- */

const char *consent_html_escape(apr_pool_t *p, const char *s)
{
    const char *e, *q;
    struct iovec vec[64];
    int n = 0;

    if (s == NULL) {
        return "";
    }
    e = apr_pescape_entity(p, s, 0);
    if (strchr(e, '\'') == NULL) {
        return e;
    }
    /* Rebuild with &#39; for each apostrophe, in batches of pieces. */
    while ((q = strchr(e, '\'')) != NULL) {
        vec[n].iov_base = (void *)e;
        vec[n++].iov_len = q - e;
        vec[n].iov_base = (void *)"&#39;";
        vec[n++].iov_len = 5;
        e = q + 1;
        if (n >= 62) {
            vec[n].iov_base = (void *)e;
            vec[n++].iov_len = strlen(e);
            e = apr_pstrcatv(p, vec, n, NULL);
            n = 0;
            if (strchr(e, '\'') == NULL) {
                return e;
            }
        }
    }
    vec[n].iov_base = (void *)e;
    vec[n++].iov_len = strlen(e);
    return apr_pstrcatv(p, vec, n, NULL);
}

apr_status_t consent_html_write_escaped(consent_tpl_write_fn *write,
                                        void *baton, const char *s,
                                        apr_size_t len)
{
    char buf[ESC_CHUNK * 6 + 1];
    apr_size_t n, out;
    apr_status_t rv;

    while (len > 0) {
        if (*s == '\'') {
            rv = write(baton, "&#39;", 5);
            n = 1;
        }
        else {
            /* apr_escape_entity stops at NUL: our strings hold none. */
            for (n = 0; n < len && n < ESC_CHUNK && s[n] != '\''
                        && s[n] != '\0'; n++) {
            }
            if (n == 0) {
                return APR_SUCCESS;
            }
            apr_escape_entity(buf, s, n, 0, &out);
            rv = write(baton, buf, out - 1);    /* out counts the NUL */
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        s += n;
        len -= n;
    }
    return APR_SUCCESS;
}

/* ---- partial evaluation ---- */

static void splice(tpl_builder_t *b, const consent_tpl_t *frag)
{
    const consent_seg_t *segs = (const consent_seg_t *)frag->segs->elts;
    int i;

    for (i = 0; i < frag->segs->nelts; i++) {
        if (segs[i].kind == CONSENT_SEG_TEXT) {
            builder_text(b, segs[i].text, segs[i].len, segs[i].line);
        }
        else {
            builder_slot(b, segs[i].kind, segs[i].text, segs[i].line);
        }
    }
}

static void bind_slot(tpl_builder_t *b, const consent_seg_t *seg,
                      const consent_tpl_value_t *v)
{
    int raw = seg->kind == CONSENT_SEG_RAW;
    const char *s;

    switch (v->kind) {
    case CONSENT_VAL_TEXT:
    case CONSENT_VAL_MARKUP:
        if (v->str == NULL) {
            builder_slot(b, seg->kind, seg->text, seg->line);
            break;
        }
        s = (raw && v->kind == CONSENT_VAL_MARKUP)
            ? v->str : consent_html_escape(b->p, v->str);
        builder_text(b, s, strlen(s), seg->line);
        break;
    case CONSENT_VAL_TEMPLATE:
        if (raw && v->tpl != NULL) {
            splice(b, v->tpl);
        }
        break;
    case CONSENT_VAL_RENAME:
        builder_slot(b, seg->kind, v->str ? v->str : seg->text, seg->line);
        break;
    default:
        builder_slot(b, seg->kind, seg->text, seg->line);
        break;
    }
}

consent_tpl_t *consent_tpl_bind(const consent_tpl_t *tpl,
                                consent_tpl_lookup_fn *lookup, void *baton,
                                apr_pool_t *p)
{
    const consent_seg_t *segs = (const consent_seg_t *)tpl->segs->elts;
    tpl_builder_t b;
    consent_tpl_value_t v;
    int i;

    builder_init(&b, p);
    for (i = 0; i < tpl->segs->nelts; i++) {
        if (segs[i].kind == CONSENT_SEG_TEXT) {
            builder_text(&b, segs[i].text, segs[i].len, segs[i].line);
            continue;
        }
        memset(&v, 0, sizeof(v));
        lookup(baton, segs[i].text, &v);
        bind_slot(&b, &segs[i], &v);
    }
    return builder_finish(&b, tpl->name);
}

consent_tpl_t *consent_tpl_concat(const char *name,
                                  const consent_tpl_t *const *tpls, int n,
                                  apr_pool_t *p)
{
    tpl_builder_t b;
    int i;

    builder_init(&b, p);
    for (i = 0; i < n; i++) {
        splice(&b, tpls[i]);
    }
    return builder_finish(&b, name);
}

int consent_tpl_slot_count(const consent_tpl_t *tpl)
{
    const consent_seg_t *segs = (const consent_seg_t *)tpl->segs->elts;
    int i, n = 0;

    for (i = 0; i < tpl->segs->nelts; i++) {
        n += segs[i].kind != CONSENT_SEG_TEXT;
    }
    return n;
}

/* ---- rendering ---- */

typedef struct {
    consent_tpl_lookup_fn *lookup;
    void *baton;
    consent_tpl_write_fn *write;
    void *wbaton;
} tpl_render_t;

static apr_status_t render(const tpl_render_t *r, const consent_tpl_t *tpl,
                           int depth);

static apr_status_t render_slot(const tpl_render_t *r,
                                const consent_seg_t *seg, int depth)
{
    int raw = seg->kind == CONSENT_SEG_RAW;
    consent_tpl_value_t v;

    memset(&v, 0, sizeof(v));
    r->lookup(r->baton, seg->text, &v);
    switch (v.kind) {
    case CONSENT_VAL_TEXT:
    case CONSENT_VAL_MARKUP:
        if (v.str == NULL) {
            return APR_SUCCESS;
        }
        if (raw && v.kind == CONSENT_VAL_MARKUP) {
            return r->write(r->wbaton, v.str, strlen(v.str));
        }
        return consent_html_write_escaped(r->write, r->wbaton, v.str,
                                          strlen(v.str));
    case CONSENT_VAL_TEMPLATE:
        if (!raw || v.tpl == NULL) {
            return APR_SUCCESS;
        }
        return render(r, v.tpl, depth + 1);
    default:
        return APR_SUCCESS;
    }
}

static apr_status_t render(const tpl_render_t *r, const consent_tpl_t *tpl,
                           int depth)
{
    const consent_seg_t *segs = (const consent_seg_t *)tpl->segs->elts;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (depth > TPL_MAX_DEPTH) {
        return APR_EINVAL;
    }
    for (i = 0; i < tpl->segs->nelts && rv == APR_SUCCESS; i++) {
        if (segs[i].kind == CONSENT_SEG_TEXT) {
            rv = r->write(r->wbaton, segs[i].text, segs[i].len);
        }
        else {
            rv = render_slot(r, &segs[i], depth);
        }
    }
    return rv;
}

apr_status_t consent_tpl_render(const consent_tpl_t *tpl,
                                consent_tpl_lookup_fn *lookup, void *baton,
                                consent_tpl_write_fn *write, void *wbaton)
{
    tpl_render_t r;

    r.lookup = lookup;
    r.baton = baton;
    r.write = write;
    r.wbaton = wbaton;
    return render(&r, tpl, 0);
}
