/*
 * The store, off the event loop. APR DBD calls block (a locked sqlite3
 * file, a slow PostgreSQL), so they run in nginx's thread pool
 * (ngx_thread_task_post) and the request resumes on the event loop when
 * they are done, the way ngx_http_copy_filter_module resumes a request
 * after a threaded read (r->main->blocked, r->aio).
 *
 * Each pool thread keeps its own connection per store (APR DBD handles
 * are not thread-safe), its own lane (one writer, one chain) and the
 * lane's memory; a connection that failed is closed and opened afresh by
 * the next task, so the store recovers without a reload.
 */
#include "ngx_http_consent.h"

#include <pthread.h>

#include <apr_dbd.h>

#include "consent_store_conn.h"
#include "consent_store_setup.h"

typedef struct consent_conn_s consent_conn_t;

struct consent_conn_s {
    const ngx_http_consent_store_t *def;
    consent_store_conn_t conn;
    char lane[64];
    consent_lane_cache_t cache;
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
    apr_cpystrn(c->lane, consent_store_lane_id(c->conn.pool),
                sizeof c->lane);
    apr_pool_clear(c->conn.pool);
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
    consent_conn_t *c = thread_conn(t->lcf->store);

    if (!c) {
        *t->error = "out of memory";
        consent_flow_store(f, NULL, NULL, NULL);
        return;
    }
    consent_flow_store(f, consent_store_conn_get(&c->conn, f->pool,
                                                 t->error),
                       c->lane, &c->cache);
    if (consent_flow_store_failed(f)) {
        /* a fresh connection next time; the lane memory is checked
         * against the store anyway, forget it to save a retry */
        consent_store_conn_close(&c->conn);
        memset(&c->cache, 0, sizeof c->cache);
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

void ngx_http_consent_close_all(void)
{
    consent_conn_t *c, *next;

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
