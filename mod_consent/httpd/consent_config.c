/*
 * Directives and configuration merging. Every refusal stops start-up
 * (apache2 -t fails) with a message naming the directive and the file.
 */
#include "mod_consent.h"
#include <http_log.h>

#include "consent_conf.h"
#include "consent_confirm.h"
#include "consent_site.h"
#include "consent_site_keys.h"
#include "consent_tenant.h"

APLOG_USE_MODULE(consent);

const consent_conf_names_t consent_httpd_names = {
    "Apache", "ConsentForm", "ConsentGuard", "ConsentGuardFix", "On",
    "ConsentMailFrom", "ConsentMailCommand"
};

typedef struct {
    consent_dir_conf *conf;
    server_rec *server;
} form_use;

/* Configuration-time state, reset with each configuration pass. */
typedef struct {
    consent_site_t *site;           /* definitions, layouts, page sets */
    apr_array_header_t *dirs;       /* form_use: a form and its place */
    apr_array_header_t *servers;    /* server_rec* with a form */
    apr_hash_t *site_keys;          /* consent_site_keys' cache */
} consent_registry;

static consent_registry *registry;

static apr_status_t registry_reset(void *data)
{
    registry = NULL;
    return APR_SUCCESS;
}

static consent_registry *registry_get(apr_pool_t *pconf)
{
    if (!registry) {
        registry = apr_pcalloc(pconf, sizeof *registry);
        registry->site = consent_site_make(pconf);
        /* pages compiled on first use in each child (mod_consent.c) */
        consent_site_lazy(registry->site);
        registry->servers = apr_array_make(pconf, 4, sizeof(server_rec *));
        registry->dirs = apr_array_make(pconf, 8, sizeof(form_use));
        apr_pool_cleanup_register(pconf, NULL, registry_reset,
                                  apr_pool_cleanup_null);
    }
    return registry;
}

void *consent_create_server_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(consent_server_conf));
}

void *consent_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    consent_server_conf *base = basev, *add = addv;
    consent_server_conf *conf = apr_pcalloc(p, sizeof *conf);

    conf->keys = add->keys ? add->keys : base->keys;
    /* not inherited: a vhost is its own site (its ServerName) unless it
     * names one */
    conf->site = add->site;
    conf->mail_command = add->mail_command ? add->mail_command
                                           : base->mail_command;
    conf->mail_from = add->mail_from ? add->mail_from : base->mail_from;
    return conf;
}

void *consent_create_dir_conf(apr_pool_t *p, char *dir)
{
    consent_dir_conf *conf = apr_pcalloc(p, sizeof *conf);

    conf->location = dir;
    conf->v.lifetime = CONSENT_DEFAULT_LIFETIME;
    conf->v.max_body = CONSENT_DEFAULT_MAX_BODY;
    conf->v.confirm_lifetime = CONSENT_CONFIRM_DEFAULT_LIFETIME;
    return conf;
}

#define MERGE_PTR(f) conf->f = add->f ? add->f : base->f
#define MERGE_SET(f) do { \
        conf->v.f = add->f##_set ? add->v.f : base->v.f; \
        conf->f##_set = add->f##_set || base->f##_set; \
    } while (0)

void *consent_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    consent_dir_conf *base = basev, *add = addv;
    consent_dir_conf *conf = apr_pcalloc(p, sizeof *conf);
    /* A form and the location it was declared in belong together. */
    const consent_dir_conf *with_form = add->form ? add : base;

    conf->form = with_form->form;
    conf->form_path = with_form->form_path;
    conf->location = with_form->location;
    conf->flow = with_form->flow;
    conf->guard = with_form->guard;
    MERGE_SET(guard_fix);
    MERGE_PTR(template_dir);
    MERGE_PTR(v.default_lang);
    MERGE_PTR(v.success_url);
    MERGE_PTR(style_file);
    MERGE_SET(lifetime);
    MERGE_SET(max_body);
    MERGE_SET(confirm_email);
    MERGE_SET(confirm_lifetime);
    return conf;
}

/*
 * httpd prints a directive's error on one line (it escapes newlines), so
 * every problem is logged on a line of its own and the error names the
 * first.
 */
static const char *problems_to_error(cmd_parms *cmd,
                                     apr_array_header_t *problems)
{
    consent_log_lines(NULL, NULL, consent_problem_lines(
        problems, 0, cmd->directive->directive, cmd->temp_pool), 1);
    return apr_psprintf(cmd->pool, "%s: %d problem(s), the first: %s",
                        cmd->directive->directive, problems->nelts,
                        problems->nelts ? consent_problem_str(cmd->pool,
                        &APR_ARRAY_IDX(problems, 0, consent_problem_t))
                        : "?");
}

