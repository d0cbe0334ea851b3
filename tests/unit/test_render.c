/*
 * Unit tests of the rendering core: templates, translations, flattening
 * of a form into one page per language, escaping, and the start-up
 * refusals (a pre-ticked box in a template is rule R1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "consent_lint.h"
#include "consent_render.h"
#include "consent_template.h"
#include "consent_i18n.h"
#include "consent_log.h"

#define TEMPLATES TEST_SRCDIR "/templates"
#define FIXTURES TEST_SRCDIR "/tests/fixtures"

static const char *const shipped[] = {
    "page.html", "form.html", "field.html", "purpose.html", "error.html",
    "message.html", "confirm.html", "choice.html", "withdraw.html",
    "withdraw-purpose.html", "unsubscribe.html", "done.html",
    "confirm-email.html", "i18n/en.xml",
    "i18n/fr.xml", NULL
};

/* ---- helpers ---- */

static int setup(void **state)
{
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
} sink_t;

static apr_status_t sink_write(void *baton, const char *data, apr_size_t len)
{
    sink_t *s = baton;
    char *nb;

    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        nb = apr_palloc(s->p, s->cap);
        if (s->len) {
            memcpy(nb, s->buf, s->len);
        }
        s->buf = nb;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return APR_SUCCESS;
}

static apr_hash_t *texts(apr_pool_t *p, const char *en, const char *fr)
{
    apr_hash_t *h = apr_hash_make(p);

    apr_hash_set(h, "en", APR_HASH_KEY_STRING, en);
    apr_hash_set(h, "fr", APR_HASH_KEY_STRING, fr);
    return h;
}

static consent_field_t *add_field(consent_form_t *f, const char *name,
                                  const char *type, int required,
                                  const char *en, const char *fr)
{
    apr_pool_t *p = f->fields->pool;
    consent_field_t *fd = apr_pcalloc(p, sizeof(*fd));

    fd->name = name;
    fd->type = type;
    fd->required = required;
    fd->labels = texts(p, en, fr);
    fd->line = 3;
    APR_ARRAY_PUSH(f->fields, consent_field_t *) = fd;
    return fd;
}

static void add_purpose(consent_form_t *f, const char *id, const char *label,
                        const char *desc)
{
    apr_pool_t *p = f->purposes->pool;
    consent_purpose_t *pp = apr_pcalloc(p, sizeof(*pp));

    pp->id = id;
    pp->labels = texts(p, label, apr_pstrcat(p, "FR ", label, NULL));
    pp->descriptions = texts(p, desc, apr_pstrcat(p, "FR ", desc, NULL));
    pp->line = 9;
    APR_ARRAY_PUSH(f->purposes, consent_purpose_t *) = pp;
}

/* The model the loader would build; the loader is tested elsewhere. */
static consent_form_t *make_form(apr_pool_t *p, const char *controller,
                                 const char *hostile)
{
    consent_form_t *f = apr_pcalloc(p, sizeof(*f));

    f->file = "hand-built.xml";
    f->line = 1;
    f->id = "newsletter";
    f->version = 1;
    f->regime_name = "opt-in";
    f->controller = apr_pcalloc(p, sizeof(*f->controller));
    f->controller->name = controller;
    f->controller->contact = "privacy@example.org";
    f->controller->policy = "https://example.org/privacy?a=1&b=2";
    f->fields = apr_array_make(p, 2, sizeof(consent_field_t *));
    f->purposes = apr_array_make(p, 2, sizeof(consent_purpose_t *));
    f->languages = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(f->languages, const char *) = "en";
    APR_ARRAY_PUSH(f->languages, const char *) = "fr";
    f->subject = add_field(f, "email", "email", 1, "Email address",
                           "Adresse e-mail");
    add_field(f, "name", "text", 0, "Your name", "Votre nom");
    add_purpose(f, "newsletter", "Send me the monthly newsletter",
                "One email a month.");
    add_purpose(f, "partners", "Send me offers from partners",
                "At most two emails a month.");
    if (hostile) {
        add_field(f, hostile, "text", 0, hostile, hostile);
        add_purpose(f, hostile, hostile, hostile);
    }
    return f;
}

