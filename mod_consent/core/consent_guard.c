/*
 * Guard mode, the page half (see consent_guard.h).
 *
 * How it finds things: libxml2's HTML push parser (the one mod_proxy_html
 * uses) reads the page as it streams and calls us on <form>, <input> and
 * <meta> start tags and on </form> (written or implied). We never let it
 * re-serialise anything: we only ask where it is in the page's bytes
 * (xmlByteConsumed) when it reports a guarded <input>, which is the '>'
 * (or "/>") that ends that tag. The bytes the parser has not gone past
 * yet, and those of a form still open, are held back; everything before
 * is written out as it was, but for the edits (a token insertion, a cut
 * `checked`) that fall in it.
 *
 * Where the token goes: right after the first guarded <input> of the
 * form. Its facts are only known when the form closes, so the bytes from
 * there to the end of the form are held (bounded by max_hold); but that
 * place is always inside the form whatever the markup around it, and
 * after a void element, where another <input> is always valid.
 *
 * Charsets: the parser is told the page is ISO-8859-1 whatever it says
 * (HTML_PARSE_IGNORE_ENC). Every byte is then one character, offsets stay
 * exact, and a declaration in the middle of the page cannot make libxml2
 * 2.9 switch decoders and lose count. That reads the markup right in every
 * charset that spells ASCII as ASCII (consent_guard_charset_ok): tags and
 * attribute names are ASCII, guarded input names are ASCII (lint), and
 * the token we write is ASCII. Pages in any other charset pass untouched.
 *
 * Limits, all failing safe (no token: the POST gets 403; a box we did not
 * see: ticking it gets 400; never a consent the person did not give):
 * a box ticked by a script, or bound to a form by a form="" attribute, or
 * a guarded tag we cannot read back unambiguously, or a form larger than
 * max_hold.
 */
#include <apr_lib.h>
#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

#include "consent_guard.h"
#include "consent_guard_tag.h"
#include "consent_template.h"
#include "consent_token.h"

/*
 * libxml2 is handed at most this much per call. Not only because its
 * sizes are ints: 2.9's push parser loses track of where a tag lies once a
 * single call holds more than ~20-30 KB past a form (seen: a form at the
 * top of a 50 KB static page got no token), while pieces of a few KB
 * give the same output for every cut (tests/unit/test_guard.c).
 */
#define PUSH_STEP (4 * 1024)

typedef struct {
    apr_off_t at;               /* page offset */
    apr_size_t cut;             /* bytes removed from there */
    const char *insert;         /* written there, or NULL */
} guard_edit_t;

typedef struct {
    int depth;                  /* nested <form>s; 0 outside any */
    char *states;               /* CONSENT_BOX_* per purpose */
    apr_off_t insert_at;        /* after its first guarded input, or -1 */
    int unsure;                 /* a guarded tag could not be read back */
    int too_wide;               /* longer than max_hold from insert_at */
} guard_form_t;

struct consent_guard_t {
    consent_guard_opts_t o;
    apr_pool_t *p;
    htmlParserCtxtPtr parser;   /* NULL once finished or given up */
    char *held;                 /* page bytes [held_at, held_at+held_len) */
    apr_size_t held_len;
    apr_size_t held_cap;
    apr_off_t held_at;
    apr_array_header_t *edits;  /* guard_edit_t, by offset */
    guard_form_t form;
    int raw_depth;              /* in <textarea> or <title>: text to a
                                   browser, elements to libxml2 2.9 */
    int started;
    char *scratch;              /* a piece with its NUL bytes replaced */
    const char *stop;           /* set by a callback: give up */
    consent_guard_report_t report;
    apr_status_t error;         /* first failure of a callback */
};

static apr_status_t free_parser(void *data)
{
    consent_guard_t *g = data;

    if (g->parser) {
        htmlFreeParserCtxt(g->parser);
        g->parser = NULL;
    }
    return APR_SUCCESS;
}

static void close_parser(consent_guard_t *g)
{
    apr_pool_cleanup_run(g->p, g, free_parser);
}

/* ---- bytes held and written ---------------------------------------- */

