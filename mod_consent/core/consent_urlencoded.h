/*
 * application/x-www-form-urlencoded bodies, read in the core so that
 * every page gets the same fields: names and values %-decoded with their
 * lengths, where httpd's ap_parse_form_data cuts a name at a %00 (so
 * "consent%00junk" was read as "consent").
 */
#ifndef CONSENT_URLENCODED_H
#define CONSENT_URLENCODED_H

#include "consent_submit.h"

/*
 * Appends the fields of body[0..len) to *fields (consent_field_value_t,
 * made when NULL). A name holding a NUL or invalid UTF-8 is kept with
 * bad_name set, so the page refuses it with its own answer. APR_EINVAL
 * (and *why) on a malformed escape such as "%zz" or a trailing "%4".
 */
apr_status_t consent_urlencoded_parse(const char *body, apr_size_t len,
                                      apr_array_header_t **fields,
                                      const char **why, apr_pool_t *p);

#endif
