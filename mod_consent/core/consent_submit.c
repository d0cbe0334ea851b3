#include <apr_lib.h>

#include "consent_submit.h"
#include "consent_utf8.h"
#include "consent_notice.h"
#include "consent_hex.h"
#include "consent_status.h"

#define MAX_TEXT 1000
#define MAX_EMAIL 254

consent_verdict_kind_t consent_verdict_for_token(consent_token_status_t st,
                                                 const char **error_key)
{
    switch (st) {
    case CONSENT_TOKEN_OK:
        *error_key = NULL;
        return CONSENT_VERDICT_OK;
    case CONSENT_TOKEN_EXPIRED:
    case CONSENT_TOKEN_STALE_FORM:
    case CONSENT_TOKEN_FUTURE:
    case CONSENT_TOKEN_OLD_FORMAT:
        /* an honest person with an old page: give them a fresh one */
        *error_key = "error.expired";
        return CONSENT_VERDICT_EXPIRED;
    default:
        *error_key = "error.forbidden";
        return CONSENT_VERDICT_FORBIDDEN;
    }
}

int consent_value_is_clean(const consent_field_value_t *f,
                           apr_size_t max_len)
{
    return f->len == strlen(f->value) && f->len <= max_len
           && consent_utf8_valid(f->value, f->len);
}

const char *consent_fields_problem(const apr_array_header_t *fs,
                                   apr_pool_t *p)
{
    int i;

    for (i = 0; i < fs->nelts; ++i) {
        const consent_field_value_t *f =
            &APR_ARRAY_IDX(fs, i, consent_field_value_t);

        if (f->bad_name || !consent_utf8_valid(f->name, strlen(f->name))) {
            return apr_psprintf(p, "field %d: a name with a NUL byte or "
                                "invalid UTF-8", i + 1);
        }
    }
    return NULL;
}

static int is_email(const char *v)
{
    const char *at = strchr(v, '@');
    const char *c;

    if (!at || at == v || strchr(at + 1, '@') || !strchr(at + 1, '.')
        || at[1] == '.' || v[strlen(v) - 1] == '.'
        || strlen(v) > MAX_EMAIL) {
        return 0;
    }
    for (c = v; *c; ++c) {
        if ((unsigned char)*c <= ' ' || strchr("<>()[]\\,;:\"", *c)) {
            return 0;
        }
    }
    return 1;
}

static int is_tel(const char *v)
{
    int digits = 0;

    for (; *v; ++v) {
        if (apr_isdigit(*v)) {
            ++digits;
        }
        else if (!strchr("+-. ()", *v)) {
            return 0;
        }
    }
    return digits >= 3 && digits <= 20;
}

static consent_verdict_t *verdict(consent_verdict_t *v,
                                  consent_verdict_kind_t kind,
                                  const char *key, const char *detail)
{
    v->kind = kind;
    v->error_key = key;
    v->detail = detail;
    return v;
}

/* Leading and trailing white space is never part of what was meant. */
static const char *trimmed(apr_pool_t *p, const char *v)
{
    apr_size_t n;

    while (apr_isspace(*v)) {
        ++v;
    }
    n = strlen(v);
    while (n > 0 && apr_isspace(v[n - 1])) {
        --n;
    }
    return apr_pstrmemdup(p, v, n);
}

static const char *check_field(const consent_field_t *def, const char *v)
{
    if (!*v) {
        return def->required ? "error.missing_field" : NULL;
    }
    if (strcmp(def->type, "email") == 0 && !is_email(v)) {
        return "error.invalid_field";
    }
    if (strcmp(def->type, "tel") == 0 && !is_tel(v)) {
        return "error.invalid_field";
    }
    /* who a proof is about: one spelling only (consent_utf8.h) */
    if ((def->subject || strcmp(def->type, "email") == 0)
        && consent_subject_problem(v)) {
        return "error.invalid_field";
    }
    return consent_text_single_line(v) ? NULL : "error.invalid_field";
}

const consent_field_value_t *consent_field_single(
    const apr_array_header_t *fs, const char *name, int *dup)
{
    const consent_field_value_t *found = NULL;
    int i;

    *dup = 0;
    for (i = 0; i < fs->nelts; ++i) {
        const consent_field_value_t *f =
            &APR_ARRAY_IDX(fs, i, consent_field_value_t);
        if (strcmp(f->name, name) == 0) {
            *dup = found != NULL;
            if (*dup) {
                return NULL;
            }
            found = f;
        }
    }
    return found;
}

