/*
 * Form definitions: libxml2 parses, the RELAX NG schema validates, and this
 * file turns the tree into the consent_form_t model. The rules of LEGAL.md
 * are consent_lint()'s business; here only the shape is checked.
 *
 * Every libxml2 object is owned by a scratch pool whose cleanups free it,
 * so no path out of a function can leak one; the model is copied into the
 * caller's pool before the scratch pool goes.
 *
 * Lines are libxml2's, as xmllint prints them: an element's line is the
 * one its start tag ends on, for schema errors and lint alike.
 */
#include <limits.h>

#include <apr_file_io.h>
#include <apr_lib.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>  /* xmlCreateMemoryParserCtxt */
#include <libxml/relaxng.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>

#include "consent_form.h"
#include "consent_lint.h"
#include "consent_notice.h"
#include "consent_file.h"
#include "consent_utf8.h"

/* Definitions are a few kilobytes; refuse anything absurd before parsing. */
#define FORM_MAX_SIZE (1024 * 1024)

/* One broken file should not bury the others in consentctl's output. */
#define MAX_XML_PROBLEMS 20

/* The structured-error callback's argument type changed in libxml2 2.12. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_ptr;
#else
typedef xmlErrorPtr xml_error_ptr;
#endif

struct consent_schema_t {
    const char *path;
    xmlRelaxNGPtr rng;
};

/* Where libxml2's errors go while one document is handled. */
typedef struct {
    apr_array_header_t *problems;
    const char *file;
    const char *rule;       /* "xml" while parsing, "schema" validating */
    int count;
} error_sink_t;

/* Per-parse state, reached from the SAX callbacks through ctxt->_private. */
typedef struct {
    error_sink_t sink;
    int doctype_line;       /* > 0 once a DOCTYPE was met */
} parse_state_t;

/* What the model builder carries from element to element. */
typedef struct {
    consent_form_t *form;
    apr_hash_t *seen_langs;
    apr_array_header_t *problems;
    apr_pool_t *p;
    int errors;
} builder_t;

/* ---- libxml2 objects owned by pools -------------------------------- */

static apr_status_t free_doc(void *doc)
{
    xmlFreeDoc(doc);
    return APR_SUCCESS;
}

static apr_status_t free_parser_ctxt(void *ctxt)
{
    xmlFreeParserCtxt(ctxt);
    return APR_SUCCESS;
}

static apr_status_t free_rng(void *rng)
{
    xmlRelaxNGFree(rng);
    return APR_SUCCESS;
}

/* ---- errors --------------------------------------------------------- */

static void sink_add(error_sink_t *sink, int line, const char *msg)
{
    apr_array_header_t *pbs = sink->problems;
    char *text;
    apr_size_t n;

    if (sink->count++ == MAX_XML_PROBLEMS) {
        consent_problem_add(pbs, sink->file, 0, sink->rule,
                            "too many errors, giving up on this file");
        return;
    }
    if (sink->count > MAX_XML_PROBLEMS) {
        return;
    }
    text = apr_pstrdup(pbs->pool, msg ? msg : "unknown libxml2 error");
    n = strlen(text);
    while (n > 0 && apr_isspace(text[n - 1])) {
        text[--n] = '\0';
    }
    /* libxml2's RELAX NG validator may say the same thing twice. */
    if (pbs->nelts > 0) {
        const consent_problem_t *last =
            &APR_ARRAY_IDX(pbs, pbs->nelts - 1, consent_problem_t);
        if (last->line == line && strcmp(last->message, text) == 0
            && strcmp(last->rule, sink->rule) == 0) {
            return;
        }
    }
    consent_problem_add(pbs, sink->file, line, sink->rule, "%s", text);
}

static void sink_error(error_sink_t *sink, xml_error_ptr err)
{
    int line;

    /* A warning does not make a definition wrong. */
    if (err == NULL || err->level == XML_ERR_WARNING) {
        return;
    }
    line = err->line;
    if (line <= 0 && err->node != NULL) {
        line = (int)xmlGetLineNo((xmlNodePtr)err->node);
    }
    sink_add(sink, line > 0 ? line : 0, err->message);
}

/* The parser hands its own context as user data, see xmlInitParserCtxt. */
static void parser_error(void *user, xml_error_ptr err)
{
    xmlParserCtxtPtr ctxt = user;

    sink_error(&((parse_state_t *)ctxt->_private)->sink, err);
}