static void hold(consent_guard_t *g, const char *data, apr_size_t len)
{
    if (g->held_len + len > g->held_cap) {
        apr_size_t cap = g->held_cap;
        char *bigger;

        while (cap < g->held_len + len) {
            cap *= 2;
        }
        bigger = apr_palloc(g->p, cap);
        memcpy(bigger, g->held, g->held_len);
        g->held = bigger;
        g->held_cap = cap;
    }
    memcpy(g->held + g->held_len, data, len);
    g->held_len += len;
}

static apr_status_t put(consent_guard_t *g, const char *data, apr_size_t len)
{
    if (len == 0 || g->error) {
        return g->error;
    }
    g->error = g->o.write(g->o.write_baton, data, len);
    return g->error;
}

static void add_edit(consent_guard_t *g, apr_off_t at, apr_size_t cut,
                     const char *insert)
{
    guard_edit_t *e;
    int i;

    e = apr_array_push(g->edits);
    for (i = g->edits->nelts - 1; i > 0; --i) {
        guard_edit_t *prev = &APR_ARRAY_IDX(g->edits, i - 1, guard_edit_t);
        if (prev->at <= at) {
            break;
        }
        APR_ARRAY_IDX(g->edits, i, guard_edit_t) = *prev;
    }
    e = &APR_ARRAY_IDX(g->edits, i, guard_edit_t);
    e->at = at;
    e->cut = cut;
    e->insert = insert;
}

/* Writes the held bytes before page offset upto, edited. */
static void release(consent_guard_t *g, apr_off_t upto)
{
    apr_size_t pos = 0, n = (apr_size_t)(upto - g->held_at);
    int done = 0;

    while (done < g->edits->nelts) {
        guard_edit_t *e = &APR_ARRAY_IDX(g->edits, done, guard_edit_t);
        apr_size_t at = (apr_size_t)(e->at - g->held_at);

        if (at + e->cut > n) {
            break;              /* the next release applies it */
        }
        put(g, g->held + pos, at - pos);
        if (e->insert) {
            put(g, e->insert, strlen(e->insert));
        }
        pos = at + e->cut;
        done++;
    }
    put(g, g->held + pos, n - pos);
    if (done) {
        memmove(g->edits->elts, g->edits->elts + done * sizeof(guard_edit_t),
                (g->edits->nelts - done) * sizeof(guard_edit_t));
        g->edits->nelts -= done;
    }
    memmove(g->held, g->held + n, g->held_len - n);
    g->held_len -= n;
    g->held_at = upto;
}

/* Where the parser is in the page, clamped to what is held. */
static apr_off_t parser_offset(consent_guard_t *g)
{
    long at = g->parser ? xmlByteConsumed(g->parser) : -1;

    if (at < g->held_at) {
        return g->held_at;
    }
    if (at > g->held_at + (apr_off_t)g->held_len) {
        return g->held_at + (apr_off_t)g->held_len;
    }
    return at;
}

/* The rest of the page goes out as it comes, untouched. */
static void give_up(consent_guard_t *g, const char *why)
{
    g->report.gave_up = why;
    g->stop = NULL;
    close_parser(g);
    release(g, g->held_at + (apr_off_t)g->held_len);
}

/*
 * Whether the open form reaches further than max_hold past its insertion
 * point: it then gets no token, and is no longer held. Decided on what
 * was parsed, never on how the page was cut, so the outcome is the same
 * for any split.
 */
static int too_wide(consent_guard_t *g, apr_off_t parsed)
{
    if (g->form.depth && g->form.insert_at >= 0 && !g->form.too_wide
        && parsed - g->form.insert_at > (apr_off_t)g->o.max_hold) {
        g->form.too_wide = 1;
    }
    return g->form.too_wide;
}

/*
 * After a push: write out what no edit can touch any more. Held: what
 * the parser has not gone past (at most one construct: a tag, a comment,
 * a run of text) and an open form from its insertion point, each bounded
 * by max_hold.
 */
static apr_status_t settle(consent_guard_t *g)
{
    apr_off_t upto;

    if (g->stop) {
        give_up(g, g->stop);
    }
    else if (g->parser && g->parser->instate == XML_PARSER_EOF) {
        give_up(g, "the HTML parser stopped");
    }
    if (!g->parser) {
        return g->error;
    }
    upto = parser_offset(g);
    if (g->held_at + (apr_off_t)g->held_len - upto
        > (apr_off_t)g->o.max_hold) {
        give_up(g, "a single tag, comment or text run is larger than the "
                "guard may hold");
        return g->error;
    }
    if (g->form.depth && g->form.insert_at >= 0 && !too_wide(g, upto)
        && g->form.insert_at < upto) {
        upto = g->form.insert_at;
    }
    release(g, upto);
    return g->error;
}