static consent_ui_t *load_ui(apr_pool_t *p, const char *dir)
{
    apr_array_header_t *problems = apr_array_make(p, 4,
                                                  sizeof(consent_problem_t));
    consent_ui_t *ui = NULL;
    apr_status_t rv = consent_ui_load(&ui, dir, problems, p);
    int i;

    for (i = 0; i < problems->nelts; i++) {
        print_message("%s\n", consent_problem_str(p,
                      &APR_ARRAY_IDX(problems, i, consent_problem_t)));
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_int_equal(problems->nelts, 0);
    assert_non_null(ui);
    return ui;
}

static consent_form_t *compiled_form(apr_pool_t *p, const consent_ui_t *ui,
                                     const char *controller,
                                     const char *hostile)
{
    apr_array_header_t *problems = apr_array_make(p, 4,
                                                  sizeof(consent_problem_t));
    consent_form_t *form = make_form(p, controller, hostile);

    assert_int_equal(consent_render_compile(ui, form, problems, p),
                     APR_SUCCESS);
    assert_int_equal(problems->nelts, 0);
    return form;
}

static const char *render(apr_pool_t *p, const consent_form_t *form,
                          const char *lang, const char *token,
                          const char *error, apr_table_t *values)
{
    consent_form_request_t req;
    sink_t sink;

    memset(&sink, 0, sizeof(sink));
    memset(&req, 0, sizeof(req));
    sink.p = p;
    req.lang = lang;
    req.token = token;
    req.error = error;
    req.values = values;
    assert_int_equal(consent_render_form(form, &req, sink_write, &sink),
                     APR_SUCCESS);
    assert_non_null(sink.buf);
    return sink.buf;
}

static htmlDocPtr parse_html(const char *html)
{
    htmlDocPtr doc = htmlReadMemory(html, (int)strlen(html), "out.html",
                                    "UTF-8", HTML_PARSE_NONET
                                    | HTML_PARSE_NOERROR
                                    | HTML_PARSE_NOWARNING);

    assert_non_null(doc);
    return doc;
}

/* Collects the elements called name, in document order. */
static void find_all(xmlNodePtr n, const char *name, apr_array_header_t *out)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE
            && xmlStrcasecmp(n->name, BAD_CAST name) == 0) {
            APR_ARRAY_PUSH(out, xmlNodePtr) = n;
        }
        find_all(n->children, name, out);
    }
}

static apr_array_header_t *elements(apr_pool_t *p, htmlDocPtr doc,
                                    const char *name)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(xmlNodePtr));

    find_all(xmlDocGetRootElement(doc), name, a);
    return a;
}

/* An attribute value, copied into the pool ("" when absent). */
static const char *attr(apr_pool_t *p, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    const char *s = apr_pstrdup(p, v ? (const char *)v : "");

    xmlFree(v);
    return s;
}

static void collect_ids(xmlNodePtr n, apr_hash_t *ids, apr_pool_t *p)
{
    const char *id;

    for (; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlHasProp(n, BAD_CAST "id")) {
            id = attr(p, n, "id");
            assert_null(apr_hash_get(ids, id, APR_HASH_KEY_STRING));
            apr_hash_set(ids, id, APR_HASH_KEY_STRING, n);
        }
        collect_ids(n->children, ids, p);
    }
}

/* Builds a template directory: the shipped one, overlaid by a fixture. */
static const char *fixture_dir(apr_pool_t *p, const char *fixture)
{
    const char *tmp, *dir, *sub;
    apr_dir_t *d;
    apr_finfo_t fi;
    int i;
    const char *const subs[] = { "", "/i18n", NULL };

    assert_int_equal(apr_temp_dir_get(&tmp, p), APR_SUCCESS);
    dir = apr_psprintf(p, "%s/test_render.%ld.%s", tmp,
                       (long)apr_time_now(), fixture);
    assert_int_equal(apr_dir_make_recursive(apr_pstrcat(p, dir, "/i18n",
                                            NULL), APR_FPROT_OS_DEFAULT, p),
                     APR_SUCCESS);
    for (i = 0; shipped[i]; i++) {
        assert_int_equal(apr_file_copy(
            apr_pstrcat(p, TEMPLATES, "/", shipped[i], NULL),
            apr_pstrcat(p, dir, "/", shipped[i], NULL),
            APR_FPROT_FILE_SOURCE_PERMS, p), APR_SUCCESS);
    }
    for (i = 0; subs[i]; i++) {
        sub = apr_pstrcat(p, FIXTURES, "/", fixture, subs[i], NULL);
        if (apr_dir_open(&d, sub, p) != APR_SUCCESS) {
            continue;
        }
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
               == APR_SUCCESS) {
            if (fi.filetype == APR_REG) {
                assert_int_equal(apr_file_copy(
                    apr_pstrcat(p, sub, "/", fi.name, NULL),
                    apr_pstrcat(p, dir, subs[i], "/", fi.name, NULL),
                    APR_FPROT_FILE_SOURCE_PERMS, p), APR_SUCCESS);
            }
        }
        apr_dir_close(d);
    }
    return dir;
}

