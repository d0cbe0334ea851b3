/*
 * Departures at a form's location L (LEGAL.md R6): the withdrawal page
 * L/withdraw, and the one-click unsubscribe link L/unsubscribe?t= of
 * RFC 8058. Neither needs a cookie or a login; each departure is a proof
 * in the same store, chain and export as the consents it ends.
 */
#include "mod_consent.h"
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "consent_handler.h"
#include "consent_multipart.h"
#include "consent_withdraw.h"
#include "consent_unsub.h"

APLOG_USE_MODULE(consent);

#define ONE_CLICK_FIELD "List-Unsubscribe"
#define ONE_CLICK_VALUE "One-Click"

static int method_not_allowed(request_rec *r, const consent_dir_conf *conf)
{
    apr_table_setn(r->headers_out, "Allow", "GET, HEAD, POST");
    return consent_send_message(r, conf, consent_request_lang(r, conf),
                                HTTP_METHOD_NOT_ALLOWED, "error.method");
}

/* ---- L/withdraw ------------------------------------------------------ */

static int send_withdraw_form(request_rec *r, const consent_dir_conf *conf,
                              const char *lang, int status,
                              const char *error_key, apr_table_t *values)
{
    /* signed like the form: no withdrawal forged from another site */
    return consent_send_signed(r, conf, lang, status, error_key, values,
                               consent_render_withdraw);
}

static int judge_withdrawal(request_rec *r, const consent_dir_conf *conf,
                            apr_array_header_t *fields)
{
    consent_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_request_info_t in = consent_request_info(r, conf,
                                                     CONSENT_PAGE_WITHDRAW);
    consent_verdict_t *v;
    const char *lang;
    int rc;

    v = consent_withdrawal_check(conf->form, sconf->site_keys, fields, &in,
                                 r->pool);
    lang = v->lang ? v->lang : consent_request_lang(r, conf);
    if (v->kind != CONSENT_VERDICT_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0041)
                      "withdrawal refused: %s",
                      v->detail ? v->detail : v->error_key);
    }
    if (v->kind != CONSENT_VERDICT_OK) {
        return consent_answer_refusal(r, conf, v, lang,
                                      consent_render_withdraw);
    }
    if (!consent_record_proof(r, conf, NULL, v->proof, &rc)) {
        return rc;
    }
    return consent_send_done(r, conf, lang, HTTP_OK, "withdraw.done",
                             v->proof->receipt_id);
}

int consent_withdraw_page(request_rec *r, const consent_dir_conf *conf)
{
    apr_array_header_t *fields;
    int rc;

    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    if (r->method_number == M_GET && consent_dbd_unavailable(r)) {
        return consent_send_unavailable(r, conf,
                                        consent_request_lang(r, conf));
    }
    if (r->method_number == M_GET) {
        return send_withdraw_form(r, conf, consent_request_lang(r, conf),
                                  HTTP_OK, NULL, NULL);
    }
    if (r->method_number != M_POST) {
        return method_not_allowed(r, conf);
    }
    rc = consent_read_body(r, conf, consent_request_lang(r, conf), &fields);
    if (!fields) {
        return rc;
    }
    return judge_withdrawal(r, conf, fields);
}

/* ---- L/unsubscribe?t= ------------------------------------------------ */

/* The link's facts, or NULL after answering 403 (nothing recorded). */
static consent_unsub_t *open_link(request_rec *r,
                                  const consent_dir_conf *conf)
{
    consent_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_unsub_t *u = apr_pcalloc(r->pool, sizeof *u);
    consent_unsub_status_t st;
    apr_table_t *args;

    ap_args_to_table(r, &args);
    st = consent_unsub_decode(u, sconf->site_keys, apr_table_get(args, "t"),
                              r->pool);
    if (st == CONSENT_UNSUB_OK && strcmp(u->form_id, conf->form->id) == 0) {
        u->subject = consent_subject_canonical(conf->form, u->subject,
                                               r->pool);
        return u;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0042)
                  "unsubscribe link refused: %s",
                  st == CONSENT_UNSUB_OK ? "made for another form"
                                         : consent_unsub_status_str(st));
    return NULL;
}

static int forbidden_link(request_rec *r, const consent_dir_conf *conf,
                          const char *lang)
{
    return consent_send_message(r, conf, lang, HTTP_FORBIDDEN,
                                "unsubscribe.invalid");
}

/* RFC 8058: the body says "List-Unsubscribe=One-Click", once. */
static int is_one_click(const apr_array_header_t *fields)
{
    const consent_field_value_t *f;
    int dup;

    if (consent_fields_problem(fields, fields->pool)) {
        return 0;
    }
    f = consent_field_single(fields, ONE_CLICK_FIELD, &dup);
    return f && !dup && consent_value_is_clean(f, 32)
           && strcmp(f->value, ONE_CLICK_VALUE) == 0;
}

/*
 * RFC 8058 3.2: providers SHOULD post multipart/form-data (and MAY post
 * urlencoded). The body is small: read it whole, bounded.
 */