const char *consent_check_field(const consent_field_t *def,
                                const apr_array_header_t *fs,
                                consent_verdict_t *v, apr_pool_t *p)
{
    const consent_field_value_t *f;
    const char *val, *err;
    int dup;

    f = consent_field_single(fs, def->name, &dup);
    if (dup) {
        err = "error.bad_input";
    }
    else if (f && !consent_value_is_clean(f, MAX_TEXT)) {
        err = "error.invalid_field";
    }
    else {
        val = f ? trimmed(p, f->value) : "";
        err = check_field(def, val);
        if (!err) {
            apr_table_setn(v->values, def->name, val);
        }
    }
    return err;
}

/* Personal fields: kept for re-display when valid, checked in order. */
static const char *check_fields(const consent_form_t *form,
                                const apr_array_header_t *fs,
                                consent_verdict_t *v, apr_pool_t *p)
{
    const char *first_error = NULL, *err;
    int i;

    for (i = 0; i < form->fields->nelts; ++i) {
        const consent_field_t *def =
            APR_ARRAY_IDX(form->fields, i, const consent_field_t *);

        err = consent_check_field(def, fs, v, p);
        if (err && !first_error) {
            first_error = err;
            v->detail = apr_psprintf(p, "field %s: %s", def->name, err);
        }
    }
    return first_error;
}

/* Ticked boxes by purpose index; error key on anything unexpected. */
static const char *read_ticks(const consent_form_t *form,
                              const apr_array_header_t *fs, char *ticked,
                              consent_verdict_t *v, apr_pool_t *p)
{
    int i, idx;

    for (i = 0; i < fs->nelts; ++i) {
        const consent_field_value_t *f =
            &APR_ARRAY_IDX(fs, i, consent_field_value_t);
        if (strcmp(f->name, CONSENT_PURPOSE_FIELD) != 0) {
            continue;
        }
        idx = consent_value_is_clean(f, 255)
              ? consent_form_purpose_index(form, f->value) : -1;
        if (idx < 0 || ticked[idx]) {
            v->detail = apr_psprintf(p, "%s purpose in consent=",
                                     idx < 0 ? "unknown" : "duplicate");
            return idx < 0 ? "error.unknown_purpose" : "error.bad_input";
        }
        ticked[idx] = 1;
    }
    return NULL;
}

/* Addresses are matched case-insensitively by later withdrawals: the
 * one rule of consent_subject_normalise(), shared with consentctl. */
const char *consent_subject_canonical(const consent_form_t *form,
                                      const char *value, apr_pool_t *p)
{
    if (!form->subject) {
        return NULL;
    }
    return consent_subject_normalise(p, value);
}

/*
 * Opt-in (R8): a ticked box gives consent and silence is refusal (R2).
 * Soft opt-in and b2b (R9, R10): the box is an objection; unticked means
 * the person did not object, which is not a consent either.
 */
static const char *choice_state(const consent_form_t *form, int ticked)
{
    if (form->regime == CONSENT_REGIME_OPT_IN) {
        return ticked ? CONSENT_STATE_GIVEN : CONSENT_STATE_REFUSED;
    }
    return ticked ? CONSENT_STATE_OBJECTED : CONSENT_STATE_NOT_OBJECTED;
}

consent_proof_t *consent_request_proof(const consent_form_t *form,
                                       const char *event, const char *lang,
                                       const consent_request_info_t *in,
                                       apr_pool_t *p)
{
    consent_proof_t *pr = consent_proof_make(p, event);
    const consent_notice_t *notice = consent_notice_get(form, lang);

    pr->time = in->now;
    pr->ip = in->ip;
    pr->user_agent = in->user_agent ? in->user_agent : "";
    pr->form_id = form->id;
    pr->form_version = form->version;
    pr->lang = lang;
    pr->regime = form->regime_name;
    pr->notice_sha256 = notice ? notice->sha256_hex : NULL;
    pr->notice_text = notice ? notice->text : NULL;
    return pr;
}

