/*
 * Logging from the core goes through a callback (the mod_md idiom): the
 * Apache adapter forwards to ap_log_error, consentctl to stderr, tests
 * capture it. The core never calls ap_log_*.
 */
#ifndef CONSENT_LOG_H
#define CONSENT_LOG_H

#include <apr_errno.h>
#include <apr_tables.h>

typedef enum {
    CONSENT_LOG_ERR,
    CONSENT_LOG_WARNING,
    CONSENT_LOG_INFO,
    CONSENT_LOG_DEBUG
} consent_log_level_t;

/* A line for the server's log, kept for the adapter to write when it
 * can (at start-up, after a request): id is its CONSENT#### number. */
typedef struct {
    consent_log_level_t level;
    int id;
    const char *text;
} consent_log_line_t;

/* problems (consent_problem_t) as log lines (consent_log_line_t, errors
 * numbered id; 0: no number), each "what: file:line: [rule] message",
 * so an admin sees every mistake at once. */
apr_array_header_t *consent_problem_lines(const apr_array_header_t *problems,
                                          int id, const char *what,
                                          apr_pool_t *p);

typedef void consent_log_fn(void *baton, consent_log_level_t level,
                            apr_status_t rv, const char *file, int line,
                            const char *msg);

/* Installs the sink; NULL restores the default (stderr). */
void consent_log_set(consent_log_fn *fn, void *baton);

void consent_log_emit(consent_log_level_t level, apr_status_t rv,
                      const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define consent_log(level, rv, ...) \
    consent_log_emit((level), (rv), __FILE__, __LINE__, __VA_ARGS__)

#endif
