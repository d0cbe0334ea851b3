/*
 * Translations of the user-interface texts (buttons, headings, error
 * messages), one file per language: DIR/<lang>.xml holding
 *   <messages xml:lang="en"><msg key="form.submit">Save my choices</msg>
 *   ...</messages>
 * Messages are plain text: whoever inserts one into a page escapes it.
 * English is the reference: every other language falls back to it.
 */
#ifndef CONSENT_I18N_H
#define CONSENT_I18N_H

#include "consent.h"

#define CONSENT_I18N_FALLBACK "en"

typedef struct consent_i18n_t consent_i18n_t;

/*
 * Loads every <lang>.xml of dir (other files are ignored). Problems (rule
 * "xml" or "i18n") name the file and line; dir/en.xml is required. On any
 * problem returns APR_EGENERAL, *i18n still holds what loaded.
 */
apr_status_t consent_i18n_load_dir(consent_i18n_t **i18n, const char *dir,
                                   apr_array_header_t *problems,
                                   apr_pool_t *p);

/* Languages loaded, sorted. */
const apr_array_header_t *consent_i18n_languages(const consent_i18n_t *i18n);

int consent_i18n_has_lang(const consent_i18n_t *i18n, const char *lang);

/* The message in exactly that language, or NULL. */
const char *consent_i18n_find(const consent_i18n_t *i18n, const char *lang,
                              const char *key);

/* The message in lang, else in English, else the key itself. */
const char *consent_i18n_text(const consent_i18n_t *i18n, const char *lang,
                              const char *key);

#endif
