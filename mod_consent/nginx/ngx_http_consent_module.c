/*
 * ngx_http_consent_module: the nginx names of mod_consent's Apache
 * directives, their merging, and start-up. A refusal stops nginx (and
 * `nginx -t`) with the directive's file and line and, for a definition,
 * the definition's own file, line and rule - the core's checks, as on
 * Apache.
 */
#include "ngx_http_consent.h"

#include <apr_dbd.h>
#include <signal.h>

#include "consent_conf.h"
#include "consent_log.h"
#include "consent_site.h"
#include "consent_site_keys.h"
#include "consent_tenant.h"

#define DEFAULT_LIFETIME 7200
#define DEFAULT_MAX_BODY (64 * 1024)

const consent_conf_names_t ngx_http_consent_names = {
    "nginx", "consent_form", "consent_guard", "consent_guard_fix", "on",
    "consent_mail_from", "consent_mail_command"
};

/* ---- APR, once per process ------------------------------------------- */

/* nginx's levels of the core's (consent_log_level_t) */
static const ngx_uint_t log_level[] = {
    NGX_LOG_ERR, NGX_LOG_WARN, NGX_LOG_INFO, NGX_LOG_DEBUG
};

static void core_log(void *baton, consent_log_level_t level,
                     apr_status_t rv, const char *file, int line,
                     const char *msg)
{
    ngx_log_error(log_level[level], ngx_cycle->log, 0, "consent: %s", msg);
}

/*
 * The master initialises APR while it reads the configuration (forms
 * are compiled then, `nginx -t` included); workers inherit it by fork.
 * apr_dbd_init ties its drivers to APR's global pool, not to a cycle.
 */
static ngx_int_t apr_once(ngx_log_t *log)
{
    static int done;
    apr_pool_t *p;

    if (done) {
        return NGX_OK;
    }
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&p, NULL) != APR_SUCCESS
        || apr_dbd_init(p) != APR_SUCCESS) {
        ngx_log_error(NGX_LOG_EMERG, log, 0, "consent: cannot "
                      "initialise APR");
        return NGX_ERROR;
    }
    consent_log_set(core_log, NULL);
    done = 1;
    return NGX_OK;
}

static void apr_pool_cleanup_ngx(void *data)
{
    apr_pool_destroy(data);
}

apr_pool_t *ngx_http_consent_apr_pool(ngx_pool_t *pool)
{
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(pool, 0);
    apr_pool_t *p;

    if (!cln || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return NULL;
    }
    cln->handler = apr_pool_cleanup_ngx;
    cln->data = p;
    return p;
}

void ngx_http_consent_log_lines(ngx_log_t *log,
                                const apr_array_header_t *lines)
{
    int i;

    for (i = 0; i < lines->nelts; ++i) {
        const consent_log_line_t *l = &APR_ARRAY_IDX(lines, i,
                                                     consent_log_line_t);

        ngx_log_error(log_level[l->level], log, 0, "consent: %s", l->text);
    }
}

ngx_table_elt_t *ngx_http_consent_next_header(ngx_list_part_t **part,
                                              ngx_uint_t *i)
{
    while (*i >= (*part)->nelts) {
        if (!(*part)->next) {
            return NULL;
        }
        *part = (*part)->next;
        *i = 0;
    }
    return (ngx_table_elt_t *)(*part)->elts + (*i)++;
}

int ngx_http_consent_key_is(ngx_table_elt_t *h, const char *name)
{
    size_t n = ngx_strlen(name);

    return h->key.len == n
           && ngx_strncasecmp(h->key.data, (u_char *)name, n) == 0;
}

ngx_table_elt_t *ngx_http_consent_header(ngx_list_t *list, const char *name)
{
    ngx_list_part_t *part = &list->part;
    ngx_uint_t i = 0;
    ngx_table_elt_t *h;

    while ((h = ngx_http_consent_next_header(&part, &i))) {
        if (h->hash && ngx_http_consent_key_is(h, name)) {
            return h;
        }
    }
    return NULL;
}

