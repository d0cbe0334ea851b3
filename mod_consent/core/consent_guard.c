/*
 * Guard mode, the page half (see consent_guard.h).
 *
 * The rule (issue 11): a box the guard cannot see must not become a
 * consent. Every element of the page whose name is a guarded input counts,
 * wherever it stands: inside or outside any form, in foreign content,
 * inside <template>, and even in bytes a browser takes for text (script,
 * style, attribute values: "shadow" tags, see below). For each
 * guarded purpose the page is recorded as
 *   ticked   when any such element would send the name without a person
 *            acting: an <input type=checkbox|radio> with `checked` (any
 *            spelling, any duplicate) or a form="..." attribute; any other
 *            <input> (hidden, text, submit... they send the name, even
 *            empty); a <button>, <select> or <textarea> with the name; a
 *            custom element (it may be form-associated); an element whose
 *            dirname="..." is the name;
 *   unticked when the only such elements are unticked checkboxes/radios;
 *   absent   otherwise.
 * The facts are the page's, not a form's: every form of the page gets a
 * token with the same facts, so no reading of form membership (where
 * HTML 4 and HTML5 disagree) can hide a ticked box. The facts are only
 * known at the end of the page, so the page is held from the first token's
 * place to its end (bounded by max_hold).
 *
 * When unsure, it refuses: a tag that does not end before the page does,
 * or a guarded element's name spelled with a character reference it does
 * not decode, marks every purpose ticked (the POST gets 422).
 *
 * Shadow tags: bytes the scanner takes for text may still be markup to
 * someone (a script's document.write or innerHTML, a browser with
 * scripting off reading <noscript>, a browser that ends raw text or
 * foreign content elsewhere than the scanner does). Every "<" followed by
 * a letter in raw text, CDATA, a bogus comment or inside a tag is read as
 * a tag too; a guarded element found there counts by the same rule, but
 * is never edited (fix mode cannot make it safe). "<!--" comments are the
 * exception: their end is the same to every browser (the scanner follows
 * the tokenizer there, script escapes included), and a box commented out
 * is what fixing a page often looks like.
 *
 * Where the token goes: right after the first guarded <input> of each
 * <form> (as the tokenizer sees forms: from <form> to </form>), after a
 * void element, where another <input> is always valid. A token that lands
 * outside the form as a browser sees it is simply not submitted: 403.
 *
 * ConsentGuardFix: every `checked` attribute of a guarded checkbox or
 * radio is cut out (all of them), so it renders, and is recorded,
 * unticked; what cutting cannot make safe (a hidden input, a button, a
 * select, a textarea, a form="..." box, a shadow tag) stays ticked.
 *
 * Charsets: the scanner reads bytes. That reads the markup right in every
 * charset that spells ASCII as ASCII (consent_guard_charset_ok): tags and
 * attribute names are ASCII, guarded input names are ASCII (lint), and the
 * token we write is ASCII. Pages in any other charset pass untouched.
 */
#include <apr_lib.h>

#include "consent_guard.h"
#include "consent_guard_scan.h"
#include "consent_template.h"
#include "consent_token.h"

typedef struct {
    apr_off_t at;               /* page offset */
    apr_size_t cut;             /* bytes removed from there */
    const char *insert;         /* written there, or NULL */
    int pending;                /* a token whose facts are not known yet */
} guard_edit_t;

struct consent_guard_t {
    consent_guard_opts_t o;
    apr_pool_t *p;
    consent_scan_t scan;
    apr_array_header_t *shadow_attrs;
    char *held;                 /* page bytes [held_at, held_at+held_len) */
    apr_size_t held_len;
    apr_size_t held_cap;
    apr_off_t held_at;
    apr_size_t scanned;         /* of held, already cut into constructs */
    apr_size_t rescan_at;       /* after a construct was not whole: read
                                   it again once this much is unscanned
                                   (doubling: a tag arriving a byte at a
                                   time is read a few times, not n) */
    apr_array_header_t *edits;  /* guard_edit_t, by offset */
    char *states;               /* CONSENT_BOX_* per purpose, page-wide */
    char *marks;                /* per purpose, for one element */
    int unsure;                 /* every purpose ticked */
    apr_size_t shadow_left;     /* bytes shadow tags may still be read
                                   over: text full of "<input" must not
                                   cost time squared */
    int in_form;                /* between <form> and </form> */
    int form_has_token;
    apr_off_t first_pending;    /* offset of the first token, or -1 */
    int pending;                /* tokens waiting for the page's end */
    int no_tokens;              /* the page is too wide to hold */
    int done;                   /* given up: the rest passes as it is */
    int started;
    consent_guard_report_t report;
    apr_status_t error;         /* first failure of the writer */
};

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