/*
 * ConsentForm FILE and ConsentGuard FILE: loaded, validated and linted
 * right here; a guard definition also by the rule "guard" (every purpose
 * names the application's box), so it is cached apart.
 */
static const char *load_form(cmd_parms *cmd, consent_dir_conf *conf,
                             const char *arg, int guard)
{
    const char *name = cmd->directive->directive;
    consent_registry *reg = registry_get(cmd->pool);
    const consent_dir_conf *sdef = ap_get_module_config(
        cmd->server->lookup_defaults, &consent_module);
    apr_array_header_t *problems;
    const char *path;
    form_use *use;

    if (!cmd->path) {
        return apr_pstrcat(cmd->pool, name, " belongs in a <Location> (or "
                           "<Directory>)", NULL);
    }
    if (conf->form && conf->guard != guard) {
        return "ConsentForm and ConsentGuard cannot share a location";
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_pstrcat(cmd->pool, name, ": bad path ", arg, NULL);
    }
    conf->form_path = path;
    conf->location = consent_conf_location(conf->location,
                                           strlen(conf->location), cmd->pool);
    conf->guard = guard;
    /* the schema ships with the templates: the Location's directory,
     * else the server's, else the installed one */
    problems = apr_array_make(cmd->temp_pool, 4, sizeof(consent_problem_t));
    conf->form = consent_site_form(reg->site, path, guard,
                                   conf->template_dir ? conf->template_dir
                                   : sdef ? sdef->template_dir : NULL,
                                   problems);
    if (!conf->form) {
        return problems_to_error(cmd, problems);
    }
    use = apr_array_push(reg->dirs);
    use->conf = conf;
    use->server = cmd->server;
    return NULL;
}

static const char *set_form(cmd_parms *cmd, void *dconf, const char *arg)
{
    return load_form(cmd, dconf, arg, 0);
}

static const char *set_guard(cmd_parms *cmd, void *dconf, const char *arg)
{
    return load_form(cmd, dconf, arg, 1);
}

static const char *set_guard_fix(cmd_parms *cmd, void *dconf, int on)
{
    consent_dir_conf *conf = dconf;

    conf->v.guard_fix = on;
    conf->guard_fix_set = 1;
    return NULL;
}

static const char *set_secret_file(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    consent_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &consent_module);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    const char *err;

    if (!path) {
        return apr_pstrcat(cmd->pool, "ConsentSecretFile: bad path ", arg,
                           NULL);
    }
    err = consent_conf_secret_file(&sconf->keys, path, &consent_httpd_names,
                                   cmd->pool);
    return err ? apr_pstrcat(cmd->pool, "ConsentSecretFile: ", err, NULL)
               : NULL;
}

/* check_config: the server's site (ConsentSite, else its ServerName
 * lower-cased) and that site's keys, derived once per site. */
static int site_keys(server_rec *s, apr_pool_t *pconf)
{
    consent_server_conf *sc =
        ap_get_module_config(s->module_config, &consent_module);
    const char *why;

    if (!registry->site_keys) {
        registry->site_keys = apr_hash_make(pconf);
    }
    if (!sc->site_keys
        && !(sc->site_keys = consent_site_keys_of(
                 registry->site_keys, sc->keys, &sc->site,
                 s->server_hostname, pconf, &why))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, CONSENT_LOGNO(0120)
                     "%s%s%s", sc->site ? "" : "the ServerName ", why,
                     sc->site ? "" : ": set ConsentSite");
        return 0;
    }
    return 1;
}

/* A one-word directive the core checks (consent_conf.h), kept at offset
 * in the per-directory or the server configuration. */
typedef struct {
    consent_conf_check_fn *check;
    apr_size_t offset;
} word_rule;

#define WORD(check, type, field) \
    (void *)&(const word_rule){ check, APR_OFFSETOF(type, field) }

static const char *set_word(cmd_parms *cmd, void *conf, const char *arg)
{
    const word_rule *rule = cmd->info;
    const char *why = rule->check(arg, cmd->temp_pool);

    if (why) {
        return apr_pstrcat(cmd->pool, cmd->directive->directive, ": ", why,
                           NULL);
    }
    *(const char **)((char *)conf + rule->offset) = arg;
    return NULL;
}

static const char *set_server_word(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    return set_word(cmd, ap_get_module_config(cmd->server->module_config,
                                              &consent_module), arg);
}

static const char *set_template_dir(cmd_parms *cmd, void *dconf,
                                    const char *arg)
{
    consent_dir_conf *conf = dconf;
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!consent_conf_dir_ok(path, cmd->temp_pool)) {
        return apr_pstrcat(cmd->pool, "ConsentTemplateDir: ", arg,
                           " is not a directory", NULL);
    }
    conf->template_dir = path;
    return NULL;
}