static void *consent_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_consent_main_conf_t *mcf;

    if (apr_once(cf->log) != NGX_OK) {
        return NULL;
    }
    mcf = ngx_pcalloc(cf->pool, sizeof *mcf);
    /* this cycle's forms and templates go with the cycle (reload) */
    if (!mcf || !(mcf->pool = ngx_http_consent_apr_pool(cf->pool))) {
        return NULL;
    }
    mcf->site = consent_site_make(mcf->pool);
    mcf->stores = apr_hash_make(mcf->pool);
    mcf->site_keys = apr_hash_make(mcf->pool);
    mcf->store_list = ngx_array_create(cf->pool, 2, sizeof(void *));
    return mcf->store_list ? mcf : NULL;
}

static void *consent_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_consent_loc_conf_t *lcf = ngx_pcalloc(cf->pool, sizeof *lcf);

    if (!lcf) {
        return NULL;
    }
    lcf->guard_fix = NGX_CONF_UNSET;
    lcf->lifetime = NGX_CONF_UNSET;
    lcf->flow.max_body = NGX_CONF_UNSET_SIZE;
    lcf->confirm = NGX_CONF_UNSET;
    lcf->confirm_lifetime = NGX_CONF_UNSET;
    return lcf;
}

/* ---- directives -------------------------------------------------------- */

static ngx_http_consent_main_conf_t *main_conf(ngx_conf_t *cf)
{
    return ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);
}

/* A path relative to nginx's prefix, as nginx's own directives take. */
static const char *full_path(ngx_conf_t *cf, ngx_str_t *v)
{
    ngx_str_t name = *v;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NULL;
    }
    return apr_pstrmemdup(main_conf(cf)->pool, (char *)name.data, name.len);
}

static char *set_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    ngx_http_consent_loc_conf_t *lcf = c;
    apr_pool_t *p = main_conf(cf)->pool;
    ngx_str_t *value = cf->args->elts;
    const char *path = full_path(cf, &value[1]), *err;

    if (!path) {
        return NGX_CONF_ERROR;
    }
    if ((err = consent_conf_secret_file(&lcf->keys, path,
                                        &ngx_http_consent_names, p))) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "consent_secret_file: %s",
                           err);
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

static char *set_store(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    ngx_http_consent_loc_conf_t *lcf = c;
    ngx_http_consent_main_conf_t *mcf = main_conf(cf);
    ngx_str_t *value = cf->args->elts;
    ngx_http_consent_store_t *st, **slot;
    const char *key;

    if (lcf->store) {
        return "is duplicate";
    }
    if (!consent_store_statements((const char *)value[1].data)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "driver \"%V\" is not "
                           "supported (use sqlite3, pgsql or mysql)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
    key = apr_pstrcat(mcf->pool, value[1].data, " ", value[2].data, NULL);
    st = apr_hash_get(mcf->stores, key, APR_HASH_KEY_STRING);
    if (!st) {
        st = apr_pcalloc(mcf->pool, sizeof *st);
        st->driver = apr_pstrdup(mcf->pool, (char *)value[1].data);
        st->params = apr_pstrdup(mcf->pool, (char *)value[2].data);
        apr_hash_set(mcf->stores, key, APR_HASH_KEY_STRING, st);
        if (!(slot = ngx_array_push(mcf->store_list))) {
            return NGX_CONF_ERROR;
        }
        *slot = st;
    }
    lcf->store = st;
    return NGX_CONF_OK;
}

/* A file or directory (cmd->post: the core's check), relative to
 * nginx's prefix, kept at cmd->offset in the location's conf. */
typedef struct {
    int (*ok)(const char *path, apr_pool_t *p);
    const char *refusal;
} path_rule_t;

static char *set_path(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    const path_rule_t *rule = cmd->post;
    ngx_str_t *value = cf->args->elts;
    const char *path = full_path(cf, &value[1]);

    if (!rule->ok(path, main_conf(cf)->pool)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: \"%V\" %s",
                           &cmd->name, &value[1], rule->refusal);
        return NGX_CONF_ERROR;
    }
    *(const char **)((char *)c + cmd->offset) = path;
    return NGX_CONF_OK;
}