static int read_multipart_one_click(request_rec *r,
                                    const consent_dir_conf *conf,
                                    const char *lang, int *one_click)
{
    char *body = apr_palloc(r->pool, conf->max_body + 1);
    apr_size_t len = 0;
    long n;
    const char *v;
    int rc;

    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rc;
    }
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, body + len,
                                        conf->max_body + 1 - len)) > 0) {
            len += (apr_size_t)n;
            if (len > conf->max_body) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return consent_send_message(r, conf, lang,
                                            HTTP_REQUEST_ENTITY_TOO_LARGE,
                                            "error.too_large");
            }
        }
        if (n < 0) {
            return consent_send_message(r, conf, lang, HTTP_BAD_REQUEST,
                                        "error.bad_input");
        }
    }
    v = consent_multipart_field(apr_table_get(r->headers_in, "Content-Type"),
                                body, len, ONE_CLICK_FIELD, r->pool);
    *one_click = v && strcmp(v, ONE_CLICK_VALUE) == 0;
    return OK;
}

static apr_status_t add_to_status(void *baton, const consent_proof_t *pf,
                                  apr_pool_t *scratch)
{
    consent_status_add(baton, pf);
    return APR_SUCCESS;
}

/* The receipt of the departure that already covers what the link names
 * (a repeated click is answered with it). */
static const char *earlier_receipt(const consent_status_t *status,
                                   const consent_unsub_t *u,
                                   const consent_form_t *form)
{
    const consent_purpose_state_t *s;
    const char *id;

    id = u->purposes->nelts ? APR_ARRAY_IDX(u->purposes, 0, const char *)
         : APR_ARRAY_IDX(form->purposes, 0, const consent_purpose_t *)->id;
    s = consent_status_get(status, id);
    return s ? s->receipt_id : NULL;
}

static int unsubscribe(request_rec *r, const consent_dir_conf *conf,
                       const char *lang, const consent_unsub_t *u)
{
    consent_request_info_t in = consent_request_info(r, conf,
                                                     CONSENT_PAGE_WITHDRAW);
    consent_store_t *store = consent_dbd_store(r);
    consent_status_t *status = consent_status_make(r->pool);
    consent_proof_t *proof;
    const char *err = NULL;
    int rc;

    if (!store || consent_store_each(store, 0, u->subject, add_to_status,
                                     status, r->pool, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0043)
                      "store unavailable for an unsubscribe: %s",
                      err ? err : "no connection");
        return consent_send_unavailable(r, conf, lang);
    }
    proof = consent_unsubscribe_proof(conf->form, u->subject, u->purposes,
                                      status, lang, &in, r->pool);
    if (!proof) {
        /* already gone: harmless, and nothing more to record */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CONSENT_LOGNO(0044)
                      "unsubscribe: nothing left to withdraw on form %s, "
                      "nothing recorded", conf->form->id);
        return consent_send_done(r, conf, lang, HTTP_OK, "unsubscribe.done",
                                 earlier_receipt(status, u, conf->form));
    }
    if (!consent_record_proof(r, conf, store, proof, &rc)) {
        return rc;
    }
    return consent_send_done(r, conf, lang, HTTP_OK, "unsubscribe.done",
                             proof->receipt_id);
}

static int send_confirm(request_rec *r, const consent_dir_conf *conf,
                        const char *lang)
{
    consent_page_t *pg = consent_page_make(r);

    r->status = HTTP_OK;
    consent_page_headers(r, lang);
    if (r->header_only) {
        return OK;
    }
    return consent_page_send(pg, consent_render_unsubscribe(
        conf->ui, lang, pg->write, pg->bb));
}

/*
 * GET shows a confirm button and never records: mail scanners and link
 * previews follow links. POST is the act, from the button or from a mail
 * provider's one-click (RFC 8058), both with the same body.
 */
int consent_unsubscribe_page(request_rec *r, const consent_dir_conf *conf)
{
    const char *lang = consent_request_lang(r, conf);
    apr_array_header_t *fields = NULL;
    consent_unsub_t *u;
    int rc, one_click = 0;

    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    if (r->method_number != M_GET && r->method_number != M_POST) {
        return method_not_allowed(r, conf);
    }
    if (r->method_number == M_POST && consent_multipart_is(
            apr_table_get(r->headers_in, "Content-Type"))) {
        rc = read_multipart_one_click(r, conf, lang, &one_click);
        if (rc != OK) {
            return rc;
        }
    }
    else if (r->method_number == M_POST) {
        rc = consent_read_body(r, conf, lang, &fields);
        if (!fields) {
            return rc;
        }
        one_click = is_one_click(fields);
    }
    if (!(u = open_link(r, conf))) {
        return forbidden_link(r, conf, lang);
    }
    if (r->method_number == M_GET) {
        return send_confirm(r, conf, lang);
    }
    if (!one_click) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0045)
                      "unsubscribe refused: the body is not "
                      "List-Unsubscribe=One-Click");
        return consent_send_message(r, conf, lang, HTTP_BAD_REQUEST,
                                    "error.bad_input");
    }
    return unsubscribe(r, conf, lang, u);
}
