/*
 * Server-side rendering of consent pages.
 *
 * At start-up: load the templates of one directory and its translations,
 * refuse a template that could pre-tick a box (R1) or lacks what the
 * product needs, then flatten each (form, language) into one compiled
 * page: page.html <- form.html <- field.html per field <- purpose.html per
 * purpose, every static text already escaped. A request then only fills
 * the token, the error block, the withdrawal link and the values typed
 * earlier. The confirmation page (page.html <- confirm.html <- choice.html
 * per purpose) is flattened the same way and only takes the receipt id
 * and each purpose's recorded state.
 */
#include <apr_file_io.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "consent_render.h"
#include "consent_template.h"
#include "consent_i18n.h"
#include "consent_lint.h"

/*
 * When the adapter does not say where L/withdraw is. Relative to a form
 * at "/newsletter" it resolves to "/withdraw": the adapter should pass
 * the absolute path (consent_form_request_t.withdraw_url).
 */
#define WITHDRAW_HREF "withdraw"

enum {
    TPL_PAGE, TPL_FORM, TPL_FIELD, TPL_PURPOSE, TPL_ERROR, TPL_MESSAGE,
    TPL_CONFIRM, TPL_CHOICE, TPL_WITHDRAW, TPL_WITHDRAW_PURPOSE,
    TPL_UNSUBSCRIBE, TPL_DONE, TPL_CONFIRM_EMAIL, TPL_COUNT
};

/* What each template may and must contain (space-separated names). */
typedef struct {
    const char *file;
    const char *text_slots;     /* {{name}}: filled with escaped text */
    const char *raw_slots;      /* {{{name}}}: filled with core markup */
    const char *required;
} tpl_spec_t;

static const tpl_spec_t specs[TPL_COUNT] = {
    /* {{{stylesheet}}}: the <link> of consent_ui_styled, or nothing */
    { "page.html", "lang title", "content stylesheet",
      "lang title content" },
    /* Everything the notice digest covers must be shown (R7). */
    { "form.html", "token controller contact policy withdraw_url "
      "purposes_legend purposes_help", "error notice fields purposes",
      "token error notice fields purposes controller contact policy "
      "withdraw_url" },
    { "field.html", "name type label value required_label", "attributes",
      "name label value" },
    { "purpose.html", "id label description", "", "id label description" },
    { "error.html", "message", "", "message" },
    { "message.html", "title body", "", "title body" },
    { "confirm.html", "receipt withdraw_url", "choices",
      "receipt choices withdraw_url" },
    { "choice.html", "label state", "", "label state" },
    /* Departures (R6): the withdrawal page, one box per purpose, the
     * unsubscribe link's confirm button, and the page after either. */
    { "withdraw.html", "token", "error fields purposes",
      "token error fields purposes" },
    { "withdraw-purpose.html", "id label description", "", "id label" },
    { "unsubscribe.html", "", "", "" },
    { "done.html", "title body receipt", "", "title body receipt" },
    /* Double opt-in: the button behind the link mailed to the person. */
    { "confirm-email.html", "", "", "" }
};

struct consent_ui_t {
    const char *dir;
    consent_i18n_t *i18n;
    consent_tpl_t *tpl[TPL_COUNT];
    apr_hash_t *messages;   /* lang -> page with slots title and body */
    apr_hash_t *unsubscribe;    /* lang -> the confirm page, no slot */
    apr_hash_t *done;       /* lang -> page with title, body, receipt */
    apr_hash_t *confirm_email;  /* lang -> the confirm button, no slot */
};

/* What form->pages holds for one language. */
typedef struct {
    const char *lang;
    consent_tpl_t *page;    /* slots left: token, error, withdraw_url,
                               value:NAME */
    consent_tpl_t *error;   /* the error block; slot left: message */
    consent_tpl_t *confirm; /* slots left: receipt, withdraw_url,
                               state:PURPOSE */
    consent_tpl_t *withdraw;    /* slots left: token, error, value:NAME */
} render_page_t;

/* ---- checks at start-up ---- */

static int has_word(const char *list, const char *word)
{
    apr_size_t len = strlen(word);
    const char *s = list;

    while ((s = strstr(s, word)) != NULL) {
        if ((s == list || s[-1] == ' ') && (s[len] == ' ' || !s[len])) {
            return 1;
        }
        s += len;
    }
    return 0;
}

