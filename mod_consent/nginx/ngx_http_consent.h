/*
 * The nginx adapter: directives, the content handler and the thread pool
 * that keeps blocking store calls off the event loop. Everything that
 * decides an answer is the core's (consent_flow.h); this only translates.
 */
#ifndef NGX_HTTP_CONSENT_H
#define NGX_HTTP_CONSENT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include "consent_conf.h"
#include "consent_flow.h"
#include "consent_site.h"
#include "consent_store.h"

/* One consent_store DRIVER PARAMS, shared by the locations naming it. */
typedef struct {
    const char *driver;
    const char *params;
    /* when this worker last failed to use it, 0 when fine (written on
     * the event loop only) */
    time_t failed;
} ngx_http_consent_store_t;

typedef struct {
    apr_pool_t *pool;               /* this cycle's APR pool */
    consent_site_t *site;           /* forms, layouts, pages */
    apr_hash_t *stores;             /* driver " " params -> store */
    ngx_array_t *store_list;        /* ngx_http_consent_store_t * */
    const char *schema_dir;         /* http-level consent_template_dir */
    apr_hash_t *site_keys;          /* "%pp site" (master) -> keyring */
    ngx_thread_pool_t *thread_pool;
    ngx_flag_t mails;               /* a location sends confirmations */
} ngx_http_consent_main_conf_t;

typedef struct {
    consent_keyring_t *keys;        /* consent_secret_file: the master's,
                                       proofs are sealed by it */
    ngx_http_consent_store_t *store;
    const char *template_dir;
    const char *form_path;          /* consent_form / consent_guard */
    consent_form_t *form;
    ngx_flag_t guard;
    ngx_flag_t guard_fix;
    const char *default_lang;
    time_t lifetime;                /* seconds */
    size_t max_body;
    const char *success_url;
    const char *site;               /* consent_site, else the server's
                                       first server_name (when merged) */
    const char *location;           /* trimmed, for sub-pages */
    ngx_int_t confirm;              /* consent_confirm email|off */
    const char *mail_command;       /* consent_mail_command, checked */
    const char *mail_from;          /* consent_mail_from, checked */
    time_t confirm_lifetime;        /* consent_confirm_lifetime, s */
    consent_flow_conf_t flow;       /* resolved when merged */
} ngx_http_consent_loc_conf_t;

extern ngx_module_t ngx_http_consent_module;

/* What messages call the directives (consent_conf.h). */
extern const consent_conf_names_t ngx_http_consent_names;

ngx_int_t ngx_http_consent_handler(ngx_http_request_t *r);

/* ---- shared by the handler and guard mode (ngx_http_consent_handler.c) */

/* The core's neutral request, from r (strings copied into p). */
void ngx_http_consent_request(ngx_http_request_t *r,
                              ngx_http_consent_loc_conf_t *lcf,
                              apr_pool_t *p, consent_flow_request_t *req);

/* Logs what the core noted and sends f->answer; the handler result. */
ngx_int_t ngx_http_consent_send_answer(ngx_http_request_t *r,
                                       consent_flow_t *f);

/* The body read, in one piece (in p): small (consent_max_body), but it
 * may sit in a temporary file past client_body_buffer_size. */
ngx_int_t ngx_http_consent_gather_body(ngx_http_request_t *r,
                                       apr_pool_t *p, size_t max,
                                       char **body, size_t *len,
                                       int *too_large);

/* After a store call: logs a connection error, notes the store as failed
 * (probed again before the next form page) or working. */
void ngx_http_consent_note_store(ngx_http_request_t *r,
                                 ngx_http_consent_loc_conf_t *lcf,
                                 consent_flow_t *f, const char *error);

/* Guard mode (ngx_http_consent_guard.c): the precontent phase handler
 * and the page filters, registered at postconfiguration. */
ngx_int_t ngx_http_consent_guard_init(ngx_conf_t *cf);

/* ---- the store, off the event loop (ngx_http_consent_store.c) ------ */

/* Runs consent_flow_store() for f in the thread pool, then resumes r
 * with resume(r); *error then says why no connection could be had (for
 * the log, on the event loop). NGX_ERROR when the task cannot be posted. */
ngx_int_t ngx_http_consent_post_store(ngx_http_request_t *r,
                                      ngx_http_consent_loc_conf_t *lcf,
                                      consent_flow_t *f, const char **error,
                                      ngx_http_event_handler_pt resume);

/* Creates the schema with a connection of the master's (root), hands an
 * sqlite3 file to the worker user; never fatal. */
void ngx_http_consent_migrate(ngx_cycle_t *cycle,
                              ngx_http_consent_store_t *st);

/* Once per worker, before any task (init_process). */
void ngx_http_consent_threads_init(apr_pool_t *p);

/* Closes every connection the threads opened (exit_process). */
void ngx_http_consent_close_all(void);

#endif
