/*
 * Guard mode's page scanner: cuts a page into the constructs of the
 * WHATWG HTML tokenizer (text, start tag, end tag, comment, raw text of
 * script/style/textarea/...), without building a tree.
 *
 * Why a scanner of our own: browsers read a page by the HTML5 parsing
 * algorithm, libxml2 (the only HTML parser among the core's Debian C
 * libraries) by HTML 4 rules, and every place where the two disagree was
 * a box the guard misread (issue 11). No HTML5 tree builder is available
 * as a Debian C library the project may use, and the guard's rule needs
 * only tags and attributes, not the tree: every element with a guarded
 * name counts, wherever it stands. Where this scanner and a browser may
 * still disagree about what is markup (script escapes, foreign content,
 * raw text ended early), the guard also reads every tag-like run of the
 * bytes it took for text (consent_guard.c: "shadow" tags), so a
 * disagreement can only make it count more. tests/fuzz/fuzz_guard_html.c
 * fuzzes it.
 *
 * It works on a window of the page held by the caller and returns one
 * whole construct at a time, or asks for more bytes: a construct may be
 * split across buckets. It remembers how far it has already searched for
 * the end of a long comment or script, so held bytes are read once.
 */
#ifndef CONSENT_GUARD_SCAN_H
#define CONSENT_GUARD_SCAN_H

#include "consent_guard_tag.h"

typedef enum {
    CONSENT_SCAN_MORE,          /* the next construct is not whole yet */
    CONSENT_SCAN_TEXT,          /* character data: nothing to read */
    CONSENT_SCAN_TAG,           /* a start or end tag: tag is filled */
    CONSENT_SCAN_OPAQUE         /* comment, doctype, bogus comment, CDATA,
                                   raw text: not markup to a browser; its
                                   bytes are [from, to) */
} consent_scan_kind_t;

typedef struct {
    consent_scan_kind_t kind;
    apr_size_t skip;            /* bytes passed over before it: text and
                                   tags with nothing to read */
    apr_size_t len;             /* bytes of the construct, after skip */
    consent_tag_t tag;          /* offsets from the construct's start */
    int el;                     /* TAG: its consent_el_t */
    int read;                   /* TAG: its attributes were read (those
                                   of input, button, select, textarea,
                                   custom elements, form, meta) */
    apr_size_t from, to;        /* OPAQUE: its content */
    int comment;                /* OPAQUE: a "<!--" comment (whose end
                                   every browser finds where we do) */
} consent_scan_token_t;

typedef struct {
    const char *raw_end;        /* in raw text: the element that ends it,
                                   "" for plaintext (never ends) */
    apr_size_t searched;        /* bytes already searched for an end */
    int script_state;           /* script data: 1 escaped, 2 double */
    int foreign;                /* open <svg>/<math>, roughly */
    int foreign_saved;          /* foreign, inside an integration point */
    const char *integration;    /* that point's element, or NULL */
    apr_array_header_t *attrs;  /* the last tag's attributes */
    int every;                  /* return every construct (tests): no
                                   skip */
    apr_size_t skip_max;        /* never pass over a construct longer
                                   than this (0: any): the guard gives up
                                   on those, however the page is cut */
} consent_scan_t;

void consent_scan_init(consent_scan_t *s, apr_pool_t *p);

/*
 * The next construct of buf[0..len) the guard has to read, after
 * t->skip bytes it has not (text, tags of other elements without a '<'
 * inside; MORE with a skip: those bytes are done). eof: no byte follows
 * len (a tag not ended then comes out as a TAG with tag.ended 0; a
 * comment or raw text not ended runs to len, as in a browser). A start
 * tag of a raw text element switches the scanner to raw text, as a
 * browser's tree builder does.
 */
void consent_scan_next(consent_scan_t *s, const char *buf, apr_size_t len,
                       int eof, consent_scan_token_t *t);

/* The tag names the guard and the scanner tell apart. */
typedef enum {
    CONSENT_EL_OTHER, CONSENT_EL_INPUT, CONSENT_EL_BUTTON,
    CONSENT_EL_SELECT, CONSENT_EL_TEXTAREA, CONSENT_EL_CUSTOM,
    CONSENT_EL_FORM, CONSENT_EL_META, CONSENT_EL_SVG, CONSENT_EL_MATH,
    CONSENT_EL_RAW, CONSENT_EL_TITLE, CONSENT_EL_PLAINTEXT,
    CONSENT_EL_SVG_POINT, CONSENT_EL_MATH_POINT, CONSENT_EL_BREAKOUT,
    CONSENT_EL_FONT
} consent_el_t;

/* Which of those the tag is (ASCII case-insensitive, as browsers);
 * CUSTOM: a name with a '-' (a custom element may take part in forms). */
consent_el_t consent_scan_element(const char *buf, const consent_tag_t *tag);

#endif
