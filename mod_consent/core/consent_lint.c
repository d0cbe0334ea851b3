/*
 * The rules of LEGAL.md that a form definition can break, checked on the
 * loaded model. The schema lets these through on purpose, so that each
 * refusal here names its rule and the line of the element to fix.
 */
#include <apr_lib.h>
#include <apr_uri.h>

#include "consent_lint.h"

typedef struct {
    const consent_form_t *form;
    apr_array_header_t *problems;
    apr_pool_t *p;              /* scratch, destroyed when lint returns */
    int count;
} lint_t;

static void report(lint_t *l, int line, const char *rule, const char *msg)
{
    consent_problem_add(l->problems, l->form->file, line, rule, "%s", msg);
    l->count++;
}

static int has_text(const char *s)
{
    return s != NULL && *s != '\0';
}

/* ---- R1, R4: the box itself ----------------------------------------- */

/* Values that spell "ticked"; anything else only gets "not allowed". */
static int means_ticked(const char *v)
{
    static const char *const ticked[] = {
        "checked", "true", "on", "yes", "1", "ticked", "selected", NULL
    };
    int i;

    for (i = 0; ticked[i] != NULL; i++) {
        if (strcasecmp(v, ticked[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void lint_box(lint_t *l, const consent_purpose_t *pp)
{
    const char *v = pp->default_attr;

    if (v != NULL && strcmp(v, "unchecked") != 0) {
        report(l, pp->line, "R1", means_ticked(v)
            ? apr_psprintf(l->p, "purpose \"%s\" is ticked by default "
                           "(default=\"%s\"): a pre-ticked box is not "
                           "consent (Planet49)", pp->id, v)
            : apr_psprintf(l->p, "purpose \"%s\" has default=\"%s\": only "
                           "default=\"unchecked\" is allowed, a pre-ticked "
                           "box is not consent (Planet49)", pp->id, v));
    }
    /* In HTML a checked attribute ticks the box whatever its value. */
    if (pp->checked_attr != NULL) {
        report(l, pp->line, "R1",
               apr_psprintf(l->p, "purpose \"%s\" has a checked attribute "
                            "(checked=\"%s\"): a pre-ticked box is not "
                            "consent (Planet49); remove it, every box "
                            "renders unticked", pp->id, pp->checked_attr));
    }
    if (pp->required_attr != NULL && strcmp(pp->required_attr, "false")) {
        report(l, pp->line, "R4",
               apr_psprintf(l->p, "purpose \"%s\" is required "
                            "(required=\"%s\"): consent cannot be a "
                            "condition of the service, the form must "
                            "submit with every box unticked", pp->id,
                            pp->required_attr));
    }
}

/* ---- R3: one box per purpose, not the terms of sale ------------------ */

static int is_word_char(char c)
{
    /* Bytes of multi-byte UTF-8 count as letters: "conditionsé" is one
     * word. */
    return apr_isalnum(c) || (unsigned char)c >= 0x80;
}

/*
 * Finds word in s, ignoring ASCII case; with whole set, only where it
 * stands as a word of its own (labels are prose, "determs" is not terms).
 */
static int contains_word(const char *s, const char *word, int whole)
{
    apr_size_t n = strlen(word);
    const char *c;

    for (c = s; *c; c++) {
        if (strncasecmp(c, word, n) != 0) {
            continue;
        }
        if (!whole || ((c == s || !is_word_char(c[-1]))
                       && !is_word_char(c[n]))) {
            return 1;
        }
    }
    return 0;
}

/* "conditions générales" (CGV, CGU) is caught by "conditions". */
static const char *terms_word(const char *s, int whole)
{
    static const char *const words[] = {
        "terms", "conditions", "cgv", "cgu", NULL
    };
    int i;

    for (i = 0; s != NULL && words[i] != NULL; i++) {
        if (contains_word(s, words[i], whole)) {
            return words[i];
        }
    }
    return NULL;
}

static void lint_terms(lint_t *l, const consent_purpose_t *pp)
{
    const apr_array_header_t *langs = l->form->languages;
    const char *word = terms_word(pp->id, 0), *where = "id";
    int i;

    /* In the form's language order, so the message is reproducible. */
    for (i = 0; i < langs->nelts && word == NULL; i++) {
        const char *lang = APR_ARRAY_IDX(langs, i, const char *);

        word = terms_word(apr_hash_get(pp->labels, lang,
                                       APR_HASH_KEY_STRING), 1);
        where = apr_psprintf(l->p, "\"%s\" label", lang);
    }
    if (word != NULL) {
        report(l, pp->line, "R3",
               apr_psprintf(l->p, "purpose \"%s\" looks like an acceptance "
                            "of terms (\"%s\" in its %s): consent must be "
                            "separate from the terms of sale, which are not "
                            "a consent purpose", pp->id, word, where));
    }
}

/* Remembers each id's line in seen; reports the second use. */
static void lint_unique(lint_t *l, apr_hash_t *seen, const char *kind,
                        const char *id, int line)
{
    int *first;

    if (id == NULL) {
        return;
    }
    first = apr_hash_get(seen, id, APR_HASH_KEY_STRING);
    if (first != NULL) {
        report(l, line, "R3",
               apr_psprintf(l->p, "%s \"%s\" is used twice (first at line "
                            "%d): one box per purpose, one input per name",
                            kind, id, *first));
        return;
    }
    first = apr_palloc(l->p, sizeof *first);
    *first = line;
    apr_hash_set(seen, id, APR_HASH_KEY_STRING, first);
}

/* ---- R5: informed --------------------------------------------------- */

/* The offered languages texts lacks, as "\"fr\", \"de\"", or NULL. */
static const char *missing_langs(lint_t *l, apr_hash_t *texts)
{
    const apr_array_header_t *langs = l->form->languages;
    const char *list = NULL;
    int i;

    for (i = 0; i < langs->nelts; i++) {
        const char *lang = APR_ARRAY_IDX(langs, i, const char *);

        if (!has_text(apr_hash_get(texts, lang, APR_HASH_KEY_STRING))) {
            list = apr_psprintf(l->p, "%s%s\"%s\"", list ? list : "",
                                list ? ", " : "", lang);
        }
    }
    return list;
}

/* Reports what of "label"/"description" is missing from owner. */
static void lint_texts(lint_t *l, int line, const char *owner,
                       const char *what, apr_hash_t *texts, const char *why)
{
    const char *missing = missing_langs(l, texts);

    if (missing != NULL) {
        report(l, line, "R5", apr_psprintf(l->p, "%s has no %s in %s%s",
                                           owner, what, missing, why));
    }
    else if (apr_hash_count(texts) == 0) {
        report(l, line, "R5", apr_psprintf(l->p, "%s has no %s%s", owner,
                                           what, why));
    }
}

int consent_lint_policy_url(apr_pool_t *p, const char *s)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, s, &uri) != APR_SUCCESS || uri.scheme == NULL
        || !has_text(uri.hostname)) {
        return 0;
    }
    return strcasecmp(uri.scheme, "http") == 0
           || strcasecmp(uri.scheme, "https") == 0;
}

static void lint_controller(lint_t *l)
{
    const consent_controller_t *c = l->form->controller;

    if (c == NULL) {
        report(l, l->form->line, "R5", "no <controller>: the form must name "
               "who collects the data and link the privacy policy");
        return;
    }
    if (!has_text(c->name)) {
        report(l, c->line, "R5", "the controller has no name: people must "
               "be told who collects their data");
    }
    if (!has_text(c->policy)) {
        report(l, c->line, "R5", "the controller has no policy: the form "
               "must link the privacy policy");
    }
    else if (!consent_lint_policy_url(l->p, c->policy)) {
        report(l, c->line, "R5",
               apr_psprintf(l->p, "the policy \"%s\" is not an absolute "
                            "http(s) URL", c->policy));
    }
}

/* A <notice> shown in one language must be shown in all of them. */
static void lint_extra_notices(lint_t *l)
{
    const char *missing;

    if (l->form->extra_notices == NULL
        || apr_hash_count(l->form->extra_notices) == 0
        || l->form->regime != CONSENT_REGIME_OPT_IN) {
        return;                 /* the regimes say more: lint_regime */
    }
    missing = missing_langs(l, l->form->extra_notices);
    if (missing != NULL) {
        report(l, l->form->line, "R5",
               apr_psprintf(l->p, "the form has a <notice> but none in %s",
                            missing));
    }
}

/* ---- R9, R10: mail without prior consent ----------------------------- */

/*
 * Soft opt-in and b2b need no consent, but the person must be told why
 * they may be written to, in the form's every language, before the
 * objection box. Which words say it cannot be checked mechanically; that
 * a <notice> says something in each language can, and the page adds the
 * regime's standard sentence (form.objections_help.*) after it.
 */
static void lint_regime(lint_t *l)
{
    const consent_form_t *form = l->form;
    const char *rule, *what, *missing;
    apr_size_t have;

    if (form->regime == CONSENT_REGIME_OPT_IN) {
        return;
    }
    rule = form->regime == CONSENT_REGIME_SOFT_OPT_IN ? "R9" : "R10";
    what = form->regime == CONSENT_REGIME_SOFT_OPT_IN
           ? "that the person is a customer and that messages only concern "
             "products or services similar to those bought"
           : "that messages relate to the person's profession";
    have = form->extra_notices ? apr_hash_count(form->extra_notices) : 0;
    missing = have ? missing_langs(l, form->extra_notices) : NULL;
    if (have == 0) {
        report(l, form->line, rule,
               apr_psprintf(l->p, "regime=\"%s\" needs a <notice> in every "
                            "language of the form, saying %s",
                            form->regime_name, what));
    }
    else if (missing != NULL) {
        report(l, form->line, rule,
               apr_psprintf(l->p, "regime=\"%s\": no <notice> in %s; each "
                            "language must say %s", form->regime_name,
                            missing, what));
    }
}

/* ---- per element ---------------------------------------------------- */

static void lint_purposes(lint_t *l)
{
    const apr_array_header_t *purposes = l->form->purposes;
    apr_hash_t *seen = apr_hash_make(l->p);
    int i;

    if (purposes->nelts == 0) {
        report(l, l->form->line, "R5", "the form has no <purpose>: there "
               "is no consent to ask for");
    }
    for (i = 0; i < purposes->nelts; i++) {
        const consent_purpose_t *pp =
            APR_ARRAY_IDX(purposes, i, consent_purpose_t *);
        const char *owner = apr_psprintf(l->p, "purpose \"%s\"", pp->id);

        lint_box(l, pp);
        lint_unique(l, seen, "purpose id", pp->id, pp->line);
        lint_terms(l, pp);
        lint_texts(l, pp->line, owner, "label", pp->labels, "");
        lint_texts(l, pp->line, owner, "description", pp->descriptions,
                   ": people must be told what they consent to");
    }
}

static void lint_fields(lint_t *l)
{
    const apr_array_header_t *fields = l->form->fields;
    apr_hash_t *seen = apr_hash_make(l->p);
    int i;

    for (i = 0; i < fields->nelts; i++) {
        const consent_field_t *f =
            APR_ARRAY_IDX(fields, i, consent_field_t *);

        lint_unique(l, seen, "field name", f->name, f->line);
        if (f->name != NULL && (strcmp(f->name, "consent") == 0
                                || strcmp(f->name, "consent_token") == 0)) {
            report(l, f->line, "R3",
                   apr_psprintf(l->p, "field name \"%s\" is reserved: "
                                "mod_consent posts the boxes as \"consent\" "
                                "and its signed token as \"consent_token\"",
                                f->name));
        }
        lint_texts(l, f->line, apr_psprintf(l->p, "field \"%s\"", f->name),
                   "label", f->labels, "");
    }
}

static void lint_subject(lint_t *l)
{
    const apr_array_header_t *fields = l->form->fields;
    const consent_field_t *first = NULL;
    int i;

    if (l->form->subject == NULL) {
        report(l, l->form->line, "R7", "no field identifies the person who "
               "consents (add an email field, or subject=\"true\" on a "
               "field): a proof must say who consented");
        return;
    }
    for (i = 0; i < fields->nelts; i++) {
        const consent_field_t *f =
            APR_ARRAY_IDX(fields, i, consent_field_t *);

        if (!f->subject) {
            continue;
        }
        if (first != NULL) {
            report(l, f->line, "R7",
                   apr_psprintf(l->p, "fields \"%s\" and \"%s\" both have "
                                "subject=\"true\": a proof names one "
                                "subject", first->name, f->name));
        }
        else {
            first = f;
        }
    }
}

int consent_lint(const consent_form_t *form, apr_array_header_t *problems)
{
    lint_t l;

    l.form = form;
    l.problems = problems;
    l.count = 0;
    apr_pool_create(&l.p, problems->pool);
    lint_controller(&l);
    lint_extra_notices(&l);
    lint_regime(&l);
    lint_fields(&l);
    lint_purposes(&l);
    lint_subject(&l);
    apr_pool_destroy(l.p);
    return l.count;
}
