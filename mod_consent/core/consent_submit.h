/*
 * Submission validation, pure: the fields of a POST, the signed render
 * token and the form in; a verdict and, when valid, the proof to store out.
 * No I/O, so the Apache adapter, the nginx adapter, guard mode, the unit
 * tests and the fuzzers share it.
 */
#ifndef CONSENT_SUBMIT_H
#define CONSENT_SUBMIT_H

#include "consent_form.h"
#include "consent_token.h"
#include "consent_proof.h"

#define CONSENT_TOKEN_FIELD "consent_token"
#define CONSENT_PURPOSE_FIELD "consent"

/* One decoded form field; len is the decoded length (a %00 shows as
 * len > strlen(value)). bad_name: the name held a NUL or invalid UTF-8
 * (name is then cut and must not count as any field). */
typedef struct {
    const char *name;
    const char *value;
    apr_size_t len;
    int bad_name;
} consent_field_value_t;

/* What the server knows about the request. */
typedef struct {
    const char *ip;
    const char *user_agent;
    apr_time_t now;
    apr_interval_time_t lifetime;
    int page;   /* CONSENT_PAGE_GUARD for a guarded application's form;
                   the form's otherwise (the withdrawal check sets its
                   own) */
} consent_request_info_t;

/*
 * A proof of event made by this request, for form in lang: when, from
 * where (ip, user agent), the form and its version, its regime and the
 * notice shown in lang (digest and text; none when the form has none in
 * lang). Every event's proof starts so; the caller adds the subject, the
 * choices and the token.
 */
consent_proof_t *consent_request_proof(const consent_form_t *form,
                                       const char *event, const char *lang,
                                       const consent_request_info_t *in,
                                       apr_pool_t *p);

typedef enum {
    CONSENT_VERDICT_OK = 0,     /* store verdict->proof */
    CONSENT_VERDICT_BAD_INPUT,  /* 400: show the form again with error */
    CONSENT_VERDICT_FORBIDDEN,  /* 403: no, forged, unknown-key token */
    CONSENT_VERDICT_EXPIRED,    /* 403 with a fresh form to submit again */
    CONSENT_VERDICT_PRETICKED   /* 422: a box was rendered ticked (R1) */
} consent_verdict_kind_t;

typedef struct {
    consent_verdict_kind_t kind;
    const char *error_key;      /* i18n key for the person */
    const char *detail;         /* for the error log, never a secret */
    const char *lang;           /* the token's language when known */
    apr_table_t *values;        /* field values to show again (400) */
    consent_token_facts_t facts;
    consent_proof_t *proof;     /* set when kind == CONSENT_VERDICT_OK */
} consent_verdict_t;

consent_verdict_t *consent_submission_check(const consent_form_t *form,
                                            const consent_keyring_t *ring,
                                            const apr_array_header_t *fields,
                                            const consent_request_info_t *in,
                                            apr_pool_t *p);

/* The token check alone (guard mode shares it). */
consent_verdict_kind_t consent_verdict_for_token(consent_token_status_t st,
                                                 const char **error_key);

/* Structural checks of a field value: no NUL, valid UTF-8 (strict,
 * consent_utf8.c), bounded. */
int consent_value_is_clean(const consent_field_value_t *f,
                           apr_size_t max_len);

/* Structural checks of every field's name: NULL when all are clean, else
 * what is wrong (for the log). Every page checks this first. */
const char *consent_fields_problem(const apr_array_header_t *fs,
                                   apr_pool_t *p);

/* The pieces of a submission check that the withdrawal page shares
 * (consent_withdraw.c). */

/* consent_fields_problem() as a verdict: 400 when a name is bad. */
consent_verdict_t *consent_check_names(const apr_array_header_t *fs,
                                       consent_verdict_t *v, apr_pool_t *p);

/* The signed render token, issued by a page of kind page (a
 * consent_page_kind_t): v->kind, error_key, facts and lang set. */
consent_verdict_t *consent_check_token(const consent_form_t *form, int page,
                                       const consent_keyring_t *ring,
                                       const apr_array_header_t *fs,
                                       const consent_request_info_t *in,
                                       consent_verdict_t *v, apr_pool_t *p);

/* The only field called name, NULL when absent; *dup set when repeated. */
const consent_field_value_t *consent_field_single(
    const apr_array_header_t *fs, const char *name, int *dup);

/* One personal field: NULL and its trimmed value kept in v->values, or
 * the i18n key of what is wrong. */
const char *consent_check_field(const consent_field_t *def,
                                const apr_array_header_t *fs,
                                consent_verdict_t *v, apr_pool_t *p);

/* The subject as stored: an email address lower-cased. */
const char *consent_subject_canonical(const consent_form_t *form,
                                      const char *value, apr_pool_t *p);

#endif
