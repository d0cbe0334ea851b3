/*
 * Double opt-in at a form's location L (issue 17): the directives and
 * the start-up check. A held submission and the link L/confirm?t= are
 * the core's request flow (consent_flow.c, consent_confirm.c).
 */
#include "mod_consent.h"
#include <http_log.h>

#include "consent_conf.h"
#include "consent_confirm.h"
#include "consent_mail.h"

APLOG_USE_MODULE(consent);

/* ---- directives --------------------------------------------------------- */

const char *consent_set_confirm(cmd_parms *cmd, void *dconf, const char *arg)
{
    consent_dir_conf *conf = dconf;

    if (!consent_conf_confirm_mode(arg, &conf->confirm_email)) {
        return "ConsentConfirm: email or off";
    }
    conf->confirm_email_set = 1;
    return NULL;
}

const char *consent_set_confirm_lifetime(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    consent_dir_conf *conf = dconf;
    apr_interval_time_t t;
    apr_size_t n = strlen(arg);
    const char *num = arg;

    /* days are how people count this one: 7d, as well as 3600 or 90min */
    if (n > 1 && arg[n - 1] == 'd') {
        num = apr_psprintf(cmd->temp_pool, "%" APR_INT64_T_FMT,
                           apr_atoi64(apr_pstrndup(cmd->temp_pool, arg,
                                                   n - 1)) * 86400);
    }
    if (ap_timeout_parameter_parse(num, &t, "s") != APR_SUCCESS
        || !consent_conf_confirm_lifetime_ok(t)) {
        return "ConsentConfirmLifetime: a duration between 60s and 90 days "
               "(e.g. 7d, 48h, 3600)";
    }
    conf->confirm_lifetime = t;
    conf->confirm_lifetime_set = 1;
    return NULL;
}

const char *consent_set_mail_command(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    consent_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &consent_module);
    const char *why;

    if (!consent_mail_argv(arg, &why, cmd->temp_pool)) {
        return apr_pstrcat(cmd->pool, "ConsentMailCommand: ", why, NULL);
    }
    sconf->mail_command = arg;
    return NULL;
}

const char *consent_set_mail_from(cmd_parms *cmd, void *dconf,
                                  const char *arg)
{
    consent_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &consent_module);
    const char *why;

    if (!consent_mail_from_ok(arg, &why, cmd->temp_pool)) {
        return apr_pstrcat(cmd->pool, "ConsentMailFrom: ", arg, ": ", why,
                           NULL);
    }
    sconf->mail_from = arg;
    return NULL;
}

/* ---- start-up ----------------------------------------------------------- */

/* ConsentConfirm may be set for the whole server as well. */
static int confirm_on(const consent_dir_conf *conf, server_rec *s)
{
    const consent_dir_conf *sdef =
        ap_get_module_config(s->lookup_defaults, &consent_module);

    if (conf->confirm_email_set) {
        return conf->confirm_email;
    }
    return sdef && sdef->confirm_email;
}

int consent_confirm_check(consent_dir_conf *conf, server_rec *s,
                          apr_pool_t *pconf)
{
    consent_server_conf *sc =
        ap_get_module_config(s->module_config, &consent_module);
    const char *problem;

    if (!confirm_on(conf, s)) {
        return 1;
    }
    problem = consent_conf_confirm_problem(conf->form, conf->guard,
                                           sc->mail_from, sc->mail_command,
                                           &consent_httpd_names,
                                           &sc->mail_argv, pconf);
    if (problem) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     CONSENT_LOGNO(0060) "ConsentConfirm email at %s "
                     "(form %s): %s", conf->location, conf->form_path,
                     problem);
        return 0;
    }
    return 1;
}
