#include <stdio.h>
#include <stdarg.h>

#include "consent.h"
#include "consent_log.h"

#include <apr_strings.h>

static void log_stderr(void *baton, consent_log_level_t level,
                       apr_status_t rv, const char *file, int line,
                       const char *msg)
{
    static const char *names[] = { "error", "warning", "info", "debug" };
    char buf[120];

    (void)baton;
    if (level > CONSENT_LOG_INFO) {
        return;
    }
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "consent: %s: %s (%s)\n", names[level], msg,
                apr_strerror(rv, buf, sizeof buf));
    }
    else {
        fprintf(stderr, "consent: %s: %s\n", names[level], msg);
    }
    (void)file; (void)line;
}

static consent_log_fn *log_fn = log_stderr;
static void *log_baton;

void consent_log_set(consent_log_fn *fn, void *baton)
{
    log_fn = fn ? fn : log_stderr;
    log_baton = baton;
}

void consent_log_emit(consent_log_level_t level, apr_status_t rv,
                      const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(log_baton, level, rv, file, line, msg);
}

void consent_problem_add(apr_array_header_t *problems, const char *file,
                         int line, const char *rule, const char *fmt, ...)
{
    consent_problem_t *pb = apr_array_push(problems);
    va_list ap;

    va_start(ap, fmt);
    pb->message = apr_pvsprintf(problems->pool, fmt, ap);
    va_end(ap);
    pb->file = file ? apr_pstrdup(problems->pool, file) : "(unknown)";
    pb->line = line;
    pb->rule = apr_pstrdup(problems->pool, rule);
}

const char *consent_problem_str(apr_pool_t *p, const consent_problem_t *pb)
{
    if (pb->line > 0) {
        return apr_psprintf(p, "%s:%d: [%s] %s", pb->file, pb->line,
                            pb->rule, pb->message);
    }
    return apr_psprintf(p, "%s: [%s] %s", pb->file, pb->rule, pb->message);
}

apr_array_header_t *consent_problem_lines(const apr_array_header_t *problems,
                                          int id, const char *what,
                                          apr_pool_t *p)
{
    apr_array_header_t *lines = apr_array_make(p, problems->nelts + 1,
                                               sizeof(consent_log_line_t));
    int i;

    for (i = 0; i < problems->nelts; ++i) {
        consent_log_line_t *l = apr_array_push(lines);

        l->level = CONSENT_LOG_ERR;
        l->id = id;
        l->text = apr_pstrcat(p, what, ": ", consent_problem_str(
                              p, &APR_ARRAY_IDX(problems, i,
                                                consent_problem_t)), NULL);
    }
    return lines;
}