static int tpl_has_slot(const consent_tpl_t *tpl, const char *name)
{
    const consent_seg_t *segs = (const consent_seg_t *)tpl->segs->elts;
    int i;

    for (i = 0; i < tpl->segs->nelts; i++) {
        if (segs[i].kind != CONSENT_SEG_TEXT
            && strcmp(segs[i].text, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Unknown slots, raw/escaped mix-ups and missing slots are refused. */
static void check_slots(const consent_tpl_t *tpl, const tpl_spec_t *spec,
                        apr_array_header_t *problems, apr_pool_t *p)
{
    const consent_seg_t *s = (const consent_seg_t *)tpl->segs->elts;
    char *list, *word, *last;
    int i;

    for (i = 0; i < tpl->segs->nelts; i++) {
        if (s[i].kind == CONSENT_SEG_TEXT || !strncmp(s[i].text, "t:", 2)) {
            continue;
        }
        if (s[i].kind == CONSENT_SEG_SLOT
            && has_word(spec->raw_slots, s[i].text)) {
            consent_problem_add(problems, tpl->name, s[i].line, "template",
                                "write {{{%s}}}: it holds markup",
                                s[i].text);
        }
        else if (s[i].kind == CONSENT_SEG_RAW
                 && has_word(spec->text_slots, s[i].text)) {
            consent_problem_add(problems, tpl->name, s[i].line, "template",
                                "write {{%s}}: only markup the module "
                                "produced is inserted unescaped",
                                s[i].text);
        }
        else if (!has_word(spec->raw_slots, s[i].text)
                 && !has_word(spec->text_slots, s[i].text)) {
            consent_problem_add(problems, tpl->name, s[i].line, "template",
                                "unknown slot '%s' in %s", s[i].text,
                                spec->file);
        }
    }
    list = apr_pstrdup(p, spec->required);
    for (word = apr_strtok(list, " ", &last); word;
         word = apr_strtok(NULL, " ", &last)) {
        if (!tpl_has_slot(tpl, word)) {
            consent_problem_add(problems, tpl->name, 0, "template",
                                "%s must contain the slot '%s'",
                                spec->file, word);
        }
    }
}

typedef struct {
    const char *file;
    apr_array_header_t *problems;
    int consent_box;            /* <input type=checkbox name=consent> */
    int token_input;            /* <input type=hidden name=consent_token
                                   value="{{token}}"> */
} html_check_t;

static int prop_is(xmlNodePtr n, const char *attr, const char *want)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST attr);
    int eq = v != NULL && strcasecmp((const char *)v, want) == 0;

    xmlFree(v);
    return eq;
}

static void check_input(xmlNodePtr n, html_check_t *c)
{
    xmlChar *value;

    /* Any input: a template cannot know which type a slot will give. */
    if (xmlHasProp(n, BAD_CAST "checked") != NULL) {
        consent_problem_add(c->problems, c->file, (int)xmlGetLineNo(n), "R1",
                            "an <input> with a 'checked' attribute: a "
                            "pre-ticked box is not consent");
    }
    if (prop_is(n, "type", "checkbox") && prop_is(n, "name", "consent")) {
        c->consent_box = 1;
    }
    if (prop_is(n, "type", "hidden") && prop_is(n, "name", "consent_token")) {
        value = xmlGetProp(n, BAD_CAST "value");
        c->token_input |= value != NULL
                          && strcmp((const char *)value, "{{token}}") == 0;
        xmlFree(value);
    }
}

static void check_tree(xmlNodePtr n, html_check_t *c)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (xmlStrcasecmp(n->name, BAD_CAST "input") == 0) {
            check_input(n, c);
        }
        check_tree(n->children, c);
    }
}

/* Reads the template as the browser will (libxml2's HTML parser). */
static void check_html(const consent_tpl_t *tpl, int which,
                       apr_array_header_t *problems)
{
    html_check_t c;
    htmlDocPtr doc;

    memset(&c, 0, sizeof(c));
    c.file = tpl->name;
    c.problems = problems;
    doc = htmlReadMemory(tpl->source, (int)tpl->source_len, tpl->name,
                         "UTF-8", HTML_PARSE_NONET | HTML_PARSE_NOERROR
                         | HTML_PARSE_NOWARNING);
    if (doc != NULL) {
        check_tree(xmlDocGetRootElement(doc), &c);
        xmlFreeDoc(doc);
    }
    if (which == TPL_PURPOSE && !c.consent_box) {
        consent_problem_add(problems, tpl->name, 0, "template",
                            "purpose.html must contain <input "
                            "type=\"checkbox\" name=\"consent\">");
    }
    if ((which == TPL_FORM || which == TPL_WITHDRAW) && !c.token_input) {
        consent_problem_add(problems, tpl->name, 0, "template",
                            "%s must contain <input type=\"hidden\" "
                            "name=\"consent_token\" value=\"{{token}}\">",
                            specs[which].file);
    }
}

