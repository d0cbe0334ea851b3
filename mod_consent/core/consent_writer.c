/*
 * The group-commit writer (consent_writer.h says why it exists).
 *
 * Threads and memory: request threads only touch the queue, under lock,
 * and their own waiter (on their stack). The writer thread alone uses
 * w->pool (an allocator of its own, so no other thread's allocator is
 * touched), its connection and its lane memory. A waiting request's proof
 * is read and sealed by the writer while the request sleeps on the
 * condition; what the writer produced is copied into the waiter before
 * the request is woken, so nothing points into the writer's pools.
 */
#include <signal.h>
#include <pthread.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_thread_mutex.h>
#include <apr_thread_cond.h>
#include <apr_file_io.h>

#include "consent_writer.h"
#include "consent_log.h"
#include "consent_store_setup.h"

/* Enough to keep a commit's cost shared; a bound so one batch's
 * transaction stays short when a flood arrives. */
#define MAX_BATCH 256
#define MAC_HEX (2 * CONSENT_SHA256_LEN + 1)
#define KEY_HEX (2 * CONSENT_KEY_ID_LEN + 1)

typedef struct waiter_t waiter_t;
struct waiter_t {
    waiter_t *next;
    consent_proof_t *proof;
    const consent_key_t *key;
    apr_thread_cond_t *written;             /* its own: only it wakes */
    int done;                               /* under the lock */
    consent_store_status_t status;
    char lane[64];
    apr_int64_t lane_seq;
    char prev_mac[MAC_HEX];
    char mac[MAC_HEX];
    char mac_key_id[KEY_HEX];
    char err[512];
};

struct consent_writer_t {
    const char *driver_name, *params, *name;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *arrived;
    waiter_t *head, **tail;                 /* the queue, under lock */
    int stopping;                           /* under lock */
    apr_thread_t *thread;
    apr_pool_t *pool;                       /* the writer thread's */
    /* the writer thread's only: */
    apr_pool_t *conn_pool;
    consent_store_t *store;
    apr_file_t *turn;                       /* sqlite3: writers' queue */
    const char *lane;
    consent_lane_cache_t cache;
    apr_uint64_t batches, proofs;
    int biggest;
};

static apr_status_t close_handle(void *data)
{
    consent_store_t *s = data;

    apr_dbd_close(s->driver, s->handle);
    return APR_SUCCESS;
}

/*
 * sqlite3 has one writer per file. Writers of several processes that
 * meet at BEGIN IMMEDIATE poll in sqlite's busy handler, sleeping up to
 * 100 ms a turn, and a writer can lose many turns in a row: seconds-long
 * tails. So they queue in the kernel instead, on a lock file beside the
 * database (fcntl, released by the kernel if a process dies), and the
 * next one runs as soon as the last commits. Without the file (directory
 * not writable), the busy handler still keeps them apart.
 */
static void open_turn(consent_writer_t *w)
{
    const char *path;

    w->turn = NULL;
    if (strcmp(w->driver_name, "sqlite3") != 0) {
        return;
    }
    path = apr_pstrcat(w->conn_pool, w->params, "-writer.lock", NULL);
    if (apr_file_open(&w->turn, path, APR_FOPEN_READ | APR_FOPEN_WRITE
                      | APR_FOPEN_CREATE, APR_FPROT_UREAD | APR_FPROT_UWRITE,
                      w->conn_pool) != APR_SUCCESS) {
        w->turn = NULL;
    }
}

/* Its own connection: settings, schema (cheap when current), statements. */
static apr_status_t writer_connect(consent_writer_t *w, const char **err)
{
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_status_t rv;

    apr_pool_create(&w->conn_pool, w->pool);
    rv = apr_dbd_get_driver(w->conn_pool, w->driver_name, &driver);
    if (rv == APR_SUCCESS) {
        rv = apr_dbd_open_ex(driver, w->conn_pool, w->params, &handle, err);
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(w->conn_pool, "cannot open: %s",
                            *err ? *err : "no connection");
    }
    else if ((rv = consent_store_connection_init(driver, handle,
                                                 w->conn_pool, err))
             || (rv = consent_store_migrate(driver, handle, w->conn_pool,
                                            err))
             || (rv = consent_store_open(&w->store, driver, handle,
                                         w->conn_pool, err))) {
        apr_dbd_close(driver, handle);
    }
    else {
        apr_pool_cleanup_register(w->conn_pool, w->store, close_handle,
                                  apr_pool_cleanup_null);
        open_turn(w);
        return APR_SUCCESS;
    }
    /* *err lives in conn_pool: the caller copies it before it goes */
    w->store = NULL;
    return rv;
}