/* ---- what the parser reports ---------------------------------------- */

static const char *attr_of(const xmlChar **atts, const char *name)
{
    for (; atts && atts[0]; atts += 2) {
        if (strcasecmp((const char *)atts[0], name) == 0) {
            return atts[1] ? (const char *)atts[1] : "";
        }
    }
    return NULL;
}

static int purpose_of_input(const consent_form_t *form, const char *name)
{
    int i;

    for (i = 0; name && i < form->purposes->nelts; ++i) {
        const consent_purpose_t *pu =
            APR_ARRAY_IDX(form->purposes, i, const consent_purpose_t *);
        if (pu->input && strcmp(pu->input, name) == 0) {
            return i;
        }
    }
    return -1;
}

static void open_form(consent_guard_t *g)
{
    int n = g->o.form->purposes->nelts;

    if (g->form.depth++) {
        return;
    }
    g->form.states = apr_palloc(g->p, n + 1);
    memset(g->form.states, CONSENT_BOX_ABSENT, n);
    g->form.states[n] = '\0';
    g->form.insert_at = -1;
    g->form.unsure = 0;
    g->form.too_wide = 0;
}

static void close_form(consent_guard_t *g)
{
    const char *token;
    apr_status_t rv;

    g->form.depth = 0;
    if (g->form.unsure) {
        g->report.unsure++;
        return;
    }
    if (g->form.insert_at < 0) {
        return;                 /* no guarded box: not our form */
    }
    if (too_wide(g, parser_offset(g))) {
        g->report.too_wide++;
        return;
    }
    rv = g->o.token(g->o.token_baton, g->form.states, &token);
    if (rv != APR_SUCCESS) {
        g->error = rv;
        return;
    }
    add_edit(g, g->form.insert_at, 0, apr_pstrcat(g->p,
             "<input type=\"hidden\" name=\"" CONSENT_TOKEN_FIELD
             "\" value=\"", consent_html_escape(g->p, token), "\">", NULL));
    g->report.forms++;
}

static int same_attrs(const consent_tag_t *tag, const xmlChar **atts)
{
    int k;

    for (k = 0; atts && atts[0]; atts += 2, ++k) {
        const consent_tag_attr_t *a;

        if (k >= tag->attrs->nelts) {
            return 0;
        }
        a = &APR_ARRAY_IDX(tag->attrs, k, consent_tag_attr_t);
        if (a->name_len != strlen((const char *)atts[0])
            || strncasecmp(a->name, (const char *)atts[0], a->name_len)) {
            return 0;
        }
    }
    return k == tag->attrs->nelts;
}

static int is_input_open(const char *b, apr_size_t n)
{
    return n > 6 && strncasecmp(b, "<input", 6) == 0 && b[6]
           && strchr("\t\n\f\r />", b[6]);
}

/*
 * Finds in the held bytes the <input> tag libxml2 just reported: the one
 * ending where the parser is, with the same attributes. Two readings of
 * the bytes that both fit (an "<input" inside an attribute value) are
 * ambiguous: then nothing is edited.
 */
static int locate(consent_guard_t *g, const xmlChar **atts,
                  consent_tag_t *tag, apr_size_t *start)
{
    apr_size_t end = (apr_size_t)(parser_offset(g) - g->held_at), i;
    consent_tag_t t;
    int found = 0;

    if (end >= g->held_len) {
        return 0;
    }
    if (g->held[end] == '/' && end + 1 < g->held_len) {
        end++;
    }
    if (g->held[end] != '>') {
        return 0;
    }
    for (i = end; i-- > 0;) {
        if (g->held[i] == '<' && is_input_open(g->held + i, end - i)
            && consent_tag_read(&t, g->held + i, end + 1 - i, g->p)
            && t.end == end - i && same_attrs(&t, atts)) {
            if (found++) {
                return 0;
            }
            *tag = t;
            *start = i;
        }
    }
    return found;
}

static int is_checkable(const char *type)
{
    return type && (strcasecmp(type, "checkbox") == 0
                    || strcasecmp(type, "radio") == 0);
}

