/*
 * The consent-form handler: routes a request at a form's location L to
 * the form page, its withdrawal page or its unsubscribe page, and answers
 * with the statuses of DESIGN.md's HTTP table.
 */
#include "mod_consent.h"
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "mod_consent.h"
#include "consent_handler.h"
#include "consent_flow.h"

APLOG_USE_MODULE(consent);

static apr_status_t write_brigade(void *baton, const char *data,
                                  apr_size_t len)
{
    return apr_brigade_write(baton, NULL, NULL, data, len);
}

/* Pages carry single-use tokens: never cached, never framed (the core's
 * header set, shared with nginx). */
void consent_page_headers(request_rec *r, const char *lang)
{
    ap_set_content_type(r, "text/html; charset=utf-8");
    consent_flow_page_headers(r->headers_out, lang);
    apr_table_unset(r->headers_out, "Content-Type");
}

consent_page_t *consent_page_make(request_rec *r)
{
    consent_page_t *pg = apr_pcalloc(r->pool, sizeof *pg);

    pg->r = r;
    pg->bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    pg->write = write_brigade;
    return pg;
}

/* Sends what was rendered; the status is already in r->status. */
int consent_page_send(consent_page_t *pg, apr_status_t rendered)
{
    request_rec *r = pg->r;
    apr_status_t rv;

    if (rendered != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rendered, r, CONSENT_LOGNO(0010)
                      "rendering failed");
        apr_brigade_cleanup(pg->bb);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    APR_BRIGADE_INSERT_TAIL(pg->bb, apr_bucket_eos_create(
                                r->connection->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, pg->bb);
    if (rv != APR_SUCCESS) {
        /* the client went away: nothing more to tell it */
        return AP_FILTER_ERROR;
    }
    return OK;
}

const char *consent_request_lang(request_rec *r, const consent_dir_conf *conf)
{
    return consent_flow_lang(conf->form, conf->default_lang,
                             apr_table_get(r->headers_in, "Accept-Language"),
                             r->pool);
}

consent_request_info_t consent_request_info(request_rec *r,
                                            const consent_dir_conf *conf,
                                            int page)
{
    consent_request_info_t in;

    memset(&in, 0, sizeof in);
    in.ip = r->useragent_ip;
    in.user_agent = apr_table_get(r->headers_in, "User-Agent");
    in.now = r->request_time;
    in.lifetime = conf->lifetime;
    in.page = page;
    return in;
}

int consent_send_message(request_rec *r, const consent_dir_conf *conf,
                         const char *lang, int status, const char *key)
{
    consent_page_t *pg = consent_page_make(r);
    const char *title = apr_pstrcat(r->pool, key, ".title", NULL);

    r->status = status;
    consent_page_headers(r, lang);
    if (r->header_only) {
        return OK;
    }
    return consent_page_send(pg, consent_render_message(
        conf->ui, lang, title, key, pg->write, pg->bb));
}

static apr_status_t issue_token(request_rec *r, const consent_dir_conf *conf,
                                const char *lang, const char *defaults,
                                consent_page_kind_t page, const char **token)
{
    consent_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &consent_module);

    return consent_flow_issue_token(conf->form, sconf->site_keys, lang,
                                    defaults, page, token, r->pool);
}

apr_status_t consent_issue_token(request_rec *r,
                                 const consent_dir_conf *conf,
                                 const char *lang, const char *defaults,
                                 const char **token)
{
    return issue_token(r, conf, lang, defaults, conf->guard
                       ? CONSENT_PAGE_GUARD : CONSENT_PAGE_FORM, token);
}

/* The token names its page: one page's token is refused by another. */
static apr_status_t issue_page_token(request_rec *r,
                                     const consent_dir_conf *conf,
                                     const char *lang,
                                     consent_render_signed_fn *render,
                                     const char **token)
{
    /* NULL defaults: the pages compiled at start-up never tick a box */
    return issue_token(r, conf, lang, NULL,
                       render == consent_render_withdraw
                       ? CONSENT_PAGE_WITHDRAW : CONSENT_PAGE_FORM, token);
}

apr_status_t consent_issue_form_token(request_rec *r,
                                      const consent_dir_conf *conf,
                                      const char *lang, const char **token)
{
    return issue_page_token(r, conf, lang, consent_render_form, token);
}

int consent_send_form(request_rec *r, const consent_dir_conf *conf,
                      const char *lang, int status, const char *error_key,
                      apr_table_t *values)
{
    return consent_send_signed(r, conf, lang, status, error_key, values,
                               consent_render_form);
}