/* ---- loading ---- */

static int key_known(void *baton, const char *key)
{
    return consent_i18n_find(baton, CONSENT_I18N_FALLBACK, key) != NULL;
}

static void load_template(consent_ui_t *ui, int which,
                          apr_array_header_t *problems, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, ui->dir, "/", specs[which].file,
                                   NULL);
    int have_en = consent_i18n_has_lang(ui->i18n, CONSENT_I18N_FALLBACK);

    /* Without English, every key would look unknown: say it once. */
    if (consent_tpl_compile_file(&ui->tpl[which], path,
                                 have_en ? key_known : NULL, ui->i18n,
                                 problems, p) != APR_SUCCESS) {
        return;
    }
    check_slots(ui->tpl[which], &specs[which], problems, p);
    check_html(ui->tpl[which], which, problems);
}

/* ---- binding helpers ---- */

typedef struct {
    const consent_ui_t *ui;
    const char *lang;
    apr_hash_t *vals;           /* slot name -> consent_tpl_value_t* */
    apr_pool_t *p;
} bind_ctx_t;

static void bind_init(bind_ctx_t *c, const consent_ui_t *ui,
                      const char *lang, apr_pool_t *p)
{
    c->ui = ui;
    c->lang = lang;
    c->vals = apr_hash_make(p);
    c->p = p;
}

static void bind_set(bind_ctx_t *c, const char *name, consent_val_kind_t kind,
                     const char *str, const consent_tpl_t *tpl)
{
    consent_tpl_value_t *v = apr_pcalloc(c->p, sizeof(*v));

    v->kind = kind;
    v->str = str;
    v->tpl = tpl;
    apr_hash_set(c->vals, name, APR_HASH_KEY_STRING, v);
}

static void bind_lookup(void *baton, const char *name, consent_tpl_value_t *v)
{
    bind_ctx_t *c = baton;
    const consent_tpl_value_t *found;

    if (strncmp(name, "t:", 2) == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = consent_i18n_text(c->ui->i18n, c->lang, name + 2);
        return;
    }
    found = apr_hash_get(c->vals, name, APR_HASH_KEY_STRING);
    if (found != NULL) {
        *v = *found;
    }
}

static consent_tpl_t *bind_tpl(bind_ctx_t *c, int which)
{
    return consent_tpl_bind(c->ui->tpl[which], bind_lookup, c, c->p);
}

/* page.html around one template, in one language; title from a key
 * (NULL: left as the slot "title"). */
static consent_tpl_t *compile_page(consent_ui_t *ui, const char *lang,
                                   int which, const char *title_key,
                                   apr_pool_t *p)
{
    bind_ctx_t c;

    bind_init(&c, ui, lang, p);
    bind_set(&c, "lang", CONSENT_VAL_TEXT, lang, NULL);
    if (title_key != NULL) {
        bind_set(&c, "title", CONSENT_VAL_TEXT,
                 consent_i18n_text(ui->i18n, lang, title_key), NULL);
    }
    bind_set(&c, "content", CONSENT_VAL_TEMPLATE, NULL, bind_tpl(&c, which));
    return bind_tpl(&c, TPL_PAGE);
}

/* Precompiles the pages that do not depend on a form, per language:
 * messages (slots title, body), the unsubscribe confirm page, and the
 * page after a departure (slots title, body, receipt). */
static void compile_messages(consent_ui_t *ui, apr_pool_t *p)
{
    const apr_array_header_t *langs = consent_i18n_languages(ui->i18n);
    int i;

    ui->messages = apr_hash_make(p);
    ui->unsubscribe = apr_hash_make(p);
    ui->done = apr_hash_make(p);
    ui->confirm_email = apr_hash_make(p);
    for (i = 0; i < langs->nelts; i++) {
        const char *lang = APR_ARRAY_IDX(langs, i, const char *);

        apr_hash_set(ui->messages, lang, APR_HASH_KEY_STRING,
                     compile_page(ui, lang, TPL_MESSAGE, NULL, p));
        apr_hash_set(ui->unsubscribe, lang, APR_HASH_KEY_STRING,
                     compile_page(ui, lang, TPL_UNSUBSCRIBE,
                                  "unsubscribe.title", p));
        apr_hash_set(ui->done, lang, APR_HASH_KEY_STRING,
                     compile_page(ui, lang, TPL_DONE, NULL, p));
        apr_hash_set(ui->confirm_email, lang, APR_HASH_KEY_STRING,
                     compile_page(ui, lang, TPL_CONFIRM_EMAIL,
                                  "confirm_email.title", p));
    }
}