/* Fix mode: the `checked` attribute of a checkable box is cut out. */
static int untick(consent_guard_t *g, const consent_tag_t *tag,
                  apr_size_t start)
{
    const consent_tag_attr_t *a = consent_tag_attr(tag, "checked");

    if (!a) {
        return 0;
    }
    add_edit(g, g->held_at + (apr_off_t)(start + a->cut_from),
             a->cut_to - a->cut_from, NULL);
    g->report.fixed++;
    return 1;
}

/*
 * A guarded <input> of the open form. A checkbox or radio is ticked when
 * it has `checked`; any other input (hidden...) carrying a value that
 * says yes gives consent without an act, which counts as ticked too.
 */
static void guarded_input(consent_guard_t *g, int idx, const xmlChar **atts)
{
    const char *type = attr_of(atts, "type"), *value = attr_of(atts, "value");
    char *state = &g->form.states[idx];
    consent_tag_t tag;
    apr_size_t start = 0;
    int ticked;

    if (!locate(g, atts, &tag, &start)) {
        g->form.unsure = 1;
        return;
    }
    if (g->form.insert_at < 0 && !g->form.too_wide) {
        g->form.insert_at = g->held_at + (apr_off_t)tag.end + 1
                            + (apr_off_t)start;
    }
    if (is_checkable(type)) {
        ticked = attr_of(atts, "checked") != NULL;
        if (ticked && g->o.fix && untick(g, &tag, start)) {
            ticked = 0;
        }
        if (*state == CONSENT_BOX_ABSENT) {
            *state = CONSENT_BOX_UNTICKED;
        }
    }
    else {
        ticked = value && consent_guard_value_ticks(value, strlen(value));
    }
    if (ticked) {
        *state = CONSENT_BOX_TICKED;
        g->report.ticked++;
    }
}

/* charset="X", or http-equiv content="text/html; charset=X". */
static void meta_charset(consent_guard_t *g, const xmlChar **atts)
{
    const char *cs = attr_of(atts, "charset");

    if (!cs) {
        cs = consent_guard_charset_of(attr_of(atts, "content"), g->p);
    }
    if (cs && !consent_guard_charset_ok(cs)) {
        g->stop = "the page declares a charset that is not ASCII-based";
        xmlStopParser(g->parser);
    }
}

static int is_raw_text(const char *name)
{
    return strcmp(name, "textarea") == 0 || strcmp(name, "title") == 0;
}

static void on_start(void *ctx, const xmlChar *xname, const xmlChar **atts)
{
    consent_guard_t *g = ctx;
    const char *name = (const char *)xname;
    int idx;

    if (g->stop || g->error) {
        return;
    }
    if (is_raw_text(name)) {
        g->raw_depth++;
    }
    else if (g->raw_depth) {
        return;
    }
    else if (strcmp(name, "form") == 0) {
        open_form(g);
    }
    else if (strcmp(name, "input") == 0 && g->form.depth) {
        idx = purpose_of_input(g->o.form, attr_of(atts, "name"));
        if (idx >= 0) {
            guarded_input(g, idx, atts);
        }
    }
    else if (strcmp(name, "meta") == 0) {
        meta_charset(g, atts);
    }
}

static void on_end(void *ctx, const xmlChar *xname)
{
    consent_guard_t *g = ctx;
    const char *name = (const char *)xname;

    if (is_raw_text(name)) {
        g->raw_depth -= g->raw_depth > 0;
    }
    else if (!g->raw_depth && strcmp(name, "form") == 0 && g->form.depth
             && --g->form.depth == 0) {
        close_form(g);
    }
}

/* ---- the interface -------------------------------------------------- */

