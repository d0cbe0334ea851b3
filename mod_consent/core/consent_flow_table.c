/*
 * The flow's request and answer headers when a server keeps them in an
 * APR table (httpd does), and a location's directive values copied into
 * the flow's configuration (consent_flow.h).
 */
#include <apr_strings.h>
#include <apr_tables.h>

#include "consent_flow.h"

void consent_flow_edit_page_headers(apr_table_t *h)
{
    apr_table_unset(h, "Content-Length");
    apr_table_unset(h, "ETag");
    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_mergen(h, "Vary", "Accept-Language");
}

void consent_location_values(consent_flow_conf_t *fc,
                             const consent_location_values_t *v)
{
    fc->default_lang = v->default_lang;
    fc->lifetime = v->lifetime;
    fc->max_body = v->max_body;
    fc->success_url = v->success_url;
    fc->confirm_email = v->confirm_email;
    fc->confirm_lifetime = v->confirm_lifetime;
    fc->guard_fix = v->guard_fix;
}

void consent_flow_request_headers(consent_flow_request_t *req,
                                  const apr_table_t *headers)
{
    const char *cl = apr_table_get(headers, "Content-Length");
    apr_off_t n;

    req->content_type = apr_table_get(headers, "Content-Type");
    req->content_length = -1;
    if (cl) {
        req->content_length = apr_strtoff(&n, cl, NULL, 10) == APR_SUCCESS
                              && n >= 0 ? n : APR_INT64_MAX;
    }
    req->chunked = apr_table_get(headers, "Transfer-Encoding") != NULL;
    req->if_none_match = apr_table_get(headers, "If-None-Match");
    req->accept_language = apr_table_get(headers, "Accept-Language");
    req->user_agent = apr_table_get(headers, "User-Agent");
}

static int collect_receipt(void *rec, const char *key, const char *value)
{
    (void)value;
    if (consent_flow_is_receipt_header(key)) {
        *(const char **)apr_array_push(rec) = key;
    }
    return 1;
}

void consent_flow_strip_receipts(apr_table_t *h, apr_pool_t *p)
{
    apr_array_header_t *keys = apr_array_make(p, 2, sizeof(const char *));
    int i;

    /* collected first: apr_table_do must not see the table change */
    apr_table_do(collect_receipt, keys, h, NULL);
    for (i = 0; i < keys->nelts; ++i) {
        apr_table_unset(h, APR_ARRAY_IDX(keys, i, const char *));
    }
}