static void disconnect(consent_writer_t *w)
{
    if (w->conn_pool) {
        apr_pool_destroy(w->conn_pool);
    }
    w->conn_pool = NULL;
    w->store = NULL;
    w->turn = NULL;
    w->cache.valid = 0;
}

/* What the request needs, copied out of the writer's pools. */
static void hand_back(waiter_t *wt, const consent_store_item_t *it)
{
    const consent_proof_t *pf = it->proof;

    wt->status = it->status;
    apr_cpystrn(wt->err, it->err ? it->err : "", sizeof wt->err);
    if (it->status == CONSENT_STORE_OK) {
        apr_cpystrn(wt->lane, pf->lane, sizeof wt->lane);
        wt->lane_seq = pf->lane_seq;
        apr_cpystrn(wt->prev_mac, pf->prev_mac, sizeof wt->prev_mac);
        apr_cpystrn(wt->mac, pf->mac, sizeof wt->mac);
        apr_cpystrn(wt->mac_key_id, pf->mac_key_id, sizeof wt->mac_key_id);
    }
}

static void write_batch(consent_writer_t *w, waiter_t *list, int n,
                        apr_pool_t *p)
{
    consent_store_item_t *items = apr_pcalloc(p, n * sizeof *items);
    const char *err = NULL;
    waiter_t *wt;
    int i, failed = 0;

    for (i = 0, wt = list; wt; wt = wt->next, ++i) {
        items[i].proof = wt->proof;
        items[i].key = wt->key;
        items[i].status = CONSENT_STORE_ERROR;
    }
    if (w->store == NULL && writer_connect(w, &err) != APR_SUCCESS) {
        failed = 1;
        err = apr_pstrdup(p, err ? err : "?");
        disconnect(w);
        for (i = 0; i < n; ++i) {
            items[i].err = err;
        }
    }
    else {
        int queued = w->turn
                     && apr_file_lock(w->turn, APR_FLOCK_EXCLUSIVE)
                        == APR_SUCCESS;

        failed = consent_store_record_batch(w->store, items, n, w->lane,
                                            &w->cache, p, &err)
                 != APR_SUCCESS;
        if (queued) {
            apr_file_unlock(w->turn);
        }
    }
    for (i = 0, wt = list; wt; wt = wt->next, ++i) {
        hand_back(wt, &items[i]);
    }
    /* the connection may be dead (server restarted): a new one next time */
    if (failed) {
        disconnect(w);
    }
    w->batches++;
    w->proofs += (apr_uint64_t)n;
    w->biggest = n > w->biggest ? n : w->biggest;
    consent_log(CONSENT_LOG_DEBUG, 0, "store %s: batch of %d proof(s) "
                "%s", w->name, n, failed ? "with failures" : "committed");
}

/* Up to MAX_BATCH waiters off the queue, in arrival order (under lock). */
static waiter_t *take(consent_writer_t *w, int *n)
{
    waiter_t *list = w->head, *last = NULL, *wt;

    for (*n = 0, wt = list; wt && *n < MAX_BATCH; wt = wt->next) {
        last = wt;
        ++*n;
    }
    w->head = last->next;
    if (w->head == NULL) {
        w->tail = &w->head;
    }
    last->next = NULL;
    return list;
}

/* Signals belong to the MPM's threads (prefork's child answers them on
 * its only thread); faults stay deliverable. */
