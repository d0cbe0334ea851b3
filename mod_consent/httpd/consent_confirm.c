/*
 * Double opt-in at a form's location L (issue 17): the directives, a
 * submission held until confirmed (its proof stored first, then the
 * message sent), and the link L/confirm?t= whose GET shows a button and
 * whose POST records the confirmation. What to answer and what to record
 * is decided in the core (consent_confirm.c, consent_mail.c).
 */
#include "mod_consent.h"
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "consent_handler.h"
#include "consent_confirm.h"
#include "consent_mail.h"

APLOG_USE_MODULE(consent);

#define CONFIRM_FIELD "confirm"

/* ---- directives --------------------------------------------------------- */

const char *consent_set_confirm(cmd_parms *cmd, void *dconf, const char *arg)
{
    consent_dir_conf *conf = dconf;

    if (strcasecmp(arg, "email") == 0) {
        conf->confirm_email = 1;
    }
    else if (strcasecmp(arg, "off") == 0) {
        conf->confirm_email = 0;
    }
    else {
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
        || t < apr_time_from_sec(60) || t > apr_time_from_sec(90 * 86400)) {
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

static const char *confirm_problem(const consent_dir_conf *conf,
                                   consent_server_conf *sc, apr_pool_t *p)
{
    const char *cmd, *why;

    if (conf->guard) {
        return "works with ConsentForm, not with ConsentGuard";
    }
    if (conf->form->regime != CONSENT_REGIME_OPT_IN) {
        return "confirms consents: the form's regime must be opt-in";
    }
    if (!conf->form->subject
        || strcmp(conf->form->subject->type, "email") != 0) {
        return "needs a form whose subject is an email field";
    }
    if (!sc->mail_from) {
        return "needs ConsentMailFrom (the From of confirmation messages) "
               "for this server";
    }
    cmd = sc->mail_command ? sc->mail_command : CONSENT_MAIL_DEFAULT_COMMAND;
    if (!(sc->mail_argv = consent_mail_argv(cmd, &why, p))) {
        return apr_pstrcat(p, "ConsentMailCommand ", cmd, ": ", why, NULL);
    }
    return NULL;
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
    if ((problem = confirm_problem(conf, sc, pconf)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                     CONSENT_LOGNO(0060) "ConsentConfirm email at %s "
                     "(form %s): %s", conf->location, conf->form_path,
                     problem);
        return 0;
    }
    return 1;
}

/* ---- shared helpers ----------------------------------------------------- */

/*
 * Links in a message are absolute. The host is the configured ServerName
 * (with its scheme, e.g. "ServerName https://example.org" behind a TLS
 * proxy), never the request's Host header: whoever submits must not
 * choose where the person's confirmation goes.
 */
static const char *location_url(request_rec *r, const consent_dir_conf *conf)
{
    server_rec *s = r->server;
    apr_port_t port = s->port ? s->port : r->connection->local_addr->port;
    const char *scheme = ap_http_scheme(r);

    return apr_psprintf(r->pool, "%s://%s%s%s", scheme, s->server_hostname,
                        port == ap_default_port(r) ? ""
                        : apr_psprintf(r->pool, ":%u", (unsigned)port),
                        conf->location);
}

/* ---- a held submission -------------------------------------------------- */

/* Builds and sends the message; *why says what failed, for the log. */
static int send_message(request_rec *r, const consent_dir_conf *conf,
                        const consent_proof_t *proof, const char **why)
{
    consent_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &consent_module);
    const char *message;
    apr_status_t rv;

    if (!sconf->mail_argv || !sconf->mail_from) {
        *why = "no mail command or ConsentMailFrom for this server";
        return 0;
    }
    rv = consent_confirm_message(&message, sconf->site_keys, conf->ui,
                                 conf->form, proof, sconf->mail_from,
                                 location_url(r, conf), sconf->site,
                                 conf->confirm_lifetime, r->pool);
    if (rv != APR_SUCCESS) {
        *why = rv == APR_EINVAL ? "the message would have an invalid header"
                                : "cannot seal the links";
        return 0;
    }
    if (consent_mail_send(sconf->mail_argv, message, CONSENT_MAIL_TIMEOUT,
                          why, r->pool) != APR_SUCCESS) {
        *why = apr_pstrcat(r->pool, sconf->mail_argv[0], ": ", *why, NULL);
        return 0;
    }
    return 1;
}

int consent_confirm_submit(request_rec *r, const consent_dir_conf *conf,
                           const consent_verdict_t *v)
{
    const consent_proof_t *proof = v->proof;
    const char *why = NULL;
    int rc;

    if (!proof->subject || !*proof->subject) {
        /* nowhere to send the confirmation: nothing can be confirmed */
        return consent_send_form(r, conf, proof->lang, HTTP_BAD_REQUEST,
                                 "error.missing_field", v->values);
    }
    /* durable first: a message must never announce an unrecorded proof */
    if (!consent_record_proof(r, conf, NULL, v->proof, &rc)) {
        return rc;
    }
    if (!send_message(r, conf, proof, &why)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0061)
                      "confirmation message for receipt %s not sent: %s",
                      proof->receipt_id, why ? why : "?");
        return consent_send_done(r, conf, proof->lang, HTTP_BAD_GATEWAY,
                                 CONSENT_CONFIRM_KEY_FAILED,
                                 proof->receipt_id);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CONSENT_LOGNO(0062)
                  "confirmation message for receipt %s sent",
                  proof->receipt_id);
    if (conf->success_url) {
        apr_table_setn(r->err_headers_out, "Consent-Receipt",
                       proof->receipt_id);
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        apr_table_setn(r->headers_out, "Location", conf->success_url);
        return HTTP_SEE_OTHER;
    }
    return consent_send_done(r, conf, proof->lang, HTTP_OK,
                             CONSENT_CONFIRM_KEY_SENT, proof->receipt_id);
}

