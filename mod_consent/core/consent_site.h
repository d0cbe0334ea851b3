/*
 * Site compilation, at start-up, for every server: the form definitions
 * a configuration names (loaded, validated, linted once per file, guard
 * definitions also by rule "guard"), the template directories (loaded
 * once each), and each form's pages compiled once per template
 * directory, a definition used with two layouts getting a copy of its
 * own, and served by two sites another copy (the notice names the site).
 * Both adapters use it.
 */
#ifndef CONSENT_SITE_H
#define CONSENT_SITE_H

#include "consent_form.h"
#include "consent_render.h"
#include "consent_style.h"

typedef struct consent_site_t consent_site_t;

/* Everything lives in p (one configuration cycle). */
consent_site_t *consent_site_make(apr_pool_t *p);

/* Pages are then checked at start-up but compiled on first use in each
 * process (consent_render_defer): a server with a definition per virtual
 * host keeps only the pages a process serves. */
void consent_site_lazy(consent_site_t *site);

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

/* consent_site_pages() in two steps, for a layout with a stylesheet:
 * the templates and translations of template_dir (NULL: the installed
 * ones), loaded once; then *form's pages with ui, compiled once per ui
 * (*form replaced by a copy when compiled with another). */
const consent_ui_t *consent_site_ui(consent_site_t *site,
                                    const char *template_dir,
                                    apr_array_header_t *problems);
int consent_site_compile(consent_site_t *site, consent_form_t **form,
                         const consent_ui_t *ui,
                         apr_array_header_t *problems);

/*
 * The stylesheet a location serves at L/consent.css: the theme of
 * template_dir (its consent.css, else the installed one) extended by
 * style_file (NULL: none), loaded once per pair. NULL with problems when
 * refused; NULL without problems when there is no theme at all (the
 * pages are unstyled).
 */
const consent_style_t *consent_site_style(consent_site_t *site,
                                          const char *template_dir,
                                          const char *style_file,
                                          apr_array_header_t *problems);

/* ui whose pages link style as served at location, one copy per place. */
const consent_ui_t *consent_site_styled(consent_site_t *site,
                                        const consent_ui_t *ui,
                                        const consent_style_t *style,
                                        const char *location);

/*
 * form as served by the site name: the notice names the site
 * (consent_notice.c, format 2), so a definition served by two sites is
 * two forms. The first site takes form, another gets a copy with its own
 * notices, made once per form and site (sharing the pages when form's
 * are compiled already). NULL when the notices cannot be built.
 */
consent_form_t *consent_site_for(consent_site_t *site, consent_form_t *form,
                                 const char *name);

#endif