static void remove_dir(apr_pool_t *p, const char *dir)
{
    int i;

    for (i = 0; shipped[i]; i++) {
        apr_file_remove(apr_pstrcat(p, dir, "/", shipped[i], NULL), p);
    }
    apr_dir_remove(apr_pstrcat(p, dir, "/i18n", NULL), p);
    apr_dir_remove(dir, p);
}

/* Loads a fixture directory that must be refused; returns the problems. */
static apr_array_header_t *load_refused(apr_pool_t *p, const char *fixture)
{
    apr_array_header_t *problems = apr_array_make(p, 4,
                                                  sizeof(consent_problem_t));
    const char *dir = fixture_dir(p, fixture);
    consent_ui_t *ui = NULL;
    apr_status_t rv = consent_ui_load(&ui, dir, problems, p);
    int i;

    remove_dir(p, dir);
    for (i = 0; i < problems->nelts; i++) {
        print_message("%s\n", consent_problem_str(p,
                      &APR_ARRAY_IDX(problems, i, consent_problem_t)));
    }
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_null(ui);
    assert_true(problems->nelts > 0);
    return problems;
}

static const consent_problem_t *find_problem(apr_array_header_t *problems,
                                             const char *rule,
                                             const char *file_suffix)
{
    const consent_problem_t *pb;
    apr_size_t fl, sl = strlen(file_suffix);
    int i;

    for (i = 0; i < problems->nelts; i++) {
        pb = &APR_ARRAY_IDX(problems, i, consent_problem_t);
        fl = strlen(pb->file);
        if (strcmp(pb->rule, rule) == 0 && fl >= sl
            && strcmp(pb->file + fl - sl, file_suffix) == 0) {
            return pb;
        }
    }
    fail_msg("no [%s] problem on %s", rule, file_suffix);
    return NULL;
}

/* ---- the template engine ---- */

static void lookup_demo(void *baton, const char *name, consent_tpl_value_t *v)
{
    (void)baton;
    if (strcmp(name, "who") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = "<b>&'\"";
    }
    else if (strcmp(name, "frag") == 0) {
        v->kind = CONSENT_VAL_MARKUP;
        v->str = "<i>ok</i>";
    }
    else if (strcmp(name, "later") == 0) {
        v->kind = CONSENT_VAL_RENAME;
        v->str = "value:x";
    }
}

static void lookup_request(void *baton, const char *name,
                           consent_tpl_value_t *v)
{
    (void)baton;
    if (strcmp(name, "value:x") == 0) {
        v->kind = CONSENT_VAL_TEXT;
        v->str = "a<b";
    }
}

static void test_template_bind_render(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *problems = apr_array_make(p, 2,
                                                  sizeof(consent_problem_t));
    const char *src = "A {{who}} B {{{frag}}} C {{frag}} D {{later}} "
                      "E {{gone}} F";
    consent_tpl_t *tpl, *bound;
    sink_t sink;

    memset(&sink, 0, sizeof(sink));
    sink.p = p;
    assert_int_equal(consent_tpl_compile(&tpl, "demo", src, strlen(src),
                                         NULL, NULL, problems, p),
                     APR_SUCCESS);
    assert_int_equal(consent_tpl_slot_count(tpl), 5);
    bound = consent_tpl_bind(tpl, lookup_demo, NULL, p);
    /* who, frag and frag resolved; later renamed; gone left. */
    assert_int_equal(consent_tpl_slot_count(bound), 2);
    assert_int_equal(bound->segs->nelts, 5);
    assert_int_equal(consent_tpl_render(bound, lookup_request, NULL,
                                        sink_write, &sink), APR_SUCCESS);
    assert_string_equal(sink.buf,
                        "A &lt;b&gt;&amp;&#39;&quot; B <i>ok</i> "
                        "C &lt;i&gt;ok&lt;/i&gt; D a&lt;b E  F");
}

