/*
 * mod_consent core: shared definitions.
 *
 * The core depends on APR, APR-util, libxml2 and libcrypto only. It never
 * includes an httpd (or nginx) header, so the Apache adapter, consentctl,
 * the unit tests and the fuzzers all link the same code.
 */
#ifndef CONSENT_H
#define CONSENT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>

#ifndef CONSENT_TEMPLATE_DIR
#define CONSENT_TEMPLATE_DIR "/usr/local/share/mod_consent"
#endif

#define CONSENT_XMLNS "urn:mod-consent:form:1"
#define CONSENT_SHA256_LEN 32

/*
 * A problem found while loading configuration (a form definition, a
 * template, a secret file). Start-up collects them all so an admin sees
 * every mistake at once, each naming file, line and the rule broken.
 */
typedef struct {
    const char *file;
    int line;           /* 0 when the problem is not tied to a line */
    const char *rule;   /* "R1".."R11", "schema", "xml", "template", ... */
    const char *message;
} consent_problem_t;

/* Appends a problem (all strings copied into the array's pool). */
void consent_problem_add(apr_array_header_t *problems, const char *file,
                         int line, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "file:line: [rule] message" for logs and consentctl. */
const char *consent_problem_str(apr_pool_t *p, const consent_problem_t *pb);

#endif
