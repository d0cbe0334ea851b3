/*
 * What every adapter does around the core, written once
 * (consent_adapter.h).
 */
#include <apr_atomic.h>
#include <apr_strings.h>

#include "consent_adapter.h"
#include "consent_store_setup.h"
#include "consent_writer.h"

apr_array_header_t *consent_problem_lines(const apr_array_header_t *problems,
                                          int id, const char *what,
                                          apr_pool_t *p)
{
    apr_array_header_t *lines = apr_array_make(p, problems->nelts + 1,
                                               sizeof(consent_log_line_t));
    int i;

    for (i = 0; i < problems->nelts; ++i) {
        consent_log_line_t *l = apr_array_push(lines);

        l->level = CONSENT_LOG_ERR;
        l->id = id;
        l->text = apr_pstrcat(p, what, ": ", consent_problem_str(
                              p, &APR_ARRAY_IDX(problems, i,
                                                consent_problem_t)), NULL);
    }
    return lines;
}

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

apr_status_t consent_writer_shared(struct consent_writer_t **w,
                                   apr_hash_t *started, const char *driver,
                                   const char *params, apr_pool_t *p)
{
    const char *key = apr_pstrcat(p, driver, "\n", params, NULL);
    apr_status_t rv;

    *w = apr_hash_get(started, key, APR_HASH_KEY_STRING);
    if (*w) {
        return APR_SUCCESS;
    }
    rv = consent_writer_start(w, driver, params,
                              consent_store_label(driver, params, p), p);
    if (rv == APR_SUCCESS) {
        apr_hash_set(started, key, APR_HASH_KEY_STRING, *w);
    }
    return rv;
}

apr_status_t consent_store_setup_start(const char *driver,
                                       const char *params, uid_t uid,
                                       gid_t gid, const char *who,
                                       apr_array_header_t *logs,
                                       const char **err, apr_pool_t *p)
{
    apr_status_t rv = consent_store_setup_schema(driver, params, p, err);

    if (rv == APR_SUCCESS) {
        consent_store_setup_owner(driver, params, uid, gid, who, logs, p);
    }
    return rv;
}

apr_status_t consent_store_setup_retry(volatile apr_uint32_t *ready,
                                       volatile apr_uint32_t *after,
                                       apr_uint32_t every_sec,
                                       const char *driver,
                                       const char *params, const char **err,
                                       apr_pool_t *p)
{
    apr_status_t rv;

    if (apr_atomic_read32(ready)
        || !consent_store_setup_retry_due(
               after, (apr_uint32_t)apr_time_sec(apr_time_now()),
               every_sec)) {
        return APR_SUCCESS;
    }
    rv = consent_store_setup_schema(driver, params, p, err);
    if (rv == APR_SUCCESS) {
        apr_atomic_set32(ready, 1);
    }
    return rv;
}
