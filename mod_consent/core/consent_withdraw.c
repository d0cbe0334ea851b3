/*
 * The withdrawal page's POST and the unsubscribe proof (see
 * consent_withdraw.h). A departure is a proof like any other: same
 * notice, same chain, same export.
 */
#include "consent_withdraw.h"
#include "consent_hex.h"

static consent_verdict_t *refuse(consent_verdict_t *v, const char *key,
                                 const char *detail)
{
    v->kind = CONSENT_VERDICT_BAD_INPUT;
    v->error_key = key;
    v->detail = detail;
    return v;
}

/* The withdraw_all box: absent, or once with the value the page sends. */
static const char *read_all(const apr_array_header_t *fs, int *all)
{
    const consent_field_value_t *f;
    int dup;

    f = consent_field_single(fs, CONSENT_WITHDRAW_ALL_FIELD, &dup);
    *all = f != NULL;
    if (dup || (f && (!consent_value_is_clean(f, 8)
                      || strcmp(f->value, "1") != 0))) {
        return "error.bad_input";
    }
    return NULL;
}

/* Ticked boxes by purpose index; an unknown or repeated one is refused. */
static const char *read_boxes(const consent_form_t *form,
                              const apr_array_header_t *fs, char *chosen,
                              int *count)
{
    int i, idx;

    *count = 0;
    for (i = 0; i < fs->nelts; ++i) {
        const consent_field_value_t *f =
            &APR_ARRAY_IDX(fs, i, consent_field_value_t);

        if (strcmp(f->name, CONSENT_WITHDRAW_FIELD) != 0) {
            continue;
        }
        idx = consent_value_is_clean(f, 255)
              ? consent_form_purpose_index(form, f->value) : -1;
        if (idx < 0) {
            return "error.unknown_purpose";
        }
        if (chosen[idx]) {
            return "error.bad_input";
        }
        chosen[idx] = 1;
        ++*count;
    }
    return NULL;
}

/* What every departure proof holds besides its purposes. */
static consent_proof_t *departure(const consent_form_t *form,
                                  const char *event, const char *subject,
                                  const char *lang,
                                  const consent_request_info_t *in,
                                  apr_pool_t *p)
{
    consent_proof_t *pr = consent_request_proof(form, event, lang, in, p);

    pr->subject = subject;
    return pr;
}

static consent_proof_t *withdrawal_proof(const consent_form_t *form,
                                         const consent_verdict_t *v,
                                         const char *chosen, int all,
                                         const consent_request_info_t *in,
                                         apr_pool_t *p)
{
    const char *state = consent_departure_state(form->regime_name);
    const char *subject = consent_subject_canonical(
        form, apr_table_get(v->values, form->subject->name), p);
    consent_proof_t *pr = departure(form, CONSENT_EVENT_WITHDRAWAL, subject,
                                    v->lang, in, p);
    int i;

    for (i = 0; i < form->purposes->nelts; ++i) {
        if (all || chosen[i]) {
            consent_proof_add_choice(pr, APR_ARRAY_IDX(
                form->purposes, i, const consent_purpose_t *)->id, state);
        }
    }
    pr->token_nonce = consent_hex(p, v->facts.nonce, CONSENT_NONCE_LEN);
    pr->token_issued = v->facts.issued;
    pr->token_key_id = consent_hex(p, v->facts.key_id, CONSENT_KEY_ID_LEN);
    pr->token_defaults = v->facts.defaults;
    return pr;
}

/* The subject is what the page is about: required even when the form
 * itself lets it be empty. */
static const char *check_subject(const consent_form_t *form,
                                 const apr_array_header_t *fs,
                                 consent_verdict_t *v, apr_pool_t *p)
{
    const char *err;

    if (form->subject == NULL) {
        return "error.bad_input";
    }
    err = consent_check_field(form->subject, fs, v, p);
    if (!err && !*apr_table_get(v->values, form->subject->name)) {
        err = "error.missing_field";
    }
    return err;
}

consent_verdict_t *consent_withdrawal_check(const consent_form_t *form,
                                            const consent_keyring_t *ring,
                                            const apr_array_header_t *fs,
                                            const consent_request_info_t *in,
                                            apr_pool_t *p)
{
    consent_verdict_t *v = apr_pcalloc(p, sizeof *v);
    char *chosen = apr_pcalloc(p, form->purposes->nelts + 1);
    const char *err;
    int all = 0, count = 0;

    v->values = apr_table_make(p, 2);
    if (consent_check_names(fs, v, p)->kind != CONSENT_VERDICT_OK
        || consent_check_token(form, CONSENT_PAGE_WITHDRAW, ring, fs, in,
                               v, p)->kind
        != CONSENT_VERDICT_OK) {
        return v;
    }
    if ((err = check_subject(form, fs, v, p)) != NULL) {
        return refuse(v, err, apr_psprintf(p, "withdrawal: subject: %s",
                                           err));
    }
    if ((err = read_all(fs, &all)) != NULL
        || (err = read_boxes(form, fs, chosen, &count)) != NULL) {
        return refuse(v, err, apr_psprintf(p, "withdrawal: boxes: %s",
                                           err));
    }
    if (!all && count == 0) {
        return refuse(v, "error.nothing_selected",
                      "withdrawal: nothing selected");
    }
    v->proof = withdrawal_proof(form, v, chosen, all, in, p);
    v->detail = NULL;
    return v;
}

/* Still reachable by a mailer: no decision yet, or one allowing mail,
 * or one waiting for its confirmation (leaving cancels it). */
static int still_open(const consent_status_t *status, const char *purpose)
{
    const consent_purpose_state_t *s = consent_status_get(status, purpose);

    return s == NULL || consent_state_allows_mail(s->state)
           || strcmp(s->state, CONSENT_STATE_PENDING) == 0;
}

consent_proof_t *consent_unsubscribe_proof(const consent_form_t *form,
                                           const char *subject,
                                           const apr_array_header_t *named,
                                           const consent_status_t *status,
                                           const char *lang,
                                           const consent_request_info_t *in,
                                           apr_pool_t *p)
{
    const char *state = consent_departure_state(form->regime_name);
    consent_proof_t *pr = departure(form, CONSENT_EVENT_UNSUBSCRIBE,
                                    subject, lang, in, p);
    int i, n = named && named->nelts ? named->nelts
                                     : form->purposes->nelts;

    for (i = 0; i < n; ++i) {
        const char *id = named && named->nelts
            ? APR_ARRAY_IDX(named, i, const char *)
            : APR_ARRAY_IDX(form->purposes, i, const consent_purpose_t *)->id;

        if (still_open(status, id)) {
            consent_proof_add_choice(pr, id, state);
        }
    }
    return pr->choices->nelts ? pr : NULL;
}
