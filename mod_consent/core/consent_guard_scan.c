/*
 * Guard mode's page scanner (see consent_guard_scan.h). The states are
 * the WHATWG tokenizer's, folded into what the guard needs: where each
 * construct ends. What a tree builder adds to the tokenizer is kept to the
 * two things that change how bytes are tokenized: raw text elements
 * (script, style, textarea, title, xmp, iframe, noembed, noframes,
 * noscript as with scripting on, plaintext) and foreign content (svg,
 * math: CDATA sections, no raw text), the latter approximately. The guard
 * reads the raw text and comments too, so an error here makes it count
 * more boxes, never fewer.
 */
#include "consent_guard_scan.h"

#define IS_WHITE(c) CONSENT_TAG_WHITE(c)

typedef struct {
    const char *name;
    consent_el_t el;
} known_t;

#define B CONSENT_EL_BREAKOUT
#define R CONSENT_EL_RAW
static const known_t len1[] = {
    { "b", B }, { "i", B }, { "p", B }, { "s", B }, { "u", B }, { NULL, 0 }
};
static const known_t len2[] = {
    { "br", B }, { "dd", B }, { "dl", B }, { "dt", B }, { "em", B },
    { "h1", B }, { "h2", B }, { "h3", B }, { "h4", B }, { "h5", B },
    { "h6", B }, { "hr", B }, { "li", B }, { "ol", B }, { "tt", B },
    { "ul", B }, { "mi", CONSENT_EL_MATH_POINT },
    { "mo", CONSENT_EL_MATH_POINT }, { "mn", CONSENT_EL_MATH_POINT },
    { "ms", CONSENT_EL_MATH_POINT }, { NULL, 0 }
};
static const known_t len3[] = {
    { "big", B }, { "div", B }, { "img", B }, { "pre", B }, { "sub", B },
    { "sup", B }, { "var", B }, { "svg", CONSENT_EL_SVG }, { "xmp", R },
    { NULL, 0 }
};
static const known_t len4[] = {
    { "body", B }, { "code", B }, { "head", B }, { "menu", B },
    { "nobr", B }, { "ruby", B }, { "span", B },
    { "meta", CONSENT_EL_META }, { "form", CONSENT_EL_FORM },
    { "math", CONSENT_EL_MATH }, { "desc", CONSENT_EL_SVG_POINT },
    { "font", CONSENT_EL_FONT }, { NULL, 0 }
};
static const known_t len5[] = {
    { "embed", B }, { "small", B }, { "table", B },
    { "input", CONSENT_EL_INPUT }, { "style", R },
    { "title", CONSENT_EL_TITLE }, { "mtext", CONSENT_EL_MATH_POINT },
    { NULL, 0 }
};
static const known_t len6[] = {
    { "center", B }, { "strike", B }, { "strong", B },
    { "button", CONSENT_EL_BUTTON }, { "select", CONSENT_EL_SELECT },
    { "script", R }, { "iframe", R }, { NULL, 0 }
};
static const known_t len7[] = {
    { "listing", B }, { "noembed", R }, { NULL, 0 }
};
static const known_t len8[] = {
    { "textarea", CONSENT_EL_TEXTAREA }, { "noframes", R },
    { "noscript", R }, { NULL, 0 }
};
static const known_t len9[] = {
    { "plaintext", CONSENT_EL_PLAINTEXT }, { NULL, 0 }
};
static const known_t len10[] = { { "blockquote", B }, { NULL, 0 } };
static const known_t len13[] = {
    { "foreignobject", CONSENT_EL_SVG_POINT }, { NULL, 0 }
};
static const known_t len14[] = {
    { "annotation-xml", CONSENT_EL_MATH_POINT }, { NULL, 0 }
};
#undef B
#undef R

static const known_t *const by_len[] = {
    NULL, len1, len2, len3, len4, len5, len6, len7, len8, len9, len10,
    NULL, NULL, len13, len14
};

static const known_t custom = { NULL, CONSENT_EL_CUSTOM };

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The known entry of the tag's name, or NULL. Called for every tag of
 * every guarded page: no library call on the way. */
