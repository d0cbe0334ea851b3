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

#include "consent_flow.h"
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

/*
 * form as served by the site name: the notice names the site
 * (consent_notice.c, format 2), so a definition served by two sites is
 * two forms. The first site takes form, another gets a copy with its own
 * notices, made once per form and site (sharing the pages when form's
 * are compiled already). NULL when the notices cannot be built.
 */
consent_form_t *consent_site_for(consent_site_t *site, consent_form_t *form,
                                 const char *name);

/* Where and how a form is served: what a location's directives say. */
typedef struct {
    consent_form_t *form;           /* consent_site_form's */
    int guard;                      /* a guard definition: no style, the
                                       application keeps its look */
    const char *template_dir;       /* NULL: the installed templates */
    const char *style_file;         /* ConsentStyle, consent_style; NULL */
    const char *path;               /* the location L, no trailing slash */
    const char *site;               /* the site serving it (ConsentSite) */
} consent_site_location_t;

/*
 * A location's share of the flow configuration, resolved at start-up by
 * both adapters: the templates of loc->template_dir, the stylesheet
 * served at L/consent.css (the directory's theme extended by
 * loc->style_file, linked from every page), the form compiled with them
 * and served as loc->site, and L/withdraw. Sets fc->form, ui, style and
 * withdraw_url; 0 with problems when refused. A missing theme is not
 * refused (the pages are unstyled): it is logged as a warning.
 */
int consent_site_location(consent_site_t *site,
                          const consent_site_location_t *loc,
                          consent_flow_conf_t *fc,
                          apr_array_header_t *problems);

#endif
