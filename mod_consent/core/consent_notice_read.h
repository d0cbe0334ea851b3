/*
 * A stored notice read back (consent_notice.c writes the format): who the
 * controller was, which policy, which fields and purposes with which
 * words. What a receipt or a subject access answer says about a proof is
 * taken from the notice the person was shown, sealed by its digest, not
 * from a definition file that may have changed since.
 */
#ifndef CONSENT_NOTICE_READ_H
#define CONSENT_NOTICE_READ_H

#include "consent.h"

typedef struct {
    const char *name;           /* the form field name */
    const char *label;
} consent_notice_field_t;

typedef struct {
    const char *id;
    const char *label;          /* "" when the notice had none */
    const char *description;
} consent_notice_purpose_t;

typedef struct {
    int format;                 /* 1, or 2 (names a site) */
    const char *form_id;
    unsigned form_version;
    const char *regime;
    const char *site;           /* NULL in format 1 */
    const char *lang;
    const char *controller;     /* NULL: no controller line */
    const char *contact;        /* NULL: none given */
    const char *policy;         /* NULL: no policy line */
    const char *extra;          /* the <notice> text, NULL if none */
    apr_array_header_t *fields;     /* consent_notice_field_t */
    apr_array_header_t *purposes;   /* consent_notice_purpose_t */
} consent_notice_facts_t;

/* NULL when text is not a notice in a format this version writes. */
consent_notice_facts_t *consent_notice_read(apr_pool_t *p, const char *text);

/* The purpose of that id, NULL if the notice has none. */
const consent_notice_purpose_t *consent_notice_purpose(
    const consent_notice_facts_t *n, const char *id);

#endif