/* ---- L/confirm?t= ------------------------------------------------------- */

/* The link's facts, or NULL (logged): answer 403, record nothing. */
static consent_confirm_link_t *open_link(request_rec *r,
                                         const consent_dir_conf *conf)
{
    consent_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_confirm_link_t *l = apr_pcalloc(r->pool, sizeof *l);
    consent_confirm_status_t st;
    apr_table_t *args;

    ap_args_to_table(r, &args);
    st = consent_confirm_open(l, sconf->site_keys, apr_table_get(args, "t"),
                              sconf->site,
                              conf->form->id, r->request_time,
                              conf->confirm_lifetime, r->pool);
    if (st == CONSENT_CONFIRM_OK) {
        return l;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0063)
                  "confirmation link refused: %s",
                  consent_confirm_status_str(st));
    return NULL;
}

static int invalid_link(request_rec *r, const consent_dir_conf *conf,
                        const char *lang)
{
    return consent_send_message(r, conf, lang, HTTP_FORBIDDEN,
                                CONSENT_CONFIRM_KEY_INVALID);
}

static int confirm(request_rec *r, const consent_dir_conf *conf,
                   const consent_confirm_link_t *l, const char *lang)
{
    /* page: none, a confirmation has no render token */
    consent_request_info_t in = consent_request_info(r, conf,
                                                     CONSENT_PAGE_NONE);
    consent_store_t *store = consent_dbd_store(r);
    consent_confirm_history_t *h = consent_confirm_history_make(l, r->pool);
    const char *err = NULL, *receipt;
    consent_proof_t *proof;
    int rc;

    if (!store || consent_store_each(store, 0, l->subject,
                                     consent_confirm_collect, h, r->pool,
                                     &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0064)
                      "store unavailable for a confirmation: %s",
                      err ? err : "no connection");
        return consent_send_unavailable(r, conf, lang);
    }
    switch (consent_confirm_decide(conf->form, l, h, &in, &proof, &receipt,
                                   r->pool)) {
    case CONSENT_CONFIRM_RECORD:
        if (!consent_record_proof(r, conf, store, proof, &rc)) {
            return rc;
        }
        return consent_send_done(r, conf, lang, HTTP_OK,
                                 CONSENT_CONFIRM_KEY_DONE, proof->receipt_id);
    case CONSENT_CONFIRM_ALREADY:
        /* a repeated click: nothing more to record */
        return consent_send_done(r, conf, lang, HTTP_OK,
                                 CONSENT_CONFIRM_KEY_DONE, receipt);
    case CONSENT_CONFIRM_NOTHING:
        /* withdrawn or replaced since */
        return consent_send_message(r, conf, lang, HTTP_OK,
                                    CONSENT_CONFIRM_KEY_NOTHING);
    default:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0065)
                      "confirmation link names receipt %s, not a "
                      "submission of this person at this form",
                      l->receipt_id);
        return invalid_link(r, conf, lang);
    }
}

static int send_button(request_rec *r, const consent_dir_conf *conf,
                       const char *lang)
{
    consent_page_t *pg = consent_page_make(r);

    r->status = HTTP_OK;
    consent_page_headers(r, lang);
    if (r->header_only) {
        return OK;
    }
    return consent_page_send(pg, consent_render_confirm_email(
        conf->ui, lang, pg->write, pg->bb));
}

/* The language of the link when the form speaks it. */
static const char *link_lang(const consent_dir_conf *conf,
                             const consent_confirm_link_t *l,
                             const char *dflt)
{
    const apr_array_header_t *langs = conf->form->languages;
    int i;

    for (i = 0; i < langs->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(langs, i, const char *), l->lang) == 0) {
            return l->lang;
        }
    }
    return dflt;
}

/* The button's body: confirm=1, once. */
static int is_confirm(const apr_array_header_t *fields)
{
    const consent_field_value_t *f;
    int dup;

    f = consent_field_single(fields, CONFIRM_FIELD, &dup);
    return f && !dup && consent_value_is_clean(f, 8)
           && strcmp(f->value, "1") == 0;
}

/*
 * GET shows the button and never records: mail scanners and link
 * previews follow links. POST (the button) records the confirmation.
 */
int consent_confirm_page(request_rec *r, const consent_dir_conf *conf)
{
    const char *lang = consent_request_lang(r, conf);
    apr_array_header_t *fields = NULL;
    consent_confirm_link_t *l;
    int rc;

    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    if (r->method_number != M_GET && r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD, POST");
        return consent_send_message(r, conf, lang, HTTP_METHOD_NOT_ALLOWED,
                                    "error.method");
    }
    if (r->method_number == M_POST) {
        rc = consent_read_body(r, conf, lang, &fields);
        if (!fields) {
            return rc;
        }
    }
    /* links mailed before ConsentConfirm was turned off still work */
    if (!(l = open_link(r, conf))) {
        return invalid_link(r, conf, lang);
    }
    lang = link_lang(conf, l, lang);
    if (r->method_number == M_GET) {
        return send_button(r, conf, lang);
    }
    if (!is_confirm(fields)) {
        return consent_send_message(r, conf, lang, HTTP_BAD_REQUEST,
                                    "error.bad_input");
    }
    return confirm(r, conf, l, lang);
}
