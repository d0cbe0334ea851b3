/*
 * The request flow, server-neutral: an adapter hands over a neutral
 * request (method, path below the location, the headers that matter, the
 * body, the client) and gets back a neutral answer (status, headers,
 * body), or a step to take first: read the body, or run the store call
 * (which may block, so an event-driven server runs it off its loop).
 * Everything that decides what to answer - DESIGN.md's HTTP table at L,
 * L/withdraw and L/unsubscribe - lives here, once.
 *
 *   f = consent_flow_start(conf, req, p);
 *   if (f->step == CONSENT_FLOW_READ_BODY) consent_flow_body(f, ...);
 *   if (f->step == CONSENT_FLOW_STORE) {
 *       consent_flow_store(f, store, lane, cache);   (blocking, any thread)
 *       consent_flow_stored(f);
 *   }
 *   send f->answer
 */
#ifndef CONSENT_FLOW_H
#define CONSENT_FLOW_H

#include "consent_confirm.h"
#include "consent_guard.h"
#include "consent_log.h"
#include "consent_render.h"
#include "consent_key.h"
#include "consent_store.h"
#include "consent_style.h"
#include "consent_submit.h"
#include "consent_unsub.h"

struct consent_writer_t;

#define CONSENT_RETRY_AFTER "30"

/* What a location's configuration says, resolved at start-up. */
typedef struct {
    const consent_form_t *form;
    const consent_ui_t *ui;
    const consent_keyring_t *keys;  /* the site's: tokens and links */
    /* the master's: proofs are sealed by it, never by a site key (a
     * customer given their site's key cannot forge records); NULL: keys */
    const consent_keyring_t *seal_keys;
    /* the site served (consent_tenant.h): each proof's, and the store
     * hands only its proofs (and those before tenancy); NULL: none */
    const char *site;
    const char *withdraw_url;       /* L/withdraw */
    const char *default_lang;       /* NULL: en */
    apr_interval_time_t lifetime;
    apr_size_t max_body;
    const char *success_url;        /* NULL: a confirmation page */
    /* double opt-in (consent_confirm.h): submissions are held "pending"
     * and a message sent with mail_argv; 0: off (links mailed before
     * still open at L/confirm) */
    int confirm_email;
    const char *const *mail_argv;
    const char *mail_from;
    apr_interval_time_t confirm_lifetime;
    /* L/consent.css (consent_style.h); NULL: 404 */
    const consent_style_t *style;
    int guard_fix;                  /* guard pages: un-tick pre-ticked
                                       boxes (and say so) */
} consent_flow_conf_t;

typedef struct {
    const char *method;             /* "GET", "HEAD", "POST", ... */
    const char *path;               /* below L: "", "/", "/withdraw" ... */
    const char *args;               /* the query string, NULL if none */
    const char *content_type;
    apr_off_t content_length;       /* -1 when not announced; larger than
                                       any limit when unreadable */
    int chunked;                    /* a body of unannounced length */
    const char *if_none_match;
    const char *accept_language;
    const char *user_agent;
    const char *ip;
    apr_time_t now;
    int store_suspect;              /* the store failed lately: probe it
                                       before serving a form page */
    /* L as people reach it, absolute, from the configuration (never the
     * Host header: whoever submits must not choose where a confirmation
     * link points); needed with conf->confirm_email */
    const char *base_url;
} consent_flow_request_t;

typedef struct {
    int status;                     /* 0 while there is no answer yet */
    apr_table_t *headers;
    const char *body;
    apr_size_t len;
    int close;                      /* close the connection after it */
} consent_answer_t;

typedef enum {
    CONSENT_FLOW_ANSWER,            /* send f->answer */
    CONSENT_FLOW_READ_BODY,         /* read at most conf->max_body bytes,
                                       then consent_flow_body() */
    CONSENT_FLOW_STORE,             /* consent_flow_store() then
                                       consent_flow_stored() */
    CONSENT_FLOW_PASS               /* guard mode: the request goes on to
                                       the application, with f->receipt as
                                       its Consent-Receipt when set */
} consent_flow_step_t;

typedef enum {
    CONSENT_FLOW_OP_PROBE,          /* is the store reachable again? */
    CONSENT_FLOW_OP_RECORD,         /* store f->proof */
    CONSENT_FLOW_OP_UNSUBSCRIBE,    /* read the subject's status, record
                                       what the link still changes */
    CONSENT_FLOW_OP_CONFIRM         /* read the subject's history, record
                                       the confirmation of f->link */
} consent_flow_op_t;

/* The page a request is for: the kinds a render token is bound to;
 * CONSENT_PAGE_NONE is L/confirm (a confirmation has no render token). */
typedef consent_page_kind_t consent_flow_page_t;

/* A line for the server's log; id is its CONSENT#### number. */
typedef consent_log_line_t consent_flow_log_t;