static void test_template_syntax_errors(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *problems = apr_array_make(p, 4,
                                                  sizeof(consent_problem_t));
    const char *src = "ok {{a}}\n{{b\n{{{t:x}}}\n{{c d}}\n{{}}\n{{e}}}\n";
    consent_tpl_t *tpl = (void *)1;
    const consent_problem_t *pb;

    assert_int_equal(consent_tpl_compile(&tpl, "bad.html", src, strlen(src),
                                         NULL, NULL, problems, p),
                     APR_EGENERAL);
    assert_null(tpl);
    assert_int_equal(problems->nelts, 5);
    pb = &APR_ARRAY_IDX(problems, 0, consent_problem_t);
    assert_int_equal(pb->line, 2);
    assert_non_null(strstr(pb->message, "unterminated"));
    assert_string_equal(consent_problem_str(p, pb),
                        apr_psprintf(p, "bad.html:2: [template] %s",
                                     pb->message));
    assert_int_equal(APR_ARRAY_IDX(problems, 1, consent_problem_t).line, 3);
    assert_int_equal(APR_ARRAY_IDX(problems, 2, consent_problem_t).line, 4);
    assert_int_equal(APR_ARRAY_IDX(problems, 3, consent_problem_t).line, 5);
    assert_int_equal(APR_ARRAY_IDX(problems, 4, consent_problem_t).line, 6);
}

static void test_escape_helper(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(consent_html_escape(p, "a'b\"<&>'"),
                        "a&#39;b&quot;&lt;&amp;&gt;&#39;");
    assert_string_equal(consent_html_escape(p, "plain é"), "plain é");
}

/* ---- loading ---- */

static void test_shipped_templates_load(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    const apr_array_header_t *langs = consent_ui_languages(ui);

    assert_int_equal(langs->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(langs, 0, const char *), "en");
    assert_string_equal(APR_ARRAY_IDX(langs, 1, const char *), "fr");
    assert_string_equal(consent_ui_text(ui, "fr", "form.submit"),
                        "Enregistrer mes choix");
}

static void test_preticked_template_refused(void **state)
{
    apr_array_header_t *problems = load_refused(*state,
                                                "templates-preticked");
    const consent_problem_t *pb = find_problem(problems, "R1",
                                               "/purpose.html");

    /* The fixture's checkbox with `checked` is on its line 3. */
    assert_int_equal(pb->line, 3);
}

static void test_template_without_token_refused(void **state)
{
    apr_array_header_t *problems = load_refused(*state, "templates-notoken");
    const consent_problem_t *pb = find_problem(problems, "template",
                                               "/form.html");

    assert_non_null(strstr(pb->message, "consent_token"));
}

static void test_template_syntax_reported(void **state)
{
    apr_array_header_t *problems = load_refused(*state, "templates-syntax");
    const consent_problem_t *pb;
    int i, unterminated = 0, unknown = 0;

    for (i = 0; i < problems->nelts; i++) {
        pb = &APR_ARRAY_IDX(problems, i, consent_problem_t);
        assert_string_equal(pb->rule, "template");
        assert_non_null(strstr(pb->file, "/form.html"));
        if (strstr(pb->message, "unterminated")) {
            assert_int_equal(pb->line, 4);
            unterminated++;
        }
        if (strstr(pb->message, "unknown translation key 'form.nope'")) {
            assert_int_equal(pb->line, 6);
            unknown++;
        }
    }
    assert_int_equal(unterminated, 1);
    assert_int_equal(unknown, 1);
}

static void test_bad_translation_file(void **state)
{
    apr_array_header_t *problems = load_refused(*state, "templates-badxml");
    const consent_problem_t *pb = find_problem(problems, "xml",
                                               "/i18n/fr.xml");

    assert_int_equal(pb->line, 4);
}

static void test_ui_text_fallback(void **state)
{
    apr_pool_t *p = *state;
    const char *dir = fixture_dir(p, "templates-partial");
    consent_ui_t *ui = load_ui(p, dir);
    consent_form_t *form;
    const char *out;

    remove_dir(p, dir);
    /* fr.xml of the fixture only translates form.title. */
    assert_string_equal(consent_ui_text(ui, "fr", "form.title"), "Vos choix");
    assert_string_equal(consent_ui_text(ui, "fr", "form.submit"),
                        "Save my choices");
    assert_string_equal(consent_ui_text(ui, "de", "form.submit"),
                        "Save my choices");
    assert_string_equal(consent_ui_text(ui, NULL, "form.submit"),
                        "Save my choices");
    assert_string_equal(consent_ui_text(ui, "fr", "no.such.key"),
                        "no.such.key");
    assert_string_equal(consent_ui_text(NULL, "fr", "form.submit"),
                        "form.submit");
    form = compiled_form(p, ui, "Example SAS", NULL);
    out = render(p, form, "fr", "t", NULL, NULL);
    assert_non_null(strstr(out, "<html lang=\"fr\">"));
    assert_non_null(strstr(out, "<title>Vos choix</title>"));
    assert_non_null(strstr(out, "Save my choices"));
}

/* ---- rendering ---- */