/* The schema ships with the templates: http's directory also gives the
 * schema that consent_form checks definitions with. */
static char *set_template_dir(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    ngx_http_consent_loc_conf_t *lcf = c;
    char *rv = set_path(cf, cmd, c);

    if (rv == NGX_CONF_OK && cf->cmd_type == NGX_HTTP_MAIN_CONF) {
        main_conf(cf)->schema_dir = lcf->template_dir;
    }
    return rv;
}

/* Every problem on a line of its own: an admin sees all mistakes at once,
 * each naming its file, line and rule. */
static void log_problems(ngx_conf_t *cf, const char *directive,
                         apr_array_header_t *problems)
{
    apr_pool_t *p = main_conf(cf)->pool;
    int i;

    for (i = 0; i < problems->nelts; ++i) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s: %s", directive,
                           consent_problem_str(p, &APR_ARRAY_IDX(
                               problems, i, consent_problem_t)));
    }
}

/* consent_form FILE and consent_guard FILE: loaded, validated and linted
 * right here, so `nginx -t` names what is wrong. */
static char *set_form(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    ngx_http_consent_loc_conf_t *lcf = c;
    ngx_http_consent_main_conf_t *mcf = main_conf(cf);
    ngx_http_core_loc_conf_t *clcf;
    ngx_str_t *value = cf->args->elts;
    int guard = (int)cmd->offset;
    apr_array_header_t *problems;
    const char *path;

    if (lcf->form) {
        return "is duplicate (one consent_form or consent_guard per "
               "location)";
    }
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
#if (NGX_PCRE)
    /* a form's sub-pages follow its prefix; a guard has none (and sits
     * where the application is: "location ~ \.php$" too) */
    if (clcf->regex && !guard) {
        return "needs a prefix location (its sub-pages follow it)";
    }
#endif
    if (!(path = full_path(cf, &value[1]))) {
        return NGX_CONF_ERROR;
    }
    lcf->form_path = path;
    lcf->guard = guard;
    lcf->location = consent_conf_location((const char *)clcf->name.data,
                                          clcf->name.len, mcf->pool);
    problems = apr_array_make(mcf->pool, 4, sizeof(consent_problem_t));
    lcf->form = consent_site_form(mcf->site, path, guard,
                                  lcf->template_dir ? lcf->template_dir
                                                    : mcf->schema_dir,
                                  problems);
    if (!lcf->form) {
        log_problems(cf, (const char *)cmd->name.data, problems);
        return NGX_CONF_ERROR;
    }
    if (!mcf->thread_pool
        && !(mcf->thread_pool = ngx_thread_pool_add(cf, NULL))) {
        return NGX_CONF_ERROR;
    }
    if (!guard) {
        clcf->handler = ngx_http_consent_handler;
    }
    return NGX_CONF_OK;
}

static char *set_max_body(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    ngx_http_consent_loc_conf_t *lcf = c;
    ngx_str_t *value = cf->args->elts;
    ssize_t n = ngx_parse_size(&value[1]);

    if (n == NGX_ERROR || !consent_conf_max_body_ok(n)) {
        return "needs a size between 1024 and 16777216 bytes (e.g. 64k)";
    }
    lcf->flow.max_body = (size_t)n;
    return NGX_CONF_OK;
}

static char *set_confirm(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    ngx_http_consent_loc_conf_t *lcf = c;
    ngx_str_t *value = cf->args->elts;
    int on;

    if (lcf->confirm != NGX_CONF_UNSET) {
        return "is duplicate";
    }
    if (!consent_conf_confirm_mode((const char *)value[1].data, &on)) {
        return "takes email or off";
    }
    lcf->confirm = on;
    return NGX_CONF_OK;
}

/* ---- one word the core checks ------------------------------------------ */

/* The rule of a one-word directive (its command's post): the core's
 * check (consent_conf.h); why not is logged as "name: why". */
typedef struct {
    consent_conf_check_fn *check;
    unsigned once:1;                /* a second one is refused */
} word_rule_t;

