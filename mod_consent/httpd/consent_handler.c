/*
 * The consent-form handler: turns a request at a form's location L into
 * the core's neutral request, reads the body when the core asks, runs
 * the store call on the process's writer and mod_dbd's connection, and
 * sends the core's answer (consent_flow.h decides every page of
 * DESIGN.md's HTTP table). Guard mode's hook drives the same flow
 * (consent_guard_post.c).
 */
#include "mod_consent.h"
#include <apr_atomic.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "consent_store_setup.h"

APLOG_USE_MODULE(consent);

/* The location's configuration as the core wants it: the site, keys and
 * mail settings are the serving server's (a main server's <Location> is
 * served by every virtual host, each its own site). */
consent_flow_conf_t *consent_request_conf(request_rec *r,
                                          const consent_dir_conf *conf)
{
    consent_server_conf *sc =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_flow_conf_t *fc = apr_pmemdup(r->pool, conf->flow, sizeof *fc);

    consent_location_values(fc, &conf->v);
    fc->keys = sc->site_keys;
    /* proofs are sealed by the master, never a site key: a customer
     * given their site's key cannot forge store records */
    fc->seal_keys = sc->keys;
    fc->site = sc->site;
    fc->mail_argv = sc->mail_argv;
    fc->mail_from = sc->mail_from;
    return fc;
}

/*
 * Links in a message are absolute (consent_conf_base_url): the
 * configured ServerName, with its scheme ("ServerName
 * https://example.org" behind a TLS proxy).
 */
static const char *location_url(request_rec *r, const consent_dir_conf *conf)
{
    server_rec *s = r->server;
    apr_port_t port = s->port ? s->port : r->connection->local_addr->port;

    return consent_conf_base_url(ap_http_scheme(r), s->server_hostname,
                                 port, conf->location, r->pool);
}

static consent_flow_request_t *flow_request(request_rec *r,
                                            const consent_dir_conf *conf)
{
    consent_server_conf *sc =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_flow_request_t *req = apr_pcalloc(r->pool, sizeof *req);
    apr_size_t n = strlen(conf->location);     /* no trailing slash */

    req->method = r->method;
    /* what follows L: "" for the form itself */
    req->path = strncmp(r->uri, conf->location, n) == 0 ? r->uri + n : "?";
    req->args = r->args;
    consent_flow_request_headers(req, r->headers_in);
    req->ip = r->useragent_ip;      /* mod_remoteip's, when it runs */
    req->now = r->request_time;
    req->store_suspect = apr_atomic_read32(&sc->store_failed) != 0;
    req->base_url = conf->v.confirm_email ? location_url(r, conf) : NULL;
    return req;
}

consent_flow_t *consent_request_flow(request_rec *r,
                                     const consent_dir_conf *conf, int guard)
{
    consent_flow_conf_t *fc = consent_request_conf(r, conf);
    consent_flow_request_t *req = flow_request(r, conf);

    return guard ? consent_flow_guard_start(fc, req, r->pool)
                 : consent_flow_start(fc, req, r->pool);
}

/* An error for want of the store says which store, of which server. */
void consent_log_flow(request_rec *r, const consent_flow_t *f)
{
    apr_array_header_t *lines;
    int i;

    if (!consent_flow_store_failed(f)) {
        consent_log_lines(NULL, r, f->logs, 0);
        return;
    }
    lines = apr_array_copy(r->pool, f->logs);      /* f's stay as they are */
    for (i = 0; i < lines->nelts; ++i) {
        consent_flow_log_t *l = &APR_ARRAY_IDX(lines, i, consent_flow_log_t);

        if (l->level == CONSENT_LOG_ERR) {
            l->text = apr_psprintf(r->pool, "%s (store %s)", l->text,
                                   consent_dbd_store_of(r->server, r->pool));
        }
    }
    consent_log_lines(NULL, r, lines, 0);
}

/*
 * The body, bounded by the location's limit: ap_parse_form_data would
 * cut a field name at %00, so the core's readers decode it. A buffer the
 * announced size when there is one (it is bounded).
 */
