/*
 * Configuration files (form definitions, the schema, templates, style
 * sheets) read whole, with a bound: one reader, so every one of them
 * refuses a directory or a too large file with the same words.
 */
#ifndef CONSENT_FILE_H
#define CONSENT_FILE_H

#include "consent.h"

/*
 * The regular file at path, whole and NUL-terminated (*buf, *len, in p),
 * when it holds at most max bytes. Otherwise a problem of rule says why
 * (not a regular file, larger than max, cannot be read) and the answer
 * is not APR_SUCCESS (APR_ENOSPC: too large).
 */
apr_status_t consent_file_read(const char *path, apr_size_t max,
                               const char *rule, const char **buf,
                               apr_size_t *len,
                               apr_array_header_t *problems, apr_pool_t *p);

#endif
