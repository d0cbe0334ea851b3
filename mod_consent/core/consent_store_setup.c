/*
 * A store's start-up (consent_store_setup.h): what each adapter did in
 * its own words, once.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <apr_atomic.h>
#include <apr_errno.h>
#include <apr_dbd.h>
#include <apr_strings.h>

#include "consent_store.h"
#include "consent_store_setup.h"

static const char *const password_keys[] = { "password=", "pass=", NULL };

/* Between parameters: libpq's space, and what apr_dbd_mysql also takes. */
#define PARAM_SEPARATORS " \t\r\n;|,"

/* Where key starts in params, case aside; NULL when nowhere. */
static const char *find_key(const char *params, const char *key)
{
    apr_size_t n = strlen(key);

    for (; *params; ++params) {
        if (strncasecmp(params, key, n) == 0) {
            return params;
        }
    }
    return NULL;
}

/* params with each password's value replaced by mask (NULL: the whole
 * "key=value" and the spaces after it left out). */
static const char *hide_passwords(const char *params, const char *mask,
                                  apr_pool_t *p)
{
    const char *const *k;

    for (k = password_keys; *k; ++k) {
        const char *pw = find_key(params, *k), *end;

        if (!pw) {
            continue;
        }
        end = pw + strcspn(pw, PARAM_SEPARATORS);
        if (mask) {
            params = apr_pstrcat(p, apr_pstrmemdup(p, params, pw - params),
                                 *k, mask, end, NULL);
            continue;
        }
        end += strspn(end, PARAM_SEPARATORS);
        params = apr_pstrcat(p, apr_pstrmemdup(p, params, pw - params),
                             end, NULL);
    }
    return params;
}

const char *consent_store_label(const char *driver, const char *params,
                                apr_pool_t *p)
{
    return apr_psprintf(p, "%s %s", driver ? driver : "?",
                        params ? hide_passwords(params, "***", p) : "?");
}

const char *consent_store_public_params(const char *params, apr_pool_t *p)
{
    char *out = apr_pstrdup(p, hide_passwords(params, NULL, p));
    apr_size_t n;

    for (n = strlen(out); n > 0 && strchr(PARAM_SEPARATORS, out[n - 1]);
         --n) {
        out[n - 1] = '\0';       /* the separator before a last password */
    }
    return out;
}

apr_status_t consent_store_setup_schema(const char *driver,
                                        const char *params, apr_pool_t *p,
                                        const char **err)
{
    const apr_dbd_driver_t *drv;
    apr_dbd_t *handle;
    apr_status_t rv;

    *err = NULL;
    rv = apr_dbd_get_driver(p, driver, &drv);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrcat(p, "no APR DBD driver ", driver, NULL);
        return rv;
    }
    rv = apr_dbd_open_ex(drv, p, params, &handle, err);
    if (rv != APR_SUCCESS) {
        *err = *err ? *err : "cannot open";
        return rv;
    }
    rv = consent_store_connection_init(drv, handle, p, err);
    if (rv == APR_SUCCESS) {
        rv = consent_store_migrate(drv, handle, p, err);
    }
    apr_dbd_close(drv, handle);
    if (rv != APR_SUCCESS && !*err) {
        *err = "cannot create the schema";
    }
    return rv;
}

static void note(apr_array_header_t *logs, int id, const char *text)
{
    consent_log_line_t *l = apr_array_push(logs);

    l->level = CONSENT_LOG_ERR;
    l->id = id;
    l->text = text;
}

/* sqlite3 creates -wal and -shm next to the file from the workers. */
static void check_dir(const char *file, uid_t uid, gid_t gid,
                      const char *who, apr_array_header_t *logs,
                      apr_pool_t *p)
{
    char *dir = apr_pstrdup(p, file), *slash = strrchr(dir, '/');
    struct stat st;

    if (!slash) {
        return;
    }
    *(slash == dir ? slash + 1 : slash) = '\0';
    if (stat(dir, &st) == 0
        && !(st.st_uid == uid && (st.st_mode & S_IWUSR))
        && !(st.st_gid == gid && (st.st_mode & S_IWGRP))
        && !(st.st_mode & S_IWOTH)) {
        note(logs, CONSENT_SETUP_LOG_DIR, apr_psprintf(
            p, "%s is not writable by %s: sqlite3 cannot create its "
            "-wal/-shm files there and consent locations will answer 503 "
            "(chown it to %s)", dir, who, who));
    }
}

void consent_store_setup_owner(const char *driver, const char *file,
                               uid_t uid, gid_t gid, const char *who,
                               apr_array_header_t *logs, apr_pool_t *p)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", NULL };
    const char *const *sfx;
    char buf[120];

    if (strcmp(driver, "sqlite3") != 0 || geteuid() != 0) {
        return;
    }
    check_dir(file, uid, gid, who, logs, p);
    for (sfx = suffixes; *sfx; ++sfx) {
        const char *f = apr_pstrcat(p, file, *sfx, NULL);

        /* -wal and -shm exist only while a connection is open */
        if (chown(f, uid, gid) != 0 && !**sfx) {
            note(logs, CONSENT_SETUP_LOG_CHOWN, apr_psprintf(
                p, "cannot give %s to %s: %s", f, who,
                apr_strerror(errno, buf, sizeof buf)));
        }
    }
}

apr_status_t consent_store_setup_start(const char *driver,
                                       const char *params, const char *name,
                                       int set_owner, uid_t uid, gid_t gid,
                                       const char *who,
                                       apr_array_header_t *logs,
                                       apr_pool_t *p)
{
    const char *err;
    apr_status_t rv = consent_store_setup_schema(driver, params, p, &err);

    if (rv != APR_SUCCESS) {
        note(logs, CONSENT_SETUP_LOG_UNAVAILABLE, apr_psprintf(
            p, "store %s unavailable, consent locations answer 503 until "
            "it is back: %s", name, err));
    }
    else if (set_owner) {
        consent_store_setup_owner(driver, params, uid, gid, who, logs, p);
    }
    return rv;
}

void consent_store_reprepare(const apr_dbd_driver_t *driver,
                             apr_dbd_t *handle, apr_hash_t *prepared,
                             apr_pool_t *pool)
{
    const consent_stmt_def_t *st =
        consent_store_statements(apr_dbd_name(driver));

    for (; st && st->label; ++st) {
        apr_dbd_prepared_t *old = apr_hash_get(prepared, st->label,
                                               APR_HASH_KEY_STRING);
        if (old) {
            apr_dbd_prepare(driver, pool, handle, st->sql, st->label, &old);
        }
    }
}

int consent_store_setup_retry_due(volatile apr_uint32_t *after,
                                  apr_uint32_t now_sec,
                                  apr_uint32_t every_sec)
{
    apr_uint32_t at = apr_atomic_read32(after);

    return now_sec >= at
           && apr_atomic_cas32(after, now_sec + every_sec, at) == at;
}

apr_status_t consent_store_setup_retry(volatile apr_uint32_t *ready,
                                       volatile apr_uint32_t *after,
                                       apr_uint32_t every_sec,
                                       const char *driver,
                                       const char *params, const char **err,
                                       apr_pool_t *p)
{
    apr_status_t rv;

    if (apr_atomic_read32(ready)
        || !consent_store_setup_retry_due(
               after, (apr_uint32_t)apr_time_sec(apr_time_now()),
               every_sec)) {
        return APR_SUCCESS;
    }
    rv = consent_store_setup_schema(driver, params, p, err);
    if (rv == APR_SUCCESS) {
        apr_atomic_set32(ready, 1);
    }
    return rv;
}