typedef struct {
    const consent_flow_conf_t *conf;
    const consent_flow_request_t *req;
    apr_pool_t *pool;
    consent_flow_step_t step;
    consent_flow_page_t page;
    consent_flow_op_t op;
    const char *lang;
    consent_proof_t *proof;         /* OP_RECORD: what to store */
    consent_unsub_t *unsub;         /* OP_UNSUBSCRIBE: the link */
    consent_confirm_link_t *link;   /* OP_CONFIRM: the link */
    consent_confirm_action_t action;    /* OP_CONFIRM: what was decided */
    int held;                       /* OP_RECORD: a held submission, its
                                       message sent after it is stored */
    int mail_failed;                /* the message could not be sent */
    consent_store_status_t stored;  /* set by consent_flow_store */
    const char *receipt;            /* the receipt to answer with */
    const char *note;               /* the last info line: why refused */
    const char *error;              /* the last error line: store */
    apr_array_header_t *logs;       /* consent_flow_log_t, in order */
    /* set by the adapter before consent_flow_store: proofs are written
     * through it (group commit, consent_writer.h), the store call's
     * connection only reads (none is needed to record) */
    struct consent_writer_t *writer;
    consent_answer_t answer;
} consent_flow_t;

consent_flow_t *consent_flow_start(const consent_flow_conf_t *conf,
                                   const consent_flow_request_t *req,
                                   apr_pool_t *p);

/* The body read; too_large when it exceeded conf->max_body (413). */
void consent_flow_body(consent_flow_t *f, const char *body, apr_size_t len,
                       int too_large);

/* Whether the store call needs a connection (it has a writer to
 * record with). */
int consent_flow_needs_store(const consent_flow_t *f);

/* The store call; store NULL when no connection could be had. Blocks
 * (a held submission's message is sent here too, with a bounded wait):
 * touches nothing but f, its pool and the store (restricted to
 * conf->site: store->only_site is set, the caller's connection serving
 * locations of several sites). lane and cache are the
 * caller's writer (one per thread), cache may be NULL. */
void consent_flow_store(consent_flow_t *f, consent_store_t *store,
                        const char *lane, consent_lane_cache_t *cache);

/* The answer after the store call. */
void consent_flow_stored(consent_flow_t *f);

/* 1 when the store call failed for want of the store (not a replay):
 * the adapter notes the store as suspect and reconnects. */
int consent_flow_store_failed(const consent_flow_t *f);

/*
 * Guard mode, the request side: a request at a guarded location, before
 * the application sees it. A GET passes (400 when a guarded box is in
 * its query string: guarded forms must post; 405 when another method than
 * POST carries a body: no body reaches the application unchecked); a POST
 * is read, judged by
 * consent_guard_check() and its proof stored, then passes with its
 * receipt, or is answered (the table's 400, 403, 409, 413, 415, 422,
 * 503) and never reaches the application. Then as consent_flow_start().
 */
consent_flow_t *consent_flow_guard_start(const consent_flow_conf_t *conf,
                                         const consent_flow_request_t *req,
                                         apr_pool_t *p);

/*
 * Guard mode, the page side: 1 when a response is one the guard reads
 * (a status that may carry a form, text/html, not compressed, in a
 * charset it can edit). 0 otherwise; *why then says what an admin should
 * know (a compressed page, an unusable charset), or is NULL when the
 * response simply is not a page.
 */
int consent_flow_guard_inspectable(int status, const char *content_type,
                                   const char *charset,
                                   const char *content_encoding,
                                   const char **why, apr_pool_t *p);

/*
 * Guard mode, the page side, once inspectable: the guard that edits the
 * application's page (consent_guard.h) as it streams through write,
 * signing each guarded form's token in the language accept_language
 * negotiates (and un-ticking with conf->guard_fix). logs, when not NULL,
 * gets a debug line (consent_flow_log_t) per form signed.
 */
apr_status_t consent_flow_guard_page(const consent_flow_conf_t *conf,
                                     const char *accept_language,
                                     consent_write_fn *write, void *baton,
                                     apr_array_header_t *logs,
                                     consent_guard_t **guard, apr_pool_t *p);

/* Whether a request header is one a backend files under the same
 * variable as Consent-Receipt (CGI, PHP and WSGI upper-case a name and
 * turn '-', some any other character, into '_'): only the guard's check
 * may set it, so every client spelling of it goes. */
int consent_flow_is_receipt_header(const char *name);

/* A render token for form in lang, bound to the page that issues it;
 * defaults NULL: every box unticked. For tests that need a valid token
 * without rendering a page. */
apr_status_t consent_flow_issue_token(const consent_form_t *form,
                                      const consent_keyring_t *keys,
                                      const char *lang, const char *defaults,
                                      consent_page_kind_t page,
                                      const char **token, apr_pool_t *p);

/* ---- consent_flow_table.c: the flow and an APR table of headers ---- */

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

#endif
