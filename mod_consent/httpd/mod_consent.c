/*
 * mod_consent: server-rendered, server-validated consent forms with
 * stored proofs. This file declares the module and wires its hooks; the
 * work is done by the core (../consent_*.c).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <libxml/parser.h>

#include "mod_consent.h"
#include "consent_log.h"


static const int level_map[] = {
    APLOG_ERR, APLOG_WARNING, APLOG_INFO, APLOG_DEBUG
};

/* The core's log callback: its messages land in Apache's error log. */
static void log_to_httpd(void *baton, consent_log_level_t level,
                         apr_status_t rv, const char *file, int line,
                         const char *msg)
{
    server_rec *s = baton;

    ap_log_error_(file, line, consent_module.module_index,
                  level_map[level], rv, s,
                  "%s", msg);
}

void consent_log_lines(server_rec *s, request_rec *r,
                       const apr_array_header_t *lines, int fatal)
{
    /* without a server (a directive): at start-up, on the console */
    int emerg = APLOG_EMERG | (s || r ? 0 : APLOG_STARTUP);
    int i;

    for (i = 0; i < lines->nelts; ++i) {
        const consent_log_line_t *l = &APR_ARRAY_IDX(lines, i,
                                                     consent_log_line_t);
        int level = fatal ? emerg : level_map[l->level];
        const char *no = l->id ? apr_psprintf(lines->pool, "CONSENT%04d: ",
                                              l->id) : "";

        /* the module's index: APLOG_USE_MODULE is AP_DECLARE_MODULE's */
        if (r) {
            ap_log_rerror_(__FILE__, __LINE__, consent_module.module_index,
                           level, 0, r, "%s%s", no, l->text);
        }
        else {
            ap_log_error_(__FILE__, __LINE__, consent_module.module_index,
                          level, 0, s, "%s%s", no, l->text);
        }
    }
}

static int consent_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp)
{
    /* libxml2 must be initialised before threads exist. */
    xmlInitParser();
    return OK;
}

/* Runs under apachectl -t too, so every refusal shows there. */
static int consent_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    consent_log_set(log_to_httpd, s);
    return consent_config_check(pconf, ptemp, s);
}

static int consent_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    consent_config_start(pconf, s);
    return OK;
}

/* Form pages are compiled on first use in each child (consent_render.h):
 * with a definition per vhost, a child keeps only the pages it serves. */
static void consent_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv = consent_render_lazy_init(pchild);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, CONSENT_LOGNO(0124)
                     "cannot set up compiling pages on first use");
    }
}

static void consent_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(consent_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(consent_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(consent_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(consent_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(consent_handler, NULL, NULL, APR_HOOK_MIDDLE);
    consent_guard_register(p);
    consent_dbd_register(p);
}

AP_DECLARE_MODULE(consent) = {
    STANDARD20_MODULE_STUFF,
    consent_create_dir_conf,
    consent_merge_dir_conf,
    consent_create_server_conf,
    consent_merge_server_conf,
    consent_cmds,
    consent_register_hooks,
    /* every virtual host gets a server record of its own, even without a
     * directive of ours: it holds the state of the store mod_dbd gives
     * that host, which need not be the main server's */
    AP_MODULE_FLAG_ALWAYS_MERGE
};
