/* Site compilation (see consent_site.h). */
#include <string.h>
#include <apr_file_info.h>

#include "consent_guard.h"
#include "consent_log.h"
#include "consent_notice.h"
#include "consent_site.h"

struct consent_site_t {
    apr_pool_t *pool;
    int lazy;                       /* consent_render_defer */
    consent_schema_t *schema;
    apr_hash_t *forms;              /* path or "guard:"path -> form */
    apr_hash_t *uis;                /* template dir, or dir "\n" href of a
                                       styled copy -> consent_ui_t */
    apr_hash_t *compiled;           /* form (as "%pp") -> its pages' ui */
    apr_hash_t *styles;             /* theme "\n" style file -> style */
    apr_hash_t *sited;              /* "%pp site" -> form's copy */
};

consent_site_t *consent_site_make(apr_pool_t *p)
{
    consent_site_t *site = apr_pcalloc(p, sizeof *site);

    site->pool = p;
    site->forms = apr_hash_make(p);
    site->uis = apr_hash_make(p);
    site->compiled = apr_hash_make(p);
    site->styles = apr_hash_make(p);
    site->sited = apr_hash_make(p);
    return site;
}

void consent_site_lazy(consent_site_t *site)
{
    site->lazy = 1;
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

static const consent_ui_t *consent_site_ui(consent_site_t *site,
                                    const char *template_dir,
                                    apr_array_header_t *problems)
{
    const char *dir = template_dir ? template_dir : CONSENT_TEMPLATE_DIR;
    consent_ui_t *ui = apr_hash_get(site->uis, dir, APR_HASH_KEY_STRING);

    if (!ui) {
        if (consent_ui_load(&ui, dir, problems, site->pool)
            != APR_SUCCESS) {
            return NULL;
        }
        apr_hash_set(site->uis, apr_pstrdup(site->pool, dir),
                     APR_HASH_KEY_STRING, ui);
    }
    return ui;
}

static int consent_site_compile(consent_site_t *site, consent_form_t **form,
                         const consent_ui_t *ui,
                         apr_array_header_t *problems)
{
    const char *key = apr_psprintf(site->pool, "%pp", (void *)*form);
    const consent_ui_t *done = apr_hash_get(site->compiled, key,
                                            APR_HASH_KEY_STRING);

    if (done == ui) {
        return 1;
    }
    if (done) {
        /* the definition model is shared; the pages are this layout's */
        *form = apr_pmemdup(site->pool, *form, sizeof **form);
        (*form)->pages = apr_hash_make(site->pool);
        key = apr_psprintf(site->pool, "%pp", (void *)*form);
    }
    apr_hash_set(site->compiled, key, APR_HASH_KEY_STRING, ui);
    return (site->lazy ? consent_render_defer(ui, *form, problems,
                                              site->pool)
                       : consent_render_compile(ui, *form, problems,
                                                site->pool))
           == APR_SUCCESS;
}

const consent_ui_t *consent_site_pages(consent_site_t *site,
                                       consent_form_t **form,
                                       const char *template_dir,
                                       apr_array_header_t *problems)
{
    const consent_ui_t *ui = consent_site_ui(site, template_dir, problems);

    return ui && consent_site_compile(site, form, ui, problems) ? ui : NULL;
}

/* The theme of a template directory: its own consent.css, else the
 * installed one (a layout directory may hold only templates). */
static const char *style_base(const char *dir, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, dir, "/" CONSENT_STYLE_NAME, NULL);
    apr_finfo_t fi;

    if (apr_stat(&fi, path, APR_FINFO_TYPE, p) == APR_SUCCESS) {
        return path;
    }
    path = CONSENT_TEMPLATE_DIR "/" CONSENT_STYLE_NAME;
    return apr_stat(&fi, path, APR_FINFO_TYPE, p) == APR_SUCCESS ? path
                                                                 : NULL;
}

