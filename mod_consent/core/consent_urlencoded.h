/*
 * application/x-www-form-urlencoded bodies (the WHATWG URL standard's
 * parser, made strict). The Apache adapter has httpd's ap_parse_form_data;
 * nginx has no body parser at all, so the nginx adapter uses this one.
 */
#ifndef CONSENT_URLENCODED_H
#define CONSENT_URLENCODED_H

#include "consent_submit.h"

/* 1 when a Content-Type header names an urlencoded body (parameters such
 * as "; charset=utf-8" allowed). */
int consent_urlencoded_is(const char *content_type);

/*
 * Splits body (len bytes, not NUL-terminated) into consent_field_value_t
 * in *fields, names and values %-decoded and '+' read as a space, in body
 * order, repeated names kept. A %00 decodes to NUL, so it shows as
 * len > strlen(value) as the submission check expects. APR_EINVAL, and
 * *fields NULL, when the body is not well formed: a '%' not followed by
 * two hex digits, a pair without '=', an empty name. Empty pairs ("a=1&&")
 * are skipped, as browsers never send them but some clients do.
 */
apr_status_t consent_urlencoded_parse(const char *body, apr_size_t len,
                                      apr_array_header_t **fields,
                                      apr_pool_t *p);

#endif