apr_status_t consent_ui_load(consent_ui_t **ui, const char *dir,
                             apr_array_header_t *problems, apr_pool_t *p)
{
    consent_ui_t *u = apr_pcalloc(p, sizeof(*u));
    int before = problems->nelts, i;

    *ui = NULL;
    u->dir = apr_pstrdup(p, dir);
    consent_i18n_load_dir(&u->i18n, apr_pstrcat(p, dir, "/i18n", NULL),
                          problems, p);
    for (i = 0; i < TPL_COUNT; i++) {
        load_template(u, i, problems, p);
    }
    if (problems->nelts > before) {
        return APR_EGENERAL;
    }
    compile_messages(u, p);
    *ui = u;
    return APR_SUCCESS;
}

typedef struct {
    const char *markup;
} style_ctx_t;

static void style_lookup(void *baton, const char *name,
                         consent_tpl_value_t *v)
{
    if (strcmp(name, "stylesheet") == 0) {
        v->kind = CONSENT_VAL_MARKUP;
        v->str = ((style_ctx_t *)baton)->markup;
    }
}

consent_ui_t *consent_ui_styled(const consent_ui_t *ui, const char *href,
                                apr_pool_t *p)
{
    consent_ui_t *u = apr_pmemdup(p, ui, sizeof(*u));
    style_ctx_t c;

    c.markup = apr_pstrcat(p, "<link rel=\"stylesheet\" href=\"",
                           consent_html_escape(p, href), "\">", NULL);
    u->tpl[TPL_PAGE] = consent_tpl_bind(ui->tpl[TPL_PAGE], style_lookup, &c,
                                        p);
    compile_messages(u, p);
    return u;
}

const apr_array_header_t *consent_ui_languages(const consent_ui_t *ui)
{
    return consent_i18n_languages(ui->i18n);
}

const char *consent_ui_text(const consent_ui_t *ui, const char *lang,
                            const char *key)
{
    if (ui == NULL) {
        return key;
    }
    return consent_i18n_text(ui->i18n, lang, key);
}

/* ---- flattening a form ---- */

typedef struct {
    const consent_ui_t *ui;
    const consent_form_t *form;
    const char *lang;
    apr_array_header_t *problems;
    apr_pool_t *p;
    int errors;
} flatten_t;

/* A form text in the page's language; a gap is refused (R5). */
static const char *form_text(flatten_t *f, apr_hash_t *texts,
                             const char *what, const char *id, int line)
{
    const char *s = texts ? apr_hash_get(texts, f->lang, APR_HASH_KEY_STRING)
                          : NULL;

    if (s == NULL) {
        consent_problem_add(f->problems, f->form->file, line, "R5",
                            "'%s' has no %s in language '%s'", id, what,
                            f->lang);
        f->errors++;
        return "";
    }
    return s;
}

/* One box per purpose, from the form's or the withdrawal page's
 * template (tpl). */
static consent_tpl_t *flatten_boxes(flatten_t *f, int tpl)
{
    const apr_array_header_t *ps = f->form->purposes;
    const consent_tpl_t **frags;
    const consent_purpose_t *pp;
    bind_ctx_t c;
    int i, n = ps ? ps->nelts : 0;

    frags = apr_pcalloc(f->p, sizeof(*frags) * (n + 1));
    for (i = 0; i < n; i++) {
        pp = APR_ARRAY_IDX(ps, i, const consent_purpose_t *);
        bind_init(&c, f->ui, f->lang, f->p);
        bind_set(&c, "id", CONSENT_VAL_TEXT, pp->id, NULL);
        bind_set(&c, "label", CONSENT_VAL_TEXT,
                 form_text(f, pp->labels, "label", pp->id, pp->line), NULL);
        bind_set(&c, "description", CONSENT_VAL_TEXT,
                 form_text(f, pp->descriptions, "description", pp->id,
                           pp->line), NULL);
        frags[i] = bind_tpl(&c, tpl);
    }
    return consent_tpl_concat("purposes", frags, n, f->p);
}

