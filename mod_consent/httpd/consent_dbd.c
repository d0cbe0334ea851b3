/*
 * The store behind mod_dbd. mod_dbd owns the connections (DBDriver,
 * DBDParams, DBDMin/DBDMax that admins already know); we only prepare our
 * statements in its pool and create the schema.
 *
 * mod_dbd prepares statements when it opens a connection and its
 * DBDInitSQL errors are silent, so the schema must exist before its pool
 * opens: post_config creates it with a connection of our own, while still
 * root, and hands an sqlite3 file to the User httpd runs as. A database
 * that is down at start-up is not fatal: consent locations answer 503 and
 * children retry the migration, at most every few seconds.
 */
#include "mod_consent.h"
#include <http_log.h>
#include <unixd.h>
#include <apr_optional.h>
#include <apr_optional_hooks.h>
#include <apr_dbd.h>
#include <apr_atomic.h>
#include <mod_dbd.h>

#include "consent_store.h"
#include "consent_store_setup.h"
#include "consent_writer.h"

APLOG_USE_MODULE(consent);

#define MIGRATE_RETRY 5            /* seconds */

static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *dbd_prepare;
static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire;

/* mod_dbd's default DBDriver, meaning "none set" (mod_dbd.c). */
#define DBD_UNSET_DRIVER "[DBDriver unset]"

/*
 * The store mod_dbd gives s, after it merged each virtual host with the
 * main server, whatever the order of the directives in the files. Its
 * per-server record begins with a pointer to the dbd_cfg_t that mod_dbd.h
 * publishes for its post_connect hook; that record is also the unit it
 * prepares statements for (virtual hosts without a DBD directive share
 * the main server's). NULL when the layout is not httpd 2.4's.
 */
static const dbd_cfg_t *dbd_config_of(server_rec *main_s, server_rec *s,
                                      module *dbd)
{
    void *svr = ap_get_module_config(s->module_config, dbd);
    const dbd_cfg_t *cfg = svr ? *(const dbd_cfg_t *const *)svr : NULL;
    server_rec *owner;

    if (!cfg || !cfg->name || !cfg->params) {
        return NULL;
    }
    for (owner = main_s; owner; owner = owner->next) {
        if (cfg->server == owner) {
            return cfg;
        }
    }
    return NULL;
}

/* How a message names a server: as its <VirtualHost> says. */
static const char *vhost_name(const server_rec *s, apr_pool_t *p)
{
    const char *name = s->server_hostname ? s->server_hostname : "?";

    if (!s->is_virtual) {
        return apr_psprintf(p, "the main server (%s)", name);
    }
    return apr_psprintf(p, "vhost %s:%u (%s:%d)", name, (unsigned)s->port,
                        s->defn_name ? s->defn_name : "?",
                        (int)s->defn_line_number);
}

const char *consent_dbd_store_of(server_rec *s, apr_pool_t *p)
{
    consent_server_conf *conf =
        ap_get_module_config(s->module_config, &consent_module);

    return apr_psprintf(p, "%s of %s", consent_store_label(
        conf->dbd_driver, conf->dbd_params, p), vhost_name(s, p));
}

/* Our statements, once per mod_dbd record: a second ap_dbd_prepare of a
 * label on a shared record logs AH02653 "conflicting SQL statements". */
static void prepare_once(server_rec *s, const dbd_cfg_t *cfg,
                         apr_hash_t *prepared,
                         const consent_stmt_def_t *st)
{
    if (apr_hash_get(prepared, &cfg, sizeof cfg)) {
        return;
    }
    apr_hash_set(prepared, apr_pmemdup(apr_hash_pool_get(prepared), &cfg,
                                       sizeof cfg), sizeof cfg, cfg);
    for (; st->label; ++st) {
        dbd_prepare(s, st->sql, st->label);
    }
}

static const char *check_server(server_rec *main_s, server_rec *s,
                                module *dbd, apr_hash_t *prepared,
                                apr_pool_t *pconf)
{
    consent_server_conf *conf =
        ap_get_module_config(s->module_config, &consent_module);
    const dbd_cfg_t *cfg = dbd_config_of(main_s, s, dbd);
    const consent_stmt_def_t *st;

    if (!cfg) {
        return "cannot read mod_dbd's configuration (is this httpd 2.4's "
               "mod_dbd?)";
    }
    if (!strcmp(cfg->name, DBD_UNSET_DRIVER) || !*cfg->params) {
        return "ConsentForm needs a store: set DBDriver (sqlite3, pgsql "
               "or mysql) and DBDParams";
    }
    st = consent_store_statements(cfg->name);
    if (!st) {
        return apr_pstrcat(pconf, "DBDriver ", cfg->name,
                           " is not supported by mod_consent (use sqlite3 "
                           "or pgsql)", NULL);
    }
    conf->dbd_driver = cfg->name;
    conf->dbd_params = cfg->params;
    prepare_once(s, cfg, prepared, st);
    return NULL;
}

