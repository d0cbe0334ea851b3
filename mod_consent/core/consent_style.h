/*
 * The pages' stylesheet, served by the module itself at L/consent.css:
 * the default theme (templates/consent.css, or a layout directory's own)
 * followed by a site's file of custom properties (ConsentStyle), read
 * and checked once at start-up and answered from memory. Server-neutral:
 * the Apache adapter and a future nginx one call the same functions.
 */
#ifndef CONSENT_STYLE_H
#define CONSENT_STYLE_H

#include "consent.h"

#define CONSENT_STYLE_NAME "consent.css"
#define CONSENT_STYLE_TYPE "text/css; charset=utf-8"
/* a site file is a few custom properties, not a second theme */
#define CONSENT_STYLE_SITE_MAX (32 * 1024)
#define CONSENT_STYLE_MAX (256 * 1024)

typedef struct {
    const char *body;           /* default + "\n" + site file */
    apr_size_t len;
    const char *etag;           /* strong: "\"<32 hex of SHA-256>\"" */
    const char *version;        /* 12 hex: the pages' ?v= */
} consent_style_t;

/*
 * Reads base (the default theme) and, when site is not NULL, a site's
 * file appended after it. The site file must be well-formed (comments,
 * strings and braces closed, UTF-8, no NUL, no @import) and may only set
 * the --consent-* properties the default declares, so a typo is an
 * error at start-up rather than a silently ignored colour. Problems name
 * file and line (rule "style").
 */
apr_status_t consent_style_load(consent_style_t **style, const char *base,
                                const char *site,
                                apr_array_header_t *problems,
                                apr_pool_t *p);

/* The URL the pages link: location + "/consent.css?v=" + version, so a
 * new stylesheet gets a new URL and the old one may be cached forever. */
const char *consent_style_href(const consent_style_t *style,
                               const char *location, apr_pool_t *p);

/* What to answer a GET or HEAD of the stylesheet. */
typedef struct {
    int status;                 /* 200, or 304 */
    const char *body;           /* NULL with 304 */
    apr_size_t len;
    const char *content_type;
    const char *etag;
    const char *cache_control;
} consent_style_answer_t;

/*
 * query: the request's query string or NULL (the current ?v= may be
 * cached for a year, anything else for an hour); if_none_match: the
 * request header or NULL.
 */
void consent_style_answer(const consent_style_t *style, const char *query,
                          const char *if_none_match,
                          consent_style_answer_t *a);

#endif
