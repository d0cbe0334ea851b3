/*
 * The canonical notice of a form in one language, and its SHA-256.
 *
 * The digest goes into render tokens and stored proofs, so the bytes below
 * are a stored format: changing any of them changes every digest. Bump
 * NOTICE_FORMAT when they must change, never edit a format in place.
 *
 * Format 1, UTF-8, no BOM, every line ending in one LF (the last too):
 *
 *   notice-format: 1
 *   form: <id> version <version> regime <regime>
 *   site: <site>                        format 2 only (below)
 *   language: <lang>
 *   controller: <name> <<contact>>      only when there is a <controller>;
 *                                       " <contact>" only when non-empty
 *   policy: <policy URL>                only when there is a <controller>
 *   notice: <text>                      only when a <notice> exists in lang
 *   field <name>: <label>               each field, in document order
 *   purpose <id>                        each purpose, in document order,
 *   label: <label>                        followed by its label
 *   description: <description>            and its description
 *
 * <version> is decimal without leading zeros; <lang> is the lower-case
 * xml:lang; <regime> is opt-in, soft-opt-in or b2b. Every text is as the
 * model holds it: trimmed, runs of whitespace collapsed to one space, so
 * no value contains a line break. A missing value (a label absent in this
 * language, a controller without contact...) is written as the empty
 * string; lint refuses such forms anyway.
 *
 * Format 2 is format 1 plus the site line: a form served for a site
 * (ConsentSite, tenancy) names it, so the same definition served by two
 * customers' sites makes two notices. Format 1 notices (no site: consentctl
 * lint, proofs recorded before tenancy) keep their digests.
 */
#include <openssl/evp.h>

#include "consent_notice.h"
#include "consent_hex.h"

#define NOTICE_FORMAT "1"
#define NOTICE_FORMAT_SITE "2"

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static void add_line(apr_array_header_t *lines, apr_pool_t *p,
                     const char *line)
{
    APR_ARRAY_PUSH(lines, const char *) = apr_pstrcat(p, line, "\n", NULL);
}

static void add_header(apr_array_header_t *lines, const consent_form_t *form,
                       const char *lang, apr_pool_t *p)
{
    const consent_controller_t *c = form->controller;
    const char *extra = consent_text(form->extra_notices, lang);
    int sited = form->site && *form->site;

    add_line(lines, p, sited ? "notice-format: " NOTICE_FORMAT_SITE
                             : "notice-format: " NOTICE_FORMAT);
    add_line(lines, p, apr_psprintf(p, "form: %s version %u regime %s",
                                    or_empty(form->id), form->version,
                                    or_empty(form->regime_name)));
    if (sited) {
        add_line(lines, p, apr_pstrcat(p, "site: ", form->site, NULL));
    }
    add_line(lines, p, apr_pstrcat(p, "language: ", lang, NULL));
    if (c != NULL) {
        add_line(lines, p, apr_pstrcat(p, "controller: ", or_empty(c->name),
                                       (c->contact && *c->contact)
                                       ? apr_pstrcat(p, " <", c->contact,
                                                     ">", NULL)
                                       : "", NULL));
        add_line(lines, p, apr_pstrcat(p, "policy: ", or_empty(c->policy),
                                       NULL));
    }
    if (extra != NULL) {
        add_line(lines, p, apr_pstrcat(p, "notice: ", extra, NULL));
    }
}

static void add_body(apr_array_header_t *lines, const consent_form_t *form,
                     const char *lang, apr_pool_t *p)
{
    int i;

    for (i = 0; i < form->fields->nelts; i++) {
        const consent_field_t *f =
            APR_ARRAY_IDX(form->fields, i, consent_field_t *);

        add_line(lines, p, apr_pstrcat(p, "field ", or_empty(f->name), ": ",
                                       or_empty(consent_text(f->labels,
                                                             lang)),
                                       NULL));
    }
    for (i = 0; i < form->purposes->nelts; i++) {
        const consent_purpose_t *pp =
            APR_ARRAY_IDX(form->purposes, i, consent_purpose_t *);

        add_line(lines, p, apr_pstrcat(p, "purpose ", or_empty(pp->id),
                                       NULL));
        add_line(lines, p, apr_pstrcat(p, "label: ",
                                       or_empty(consent_text(pp->labels,
                                                             lang)),
                                       NULL));
        add_line(lines, p, apr_pstrcat(p, "description: ",
                                       or_empty(consent_text(
                                           pp->descriptions, lang)),
                                       NULL));
    }
}

static apr_status_t notice_make(consent_notice_t **out,
                                const consent_form_t *form,
                                const char *lang, apr_pool_t *p)
{
    consent_notice_t *n = apr_pcalloc(p, sizeof *n);
    apr_array_header_t *lines = apr_array_make(p, 16, sizeof(const char *));
    unsigned int mdlen = 0;

    add_header(lines, form, lang, p);
    add_body(lines, form, lang, p);
    n->lang = apr_pstrdup(p, lang);
    n->text = apr_array_pstrcat(p, lines, '\0');
    n->len = strlen(n->text);
    if (!EVP_Digest(n->text, n->len, n->sha256, &mdlen, EVP_sha256(), NULL)
        || mdlen != CONSENT_SHA256_LEN) {
        return APR_EGENERAL;
    }
    n->sha256_hex = consent_hex(p, n->sha256, CONSENT_SHA256_LEN);
    *out = n;
    return APR_SUCCESS;
}

apr_status_t consent_notice_build(consent_form_t *form, apr_pool_t *p)
{
    int i;

    if (form->notices == NULL) {
        form->notices = apr_hash_make(p);
    }
    for (i = 0; i < form->languages->nelts; i++) {
        const char *lang = APR_ARRAY_IDX(form->languages, i, const char *);
        consent_notice_t *n;
        apr_status_t rv = notice_make(&n, form, lang, p);

        if (rv != APR_SUCCESS) {
            return rv;
        }
        apr_hash_set(form->notices, n->lang, APR_HASH_KEY_STRING, n);
    }
    return APR_SUCCESS;
}

const consent_notice_t *consent_notice_get(const consent_form_t *form,
                                           const char *lang)
{
    if (form == NULL || form->notices == NULL || lang == NULL) {
        return NULL;
    }
    return apr_hash_get(form->notices, lang, APR_HASH_KEY_STRING);
}