static void validity_error(void *user, xml_error_ptr err)
{
    sink_error(user, err);
}

/*
 * A form definition has no use for a DTD, and a DTD is how XML reaches
 * files and hosts it should not (external entities, XXE) or expands
 * entities without bound. The parser stops at the DOCTYPE, before any
 * declaration in it is read.
 */
static void refuse_doctype(void *user, const xmlChar *name,
                           const xmlChar *external_id,
                           const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = user;
    parse_state_t *st = ctxt->_private;

    st->doctype_line = xmlSAX2GetLineNumber(ctxt);
    if (st->doctype_line <= 0) {
        st->doctype_line = 1;
    }
    xmlStopParser(ctxt);
}

/* ---- parsing -------------------------------------------------------- */

static xmlParserCtxtPtr new_parser(const char *buf, apr_size_t len,
                                   parse_state_t *st, apr_pool_t *scratch)
{
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);

    if (ctxt == NULL) {
        return NULL;
    }
    apr_pool_cleanup_register(scratch, ctxt, free_parser_ctxt,
                              apr_pool_cleanup_null);
    /* No XML_PARSE_NOENT nor DTDLOAD: entities are never loaded. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA
                            | XML_PARSE_BIG_LINES);
    ctxt->_private = st;
    ctxt->sax->serror = parser_error;
    ctxt->sax->internalSubset = refuse_doctype;
    return ctxt;
}

/*
 * Parses buf into a document owned by scratch, or returns NULL after
 * adding "xml" problems.
 */
static xmlDocPtr parse_xml(const char *name, const char *buf,
                           apr_size_t len, apr_array_header_t *problems,
                           apr_pool_t *scratch)
{
    parse_state_t st;
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc;
    int before = problems->nelts;

    memset(&st, 0, sizeof st);
    st.sink.problems = problems;
    st.sink.file = name;
    st.sink.rule = "xml";
    if (len == 0 || len > FORM_MAX_SIZE) {
        consent_problem_add(problems, name, 0, "xml", len
                            ? "file is larger than %d bytes"
                            : "file is empty (at most %d bytes)",
                            FORM_MAX_SIZE);
        return NULL;
    }
    ctxt = new_parser(buf, len, &st, scratch);
    if (ctxt == NULL) {
        consent_problem_add(problems, name, 0, "xml",
                            "cannot create an XML parser");
        return NULL;
    }
    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    if (doc != NULL) {
        apr_pool_cleanup_register(scratch, doc, free_doc,
                                  apr_pool_cleanup_null);
    }
    if (st.doctype_line > 0) {
        consent_problem_add(problems, name, st.doctype_line, "xml",
                            "a DOCTYPE is not allowed in a form definition "
                            "(DTDs and entities are never processed)");
        return NULL;
    }
    if (doc == NULL || !ctxt->wellFormed || problems->nelts > before) {
        if (problems->nelts == before) {
            consent_problem_add(problems, name, 0, "xml",
                                "not a well-formed XML document");
        }
        return NULL;
    }
    return doc;
}

/* ---- the schema ----------------------------------------------------- */

static xmlRelaxNGPtr compile_schema(xmlDocPtr doc, const char *path,
                                    apr_array_header_t *problems)
{
    error_sink_t sink = { problems, path, "schema", 0 };
    xmlRelaxNGParserCtxtPtr pctxt;
    xmlRelaxNGPtr rng = NULL;

    /* The parser context works on its own copy of doc. */
    pctxt = xmlRelaxNGNewDocParserCtxt(doc);
    if (pctxt != NULL) {
        xmlRelaxNGSetParserStructuredErrors(pctxt, validity_error, &sink);
        rng = xmlRelaxNGParse(pctxt);
        xmlRelaxNGFreeParserCtxt(pctxt);
    }
    if (rng == NULL && sink.count == 0) {
        consent_problem_add(problems, path, 0, "schema",
                            "not a usable RELAX NG schema");
    }
    return rng;
}

