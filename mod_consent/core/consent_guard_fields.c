/*
 * Guard mode, the submission half (see consent_guard.h): the application
 * names its fields as it likes; the definition says which of them are the
 * consent boxes (purpose@input) and which are personal data (field@name).
 * The POST is translated into the form mod_consent's own pages post, so
 * the same consent_submission_check() judges both.
 */
#include <apr_lib.h>

#include "consent_guard.h"
#include "consent_token.h"

int consent_guard_value_ticks(const char *value, apr_size_t len)
{
    static const char *const no[] = { "0", "off", "false", "no", NULL };
    int i;

    if (len == 0) {
        return 0;
    }
    for (i = 0; no[i]; ++i) {
        if (len == strlen(no[i]) && strncasecmp(value, no[i], len) == 0) {
            return 0;
        }
    }
    return 1;
}

static int is_field(const consent_form_t *form, const char *name)
{
    int i;

    for (i = 0; i < form->fields->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(form->fields, i,
                                 const consent_field_t *)->name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Which purposes came ticked: ticked[i] for purpose i. */
static void read_boxes(const consent_form_t *form,
                       const apr_array_header_t *posted, char *ticked)
{
    int i, j;

    for (i = 0; i < posted->nelts; ++i) {
        const consent_field_value_t *f =
            &APR_ARRAY_IDX(posted, i, consent_field_value_t);
        for (j = 0; j < form->purposes->nelts; ++j) {
            const consent_purpose_t *pu =
                APR_ARRAY_IDX(form->purposes, j, const consent_purpose_t *);
            if (pu->input && strcmp(pu->input, f->name) == 0
                && consent_guard_value_ticks(f->value, f->len)) {
                ticked[j] = 1;
            }
        }
    }
}

/* The POST as mod_consent's own form would have sent it. */
static apr_array_header_t *translate(const consent_form_t *form,
                                     const apr_array_header_t *posted,
                                     const char *ticked, apr_pool_t *p)
{
    apr_array_header_t *fs = apr_array_make(p, form->fields->nelts + 4,
                                            sizeof(consent_field_value_t));
    consent_field_value_t *f;
    int i;

    for (i = 0; i < posted->nelts; ++i) {
        const consent_field_value_t *in =
            &APR_ARRAY_IDX(posted, i, consent_field_value_t);
        /* every copy: a repeated token or field stays a 400 */
        if (strcmp(in->name, CONSENT_TOKEN_FIELD) == 0
            || is_field(form, in->name)) {
            *(consent_field_value_t *)apr_array_push(fs) = *in;
        }
    }
    for (i = 0; i < form->purposes->nelts; ++i) {
        if (ticked[i]) {
            f = apr_array_push(fs);
            f->name = CONSENT_PURPOSE_FIELD;
            f->value = APR_ARRAY_IDX(form->purposes, i,
                                     const consent_purpose_t *)->id;
            f->len = strlen(f->value);
        }
    }
    return fs;
}

consent_verdict_t *consent_guard_check(const consent_form_t *form,
                                       const consent_keyring_t *ring,
                                       const apr_array_header_t *posted,
                                       const consent_request_info_t *in,
                                       apr_pool_t *p)
{
    char *ticked = apr_pcalloc(p, form->purposes->nelts + 1);
    consent_request_info_t guarded = *in;
    consent_verdict_t *v;
    int i;

    /* a name cut at a NUL (or not UTF-8) must not tick a guarded box,
     * which the translation below would turn into a clean consent= */
    v = apr_pcalloc(p, sizeof *v);
    v->values = apr_table_make(p, 1);
    if (consent_check_names(posted, v, p)->kind != CONSENT_VERDICT_OK) {
        return v;
    }
    /* only a token the guard put in an application's page counts here */
    guarded.page = CONSENT_PAGE_GUARD;
    read_boxes(form, posted, ticked);
    v = consent_submission_check(form, ring, translate(form, posted, ticked,
                                                       p), &guarded, p);
    if (v->kind != CONSENT_VERDICT_OK) {
        return v;
    }
    /* a box the page did not show cannot have been ticked by a person */
    for (i = 0; i < form->purposes->nelts; ++i) {
        if (ticked[i] && v->facts.defaults[i] == CONSENT_BOX_ABSENT) {
            v->kind = CONSENT_VERDICT_BAD_INPUT;
            v->error_key = "error.unknown_purpose";
            v->detail = apr_psprintf(p, "box of purpose %s ticked but not "
                                     "on the page", APR_ARRAY_IDX(
                                     form->purposes, i,
                                     const consent_purpose_t *)->id);
            v->proof = NULL;
            return v;
        }
    }
    return v;
}

/* Printable ASCII without what would need quoting or escaping anywhere. */
static int is_plain_name(const char *s)
{
    for (; *s; ++s) {
        if (*s <= ' ' || *s > '~' || strchr("\"'<>&=", *s)) {
            return 0;
        }
    }
    return 1;
}

static int lint_input(const consent_form_t *form, int i,
                      apr_array_header_t *problems)
{
    const consent_purpose_t *pu =
        APR_ARRAY_IDX(form->purposes, i, const consent_purpose_t *);
    const char *why = NULL;
    int j;

    if (!pu->input) {
        why = "has no input=\"...\": guard mode needs the name of the "
              "application's checkbox for each purpose";
    }
    else if (!is_plain_name(pu->input)) {
        why = "has an input name that is not printable ASCII without "
              "quotes, <, >, & or =";
    }
    else if (strcmp(pu->input, CONSENT_TOKEN_FIELD) == 0
             || is_field(form, pu->input)) {
        why = "has an input name that is also a field or consent_token";
    }
    for (j = 0; !why && j < i; ++j) {
        const consent_purpose_t *o =
            APR_ARRAY_IDX(form->purposes, j, const consent_purpose_t *);
        if (o->input && strcmp(o->input, pu->input) == 0) {
            why = "shares its input with another purpose (R3: one box "
                  "per purpose)";
        }
    }
    if (why) {
        consent_problem_add(problems, form->file, pu->line, "guard",
                            "purpose \"%s\" %s", pu->id, why);
    }
    return why != NULL;
}

int consent_guard_lint(const consent_form_t *form,
                       apr_array_header_t *problems)
{
    int i, n = 0;

    for (i = 0; i < form->purposes->nelts; ++i) {
        n += lint_input(form, i, problems);
    }
    return n;
}
