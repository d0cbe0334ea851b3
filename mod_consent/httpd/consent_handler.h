/* Response helpers shared by the adapter's handlers. */
#ifndef CONSENT_HANDLER_H
#define CONSENT_HANDLER_H

#include "mod_consent.h"
#include "consent_proof.h"

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
apr_status_t consent_issue_form_token(request_rec *r,
                                      const consent_dir_conf *conf,
                                      const char *lang, const char **token);

/* The form page (status 200, or 400/403 with an error shown). */
int consent_send_form(request_rec *r, const consent_dir_conf *conf,
                      const char *lang, int status, const char *error_key,
                      apr_table_t *values);

/* A message page: title from "<key>.title", body from key. */
int consent_send_message(request_rec *r, const consent_dir_conf *conf,
                         const char *lang, int status, const char *key);

/* 200 after a stored submission. */
int consent_send_confirmation(request_rec *r, const consent_dir_conf *conf,
                              const consent_proof_t *proof);

/* POST at L. */
int consent_submit(request_rec *r, const consent_dir_conf *conf);

#endif
