/*
 * What every adapter does around the core, written once: the lines it
 * logs for a list of problems, the headers of a guard page it edited,
 * a location's values in the flow's configuration, a store's start-up.
 * Each adapter still writes the lines in its server's log, reads the
 * values in its server's syntax and owns its connections.
 */
#ifndef CONSENT_ADAPTER_H
#define CONSENT_ADAPTER_H

#include <sys/types.h>
#include <apr_tables.h>

#include "consent.h"
#include "consent_flow.h"
#include "consent_log.h"

/* problems (consent_problem_t) as log lines (consent_log_line_t, errors
 * numbered id; 0: no number), each "what: file:line: [rule] message",
 * so an admin sees every mistake at once. */
apr_array_header_t *consent_problem_lines(const apr_array_header_t *problems,
                                          int id, const char *what,
                                          apr_pool_t *p);

/* A guarded page the guard edits differs from the application's: a new
 * length, a token for this person only, in the language of the request.
 * Sets the response headers h to say so. */
void consent_flow_edit_page_headers(apr_table_t *h);

/* What the directives of a location set (merged by the adapter), as
 * opposed to what start-up resolves (form, pages, style) and what the
 * serving server gives (keys, site, mail). */
typedef struct {
    const char *default_lang;       /* NULL: en */
    apr_interval_time_t lifetime;
    apr_size_t max_body;
    const char *success_url;        /* NULL: a confirmation page */
    int confirm_email;
    apr_interval_time_t confirm_lifetime;
    int guard_fix;
} consent_location_values_t;

/* Copies v into the flow's configuration fc. */
void consent_location_values(consent_flow_conf_t *fc,
                             const consent_location_values_t *v);

/* The flow's request headers read from an apr table (Content-Type,
 * Content-Length: -1 without, larger than any limit when unreadable,
 * Transfer-Encoding, If-None-Match, Accept-Language, User-Agent). */
void consent_flow_request_headers(consent_flow_request_t *req,
                                  const apr_table_t *headers);

/* Only the guard's check says a consent was stored: every client
 * spelling of Consent-Receipt (consent_flow_is_receipt_header) goes
 * from the request headers h. */
void consent_flow_strip_receipts(apr_table_t *h, apr_pool_t *p);

/*
 * One group-commit writer per store and per process (consent_writer.h):
 * servers that share a store share its writer. *w is the writer started
 * (in started, keyed by driver and params) for the same store, else a
 * new one, named by the store's label and kept in started once it runs.
 */
apr_status_t consent_writer_shared(struct consent_writer_t **w,
                                   apr_hash_t *started, const char *driver,
                                   const char *params, apr_pool_t *p);

/*
 * A store's start-up in the master (root): its schema created
 * (consent_store_setup_schema), then an sqlite3 file handed to uid:gid,
 * who in messages (consent_store_setup_owner, lines appended to logs).
 * APR_SUCCESS when the store is ready; else why its schema could not be
 * made, with *err (the store is down: locations answer 503 until it is
 * back).
 */
apr_status_t consent_store_setup_start(const char *driver, const char *params,
                              uid_t uid, gid_t gid, const char *who,
                              apr_array_header_t *logs, const char **err,
                              apr_pool_t *p);

/*
 * In a worker, a store whose schema could not be made at start-up: at
 * most once per every seconds (consent_store_setup_retry_due) one
 * thread tries again. *ready (set at start-up, shared by the process's
 * threads, apr_atomic only) becomes 1 once it worked. An error when this
 * call tried and failed, with *err, for the caller to log; else
 * APR_SUCCESS.
 */
apr_status_t consent_store_setup_retry(volatile apr_uint32_t *ready,
                              volatile apr_uint32_t *after,
                              apr_uint32_t every_sec, const char *driver,
                              const char *params, const char **err,
                              apr_pool_t *p);

#endif