static const known_t *lookup(const char *buf, const consent_tag_t *tag)
{
    const char *n = buf + tag->name;
    apr_size_t len = tag->name_len, k;
    const known_t *e;
    char c0;

    if (len < sizeof by_len / sizeof by_len[0] && by_len[len]) {
        c0 = n[0] | 0x20;       /* a letter: the tokenizer says so */
        for (e = by_len[len]; e->name; ++e) {
            if (e->name[0] != c0) {
                continue;
            }
            for (k = 1; k < len; ++k) {
                char c = n[k];
                if (c >= 'A' && c <= 'Z') {
                    c = (char)(c - 'A' + 'a');
                }
                if (c != e->name[k]) {
                    break;
                }
            }
            if (k == len) {
                return e;
            }
        }
    }
    for (k = 0; k < len; ++k) {
        if (n[k] == '-') {
            return &custom;
        }
    }
    return NULL;
}

consent_el_t consent_scan_element(const char *buf, const consent_tag_t *tag)
{
    const known_t *e = lookup(buf, tag);

    return e ? e->el : CONSENT_EL_OTHER;
}

void consent_scan_init(consent_scan_t *s, apr_pool_t *p)
{
    memset(s, 0, sizeof *s);
    s->attrs = apr_array_make(p, 16, sizeof(consent_tag_attr_t));
}

static void opaque(consent_scan_token_t *t, apr_size_t from, apr_size_t to,
                   apr_size_t len)
{
    t->kind = CONSENT_SCAN_OPAQUE;
    t->comment = 0;
    t->from = from;
    t->to = to < from ? from : to;
    t->len = len;
}

/* Bogus comment (and doctype, "</ x>", "<?x>"): up to the first '>'. */
static void bogus(consent_scan_t *s, const char *b, apr_size_t len, int eof,
                  apr_size_t from, consent_scan_token_t *t)
{
    apr_size_t k = s->searched > from ? s->searched : from;
    const char *gt = memchr(b + k, '>', len - k);

    if (gt) {
        opaque(t, from, (apr_size_t)(gt - b), (apr_size_t)(gt - b) + 1);
    }
    else if (eof) {
        opaque(t, from, len, len);
    }
    else {
        s->searched = len;
    }
}

/* "<!--": ends at "-->" (even "<!-->" and "<!--->") or "--!>". */
static void comment(consent_scan_t *s, const char *b, apr_size_t len,
                    int eof, consent_scan_token_t *t)
{
    apr_size_t k = s->searched > 2 ? s->searched : 2;

    for (;;) {
        const char *dash = memchr(b + k, '-', len - k);

        if (!dash) {
            k = len;
            break;
        }
        k = (apr_size_t)(dash - b);
        if (k + 2 >= len) {
            break;
        }
        if (b[k + 1] == '-' && b[k + 2] == '>') {
            opaque(t, 4, k, k + 3);
            t->comment = 1;
            return;
        }
        if (k + 3 >= len) {
            break;              /* "--!>" may still come */
        }
        if (b[k + 1] == '-' && b[k + 2] == '!' && b[k + 3] == '>'
            && k >= 4) {
            opaque(t, 4, k, k + 4);
            t->comment = 1;
            return;
        }
        k++;
    }
    if (eof) {
        opaque(t, 4, len, len);
        t->comment = 1;
    }
    else {
        s->searched = k;
    }
}

/* "<![CDATA[" in foreign content: up to "]]>". */
static void cdata(consent_scan_t *s, const char *b, apr_size_t len, int eof,
                  consent_scan_token_t *t)
{
    apr_size_t k = s->searched > 9 ? s->searched : 9;

    for (;;) {
        const char *br = memchr(b + k, ']', len - k);

        if (!br || (apr_size_t)(br - b) + 2 >= len) {
            k = br ? (apr_size_t)(br - b) : len;
            break;
        }
        k = (apr_size_t)(br - b);
        if (b[k + 1] == ']' && b[k + 2] == '>') {
            opaque(t, 9, k, k + 3);
            return;
        }
        k++;
    }
    if (eof) {
        opaque(t, 9, len, len);
    }
    else {
        s->searched = k;
    }
}

/* Whether b (n bytes) is a prefix of, or starts with, lit (both are
 * case-sensitive in the tokenizer). */
static int starts(const char *b, apr_size_t n, const char *lit, int *short_)
{
    apr_size_t k, m = strlen(lit);

    for (k = 0; k < m && k < n; ++k) {
        if (b[k] != lit[k]) {
            return 0;
        }
    }
    *short_ = n < m;
    return 1;
}

