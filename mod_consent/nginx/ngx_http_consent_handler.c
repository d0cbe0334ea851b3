/*
 * The content handler at a form's location L: turns the nginx request
 * into the core's neutral request, reads the body when the core asks,
 * posts the store call to the thread pool, and sends the core's answer.
 */
#include "ngx_http_consent.h"

const char *ngx_http_consent_cstr(apr_pool_t *p, ngx_str_t *s)
{
    return s->len ? apr_pstrmemdup(p, (const char *)s->data, s->len) : NULL;
}

ngx_int_t ngx_http_consent_add_header(ngx_http_request_t *r,
                                      const char *key, const char *val)
{
    ngx_table_elt_t *h;

    if (strcasecmp(key, "Content-Type") == 0) {
        r->headers_out.content_type.data = (u_char *)val;
        r->headers_out.content_type.len = ngx_strlen(val);
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
        return NGX_OK;
    }
    if (!(h = ngx_list_push(&r->headers_out.headers))) {
        return NGX_ERROR;
    }
    h->hash = 1;
    h->key.data = (u_char *)key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *)val;
    h->value.len = ngx_strlen(val);
    return NGX_OK;
}

ngx_int_t ngx_http_consent_send_answer(ngx_http_request_t *r,
                                       consent_flow_t *f)
{
    const consent_answer_t *a = &f->answer;
    const apr_array_header_t *hs = apr_table_elts(a->headers);
    ngx_buf_t *b;
    ngx_chain_t out;
    ngx_int_t rc;
    int i;

    ngx_http_consent_log_lines(r->connection->log, f->logs);
    if (!a->body && a->status >= NGX_HTTP_BAD_REQUEST) {
        return a->status;           /* nginx's own page (404, 500) */
    }
    if (a->close) {
        r->keepalive = 0;
    }
    r->headers_out.status = a->status;
    for (i = 0; i < hs->nelts; ++i) {
        const apr_table_entry_t *e = &APR_ARRAY_IDX(hs, i, apr_table_entry_t);

        if (ngx_http_consent_add_header(r, e->key, e->val) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    r->headers_out.content_length_n = (off_t)a->len;
    if (a->len == 0) {
        r->header_only = 1;
    }
    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }
    if (!(b = ngx_calloc_buf(r->pool))) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    b->pos = (u_char *)a->body;
    b->last = b->pos + a->len;
    b->memory = 1;
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;
    out.buf = b;
    out.next = NULL;
    return ngx_http_output_filter(r, &out);
}

/* Back on the event loop after the store call. */
static void stored(ngx_http_request_t *r)
{
    ngx_http_consent_loc_conf_t *lcf =
        ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    ngx_http_consent_ctx_t *ctx =
        ngx_http_get_module_ctx(r, ngx_http_consent_module);

    r->write_event_handler = ngx_http_request_empty_handler;
    if (ctx->store_error) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "consent: store "
                      "%s unavailable: %s", lcf->store->driver,
                      ctx->store_error);
    }
    /* a failed store is probed again before the next form page */
    lcf->store->failed = consent_flow_store_failed(ctx->flow) ? ngx_time()
                                                              : 0;
    consent_flow_stored(ctx->flow);
    if (ctx->flow->step == CONSENT_FLOW_PASS) {
        ngx_http_consent_guard_pass(r, ctx);
        return;
    }
    ngx_http_finalize_request(r, ngx_http_consent_send_answer(r, ctx->flow));
}

/* The store call, or an answer when it cannot be posted. */
static ngx_int_t to_store(ngx_http_request_t *r,
                          ngx_http_consent_loc_conf_t *lcf,
                          ngx_http_consent_ctx_t *ctx)
{
    if (ngx_http_consent_post_store(r, lcf, ctx->flow, &ctx->store_error,
                                    stored) == NGX_OK) {
        return NGX_DONE;
    }
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "consent: cannot "
                  "post to the thread pool");
    consent_flow_store(ctx->flow, NULL, NULL, NULL);
    consent_flow_stored(ctx->flow);
    return ngx_http_consent_send_answer(r, ctx->flow);
}

/* The body read, in one piece (in pool), "" when none or when past max
 * (consent_max_body: *too_large). It may sit in a temporary file past
 * client_body_buffer_size. NULL when it cannot be read. */
static char *gather_body(ngx_http_request_t *r, apr_pool_t *pool, size_t max,
                         size_t *len, int *too_large)
{
    ngx_chain_t *cl;
    size_t total = 0, n;
    char *buf;

    *too_large = 0;
    *len = 0;
    if (!r->request_body) {
        return "";
    }
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }
    if (total > max) {
        *too_large = 1;
        return "";
    }
    buf = apr_palloc(pool, total + 1);
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        ngx_buf_t *b = cl->buf;

        n = b->in_file ? (size_t)(b->file_last - b->file_pos)
                       : (size_t)(b->last - b->pos);
        if (!b->in_file) {
            ngx_memcpy(buf + *len, b->pos, n);
        }
        else if (ngx_read_file(b->file, (u_char *)buf + *len, n,
                               b->file_pos) != (ssize_t)n) {
            return NULL;
        }
        *len += n;
    }
    buf[*len] = '\0';
    return buf;
}