/* Pages compiled on first use: deferred at start-up (problems found
 * then), compiled by the first render, the same bytes as compiled at
 * once, and compiled once. */
static void test_render_deferred(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *eager = compiled_form(p, ui, "Example SAS", NULL);
    consent_form_t *lazy = make_form(p, "Example SAS", NULL);
    apr_array_header_t *problems = apr_array_make(p, 4,
                                                  sizeof(consent_problem_t));
    apr_hash_t *first;
    apr_pool_t *process;

    assert_int_equal(consent_render_defer(ui, lazy, problems, p),
                     APR_SUCCESS);
    assert_int_equal(problems->nelts, 0);
    assert_null(lazy->pages);
    apr_pool_create(&process, NULL);    /* outlives the test's pool */
    assert_int_equal(consent_render_lazy_init(process), APR_SUCCESS);
    assert_string_equal(render(p, lazy, "fr", "tok", NULL, NULL),
                        render(p, eager, "fr", "tok", NULL, NULL));
    first = lazy->pages;
    assert_non_null(first);
    assert_string_equal(render(p, lazy, "en", "tok", NULL, NULL),
                        render(p, eager, "en", "tok", NULL, NULL));
    assert_ptr_equal(lazy->pages, first);
}

static void test_render_en_fr(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, "Example SAS", NULL);
    const char *en = render(p, form, "en", "tok", NULL, NULL);
    const char *fr = render(p, form, "fr", "tok", NULL, NULL);

    assert_non_null(strstr(en, "<!DOCTYPE html>"));
    assert_non_null(strstr(en, "<html lang=\"en\">"));
    assert_non_null(strstr(en, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(en, "Save my choices"));
    assert_non_null(strstr(en, "Email address (required)"));
    assert_non_null(strstr(en, "Send me the monthly newsletter"));
    assert_non_null(strstr(en, "Data controller"));
    assert_non_null(strstr(en, "Example SAS"));
    assert_non_null(strstr(en, "href=\"https://example.org/privacy?a=1"
                               "&amp;b=2\""));
    assert_non_null(strstr(en, "<a href=\"withdraw\">withdraw my consent"));
    assert_non_null(strstr(en, "autocomplete=\"email\""));
    assert_null(strstr(en, "role=\"alert\""));

    assert_non_null(strstr(fr, "<html lang=\"fr\">"));
    assert_non_null(strstr(fr, "Enregistrer mes choix"));
    assert_non_null(strstr(fr, "Adresse e-mail (obligatoire)"));
    assert_non_null(strstr(fr, "FR Send me the monthly newsletter"));
    assert_non_null(strstr(fr, "Responsable du traitement"));
    assert_non_null(strstr(fr, "retirer mon consentement"));

    /* An unknown language falls back to the form's first one. */
    assert_non_null(strstr(render(p, form, "de", "t", NULL, NULL),
                           "<html lang=\"en\">"));
}

static void test_every_input_labelled(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, "Example SAS", NULL);
    htmlDocPtr doc = parse_html(render(p, form, "en", "tok", NULL, NULL));
    apr_array_header_t *inputs = elements(p, doc, "input");
    apr_array_header_t *labels = elements(p, doc, "label");
    apr_hash_t *ids = apr_hash_make(p), *label_for = apr_hash_make(p);
    xmlNodePtr n;
    const char *id, *desc;
    int i, boxes = 0;

    collect_ids(xmlDocGetRootElement(doc), ids, p);
    for (i = 0; i < labels->nelts; i++) {
        n = APR_ARRAY_IDX(labels, i, xmlNodePtr);
        apr_hash_set(label_for, attr(p, n, "for"), APR_HASH_KEY_STRING, n);
    }
    assert_int_equal(inputs->nelts, 5);     /* 2 fields, 2 boxes, token */
    for (i = 0; i < inputs->nelts; i++) {
        n = APR_ARRAY_IDX(inputs, i, xmlNodePtr);
        if (strcmp(attr(p, n, "type"), "hidden") == 0) {
            assert_string_equal(attr(p, n, "name"), "consent_token");
            continue;
        }
        id = attr(p, n, "id");
        assert_true(*id != '\0');
        assert_non_null(apr_hash_get(label_for, id, APR_HASH_KEY_STRING));
        if (strcmp(attr(p, n, "type"), "checkbox") == 0) {
            boxes++;
            desc = attr(p, n, "aria-describedby");
            assert_true(*desc != '\0');
            assert_non_null(apr_hash_get(ids, desc, APR_HASH_KEY_STRING));
        }
    }
    assert_int_equal(boxes, 2);
    xmlFreeDoc(doc);
}