static const char *set_lifetime(cmd_parms *cmd, void *dconf, const char *arg)
{
    consent_dir_conf *conf = dconf;
    apr_interval_time_t t;

    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS
        || !consent_conf_lifetime_ok(t)) {
        return "ConsentTokenLifetime: a duration between 10s and 30 days "
               "(e.g. 7200, 120min)";
    }
    conf->v.lifetime = t;
    conf->lifetime_set = 1;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dconf, const char *arg)
{
    consent_dir_conf *conf = dconf;
    apr_off_t n;

    if (apr_strtoff(&n, arg, NULL, 10) != APR_SUCCESS
        || !consent_conf_max_body_ok(n)) {
        return "ConsentMaxBody: a size in bytes between 1024 and 16777216";
    }
    conf->v.max_body = (apr_size_t)n;
    conf->max_body_set = 1;
    return NULL;
}

/* The file is read and checked with the stylesheet it extends, in
 * check_config: the default theme depends on ConsentTemplateDir. */
static const char *set_style(cmd_parms *cmd, void *dconf, const char *arg)
{
    consent_dir_conf *conf = dconf;
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!consent_conf_file_ok(path, cmd->temp_pool)) {
        return apr_pstrcat(cmd->pool, "ConsentStyle: ", arg,
                           " is not a readable file", NULL);
    }
    conf->style_file = path;
    return NULL;
}

/* Double opt-in (issue 17): a held submission and the link L/confirm?t=
 * are the core's request flow (consent_flow.c, consent_confirm.c). */
static const char *set_confirm(cmd_parms *cmd, void *dconf,
                               const char *arg)
{
    consent_dir_conf *conf = dconf;

    if (!consent_conf_confirm_mode(arg, &conf->v.confirm_email)) {
        return "ConsentConfirm: email or off";
    }
    conf->confirm_email_set = 1;
    return NULL;
}

static const char *set_confirm_lifetime(cmd_parms *cmd, void *dconf,
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
    conf->v.confirm_lifetime = t;
    conf->confirm_lifetime_set = 1;
    return NULL;
}

const command_rec consent_cmds[] = {
    AP_INIT_TAKE1("ConsentForm", set_form, NULL, ACCESS_CONF,
                  "a form definition (XML) served at this location"),
    AP_INIT_TAKE1("ConsentGuard", set_guard, NULL, ACCESS_CONF,
                  "guard mode: the definition (XML, purpose@input) of the "
                  "application's own form at this location"),
    AP_INIT_FLAG("ConsentGuardFix", set_guard_fix, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "guard mode: un-tick the application's pre-ticked boxes "
                 "(default Off: its submissions get 422)"),
    AP_INIT_ITERATE("ConsentSecretFile", set_secret_file, NULL, RSRC_CONF,
                    "secret key file(s) for signing; the first signs, all "
                    "verify"),
    AP_INIT_TAKE1("ConsentSite", set_server_word,
                  WORD(consent_site_check, consent_server_conf, site),
                  RSRC_CONF,
                  "the site this server's tokens, links and proofs belong "
                  "to (default: its ServerName, lower-cased)"),
    AP_INIT_TAKE1("ConsentTemplateDir", set_template_dir, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "directory of HTML templates and translations"),
    AP_INIT_TAKE1("ConsentTokenLifetime", set_lifetime, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "how long a rendered form can be submitted (default 2h)"),
    AP_INIT_TAKE1("ConsentDefaultLanguage", set_word,
                  WORD(consent_conf_lang_check, consent_dir_conf,
                       v.default_lang), RSRC_CONF | ACCESS_CONF,
                  "language when Accept-Language matches none (default en)"),
    AP_INIT_TAKE1("ConsentMaxBody", set_max_body, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "largest submission body in bytes (default 65536)"),
    AP_INIT_TAKE1("ConsentSuccessURL", set_word,
                  WORD(consent_conf_success_url_check, consent_dir_conf,
                       v.success_url), RSRC_CONF | ACCESS_CONF,
                  "where to send people after a submission (303); default: "
                  "a confirmation page"),
    AP_INIT_TAKE1("ConsentStyle", set_style, NULL, RSRC_CONF | ACCESS_CONF,
                  "a CSS file of --consent-* custom properties appended "
                  "to the pages' stylesheet"),
    AP_INIT_TAKE1("ConsentConfirm", set_confirm, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "email: double opt-in, choices count once confirmed "
                  "from a mailed link (default off)"),
    AP_INIT_TAKE1("ConsentConfirmLifetime", set_confirm_lifetime,
                  NULL, RSRC_CONF | ACCESS_CONF,
                  "how long a confirmation link works (default 7d)"),
    AP_INIT_TAKE1("ConsentMailCommand", set_server_word,
                  WORD(consent_conf_mail_command_check, consent_server_conf,
                       mail_command), RSRC_CONF,
                  "the command (quoted) that reads a message on its "
                  "standard input (default /usr/sbin/sendmail -t -i)"),
    AP_INIT_TAKE1("ConsentMailFrom", set_server_word,
                  WORD(consent_conf_mail_from_check, consent_server_conf,
                       mail_from), RSRC_CONF,
                  "From of confirmation messages, required with "
                  "ConsentConfirm email"),
    { NULL }
};