/* A form of the main server is served by every virtual host too (its
 * <Location> sections apply to all), each with the store mod_dbd gives
 * that host. */
static int serves_forms(server_rec *s, apr_array_header_t *servers)
{
    int i;

    for (i = 0; i < servers->nelts; ++i) {
        server_rec *with_form = APR_ARRAY_IDX(servers, i, server_rec *);

        if (with_form == s || !with_form->is_virtual) {
            return 1;
        }
    }
    return 0;
}

/* check_config (apachectl -t too): every host that serves a form has a
 * supported store; our statements go to mod_dbd before its post_config
 * collects them. */
int consent_dbd_check(apr_pool_t *pconf, server_rec *main_s,
                      apr_array_header_t *servers)
{
    module *dbd = ap_find_linked_module("mod_dbd.c");
    apr_hash_t *prepared = apr_hash_make(pconf);
    server_rec *s;
    const char *err;

    dbd_prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    for (s = main_s; s; s = s->next) {
        if (!serves_forms(s, servers)) {
            continue;
        }
        if (!dbd || !dbd_prepare || !dbd_acquire) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, CONSENT_LOGNO(0022)
                         "ConsentForm needs mod_dbd: add "
                         "LoadModule dbd_module .../mod_dbd.so (a2enmod dbd)");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if ((err = check_server(main_s, s, dbd, prepared, pconf))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, CONSENT_LOGNO(0023)
                         "%s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

/* Whether a host uses sqlite3: set at post_config, read by each child. */
static int uses_sqlite;

static void note_sqlite(apr_array_header_t *servers)
{
    int i;

    uses_sqlite = 0;
    for (i = 0; i < servers->nelts; ++i) {
        server_rec *s = APR_ARRAY_IDX(servers, i, server_rec *);
        consent_server_conf *conf =
            ap_get_module_config(s->module_config, &consent_module);

        if (conf->dbd_driver && strcmp(conf->dbd_driver, "sqlite3") == 0) {
            uses_sqlite = 1;
        }
    }
}

/* In each child, before mod_dbd opens its connections: every sqlite3
 * connection waits for locks from its first statement (mod_dbd prepares
 * before any DBDInitSQL could say so). Per child, on pchild, so that the
 * parent never holds sqlite's list of extensions, which it could not
 * free once the driver is unloaded (valgrind saw it at exit). */
static void sqlite_defaults(apr_pool_t *pchild, server_rec *s)
{
    const apr_dbd_driver_t *driver;

    if (!uses_sqlite) {
        return;
    }
    if (apr_dbd_get_driver(pchild, "sqlite3", &driver) != APR_SUCCESS
        || consent_store_sqlite_defaults(pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     CONSENT_LOGNO(0027) "sqlite3 connections "
                     "opened by mod_dbd get no busy timeout before "
                     "their first statement (sqlite older than "
                     "3.16?): expect \"database is locked\"");
    }
}

/* post_config (not under apachectl -t): create the schema while root,
 * once per store however many hosts share it. */
void consent_dbd_migrate(apr_pool_t *pconf, server_rec *main_s,
                         apr_array_header_t *servers)
{
    apr_hash_t *done = apr_hash_make(pconf);
    server_rec *s;

    note_sqlite(servers);
    for (s = main_s; s; s = s->next) {
        consent_server_conf *conf =
            ap_get_module_config(s->module_config, &consent_module);
        const char *store, *ready;
        apr_array_header_t *logs;
        apr_status_t rv;

        if (!serves_forms(s, servers) || !conf->dbd_driver) {
            continue;
        }
        store = apr_pstrcat(pconf, conf->dbd_driver, " ", conf->dbd_params,
                            NULL);
        ready = apr_hash_get(done, store, APR_HASH_KEY_STRING);
        if (!ready) {
            /* an sqlite3 file made by root must become the User's, or
             * every write from a child fails */
            logs = apr_array_make(pconf, 2, sizeof(consent_log_line_t));
            rv = consent_store_setup_start(
                conf->dbd_driver, conf->dbd_params,
                consent_dbd_store_of(s, pconf),
                1, ap_unixd_config.user_id, ap_unixd_config.group_id,
                "the httpd User", logs, pconf);
            consent_log_lines(s, NULL, logs, 0);
            ready = rv == APR_SUCCESS ? "1" : "0";
            apr_hash_set(done, store, APR_HASH_KEY_STRING, ready);
        }
        apr_atomic_set32(&conf->schema_ready, *ready == '1');
    }
}

/*
 * A child whose store was down at start-up creates the schema once it is
 * reachable; mod_dbd then opens connections (it retries on each acquire).
 */
static void retry_migrate(request_rec *r, consent_server_conf *conf)
{
    const char *err;
    apr_status_t rv = consent_store_setup_retry(
        &conf->schema_ready, &conf->migrate_after, MIGRATE_RETRY,
        conf->dbd_driver, conf->dbd_params, &err, r->pool);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, r->server,
                     CONSENT_LOGNO(0021) "store %s unavailable, consent "
                     "locations answer 503 until it is back: %s",
                     consent_dbd_store_of(r->server, r->pool), err);
    }
}

