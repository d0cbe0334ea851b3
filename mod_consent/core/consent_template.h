/*
 * A tiny template compiler for the consent pages.
 *
 * Why our own syntax rather than a library: the pages need three things
 * only (escaped slots, slots for markup the core produced itself, and
 * translations), Debian ships no C template library that fits a core
 * allowed to depend on APR, libxml2 and libcrypto alone, and the product
 * wants a compile-once model: templates are parsed at start-up, then
 * partially evaluated (bound) per form and language until the only slots
 * left are the few a request fills. Twenty lines of grammar keep that
 * auditable; a general engine (loops, conditionals, expressions) would be
 * more surface for a page whose job is to be boringly correct.
 *
 * Syntax (a tag opens and closes on one line):
 *   {{name}}     slot; its value is HTML-escaped when filled
 *   {{{name}}}   raw slot; only filled with markup the core produced
 *                (a value given as plain text is still escaped)
 *   {{t:key}}    translation; kept as the escaped slot "t:key" and
 *                resolved per language when the template is bound
 * A name is made of letters, digits and . _ - : (a key of no ':').
 * Anything else, including a lone "{{" that is not a tag, is an error.
 */
#ifndef CONSENT_TEMPLATE_H
#define CONSENT_TEMPLATE_H

#include "consent.h"

typedef enum {
    CONSENT_SEG_TEXT = 0,       /* literal bytes, written as they are */
    CONSENT_SEG_SLOT,           /* {{name}}: escaped when filled */
    CONSENT_SEG_RAW             /* {{{name}}}: core markup when filled */
} consent_seg_kind_t;

typedef struct {
    consent_seg_kind_t kind;
    const char *text;           /* literal bytes, or the slot's name */
    apr_size_t len;             /* length of text */
    int line;                   /* where it starts in the source */
} consent_seg_t;

/* A compiled template: read-only once built, shared between threads. */
typedef struct {
    const char *name;           /* file name, for problems */
    const char *source;         /* the source text (NUL-terminated) */
    apr_size_t source_len;
    apr_array_header_t *segs;   /* consent_seg_t, adjacent texts merged */
} consent_tpl_t;

/* Same signature as consent_write_fn (consent_render.h). */
typedef apr_status_t consent_tpl_write_fn(void *baton, const char *data,
                                          apr_size_t len);

/* Says whether a translation key exists (non-zero) at compile time. */
typedef int consent_tpl_key_fn(void *baton, const char *key);

/* What a lookup answers for one slot. */
typedef enum {
    CONSENT_VAL_NONE = 0,       /* unresolved: bind keeps the slot,
                                   render writes nothing */
    CONSENT_VAL_TEXT,           /* plain text: always escaped */
    CONSENT_VAL_MARKUP,         /* core markup: as is in a raw slot,
                                   escaped in a {{slot}} */
    CONSENT_VAL_TEMPLATE,       /* a compiled fragment, spliced into a raw
                                   slot (its slots stay slots); nothing
                                   in a {{slot}} */
    CONSENT_VAL_RENAME          /* bind only: keep the slot, new name */
} consent_val_kind_t;

typedef struct {
    consent_val_kind_t kind;
    const char *str;            /* TEXT, MARKUP: the value; RENAME: name */
    const consent_tpl_t *tpl;   /* TEMPLATE */
} consent_tpl_value_t;

/* Fills *v (already zeroed: NONE) for the slot called name. */
typedef void consent_tpl_lookup_fn(void *baton, const char *name,
                                   consent_tpl_value_t *v);

/*
 * Compiles a template held in memory (buf need not be NUL-terminated).
 * known, when not NULL, checks every {{t:key}}. Every problem found is
 * appended (rule "template", naming name and line); on any, returns
 * APR_EGENERAL and *tpl is NULL.
 */
apr_status_t consent_tpl_compile(consent_tpl_t **tpl, const char *name,
                                 const char *buf, apr_size_t len,
                                 consent_tpl_key_fn *known, void *baton,
                                 apr_array_header_t *problems,
                                 apr_pool_t *p);

/* The same from a file (a problem names the file when it cannot be read). */
apr_status_t consent_tpl_compile_file(consent_tpl_t **tpl, const char *path,
                                      consent_tpl_key_fn *known,
                                      void *baton,
                                      apr_array_header_t *problems,
                                      apr_pool_t *p);

/*
 * Partial evaluation: a new template in which every slot the lookup
 * resolves has become (escaped) literal text, a renamed slot or a spliced
 * fragment, with adjacent literals merged. Unresolved slots stay slots.
 */
consent_tpl_t *consent_tpl_bind(const consent_tpl_t *tpl,
                                consent_tpl_lookup_fn *lookup, void *baton,
                                apr_pool_t *p);

/* Concatenates fragments into one template (merging literals). */
consent_tpl_t *consent_tpl_concat(const char *name,
                                  const consent_tpl_t *const *tpls, int n,
                                  apr_pool_t *p);

/*
 * Writes the template, filling each slot through the lookup; a slot the
 * lookup leaves unresolved renders as nothing. Needs no pool, so a
 * request only pays for the writes and the escaping.
 */
apr_status_t consent_tpl_render(const consent_tpl_t *tpl,
                                consent_tpl_lookup_fn *lookup, void *baton,
                                consent_tpl_write_fn *write, void *wbaton);

/* Number of segments that are slots (tests check what a page leaves). */
int consent_tpl_slot_count(const consent_tpl_t *tpl);

/*
 * HTML-escapes text for an element or an attribute value (quoted either
 * way): APR's entity escaping plus the apostrophe, which APR 1.7's
 * apr_escape_entity leaves as it is.
 */
const char *consent_html_escape(apr_pool_t *p, const char *s);

apr_status_t consent_html_write_escaped(consent_tpl_write_fn *write,
                                        void *baton, const char *s,
                                        apr_size_t len);

#endif
