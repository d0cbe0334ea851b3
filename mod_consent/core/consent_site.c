/* Site compilation (see consent_site.h). */
#include <apr_file_info.h>

#include "consent_guard.h"
#include "consent_site.h"

struct consent_site_t {
    apr_pool_t *pool;
    consent_schema_t *schema;
    apr_hash_t *forms;              /* path or "guard:"path -> form */
    apr_hash_t *uis;                /* template dir -> consent_ui_t */
    apr_hash_t *compiled;           /* form (as "%pp") -> its pages' ui */
};

consent_site_t *consent_site_make(apr_pool_t *p)
{
    consent_site_t *site = apr_pcalloc(p, sizeof *site);

    site->pool = p;
    site->forms = apr_hash_make(p);
    site->uis = apr_hash_make(p);
    site->compiled = apr_hash_make(p);
    return site;
}

/* The schema ships with the templates; a site's own template directory
 * usually holds only a layout, so fall back to the installed one. */
static const char *schema_path(apr_pool_t *p, const char *dir)
{
    const char *path;
    apr_finfo_t fi;

    if (dir) {
        path = apr_pstrcat(p, dir, "/consent-form.rng", NULL);
        if (apr_stat(&fi, path, APR_FINFO_TYPE, p) == APR_SUCCESS) {
            return path;
        }
    }
    return CONSENT_TEMPLATE_DIR "/consent-form.rng";
}

consent_form_t *consent_site_form(consent_site_t *site, const char *path,
                                  int guard, const char *schema_dir,
                                  apr_array_header_t *problems)
{
    const char *key = guard ? apr_pstrcat(site->pool, "guard:", path, NULL)
                            : path;
    consent_form_t *form = apr_hash_get(site->forms, key,
                                        APR_HASH_KEY_STRING);

    if (form) {
        return form;
    }
    if (!site->schema && consent_schema_load(
            &site->schema, schema_path(site->pool, schema_dir), problems,
            site->pool) != APR_SUCCESS) {
        return NULL;
    }
    if (consent_form_compile(&form, site->schema, path, problems,
                             site->pool) != APR_SUCCESS
        || (guard && consent_guard_lint(form, problems))) {
        return NULL;
    }
    apr_hash_set(site->forms, apr_pstrdup(site->pool, key),
                 APR_HASH_KEY_STRING, form);
    return form;
}

const consent_ui_t *consent_site_pages(consent_site_t *site,
                                       consent_form_t **form,
                                       const char *template_dir,
                                       apr_array_header_t *problems)
{
    const char *dir = template_dir ? template_dir : CONSENT_TEMPLATE_DIR;
    consent_ui_t *ui = apr_hash_get(site->uis, dir, APR_HASH_KEY_STRING);
    const consent_ui_t *done;
    const char *key;

    if (!ui) {
        if (consent_ui_load(&ui, dir, problems, site->pool)
            != APR_SUCCESS) {
            return NULL;
        }
        apr_hash_set(site->uis, apr_pstrdup(site->pool, dir),
                     APR_HASH_KEY_STRING, ui);
    }
    key = apr_psprintf(site->pool, "%pp", (void *)*form);
    done = apr_hash_get(site->compiled, key, APR_HASH_KEY_STRING);
    if (done == ui) {
        return ui;
    }
    if (done) {
        /* the definition model is shared; the pages are this layout's */
        *form = apr_pmemdup(site->pool, *form, sizeof **form);
        (*form)->pages = apr_hash_make(site->pool);
        key = apr_psprintf(site->pool, "%pp", (void *)*form);
    }
    apr_hash_set(site->compiled, key, APR_HASH_KEY_STRING, ui);
    if (consent_render_compile(ui, *form, problems, site->pool)
        != APR_SUCCESS) {
        return NULL;
    }
    return ui;
}