apr_status_t consent_schema_load(consent_schema_t **schema, const char *path,
                                 apr_array_header_t *problems, apr_pool_t *p)
{
    apr_pool_t *scratch;
    xmlRelaxNGPtr rng = NULL;
    const char *buf;
    apr_size_t len;
    xmlDocPtr doc;

    *schema = NULL;
    xmlInitParser();
    apr_pool_create(&scratch, p);
    if (consent_file_read(path, FORM_MAX_SIZE, "schema", &buf, &len,
                          problems, scratch)
        == APR_SUCCESS) {
        doc = parse_xml(path, buf, len, problems, scratch);
        rng = doc ? compile_schema(doc, path, problems) : NULL;
    }
    apr_pool_destroy(scratch);
    if (rng == NULL) {
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, rng, free_rng, apr_pool_cleanup_null);
    *schema = apr_pcalloc(p, sizeof **schema);
    (*schema)->path = apr_pstrdup(p, path);
    (*schema)->rng = rng;
    return APR_SUCCESS;
}

static apr_status_t validate(const consent_schema_t *schema, xmlDocPtr doc,
                             const char *name, apr_array_header_t *problems)
{
    error_sink_t sink = { problems, name, "schema", 0 };
    xmlRelaxNGValidCtxtPtr vctxt;
    int rc = -1;

    vctxt = xmlRelaxNGNewValidCtxt(schema->rng);
    if (vctxt != NULL) {
        xmlRelaxNGSetValidStructuredErrors(vctxt, validity_error, &sink);
        rc = xmlRelaxNGValidateDoc(vctxt, doc);
        xmlRelaxNGFreeValidCtxt(vctxt);
    }
    if (rc == 0) {
        return APR_SUCCESS;
    }
    if (sink.count == 0) {
        consent_problem_add(problems, name, 0, "schema",
                            "does not match %s", schema->path);
    }
    return APR_EGENERAL;
}

/* ---- from tree to model --------------------------------------------- */

static const char *get_attr(apr_pool_t *p, xmlNodePtr node, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(node, (const xmlChar *)name);
    const char *s;

    if (v == NULL) {
        return NULL;
    }
    s = consent_text_collapse(p, (const char *)v);
    xmlFree(v);
    return s;
}

static const char *get_text(apr_pool_t *p, xmlNodePtr node)
{
    xmlChar *v = xmlNodeGetContent(node);
    const char *s = consent_text_collapse(p, v ? (const char *)v : "");

    xmlFree(v);
    return s;
}

/* Language tags compare case-insensitively (BCP 47): keep them lower. */
static const char *get_lang(apr_pool_t *p, xmlNodePtr node)
{
    xmlChar *v = xmlGetNsProp(node, (const xmlChar *)"lang",
                              XML_XML_NAMESPACE);
    char *s, *c;

    if (v == NULL) {
        return NULL;
    }
    s = (char *)consent_text_collapse(p, (const char *)v);
    xmlFree(v);
    for (c = s; *c; c++) {
        *c = apr_tolower(*c);
    }
    return s;
}

static int is_elem(xmlNodePtr node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && node->ns != NULL
           && xmlStrEqual(node->ns->href, (const xmlChar *)CONSENT_XMLNS)
           && xmlStrEqual(node->name, (const xmlChar *)name);
}

static int line_of(xmlNodePtr node)
{
    long line = xmlGetLineNo(node);

    return line > 0 && line < INT_MAX ? (int)line : 0;
}

static int is_true(const char *v)
{
    return v != NULL && strcmp(v, "true") == 0;
}

/*
 * Files one label, description or notice under its language. Two texts in
 * one language would leave the notice ambiguous, so that is refused here
 * (the schema cannot say it).
 */
static void add_text(builder_t *b, apr_hash_t *texts, xmlNodePtr node,
                     const char *owner, int offered)
{
    const char *lang = get_lang(b->p, node);

    if (lang == NULL) {
        return;
    }
    if (apr_hash_get(texts, lang, APR_HASH_KEY_STRING) != NULL) {
        consent_problem_add(b->problems, b->form->file, line_of(node),
                            "schema", "%s has two <%s> in \"%s\"", owner,
                            (const char *)node->name, lang);
        b->errors++;
        return;
    }
    apr_hash_set(texts, lang, APR_HASH_KEY_STRING, get_text(b->p, node));
    if (offered && !apr_hash_get(b->seen_langs, lang, APR_HASH_KEY_STRING)) {
        apr_hash_set(b->seen_langs, lang, APR_HASH_KEY_STRING, lang);
        APR_ARRAY_PUSH(b->form->languages, const char *) = lang;
    }
}