int consent_send_signed(request_rec *r, const consent_dir_conf *conf,
                        const char *lang, int status, const char *error_key,
                        apr_table_t *values, consent_render_signed_fn *render)
{
    consent_page_t *pg = consent_page_make(r);
    consent_form_request_t req;
    apr_status_t rv;

    memset(&req, 0, sizeof req);
    req.lang = lang;
    req.values = values;
    req.error = error_key ? consent_ui_text(conf->ui, lang, error_key) : NULL;
    req.withdraw_url = conf->withdraw_url;
    rv = issue_page_token(r, conf, lang, render, &req.token);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, CONSENT_LOGNO(0011)
                      "cannot sign a render token");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    consent_page_headers(r, lang);
    if (r->header_only) {
        return OK;
    }
    return consent_page_send(pg, render(conf->form, &req, pg->write,
                                        pg->bb));
}

/* What follows L in the URL: "" for the form itself. */
static const char *sub_path(request_rec *r, const consent_dir_conf *conf)
{
    apr_size_t n = strlen(conf->location);     /* no trailing slash */

    if (strncmp(r->uri, conf->location, n) != 0) {
        return NULL;
    }
    return r->uri + n;
}

static int allow(request_rec *r, const consent_dir_conf *conf,
                 const char *methods)
{
    apr_table_setn(r->headers_out, "Allow", methods);
    return consent_send_message(r, conf, consent_request_lang(r, conf),
                                HTTP_METHOD_NOT_ALLOWED, "error.method");
}

int consent_send_done(request_rec *r, const consent_dir_conf *conf,
                      const char *lang, int status, const char *key,
                      const char *receipt)
{
    consent_page_t *pg = consent_page_make(r);

    if (receipt) {
        apr_table_setn(r->headers_out, "Consent-Receipt", receipt);
    }
    r->status = status;
    consent_page_headers(r, lang);
    if (r->header_only) {
        return OK;
    }
    return consent_page_send(pg, consent_render_done(
        conf->ui, lang, apr_pstrcat(r->pool, key, ".title", NULL), key,
        receipt ? receipt : "", pg->write, pg->bb));
}

int consent_send_confirmation(request_rec *r, const consent_dir_conf *conf,
                              const consent_proof_t *proof)
{
    consent_page_t *pg = consent_page_make(r);

    r->status = HTTP_OK;
    consent_page_headers(r, proof->lang);
    return consent_page_send(pg, consent_render_confirmation(
        conf->ui, conf->form, proof->lang, proof, conf->withdraw_url,
        pg->write, pg->bb));
}

static int form_page(request_rec *r, const consent_dir_conf *conf)
{
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    if (r->method_number == M_GET && consent_dbd_unavailable(r)) {
        return consent_send_unavailable(r, conf,
                                        consent_request_lang(r, conf));
    }
    if (r->method_number == M_GET) {
        return consent_send_form(r, conf, consent_request_lang(r, conf),
                                 HTTP_OK, NULL, NULL);
    }
    if (r->method_number == M_POST) {
        return consent_submit(r, conf);
    }
    return allow(r, conf, "GET, HEAD, POST");
}

/* L/consent.css: the core says what to answer, from memory. */
static int style_page(request_rec *r, const consent_dir_conf *conf)
{
    consent_style_answer_t a;

    r->allowed = AP_METHOD_BIT << M_GET;
    if (!conf->style) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET) {
        return allow(r, conf, "GET, HEAD");
    }
    consent_style_answer(conf->style, r->args,
                         apr_table_get(r->headers_in, "If-None-Match"), &a);
    apr_table_setn(r->headers_out, "ETag", a.etag);
    apr_table_setn(r->headers_out, "Cache-Control", a.cache_control);
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (a.status == HTTP_NOT_MODIFIED) {
        return HTTP_NOT_MODIFIED;
    }
    ap_set_content_type(r, a.content_type);
    ap_set_content_length(r, (apr_off_t)a.len);
    if (!r->header_only) {
        ap_rwrite(a.body, (int)a.len, r);
    }
    return OK;
}

int consent_handler(request_rec *r)
{
    consent_dir_conf *conf;
    const char *rest;

    if (!r->handler || strcmp(r->handler, CONSENT_HANDLER) != 0) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &consent_module);
    if (!conf->form || !conf->ui) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0012)
                      "SetHandler consent-form without ConsentForm");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rest = sub_path(r, conf);
    if (!rest) {
        return HTTP_NOT_FOUND;
    }
    if (!*rest || strcmp(rest, "/") == 0) {
        return form_page(r, conf);
    }
    if (strcmp(rest, "/withdraw") == 0) {
        return consent_withdraw_page(r, conf);
    }
    if (strcmp(rest, "/unsubscribe") == 0) {
        return consent_unsubscribe_page(r, conf);
    }
    if (strcmp(rest, "/" CONSENT_STYLE_NAME) == 0) {
        return style_page(r, conf);
    }
    if (strcmp(rest, "/confirm") == 0) {
        return consent_confirm_page(r, conf);
    }
    return HTTP_NOT_FOUND;
}
