/*
 * POST at a form's location: read the urlencoded body (bounded), let the
 * core judge it, store the proof, answer as DESIGN.md's HTTP table says.
 * The body reading and the storing are shared with the withdrawal and
 * unsubscribe pages (consent_withdraw.c).
 */
#include "mod_consent.h"
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "consent_handler.h"
#include "consent_submit.h"
#include "consent_store.h"
#include "consent_confirm.h"
#include "consent_writer.h"
#include "consent_urlencoded.h"

APLOG_USE_MODULE(consent);

static int is_urlencoded(request_rec *r)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    apr_size_t n = sizeof "application/x-www-form-urlencoded" - 1;

    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", n) == 0
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/*
 * The whole body, bounded by max: ap_parse_form_data would cut a field
 * name at %00, so the core's reader (consent_urlencoded.c) decodes it.
 * APR_ENOSPC when the body is larger than max.
 */
static apr_status_t read_raw_body(request_rec *r, apr_size_t max,
                                  char **body, apr_size_t *len)
{
    char *buf = apr_palloc(r->pool, max + 1);
    long n;

    *len = 0;
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        return APR_EGENERAL;
    }
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + *len,
                                        max + 1 - *len)) > 0) {
            *len += (apr_size_t)n;
            if (*len > max) {
                return APR_ENOSPC;
            }
        }
        if (n < 0) {
            return APR_EGENERAL;
        }
    }
    buf[*len] = '\0';
    *body = buf;
    return APR_SUCCESS;
}

static int answer_stored(request_rec *r, const consent_dir_conf *conf,
                         const consent_proof_t *proof)
{
    if (conf->success_url) {
        /* a redirect is sent by httpd: only err_headers_out survive */
        apr_table_setn(r->err_headers_out, "Consent-Receipt",
                       proof->receipt_id);
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        apr_table_setn(r->headers_out, "Location", conf->success_url);
        return HTTP_SEE_OTHER;
    }
    apr_table_setn(r->headers_out, "Consent-Receipt", proof->receipt_id);
    return consent_send_confirmation(r, conf, proof);
}

int consent_send_unavailable(request_rec *r, const consent_dir_conf *conf,
                             const char *lang)
{
    consent_dbd_outcome(r, 0);     /* and repairs the connection */
    apr_table_setn(r->headers_out, "Retry-After", "30");
    return consent_send_message(r, conf, lang,
                                HTTP_SERVICE_UNAVAILABLE, "error.unavailable");
}

/* "newsletter=given partners=refused": what a decision was, for the
 * debug log (no subject, no token, no secret). */
static const char *choices_str(apr_pool_t *p, const consent_proof_t *pf)
{
    const char *out = "";
    int i;

    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);

        out = apr_pstrcat(p, out, i ? " " : "", c->purpose, "=",
                          c->state, NULL);
    }
    return *out ? out : "(no purpose)";
}

/* Every write goes through the process's writer for the store (group
 * commit, consent_writer.h); store, when the caller has one, was for its
 * reads. */
int consent_record_proof(request_rec *r, const consent_dir_conf *conf,
                         consent_store_t *store, consent_proof_t *proof,
                         int *rc)
{
    consent_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &consent_module);
    const consent_key_t *key;
    const char *err = NULL;

    (void)store;
    if (!sconf->writer) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0030)
                      "store %s of %s has no writer: answering 503",
                      consent_dbd_store_name(sconf, r->pool),
                      consent_dbd_vhost_name(r->server, r->pool));
        *rc = consent_send_unavailable(r, conf, proof->lang);
        return 0;
    }
    /* proofs are sealed by the master, never a site key: a customer
     * given their site's key cannot forge store records */
    key = APR_ARRAY_IDX(sconf->keys->keys, 0, const consent_key_t *);
    proof->site = sconf->site;
    switch (consent_writer_record(sconf->writer, proof, key, r->pool,
                                  &err)) {
    case CONSENT_STORE_OK:
        consent_dbd_outcome(r, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CONSENT_LOGNO(0034)
                      "%s stored: receipt %s, form %s v%u (%s, %s): %s",
                      proof->event, proof->receipt_id, proof->form_id,
                      proof->form_version, proof->lang, proof->regime,
                      choices_str(r->pool, proof));
        return 1;
    case CONSENT_STORE_DUPLICATE:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0031)
                      "render token replayed (nonce %s)",
                      proof->token_nonce);
        *rc = consent_send_message(r, conf, proof->lang, HTTP_CONFLICT,
                                   "error.replay");
        return 0;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0032)
                      "cannot store proof in %s of %s: %s",
                      consent_dbd_store_name(sconf, r->pool),
                      consent_dbd_vhost_name(r->server, r->pool),
                      err ? err : "?");
        *rc = consent_send_unavailable(r, conf, proof->lang);
        return 0;
    }
}

