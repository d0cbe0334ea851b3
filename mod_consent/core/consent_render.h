/*
 * Server-side rendering. Templates (a layout a site may replace with
 * ConsentTemplateDir) and translations are compiled once at start-up;
 * then every (form, language) page is flattened into fixed segments with
 * the form's static texts already escaped, so that a GET only fills the
 * request's slots (token, kept values, error) and escapes them.
 */
#ifndef CONSENT_RENDER_H
#define CONSENT_RENDER_H

#include "consent_form.h"
#include "consent_proof.h"

/* Compiled templates + translations of one template directory. */
typedef struct consent_ui_t consent_ui_t;

/* Output sink: the adapter appends to its brigade, tests to a buffer. */
typedef apr_status_t consent_write_fn(void *baton, const char *data,
                                      apr_size_t len);

/*
 * Loads dir/page.html, form.html, field.html, purpose.html, ... and
 * dir/i18n/<lang>.xml. A template that pre-ticks a box (an <input> with a
 * `checked` attribute) is refused (rule R1), as is a template that lacks a
 * slot the product needs (e.g. the token). Problems name file and line.
 */
apr_status_t consent_ui_load(consent_ui_t **ui, const char *dir,
                             apr_array_header_t *problems, apr_pool_t *p);

/*
 * A copy of ui whose pages link the stylesheet at href (page.html's
 * {{{stylesheet}}} slot), sharing its templates and translations: one
 * per place the stylesheet is served from. Pages of ui itself link none.
 */
consent_ui_t *consent_ui_styled(const consent_ui_t *ui, const char *href,
                                apr_pool_t *p);

/* Languages that have a translation file in the template directory. */
const apr_array_header_t *consent_ui_languages(const consent_ui_t *ui);

/* A translated message (keys in templates/i18n/en.xml), never NULL:
 * falls back to English, then to the key itself. */
const char *consent_ui_text(const consent_ui_t *ui, const char *lang,
                            const char *key);

/*
 * Precompiles the form's page in each of its languages into form->pages.
 * Problems when a language of the form has no translation.
 */
apr_status_t consent_render_compile(const consent_ui_t *ui,
                                    consent_form_t *form,
                                    apr_array_header_t *problems,
                                    apr_pool_t *p);

/*
 * Pages compiled on first use (consent_render_lazy.c), for servers with
 * many forms most of which a process never serves: each compiled page
 * set costs ~60 KiB. consent_render_defer() checks that the pages compile
 * (problems as consent_render_compile, in scratch memory, then freed)
 * and leaves form->pages NULL; the first request that needs them
 * compiles them, once per process, under a lock. consent_render_lazy_init
 * must have run in the process first (the adapter's child init): without
 * it a deferred form has no pages (consent_render_pages answers NULL).
 */
apr_status_t consent_render_lazy_init(apr_pool_t *process);
apr_status_t consent_render_defer(const consent_ui_t *ui,
                                  consent_form_t *form,
                                  apr_array_header_t *problems,
                                  apr_pool_t *p);
/* form->pages, compiling them first if deferred; NULL if that fails. */
apr_hash_t *consent_render_pages(const consent_form_t *form);

/* What one request adds to a precompiled form page. */
typedef struct {
    const char *lang;           /* one of form->languages */
    const char *token;          /* signed render token */
    const char *error;          /* translated error message, or NULL */
    apr_table_t *values;        /* field name -> value to show again, or NULL;
                                   consent boxes are never re-ticked */
    const char *withdraw_url;   /* link to the withdrawal page (L/withdraw);
                                   NULL: "withdraw" relative */
} consent_form_request_t;

/* A page that carries a render token: the form, the withdrawal page. */
typedef apr_status_t consent_render_signed_fn(
    const consent_form_t *form, const consent_form_request_t *req,
    consent_write_fn *write, void *baton);

apr_status_t consent_render_form(const consent_form_t *form,
                                 const consent_form_request_t *req,
                                 consent_write_fn *write, void *baton);

/* The 200 page after a stored submission: what was chosen, the receipt id
 * and how to withdraw. */
apr_status_t consent_render_confirmation(const consent_ui_t *ui,
                                         const consent_form_t *form,
                                         const char *lang,
                                         const consent_proof_t *proof,
                                         const char *withdraw_url,
                                         consent_write_fn *write,
                                         void *baton);

/* The withdrawal page (L/withdraw): the subject field, one unticked box
 * per purpose and one for all, the token; req->values and req->error as
 * for the form. */
apr_status_t consent_render_withdraw(const consent_form_t *form,
                                     const consent_form_request_t *req,
                                     consent_write_fn *write, void *baton);

/* The confirm button of an unsubscribe link (GET never unsubscribes). */
apr_status_t consent_render_unsubscribe(const consent_ui_t *ui,
                                        const char *lang,
                                        consent_write_fn *write, void *baton);

/* The confirm button of a double opt-in link (GET never confirms). */
apr_status_t consent_render_confirm_email(const consent_ui_t *ui,
                                          const char *lang,
                                          consent_write_fn *write,
                                          void *baton);

/* The page after a withdrawal or an unsubscribe: title, body, receipt. */
apr_status_t consent_render_done(const consent_ui_t *ui, const char *lang,
                                 const char *title_key, const char *body_key,
                                 const char *receipt,
                                 consent_write_fn *write, void *baton);

/* A page that only says something (errors: 403, 409, 422, 503...). */
apr_status_t consent_render_message(const consent_ui_t *ui, const char *lang,
                                    const char *title_key,
                                    const char *body_key,
                                    consent_write_fn *write, void *baton);

#endif