static void test_hostile_texts_inert(void **state)
{
    apr_pool_t *p = *state;
    const char *evil = "<script>alert(1)</script>\"'x\" onmouseover='y";
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, evil, evil);
    const char *out = render(p, form, "en", "tok", NULL, NULL);
    htmlDocPtr doc = parse_html(out);
    apr_array_header_t *inputs = elements(p, doc, "input");
    xmlNodePtr n;
    xmlAttrPtr a;
    int i, seen_box = 0, seen_field = 0;

    assert_null(strstr(out, "<script"));
    assert_null(strstr(out, "'x"));
    assert_int_equal(elements(p, doc, "script")->nelts, 0);
    for (i = 0; i < inputs->nelts; i++) {
        n = APR_ARRAY_IDX(inputs, i, xmlNodePtr);
        for (a = n->properties; a != NULL; a = a->next) {
            assert_true(xmlStrncasecmp(a->name, BAD_CAST "on", 2) != 0);
        }
        /* The value survives the round trip: escaped, not mangled. */
        if (strcmp(attr(p, n, "value"), evil) == 0) {
            assert_string_equal(attr(p, n, "id"),
                                apr_pstrcat(p, "p-", evil, NULL));
            assert_string_equal(attr(p, n, "aria-describedby"),
                                apr_pstrcat(p, "d-", evil, NULL));
            seen_box++;
        }
        if (strcmp(attr(p, n, "name"), evil) == 0) {
            assert_string_equal(attr(p, n, "id"),
                                apr_pstrcat(p, "f-", evil, NULL));
            seen_field++;
        }
    }
    assert_int_equal(seen_box, 1);
    assert_int_equal(seen_field, 1);
    xmlFreeDoc(doc);
}

static void test_token_escaped(void **state)
{
    apr_pool_t *p = *state;
    const char *token = "abc\"><script>alert(1)</script>'";
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, "Example SAS", NULL);
    const char *out = render(p, form, "en", token, NULL, NULL);
    htmlDocPtr doc = parse_html(out);
    apr_array_header_t *inputs = elements(p, doc, "input");
    xmlNodePtr n;
    int i, found = 0;

    assert_null(strstr(out, "<script"));
    for (i = 0; i < inputs->nelts; i++) {
        n = APR_ARRAY_IDX(inputs, i, xmlNodePtr);
        if (strcmp(attr(p, n, "name"), "consent_token") == 0) {
            assert_string_equal(attr(p, n, "type"), "hidden");
            assert_string_equal(attr(p, n, "value"), token);
            found++;
        }
    }
    assert_int_equal(found, 1);
    xmlFreeDoc(doc);
}

static void test_kept_values_escaped(void **state)
{
    apr_pool_t *p = *state;
    const char *evil = "\"><img src=x onerror=alert(1)>'";
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, "Example SAS", NULL);
    apr_table_t *values = apr_table_make(p, 4);
    htmlDocPtr doc;
    apr_array_header_t *inputs;
    const char *out;
    xmlNodePtr n;
    int i, emails = 0, names = 0;

    apr_table_set(values, "email", evil);
    apr_table_set(values, "name", "Zoé & Léa");
    out = render(p, form, "fr", "tok", NULL, values);
    assert_null(strstr(out, "<img"));
    doc = parse_html(out);
    assert_int_equal(elements(p, doc, "img")->nelts, 0);
    inputs = elements(p, doc, "input");
    for (i = 0; i < inputs->nelts; i++) {
        n = APR_ARRAY_IDX(inputs, i, xmlNodePtr);
        if (strcmp(attr(p, n, "name"), "email") == 0) {
            assert_string_equal(attr(p, n, "value"), evil);
            emails++;
        }
        if (strcmp(attr(p, n, "name"), "name") == 0) {
            assert_string_equal(attr(p, n, "value"), "Zoé & Léa");
            names++;
        }
    }
    /* the values must have been shown again, once each, to be checked */
    assert_int_equal(emails, 1);
    assert_int_equal(names, 1);
    xmlFreeDoc(doc);
}

static void test_never_checked(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, "Example SAS", NULL);
    apr_table_t *values = apr_table_make(p, 4);
    const char *lang[] = { "en", "fr" };
    const char *out;
    htmlDocPtr doc;
    apr_array_header_t *inputs;
    int i, l;

    /* Boxes ticked in the submission shown again: still unticked. */
    apr_table_add(values, "consent", "newsletter");
    apr_table_add(values, "consent", "partners");
    apr_table_set(values, "email", "a@example.org");
    for (l = 0; l < 2; l++) {
        out = render(p, form, lang[l], "tok", "error", values);
        assert_null(strstr(out, "checked"));
        doc = parse_html(out);
        inputs = elements(p, doc, "input");
        for (i = 0; i < inputs->nelts; i++) {
            assert_null(xmlHasProp(APR_ARRAY_IDX(inputs, i, xmlNodePtr),
                                   BAD_CAST "checked"));
        }
        xmlFreeDoc(doc);
    }
}