/* Attributes the core adds to a field's <input>, as markup. */
static const char *field_attributes(const consent_field_t *fd)
{
    const char *type = fd->type ? fd->type : "text";

    if (strcmp(type, "email") == 0) {
        return fd->required ? " required aria-required=\"true\""
                              " autocomplete=\"email\""
                            : " autocomplete=\"email\"";
    }
    if (strcmp(type, "tel") == 0) {
        return fd->required ? " required aria-required=\"true\""
                              " autocomplete=\"tel\""
                            : " autocomplete=\"tel\"";
    }
    return fd->required ? " required aria-required=\"true\"" : "";
}

static consent_tpl_t *flatten_field(flatten_t *f, const consent_field_t *fd)
{
    bind_ctx_t c;

    bind_init(&c, f->ui, f->lang, f->p);
    bind_set(&c, "name", CONSENT_VAL_TEXT, fd->name, NULL);
    bind_set(&c, "type", CONSENT_VAL_TEXT,
             fd->type ? fd->type : "text", NULL);
    bind_set(&c, "label", CONSENT_VAL_TEXT,
             form_text(f, fd->labels, "label", fd->name, fd->line), NULL);
    bind_set(&c, "required_label", CONSENT_VAL_TEXT, !fd->required ? ""
             : apr_pstrcat(f->p, " (", consent_i18n_text(
                   f->ui->i18n, f->lang, "field.required"), ")", NULL),
             NULL);
    bind_set(&c, "attributes", CONSENT_VAL_MARKUP,
             field_attributes(fd), NULL);
    /* Left for the request, one slot per field. */
    bind_set(&c, "value", CONSENT_VAL_RENAME,
             apr_pstrcat(f->p, "value:", fd->name, NULL), NULL);
    return bind_tpl(&c, TPL_FIELD);
}

static consent_tpl_t *flatten_fields(flatten_t *f)
{
    const apr_array_header_t *fs = f->form->fields;
    const consent_tpl_t **frags;
    int i, n = fs ? fs->nelts : 0;

    frags = apr_pcalloc(f->p, sizeof(*frags) * (n + 1));
    for (i = 0; i < n; i++) {
        frags[i] = flatten_field(f, APR_ARRAY_IDX(fs, i,
                                                  const consent_field_t *));
    }
    return consent_tpl_concat("fields", frags, n, f->p);
}

/* The form's own notice (soft opt-in, b2b), as core markup, or "". */
static const char *notice_markup(flatten_t *f)
{
    const char *text = f->form->extra_notices
        ? apr_hash_get(f->form->extra_notices, f->lang, APR_HASH_KEY_STRING)
        : NULL;

    if (text == NULL || *text == '\0') {
        return "";
    }
    return apr_pstrcat(f->p, "<p>", consent_html_escape(f->p, text),
                       "</p>", NULL);
}

/* The translation of the key that fits the form's regime: in soft
 * opt-in and b2b the boxes are objections, not consents (R9, R10). */
static const char *regime_text(flatten_t *f, const char *opt_in,
                               const char *soft, const char *b2b)
{
    const char *key = f->form->regime == CONSENT_REGIME_SOFT_OPT_IN ? soft
                      : f->form->regime == CONSENT_REGIME_B2B ? b2b
                      : opt_in;

    return consent_i18n_text(f->ui->i18n, f->lang, key);
}

static consent_tpl_t *flatten_form(flatten_t *f)
{
    const consent_controller_t *ctl = f->form->controller;
    bind_ctx_t c;

    bind_init(&c, f->ui, f->lang, f->p);
    bind_set(&c, "controller", CONSENT_VAL_TEXT, ctl->name, NULL);
    bind_set(&c, "contact", CONSENT_VAL_TEXT, ctl->contact, NULL);
    bind_set(&c, "policy", CONSENT_VAL_TEXT, ctl->policy, NULL);
    bind_set(&c, "notice", CONSENT_VAL_MARKUP, notice_markup(f), NULL);
    bind_set(&c, "purposes_legend", CONSENT_VAL_TEXT, regime_text(
        f, "form.purposes", "form.objections", "form.objections"), NULL);
    bind_set(&c, "purposes_help", CONSENT_VAL_TEXT, regime_text(
        f, "form.purposes_help", "form.objections_help.soft-opt-in",
        "form.objections_help.b2b"), NULL);
    bind_set(&c, "fields", CONSENT_VAL_TEMPLATE, NULL, flatten_fields(f));
    bind_set(&c, "purposes", CONSENT_VAL_TEMPLATE, NULL,
             flatten_boxes(f, TPL_PURPOSE));
    bind_set(&c, "lang", CONSENT_VAL_TEXT, f->lang, NULL);
    bind_set(&c, "title", CONSENT_VAL_TEXT,
             consent_i18n_text(f->ui->i18n, f->lang, "form.title"), NULL);
    bind_set(&c, "content", CONSENT_VAL_TEMPLATE, NULL,
             bind_tpl(&c, TPL_FORM));
    return bind_tpl(&c, TPL_PAGE);
}

