/*
 * Form pages compiled on first use (consent_render.h). A hosting server
 * with a definition per vhost kept every vhost's compiled pages in every
 * process (~60 KiB each: 1,000 vhosts, 60 MB per child) although a
 * process serves few of them. Start-up still compiles each page set once,
 * to refuse a broken layout or translation then (apachectl -t), but in
 * scratch memory; a process compiles a form's pages again the first time
 * it serves the form.
 *
 * Readers take form->pages with an atomic read; it is published, once
 * complete, by the compiling thread under the lock, so a reader sees NULL
 * or a whole page set.
 */
#include <apr_atomic.h>
#include <apr_thread_mutex.h>

#include "consent_render.h"
#include "consent_log.h"

static apr_pool_t *lazy_pool;       /* the process's, compiled pages */
#if APR_HAS_THREADS
static apr_thread_mutex_t *lazy_lock;
#endif

apr_status_t consent_render_lazy_init(apr_pool_t *process)
{
    apr_pool_t *p;
    apr_status_t rv = apr_pool_create(&p, process);

#if APR_HAS_THREADS
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&lazy_lock, APR_THREAD_MUTEX_DEFAULT,
                                     p);
    }
#endif
    lazy_pool = rv == APR_SUCCESS ? p : NULL;
    return rv;
}

apr_status_t consent_render_defer(const consent_ui_t *ui,
                                  consent_form_t *form,
                                  apr_array_header_t *problems,
                                  apr_pool_t *p)
{
    apr_pool_t *scratch;
    apr_status_t rv;

    apr_pool_create(&scratch, p);
    form->pages = NULL;
    rv = consent_render_compile(ui, form, problems, scratch);
    /* problems were copied into their array's pool */
    apr_pool_destroy(scratch);
    form->pages = NULL;         /* compiled by the first request */
    form->lazy_ui = ui;
    return rv;
}

static apr_hash_t *pages_of(const consent_form_t *form)
{
    return apr_atomic_casptr((volatile void **)&form->pages, NULL, NULL);
}

apr_hash_t *consent_render_pages(const consent_form_t *form)
{
    consent_form_t *f = (consent_form_t *)form;
    apr_hash_t *pages = pages_of(form);
    apr_array_header_t *problems;

    if (pages || !form->lazy_ui || !lazy_pool) {
        return pages;
    }
#if APR_HAS_THREADS
    apr_thread_mutex_lock(lazy_lock);
#endif
    if (!(pages = pages_of(form))) {
        problems = apr_array_make(lazy_pool, 1, sizeof(consent_problem_t));
        /* compiled into a hash of its own, published when whole */
        {
            consent_form_t work = *form;

            work.pages = NULL;
            if (consent_render_compile(form->lazy_ui, &work, problems,
                                       lazy_pool) == APR_SUCCESS) {
                pages = work.pages;
                apr_atomic_casptr((volatile void **)&f->pages, pages, NULL);
            }
            else {
                consent_log(CONSENT_LOG_ERR, 0, "form %s: its pages do not "
                            "compile any more", form->id);
            }
        }
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(lazy_lock);
#endif
    return pages;
}