void ngx_http_consent_body_read(ngx_http_request_t *r)
{
    ngx_http_consent_loc_conf_t *lcf =
        ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    ngx_http_consent_ctx_t *ctx =
        ngx_http_get_module_ctx(r, ngx_http_consent_module);
    char *body;
    size_t len;
    int too_large;
    ngx_int_t rc;

    body = gather_body(r, ctx->pool, lcf->flow.max_body, &len,
                       &too_large);
    if (!body) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    consent_flow_body(ctx->flow, body, len, too_large);
    if (ctx->flow->step != CONSENT_FLOW_STORE) {
        ngx_http_finalize_request(r, ngx_http_consent_send_answer(
            r, ctx->flow));
        return;
    }
    /* the body read holds a reference to r (blocked, so alive): the
     * resume handler finalizes it or lets it go on */
    rc = to_store(r, lcf, ctx);
    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}

/* L as people reach it (consent_conf_base_url): the server's first
 * server_name and the port the request came in on. */
static const char *base_url(ngx_http_request_t *r,
                            ngx_http_consent_loc_conf_t *lcf, apr_pool_t *p)
{
    ngx_http_core_srv_conf_t *cscf =
        ngx_http_get_module_srv_conf(r, ngx_http_core_module);
    const char *scheme = "http";
    unsigned port = 0;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        scheme = "https";
    }
#endif
    if (!cscf->server_name.len) {
        return NULL;
    }
    if (ngx_connection_local_sockaddr(r->connection, NULL, 0) == NGX_OK) {
        port = ngx_inet_get_port(r->connection->local_sockaddr);
    }
    return consent_conf_base_url(scheme, apr_pstrmemdup(
        p, (char *)cscf->server_name.data, cscf->server_name.len), port,
        lcf->location, p);
}

void ngx_http_consent_request(ngx_http_request_t *r,
                              ngx_http_consent_loc_conf_t *lcf,
                              apr_pool_t *p, consent_flow_request_t *req)
{
    size_t n = lcf->location ? ngx_strlen(lcf->location) : 0;
    ngx_table_elt_t *h;

    req->method = ngx_http_consent_cstr(p, &r->method_name);
    req->path = r->uri.len >= n ? apr_pstrmemdup(
        p, (char *)r->uri.data + n, r->uri.len - n) : "?";
    req->args = ngx_http_consent_cstr(p, &r->args);
    req->content_type = r->headers_in.content_type
        ? ngx_http_consent_cstr(p, &r->headers_in.content_type->value)
        : NULL;
    req->content_length = r->headers_in.content_length_n;
    req->chunked = r->headers_in.chunked;
    req->if_none_match = r->headers_in.if_none_match
        ? ngx_http_consent_cstr(p, &r->headers_in.if_none_match->value)
        : NULL;
    h = ngx_http_consent_header(&r->headers_in.headers, "Accept-Language");
    req->accept_language = h ? ngx_http_consent_cstr(p, &h->value) : NULL;
    req->user_agent = r->headers_in.user_agent
        ? ngx_http_consent_cstr(p, &r->headers_in.user_agent->value)
        : NULL;
    req->ip = ngx_http_consent_cstr(p, &r->connection->addr_text);
    req->now = apr_time_now();
    req->store_suspect = lcf->store->failed != 0;
    req->base_url = lcf->flow.confirm_email ? base_url(r, lcf, p) : NULL;
}

ngx_http_consent_ctx_t *ngx_http_consent_ctx(ngx_http_request_t *r)
{
    ngx_http_consent_ctx_t *ctx = ngx_http_get_module_ctx(
        r, ngx_http_consent_module);

    if (ctx) {
        return ctx;
    }
    ctx = ngx_pcalloc(r->pool, sizeof *ctx);
    if (!ctx || !(ctx->pool = ngx_http_consent_apr_pool(r->pool))) {
        return NULL;
    }
    ctx->r = r;
    ctx->status = NGX_DONE;
    ngx_http_set_ctx(r, ctx, ngx_http_consent_module);
    return ctx;
}

ngx_int_t ngx_http_consent_handler(ngx_http_request_t *r)
{
    ngx_http_consent_loc_conf_t *lcf =
        ngx_http_get_module_loc_conf(r, ngx_http_consent_module);
    ngx_http_consent_ctx_t *ctx;

    if (!lcf->form || lcf->guard || r != r->main) {
        return NGX_DECLINED;
    }
    if (!(ctx = ngx_http_consent_ctx(r))) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_consent_request(r, lcf, ctx->pool, &ctx->req);
    ctx->flow = consent_flow_start(&lcf->flow, &ctx->req, ctx->pool);
    return ngx_http_consent_step(r, lcf, ctx);
}

ngx_int_t ngx_http_consent_step(ngx_http_request_t *r,
                                ngx_http_consent_loc_conf_t *lcf,
                                ngx_http_consent_ctx_t *ctx)
{
    ngx_int_t rc;

    switch (ctx->flow->step) {
    case CONSENT_FLOW_READ_BODY:
        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_consent_body_read);
        return rc >= NGX_HTTP_SPECIAL_RESPONSE ? rc : NGX_DONE;
    case CONSENT_FLOW_STORE:
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        rc = to_store(r, lcf, ctx);
        if (rc == NGX_DONE) {
            r->main->count++;       /* stored() finalizes */
        }
        return rc;
    default:
        if (!ctx->flow->answer.close
            && ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        return ngx_http_consent_send_answer(r, ctx->flow);
    }
}