static guard_edit_t *add_edit(consent_guard_t *g, apr_off_t at,
                              apr_size_t cut, const char *insert)
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
    e->pending = 0;
    return e;
}

/* Writes the held bytes before page offset upto, edited. */
static void release(consent_guard_t *g, apr_off_t upto)
{
    apr_size_t pos = 0, n = (apr_size_t)(upto - g->held_at);
    int done = 0;

    while (done < g->edits->nelts) {
        guard_edit_t *e = &APR_ARRAY_IDX(g->edits, done, guard_edit_t);
        apr_size_t at = (apr_size_t)(e->at - g->held_at);

        if (at + e->cut > n || e->pending) {
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
    if (n == 0 && !done) {
        return;                 /* nothing moves: no memmove of it all */
    }
    if (done) {
        memmove(g->edits->elts, g->edits->elts + done * sizeof(guard_edit_t),
                (g->edits->nelts - done) * sizeof(guard_edit_t));
        g->edits->nelts -= done;
    }
    memmove(g->held, g->held + n, g->held_len - n);
    g->held_len -= n;
    g->held_at = upto;
    g->scanned -= n;
}

/* The tokens still waiting are dropped: their forms go out without one
 * (their POSTs get 403). Returns how many. */
static int drop_pending(consent_guard_t *g)
{
    int i, k = 0, n = 0;

    for (i = 0; i < g->edits->nelts; ++i) {
        guard_edit_t *e = &APR_ARRAY_IDX(g->edits, i, guard_edit_t);
        if (e->pending) {
            n++;
        }
        else {
            APR_ARRAY_IDX(g->edits, k++, guard_edit_t) = *e;
        }
    }
    g->edits->nelts = k;
    g->pending = 0;
    g->first_pending = -1;
    return n;
}

/* The rest of the page goes out as it comes, untouched. */
static void give_up(consent_guard_t *g, const char *why)
{
    g->report.gave_up = why;
    g->report.unsure += drop_pending(g);
    g->done = 1;
    release(g, g->held_at + (apr_off_t)g->held_len);
}

/*
 * After a push: write out what no edit can touch any more. Held: the
 * construct the scanner has not seen whole (bounded by max_hold), and,
 * once a token is due, everything from its place to the end of the page
 * (bounded by max_hold too: past it, the page's tokens are dropped).
 */
static apr_status_t settle(consent_guard_t *g)
{
    apr_off_t end = g->held_at + (apr_off_t)g->held_len;
    apr_off_t upto = g->held_at + (apr_off_t)g->scanned;

    if (g->pending && end - g->first_pending > (apr_off_t)g->o.max_hold) {
        g->report.too_wide += drop_pending(g);
        g->no_tokens = 1;
    }
    if (g->pending && g->first_pending < upto) {
        upto = g->first_pending;
    }
    else if (end - upto > (apr_off_t)g->o.max_hold) {
        give_up(g, "a single tag, comment or raw text is larger than the "
                "guard may hold");
        return g->error;
    }
    release(g, upto);
    return g->error;
}

/* ---- what the page holds -------------------------------------------- */

/* Cuts one attribute out of a tag, and the white space before it when
 * what follows is white space or the tag's end: `a=x checked/>` must not
 * become `a=x/>` (an unquoted value would take the '/'). */
static void cut_attr(consent_guard_t *g, const char *b, apr_off_t at,
                     const consent_tag_attr_t *a)
{
    apr_size_t from = a->name;
    char next = b[a->end];

    if (CONSENT_TAG_WHITE(next) || next == '>') {
        while (from > 0 && CONSENT_TAG_WHITE(b[from - 1])) {
            from--;
        }
    }
    add_edit(g, at + (apr_off_t)from, a->end - from, NULL);
}

/* Fix mode: every `checked` of a tag goes. */
static void untick(consent_guard_t *g, const char *b, apr_off_t at,
                   const consent_tag_t *tag)
{
    int k;

    for (k = 0; k < tag->attrs->nelts; ++k) {
        const consent_tag_attr_t *a =
            &APR_ARRAY_IDX(tag->attrs, k, consent_tag_attr_t);
        if (consent_tag_attr_is(b, a, "checked")) {
            cut_attr(g, b, at, a);
        }
    }
    g->report.fixed++;
}

/* The purpose an attribute's value names (see consent_guard_input_of),
 * or -1; an undecodable name makes the page unsure. */
static int purpose_named(consent_guard_t *g, const char *b,
                         const consent_tag_attr_t *a)
{
    const char *v = b + a->value;
    apr_size_t n = a->value_len;
    int unsure = 0, exact;

    if (memchr(v, '&', n)) {
        v = consent_tag_value(b, a, &unsure, g->p);
        n = strlen(v);
        if (unsure) {
            g->unsure = 1;
            return -1;
        }
    }
    return consent_guard_input_of(g->o.form, v, n, &exact);
}

static int is_checkable_type(consent_guard_t *g, const char *b,
                             const consent_tag_attr_t *a)
{
    int unsure = 0;
    const char *v = consent_tag_value(b, a, &unsure, g->p);

    return !unsure && (strcasecmp(v, "checkbox") == 0
                       || strcasecmp(v, "radio") == 0);
}

typedef struct {
    int any;                    /* a guarded purpose is named */
    int always;                 /* named through dirname: always sent */
    int types;                  /* type attributes */
    int checkable;              /* ... all checkbox or radio */
    int checked;                /* checked attributes */
    int form;                   /* a form="..." attribute */
} element_facts_t;

static void read_element(consent_guard_t *g, const char *b,
                         const consent_tag_t *tag, element_facts_t *f)
{
    int k, i, n = g->o.form->purposes->nelts;

    memset(f, 0, sizeof *f);
    memset(g->marks, 0, n);
    f->checkable = 1;
    for (k = 0; k < tag->attrs->nelts; ++k) {
        const consent_tag_attr_t *a =
            &APR_ARRAY_IDX(tag->attrs, k, consent_tag_attr_t);

        if (consent_tag_attr_is(b, a, "name")
            && (i = purpose_named(g, b, a)) >= 0) {
            g->marks[i] = 1;
            f->any = 1;
        }
        else if (consent_tag_attr_is(b, a, "dirname")
                 && (i = purpose_named(g, b, a)) >= 0) {
            g->marks[i] = 2;    /* sends "ltr" or "rtl", always */
            f->any = 1;
        }
        else if (consent_tag_attr_is(b, a, "type")) {
            f->types++;
            f->checkable &= is_checkable_type(g, b, a);
        }
        else if (consent_tag_attr_is(b, a, "checked")) {
            f->checked++;
        }
        else if (consent_tag_attr_is(b, a, "form")) {
            f->form = 1;
        }
    }
}

/*
 * An input, button, select, textarea or custom element (a shadow one
 * when shadow): judged by the rule at the top of this file.
 */
static void element(consent_guard_t *g, const char *b, apr_off_t at,
                    const consent_tag_t *tag, consent_el_t el, int shadow)
{
    element_facts_t f;
    int i, ticked, checkable, n = g->o.form->purposes->nelts;

    read_element(g, b, tag, &f);
    if (!f.any) {
        return;
    }
    checkable = el == CONSENT_EL_INPUT && f.types && f.checkable;
    ticked = !checkable || f.checked || f.form;
    if (ticked && checkable && !f.form && g->o.fix && !shadow) {
        untick(g, b, at, tag);
        ticked = 0;
    }
    for (i = 0; i < n; ++i) {
        char st = (ticked || g->marks[i] == 2) ? CONSENT_BOX_TICKED
                  : CONSENT_BOX_UNTICKED;
        if (g->marks[i] && (g->states[i] == CONSENT_BOX_ABSENT
                            || st == CONSENT_BOX_TICKED)) {
            g->states[i] = st;
        }
    }
    g->report.ticked += ticked;
    if (!shadow && el == CONSENT_EL_INPUT && g->in_form
        && !g->form_has_token && !g->no_tokens && !g->scan.foreign) {
        guard_edit_t *e = add_edit(g, at + (apr_off_t)tag->end + 1, 0, NULL);
        e->pending = 1;
        if (!g->pending++) {
            g->first_pending = e->at;
        }
        g->form_has_token = 1;
    }
}

static int may_count(consent_el_t el)
{
    return el == CONSENT_EL_INPUT || el == CONSENT_EL_BUTTON
           || el == CONSENT_EL_SELECT || el == CONSENT_EL_TEXTAREA
           || el == CONSENT_EL_CUSTOM;
}

/* Every "<" and letter in bytes a browser takes for text, read as a start
 * tag that ends at the next '>' or where the bytes end. */
static void shadow(consent_guard_t *g, const char *b, apr_size_t n)
{
    apr_size_t k = 0;
    consent_tag_t tag;
    consent_el_t el;
    const char *lt;

    while (!g->unsure && k < n && (lt = memchr(b + k, '<', n - k)) != NULL) {
        k = (apr_size_t)(lt - b);
        /* the name first: most "<x" in a script are comparisons */
        if (k + 1 < n && apr_isalpha(lt[1])) {
            apr_size_t e = k + 1;

            while (e < n && !CONSENT_TAG_WHITE(b[e]) && b[e] != '/'
                   && b[e] != '>') {
                e++;
            }
            tag.name = 1;
            tag.name_len = e - k - 1;
            el = consent_scan_element(lt, &tag);
            if (may_count(el) && consent_tag_read(&tag, lt, n - k,
                                                  g->shadow_attrs)) {
                if (tag.end > g->shadow_left) {
                    g->unsure = 1;  /* refused rather than read forever */
                    return;
                }
                g->shadow_left -= tag.end;
                element(g, lt, 0, &tag, el, 1);
            }
        }
        k++;
    }
}

/* charset="X", or http-equiv content="text/html; charset=X". */
static void meta_charset(consent_guard_t *g, const char *b,
                         const consent_tag_t *tag)
{
    const char *cs = NULL;
    int k;

    for (k = 0; k < tag->attrs->nelts; ++k) {
        const consent_tag_attr_t *a =
            &APR_ARRAY_IDX(tag->attrs, k, consent_tag_attr_t);
        const char *v = apr_pstrmemdup(g->p, b + a->value, a->value_len);

        if (consent_tag_attr_is(b, a, "charset")) {
            cs = v;
        }
        else if (consent_tag_attr_is(b, a, "content")) {
            cs = consent_guard_charset_of(v, g->p);
        }
        if (cs && !consent_guard_charset_ok(cs)) {
            give_up(g, "the page declares a charset that is not "
                    "ASCII-based");
            return;
        }
    }
}

static void on_tag(consent_guard_t *g, const char *b, apr_off_t at,
                   const consent_scan_token_t *t)
{
    const consent_tag_t *tag = &t->tag;
    consent_el_t el = (consent_el_t)t->el;

    if (tag->has_lt) {
        shadow(g, b + 1, t->len - 1);
    }
    if (!tag->ended) {
        g->unsure = 1;          /* the page ends inside a tag */
    }
    if (tag->end_tag) {
        if (el == CONSENT_EL_FORM) {
            g->in_form = 0;
        }
        return;
    }
    if (may_count(el)) {
        element(g, b, at, tag, el, 0);
    }
    else if (el == CONSENT_EL_FORM && !g->in_form && !g->scan.foreign) {
        g->in_form = 1;
        g->form_has_token = 0;
    }
    else if (el == CONSENT_EL_META) {
        meta_charset(g, b, tag);
    }
}

/* Cuts what is held into constructs and reads them. */
static void scan_held(consent_guard_t *g, int eof)
{
    consent_scan_token_t t;

    if (!eof && g->held_len - g->scanned < g->rescan_at) {
        return;
    }
    g->rescan_at = 0;
    while (!g->done && g->scanned < g->held_len) {
        const char *b = g->held + g->scanned;
        apr_off_t at;

        consent_scan_next(&g->scan, b, g->held_len - g->scanned, eof, &t);
        g->scanned += t.skip;
        if (t.kind == CONSENT_SCAN_MORE) {
            /* never later than the construct may grow: the give-up must
             * not depend on how the page was cut */
            g->rescan_at = 2 * (g->held_len - g->scanned);
            if (g->rescan_at > g->o.max_hold) {
                g->rescan_at = g->o.max_hold;
            }
            break;
        }
        b += t.skip;
        at = g->held_at + (apr_off_t)g->scanned;
        if (t.len > g->o.max_hold) {
            /* decided on the construct, not on how the page was cut */
            give_up(g, "a single tag, comment or raw text is larger than "
                    "the guard may hold");
            return;
        }
        if (t.kind == CONSENT_SCAN_TAG) {
            on_tag(g, b, at, &t);
        }
        else if (t.kind == CONSENT_SCAN_OPAQUE && t.to > t.from
                 && !t.comment) {
            shadow(g, b + t.from, t.to - t.from);
        }
        g->scanned += t.len;
    }
}

/* ---- the interface -------------------------------------------------- */

apr_status_t consent_guard_open(consent_guard_t **guard,
                                const consent_guard_opts_t *opts,
                                apr_pool_t *p)
{
    consent_guard_t *g = apr_pcalloc(p, sizeof *g);
    int n = opts->form->purposes->nelts;

    g->o = *opts;
    if (!g->o.max_hold) {
        g->o.max_hold = CONSENT_GUARD_DEFAULT_HOLD;
    }
    g->p = p;
    g->held_cap = 16384;
    g->held = apr_palloc(p, g->held_cap);
    g->edits = apr_array_make(p, 4, sizeof(guard_edit_t));
    g->states = apr_palloc(p, n + 1);
    memset(g->states, CONSENT_BOX_ABSENT, n);
    g->states[n] = '\0';
    g->marks = apr_palloc(p, n + 1);
    g->first_pending = -1;
    consent_scan_init(&g->scan, p);
    g->scan.skip_max = g->o.max_hold;
    g->shadow_left = 8 * g->o.max_hold;
    g->shadow_attrs = apr_array_make(p, 16, sizeof(consent_tag_attr_t));
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

apr_status_t consent_guard_push(consent_guard_t *g, const char *data,
                                apr_size_t len)
{
    if (g->done || g->error) {
        return put(g, data, len);
    }
    hold(g, data, len);
    if (!g->started) {
        if (g->held_len < 2) {
            return APR_SUCCESS;     /* a BOM may be cut in two */
        }
        g->started = 1;
        if (wide_bom(g->held, g->held_len)) {
            give_up(g, "the page is UTF-16 or UTF-32");
            return g->error;
        }
    }
    scan_held(g, 0);
    if (!g->done) {
        settle(g);
    }
    return g->error;
}

/* The page's facts, now known: every waiting token is signed with them. */
static void sign_pending(consent_guard_t *g)
{
    const char *facts = g->states, *token;
    int i;

    if (g->unsure) {
        char *all = apr_pstrdup(g->p, g->states);
        memset(all, CONSENT_BOX_TICKED, strlen(all));
        facts = all;
        g->report.unsure++;
    }
    g->report.facts = facts;
    for (i = 0; i < g->edits->nelts && !g->error; ++i) {
        guard_edit_t *e = &APR_ARRAY_IDX(g->edits, i, guard_edit_t);
        apr_status_t rv;

        if (!e->pending) {
            continue;
        }
        rv = g->o.token(g->o.token_baton, facts, &token);
        if (rv != APR_SUCCESS) {
            g->error = rv;
            break;
        }
        e->insert = apr_pstrcat(g->p, "<input type=\"hidden\" name=\""
                                CONSENT_TOKEN_FIELD "\" value=\"",
                                consent_html_escape(g->p, token), "\">",
                                NULL);
        e->pending = 0;
        g->report.forms++;
    }
    g->pending = 0;
}

apr_status_t consent_guard_finish(consent_guard_t *g)
{
    if (!g->done && !g->error) {
        scan_held(g, 1);
    }
    if (!g->done && !g->error) {
        sign_pending(g);
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