static void build_controller(builder_t *b, xmlNodePtr node)
{
    consent_controller_t *c = apr_pcalloc(b->p, sizeof *c);

    c->name = get_attr(b->p, node, "name");
    c->contact = get_attr(b->p, node, "contact");
    c->policy = get_attr(b->p, node, "policy");
    c->line = line_of(node);
    b->form->controller = c;
}

static void build_field(builder_t *b, xmlNodePtr node)
{
    consent_field_t *f = apr_pcalloc(b->p, sizeof *f);
    const char *owner;
    xmlNodePtr child;

    f->name = get_attr(b->p, node, "name");
    f->type = get_attr(b->p, node, "type");
    f->required = is_true(get_attr(b->p, node, "required"));
    f->subject = is_true(get_attr(b->p, node, "subject"));
    f->labels = apr_hash_make(b->p);
    f->line = line_of(node);
    owner = apr_psprintf(b->p, "field \"%s\"", f->name ? f->name : "");
    for (child = node->children; child != NULL; child = child->next) {
        if (is_elem(child, "label")) {
            add_text(b, f->labels, child, owner, 1);
        }
    }
    APR_ARRAY_PUSH(b->form->fields, consent_field_t *) = f;
}

static void build_purpose(builder_t *b, xmlNodePtr node)
{
    consent_purpose_t *pp = apr_pcalloc(b->p, sizeof *pp);
    const char *owner;
    xmlNodePtr child;

    pp->id = get_attr(b->p, node, "id");
    pp->input = get_attr(b->p, node, "input");
    pp->default_attr = get_attr(b->p, node, "default");
    pp->checked_attr = get_attr(b->p, node, "checked");
    pp->required_attr = get_attr(b->p, node, "required");
    pp->labels = apr_hash_make(b->p);
    pp->descriptions = apr_hash_make(b->p);
    pp->line = line_of(node);
    owner = apr_psprintf(b->p, "purpose \"%s\"", pp->id ? pp->id : "");
    for (child = node->children; child != NULL; child = child->next) {
        if (is_elem(child, "label")) {
            add_text(b, pp->labels, child, owner, 1);
        }
        else if (is_elem(child, "description")) {
            add_text(b, pp->descriptions, child, owner, 1);
        }
    }
    APR_ARRAY_PUSH(b->form->purposes, consent_purpose_t *) = pp;
}

static void build_root_attrs(builder_t *b, xmlNodePtr root)
{
    consent_form_t *form = b->form;
    const char *version = get_attr(b->p, root, "version");
    apr_int64_t v = version ? apr_strtoi64(version, NULL, 10) : 0;

    form->line = line_of(root);
    form->id = get_attr(b->p, root, "id");
    /* The schema bounds it; the check keeps the cast honest anyway. */
    form->version = (v > 0 && v <= (apr_int64_t)UINT_MAX) ? (unsigned)v : 0;
    form->regime_name = get_attr(b->p, root, "regime");
    if (form->regime_name == NULL) {
        form->regime_name = "opt-in";
    }
    if (strcmp(form->regime_name, "soft-opt-in") == 0) {
        form->regime = CONSENT_REGIME_SOFT_OPT_IN;
    }
    else if (strcmp(form->regime_name, "b2b") == 0) {
        form->regime = CONSENT_REGIME_B2B;
    }
    else {
        form->regime = CONSENT_REGIME_OPT_IN;
    }
}

/* subject="true" wins; else the first email field; else none (R7). */
static const consent_field_t *find_subject(const consent_form_t *form)
{
    int i;

    for (i = 0; i < form->fields->nelts; i++) {
        const consent_field_t *f =
            APR_ARRAY_IDX(form->fields, i, consent_field_t *);
        if (f->subject) {
            return f;
        }
    }
    for (i = 0; i < form->fields->nelts; i++) {
        const consent_field_t *f =
            APR_ARRAY_IDX(form->fields, i, consent_field_t *);
        if (f->type != NULL && strcmp(f->type, "email") == 0) {
            return f;
        }
    }
    return NULL;
}

static consent_form_t *new_form(const char *name, apr_pool_t *p)
{
    consent_form_t *form = apr_pcalloc(p, sizeof *form);

    form->file = apr_pstrdup(p, name);
    form->fields = apr_array_make(p, 4, sizeof(consent_field_t *));
    form->purposes = apr_array_make(p, 4, sizeof(consent_purpose_t *));
    form->languages = apr_array_make(p, 2, sizeof(const char *));
    form->notices = apr_hash_make(p);
    form->pages = apr_hash_make(p);
    form->extra_notices = apr_hash_make(p);
    return form;
}

