/* Response helpers shared by the adapter's handlers. */
#ifndef CONSENT_HANDLER_H
#define CONSENT_HANDLER_H

#include "mod_consent.h"
#include "consent_proof.h"
#include "consent_submit.h"

typedef struct {
    request_rec *r;
    apr_bucket_brigade *bb;
    consent_write_fn *write;    /* appends to bb */
} consent_page_t;

consent_page_t *consent_page_make(request_rec *r);
int consent_page_send(consent_page_t *pg, apr_status_t rendered);
void consent_page_headers(request_rec *r, const char *lang);

const char *consent_request_lang(request_rec *r,
                                 const consent_dir_conf *conf);
/* What the core's checks know of r: every field set, page one of
 * consent_page_kind_t (CONSENT_PAGE_NONE where no render token counts). */
consent_request_info_t consent_request_info(request_rec *r,
                                            const consent_dir_conf *conf,
                                            int page);
apr_status_t consent_issue_form_token(request_rec *r,
                                      const consent_dir_conf *conf,
                                      const char *lang, const char **token);
/* A token for a form whose boxes rendered as defaults says (guard mode:
 * what the application's page showed). */
apr_status_t consent_issue_token(request_rec *r,
                                 const consent_dir_conf *conf,
                                 const char *lang, const char *defaults,
                                 const char **token);

/* The form page (status 200, or 400/403 with an error shown). */
int consent_send_form(request_rec *r, const consent_dir_conf *conf,
                      const char *lang, int status, const char *error_key,
                      apr_table_t *values);

/* A page carrying a fresh render token (the form, the withdrawal page),
 * with an error and the values to show again. */
int consent_send_signed(request_rec *r, const consent_dir_conf *conf,
                        const char *lang, int status, const char *error_key,
                        apr_table_t *values, consent_render_signed_fn *render);

/* What a refused submission gets (400, 403, 422), the page to show again
 * rendered by render. */
int consent_answer_refusal(request_rec *r, const consent_dir_conf *conf,
                           const consent_verdict_t *v, const char *lang,
                           consent_render_signed_fn *render);

/* A message page: title from "<key>.title", body from key. */
int consent_send_message(request_rec *r, const consent_dir_conf *conf,
                         const char *lang, int status, const char *key);

/* A page done (a withdrawal, an unsubscription, a confirmation): title
 * from "<key>.title", body from key, and receipt (which may be an
 * earlier one) in Consent-Receipt when not NULL. */
int consent_send_done(request_rec *r, const consent_dir_conf *conf,
                      const char *lang, int status, const char *key,
                      const char *receipt);

/* 200 after a stored submission. */
int consent_send_confirmation(request_rec *r, const consent_dir_conf *conf,
                              const consent_proof_t *proof);

/* POST at L. */
int consent_submit(request_rec *r, const consent_dir_conf *conf);

/* Shared by every POST (consent_post.c). The urlencoded body, bounded:
 * OK with *fields set, or *fields NULL and the answer already sent
 * (413, 415, 400) whose handler result is returned. */
int consent_read_body(request_rec *r, const consent_dir_conf *conf,
                      const char *lang, apr_array_header_t **fields);

/* 503 with Retry-After. */
int consent_send_unavailable(request_rec *r, const consent_dir_conf *conf,
                             const char *lang);

/* Stores proof (on store, or the request's when NULL): 1 when stored;
 * else 0 and the 409 or 503 answer was sent, its result in *rc. */
int consent_record_proof(request_rec *r, const consent_dir_conf *conf,
                         consent_store_t *store, consent_proof_t *proof,
                         int *rc);

/* L/withdraw and L/unsubscribe (consent_withdraw.c). */
int consent_withdraw_page(request_rec *r, const consent_dir_conf *conf);
int consent_unsubscribe_page(request_rec *r, const consent_dir_conf *conf);

/* Double opt-in (consent_confirm.c): a valid submission whose choices
 * were held (consent_confirm_hold) is stored, then the message sent; and
 * the page L/confirm. */
int consent_confirm_submit(request_rec *r, const consent_dir_conf *conf,
                           const consent_verdict_t *v);
int consent_confirm_page(request_rec *r, const consent_dir_conf *conf);

#endif