#define DBD_NOTE "consent_dbd"

/*
 * A pgsql connection whose server restarted is reconnected by mod_dbd's
 * check on its next acquire (apr_dbd_check_conn runs PQreset; mysql's
 * mysql_ping reconnects too), but the
 * new session has none of the statements mod_dbd prepared, so every use
 * would fail until the connection expires. mod_dbd offers no way to drop
 * one of its connections, so after a failure we reconnect it now and
 * prepare our statements again ("already exists" means they were still
 * there). The statements live in the connection's pool: this only runs
 * after a failure, and not at all while the server is away.
 */
static void repair(request_rec *r)
{
    ap_dbd_t *dbd = NULL;

    apr_pool_userdata_get((void **)&dbd, DBD_NOTE, r->pool);
    if (!dbd || strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0
        || apr_dbd_check_conn(dbd->driver, r->pool, dbd->handle)
           != APR_SUCCESS) {
        return;
    }
    consent_store_reprepare(dbd->driver, dbd->handle, dbd->prepared,
                            dbd->pool);
    apr_pool_userdata_setn(NULL, DBD_NOTE, NULL, r->pool);  /* once */
}

/*
 * mod_dbd's post_connect hook (optional, so registered whatever the
 * module order): per-connection settings once per connection, not once
 * per request. FIRST, so that an admin's DBDInitSQL, which mod_dbd runs
 * from the same hook, has the last word. mod_dbd ignores the result and
 * stops at a failure, so this always answers OK.
 */
static apr_status_t dbd_connected(apr_pool_t *p, dbd_cfg_t *cfg,
                                  ap_dbd_t *dbd)
{
    const char *err = NULL;

    if (strcmp(apr_dbd_name(dbd->driver), "sqlite3") != 0
        && strcmp(apr_dbd_name(dbd->driver), "mysql") != 0) {
        return OK;
    }
    if (consent_store_connection_init(dbd->driver, dbd->handle, p, &err)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cfg->server,
                     CONSENT_LOGNO(0026) "store %s: connection settings: "
                     "%s", apr_dbd_name(dbd->driver), err ? err : "?");
    }
    return OK;
}

/* One group-commit writer per store and per process (consent_writer.h).
 * It stops, after writing what it was given, when the child's pool goes. */
static void start_writers(apr_pool_t *pchild, server_rec *main_server)
{
    apr_hash_t *writers = apr_hash_make(pchild);
    server_rec *s;

    for (s = main_server; s; s = s->next) {
        consent_server_conf *conf =
            ap_get_module_config(s->module_config, &consent_module);
        apr_status_t rv;

        if (!conf->dbd_driver || !conf->dbd_params) {
            continue;
        }
        rv = consent_writer_shared(&conf->writer, writers, conf->dbd_driver,
                                   conf->dbd_params, pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, CONSENT_LOGNO(0028)
                         "store %s: cannot start its writer thread, "
                         "submissions answer 503",
                         consent_dbd_store_of(s, pchild));
        }
    }
}

void consent_dbd_register(apr_pool_t *p)
{
    static const char *const before_dbd[] = { "mod_dbd.c", NULL };

    APR_OPTIONAL_HOOK(dbd, post_connect, dbd_connected, NULL, NULL,
                      APR_HOOK_FIRST);
    /* before mod_dbd's child_init opens its pool's first connections */
    ap_hook_child_init(sqlite_defaults, NULL, before_dbd,
                       APR_HOOK_REALLY_FIRST);
    ap_hook_child_init(start_writers, NULL, NULL, APR_HOOK_MIDDLE);
}

consent_store_t *consent_dbd_store(request_rec *r)
{
    consent_server_conf *conf =
        ap_get_module_config(r->server->module_config, &consent_module);
    consent_store_t *store;
    ap_dbd_t *dbd;

    dbd = dbd_acquire ? dbd_acquire(r) : NULL;
    if (!dbd) {
        retry_migrate(r, conf);
        consent_dbd_outcome(r, 0);
        return NULL;
    }
    apr_pool_userdata_setn(dbd, DBD_NOTE, NULL, r->pool);
    store = apr_pcalloc(r->pool, sizeof *store);
    store->driver = dbd->driver;
    store->handle = dbd->handle;
    store->prepared = dbd->prepared;
    /* a person's state here is their state at this site (and what was
     * recorded before sites existed), not at a customer's next door */
    store->only_site = conf->site;
    return store;
}

void consent_dbd_outcome(request_rec *r, int ok)
{
    consent_server_conf *conf =
        ap_get_module_config(r->server->module_config, &consent_module);

    apr_atomic_set32(&conf->store_failed, ok ? 0 : 1);
    if (!ok) {
        repair(r);
    }
}
