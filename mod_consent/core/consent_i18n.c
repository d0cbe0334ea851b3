/*
 * Translation catalogues, read once at start-up with libxml2. No libxml2
 * object outlives a load: the messages are copied into the pool.
 */
#include <stdlib.h>

#include <apr_file_io.h>
#include <apr_lib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "consent_i18n.h"
#include "consent_log.h"
#include "consent_utf8.h"

struct consent_i18n_t {
    apr_pool_t *pool;
    apr_hash_t *langs;              /* lang -> apr_hash_t (key -> text) */
    apr_array_header_t *names;      /* const char*, sorted */
};

/* A BCP 47-looking tag: letters, digits and '-', starting with a letter. */
static int valid_lang(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || len > 35 || !apr_isalpha(s[0])) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!apr_isalnum(s[i]) && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

static int valid_key(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalnum(*s) && *s != '.' && *s != '_' && *s != '-') {
            return 0;
        }
    }
    return 1;
}

static void add_msg(apr_hash_t *msgs, xmlNodePtr node, const char *path,
                    apr_array_header_t *problems, apr_pool_t *p)
{
    xmlChar *key = xmlGetProp(node, BAD_CAST "key");
    xmlChar *content = xmlNodeGetContent(node);
    int line = (int)xmlGetLineNo(node);
    const char *text;

    if (key == NULL || !valid_key((const char *)key)) {
        consent_problem_add(problems, path, line, "i18n",
                            "<msg> needs a key made of letters, digits, "
                            "'.', '_' or '-'");
    }
    else if (apr_hash_get(msgs, key, APR_HASH_KEY_STRING) != NULL) {
        consent_problem_add(problems, path, line, "i18n",
                            "duplicate message key '%s'", (char *)key);
    }
    else {
        text = consent_text_collapse(p, content ? (const char *)content
                                                : "");
        if (*text == '\0') {
            consent_problem_add(problems, path, line, "i18n",
                                "message '%s' is empty", (char *)key);
        }
        apr_hash_set(msgs, apr_pstrdup(p, (const char *)key),
                     APR_HASH_KEY_STRING, text);
    }
    xmlFree(key);
    xmlFree(content);
}

/* Checks <messages xml:lang="LANG"> and reads its <msg> children. */
static void read_messages(apr_hash_t *msgs, xmlDocPtr doc, const char *path,
                          const char *lang, apr_array_header_t *problems,
                          apr_pool_t *p)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), n;
    xmlChar *doc_lang;

    if (root == NULL || root->ns != NULL
        || !xmlStrEqual(root->name, BAD_CAST "messages")) {
        consent_problem_add(problems, path, root ? (int)xmlGetLineNo(root) : 0,
                            "i18n", "the root element must be <messages>");
        return;
    }
    doc_lang = xmlNodeGetLang(root);
    if (doc_lang == NULL || strcasecmp((char *)doc_lang, lang) != 0) {
        consent_problem_add(problems, path, (int)xmlGetLineNo(root), "i18n",
                            "<messages> must have xml:lang=\"%s\", as the "
                            "file name says", lang);
    }
    xmlFree(doc_lang);
    for (n = root->children; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (n->ns != NULL || !xmlStrEqual(n->name, BAD_CAST "msg")) {
            consent_problem_add(problems, path, (int)xmlGetLineNo(n), "i18n",
                                "unexpected element <%s>", (char *)n->name);
            continue;
        }
        add_msg(msgs, n, path, problems, p);
    }
}

static apr_status_t load_file(consent_i18n_t *i18n, const char *path,
                              const char *lang, apr_array_header_t *problems)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    xmlDocPtr doc;
    const xmlError *err;
    apr_hash_t *msgs;
    int before = problems->nelts;

    if (ctxt == NULL) {
        return APR_ENOMEM;
    }
    /* No network, no entity substitution: a catalogue is plain data. */
    doc = xmlCtxtReadFile(ctxt, path, NULL, XML_PARSE_NONET
                          | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        err = xmlCtxtGetLastError(ctxt);
        consent_problem_add(problems, path, err ? err->line : 0, "xml",
                            "%s", err && err->message
                            ? consent_text_collapse(i18n->pool,
                                                    err->message)
                            : "cannot parse");
        xmlFreeParserCtxt(ctxt);
        return APR_EGENERAL;
    }
    msgs = apr_hash_make(i18n->pool);
    read_messages(msgs, doc, path, lang, problems, i18n->pool);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    apr_hash_set(i18n->langs, lang, APR_HASH_KEY_STRING, msgs);
    return problems->nelts > before ? APR_EGENERAL : APR_SUCCESS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every other language should say what English says; a gap falls back. */