apr_status_t consent_guard_open(consent_guard_t **guard,
                                const consent_guard_opts_t *opts,
                                apr_pool_t *p)
{
    consent_guard_t *g = apr_pcalloc(p, sizeof *g);
    htmlSAXHandler sax;

    g->o = *opts;
    if (!g->o.max_hold) {
        g->o.max_hold = CONSENT_GUARD_DEFAULT_HOLD;
    }
    g->p = p;
    g->held_cap = 8192;
    g->held = apr_palloc(p, g->held_cap);
    g->edits = apr_array_make(p, 4, sizeof(guard_edit_t));
    memset(&sax, 0, sizeof sax);
    sax.startElement = on_start;
    sax.endElement = on_end;
    g->parser = htmlCreatePushParserCtxt(&sax, g, NULL, 0, NULL,
                                         XML_CHAR_ENCODING_NONE);
    if (!g->parser) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, g, free_parser, apr_pool_cleanup_null);
    htmlCtxtUseOptions(g->parser, HTML_PARSE_RECOVER | HTML_PARSE_NONET
                       | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING
                       | HTML_PARSE_IGNORE_ENC);
    xmlSwitchToEncoding(g->parser,
                        xmlFindCharEncodingHandler("ISO-8859-1"));
    *guard = g;
    return APR_SUCCESS;
}

/* A UTF-16 or UTF-32 byte order mark: not a page we can edit. */
static int wide_bom(const char *d, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)d;

    return len >= 2 && ((u[0] == 0xfe && u[1] == 0xff)
                        || (u[0] == 0xff && u[1] == 0xfe));
}

/*
 * What the parser reads: the piece itself, or a copy whose NUL bytes are
 * 0xFF. libxml2 2.9 takes a NUL for the end of its input in places, which
 * makes how it parses the rest depend on where the page was cut; 0xFF is a
 * character like any other to it, never markup, as U+FFFD is to browsers.
 */
static const char *parser_bytes(consent_guard_t *g, const char *data,
                                apr_size_t n)
{
    apr_size_t i;

    if (!memchr(data, '\0', n)) {
        return data;
    }
    if (!g->scratch) {
        g->scratch = apr_palloc(g->p, PUSH_STEP);
    }
    for (i = 0; i < n; ++i) {
        g->scratch[i] = data[i] ? data[i] : '\xff';
    }
    return g->scratch;
}

apr_status_t consent_guard_push(consent_guard_t *g, const char *data,
                                apr_size_t len)
{
    apr_size_t n;

    if (!g->started && len) {
        g->started = 1;
        if (wide_bom(data, len)) {
            give_up(g, "the page is UTF-16 or UTF-32");
        }
    }
    while (g->parser && !g->error && len) {
        n = len < PUSH_STEP ? len : PUSH_STEP;
        hold(g, data, n);
        /* libxml2 2.9 forgets, between two pushes, whether it was inside
         * a quoted attribute value while looking for the '>' of a tag cut
         * in two; it then stalls until the page ends. Zero makes it look
         * again from the tag's start: correct, and cheap (tags are short). */
        g->parser->checkIndex = 0;
        htmlParseChunk(g->parser, parser_bytes(g, data, n), (int)n, 0);
        settle(g);
        data += n;
        len -= n;
    }
    if (!g->parser && !g->error && len) {
        put(g, data, len);
    }
    return g->error;
}

apr_status_t consent_guard_finish(consent_guard_t *g)
{
    if (g->parser) {
        g->parser->checkIndex = 0;
        htmlParseChunk(g->parser, NULL, 0, 1);
        if (g->form.depth && !g->stop) {
            close_form(g);      /* no </form>, not even implied */
        }
        close_parser(g);
    }
    if (g->stop) {
        g->report.gave_up = g->stop;
    }
    release(g, g->held_at + (apr_off_t)g->held_len);
    return g->error;
}

const consent_guard_report_t *consent_guard_report(
    const consent_guard_t *guard)
{
    return &guard->report;
}

apr_status_t consent_guard_page(const consent_guard_opts_t *opts,
                                const char *data, apr_size_t len,
                                unsigned seed,
                                consent_guard_report_t *report,
                                apr_pool_t *p)
{
    consent_guard_t *g;
    apr_status_t rv = consent_guard_open(&g, opts, p);
    apr_size_t n;

    while (rv == APR_SUCCESS && len) {
        /* piece sizes from 1 to 64, then larger: every cut gets tried */
        seed = seed * 1103515245u + 12345u;
        n = 1 + (seed >> 16) % ((seed & 1) ? 64 : 4096);
        n = n < len ? n : len;
        rv = consent_guard_push(g, data, n);
        data += n;
        len -= n;
    }
    if (rv == APR_SUCCESS) {
        rv = consent_guard_finish(g);
    }
    if (report) {
        *report = g->report;
    }
    return rv;
}