/* The word, checked, kept at cmd->offset in the location's conf. */
static char *set_word(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    const word_rule_t *rule = cmd->post;
    const char **slot = (const char **)((char *)c + cmd->offset);
    ngx_str_t *value = cf->args->elts;
    apr_pool_t *p = main_conf(cf)->pool;
    const char *arg = apr_pstrmemdup(p, (char *)value[1].data,
                                     value[1].len), *why;

    if (rule->once && *slot) {
        return "is duplicate";
    }
    if ((why = rule->check(arg, p))) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: %s", &cmd->name, why);
        return NGX_CONF_ERROR;
    }
    *slot = arg;
    return NGX_CONF_OK;
}

/* A duration in nginx's units (7200, 120m, 2h), checked by the core's
 * rule (cmd->post), kept in seconds at cmd->offset. */
typedef struct {
    int (*ok)(apr_interval_time_t t);
    const char *refusal;
} duration_rule_t;

static char *set_duration(ngx_conf_t *cf, ngx_command_t *cmd, void *c)
{
    const duration_rule_t *rule = cmd->post;
    ngx_str_t *value = cf->args->elts;
    time_t t = ngx_parse_time(&value[1], 1);

    if (t == (time_t)NGX_ERROR || !rule->ok(apr_time_from_sec(t))) {
        return (char *)rule->refusal;
    }
    *(time_t *)((char *)c + cmd->offset) = t;
    return NGX_CONF_OK;
}

static char *merge_confirm(ngx_conf_t *cf, ngx_http_consent_loc_conf_t *conf)
{
    const char *problem;

    conf->flow.confirm_lifetime = apr_time_from_sec(conf->confirm_lifetime);
    if (!conf->confirm) {
        return NGX_CONF_OK;
    }
    problem = consent_conf_confirm_problem(conf->form, (int)conf->guard,
                                           conf->mail_from,
                                           conf->mail_command,
                                           &ngx_http_consent_names,
                                           &conf->flow.mail_argv,
                                           main_conf(cf)->pool);
    if (problem) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "consent_confirm email at "
                           "%s (form %s): %s", conf->location,
                           conf->form_path, problem);
        return NGX_CONF_ERROR;
    }
    conf->flow.confirm_email = 1;
    conf->flow.mail_from = conf->mail_from;
    main_conf(cf)->mails = 1;
    return NGX_CONF_OK;
}

/* ---- merging and page compilation ------------------------------------- */

/*
 * The site of the server block being merged and its keys (tokens and
 * links are signed with the site's, proofs sealed with the master's, as
 * on Apache: a mixed fleet is one service). Without consent_site: its
 * first server_name (nginx's own name for it, as Apache's ServerName),
 * else the machine's host name, as Apache does without a ServerName.
 */
static char *server_site(ngx_conf_t *cf, ngx_http_consent_loc_conf_t *conf)
{
    ngx_http_core_srv_conf_t *cscf =
        ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    ngx_http_consent_main_conf_t *mcf = main_conf(cf);
    ngx_str_t *name = &cscf->server_name;
    const char *why;

    if (name->len == 0) {
        name = &cf->cycle->hostname;
    }
    conf->flow.keys = consent_site_keys_of(
        mcf->site_keys, conf->keys, &conf->site,
        apr_pstrmemdup(mcf->pool, (char *)name->data, name->len), mcf->pool,
        &why);
    if (!conf->flow.keys && !conf->site) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "the server_name %s: set "
                      "consent_site in the server block in %s:%ui", why,
                      cscf->file_name, cscf->line);
        return NGX_CONF_ERROR;
    }
    if (!conf->flow.keys) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "consent_site %s: %s",
                           conf->site, why);
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

/* The location's pages, styled, as its site serves them (consent_site.h:
 * the notice names the site), compiled once per layout. */
