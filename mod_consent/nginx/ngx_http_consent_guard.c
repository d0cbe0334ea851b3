/*
 * Guard mode on nginx: the forms an application behind proxy_pass or
 * fastcgi_pass already has. The request side runs in the precontent
 * phase, before the upstream: a POST is read, judged and its proof stored
 * (in the thread pool), then goes on with a Consent-Receipt header and
 * the exact body, or is answered and never reaches the application. The
 * page side is a header and body filter that passes the application's
 * HTML through the core's guard (a signed token added to each form with
 * a guarded box). Decisions are the core's (consent_flow.h).
 */
#include "ngx_http_consent.h"

#include "consent_guard.h"
#include "consent_guard_log.h"

#define RECEIPT_HEADER "Consent-Receipt"

static ngx_http_output_header_filter_pt next_header_filter;
static ngx_http_output_body_filter_pt next_body_filter;

/*
 * The request headers the application gets: never a Consent-Receipt the
 * client made up, under any spelling a backend files as it
 * (consent_flow_is_receipt_header), and no
 * Accept-Encoding, since the page must come uncompressed for the guard
 * to read it (r->headers_in.accept_encoding still points at the client's,
 * so nginx's gzip may compress the edited page for it). nginx lists
 * cannot drop an element: copy.
 */
static ngx_int_t upstream_headers(ngx_http_request_t *r, apr_pool_t *p)
{
    ngx_list_t list;
    ngx_list_part_t *part = &r->headers_in.headers.part;
    ngx_table_elt_t *h, *copy;
    ngx_uint_t i = 0;

    if (ngx_list_init(&list, r->pool, 20, sizeof(ngx_table_elt_t))
        != NGX_OK) {
        return NGX_ERROR;
    }
    while ((h = ngx_http_consent_next_header(&part, &i))) {
        if (consent_flow_is_receipt_header(apr_pstrmemdup(
                p, (char *)h->key.data, h->key.len))
            || ngx_http_consent_key_is(h, "Accept-Encoding")) {
            continue;
        }
        if (!(copy = ngx_list_push(&list))) {
            return NGX_ERROR;
        }
        *copy = *h;
    }
    r->headers_in.headers = list;
    if (list.last == &list.part) {
        /* a one-part list points at its own part: not at our copy's */
        r->headers_in.headers.last = &r->headers_in.headers.part;
    }
    return NGX_OK;
}

/* ---- the request, before the application ------------------------------ */

/* The POST, its proof stored, goes on to the application with its
 * receipt (after the store call, on the event loop). */
void ngx_http_consent_guard_pass(ngx_http_request_t *r,
                                 ngx_http_consent_ctx_t *ctx)
{
    ngx_table_elt_t *h = ngx_list_push(&r->headers_in.headers);
    size_t n = sizeof RECEIPT_HEADER - 1;

    if (!h || !(h->lowcase_key = ngx_pnalloc(r->pool, n))) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    ngx_str_set(&h->key, RECEIPT_HEADER);
    h->value.data = (u_char *)ctx->flow->receipt;
    h->value.len = ngx_strlen(ctx->flow->receipt);
    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, n);
    ngx_log_error(NGX_LOG_DEBUG, r->connection->log, 0, "consent: proof %s "
                  "stored, POST goes on", ctx->flow->receipt);
    ctx->status = NGX_DECLINED;
    r->preserve_body = 1;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}

