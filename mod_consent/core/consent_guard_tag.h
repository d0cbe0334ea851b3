/*
 * Reading one tag from the raw bytes of a page, by the states of the
 * WHATWG HTML tokenizer (tag name, before/after attribute name, attribute
 * value double-quoted/single-quoted/unquoted, after attribute value,
 * self-closing start tag): where it ends, and where each attribute's name
 * and value lie, so that the guard can judge a tag and cut an attribute
 * out of it without re-serialising anything. Duplicate attributes are all
 * kept (a browser keeps the first; the guard judges every one).
 */
#ifndef CONSENT_GUARD_TAG_H
#define CONSENT_GUARD_TAG_H

#include "consent.h"

typedef struct {
    apr_size_t name;            /* offset of the attribute's name */
    apr_size_t name_len;
    apr_size_t value;           /* offset of its value, quotes excluded */
    apr_size_t value_len;       /* 0 for a missing or empty value */
    apr_size_t end;             /* just past the attribute (its quote) */
} consent_tag_attr_t;

typedef struct {
    int end_tag;                /* "</name ..." */
    apr_size_t name;            /* offset of the tag name */
    apr_size_t name_len;
    apr_size_t end;             /* offset of the '>', or len */
    int ended;                  /* 0: the bytes ran out first */
    int self_closing;           /* "/>" */
    int has_lt;                 /* a '<' after the tag's own: the guard
                                   reads the tag's bytes for tags too */
    apr_array_header_t *attrs;  /* consent_tag_attr_t, in order; NULL
                                   when not asked for */
} consent_tag_t;

/*
 * Reads the tag at buf[0] == '<' (a start tag "<x" or an end tag "</x",
 * x an ASCII letter) up to its '>' within len bytes. Without that '>',
 * tag->ended is 0 and what was read stands (the guard then judges it as
 * a tag that ends at len). attrs, when not NULL, is emptied and receives
 * the attributes. Returns 0 when buf does not open a tag.
 */
int consent_tag_read(consent_tag_t *tag, const char *buf, apr_size_t len,
                     apr_array_header_t *attrs);

/* Where a tag name starting at buf[i] ends (white space, '/' or '>'), and
 * whether it holds a '<'. */
apr_size_t consent_tag_name_end(const char *buf, apr_size_t i,
                                apr_size_t len, int *lt);

/* consent_tag_read() once the name is known: tag->end_tag, name,
 * name_len and has_lt set by the caller. */
void consent_tag_read_attrs(consent_tag_t *tag, const char *buf,
                            apr_size_t len, apr_array_header_t *attrs);

/* Whether the attribute's name is lname (ASCII, lower case), as the
 * tokenizer compares (it lowercases ASCII letters only). */
int consent_tag_attr_is(const char *buf, const consent_tag_attr_t *a,
                        const char *lname);

/*
 * The attribute's value with its character references decoded as HTML5
 * does in attribute values (numeric ones, and the named ones that spell
 * ASCII punctuation); NUL-terminated, in p. *unsure is set when a
 * reference could not be decoded here (a named one outside that set):
 * the value may then be another string to the browser.
 */
const char *consent_tag_value(const char *buf, const consent_tag_attr_t *a,
                              int *unsure, apr_pool_t *p);

/* The tokenizer's white space: tab, line feed, form feed, return, space. */
#define CONSENT_TAG_WHITE(c) ((c) == ' ' || (c) == '\n' || (c) == '\t' \
                              || (c) == '\r' || (c) == '\f')

#endif