static char *site_pages(ngx_conf_t *cf, ngx_http_consent_loc_conf_t *lcf)
{
    ngx_http_consent_main_conf_t *mcf = main_conf(cf);
    apr_array_header_t *problems;
    consent_site_location_t loc = {
        lcf->form, (int)lcf->guard, lcf->template_dir, lcf->style_file,
        lcf->location, lcf->site
    };

    problems = apr_array_make(mcf->pool, 4, sizeof(consent_problem_t));
    if (!consent_site_location(mcf->site, &loc, &lcf->flow, problems)) {
        log_problems(cf, lcf->guard ? "consent_guard" : "consent_form",
                     problems);
        return NGX_CONF_ERROR;
    }
    lcf->form = (consent_form_t *)lcf->flow.form;
    return NGX_CONF_OK;
}

#define MERGE_PTR(f) if (!conf->f) conf->f = prev->f

static char *consent_merge_loc_conf(ngx_conf_t *cf, void *parent,
                                    void *child)
{
    ngx_http_consent_loc_conf_t *prev = parent, *conf = child;

    MERGE_PTR(keys);
    MERGE_PTR(store);
    MERGE_PTR(template_dir);
    MERGE_PTR(style_file);
    MERGE_PTR(flow.default_lang);
    MERGE_PTR(flow.success_url);
    MERGE_PTR(site);
    MERGE_PTR(mail_command);
    MERGE_PTR(mail_from);
    ngx_conf_merge_value(conf->confirm, prev->confirm, 0);
    ngx_conf_merge_sec_value(conf->confirm_lifetime, prev->confirm_lifetime,
                             7 * 86400);
    ngx_conf_merge_value(conf->guard_fix, prev->guard_fix, 0);
    ngx_conf_merge_sec_value(conf->lifetime, prev->lifetime,
                             DEFAULT_LIFETIME);
    ngx_conf_merge_size_value(conf->flow.max_body, prev->flow.max_body,
                              DEFAULT_MAX_BODY);
    if (!conf->form) {
        return NGX_CONF_OK;
    }
    if (!conf->keys) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "consent_form %s is used "
                           "but no consent_secret_file is set for it",
                           conf->form_path);
        return NGX_CONF_ERROR;
    }
    if (!conf->store) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "consent_form %s needs a "
                           "store: consent_store sqlite3 FILE (or pgsql "
                           "\"CONNINFO\")", conf->form_path);
        return NGX_CONF_ERROR;
    }
    if (server_site(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }
    if (site_pages(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }
    conf->flow.seal_keys = conf->keys;
    conf->flow.site = conf->site;
    conf->flow.lifetime = apr_time_from_sec(conf->lifetime);
    conf->flow.guard_fix = conf->guard_fix;
    return merge_confirm(cf, conf);
}

/* ---- processes ------------------------------------------------------- */

/* The master, after the configuration: create the schema while root (not
 * under `nginx -t`, which only checks, as `apachectl -t` does). */
static ngx_int_t consent_init_module(ngx_cycle_t *cycle)
{
    ngx_http_consent_main_conf_t *mcf;

    if (ngx_test_config || !cycle->conf_ctx[ngx_http_module.index]) {
        return NGX_OK;
    }
    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_consent_module);
    if (mcf) {
        ngx_http_consent_migrate(cycle, mcf->store_list);
    }
    return NGX_OK;
}

static ngx_int_t consent_init_process(ngx_cycle_t *cycle)
{
    ngx_http_consent_main_conf_t *mcf;
    const apr_dbd_driver_t *sqlite;

    if (apr_once(cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }
    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_consent_module);
    /* every sqlite3 connection of this worker waits for locks from its
     * first statement (the schema check) on, as Apache's do */
    if (mcf && mcf->store_list->nelts
        && apr_dbd_get_driver(mcf->pool, "sqlite3", &sqlite) == APR_SUCCESS) {
        (void)consent_store_sqlite_defaults(mcf->pool);
    }
    if (mcf) {
        ngx_http_consent_start_writers(cycle, mcf->store_list);
    }
    if (mcf && mcf->mails) {
        /* the mail command is this worker's child, waited for by the
         * thread that sent it: nginx's SIGCHLD handler would reap it
         * first (waitpid(-1)) and lose its exit status */
        signal(SIGCHLD, SIG_DFL);
    }
    return NGX_OK;
}

