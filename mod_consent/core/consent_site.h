/*
 * Site compilation, at start-up, for every server: the form definitions
 * a configuration names (loaded, validated, linted once per file, guard
 * definitions also by rule "guard"), the template directories (loaded
 * once each), and each form's pages compiled once per template
 * directory, a definition used with two layouts getting a copy of its
 * own. The nginx adapter uses it; the Apache adapter's consent_config.c
 * does the same with its own copy for now.
 */
#ifndef CONSENT_SITE_H
#define CONSENT_SITE_H

#include "consent_form.h"
#include "consent_render.h"

typedef struct consent_site_t consent_site_t;

/* Everything lives in p (one configuration cycle). */
consent_site_t *consent_site_make(apr_pool_t *p);

/*
 * The definition at path (guard: a guard definition), compiled on first
 * use. The schema is loaded on first use too, from schema_dir when it
 * holds consent-form.rng, else from the installed templates. NULL, with
 * problems naming file, line and rule, when it is refused.
 */
consent_form_t *consent_site_form(consent_site_t *site, const char *path,
                                  int guard, const char *schema_dir,
                                  apr_array_header_t *problems);

/*
 * The pages of *form in template_dir (NULL: the installed templates):
 * the directory's templates and translations, loaded once; *form is
 * replaced by a copy when its pages were already compiled with another
 * directory. NULL, with problems, when they cannot be.
 */
const consent_ui_t *consent_site_pages(consent_site_t *site,
                                       consent_form_t **form,
                                       const char *template_dir,
                                       apr_array_header_t *problems);

#endif