static void declaration(consent_scan_t *s, const char *b, apr_size_t len,
                        int eof, consent_scan_token_t *t)
{
    int partial = 0;

    if (starts(b, len, "<!--", &partial)) {
        if (!partial) {
            comment(s, b, len, eof, t);
            return;
        }
    }
    else if (s->foreign && starts(b, len, "<![CDATA[", &partial)) {
        if (!partial) {
            cdata(s, b, len, eof, t);
            return;
        }
    }
    if (partial && !eof) {
        return;                 /* MORE: cannot tell which yet */
    }
    bogus(s, b, len, eof, 2, t);
}

/* What a tree builder would change in the tokenizer after this tag. */
static consent_el_t after_tag(consent_scan_t *s, const known_t *e,
                              const consent_tag_t *tag)
{
    consent_el_t el = e ? e->el : CONSENT_EL_OTHER;

    if (tag->end_tag) {
        if (s->integration && e && e->name == s->integration) {
            s->foreign = s->foreign_saved;
            s->integration = NULL;
        }
        else if (s->foreign && (el == CONSENT_EL_SVG
                                || el == CONSENT_EL_MATH)) {
            s->foreign--;
        }
        return el;
    }
    if (s->foreign) {
        if (el == CONSENT_EL_BREAKOUT || el == CONSENT_EL_META
            || el == CONSENT_EL_FONT) {
            s->foreign = 0;     /* the tree builder leaves svg/math */
        }
        else if ((el == CONSENT_EL_SVG_POINT || el == CONSENT_EL_TITLE
                  || el == CONSENT_EL_MATH_POINT) && !tag->self_closing
                 && !s->integration) {
            s->integration = e->name;
            s->foreign_saved = s->foreign;
            s->foreign = 0;
        }
        else if ((el == CONSENT_EL_SVG || el == CONSENT_EL_MATH)
                 && !tag->self_closing) {
            s->foreign++;
        }
        return el;
    }
    if ((el == CONSENT_EL_SVG || el == CONSENT_EL_MATH)
        && !tag->self_closing) {
        s->foreign = 1;
    }
    else if (el == CONSENT_EL_RAW || el == CONSENT_EL_TITLE
             || el == CONSENT_EL_TEXTAREA) {
        s->raw_end = e->name;   /* even "<script/>": HTML ignores the / */
    }
    else if (el == CONSENT_EL_PLAINTEXT) {
        s->raw_end = "";
    }
    return el;
}

/* The tags the guard reads the attributes of; the others are only
 * found the end of. */
static int is_read(consent_el_t el, int end_tag)
{
    if (end_tag) {
        return el == CONSENT_EL_FORM;
    }
    return el == CONSENT_EL_INPUT || el == CONSENT_EL_BUTTON
           || el == CONSENT_EL_SELECT || el == CONSENT_EL_TEXTAREA
           || el == CONSENT_EL_CUSTOM || el == CONSENT_EL_FORM
           || el == CONSENT_EL_META;
}

static void tag(consent_scan_t *s, const char *b, apr_size_t len, int eof,
                consent_scan_token_t *t)
{
    consent_tag_t *tg = &t->tag;
    const known_t *e;
    apr_size_t i;

    tg->end_tag = b[1] == '/';
    tg->name = 1 + tg->end_tag;
    i = consent_tag_name_end(b, tg->name, len, &tg->has_lt);
    if (i == len && !eof) {
        return;                 /* MORE */
    }
    tg->name_len = i - tg->name;
    e = lookup(b, tg);
    t->el = e ? e->el : CONSENT_EL_OTHER;
    t->read = is_read(t->el, tg->end_tag);
    consent_tag_read_attrs(tg, b, len, t->read ? s->attrs : NULL);
    if (!t->tag.ended && !eof) {
        return;                 /* MORE */
    }
    t->kind = CONSENT_SCAN_TAG;
    t->len = t->tag.ended ? t->tag.end + 1 : len;
    after_tag(s, e, &t->tag);
}