static int read_body(request_rec *r, consent_flow_t *f)
{
    apr_size_t max = f->conf->max_body, len = 0;
    char *buf;
    long n;
    int rc;

    if (f->req->content_length >= 0
        && (apr_size_t)f->req->content_length < max) {
        max = (apr_size_t)f->req->content_length;
    }
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rc;
    }
    buf = apr_palloc(r->pool, max + 1);
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + len, max + 1 - len)) > 0) {
            len += (apr_size_t)n;
            if (len > max) {
                consent_flow_body(f, NULL, 0, 1);
                return OK;
            }
        }
        if (n < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CONSENT_LOGNO(0035)
                          "body refused: cannot be read");
            return HTTP_BAD_REQUEST;
        }
    }
    buf[len] = '\0';
    consent_flow_body(f, buf, len, 0);
    return OK;
}

/* The store call: every write goes through the process's writer for the
 * store (group commit, consent_writer.h); reads through mod_dbd's
 * connection, acquired only when the call reads. */
static void run_store(request_rec *r, consent_flow_t *f)
{
    consent_server_conf *sc =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_store_t *store = NULL;

    f->writer = sc->writer;
    if (!sc->writer && f->op == CONSENT_FLOW_OP_RECORD) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0030)
                      "store %s has no writer: answering 503",
                      consent_dbd_store_of(r->server, r->pool));
    }
    else if (consent_flow_needs_store(f)) {
        store = consent_dbd_store(r);
    }
    consent_flow_store(f, store, NULL, NULL);
    if (consent_flow_store_failed(f)) {
        consent_dbd_outcome(r, 0);      /* and repairs the connection */
    }
    else if (f->stored == CONSENT_STORE_OK) {
        consent_dbd_outcome(r, 1);
    }
    consent_flow_stored(f);
}

int consent_request_advance(request_rec *r, consent_flow_t *f)
{
    int rc;

    if (f->step == CONSENT_FLOW_READ_BODY
        && (rc = read_body(r, f)) != OK) {
        return rc;
    }
    if (f->step == CONSENT_FLOW_STORE) {
        run_store(r, f);
    }
    return OK;
}

static void set_header(request_rec *r, const char *key, const char *val)
{
    if (strcasecmp(key, "Content-Type") == 0) {
        ap_set_content_type(r, val);
    }
    else {
        apr_table_setn(r->headers_out, key, val);
    }
}

int consent_send_answer(request_rec *r, consent_flow_t *f)
{
    const consent_answer_t *a = &f->answer;
    const apr_array_header_t *hs = apr_table_elts(a->headers);
    apr_bucket_brigade *bb;
    int i;

    consent_log_flow(r, f);
    if (a->close) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    for (i = 0; i < hs->nelts; ++i) {
        const apr_table_entry_t *e = &APR_ARRAY_IDX(hs, i, apr_table_entry_t);

        /* httpd's own page (a redirect's, 304, 404, 500) keeps only
         * err_headers_out, and a redirect's Location */
        if (!a->body && a->status >= 300
            && strcasecmp(e->key, "Location") != 0) {
            apr_table_setn(r->err_headers_out, e->key, e->val);
        }
        else {
            set_header(r, e->key, e->val);
        }
    }
    if (!a->body) {
        return a->status >= 300 ? a->status : OK;
    }
    r->status = a->status;
    ap_set_content_length(r, (apr_off_t)a->len);
    if (r->header_only) {
        return OK;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(
        a->body, a->len, r->pool, r->connection->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(
        r->connection->bucket_alloc));
    /* a failure: the client went away, nothing more to tell it */
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
           ? OK : AP_FILTER_ERROR;
}

int consent_handler(request_rec *r)
{
    consent_dir_conf *conf;
    consent_flow_t *f;
    int rc;

    if (!r->handler || strcmp(r->handler, CONSENT_HANDLER) != 0) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &consent_module);
    if (!conf->form || !conf->flow) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CONSENT_LOGNO(0012)
                      "SetHandler consent-form without ConsentForm");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    f = consent_request_flow(r, conf, 0);
    if ((rc = consent_request_advance(r, f)) != OK) {
        consent_log_flow(r, f);
        return rc;
    }
    return consent_send_answer(r, f);
}