/* One row per purpose; each state is left for the proof to fill. */
static consent_tpl_t *flatten_choices(flatten_t *f)
{
    const apr_array_header_t *ps = f->form->purposes;
    const consent_tpl_t **frags;
    const consent_purpose_t *pp;
    bind_ctx_t c;
    int i, n = ps ? ps->nelts : 0;

    frags = apr_pcalloc(f->p, sizeof(*frags) * (n + 1));
    for (i = 0; i < n; i++) {
        pp = APR_ARRAY_IDX(ps, i, const consent_purpose_t *);
        bind_init(&c, f->ui, f->lang, f->p);
        bind_set(&c, "label", CONSENT_VAL_TEXT,
                 pp->labels ? apr_hash_get(pp->labels, f->lang,
                                           APR_HASH_KEY_STRING) : NULL,
                 NULL);
        bind_set(&c, "state", CONSENT_VAL_RENAME,
                 apr_pstrcat(f->p, "state:", pp->id, NULL), NULL);
        frags[i] = bind_tpl(&c, TPL_CHOICE);
    }
    return consent_tpl_concat("choices", frags, n, f->p);
}

static consent_tpl_t *flatten_confirm(flatten_t *f)
{
    bind_ctx_t c;

    bind_init(&c, f->ui, f->lang, f->p);
    bind_set(&c, "choices", CONSENT_VAL_TEMPLATE, NULL, flatten_choices(f));
    bind_set(&c, "lang", CONSENT_VAL_TEXT, f->lang, NULL);
    bind_set(&c, "title", CONSENT_VAL_TEXT,
             consent_i18n_text(f->ui->i18n, f->lang, "confirm.title"), NULL);
    bind_set(&c, "content", CONSENT_VAL_TEMPLATE, NULL,
             bind_tpl(&c, TPL_CONFIRM));
    return bind_tpl(&c, TPL_PAGE);
}

/* The withdrawal page asks for the subject only, always as required. */
static consent_tpl_t *flatten_withdraw(flatten_t *f)
{
    consent_field_t subject;
    bind_ctx_t c;

    bind_init(&c, f->ui, f->lang, f->p);
    if (f->form->subject != NULL) {
        subject = *f->form->subject;
        subject.required = 1;
        bind_set(&c, "fields", CONSENT_VAL_TEMPLATE, NULL,
                 flatten_field(f, &subject));
    }
    bind_set(&c, "purposes", CONSENT_VAL_TEMPLATE, NULL,
             flatten_boxes(f, TPL_WITHDRAW_PURPOSE));
    bind_set(&c, "lang", CONSENT_VAL_TEXT, f->lang, NULL);
    bind_set(&c, "title", CONSENT_VAL_TEXT,
             consent_i18n_text(f->ui->i18n, f->lang, "withdraw.title"),
             NULL);
    bind_set(&c, "content", CONSENT_VAL_TEMPLATE, NULL,
             bind_tpl(&c, TPL_WITHDRAW));
    return bind_tpl(&c, TPL_PAGE);
}

static render_page_t *flatten_page(flatten_t *f)
{
    const consent_controller_t *ctl = f->form->controller;
    render_page_t *page = apr_pcalloc(f->p, sizeof(*page));
    bind_ctx_t c;

    /* lint refused such a form already; a page is never the first to
     * show a link lint would refuse */
    if (ctl == NULL || ctl->policy == NULL
        || !consent_lint_policy_url(f->p, ctl->policy)) {
        consent_problem_add(f->problems, f->form->file,
                            ctl ? ctl->line : f->form->line, "R5",
                            "the form needs a controller with an http(s) "
                            "privacy policy link");
        f->errors++;
        return NULL;
    }
    page->lang = f->lang;
    page->page = flatten_form(f);
    page->confirm = flatten_confirm(f);
    page->withdraw = flatten_withdraw(f);
    bind_init(&c, f->ui, f->lang, f->p);
    page->error = bind_tpl(&c, TPL_ERROR);
    return page;
}

