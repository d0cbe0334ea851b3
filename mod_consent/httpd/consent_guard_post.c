/*
 * Guard mode in Apache, the submission side: a request to a
 * ConsentGuard location goes through the core's guard flow
 * (consent_flow_guard_start) in the fixups hook, before any handler
 * (mod_proxy, CGI, PHP) runs. A POST's urlencoded body is read once
 * (bounded by ConsentMaxBody) through an input filter that keeps a copy,
 * the way httpd's mod_request keeps a body (KEEP_BODY); a refused request
 * is answered here and the application never sees it.
 * An accepted one has its proof stored, then goes on with a
 * Consent-Receipt header, and a second input filter (mod_request's
 * KEPT_BODY idea) hands the application the body exactly as the client
 * sent it.
 */
#include "mod_consent.h"
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>


APLOG_USE_MODULE(consent);

#define KEEP_FILTER "CONSENT_GUARD_KEEP"
#define REPLAY_FILTER "CONSENT_GUARD_BODY"
#define RECEIPT_HEADER "Consent-Receipt"
#define STATE_KEY "consent-guard"

static ap_filter_rec_t *keep_filter, *replay_filter;

/* Per request, in r->pool: an internal redirect (same pool) finds it. */
typedef struct {
    apr_bucket_brigade *kept;   /* the body as read */
    apr_size_t kept_len;
    apr_size_t max;             /* ConsentMaxBody: never keep more */
    char *body;                 /* ... flattened for the replay */
    apr_size_t body_len;
    const char *receipt;        /* set once the proof is stored */
    const char *accept_encoding;    /* set aside while the application
                                       answers a GET */
} guard_state;

typedef struct {
    guard_state *st;
    apr_size_t offset;
} replay_ctx;

static guard_state *state_of(request_rec *r, int create)
{
    void *st = NULL;

    apr_pool_userdata_get(&st, STATE_KEY, r->pool);
    if (!st && create) {
        st = apr_pcalloc(r->pool, sizeof(guard_state));
        apr_pool_userdata_setn(st, STATE_KEY, NULL, r->pool);
    }
    return st;
}

/* KEEP: a copy of every byte of the body the check reads. */
static apr_status_t keep_body(ap_filter_t *f, apr_bucket_brigade *bb,
                              ap_input_mode_t mode, apr_read_type_e block,
                              apr_off_t readbytes)
{
    guard_state *st = f->ctx;
    apr_bucket *e;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    const char *data;
    apr_size_t len;

    if (rv != APR_SUCCESS || mode != AP_MODE_READBYTES) {
        return rv;
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_METADATA(e)) {
            continue;
        }
        rv = apr_bucket_read(e, &data, &len, block);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* past the limit the body is refused (413) and only drained */
        st->kept_len += len;
        if (st->kept_len <= st->max) {
            apr_brigade_write(st->kept, NULL, NULL, data, len);
        }
    }
    return APR_SUCCESS;
}

/* KEPT: the body again, for the application, then end of stream. */
static apr_status_t replay_body(ap_filter_t *f, apr_bucket_brigade *bb,
                                ap_input_mode_t mode, apr_read_type_e block,
                                apr_off_t readbytes)
{
    replay_ctx *ctx = f->ctx;
    apr_size_t n = ctx->st->body_len - ctx->offset;

    if (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE
        && mode != AP_MODE_GETLINE) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    if (n == 0) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
        return APR_SUCCESS;
    }
    if (readbytes > 0 && (apr_size_t)readbytes < n) {
        n = (apr_size_t)readbytes;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(
        ctx->st->body + ctx->offset, n, f->r->pool, f->c->bucket_alloc));
    if (mode != AP_MODE_SPECULATIVE) {
        ctx->offset += n;
    }
    return APR_SUCCESS;
}

/* The accepted request goes on: its body replayed (framing now a plain
 * Content-Length, the body itself unchanged), its receipt in a header. */
static void pass_on(request_rec *r, guard_state *st)
{
    replay_ctx *ctx = apr_pcalloc(r->pool, sizeof *ctx);

    ctx->st = st;
    ap_add_input_filter_handle(replay_filter, ctx, r, r->connection);
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    apr_table_setn(r->headers_in, "Content-Length",
                   apr_off_t_toa(r->pool, (apr_off_t)st->body_len));
    apr_table_setn(r->headers_in, RECEIPT_HEADER, st->receipt);
}

/* Reads the body through KEEP when the flow asks (the fields for the
 * check, the bytes for the application), then stores the proof: the
 * request goes on with its receipt, or is answered here. */
static int check(request_rec *r, guard_state *st, consent_flow_t *f)
{
    ap_filter_t *keep;
    int rc;

    st->kept = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    st->max = f->conf->max_body;
    keep = ap_add_input_filter_handle(keep_filter, st, r, r->connection);
    rc = consent_request_advance(r, f);
    ap_remove_input_filter(keep);
    if (rc == OK && f->step != CONSENT_FLOW_PASS) {
        rc = consent_send_answer(r, f);
        return rc == OK ? DONE : rc;    /* a fixup's OK would go on */
    }
    consent_log_flow(r, f);
    if (rc != OK) {
        return rc;
    }
    if (apr_brigade_pflatten(st->kept, &st->body, &st->body_len, r->pool)
        != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_brigade_cleanup(st->kept);
    st->receipt = f->receipt;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CONSENT_LOGNO(0511)
                  "ConsentGuard: proof %s stored, POST %s goes on",
                  st->receipt, r->uri);
    pass_on(r, st);
    return DECLINED;
}

/* After an internal redirect (same pool) the new request gets the body
 * and the receipt the first one was accepted with. */
static int redirected(request_rec *r, guard_state *st)
{
    if (st->receipt) {
        pass_on(r, st);
    }
    return DECLINED;
}

static int guard_fixups(request_rec *r)
{
    const consent_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &consent_module);
    guard_state *st;
    consent_flow_t *f;
    int rc;

    if (!conf->guard || !conf->form || r->main) {
        return DECLINED;
    }
    if (r->prev && (st = state_of(r, 0)) != NULL) {
        return redirected(r, st);
    }
    /* only the check says a consent was stored */
    consent_flow_strip_receipts(r->headers_in, r->pool);
    /* the page must come uncompressed for the guard to read it */
    st = state_of(r, 1);
    st->accept_encoding = apr_table_get(r->headers_in, "Accept-Encoding");
    apr_table_unset(r->headers_in, "Accept-Encoding");
    f = consent_request_flow(r, conf, 1);
    if (f->step == CONSENT_FLOW_READ_BODY) {
        return check(r, st, f);
    }
    if (f->step == CONSENT_FLOW_ANSWER) {
        rc = consent_send_answer(r, f);
        return rc == OK ? DONE : rc;
    }
    return DECLINED;
}

void consent_guard_restore_request(request_rec *r)
{
    guard_state *st = state_of(r, 0);

    if (st && st->accept_encoding) {
        apr_table_setn(r->headers_in, "Accept-Encoding",
                       st->accept_encoding);
    }
}

void consent_guard_register_post(apr_pool_t *p)
{
    keep_filter = ap_register_input_filter(KEEP_FILTER, keep_body, NULL,
                                           AP_FTYPE_RESOURCE);
    replay_filter = ap_register_input_filter(REPLAY_FILTER, replay_body,
                                             NULL, AP_FTYPE_RESOURCE);
    /* last: after mod_rewrite and mod_proxy have placed the request, just
     * before its handler */
    ap_hook_fixups(guard_fixups, NULL, NULL, APR_HOOK_LAST);
}
