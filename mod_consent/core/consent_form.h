/*
 * Form definitions: the XML of DESIGN.md (namespace urn:mod-consent:form:1)
 * loaded with libxml2, validated against templates/consent-form.rng, and
 * turned into this model. Loading only checks the schema; the rules of
 * LEGAL.md are checked by consent_lint() so that each refusal names its rule.
 */
#ifndef CONSENT_FORM_H
#define CONSENT_FORM_H

#include "consent.h"

typedef enum {
    CONSENT_REGIME_OPT_IN = 0,      /* R8, the default */
    CONSENT_REGIME_SOFT_OPT_IN,     /* R9 */
    CONSENT_REGIME_B2B              /* R10 */
} consent_regime_t;

/* A personal-data input (email, name...): not a consent. */
typedef struct {
    const char *name;           /* the form field name */
    const char *type;           /* "text", "email" or "tel" */
    int required;
    int subject;                /* identifies the person (see form->subject) */
    apr_hash_t *labels;         /* xml:lang -> const char* */
    int line;
} consent_field_t;

/* One purpose, one box (R3). */
typedef struct {
    const char *id;
    const char *input;          /* guard mode: the application's box, or NULL */
    /* Raw attributes kept as written so lint can refuse them (R1, R4). */
    const char *default_attr;   /* "default" attribute, or NULL */
    const char *checked_attr;   /* "checked" attribute, or NULL */
    const char *required_attr;  /* "required" attribute, or NULL */
    apr_hash_t *labels;         /* xml:lang -> const char* */
    apr_hash_t *descriptions;   /* xml:lang -> const char* */
    int line;
} consent_purpose_t;

typedef struct {
    const char *name;
    const char *contact;
    const char *policy;         /* privacy policy URL */
    int line;
} consent_controller_t;

typedef struct consent_form_t {
    const char *file;
    int line;                   /* line of the root element */
    const char *id;
    unsigned version;
    const char *regime_name;    /* as written; "opt-in" when absent */
    consent_regime_t regime;
    consent_controller_t *controller;   /* NULL when absent (lint: R5) */
    apr_array_header_t *fields;         /* consent_field_t* */
    apr_array_header_t *purposes;       /* consent_purpose_t* in order */
    apr_array_header_t *languages;      /* const char*, first seen first */
    const consent_field_t *subject;     /* subject="true" field, else the
                                           first email field, else NULL */
    apr_hash_t *notices;   /* lang -> consent_notice_t*, consent_notice_build */
    apr_hash_t *pages;     /* lang -> compiled page, consent_render_compile */
    apr_hash_t *extra_notices;  /* lang -> const char*: <notice> texts
                                   shown with the form (soft-opt-in, b2b),
                                   part of the notice digest */
    const char *site;      /* the site it is served for (ConsentSite),
                              named by the notice; NULL: none (lint) */
    /* pages compiled on first use (consent_render_lazy.c): the layout
     * they are compiled with, while pages is still NULL */
    const struct consent_ui_t *lazy_ui;
} consent_form_t;

/* A compiled RELAX NG schema, loaded once and shared by every form. */
typedef struct consent_schema_t consent_schema_t;

/* Loads the schema (registers a pool cleanup that frees it). */
apr_status_t consent_schema_load(consent_schema_t **schema, const char *path,
                                 apr_array_header_t *problems, apr_pool_t *p);

/*
 * Parses and validates one definition. On failure returns APR_EGENERAL and
 * appends problems naming the file and line (rule "xml" or "schema").
 * No libxml2 object outlives the call: the model lives in p.
 */
apr_status_t consent_form_load(consent_form_t **form,
                               const consent_schema_t *schema,
                               const char *path,
                               apr_array_header_t *problems, apr_pool_t *p);

/* The same from memory (fuzzers, tests); name is used in messages. */
apr_status_t consent_form_load_memory(consent_form_t **form,
                                      const consent_schema_t *schema,
                                      const char *name, const char *buf,
                                      apr_size_t len,
                                      apr_array_header_t *problems,
                                      apr_pool_t *p);

/*
 * What start-up and `consentctl lint` both do: load, lint, build the
 * notices. APR_SUCCESS only if there is no problem at all.
 */
apr_status_t consent_form_compile(consent_form_t **form,
                                  const consent_schema_t *schema,
                                  const char *path,
                                  apr_array_header_t *problems,
                                  apr_pool_t *p);

/* Index of a purpose by id, or -1. */
int consent_form_purpose_index(const consent_form_t *form, const char *id);

/* Label/description in lang, NULL when missing. */
const char *consent_text(apr_hash_t *texts, const char *lang);

#endif