apr_status_t consent_render_compile(const consent_ui_t *ui,
                                    consent_form_t *form,
                                    apr_array_header_t *problems,
                                    apr_pool_t *p)
{
    flatten_t f;
    render_page_t *page;
    int i, errors = 0;

    if (form->pages == NULL) {
        form->pages = apr_hash_make(p);
    }
    for (i = 0; form->languages && i < form->languages->nelts; i++) {
        memset(&f, 0, sizeof(f));
        f.ui = ui;
        f.form = form;
        f.lang = APR_ARRAY_IDX(form->languages, i, const char *);
        f.problems = problems;
        f.p = p;
        if (!consent_i18n_has_lang(ui->i18n, f.lang)) {
            consent_problem_add(problems, form->file, form->line, "i18n",
                                "no translation for language '%s' in "
                                "%s/i18n", f.lang, ui->dir);
            errors++;
            continue;
        }
        page = flatten_page(&f);
        errors += f.errors;
        if (page != NULL && f.errors == 0) {
            apr_hash_set(form->pages, page->lang, APR_HASH_KEY_STRING, page);
        }
    }
    return errors ? APR_EGENERAL : APR_SUCCESS;
}

/* ---- per request ---- */

typedef struct {
    const consent_form_request_t *req;
    const render_page_t *page;
} request_ctx_t;

static void request_lookup(void *baton, const char *name,
                           consent_tpl_value_t *v)
{
    const request_ctx_t *c = baton;

    if (strcmp(name, "token") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->req->token;
    }
    else if (strcmp(name, "withdraw_url") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->req->withdraw_url ? c->req->withdraw_url : WITHDRAW_HREF;
    }
    else if (strcmp(name, "error") == 0 && c->req->error != NULL) {
        v->kind = CONSENT_VAL_TEMPLATE;
        v->tpl = c->page->error;
    }
    else if (strcmp(name, "message") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->req->error;
    }
    else if (strncmp(name, "value:", 6) == 0 && c->req->values != NULL) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = apr_table_get(c->req->values, name + 6);
    }
}

static const render_page_t *find_page(const consent_form_t *form,
                                      const char *lang)
{
    const render_page_t *page = NULL;
    apr_hash_t *pages = consent_render_pages(form);

    if (pages == NULL) {
        return NULL;
    }
    if (lang != NULL) {
        page = apr_hash_get(pages, lang, APR_HASH_KEY_STRING);
    }
    if (page == NULL && form->languages && form->languages->nelts > 0) {
        page = apr_hash_get(pages,
                            APR_ARRAY_IDX(form->languages, 0, const char *),
                            APR_HASH_KEY_STRING);
    }
    return page;
}

apr_status_t consent_render_form(const consent_form_t *form,
                                 const consent_form_request_t *req,
                                 consent_write_fn *write, void *baton)
{
    request_ctx_t c;

    c.req = req;
    c.page = find_page(form, req->lang);
    if (c.page == NULL) {
        return APR_NOTFOUND;
    }
    return consent_tpl_render(c.page->page, request_lookup, &c, write, baton);
}

apr_status_t consent_render_withdraw(const consent_form_t *form,
                                     const consent_form_request_t *req,
                                     consent_write_fn *write, void *baton)
{
    request_ctx_t c;

    c.req = req;
    c.page = find_page(form, req->lang);
    if (c.page == NULL) {
        return APR_NOTFOUND;
    }
    return consent_tpl_render(c.page->withdraw, request_lookup, &c, write,
                              baton);
}

typedef struct {
    const consent_ui_t *ui;
    const char *lang;
    const consent_proof_t *proof;
    const char *withdraw_url;
} confirm_ctx_t;

/* The translation key of a recorded state; the keys are static. */
static const char *state_key(const char *state)
{
    static const char *const keys[][2] = {
        { CONSENT_STATE_GIVEN, "state.given" },
        { CONSENT_STATE_REFUSED, "state.refused" },
        { CONSENT_STATE_WITHDRAWN, "state.withdrawn" },
        { CONSENT_STATE_OBJECTED, "state.objected" },
        { CONSENT_STATE_PENDING, "state.pending" },
        { CONSENT_STATE_NOT_OBJECTED, "state.not-objected" }
    };
    apr_size_t i;

    for (i = 0; state && i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(state, keys[i][0]) == 0) {
            return keys[i][1];
        }
    }
    return NULL;
}

static const char *proof_state(const consent_proof_t *proof,
                               const char *purpose)
{
    const consent_choice_t *ch;
    int i;

    for (i = 0; proof->choices && i < proof->choices->nelts; i++) {
        ch = &APR_ARRAY_IDX(proof->choices, i, consent_choice_t);
        if (ch->purpose && strcmp(ch->purpose, purpose) == 0) {
            return ch->state;
        }
    }
    return NULL;
}

