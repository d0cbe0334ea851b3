/*
 * The store, off the event loop. APR DBD calls block (a locked sqlite3
 * file, a slow PostgreSQL), so they run in nginx's thread pool
 * (ngx_thread_task_post) and the request resumes on the event loop when
 * they are done, the way ngx_http_copy_filter_module resumes a request
 * after a threaded read (r->main->blocked, r->aio).
 *
 * Proofs are written by the worker's group-commit writer, one per store
 * (consent_writer.h, as Apache's children): a pool thread waits there
 * for the commit that holds its proof, and proofs that arrive together
 * share one. Reads (an unsubscribe link's status, a probe) use the
 * thread's own connection (APR DBD handles are not thread-safe); a
 * connection that failed is closed and opened afresh by the next task,
 * so the store recovers without a reload.
 */
#include "ngx_http_consent.h"

#include <pthread.h>

#include <apr_dbd.h>

#include "consent_store_conn.h"
#include "consent_store_setup.h"
#include "consent_writer.h"

typedef struct consent_conn_s consent_conn_t;

struct consent_conn_s {
    const ngx_http_consent_store_t *def;
    consent_store_conn_t conn;
    consent_conn_t *next;           /* this thread's */
    consent_conn_t *all_next;       /* every thread's, for exit */
};

static __thread consent_conn_t *thread_conns;

/* Every connection, so that exit_process closes them (threads are gone
 * by then, their thread-locals with them). */
static consent_conn_t *all_conns;
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    ngx_http_consent_loc_conf_t *lcf;
    consent_flow_t *flow;
    const char **error;             /* opening the connection */
} consent_task_t;

static consent_conn_t *thread_conn(const ngx_http_consent_store_t *def)
{
    consent_conn_t *c;

    for (c = thread_conns; c; c = c->next) {
        if (c->def == def) {
            return c;
        }
    }
    c = calloc(1, sizeof *c);
    if (!c || apr_pool_create(&c->conn.pool, NULL) != APR_SUCCESS) {
        free(c);
        return NULL;
    }
    c->def = def;
    c->conn.driver_name = def->driver;
    c->conn.params = def->params;
    c->next = thread_conns;
    thread_conns = c;
    pthread_mutex_lock(&all_lock);
    c->all_next = all_conns;
    all_conns = c;
    pthread_mutex_unlock(&all_lock);
    return c;
}

/* In a pool thread. */
static void store_task(void *data, ngx_log_t *log)
{
    consent_task_t *t = data;
    consent_flow_t *f = t->flow;
    consent_conn_t *c = NULL;

    f->writer = t->lcf->store->writer;
    if (!f->writer && f->op == CONSENT_FLOW_OP_RECORD) {
        *t->error = "its writer did not start";
    }
    else if (consent_flow_needs_store(f)
             && !(c = thread_conn(t->lcf->store))) {
        *t->error = "out of memory";
    }
    consent_flow_store(f, c ? consent_store_conn_get(&c->conn, f->pool,
                                                     t->error)
                            : NULL, NULL, NULL);
    if (c && consent_flow_store_failed(f)) {
        consent_store_conn_close(&c->conn);     /* a fresh one next time */
    }
}

/* On the event loop, when the task is done. */
static void store_task_done(ngx_event_t *ev)
{
    ngx_http_request_t *r = ev->data;
    ngx_connection_t *c = r->connection;

    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;
    r->aio = 0;
    /* our resume handler, or nginx's finalizer if the request was
     * terminated meanwhile */
    r->write_event_handler(r);
    ngx_http_run_posted_requests(c);
}

ngx_int_t ngx_http_consent_post_store(ngx_http_request_t *r,
                                      ngx_http_consent_loc_conf_t *lcf,
                                      consent_flow_t *f, const char **error,
                                      ngx_http_event_handler_pt resume)
{
    ngx_http_consent_main_conf_t *mcf =
        ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    ngx_thread_task_t *task;
    consent_task_t *t;

    task = ngx_thread_task_alloc(r->pool, sizeof(consent_task_t));
    if (!task) {
        return NGX_ERROR;
    }
    t = task->ctx;
    t->lcf = lcf;
    t->flow = f;
    t->error = error;
    *error = NULL;
    task->handler = store_task;
    task->event.data = r;
    task->event.handler = store_task_done;
    if (ngx_thread_task_post(mcf->thread_pool, task) != NGX_OK) {
        return NGX_ERROR;
    }
    r->main->blocked++;
    r->aio = 1;
    r->write_event_handler = resume;
    return NGX_OK;
}

/* The writers' pool: each writer's cleanup drains it and joins its
 * thread before anything else of it goes. */
static apr_pool_t *writers_pool;

void ngx_http_consent_start_writers(ngx_cycle_t *cycle, ngx_array_t *stores)
{
    ngx_http_consent_store_t **st = stores->elts;
    apr_hash_t *started;
    apr_status_t rv;
    ngx_uint_t i;

    if (!stores->nelts
        || apr_pool_create(&writers_pool, NULL) != APR_SUCCESS) {
        return;
    }
    started = apr_hash_make(writers_pool);
    for (i = 0; i < stores->nelts; ++i) {
        rv = consent_writer_shared(&st[i]->writer, started, st[i]->driver,
                                   st[i]->params, writers_pool);
        if (rv != APR_SUCCESS) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, rv, "consent: store %s: "
                          "cannot start its writer thread, submissions "
                          "answer 503", consent_store_label(
                              st[i]->driver, st[i]->params, writers_pool));
        }
    }
}

void ngx_http_consent_close_all(void)
{
    consent_conn_t *c, *next;

    if (writers_pool) {
        apr_pool_destroy(writers_pool);
        writers_pool = NULL;
    }
    for (c = all_conns; c; c = next) {
        next = c->all_next;
        consent_store_conn_close(&c->conn);
        apr_pool_destroy(c->conn.pool);
        free(c);
    }
    all_conns = NULL;
}

void ngx_http_consent_migrate(ngx_cycle_t *cycle, ngx_array_t *stores)
{
    ngx_core_conf_t *ccf = (ngx_core_conf_t *)ngx_get_conf(
        cycle->conf_ctx, ngx_core_module);
    ngx_http_consent_store_t **st = stores->elts;
    apr_array_header_t *logs;
    apr_pool_t *p;
    ngx_uint_t i;

    for (i = 0; i < stores->nelts; ++i) {
        if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
            return;
        }
        logs = apr_array_make(p, 2, sizeof(consent_log_line_t));
        /* an sqlite3 file made by root must become the workers' user */
        consent_store_setup_start(
            st[i]->driver, st[i]->params,
            consent_store_label(st[i]->driver, st[i]->params, p),
            ccf->user != (ngx_uid_t)NGX_CONF_UNSET_UINT, ccf->user,
            ccf->group, "the worker user", logs, p);
        ngx_http_consent_log_lines(cycle->log, logs);
        apr_pool_destroy(p);
    }
}