static void consent_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_consent_close_all();
}

/* ---- the module -------------------------------------------------------- */

#define ANY_LEVEL (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF)
#define LCF(field) offsetof(ngx_http_consent_loc_conf_t, field)
#define WORD(check, once) (void *)&(const word_rule_t){ check, once }
#define PATH(ok, refusal) (void *)&(const path_rule_t){ ok, refusal }
#define DURATION(ok, refusal) (void *)&(const duration_rule_t){ ok, refusal }

static ngx_command_t consent_commands[] = {
    { ngx_string("consent_secret_file"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_secret_file, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("consent_store"), ANY_LEVEL | NGX_CONF_TAKE2,
      set_store, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("consent_template_dir"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_template_dir, NGX_HTTP_LOC_CONF_OFFSET, LCF(template_dir),
      PATH(consent_conf_dir_ok, "is not a directory") },
    /* as Apache's ConsentStyle (consent_style.h) */
    { ngx_string("consent_style"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_path, NGX_HTTP_LOC_CONF_OFFSET, LCF(style_file),
      PATH(consent_conf_file_ok, "is not a readable file") },
    { ngx_string("consent_form"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      set_form, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("consent_guard"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      set_form, NGX_HTTP_LOC_CONF_OFFSET, 1, NULL },
    { ngx_string("consent_guard_fix"), ANY_LEVEL | NGX_CONF_FLAG,
      ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, LCF(guard_fix),
      NULL },
    { ngx_string("consent_default_language"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_word, NGX_HTTP_LOC_CONF_OFFSET, LCF(flow.default_lang),
      WORD(consent_conf_lang_check, 0) },
    { ngx_string("consent_token_lifetime"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_duration, NGX_HTTP_LOC_CONF_OFFSET, LCF(lifetime),
      DURATION(consent_conf_lifetime_ok, "needs a duration between 10s "
               "and 30d (e.g. 7200, 120m, 2h)") },
    { ngx_string("consent_max_body"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_max_body, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("consent_success_url"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_word, NGX_HTTP_LOC_CONF_OFFSET, LCF(flow.success_url),
      WORD(consent_conf_success_url_check, 0) },
    /* as Apache's ConsentSite (consent_tenant.h) */
    { ngx_string("consent_site"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
      set_word, NGX_HTTP_LOC_CONF_OFFSET, LCF(site),
      WORD(consent_site_check, 1) },
    /* double opt-in (consent_confirm.h), as Apache's ConsentConfirm */
    { ngx_string("consent_confirm"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_confirm, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("consent_confirm_lifetime"), ANY_LEVEL | NGX_CONF_TAKE1,
      set_duration, NGX_HTTP_LOC_CONF_OFFSET, LCF(confirm_lifetime),
      DURATION(consent_conf_confirm_lifetime_ok, "needs a duration "
               "between 60s and 90 days (e.g. 7d, 48h, 3600)") },
    { ngx_string("consent_mail_command"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
      set_word, NGX_HTTP_LOC_CONF_OFFSET, LCF(mail_command),
      WORD(consent_conf_mail_command_check, 1) },
    { ngx_string("consent_mail_from"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
      set_word, NGX_HTTP_LOC_CONF_OFFSET, LCF(mail_from),
      WORD(consent_conf_mail_from_check, 1) },
    ngx_null_command
};

static ngx_http_module_t consent_module_ctx = {
    NULL,                           /* preconfiguration */
    ngx_http_consent_guard_init,    /* postconfiguration */
    consent_create_main_conf,
    NULL,                           /* init main */
    NULL, NULL,                     /* server */
    consent_create_loc_conf,
    consent_merge_loc_conf
};

ngx_module_t ngx_http_consent_module = {
    NGX_MODULE_V1,
    &consent_module_ctx,
    consent_commands,
    NGX_HTTP_MODULE,
    NULL,                           /* init master */
    consent_init_module,
    consent_init_process,
    NULL, NULL,                     /* threads */
    consent_exit_process,
    NULL,                           /* exit master */
    NGX_MODULE_V1_PADDING
};