static consent_proof_t *build_proof(const consent_form_t *form,
                                    const consent_verdict_t *v,
                                    const char *ticked,
                                    const consent_request_info_t *in,
                                    apr_pool_t *p)
{
    consent_proof_t *pr = consent_request_proof(form,
                                                CONSENT_EVENT_SUBMISSION,
                                                v->lang, in, p);
    int i;

    pr->subject = form->subject ? consent_subject_canonical(
        form, apr_table_get(v->values, form->subject->name), p) : NULL;
    for (i = 0; i < form->purposes->nelts; ++i) {
        const consent_purpose_t *pu =
            APR_ARRAY_IDX(form->purposes, i, const consent_purpose_t *);
        consent_proof_add_choice(pr, pu->id, choice_state(form, ticked[i]));
    }
    pr->token_nonce = consent_hex(p, v->facts.nonce, CONSENT_NONCE_LEN);
    pr->token_issued = v->facts.issued;
    pr->token_key_id = consent_hex(p, v->facts.key_id, CONSENT_KEY_ID_LEN);
    pr->token_defaults = v->facts.defaults;
    return pr;
}

consent_verdict_t *consent_check_names(const apr_array_header_t *fs,
                                       consent_verdict_t *v, apr_pool_t *p)
{
    const char *why = consent_fields_problem(fs, p);

    if (why) {
        /* the token's language is unknown yet: v->lang stays NULL */
        return verdict(v, CONSENT_VERDICT_BAD_INPUT, "error.bad_input",
                       why);
    }
    v->kind = CONSENT_VERDICT_OK;
    return v;
}

consent_verdict_t *consent_check_token(const consent_form_t *form, int page,
                                       const consent_keyring_t *ring,
                                       const apr_array_header_t *fs,
                                       const consent_request_info_t *in,
                                       consent_verdict_t *v, apr_pool_t *p)
{
    const consent_field_value_t *tok;
    consent_token_status_t st;
    const char *key;
    int dup;

    tok = consent_field_single(fs, CONSENT_TOKEN_FIELD, &dup);
    if (dup) {
        return verdict(v, CONSENT_VERDICT_BAD_INPUT, "error.bad_input",
                       "two consent_token fields");
    }
    st = consent_token_verify_page(&v->facts, ring,
                                   tok && consent_value_is_clean(tok, 4096)
                                   ? tok->value : "", form, page, in->now,
                                   in->lifetime, p);
    if (tok && st == CONSENT_TOKEN_MISSING) {
        st = CONSENT_TOKEN_MALFORMED;
    }
    v->kind = consent_verdict_for_token(st, &key);
    v->error_key = key;
    v->detail = apr_pstrcat(p, "render token: ",
                            consent_token_status_str(st), NULL);
    if (v->kind == CONSENT_VERDICT_OK) {
        v->lang = v->facts.lang;
        if (strchr(v->facts.defaults, CONSENT_BOX_TICKED)) {
            return verdict(v, CONSENT_VERDICT_PRETICKED, "error.preticked",
                           "a box was rendered ticked by default");
        }
    }
    return v;
}

consent_verdict_t *consent_submission_check(const consent_form_t *form,
                                            const consent_keyring_t *ring,
                                            const apr_array_header_t *fs,
                                            const consent_request_info_t *in,
                                            apr_pool_t *p)
{
    consent_verdict_t *v = apr_pcalloc(p, sizeof *v);
    char *ticked = apr_pcalloc(p, form->purposes->nelts + 1);
    const char *err;

    v->values = apr_table_make(p, form->fields->nelts + 1);
    if (consent_check_names(fs, v, p)->kind != CONSENT_VERDICT_OK
        || consent_check_token(form, in->page == CONSENT_PAGE_GUARD
                                     ? CONSENT_PAGE_GUARD
                                     : CONSENT_PAGE_FORM,
                               ring, fs, in, v, p)->kind
        != CONSENT_VERDICT_OK) {
        return v;
    }
    err = check_fields(form, fs, v, p);
    if (!err) {
        err = read_ticks(form, fs, ticked, v, p);
    }
    if (err) {
        return verdict(v, CONSENT_VERDICT_BAD_INPUT, err, v->detail);
    }
    v->proof = build_proof(form, v, ticked, in, p);
    v->detail = NULL;
    return v;
}
