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
    /* this worker's group-commit writer (consent_writer.h): every proof
     * goes through it; NULL when it could not start (writes answer 503) */
    struct consent_writer_t *writer;
} ngx_http_consent_store_t;

typedef struct {
    apr_pool_t *pool;               /* this cycle's APR pool */
    consent_site_t *site;           /* forms, layouts, pages */
    apr_hash_t *stores;             /* driver " " params -> store */
    ngx_array_t *store_list;        /* ngx_http_consent_store_t * */
    const char *schema_dir;         /* http-level consent_template_dir */
    apr_hash_t *site_keys;          /* consent_site_keys' cache */
    ngx_thread_pool_t *thread_pool;
    ngx_flag_t mails;               /* a location sends confirmations */
} ngx_http_consent_main_conf_t;

typedef struct {
    consent_keyring_t *keys;        /* consent_secret_file: the master's,
                                       proofs are sealed by it */
    ngx_http_consent_store_t *store;
    const char *template_dir;
    const char *style_file;         /* consent_style */
    const char *form_path;          /* consent_form / consent_guard */
    consent_form_t *form;
    ngx_flag_t guard;
    ngx_flag_t guard_fix;
    time_t lifetime;                /* seconds */
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

/* A request's state, at a form's location (the handler) or a guard's. */
typedef struct {
    apr_pool_t *pool;               /* freed with r->pool */
    consent_flow_request_t req;
    consent_flow_t *flow;
    const char *store_error;        /* set by the thread pool task */
    ngx_int_t status;               /* what the guard's phase handler
                                       returns when re-entered: NGX_DONE
                                       while working */
    /* the guard's page */
    consent_guard_t *guard;
    ngx_http_request_t *r;
    ngx_chain_t *out, **last_out;
} ngx_http_consent_ctx_t;

/* ---- shared (ngx_http_consent_module.c) ----------------------------- */

/* An APR pool destroyed with pool (a cycle's, a request's); NULL. */
apr_pool_t *ngx_http_consent_apr_pool(ngx_pool_t *pool);

/* Logs what the core noted (consent_log_line_t), each at its level. */
void ngx_http_consent_log_lines(ngx_log_t *log,
                                const apr_array_header_t *lines);

/* Walks a list of headers: the element after *i in *part (both start at
 * the list's first), NULL at the end. */
ngx_table_elt_t *ngx_http_consent_next_header(ngx_list_part_t **part,
                                              ngx_uint_t *i);

/* Whether h is called name (any case). */
int ngx_http_consent_key_is(ngx_table_elt_t *h, const char *name);

/* The first header name (any case) in list not deleted, or NULL. */
ngx_table_elt_t *ngx_http_consent_header(ngx_list_t *list,
                                         const char *name);

/* ---- shared by the handler and guard mode (ngx_http_consent_handler.c) */

/* s copied into p, NULL when empty. */
const char *ngx_http_consent_cstr(apr_pool_t *p, ngx_str_t *s);

/* r's context, made (without its request) on first use; NULL. */
ngx_http_consent_ctx_t *ngx_http_consent_ctx(ngx_http_request_t *r);

/* The core's neutral request, from r (strings copied into p). */
void ngx_http_consent_request(ngx_http_request_t *r,
                              ngx_http_consent_loc_conf_t *lcf,
                              apr_pool_t *p, consent_flow_request_t *req);

/* Adds an answer header (Content-Type as nginx keeps it). */
ngx_int_t ngx_http_consent_add_header(ngx_http_request_t *r,
                                      const char *key, const char *val);

/* Logs what the core noted and sends f->answer; the handler result. */
ngx_int_t ngx_http_consent_send_answer(ngx_http_request_t *r,
                                       consent_flow_t *f);

/* What the flow's first step asks of r: the body read, the store call
 * or the answer sent; the result as a content handler returns it. */
ngx_int_t ngx_http_consent_step(ngx_http_request_t *r,
                                ngx_http_consent_loc_conf_t *lcf,
                                ngx_http_consent_ctx_t *ctx);

/* The body reader's callback (ngx_http_read_client_request_body): the
 * core judges the body, then the store call, after which r is answered
 * or, in guard mode, goes on (ngx_http_consent_guard_pass). */
void ngx_http_consent_body_read(ngx_http_request_t *r);

/* Guard mode (ngx_http_consent_guard.c): the precontent phase handler
 * and the page filters, registered at postconfiguration. */
ngx_int_t ngx_http_consent_guard_init(ngx_conf_t *cf);
/* After the store call: the POST goes on with its receipt. */
void ngx_http_consent_guard_pass(ngx_http_request_t *r,
                                 ngx_http_consent_ctx_t *ctx);

/* ---- the store, off the event loop (ngx_http_consent_store.c) ------ */

/* Runs consent_flow_store() for f in the thread pool, then resumes r
 * with resume(r); *error then says why no connection could be had (for
 * the log, on the event loop). NGX_ERROR when the task cannot be posted. */
ngx_int_t ngx_http_consent_post_store(ngx_http_request_t *r,
                                      ngx_http_consent_loc_conf_t *lcf,
                                      consent_flow_t *f, const char **error,
                                      ngx_http_event_handler_pt resume);

/* Creates the schema of each store (ngx_http_consent_store_t *) with a
 * connection of the master's (root), hands an sqlite3 file to the worker
 * user; never fatal. */
void ngx_http_consent_migrate(ngx_cycle_t *cycle, ngx_array_t *stores);

/* Starts a worker's writer for each store (init_process). */
void ngx_http_consent_start_writers(ngx_cycle_t *cycle, ngx_array_t *stores);

/* Drains and stops the writers, then closes every connection the threads
 * opened (exit_process). */
void ngx_http_consent_close_all(void);

#endif
