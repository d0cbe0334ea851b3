/*
 * What a guarded page had, told to the admin in the same words by both
 * adapters: the application is the one to fix (pre-ticked boxes, pages
 * the guard could not read with certainty).
 */
#ifndef CONSENT_GUARD_LOG_H
#define CONSENT_GUARD_LOG_H

#include "consent_conf.h"
#include "consent_guard.h"
#include "consent_log.h"

/* Appends to logs (consent_log_line_t, each with its CONSENT####
 * number) what the finished guard's report says of the page at uri;
 * names: the adapter's directive names. */
void consent_guard_log_report(const consent_guard_t *guard, const char *uri,
                              const consent_conf_names_t *names,
                              apr_array_header_t *logs, apr_pool_t *p);

#endif