/* At a '<' in the data state. */
static void markup(consent_scan_t *s, const char *b, apr_size_t len,
                   int eof, consent_scan_token_t *t)
{
    if (len < 2 || (b[1] == '/' && len < 3)) {
        if (eof) {
            t->kind = CONSENT_SCAN_TEXT;
            t->len = len;
        }
        return;
    }
    if (is_alpha(b[1]) || (b[1] == '/' && is_alpha(b[2]))) {
        tag(s, b, len, eof, t);
    }
    else if (b[1] == '/' && b[2] == '>') {
        opaque(t, 2, 2, 3);     /* "</>": nothing */
    }
    else if (b[1] == '/') {
        bogus(s, b, len, eof, 2, t);
    }
    else if (b[1] == '!') {
        declaration(s, b, len, eof, t);
    }
    else if (b[1] == '?') {
        bogus(s, b, len, eof, 1, t);
    }
    else {
        t->kind = CONSENT_SCAN_TEXT;
        t->len = 1;
    }
}

static int is_delim(char c)
{
    return IS_WHITE(c) || c == '/' || c == '>';
}

/*
 * Script data, with its escape states: after "<!--" a "<script" makes the
 * next "</script" part of the script, up to "-->" (what a browser does
 * with "<script><!--<script></script>...</script>"). end: where the
 * script's end tag starts, or 0 with *more set when bytes are missing.
 */
static apr_size_t script_end(consent_scan_t *s, const char *b,
                             apr_size_t len, int *more)
{
    apr_size_t k = s->searched;
    int st = s->script_state;

    while (k < len) {
        char c = b[k];

        if (c == '-' && st) {
            if (k + 3 > len) {
                break;
            }
            if (b[k + 1] == '-' && b[k + 2] == '>') {
                st = 0;
                k += 3;
            }
            else {
                k++;
            }
            continue;
        }
        if (c != '<') {
            k++;
            continue;
        }
        if (k + 9 > len) {
            break;
        }
        if (st == 0 && b[k + 1] == '!' && b[k + 2] == '-'
            && b[k + 3] == '-') {
            st = 1;
            k += 2;             /* "<!-->" enters and leaves at once */
            continue;
        }
        if (b[k + 1] == '/' && strncasecmp(b + k + 2, "script", 6) == 0
            && is_delim(b[k + 8])) {
            if (st != 2) {
                s->script_state = 0;
                return k;
            }
            st = 1;
        }
        else if (st == 1 && strncasecmp(b + k + 1, "script", 6) == 0
                 && is_delim(b[k + 7])) {
            st = 2;
        }
        k++;
    }
    s->searched = k;
    s->script_state = st;
    *more = 1;
    return 0;
}

/* Raw text: up to "</name" and white space, '/' or '>'. */
static int raw_text(consent_scan_t *s, const char *b, apr_size_t len,
                    int eof, consent_scan_token_t *t)
{
    apr_size_t n = strlen(s->raw_end), k = s->searched;

    if (n == 0) {               /* plaintext: the rest of the page */
        if (eof) {
            opaque(t, 0, len, len);
        }
        return 1;
    }
    if (strcmp(s->raw_end, "script") == 0) {
        int more = 0;

        k = script_end(s, b, len, &more);
        if (more) {
            if (eof) {
                opaque(t, 0, len, len);
            }
            return 1;
        }
        s->raw_end = NULL;
        s->searched = 0;
        if (k == 0) {
            return 0;
        }
        opaque(t, 0, k, k);
        return 1;
    }
    for (;;) {
        const char *lt = memchr(b + k, '<', len - k);
        char c;

        if (!lt) {
            k = len;
            break;
        }
        k = (apr_size_t)(lt - b);
        if (k + 2 + n >= len) {
            break;
        }
        c = b[k + 2 + n];
        if (b[k + 1] == '/' && strncasecmp(b + k + 2, s->raw_end, n) == 0
            && (IS_WHITE(c) || c == '/' || c == '>')) {
            s->raw_end = NULL;
            s->searched = 0;
            if (k == 0) {
                return 0;       /* empty: the end tag is next */
            }
            opaque(t, 0, k, k);
            return 1;
        }
        k++;
    }
    if (eof) {
        opaque(t, 0, len, len);
    }
    else {
        s->searched = k;
    }
    return 1;
}

