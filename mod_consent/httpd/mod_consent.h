/*
 * The Apache httpd adapter: configuration, hooks and handlers that turn a
 * request into core calls and back. The only sources that include httpd
 * headers.
 */
#ifndef MOD_CONSENT_H
#define MOD_CONSENT_H

#include <httpd.h>
#include <http_config.h>

#include "consent_flow.h"
#include "consent_store_setup.h"
#include "consent_writer.h"
#include "consent_conf.h"
#include "consent_form.h"
#include "consent_render.h"
#include "consent_key.h"
#include "consent_store.h"
#include "consent_style.h"

/* Our own log tags: APLOGNO numbers belong to httpd itself. */
#define CONSENT_LOGNO(n) "CONSENT" #n ": "

#define CONSENT_HANDLER "consent-form"
#define CONSENT_DEFAULT_LIFETIME apr_time_from_sec(2 * 3600)
#define CONSENT_DEFAULT_MAX_BODY (64 * 1024)
#define CONSENT_DEFAULT_LANG "en"

extern module AP_MODULE_DECLARE_DATA consent_module;

typedef struct {
    consent_keyring_t *keys;        /* ConsentSecretFile, first signs;
                                       the masters: they seal proofs */
    const char *site;               /* ConsentSite, else the ServerName
                                       lower-cased (consent_config.c) */
    /* this site's keys, derived from keys in check_config: every token
     * and link of the site is signed or sealed with them (consent_tenant.h) */
    consent_keyring_t *site_keys;
    /* the DBDriver/DBDParams mod_dbd gives this server once merged,
     * read from mod_dbd in check_config (consent_dbd.c) */
    const char *dbd_driver;
    const char *dbd_params;
    /* shared by a process's request threads: apr_atomic only */
    volatile apr_uint32_t schema_ready;
    /* 1 when this process last failed to use the store, 0 when fine */
    volatile apr_uint32_t store_failed;
    /* when a child may next try to create the schema (apr_time_sec) */
    volatile apr_uint32_t migrate_after;
    struct consent_writer_t *writer;    /* this process's, child_init */
    /* double opt-in (consent_config.c) */
    const char *mail_command;       /* ConsentMailCommand */
    const char *const *mail_argv;   /* ...split, checked at start-up */
    const char *mail_from;          /* ConsentMailFrom */
} consent_server_conf;

typedef struct {
    const char *location;           /* <Location> path, for sub-pages */
    const char *form_path;          /* ConsentForm */
    consent_form_t *form;
    const char *template_dir;       /* ConsentTemplateDir */
    int guard;                      /* form came from ConsentGuard */
    const char *style_file;         /* ConsentStyle */
    /* the form, its pages, style (NULL: none, guard mode) and
     * L/withdraw, resolved in check_config; the rest is per request
     * (consent_request_conf) */
    const consent_flow_conf_t *flow;
    /* ConsentDefaultLanguage, ConsentTokenLifetime, ConsentMaxBody,
     * ConsentSuccessURL, ConsentConfirm, ConsentConfirmLifetime,
     * ConsentGuardFix */
    consent_location_values_t v;
    int lifetime_set;
    int max_body_set;
    int guard_fix_set;
    int confirm_email_set;
    int confirm_lifetime_set;
} consent_dir_conf;

extern const command_rec consent_cmds[];

/* Writes lines (consent_log_line_t) to r's log, else s's: each at its
 * level with its CONSENT#### number (none when 0); fatal: at start-up,
 * every line stops it (APLOG_EMERG, to the console too without s). */
void consent_log_lines(server_rec *s, request_rec *r,
                       const apr_array_header_t *lines, int fatal);
/* What messages call the directives (consent_conf.h). */
extern const consent_conf_names_t consent_httpd_names;

void *consent_create_server_conf(apr_pool_t *p, server_rec *s);
void *consent_merge_server_conf(apr_pool_t *p, void *base, void *add);
void *consent_create_dir_conf(apr_pool_t *p, char *dir);
void *consent_merge_dir_conf(apr_pool_t *p, void *base, void *add);

/* check_config (apachectl -t too): compiles every form's pages with its
 * templates, checks keys and stores. post_config: creates the schema. */
int consent_config_check(apr_pool_t *pconf, apr_pool_t *ptemp,
                         server_rec *s);
void consent_config_start(apr_pool_t *pconf, server_rec *s);

int consent_handler(request_rec *r);

/* The core's request flow (consent_flow.h) in httpd, shared by the
 * handler and guard mode's hook (consent_handler.c): conf as the core
 * wants it, with the serving server's site and keys. */
consent_flow_conf_t *consent_request_conf(request_rec *r,
                                          const consent_dir_conf *conf);

/* The flow of r at conf's location (guard: guard mode's). */
consent_flow_t *consent_request_flow(request_rec *r,
                                     const consent_dir_conf *conf,
                                     int guard);

/* Reads the body and runs the store call when the flow asks: OK, or
 * the status of a body that cannot be read. */
int consent_request_advance(request_rec *r, consent_flow_t *f);

/* The flow's log lines, with their CONSENT#### numbers. */
void consent_log_flow(request_rec *r, const consent_flow_t *f);

/* Logs, then sends f's answer: the handler's result. */
int consent_send_answer(request_rec *r, consent_flow_t *f);

/* At each start: which site uses which store and secret files, for
 * consentctl --site (consent_sites.c). */
void consent_sites_write(apr_pool_t *pconf, server_rec *main_s);

/* Guard mode (consent_guard.c): its filters and hooks. */
void consent_guard_register(apr_pool_t *p);
/* ... the POST check and the body replay (consent_guard_post.c). */
void consent_guard_register_post(apr_pool_t *p);

/* Gives back to the request what the check set aside for the
 * application's sake (Accept-Encoding), once the application answered:
 * mod_deflate may then compress the edited page for the client. */
void consent_guard_restore_request(request_rec *r);

/* The store: prepared in mod_dbd, schema created (consent_dbd.c). */
/* servers: those that declare a form; main_s: the list of all, merged. */
int consent_dbd_check(apr_pool_t *pconf, server_rec *main_s,
                      apr_array_header_t *servers);
void consent_dbd_migrate(apr_pool_t *pconf, server_rec *main_s,
                         apr_array_header_t *servers);
/* Hooks of the store: mod_dbd's post_connect, the writer's child_init. */
void consent_dbd_register(apr_pool_t *p);
/* How log messages name s's store: "sqlite3 /var/lib/x.db of vhost
 * a.example:80 (/etc/apache2/sites-enabled/a.conf:1)". */
const char *consent_dbd_store_of(server_rec *s, apr_pool_t *p);
/* The request's store connection, or NULL: answer 503. */
consent_store_t *consent_dbd_store(request_rec *r);
/* Notes a failed or successful use of the store. */
void consent_dbd_outcome(request_rec *r, int ok);

#endif