static void test_error_block(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, "Example SAS", NULL);
    const char *msg = consent_ui_text(ui, "fr", "error.expired");
    const char *out = render(p, form, "fr", "tok", msg, NULL);

    assert_non_null(strstr(out, "role=\"alert\""));
    assert_non_null(strstr(out, "Il y a un problème"));
    assert_non_null(strstr(out, "expiré"));
    out = render(p, form, "en", "tok", "<b>bad</b>", NULL);
    assert_non_null(strstr(out, "&lt;b&gt;bad&lt;/b&gt;"));
}

static void test_message_page(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    sink_t sink;

    memset(&sink, 0, sizeof(sink));
    sink.p = p;
    assert_int_equal(consent_render_message(ui, "fr", "error.replay.title",
                                            "error.replay", sink_write,
                                            &sink), APR_SUCCESS);
    assert_non_null(strstr(sink.buf, "<html lang=\"fr\">"));
    assert_non_null(strstr(sink.buf,
                           "<title>Formulaire déjà envoyé</title>"));
    assert_non_null(strstr(sink.buf, "<h1>Formulaire déjà envoyé</h1>"));
    assert_non_null(strstr(sink.buf, "déjà été envoyé"));

    memset(&sink, 0, sizeof(sink));
    sink.p = p;
    assert_int_equal(consent_render_message(ui, "xx", "error.preticked.title",
                                            "error.preticked", sink_write,
                                            &sink), APR_SUCCESS);
    assert_non_null(strstr(sink.buf, "<html lang=\"en\">"));
    assert_non_null(strstr(sink.buf, "A pre-ticked box is not consent"));
}

static void test_withdraw_link_and_notice(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = make_form(p, "Example SAS", NULL);
    apr_array_header_t *problems = apr_array_make(p, 2,
                                                  sizeof(consent_problem_t));
    consent_form_request_t req;
    sink_t sink;

    form->extra_notices = apr_hash_make(p);
    apr_hash_set(form->extra_notices, "en", APR_HASH_KEY_STRING,
                 "Customers get offers <b>like</b> theirs.");
    assert_int_equal(consent_render_compile(ui, form, problems, p),
                     APR_SUCCESS);
    memset(&sink, 0, sizeof(sink));
    memset(&req, 0, sizeof(req));
    sink.p = p;
    req.lang = "en";
    req.token = "tok";
    req.withdraw_url = "/news\"letter/withdraw";
    assert_int_equal(consent_render_form(form, &req, sink_write, &sink),
                     APR_SUCCESS);
    assert_non_null(strstr(sink.buf,
                           "<a href=\"/news&quot;letter/withdraw\">"));
    assert_non_null(strstr(sink.buf, "<p>Customers get offers &lt;b&gt;like"
                                     "&lt;/b&gt; theirs.</p>"));
    /* No notice in French: nothing shown, not an empty paragraph. */
    assert_null(strstr(render(p, form, "fr", "tok", NULL, NULL),
                       "<p></p>"));
}

static const char *confirmation(apr_pool_t *p, const consent_ui_t *ui,
                                const consent_form_t *form,
                                const char *lang)
{
    consent_proof_t proof;
    consent_choice_t *ch;
    sink_t sink;

    memset(&proof, 0, sizeof(proof));
    memset(&sink, 0, sizeof(sink));
    sink.p = p;
    proof.receipt_id = "0d9c<b>-receipt";
    proof.lang = lang;
    proof.choices = apr_array_make(p, 2, sizeof(consent_choice_t));
    ch = apr_array_push(proof.choices);
    ch->purpose = "newsletter";
    ch->state = CONSENT_STATE_GIVEN;
    ch = apr_array_push(proof.choices);
    ch->purpose = "partners";
    ch->state = CONSENT_STATE_REFUSED;
    assert_int_equal(consent_render_confirmation(ui, form, lang, &proof,
                                                 "/newsletter/withdraw",
                                                 sink_write, &sink),
                     APR_SUCCESS);
    return sink.buf;
}

