/*
 * Guard mode, the submission half (see consent_guard.h): the application
 * names its fields as it likes; the definition says which of them are the
 * consent boxes (purpose@input) and which are personal data (field@name).
 * The POST is translated into the form mod_consent's own pages post, so
 * the same consent_submission_check() judges both.
 */
#include <apr_lib.h>

#include <stdlib.h>

#include "consent_guard.h"
#include "consent_token.h"

/* A field name for a log line: printable ASCII, the rest as \xNN. */
static const char *consent_guard_printable(const char *s, apr_pool_t *p)
{
    char *out = apr_palloc(p, strlen(s) * 4 + 1), *o = out;

    for (; *s && o - out < 200; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            *o++ = (char)c;
        }
        else {
            o += apr_snprintf(o, 5, "\\x%02x", c);
        }
    }
    *o = '\0';
    return out;
}

/*
 * A name as PHP files it in $_POST (main/php_variables.c): leading spaces
 * skipped, cut at a NUL, "." and " " as "_" up to the first "[", which
 * opens an array index when a "]" follows (the name then ends there) and
 * is itself "_" when none does; lower case on top, for the frameworks
 * that ignore it. Written to out (len + 1 bytes); returns its length.
 */
static apr_size_t backend_key(const char *s, apr_size_t len, char *out)
{
    apr_size_t i = 0, o = 0;
    int raw = 0;

    while (i < len && s[i] == ' ') {
        i++;
    }
    for (; i < len && s[i]; ++i) {
        char c = s[i];

        if (!raw && (c == ' ' || c == '.')) {
            c = '_';
        }
        else if (!raw && c == '[') {
            if (memchr(s + i, ']', len - i)) {
                break;
            }
            c = '_';
            raw = 1;
        }
        out[o++] = (char)apr_tolower(c);
    }
    out[o] = '\0';
    return o;
}

int consent_guard_input_of(const consent_form_t *form, const char *name,
                           apr_size_t len, int *exact)
{
    char *key = NULL, buf[128], ibuf[128];
    apr_size_t klen = 0;
    int i;

    *exact = 0;
    for (i = 0; i < form->purposes->nelts; ++i) {
        const consent_purpose_t *pu =
            APR_ARRAY_IDX(form->purposes, i, const consent_purpose_t *);
        apr_size_t n = pu->input ? strlen(pu->input) : 0;

        if (!pu->input) {
            continue;
        }
        if (n == len && memcmp(pu->input, name, len) == 0) {
            *exact = 1;
            return i;
        }
        if (n >= sizeof ibuf || len >= sizeof buf) {
            /* longer than any input name lint lets through, or than a
             * spelling of one needs: compared in full below */
            if (!key) {
                key = malloc(len + 1);
                if (!key) {
                    return i;   /* cannot tell: count it */
                }
                klen = backend_key(name, len, key);
            }
        }
        else if (!key) {
            key = buf;
            klen = backend_key(name, len, key);
        }
        {
            char *ik = n < sizeof ibuf ? ibuf : malloc(n + 1);
            int same;

            if (!ik) {
                return i;
            }
            same = backend_key(pu->input, n, ik) == klen
                   && memcmp(ik, key, klen) == 0;
            if (ik != ibuf) {
                free(ik);
            }
            if (same) {
                if (key != buf) {
                    free(key);
                }
                return i;
            }
        }
    }
    if (key && key != buf) {
        free(key);
    }
    return -1;
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

/* Which purposes came ticked: ticked[i] for purpose i, whatever the
 * value. Returns the first field that spells a guarded name otherwise
 * than the definition does, or NULL. */
static const consent_field_value_t *read_boxes(
    const consent_form_t *form, const apr_array_header_t *posted,
    char *ticked)
{
    int i, j, exact;

    for (i = 0; i < posted->nelts; ++i) {
        const consent_field_value_t *f =
            &APR_ARRAY_IDX(posted, i, consent_field_value_t);

        j = consent_guard_input_of(form, f->name, strlen(f->name), &exact);
        if (j >= 0 && !exact) {
            return f;
        }
        if (j >= 0) {
            ticked[j] = 1;
        }
    }
    return NULL;
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
    const consent_field_value_t *odd;
    consent_verdict_t *v;
    int i;

    /* a name cut at a NUL (or not UTF-8) must not tick a guarded box,
     * which the translation below would turn into a clean consent= */
    v = apr_pcalloc(p, sizeof *v);
    v->values = apr_table_make(p, 1);
    if (consent_check_names(posted, v, p)->kind != CONSENT_VERDICT_OK) {
        return v;
    }
    if ((odd = read_boxes(form, posted, ticked)) != NULL) {
        v->kind = CONSENT_VERDICT_BAD_INPUT;
        v->error_key = "error.bad_input";
        v->detail = apr_psprintf(p, "field \"%s\" is a guarded box's name "
                                 "spelled otherwise (a backend reads it as "
                                 "that box)", consent_guard_printable(
                                 odd->name, p));
        return v;
    }
    /* only a token the guard put in an application's page counts here */
    guarded.page = CONSENT_PAGE_GUARD;
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