/* One construct, whatever it is. */
static void next_one(consent_scan_t *s, const char *b, apr_size_t len,
                     int eof, consent_scan_token_t *t)
{
    t->kind = CONSENT_SCAN_MORE;
    t->len = 0;
    if (len == 0) {
        return;
    }
    if (s->raw_end && raw_text(s, b, len, eof, t)) {
        if (t->kind != CONSENT_SCAN_MORE) {
            s->searched = 0;
        }
        return;
    }
    if (b[0] != '<') {
        const char *lt = memchr(b, '<', len);

        t->kind = CONSENT_SCAN_TEXT;
        t->len = lt ? (apr_size_t)(lt - b) : len;
        return;
    }
    markup(s, b, len, eof, t);
    if (t->kind != CONSENT_SCAN_MORE) {
        s->searched = 0;
    }
}

/*
 * The names skim() stops at, as bit (1 << length) by first letter: the
 * elements the scanner or the guard must see (is_read(), raw text, svg,
 * math, plaintext). A few others share a letter and a length (strong):
 * the slow path takes them.
 */
static const unsigned short special[26] = {
    ['b' - 'a'] = 1 << 6,                          /* button */
    ['f' - 'a'] = 1 << 4,                          /* form */
    ['i' - 'a'] = 1 << 5 | 1 << 6,                 /* input iframe */
    ['m' - 'a'] = 1 << 4,                          /* meta math */
    ['n' - 'a'] = 1 << 7 | 1 << 8,                 /* noembed noframes
                                                      noscript */
    ['p' - 'a'] = 1 << 9,                          /* plaintext */
    ['s' - 'a'] = 1 << 3 | 1 << 5 | 1 << 6,        /* svg style select
                                                      script */
    ['t' - 'a'] = 1 << 5 | 1 << 8,                 /* title textarea */
    ['x' - 'a'] = 1 << 3                           /* xmp */
};

/*
 * The fast path of the data state, outside foreign content: text and the
 * tags of every other element (no '<' or '-' in them) are passed over
 * without a token each. Returns where the slow path must take over (a
 * '<' it did not pass), or len.
 */
static apr_size_t skim(consent_scan_t *s, const char *b, apr_size_t len)
{
    apr_size_t k = 0, i, from;
    consent_tag_t tg;

    while (k < len) {
        const char *lt = memchr(b + k, '<', len - k);
        int odd = 0;
        char c0;

        if (!lt) {
            return len;
        }
        k = (apr_size_t)(lt - b);
        i = k + 1;
        tg.end_tag = i < len && b[i] == '/';
        i += tg.end_tag;
        if (i >= len || !is_alpha(b[i])) {
            return k;
        }
        from = i;
        c0 = (char)(b[i] | 0x20);
        while (i < len && !IS_WHITE(b[i]) && b[i] != '/' && b[i] != '>') {
            odd |= b[i] == '-' || b[i] == '<';
            i++;
        }
        if (i >= len || odd || (i - from < 16
                                && ((special[c0 - 'a'] >> (i - from)) & 1))) {
            return k;
        }
        tg.name = from - k;
        tg.name_len = i - from;
        tg.has_lt = 0;
        consent_tag_read_attrs(&tg, b + k, len - k, NULL);
        if (!tg.ended || tg.has_lt
            || (s->skip_max && tg.end + 1 > s->skip_max)) {
            return k;
        }
        k += tg.end + 1;
    }
    return len;
}

/* Whether the guard has nothing to read in this construct. */
static int nothing_to_read(const consent_scan_token_t *t)
{
    return t->kind == CONSENT_SCAN_TEXT
           || (t->kind == CONSENT_SCAN_TAG && !t->read && t->tag.ended
               && !t->tag.has_lt);
}

void consent_scan_next(consent_scan_t *s, const char *b, apr_size_t len,
                       int eof, consent_scan_token_t *t)
{
    apr_size_t skip = 0;

    for (;;) {
        if (!s->every && !s->raw_end && !s->foreign && !s->integration) {
            skip += skim(s, b + skip, len - skip);
            if (skip == len) {
                t->kind = CONSENT_SCAN_MORE;
                t->len = 0;
                break;
            }
        }
        next_one(s, b + skip, len - skip, eof, t);
        if (s->every || !nothing_to_read(t)
            || (s->skip_max && t->len > s->skip_max)) {
            break;
        }
        /* text and tags of no interest: passed over in one call, the
         * scanner's state kept (a raw text element's start included) */
        skip += t->len;
        if (skip == len) {
            t->kind = CONSENT_SCAN_MORE;
            t->len = 0;
            break;
        }
    }
    t->skip = skip;
}