static const consent_style_t *consent_site_style(consent_site_t *site,
                                          const char *template_dir,
                                          const char *style_file,
                                          apr_array_header_t *problems)
{
    const char *dir = template_dir ? template_dir : CONSENT_TEMPLATE_DIR;
    const char *base = style_base(dir, site->pool), *key;
    consent_style_t *st;

    if (!base) {
        if (style_file) {
            consent_problem_add(problems, style_file, 0, "style", "no "
                                CONSENT_STYLE_NAME " in %s nor in "
                                CONSENT_TEMPLATE_DIR ": nothing to extend",
                                dir);
        }
        return NULL;
    }
    key = apr_pstrcat(site->pool, base, "\n", style_file ? style_file : "",
                      NULL);
    if ((st = apr_hash_get(site->styles, key, APR_HASH_KEY_STRING))) {
        return st;
    }
    if (consent_style_load(&st, base, style_file, problems, site->pool)
        != APR_SUCCESS) {
        return NULL;
    }
    apr_hash_set(site->styles, key, APR_HASH_KEY_STRING, st);
    return st;
}

static const consent_ui_t *consent_site_styled(consent_site_t *site,
                                        const consent_ui_t *ui,
                                        const consent_style_t *style,
                                        const char *location)
{
    const char *href = consent_style_href(style, location, site->pool);
    const char *key = apr_psprintf(site->pool, "%pp\n%s", (void *)ui, href);
    consent_ui_t *styled = apr_hash_get(site->uis, key,
                                        APR_HASH_KEY_STRING);

    if (!styled) {
        styled = consent_ui_styled(ui, href, site->pool);
        apr_hash_set(site->uis, key, APR_HASH_KEY_STRING, styled);
    }
    return styled;
}

consent_form_t *consent_site_for(consent_site_t *site, consent_form_t *form,
                                 const char *name)
{
    const char *key;
    const consent_ui_t *done;
    consent_form_t *copy;

    if (form->site && strcmp(form->site, name) == 0) {
        return form;
    }
    if (form->site) {
        key = apr_psprintf(site->pool, "%pp %s", (void *)form, name);
        if ((copy = apr_hash_get(site->sited, key, APR_HASH_KEY_STRING))) {
            return copy;
        }
        copy = apr_pmemdup(site->pool, form, sizeof *form);
        copy->notices = NULL;
        /* the pages do not show the site: compiled ones are shared */
        done = apr_hash_get(site->compiled, apr_psprintf(
            site->pool, "%pp", (void *)form), APR_HASH_KEY_STRING);
        if (done) {
            apr_hash_set(site->compiled, apr_psprintf(
                site->pool, "%pp", (void *)copy), APR_HASH_KEY_STRING, done);
        }
        else {
            copy->pages = NULL;
        }
        apr_hash_set(site->sited, key, APR_HASH_KEY_STRING, copy);
        form = copy;
    }
    form->site = name;
    return consent_notice_build(form, site->pool) == APR_SUCCESS ? form
                                                                 : NULL;
}

/* The pages of a location that serves the stylesheet link it. */
static int location_style(consent_site_t *site,
                          const consent_site_location_t *loc,
                          const char *dir, consent_flow_conf_t *fc,
                          apr_array_header_t *problems)
{
    if (loc->guard) {
        return 1;
    }
    fc->style = consent_site_style(site, dir, loc->style_file, problems);
    if (fc->style) {
        fc->ui = consent_site_styled(site, fc->ui, fc->style, loc->path);
        return 1;
    }
    if (!problems->nelts) {
        consent_log(CONSENT_LOG_WARNING, 0, "no " CONSENT_STYLE_NAME " in %s "
                    "nor in " CONSENT_TEMPLATE_DIR ": the pages of %s are "
                    "unstyled", dir, loc->path);
    }
    return !problems->nelts;
}

int consent_site_location(consent_site_t *site,
                          const consent_site_location_t *loc,
                          consent_flow_conf_t *fc,
                          apr_array_header_t *problems)
{
    const char *dir = loc->template_dir ? loc->template_dir
                                        : CONSENT_TEMPLATE_DIR;
    consent_form_t *form = loc->form;

    if (!(fc->ui = consent_site_ui(site, dir, problems))
        || !location_style(site, loc, dir, fc, problems)
        || !consent_site_compile(site, &form, fc->ui, problems)) {
        return 0;
    }
    if (!(fc->form = consent_site_for(site, form, loc->site))) {
        consent_problem_add(problems, form->file, form->line, "site",
                            "cannot build its notices for site %s",
                            loc->site);
        return 0;
    }
    fc->withdraw_url = apr_pstrcat(site->pool, loc->path, "/withdraw",
                                   NULL);
    return 1;
}