static void warn_missing(const consent_i18n_t *i18n, const char *dir)
{
    apr_hash_t *en = apr_hash_get(i18n->langs, CONSENT_I18N_FALLBACK,
                                  APR_HASH_KEY_STRING);
    apr_hash_index_t *hi;
    const char *lang, *key;
    int i;

    for (i = 0; en != NULL && i < i18n->names->nelts; i++) {
        lang = APR_ARRAY_IDX(i18n->names, i, const char *);
        for (hi = apr_hash_first(NULL, en); hi; hi = apr_hash_next(hi)) {
            key = apr_hash_this_key(hi);
            if (consent_i18n_find(i18n, lang, key) == NULL) {
                consent_log(CONSENT_LOG_WARNING, APR_SUCCESS,
                            "%s/%s.xml: no message '%s', English is shown",
                            dir, lang, key);
            }
        }
    }
}

apr_status_t consent_i18n_load_dir(consent_i18n_t **i18n, const char *dir,
                                   apr_array_header_t *problems,
                                   apr_pool_t *p)
{
    consent_i18n_t *c = apr_pcalloc(p, sizeof(*c));
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv, result = APR_SUCCESS;
    apr_size_t len;
    const char *lang;
    char err[120];

    c->pool = p;
    c->langs = apr_hash_make(p);
    c->names = apr_array_make(p, 4, sizeof(const char *));
    *i18n = c;
    rv = apr_dir_open(&d, dir, p);
    if (rv != APR_SUCCESS) {
        consent_problem_add(problems, dir, 0, "i18n",
                            "cannot open the translations directory: %s",
                            apr_strerror(rv, err, sizeof(err)));
        return rv;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        len = strlen(fi.name);
        if (fi.filetype != APR_REG || len < 5
            || strcmp(fi.name + len - 4, ".xml") != 0
            || !valid_lang(fi.name, len - 4)) {
            continue;
        }
        lang = apr_pstrndup(p, fi.name, len - 4);
        if (load_file(c, apr_pstrcat(p, dir, "/", fi.name, NULL), lang,
                      problems) != APR_SUCCESS) {
            result = APR_EGENERAL;
        }
        APR_ARRAY_PUSH(c->names, const char *) = lang;
    }
    apr_dir_close(d);
    qsort(c->names->elts, c->names->nelts, sizeof(const char *), cmp_str);
    if (!consent_i18n_has_lang(c, CONSENT_I18N_FALLBACK)) {
        consent_problem_add(problems, apr_pstrcat(p, dir, "/en.xml", NULL),
                            0, "i18n", "missing: English is the language "
                            "every other one falls back to");
        return APR_EGENERAL;
    }
    warn_missing(c, dir);
    return result;
}

const apr_array_header_t *consent_i18n_languages(const consent_i18n_t *i18n)
{
    return i18n->names;
}

int consent_i18n_has_lang(const consent_i18n_t *i18n, const char *lang)
{
    return lang != NULL
           && apr_hash_get(i18n->langs, lang, APR_HASH_KEY_STRING) != NULL;
}

const char *consent_i18n_find(const consent_i18n_t *i18n, const char *lang,
                              const char *key)
{
    apr_hash_t *msgs;

    if (lang == NULL || key == NULL) {
        return NULL;
    }
    msgs = apr_hash_get(i18n->langs, lang, APR_HASH_KEY_STRING);
    return msgs ? apr_hash_get(msgs, key, APR_HASH_KEY_STRING) : NULL;
}

const char *consent_i18n_text(const consent_i18n_t *i18n, const char *lang,
                              const char *key)
{
    const char *s = consent_i18n_find(i18n, lang, key);

    if (s == NULL) {
        s = consent_i18n_find(i18n, CONSENT_I18N_FALLBACK, key);
    }
    return s ? s : key;
}
