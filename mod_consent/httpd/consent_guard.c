/*
 * Guard mode in Apache, the page side: an output filter passes the HTML
 * an application (proxied backend, CGI, PHP) sends at a ConsentGuard
 * location through the core's guard (consent_flow_guard_page: its own
 * HTML5 scanner), which adds a signed consent_token to each form with a
 * guarded box and, with ConsentGuardFix On, un-ticks pre-ticked ones.
 * What the filter does not understand goes through untouched: another
 * type than text/html, a compressed body, a HEAD, a status that carries
 * no form, a charset whose bytes are not ASCII-based. The POST side is
 * consent_guard_post.c.
 */
#include "mod_consent.h"
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "consent_guard_log.h"

APLOG_USE_MODULE(consent);

#define GUARD_FILTER "CONSENT_GUARD"

typedef struct {
    consent_guard_t *guard;
    apr_bucket_brigade *out;    /* what leaves the filter this call */
    request_rec *r;
    apr_array_header_t *logs;   /* the flow's: a line per form signed */
} guard_ctx;

/* Whether this response is one the guard reads (consent_flow.h); logs
 * why not when the page should have been read but cannot be. */
static int inspectable(request_rec *r)
{
    const char *ce = apr_table_get(r->headers_out, "Content-Encoding");
    const char *why;

    if (r->main || r->header_only) {
        return 0;
    }
    if (!ce) {
        ce = r->content_encoding;
    }
    if (consent_flow_guard_inspectable(r->status, r->content_type, NULL, ce,
                                       &why, r->pool)) {
        return 1;
    }
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "CONSENT%04d: "
                      "ConsentGuard: %s %s", ce && *ce && strcasecmp(
                          ce, "identity") ? 500 : 501, r->uri, why);
    }
    return 0;
}

static apr_status_t write_out(void *baton, const char *data, apr_size_t len)
{
    guard_ctx *ctx = baton;

    return apr_brigade_write(ctx->out, NULL, NULL, data, len);
}

static apr_status_t guard_start(ap_filter_t *f, const consent_dir_conf *conf)
{
    request_rec *r = f->r;
    guard_ctx *ctx = apr_pcalloc(r->pool, sizeof *ctx);

    ctx->r = r;
    ctx->out = apr_brigade_create(r->pool, f->c->bucket_alloc);
    ctx->logs = apr_array_make(r->pool, 2, sizeof(consent_flow_log_t));
    consent_flow_edit_page_headers(r->headers_out);
    consent_guard_restore_request(r);
    f->ctx = ctx;
    return consent_flow_guard_page(
        consent_request_conf(r, conf),
        apr_table_get(r->headers_in, "Accept-Language"), write_out, ctx,
        ctx->logs, &ctx->guard, r->pool);
}

/* What the page had, for the admin: the application is to be fixed
 * (consent_guard_log.h); first a line per form signed. */
static void log_report(guard_ctx *ctx)
{
    request_rec *r = ctx->r;
    apr_array_header_t *lines = apr_array_make(r->pool, 4,
                                               sizeof(consent_log_line_t));
    int i;

    for (i = 0; i < ctx->logs->nelts; ++i) {
        const consent_flow_log_t *l = &APR_ARRAY_IDX(ctx->logs, i,
                                                     consent_flow_log_t);

        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "CONSENT%04d: "
                      "ConsentGuard: %s on %s", l->id, l->text, r->uri);
    }
    consent_guard_log_report(ctx->guard, r->uri, &consent_httpd_names,
                             lines, r->pool);
    consent_log_lines(NULL, r, lines, 0);
}

/* One bucket into the guard; metadata goes straight to the output. */
static apr_status_t guard_bucket(ap_filter_t *f, guard_ctx *ctx,
                                 apr_bucket *e)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    if (APR_BUCKET_IS_EOS(e)) {
        rv = consent_guard_finish(ctx->guard);
        log_report(ctx);
    }
    else if (APR_BUCKET_IS_METADATA(e)) {
        rv = APR_SUCCESS;
    }
    else {
        rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ);
        if (rv == APR_SUCCESS) {
            rv = consent_guard_push(ctx->guard, data, len);
        }
        apr_bucket_delete(e);
        return rv;
    }
    APR_BUCKET_REMOVE(e);
    APR_BRIGADE_INSERT_TAIL(ctx->out, e);
    if (APR_BUCKET_IS_FLUSH(e) || APR_BUCKET_IS_EOS(e)) {
        rv = ap_pass_brigade(f->next, ctx->out);
        apr_brigade_cleanup(ctx->out);
    }
    return rv;
}

static apr_status_t guard_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    guard_ctx *ctx = f->ctx;
    const consent_dir_conf *conf;
    apr_status_t rv = APR_SUCCESS;

    if (!ctx) {
        conf = ap_get_module_config(f->r->per_dir_config, &consent_module);
        if (!conf->guard || !inspectable(f->r)) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        if ((rv = guard_start(f, conf)) != APR_SUCCESS) {
            return rv;
        }
        ctx = f->ctx;
    }
    while (rv == APR_SUCCESS && !APR_BRIGADE_EMPTY(bb)) {
        rv = guard_bucket(f, ctx, APR_BRIGADE_FIRST(bb));
    }
    if (rv == APR_SUCCESS && !APR_BRIGADE_EMPTY(ctx->out)) {
        rv = ap_pass_brigade(f->next, ctx->out);
    }
    apr_brigade_cleanup(ctx->out);
    apr_brigade_cleanup(bb);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, f->r, CONSENT_LOGNO(0508)
                      "ConsentGuard: page not sent whole");
    }
    return rv;
}

static void guard_insert_filter(request_rec *r)
{
    const consent_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &consent_module);

    if (conf->guard && !r->main) {
        ap_add_output_filter(GUARD_FILTER, NULL, r, r->connection);
    }
}

void consent_guard_register(apr_pool_t *p)
{
    /* a resource filter: before mod_deflate compresses for the client */
    ap_register_output_filter(GUARD_FILTER, guard_filter, NULL,
                              AP_FTYPE_RESOURCE);
    ap_hook_insert_filter(guard_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    consent_guard_register_post(p);
}
