/*
 * The Apache httpd adapter: configuration, hooks and handlers that turn a
 * request into core calls and back. The only sources that include httpd
 * headers.
 */
#ifndef MOD_CONSENT_H
#define MOD_CONSENT_H

#include <httpd.h>
#include <http_config.h>

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
    unsigned int store_id;          /* hash of both: a thread's lane memory
                                       is kept for one store at a time */
    /* shared by a process's request threads: apr_atomic only */
    volatile apr_uint32_t schema_ready;
    /* 1 when this process last failed to use the store, 0 when fine */
    volatile apr_uint32_t store_failed;
    /* when a child may next try to create the schema (apr_time_sec) */
    volatile apr_uint32_t migrate_after;
    struct consent_writer_t *writer;    /* this process's, child_init */
    /* double opt-in (consent_confirm.c) */
    const char *mail_command;       /* ConsentMailCommand */
    const char *const *mail_argv;   /* ...split, checked at start-up */
    const char *mail_from;          /* ConsentMailFrom */
} consent_server_conf;

typedef struct {
    const char *location;           /* <Location> path, for sub-pages */
    const char *withdraw_url;       /* location + "/withdraw", made once */
    const char *form_path;          /* ConsentForm */
    consent_form_t *form;
    const char *template_dir;       /* ConsentTemplateDir */
    const consent_ui_t *ui;         /* resolved in post_config */
    const char *default_lang;       /* ConsentDefaultLanguage */
    apr_interval_time_t lifetime;   /* ConsentTokenLifetime */
    int lifetime_set;
    apr_size_t max_body;            /* ConsentMaxBody */
    int max_body_set;
    const char *success_url;        /* ConsentSuccessURL */
    int guard;                      /* form came from ConsentGuard */
    int guard_fix;                  /* ConsentGuardFix */
    int guard_fix_set;
    const char *style_file;         /* ConsentStyle */
    const consent_style_t *style;   /* L/consent.css, set in check_config;
                                       NULL: none (guard mode) */
    int confirm_email;              /* ConsentConfirm email */
    int confirm_email_set;
    apr_interval_time_t confirm_lifetime;   /* ConsentConfirmLifetime */
    int confirm_lifetime_set;
} consent_dir_conf;

extern const command_rec consent_cmds[];
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

/* Double opt-in (consent_confirm.c): directives and the start-up check
 * of a location (the pages are the core's flow). */
#define CONSENT_CONFIRM_CMDS \
    AP_INIT_TAKE1("ConsentConfirm", consent_set_confirm, NULL, \
                  RSRC_CONF | ACCESS_CONF, \
                  "email: double opt-in, choices count once confirmed " \
                  "from a mailed link (default off)"), \
    AP_INIT_TAKE1("ConsentConfirmLifetime", consent_set_confirm_lifetime, \
                  NULL, RSRC_CONF | ACCESS_CONF, \
                  "how long a confirmation link works (default 7d)"), \
    AP_INIT_TAKE1("ConsentMailCommand", consent_set_mail_command, NULL, \
                  RSRC_CONF, "the command (quoted) that reads a message on " \
                  "its standard input (default /usr/sbin/sendmail -t -i)"), \
    AP_INIT_TAKE1("ConsentMailFrom", consent_set_mail_from, NULL, RSRC_CONF, \
                  "From of confirmation messages, required with " \
                  "ConsentConfirm email")
const char *consent_set_confirm(cmd_parms *cmd, void *dconf,
                                const char *arg);
const char *consent_set_confirm_lifetime(cmd_parms *cmd, void *dconf,
                                         const char *arg);
const char *consent_set_mail_command(cmd_parms *cmd, void *dconf,
                                     const char *arg);
const char *consent_set_mail_from(cmd_parms *cmd, void *dconf,
                                  const char *arg);
/* 1 when the location may start; else 0 after logging why. */
int consent_confirm_check(consent_dir_conf *conf, server_rec *s,
                          apr_pool_t *pconf);

/* At each start: which site uses which store and secret files, for
 * consentctl --site (consent_sites.c). */
void consent_sites_write(apr_pool_t *pconf, server_rec *main_s);

/* Guard mode (consent_guard.c): its filters and hooks. */
void consent_guard_register(apr_pool_t *p);

/* The store: prepared in mod_dbd, schema created (consent_dbd.c). */
/* servers: those that declare a form; main_s: the list of all, merged. */
int consent_dbd_check(apr_pool_t *pconf, server_rec *main_s,
                      apr_array_header_t *servers);
void consent_dbd_migrate(apr_pool_t *pconf, server_rec *main_s,
                         apr_array_header_t *servers);
/* Hooks of the store: mod_dbd's post_connect, the writer's child_init. */
void consent_dbd_register(apr_pool_t *p);
/* How log messages name a store (password hidden) and a server. */
const char *consent_dbd_store_name(const consent_server_conf *conf,
                                   apr_pool_t *p);
const char *consent_dbd_vhost_name(const server_rec *s, apr_pool_t *p);
/* The request's store connection, or NULL: answer 503. */
consent_store_t *consent_dbd_store(request_rec *r);
/* Notes a failed or successful use of the store. */
void consent_dbd_outcome(request_rec *r, int ok);

#endif
