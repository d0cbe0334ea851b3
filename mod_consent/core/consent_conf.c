/*
 * The rules of directive values (consent_conf.h): what both adapters
 * refuse, in the same words, whichever server reads the file.
 */
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <string.h>

#include "consent_conf.h"
#include "consent_mail.h"
#include "consent_tenant.h"

static apr_filetype_e type_of(const char *path, apr_pool_t *p)
{
    apr_finfo_t fi;

    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE, p) != APR_SUCCESS) {
        return APR_NOFILE;
    }
    return fi.filetype;
}

int consent_conf_dir_ok(const char *path, apr_pool_t *p)
{
    return type_of(path, p) == APR_DIR;
}

int consent_conf_file_ok(const char *path, apr_pool_t *p)
{
    return type_of(path, p) == APR_REG;
}

int consent_conf_lifetime_ok(apr_interval_time_t t)
{
    return t >= CONSENT_CONF_LIFETIME_MIN && t <= CONSENT_CONF_LIFETIME_MAX;
}

int consent_conf_confirm_lifetime_ok(apr_interval_time_t t)
{
    return t >= CONSENT_CONF_CONFIRM_LIFETIME_MIN
           && t <= CONSENT_CONF_CONFIRM_LIFETIME_MAX;
}

int consent_conf_max_body_ok(apr_off_t n)
{
    return n >= CONSENT_CONF_MAX_BODY_MIN && n <= CONSENT_CONF_MAX_BODY_MAX;
}

int consent_conf_lang_ok(const char *tag, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || len > 35) {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if (!apr_isalnum(tag[i]) && tag[i] != '-') {
            return 0;
        }
    }
    return 1;
}

int consent_conf_success_url_ok(const char *url, apr_pool_t *p)
{
    apr_uri_t uri;

    if (url[0] == '/') {
        return 1;
    }
    return apr_uri_parse(p, url, &uri) == APR_SUCCESS && uri.scheme
           && (strcasecmp(uri.scheme, "http") == 0
               || strcasecmp(uri.scheme, "https") == 0)
           && uri.hostname && *uri.hostname;
}

const char *consent_conf_lang_check(const char *arg, apr_pool_t *p)
{
    return consent_conf_lang_ok(arg, strlen(arg))
           ? NULL : "a language tag such as en or fr";
}

const char *consent_conf_success_url_check(const char *arg, apr_pool_t *p)
{
    return consent_conf_success_url_ok(arg, p)
           ? NULL : "an absolute URL or a path starting with /";
}

const char *consent_conf_mail_command_check(const char *arg, apr_pool_t *p)
{
    const char *why;

    return consent_mail_argv(arg, &why, p) ? NULL : why;
}

const char *consent_conf_mail_from_check(const char *arg, apr_pool_t *p)
{
    const char *why;

    return consent_mail_from_ok(arg, &why, p)
           ? NULL : apr_psprintf(p, "%s: %s", arg, why);
}

const char *consent_conf_location(const char *name, apr_size_t len,
                                  apr_pool_t *p)
{
    while (len > 0 && name[len - 1] == '/') {
        --len;
    }
    return apr_pstrmemdup(p, name, len);
}

int consent_conf_confirm_mode(const char *arg, int *on)
{
    if (strcasecmp(arg, "email") == 0 || strcasecmp(arg, "off") == 0) {
        *on = strcasecmp(arg, "email") == 0;
        return 1;
    }
    return 0;
}

const char *consent_conf_base_url(const char *scheme, const char *host,
                                  unsigned port, const char *location,
                                  apr_pool_t *p)
{
    unsigned dflt = strcasecmp(scheme, "https") == 0 ? 443 : 80;

    if (port == 0 || port == dflt) {
        return apr_pstrcat(p, scheme, "://", host, location, NULL);
    }
    return apr_psprintf(p, "%s://%s:%u%s", scheme, host, port, location);
}

const char *consent_conf_secret_file(consent_keyring_t **ring,
                                     const char *path,
                                     const consent_conf_names_t *names,
                                     apr_pool_t *p)
{
    consent_key_t *key;
    const char *err;

    if (consent_key_load(&key, path, p, &err) != APR_SUCCESS) {
        return err;
    }
    if (consent_site_key_is(key)) {
        /* it would be derived again and sign nothing a link opens with */
        return apr_pstrcat(p, path, " is a site's key (consentctl "
                           "site-key), for consentctl only: give ",
                           names->server, " the master", NULL);
    }
    if (!*ring) {
        *ring = consent_keyring_make(p);
    }
    if (consent_keyring_find(*ring, key->id)) {
        return apr_pstrcat(p, path, " holds the same secret as an earlier "
                           "file", NULL);
    }
    consent_keyring_add(*ring, key);
    return NULL;
}

const char *consent_conf_host_site(const char *host, const char **why,
                                   apr_pool_t *p)
{
    const char *site;

    if (host && strpbrk(host, "*~")) {
        *why = "a wildcard or regular expression";
        return NULL;
    }
    site = consent_site_from_host(host, p);
    *why = consent_site_check(site, p);
    return *why ? NULL : site;
}

const char *consent_conf_confirm_problem(const consent_form_t *form,
                                         int guard, const char *mail_from,
                                         const char *mail_command,
                                         const consent_conf_names_t *names,
                                         const char *const **argv,
                                         apr_pool_t *p)
{
    const char *cmd, *why;

    if (guard) {
        return apr_pstrcat(p, "works with ", names->form, ", not with ",
                           names->guard, NULL);
    }
    if (form->regime != CONSENT_REGIME_OPT_IN) {
        return "confirms consents: the form's regime must be opt-in";
    }
    if (!form->subject || strcmp(form->subject->type, "email") != 0) {
        return "needs a form whose subject is an email field";
    }
    if (!mail_from) {
        return apr_pstrcat(p, "needs ", names->mail_from, " (the From of "
                           "confirmation messages) for this server", NULL);
    }
    cmd = mail_command ? mail_command : CONSENT_MAIL_DEFAULT_COMMAND;
    if (!(*argv = consent_mail_argv(cmd, &why, p))) {
        return apr_pstrcat(p, names->mail_command, " ", cmd, ": ", why,
                           NULL);
    }
    return NULL;
}