static void confirm_lookup(void *baton, const char *name,
                           consent_tpl_value_t *v)
{
    const confirm_ctx_t *c = baton;
    const char *state, *key;

    if (strcmp(name, "receipt") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->proof->receipt_id;
    }
    else if (strcmp(name, "withdraw_url") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->withdraw_url ? c->withdraw_url : WITHDRAW_HREF;
    }
    else if (strncmp(name, "state:", 6) == 0) {
        state = proof_state(c->proof, name + 6);
        key = state_key(state);
        v->kind = CONSENT_VAL_TEXT;
        v->str = key ? consent_i18n_text(c->ui->i18n, c->lang, key) : state;
    }
}

apr_status_t consent_render_confirmation(const consent_ui_t *ui,
                                         const consent_form_t *form,
                                         const char *lang,
                                         const consent_proof_t *proof,
                                         const char *withdraw_url,
                                         consent_write_fn *write,
                                         void *baton)
{
    const render_page_t *page = find_page(form, lang);
    confirm_ctx_t c;

    if (page == NULL) {
        return APR_NOTFOUND;
    }
    c.ui = ui;
    c.lang = page->lang;
    c.proof = proof;
    c.withdraw_url = withdraw_url;
    return consent_tpl_render(page->confirm, confirm_lookup, &c, write,
                              baton);
}

typedef struct {
    const char *title;
    const char *body;
    const char *receipt;
} message_ctx_t;

static void message_lookup(void *baton, const char *name,
                           consent_tpl_value_t *v)
{
    const message_ctx_t *c = baton;

    if (strcmp(name, "title") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->title;
    }
    else if (strcmp(name, "body") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->body;
    }
    else if (strcmp(name, "receipt") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = c->receipt;
    }
}

/* The precompiled page of lang in pages, else of English. */
static const consent_tpl_t *ui_page(const consent_ui_t *ui,
                                    apr_hash_t *pages, const char **lang)
{
    if (!consent_i18n_has_lang(ui->i18n, *lang)) {
        *lang = CONSENT_I18N_FALLBACK;
    }
    return apr_hash_get(pages, *lang, APR_HASH_KEY_STRING);
}

apr_status_t consent_render_unsubscribe(const consent_ui_t *ui,
                                        const char *lang,
                                        consent_write_fn *write, void *baton)
{
    const consent_tpl_t *tpl = ui_page(ui, ui->unsubscribe, &lang);
    message_ctx_t c;

    if (tpl == NULL) {
        return APR_NOTFOUND;
    }
    memset(&c, 0, sizeof c);
    return consent_tpl_render(tpl, message_lookup, &c, write, baton);
}

apr_status_t consent_render_confirm_email(const consent_ui_t *ui,
                                          const char *lang,
                                          consent_write_fn *write,
                                          void *baton)
{
    const consent_tpl_t *tpl = ui_page(ui, ui->confirm_email, &lang);
    message_ctx_t c;

    if (tpl == NULL) {
        return APR_NOTFOUND;
    }
    memset(&c, 0, sizeof c);
    return consent_tpl_render(tpl, message_lookup, &c, write, baton);
}

apr_status_t consent_render_done(const consent_ui_t *ui, const char *lang,
                                 const char *title_key, const char *body_key,
                                 const char *receipt,
                                 consent_write_fn *write, void *baton)
{
    const consent_tpl_t *tpl = ui_page(ui, ui->done, &lang);
    message_ctx_t c;

    if (tpl == NULL) {
        return APR_NOTFOUND;
    }
    c.title = consent_i18n_text(ui->i18n, lang, title_key);
    c.body = consent_i18n_text(ui->i18n, lang, body_key);
    c.receipt = receipt;
    return consent_tpl_render(tpl, message_lookup, &c, write, baton);
}

apr_status_t consent_render_message(const consent_ui_t *ui, const char *lang,
                                    const char *title_key,
                                    const char *body_key,
                                    consent_write_fn *write, void *baton)
{
    const consent_tpl_t *tpl;
    message_ctx_t c;

    if (!consent_i18n_has_lang(ui->i18n, lang)) {
        lang = CONSENT_I18N_FALLBACK;
    }
    tpl = apr_hash_get(ui->messages, lang, APR_HASH_KEY_STRING);
    if (tpl == NULL) {
        return APR_NOTFOUND;
    }
    c.title = consent_i18n_text(ui->i18n, lang, title_key);
    c.body = consent_i18n_text(ui->i18n, lang, body_key);
    return consent_tpl_render(tpl, message_lookup, &c, write, baton);
}
