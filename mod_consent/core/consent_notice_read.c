/*
 * Reads the notice format of consent_notice.c back into its facts. The
 * format is line-based and no value holds a line break, so each line is
 * "key: value" or "field NAME: label" or "purpose ID"; the label and
 * description lines after a purpose line are that purpose's.
 */
#include <stdlib.h>

#include <apr_strings.h>

#include "consent_notice_read.h"

static const char *after(const char *line, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(line, prefix, n) == 0 ? line + n : NULL;
}

/* "ID version V regime R": ids are identifiers, without spaces. */
static int read_form_line(consent_notice_facts_t *n, const char *v,
                          apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, v), *state = NULL;
    const char *id = apr_strtok(copy, " ", &state);
    const char *kv = apr_strtok(NULL, " ", &state);
    const char *ver = apr_strtok(NULL, " ", &state);
    const char *kr = apr_strtok(NULL, " ", &state);
    const char *regime = apr_strtok(NULL, " ", &state);

    if (!id || !kv || strcmp(kv, "version") || !ver || !kr
        || strcmp(kr, "regime") || !regime) {
        return 0;
    }
    n->form_id = id;
    n->form_version = (unsigned)strtoul(ver, NULL, 10);
    n->regime = regime;
    return 1;
}

/* "NAME <CONTACT>", or "NAME" when the definition gave no contact. */
static void read_controller(consent_notice_facts_t *n, const char *v,
                            apr_pool_t *p)
{
    size_t len = strlen(v);
    const char *open = NULL, *s;

    for (s = v; (s = strstr(s, " <")) != NULL; ++s) {
        open = s;
    }
    if (len > 0 && v[len - 1] == '>' && open) {
        n->controller = apr_pstrmemdup(p, v, open - v);
        n->contact = apr_pstrmemdup(p, open + 2, (v + len - 1) - (open + 2));
    }
    else {
        n->controller = v;
    }
}

static consent_notice_purpose_t *last_purpose(consent_notice_facts_t *n)
{
    if (n->purposes->nelts == 0) {
        return NULL;
    }
    return &APR_ARRAY_IDX(n->purposes, n->purposes->nelts - 1,
                          consent_notice_purpose_t);
}

static int read_body_line(consent_notice_facts_t *n, const char *line,
                          apr_pool_t *p)
{
    consent_notice_purpose_t *pp = last_purpose(n);
    const char *v;

    if ((v = after(line, "purpose "))) {
        pp = apr_array_push(n->purposes);
        pp->id = v;
        pp->label = pp->description = "";
    }
    else if ((v = after(line, "field "))) {
        consent_notice_field_t *f = apr_array_push(n->fields);
        const char *colon = strstr(v, ": ");

        if (!colon) {
            return 0;
        }
        f->name = apr_pstrmemdup(p, v, colon - v);
        f->label = colon + 2;
    }
    else if ((v = after(line, "label: ")) && pp) {
        pp->label = v;
    }
    else if ((v = after(line, "description: ")) && pp) {
        pp->description = v;
    }
    else {
        return 0;
    }
    return 1;
}

static int read_line(consent_notice_facts_t *n, const char *line,
                     apr_pool_t *p)
{
    const char *v;

    if ((v = after(line, "form: "))) {
        return read_form_line(n, v, p);
    }
    if ((v = after(line, "site: "))) {
        n->site = v;
    }
    else if ((v = after(line, "language: "))) {
        n->lang = v;
    }
    else if ((v = after(line, "controller: "))) {
        read_controller(n, v, p);
    }
    else if ((v = after(line, "policy: "))) {
        n->policy = v;
    }
    else if ((v = after(line, "notice: "))) {
        n->extra = v;
    }
    else {
        return read_body_line(n, line, p);
    }
    return 1;
}

consent_notice_facts_t *consent_notice_read(apr_pool_t *p, const char *text)
{
    consent_notice_facts_t *n;
    char *copy, *line, *state = NULL;
    const char *v;

    if (text == NULL) {
        return NULL;
    }
    copy = apr_pstrdup(p, text);
    line = apr_strtok(copy, "\n", &state);
    if (!line || !(v = after(line, "notice-format: "))
        || (strcmp(v, "1") != 0 && strcmp(v, "2") != 0)) {
        return NULL;
    }
    n = apr_pcalloc(p, sizeof *n);
    n->format = atoi(v);
    n->fields = apr_array_make(p, 4, sizeof(consent_notice_field_t));
    n->purposes = apr_array_make(p, 4, sizeof(consent_notice_purpose_t));
    while ((line = apr_strtok(NULL, "\n", &state)) != NULL) {
        if (!read_line(n, line, p)) {
            return NULL;
        }
    }
    return n->form_id && n->lang ? n : NULL;
}

const consent_notice_purpose_t *consent_notice_purpose(
    const consent_notice_facts_t *n, const char *id)
{
    int i;

    for (i = 0; n && id && i < n->purposes->nelts; ++i) {
        const consent_notice_purpose_t *pp =
            &APR_ARRAY_IDX(n->purposes, i, consent_notice_purpose_t);

        if (strcmp(pp->id, id) == 0) {
            return pp;
        }
    }
    return NULL;
}