static ngx_int_t guard_phase(ngx_http_request_t *r)
{
    ngx_http_consent_loc_conf_t *lcf =
        ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    ngx_http_consent_ctx_t *ctx;

    if (!lcf->guard || !lcf->form || r != r->main) {
        return NGX_DECLINED;
    }
    if ((ctx = ngx_http_get_module_ctx(r, ngx_http_consent_module))) {
        return ctx->status;
    }
    if (!(ctx = ngx_http_consent_ctx(r))
        || upstream_headers(r, ctx->pool) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_consent_request(r, lcf, ctx->pool, &ctx->req);
    ctx->flow = consent_flow_guard_start(&lcf->flow, &ctx->req, ctx->pool);
    if (ctx->flow->step == CONSENT_FLOW_PASS) {
        ctx->status = NGX_DECLINED;
        return NGX_DECLINED;
    }
    /* the body read, or the answer: the request ends here */
    ngx_http_finalize_request(r, ngx_http_consent_step(r, lcf, ctx));
    return NGX_DONE;
}

/* ---- the page, on its way out ------------------------------------------ */

/* The page will differ from the application's: new length, a token for
 * this person only, in the language of the request. */
static ngx_int_t edited_page_headers(ngx_http_request_t *r)
{
    ngx_list_part_t *part = &r->headers_out.headers.part;
    ngx_table_elt_t *h;
    ngx_uint_t i = 0;

    while ((h = ngx_http_consent_next_header(&part, &i))) {
        if (ngx_http_consent_key_is(h, "Cache-Control")) {
            h->hash = 0;
        }
    }
    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_etag(r);
    ngx_http_clear_last_modified(r);
    if (ngx_http_consent_add_header(r, "Cache-Control", "no-store")
        != NGX_OK) {
        return NGX_ERROR;
    }
    return ngx_http_consent_add_header(r, "Vary", "Accept-Language");
}

/* What the guard lets out: copied, as the input buffers go back to the
 * upstream module once marked consumed. */
static apr_status_t write_out(void *baton, const char *data, apr_size_t len)
{
    ngx_http_consent_ctx_t *ctx = baton;
    ngx_chain_t *cl;
    ngx_buf_t *b;

    if (!len) {
        return APR_SUCCESS;
    }
    b = ngx_create_temp_buf(ctx->r->pool, len);
    cl = ngx_alloc_chain_link(ctx->r->pool);
    if (!b || !cl) {
        return APR_ENOMEM;
    }
    b->last = ngx_cpymem(b->pos, data, len);
    cl->buf = b;
    cl->next = NULL;
    *ctx->last_out = cl;
    ctx->last_out = &cl->next;
    return APR_SUCCESS;
}

static ngx_int_t guard_header_filter(ngx_http_request_t *r)
{
    ngx_http_consent_loc_conf_t *lcf =
        ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    ngx_http_consent_ctx_t *ctx;
    ngx_table_elt_t *ce;
    const char *why;

    if (!lcf->guard || !lcf->form || r != r->main || r->header_only) {
        return next_header_filter(r);
    }
    if (!(ctx = ngx_http_consent_ctx(r))) {
        return NGX_ERROR;
    }
    if (ctx->flow && ctx->flow->step != CONSENT_FLOW_PASS) {
        return next_header_filter(r);   /* our own answer, not the page */
    }
    ce = r->headers_out.content_encoding
        ? r->headers_out.content_encoding
        : ngx_http_consent_header(&r->headers_out.headers,
                                  "Content-Encoding");
    if (!consent_flow_guard_inspectable(
            (int)r->headers_out.status,
            ngx_http_consent_cstr(ctx->pool, &r->headers_out.content_type),
            ngx_http_consent_cstr(ctx->pool, &r->headers_out.charset),
            ce ? (const char *)ce->value.data : NULL, &why, ctx->pool)) {
        if (why) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "consent_guard: the page %s", why);
        }
        return next_header_filter(r);
    }
    ctx->last_out = &ctx->out;
    if (consent_flow_guard_page(&lcf->flow, ctx->req.accept_language,
                                write_out, ctx, NULL, &ctx->guard,
                                ctx->pool)
        != APR_SUCCESS
        || edited_page_headers(r) != NGX_OK) {
        return NGX_ERROR;
    }
    return next_header_filter(r);
}

static ngx_int_t push_buf(ngx_http_consent_ctx_t *ctx, ngx_buf_t *b)
{
    u_char *p = b->pos;
    size_t n = (size_t)(b->last - b->pos);
    ssize_t got;

    if (!ngx_buf_in_memory(b) && b->in_file) {
        n = (size_t)(b->file_last - b->file_pos);
        p = ngx_pnalloc(ctx->r->pool, n ? n : 1);
        got = p ? ngx_read_file(b->file, p, n, b->file_pos) : NGX_ERROR;
        if (got != (ssize_t)n) {
            return NGX_ERROR;
        }
        b->file_pos = b->file_last;
    }
    b->pos = b->last;
    if (n && consent_guard_push(ctx->guard, (const char *)p, n)
        != APR_SUCCESS) {
        return NGX_ERROR;
    }
    return NGX_OK;
}

static ngx_int_t guard_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_consent_loc_conf_t *lcf =
        ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    ngx_http_consent_ctx_t *ctx;
    ngx_chain_t *cl, *out;
    apr_array_header_t *lines;
    int last = 0, flush = 0;

    /* at a consent_form location the module's context is the handler's */
    if (!lcf->guard || r != r->main || !in
        || !(ctx = ngx_http_get_module_ctx(r, ngx_http_consent_module))
        || !ctx->guard) {
        return next_body_filter(r, in);
    }
    for (cl = in; cl; cl = cl->next) {
        if (push_buf(ctx, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }
        last |= cl->buf->last_buf;
        flush |= cl->buf->flush;
    }
    if (last) {
        if (consent_guard_finish(ctx->guard) != APR_SUCCESS) {
            return NGX_ERROR;
        }
        /* what the page had, for the admin (consent_guard_log.h) */
        lines = apr_array_make(ctx->pool, 4, sizeof(consent_log_line_t));
        consent_guard_log_report(ctx->guard, apr_pstrmemdup(
            ctx->pool, (char *)r->uri.data, r->uri.len),
            &ngx_http_consent_names, lines, ctx->pool);
        ngx_http_consent_log_lines(r->connection->log, lines);
    }
    if (last || flush) {
        ngx_buf_t *b = ngx_calloc_buf(r->pool);

        if (!b || !(cl = ngx_alloc_chain_link(r->pool))) {
            return NGX_ERROR;
        }
        b->last_buf = last;
        b->last_in_chain = last;
        b->flush = flush;
        cl->buf = b;
        cl->next = NULL;
        *ctx->last_out = cl;
        ctx->last_out = &cl->next;
    }
    out = ctx->out;
    ctx->out = NULL;
    ctx->last_out = &ctx->out;
    if (last) {
        ctx->guard = NULL;
    }
    return out ? next_body_filter(r, out) : NGX_OK;
}

ngx_int_t ngx_http_consent_guard_init(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t *cmcf =
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    ngx_http_handler_pt *h;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (!h) {
        return NGX_ERROR;
    }
    *h = guard_phase;
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = guard_header_filter;
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = guard_body_filter;
    return NGX_OK;
}