static int store_proof(request_rec *r, const consent_dir_conf *conf,
                       const consent_verdict_t *v)
{
    int rc;

    if (!consent_record_proof(r, conf, NULL, v->proof, &rc)) {
        return rc;
    }
    return answer_stored(r, conf, v->proof);
}

static int judge(request_rec *r, const consent_dir_conf *conf,
                 apr_array_header_t *fields)
{
    consent_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_request_info_t in;
    consent_verdict_t *v;
    const char *lang;

    in = consent_request_info(r, conf, CONSENT_PAGE_FORM);
    v = consent_submission_check(conf->form, sconf->site_keys, fields, &in,
                                 r->pool);
    lang = v->lang ? v->lang : consent_request_lang(r, conf);
    if (v->kind != CONSENT_VERDICT_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0033)
                      "submission refused: %s",
                      v->detail ? v->detail : v->error_key);
    }
    if (v->kind == CONSENT_VERDICT_OK && conf->confirm_email
        && consent_confirm_hold(v->proof) > 0) {
        return consent_confirm_submit(r, conf, v);
    }
    if (v->kind == CONSENT_VERDICT_OK) {
        return store_proof(r, conf, v);
    }
    return consent_answer_refusal(r, conf, v, lang, consent_render_form);
}

int consent_answer_refusal(request_rec *r, const consent_dir_conf *conf,
                           const consent_verdict_t *v, const char *lang,
                           consent_render_signed_fn *render)
{
    switch (v->kind) {
    case CONSENT_VERDICT_BAD_INPUT:
        return consent_send_signed(r, conf, lang, HTTP_BAD_REQUEST,
                                   v->error_key, v->values, render);
    case CONSENT_VERDICT_EXPIRED:
        /* an honest person with an old page gets a fresh one */
        return consent_send_signed(r, conf, lang, HTTP_FORBIDDEN,
                                   v->error_key, NULL, render);
    case CONSENT_VERDICT_PRETICKED:
        return consent_send_message(r, conf, lang,
                                    HTTP_UNPROCESSABLE_ENTITY,
                                    "error.preticked");
    default:
        return consent_send_message(r, conf, lang, HTTP_FORBIDDEN,
                                    "error.forbidden");
    }
}

int consent_read_body(request_rec *r, const consent_dir_conf *conf,
                      const char *lang, apr_array_header_t **fields)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *why = NULL;
    char *body;
    apr_size_t len;
    apr_off_t length;
    apr_status_t rv;

    *fields = NULL;
    if (!is_urlencoded(r)) {
        return consent_send_message(r, conf, lang,
                                    HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "error.media_type");
    }
    /* refuse early what is announced too large, without reading it */
    if (cl && (apr_strtoff(&length, cl, NULL, 10) != APR_SUCCESS
               || length > (apr_off_t)conf->max_body)) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return consent_send_message(r, conf, lang,
                                    HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "error.too_large");
    }
    /* a buffer the announced size, when there is one (it is bounded) */
    rv = read_raw_body(r, cl && length >= 0 ? (apr_size_t)length
                                            : conf->max_body, &body, &len);
    if (rv == APR_ENOSPC) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return consent_send_message(r, conf, lang,
                                    HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "error.too_large");
    }
    if (rv != APR_SUCCESS
        || consent_urlencoded_parse(body, len, fields, &why, r->pool)
           != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, CONSENT_LOGNO(0034)
                      "body refused: %s", why ? why : "cannot be read");
        *fields = NULL;
        return consent_send_message(r, conf, lang, HTTP_BAD_REQUEST,
                                    "error.bad_input");
    }
    return OK;
}

int consent_submit(request_rec *r, const consent_dir_conf *conf)
{
    apr_array_header_t *fields;
    int rc;

    rc = consent_read_body(r, conf, consent_request_lang(r, conf), &fields);
    if (!fields) {
        return rc;
    }
    return judge(r, conf, fields);
}