static void block_signals(void)
{
    sigset_t set;

    sigfillset(&set);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *APR_THREAD_FUNC run(apr_thread_t *thread, void *data)
{
    consent_writer_t *w = data;
    apr_pool_t *batch;
    waiter_t *list, *wt, *next;
    int n;

    block_signals();
    apr_pool_create(&batch, w->pool);
    apr_thread_mutex_lock(w->lock);
    for (;;) {
        while (w->head == NULL && !w->stopping) {
            apr_thread_cond_wait(w->arrived, w->lock);
        }
        if (w->head == NULL) {
            break;                          /* stopping, queue drained */
        }
        list = take(w, &n);
        apr_thread_mutex_unlock(w->lock);
        write_batch(w, list, n, batch);
        apr_pool_clear(batch);
        apr_thread_mutex_lock(w->lock);
        for (wt = list; wt; wt = next) {
            next = wt->next;        /* wt may go once it is woken */
            wt->done = 1;
            apr_thread_cond_signal(wt->written);
        }
    }
    apr_thread_mutex_unlock(w->lock);
    disconnect(w);
    consent_log(CONSENT_LOG_INFO, 0, "store %s: writer stops after %"
                APR_UINT64_T_FMT " proof(s) in %" APR_UINT64_T_FMT
                " commit(s), largest batch %d", w->name, w->proofs,
                w->batches, w->biggest);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* Drains and joins before the pool's subpools (and anything the
 * adapter put there) go. */
static apr_status_t stop(void *data)
{
    consent_writer_t *w = data;
    apr_status_t ignored;

    apr_thread_mutex_lock(w->lock);
    w->stopping = 1;
    apr_thread_cond_broadcast(w->arrived);
    apr_thread_mutex_unlock(w->lock);
    apr_thread_join(&ignored, w->thread);
    apr_pool_destroy(w->pool);
    return APR_SUCCESS;
}

apr_status_t consent_writer_start(consent_writer_t **out, const char *driver,
                                  const char *params, const char *name,
                                  apr_pool_t *p)
{
    consent_writer_t *w;
    apr_allocator_t *alloc;
    apr_pool_t *own;
    apr_status_t rv;

    *out = NULL;
    if ((rv = apr_allocator_create(&alloc)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create_ex(&own, NULL, NULL, alloc)) != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return rv;
    }
    apr_allocator_owner_set(alloc, own);
    w = apr_pcalloc(own, sizeof *w);
    w->pool = own;
    w->driver_name = apr_pstrdup(own, driver);
    w->params = apr_pstrdup(own, params);
    w->name = apr_pstrdup(own, name);
    w->tail = &w->head;
    w->lane = consent_store_lane_id(own);
    if ((rv = apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT,
                                      own))
        || (rv = apr_thread_cond_create(&w->arrived, own))
        || (rv = apr_thread_create(&w->thread, NULL, run, w, own))) {
        apr_pool_destroy(own);
        return rv;
    }
    apr_pool_pre_cleanup_register(p, w, stop);
    *out = w;
    return APR_SUCCESS;
}

consent_store_status_t consent_writer_record(consent_writer_t *w,
                                             consent_proof_t *proof,
                                             const consent_key_t *key,
                                             apr_pool_t *p,
                                             const char **err)
{
    waiter_t wt;

    memset(&wt, 0, sizeof wt);
    wt.proof = proof;
    wt.key = key;
    /* one condition per request: a commit wakes its own requests only,
     * not every thread waiting on the writer */
    if (apr_thread_cond_create(&wt.written, p) != APR_SUCCESS) {
        *err = "cannot wait for the store's writer";
        return CONSENT_STORE_ERROR;
    }
    apr_thread_mutex_lock(w->lock);
    if (w->stopping) {
        apr_thread_mutex_unlock(w->lock);
        *err = "the store's writer is stopping (restart)";
        return CONSENT_STORE_ERROR;
    }
    /* wt is on this stack: the writer takes it off the queue before it
     * sets done, and this function does not return before done */
    *w->tail = &wt;
    /* cppcheck-suppress autoVariables */
    w->tail = &wt.next;
    apr_thread_cond_signal(w->arrived);
    while (!wt.done) {
        apr_thread_cond_wait(wt.written, w->lock);
    }
    apr_thread_mutex_unlock(w->lock);
    *err = wt.err[0] ? apr_pstrdup(p, wt.err) : NULL;
    if (wt.status == CONSENT_STORE_OK) {
        proof->lane = apr_pstrdup(p, wt.lane);
        proof->lane_seq = wt.lane_seq;
        proof->prev_mac = apr_pstrdup(p, wt.prev_mac);
        proof->mac = apr_pstrdup(p, wt.mac);
        proof->mac_key_id = apr_pstrdup(p, wt.mac_key_id);
    }
    else {
        proof->lane = NULL;
        proof->mac = NULL;
    }
    return wt.status;
}

apr_status_t consent_writer_shared(struct consent_writer_t **w,
                                   apr_hash_t *started, const char *driver,
                                   const char *params, apr_pool_t *p)
{
    const char *key = apr_pstrcat(p, driver, "\n", params, NULL);
    apr_status_t rv;

    *w = apr_hash_get(started, key, APR_HASH_KEY_STRING);
    if (*w) {
        return APR_SUCCESS;
    }
    rv = consent_writer_start(w, driver, params,
                              consent_store_label(driver, params, p), p);
    if (rv == APR_SUCCESS) {
        apr_hash_set(started, key, APR_HASH_KEY_STRING, *w);
    }
    return rv;
}