/* Logs each problem with the message number id: 0 after any. */
static int logged(server_rec *s, int id, const char *what,
                  apr_array_header_t *problems, apr_pool_t *p)
{
    consent_log_lines(s, NULL, consent_problem_lines(problems, id, what, p),
                      1);
    return problems->nelts == 0;
}

/* What a Location says, with what its server says where it says nothing
 * (template directory, style, double opt-in): its flow is set up with
 * these at start-up. */
static const consent_dir_conf *resolved(const consent_dir_conf *conf,
                                        server_rec *s, apr_pool_t *pconf)
{
    return consent_merge_dir_conf(pconf, ap_get_module_config(
        s->lookup_defaults, &consent_module), (void *)conf);
}

/* A form's pages, compiled once per template directory and stylesheet,
 * as this server's site serves it (consent_site.h). */
static int compile_pages(consent_dir_conf *conf, const consent_dir_conf *eff,
                         apr_pool_t *pconf, server_rec *s)
{
    consent_server_conf *sc =
        ap_get_module_config(s->module_config, &consent_module);
    consent_flow_conf_t *fc = apr_pcalloc(pconf, sizeof *fc);
    apr_array_header_t *problems;
    consent_site_location_t loc = {
        conf->form, conf->guard, eff->template_dir, eff->style_file,
        conf->location, sc->site
    };

    problems = apr_array_make(pconf, 4, sizeof(consent_problem_t));
    if (!consent_site_location(registry->site, &loc, fc, problems)) {
        return logged(s, 2, apr_pstrcat(pconf, "form ", conf->form_path,
                                        NULL), problems, pconf);
    }
    conf->form = (consent_form_t *)fc->form;
    conf->flow = fc;
    return 1;
}

/* 1 when the location may start; else 0 after logging why. */
static int confirm_check(const consent_dir_conf *conf,
                         const consent_dir_conf *eff, server_rec *s,
                         apr_pool_t *pconf)
{
    consent_server_conf *sc =
        ap_get_module_config(s->module_config, &consent_module);
    const char *problem;

    if (!eff->v.confirm_email) {
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

/* A form's location may start: its server's keys and site, its pages,
 * its double opt-in; else 0 after logging why. */
static int use_ok(form_use *use, apr_pool_t *pconf)
{
    consent_server_conf *sc =
        ap_get_module_config(use->server->module_config, &consent_module);
    const consent_dir_conf *eff;

    if (!sc->keys) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, use->server,
                     CONSENT_LOGNO(0003) "ConsentForm %s is used but no "
                     "ConsentSecretFile is set for this server",
                     use->conf->form_path);
        return 0;
    }
    eff = resolved(use->conf, use->server, pconf);
    return site_keys(use->server, pconf)
           && compile_pages(use->conf, eff, pconf, use->server)
           && confirm_check(use->conf, eff, use->server, pconf);
}

int consent_config_check(apr_pool_t *pconf, apr_pool_t *ptemp,
                         server_rec *s)
{
    server_rec *main_s = s;
    apr_array_header_t *servers;
    int i, j;

    if (!registry) {
        return OK;
    }
    servers = registry->servers;
    for (i = 0; i < registry->dirs->nelts; ++i) {
        form_use *use = &APR_ARRAY_IDX(registry->dirs, i, form_use);

        if (!use_ok(use, pconf)) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        for (j = 0; j < servers->nelts; ++j) {
            if (APR_ARRAY_IDX(servers, j, server_rec *) == use->server) {
                break;
            }
        }
        if (j == servers->nelts) {
            APR_ARRAY_PUSH(servers, server_rec *) = use->server;
        }
    }
    /* a vhost may serve a form of the main server's <Location>: every
     * server with secrets gets its site and keys */
    for (; s; s = s->next) {
        consent_server_conf *sc =
            ap_get_module_config(s->module_config, &consent_module);

        if (sc->keys && !site_keys(s, pconf)) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return consent_dbd_check(pconf, main_s, servers);
}

void consent_config_start(apr_pool_t *pconf, server_rec *s)
{
    if (registry) {
        consent_dbd_migrate(pconf, s, registry->servers);
        consent_sites_write(pconf, s);
    }
}