static void test_confirmation_page(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = compiled_form(p, ui, "Example SAS", NULL);
    const char *en = confirmation(p, ui, form, "en");
    const char *fr = confirmation(p, ui, form, "fr");

    assert_non_null(strstr(en, "<html lang=\"en\">"));
    assert_non_null(strstr(en, "<title>Your choices have been recorded"));
    assert_non_null(strstr(en, "0d9c&lt;b&gt;-receipt"));
    assert_non_null(strstr(en, "<td>Send me the monthly newsletter</td>"
                               "<td>given</td>"));
    assert_non_null(strstr(en, "<td>Send me offers from partners</td>"
                               "<td>refused</td>"));
    assert_non_null(strstr(en, "<a href=\"/newsletter/withdraw\">"));
    assert_non_null(strstr(fr, "<html lang=\"fr\">"));
    assert_non_null(strstr(fr, "Vos choix ont été enregistrés"));
    assert_non_null(strstr(fr, "<td>donné</td>"));
    assert_non_null(strstr(fr, "<td>refusé</td>"));
}

static void test_form_language_without_translation(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = make_form(p, "Example SAS", NULL);
    apr_array_header_t *problems = apr_array_make(p, 2,
                                                  sizeof(consent_problem_t));

    APR_ARRAY_PUSH(form->languages, const char *) = "de";
    assert_int_equal(consent_render_compile(ui, form, problems, p),
                     APR_EGENERAL);
    assert_int_equal(problems->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(problems, 0, consent_problem_t).rule,
                        "i18n");
}

static void test_unsafe_policy_link_refused(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = make_form(p, "Example SAS", NULL);
    apr_array_header_t *problems = apr_array_make(p, 2,
                                                  sizeof(consent_problem_t));

    form->controller->policy = "javascript:alert(1)";
    assert_int_equal(consent_render_compile(ui, form, problems, p),
                     APR_EGENERAL);
    assert_true(problems->nelts > 0);
}

/* R5 is one rule: the page refuses what lint refuses, a path too. */
static void test_relative_policy_link_refused(void **state)
{
    apr_pool_t *p = *state;
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_form_t *form = make_form(p, "Example SAS", NULL);
    apr_array_header_t *problems = apr_array_make(p, 2,
                                                  sizeof(consent_problem_t));

    form->controller->policy = "/privacy";
    assert_false(consent_lint_policy_url(p, form->controller->policy));
    assert_int_equal(consent_render_compile(ui, form, problems, p),
                     APR_EGENERAL);
    assert_true(problems->nelts > 0);
    assert_string_equal(APR_ARRAY_IDX(problems, 0, consent_problem_t).rule,
                        "R5");
    assert_true(consent_lint_policy_url(p, "https://example.org/privacy"));
    assert_false(consent_lint_policy_url(p, "https:///privacy"));
}

/* The shipped example, through the real loader (consent_form.c). */
static void test_newsletter_example(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *problems = apr_array_make(p, 2,
                                                  sizeof(consent_problem_t));
    consent_ui_t *ui = load_ui(p, TEMPLATES);
    consent_schema_t *schema = NULL;
    consent_form_t *form = NULL;
    const char *out;

    assert_int_equal(consent_schema_load(&schema,
                                         TEMPLATES "/consent-form.rng",
                                         problems, p), APR_SUCCESS);
    assert_int_equal(consent_form_compile(&form, schema,
                                          TEMPLATES "/examples/newsletter.xml",
                                          problems, p), APR_SUCCESS);
    assert_int_equal(consent_render_compile(ui, form, problems, p),
                     APR_SUCCESS);
    out = render(p, form, "en", "tok", NULL, NULL);
    assert_non_null(strstr(out, "Send me the monthly newsletter"));
    assert_non_null(strstr(out, "name=\"consent\" value=\"partners\""));
    out = render(p, form, "fr", "tok", NULL, NULL);
    assert_non_null(strstr(out, "lettre d&#39;information mensuelle"));
    assert_null(strstr(out, "checked"));
}

static void quiet_log(void *baton, consent_log_level_t level,
                      apr_status_t rv, const char *file, int line,
                      const char *msg)
{
    (void)baton; (void)level; (void)rv; (void)file; (void)line; (void)msg;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_template_bind_render,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_syntax_errors,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_helper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_templates_load,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_preticked_template_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_without_token_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_syntax_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_translation_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ui_text_fallback,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_deferred, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_render_en_fr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_input_labelled,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_texts_inert,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_values_escaped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdraw_link_and_notice,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirmation_page,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_form_language_without_translation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_policy_link_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_policy_link_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_newsletter_example,
                                        setup, teardown),
    };
    int rc;

    apr_initialize();
    consent_log_set(quiet_log, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