static apr_status_t build_form(consent_form_t **out, xmlDocPtr doc,
                               const char *name,
                               apr_array_header_t *problems, apr_pool_t *p)
{
    builder_t b;
    xmlNodePtr root = xmlDocGetRootElement(doc), node;

    b.form = new_form(name, p);
    b.seen_langs = apr_hash_make(p);
    b.problems = problems;
    b.p = p;
    b.errors = 0;
    if (root == NULL || !is_elem(root, "consent-form")) {
        consent_problem_add(problems, name, root ? line_of(root) : 0,
                            "schema", "the root element must be "
                            "<consent-form xmlns=\"" CONSENT_XMLNS "\">");
        return APR_EGENERAL;
    }
    build_root_attrs(&b, root);
    for (node = root->children; node != NULL; node = node->next) {
        if (is_elem(node, "controller")) {
            build_controller(&b, node);
        }
        else if (is_elem(node, "field")) {
            build_field(&b, node);
        }
        else if (is_elem(node, "purpose")) {
            build_purpose(&b, node);
        }
        else if (is_elem(node, "notice")) {
            add_text(&b, b.form->extra_notices, node, "the form", 0);
        }
    }
    b.form->subject = find_subject(b.form);
    *out = b.form;
    return b.errors ? APR_EGENERAL : APR_SUCCESS;
}

/* ---- public --------------------------------------------------------- */

apr_status_t consent_form_load_memory(consent_form_t **form,
                                      const consent_schema_t *schema,
                                      const char *name, const char *buf,
                                      apr_size_t len,
                                      apr_array_header_t *problems,
                                      apr_pool_t *p)
{
    apr_pool_t *scratch;
    xmlDocPtr doc;
    apr_status_t rv = APR_EGENERAL;

    *form = NULL;
    if (schema == NULL) {
        consent_problem_add(problems, name, 0, "schema",
                            "no schema to validate against");
        return APR_EINVAL;
    }
    xmlInitParser();
    apr_pool_create(&scratch, p);
    doc = parse_xml(name, buf, len, problems, scratch);
    if (doc != NULL && validate(schema, doc, name, problems) == APR_SUCCESS) {
        rv = build_form(form, doc, name, problems, p);
    }
    apr_pool_destroy(scratch);
    if (rv != APR_SUCCESS) {
        *form = NULL;
    }
    return rv;
}

apr_status_t consent_form_load(consent_form_t **form,
                               const consent_schema_t *schema,
                               const char *path,
                               apr_array_header_t *problems, apr_pool_t *p)
{
    apr_pool_t *scratch;
    const char *buf;
    apr_size_t len;
    apr_status_t rv;

    *form = NULL;
    apr_pool_create(&scratch, p);
    rv = consent_file_read(path, FORM_MAX_SIZE, "xml", &buf, &len,
                           problems, scratch);
    if (rv == APR_SUCCESS) {
        rv = consent_form_load_memory(form, schema, path, buf, len,
                                      problems, p);
    }
    apr_pool_destroy(scratch);
    return rv;
}

apr_status_t consent_form_compile(consent_form_t **form,
                                  const consent_schema_t *schema,
                                  const char *path,
                                  apr_array_header_t *problems,
                                  apr_pool_t *p)
{
    apr_status_t rv;
    int before = problems->nelts;

    rv = consent_form_load(form, schema, path, problems, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    consent_lint(*form, problems);
    rv = consent_notice_build(*form, p);
    if (rv == APR_SUCCESS && problems->nelts > before) {
        rv = APR_EGENERAL;
    }
    return rv;
}

int consent_form_purpose_index(const consent_form_t *form, const char *id)
{
    int i;

    if (form == NULL || id == NULL) {
        return -1;
    }
    for (i = 0; i < form->purposes->nelts; i++) {
        const consent_purpose_t *pp =
            APR_ARRAY_IDX(form->purposes, i, consent_purpose_t *);
        if (pp->id != NULL && strcmp(pp->id, id) == 0) {
            return i;
        }
    }
    return -1;
}

const char *consent_text(apr_hash_t *texts, const char *lang)
{
    if (texts == NULL || lang == NULL) {
        return NULL;
    }
    return apr_hash_get(texts, lang, APR_HASH_KEY_STRING);
}
