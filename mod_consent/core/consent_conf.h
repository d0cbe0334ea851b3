/*
 * The rules of directive values, once for both adapters: each adapter
 * reads a value in its server's syntax (a path relative to its root, a
 * duration or size in its units) and asks here whether it may serve;
 * the answer is the words an admin reads after the directive's name,
 * which the adapter turns into its server's refusal.
 */
#ifndef CONSENT_CONF_H
#define CONSENT_CONF_H

#include <apr_pools.h>
#include <apr_time.h>

#include "consent_form.h"
#include "consent_key.h"

/* An adapter's names for what its messages mention. */
typedef struct {
    const char *server;         /* "Apache", "nginx" */
    const char *form;           /* ConsentForm, consent_form */
    const char *guard;          /* ConsentGuard, consent_guard */
    const char *guard_fix;      /* ConsentGuardFix, consent_guard_fix */
    const char *on;             /* how a flag is switched on: On, on */
    const char *mail_from;      /* ConsentMailFrom, consent_mail_from */
    const char *mail_command;   /* ConsentMailCommand, ... */
} consent_conf_names_t;

/* Bounds of the values (the defaults are the adapters'). */
#define CONSENT_CONF_LIFETIME_MIN apr_time_from_sec(10)
#define CONSENT_CONF_LIFETIME_MAX apr_time_from_sec(30 * 86400)
#define CONSENT_CONF_CONFIRM_LIFETIME_MIN apr_time_from_sec(60)
#define CONSENT_CONF_CONFIRM_LIFETIME_MAX apr_time_from_sec(90 * 86400)
#define CONSENT_CONF_MAX_BODY_MIN 1024
#define CONSENT_CONF_MAX_BODY_MAX (16 * 1024 * 1024)

/* A template directory (path NULL: a path the server could not make). */
int consent_conf_dir_ok(const char *path, apr_pool_t *p);

/* A regular file, such as a style file (path NULL: as above). */
int consent_conf_file_ok(const char *path, apr_pool_t *p);

/* How long a rendered form may be submitted: 10s to 30 days. */
int consent_conf_lifetime_ok(apr_interval_time_t t);

/* How long a confirmation link works: 60s to 90 days. */
int consent_conf_confirm_lifetime_ok(apr_interval_time_t t);

/* The largest submission body: 1 KiB to 16 MiB. */
int consent_conf_max_body_ok(apr_off_t n);

/* A language tag (the default language): 1 to 35 letters, digits and
 * hyphens, len bytes of tag (no NUL needed). */
int consent_conf_lang_ok(const char *tag, apr_size_t len);

/* Where people go after a submission (a 303's Location): an absolute
 * http or https URL with a host, or a path starting with /. Any other
 * scheme (javascript:, data:) would make the redirect a script. */
int consent_conf_success_url_ok(const char *url, apr_pool_t *p);

/*
 * The one-word values, checked the same way by both adapters: NULL, or
 * why not, the words an admin reads after the directive's name
 * ("ConsentDefaultLanguage: a language tag such as en or fr").
 * consent_site_check (consent_tenant.h) has the same shape.
 */
typedef const char *consent_conf_check_fn(const char *arg, apr_pool_t *p);
consent_conf_check_fn consent_conf_lang_check;         /* default language */
consent_conf_check_fn consent_conf_success_url_check;
consent_conf_check_fn consent_conf_mail_command_check; /* consent_mail_argv */
consent_conf_check_fn consent_conf_mail_from_check;   /* "arg: why" */

/* A form's location as its sub-pages follow it: "/newsletter/" and
 * "/newsletter" are one location (len bytes of name, copied into p). */
const char *consent_conf_location(const char *name, apr_size_t len,
                                  apr_pool_t *p);

/* Double opt-in's switch: "email" sets *on, "off" clears it (any case);
 * 0 for anything else. */
int consent_conf_confirm_mode(const char *arg, int *on);

/*
 * A location as people reach it, for the links of a confirmation
 * message: scheme://host[:port]location, the port left out when it is
 * the scheme's default (0: unknown, left out too). host is the
 * configured name, never the request's Host header: whoever submits must
 * not choose where the person's confirmation goes.
 */
const char *consent_conf_base_url(const char *scheme, const char *host,
                                  unsigned port, const char *location,
                                  apr_pool_t *p);

/*
 * Adds the secret file at path to *ring (made in p on its first key):
 * NULL, or why it is refused - unreadable or unsafe (consent_key_load),
 * a site's derived key (names->server must be given the master), or the
 * secret of an earlier file.
 */
const char *consent_conf_secret_file(consent_keyring_t **ring,
                                     const char *path,
                                     const consent_conf_names_t *names,
                                     apr_pool_t *p);

/* The site a server is when no directive names one: its host name,
 * lower-cased. NULL with *why when the host makes no site name (a
 * wildcard, a regular expression, what consent_site_check refuses). */
const char *consent_conf_host_site(const char *host, const char **why,
                                   apr_pool_t *p);

/*
 * Whether double opt-in may start at a location serving form (guard:
 * from the guard directive): NULL, setting *argv to the mail command
 * split (mail_command NULL: the default), or what stops it.
 */
const char *consent_conf_confirm_problem(const consent_form_t *form,
                                         int guard, const char *mail_from,
                                         const char *mail_command,
                                         const consent_conf_names_t *names,
                                         const char *const **argv,
                                         apr_pool_t *p);

#endif
