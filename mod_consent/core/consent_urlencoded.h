/*
 * application/x-www-form-urlencoded bodies, read in the core so that
 * every page of both servers gets the same fields: names and values
 * %-decoded with their lengths, where httpd's ap_parse_form_data cuts a
 * name at a %00 (so "consent%00junk" was read as "consent").
 */
#ifndef CONSENT_URLENCODED_H
#define CONSENT_URLENCODED_H

#include "consent_submit.h"

/* 1 when a Content-Type header names an urlencoded body (parameters such
 * as "; charset=utf-8" allowed). */
int consent_urlencoded_is(const char *content_type);

/*
 * Splits body[0..len) into a new array *fields of consent_field_value_t,
 * in body order, repeated names kept; a %00 in a value shows as
 * len > strlen(value). A name holding a NUL or invalid UTF-8 is kept
 * with bad_name set, so the page refuses it with its own answer.
 * APR_EINVAL, *fields NULL (and *why, when why is not NULL) on a
 * malformed escape such as "%zz" or a trailing "%4", a pair without '=',
 * or an empty name.
 */
apr_status_t consent_urlencoded_parse(const char *body, apr_size_t len,
                                      apr_array_header_t **fields,
                                      const char **why, apr_pool_t *p);

#endif
