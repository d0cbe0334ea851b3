/*
 * Re-reading one start tag from the raw bytes of a page, by the states of
 * the WHATWG HTML tokenizer (tag name, before/after attribute name,
 * attribute value double-quoted/single-quoted/unquoted, after attribute
 * value, self-closing start tag). libxml2 tells the guard which
 * attributes a tag has, not where their bytes are; the guard needs both,
 * to cut a `checked` attribute out and to be sure it edits the very tag
 * libxml2 reported. This reads one tag the parser already found (its
 * start and end are known): it is not an HTML parser, so it does not
 * decode character references, and it reads nothing but that tag.
 */
#ifndef CONSENT_GUARD_TAG_H
#define CONSENT_GUARD_TAG_H

#include "consent.h"

typedef struct {
    const char *name;           /* as written (compare without case) */
    apr_size_t name_len;
    apr_size_t cut_from;        /* the attribute's bytes, with the white */
    apr_size_t cut_to;          /* space before it: what to remove */
} consent_tag_attr_t;

typedef struct {
    apr_size_t end;             /* offset of the '>' that ends the tag */
    apr_array_header_t *attrs;  /* consent_tag_attr_t; duplicates dropped,
                                   as the tokenizer does */
} consent_tag_t;

/* Reads the start tag at buf[0] == '<'; 0 when it is not a start tag or
 * does not end within len bytes. */
int consent_tag_read(consent_tag_t *tag, const char *buf, apr_size_t len,
                     apr_pool_t *p);

/* The attribute called name (ASCII, lower case), or NULL. */
const consent_tag_attr_t *consent_tag_attr(const consent_tag_t *tag,
                                           const char *name);

#endif
