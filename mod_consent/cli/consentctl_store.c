/*
 * consentctl export, verify and status: the proof store from a shell.
 * Every command here only reads: the store is opened as it is, never
 * created nor migrated (a typo in -p must not answer "no proof, nobody
 * to suppress" from a fresh empty file), and one that is not there or
 * holds no mod_consent schema is an error (CONSENTCTL_NO_STORE).
 * consentctl_open_store_rw is for purge (consentctl_purge.c), the one
 * command that writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>

#include <apr_getopt.h>
#include <apr_dbd.h>
#include <apr_file_info.h>

#include "consentctl_store.h"
#include "consent_store.h"
#include "consent_status.h"
#include "consent_utf8.h"

#define EXIT_PROBLEM CONSENTCTL_PROBLEM
#define EXIT_USAGE CONSENTCTL_USAGE
#define EXIT_NO_STORE CONSENTCTL_NO_STORE

typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
} connection_t;

static apr_status_t close_connection(void *data)
{
    connection_t *c = data;

    return apr_dbd_close(c->driver, c->handle);
}

/* sqlite3 creates a missing file on open (apr_dbd's driver passes no
 * flags to sqlite3_open): look before opening. */
static int sqlite_file_exists(const char *path, apr_pool_t *p)
{
    apr_finfo_t fi;
    apr_status_t rv = apr_stat(&fi, path, APR_FINFO_TYPE, p);

    if (rv != APR_SUCCESS) {
        char buf[120];

        fprintf(stderr, "consentctl: no store at %s: %s (reading commands "
                "never create one: is -p the DBDParams Apache uses?)\n",
                path, apr_strerror(rv, buf, sizeof buf));
        return 0;
    }
    if (fi.filetype != APR_REG) {
        fprintf(stderr, "consentctl: no store at %s: not a regular file\n",
                path);
        return 0;
    }
    return 1;
}

/* The schema version the store holds, 0 when it has none. */
static int store_schema(const connection_t *c, const char *where,
                        apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL;
    /* apr-util's mysql driver reads a random-access result by row
     * number only: in order, it must be sequential */
    int rv = apr_dbd_select(c->driver, p, c->handle, &res,
                            "SELECT MAX(version) FROM consent_schema_version",
                            0);     /* sequential: the mysql driver reads
                                       random-access results out of order */

    if (rv != 0) {
        const char *msg = apr_dbd_error(c->driver, c->handle, rv);

        fprintf(stderr, "consentctl: %s is not a mod_consent store (%s): "
                "Apache's mod_consent creates the schema at its first "
                "start\n", where, msg ? msg : "no schema table");
        return 0;
    }
    while (apr_dbd_get_row(c->driver, p, res, &row, -1) == 0) {
        if (v == NULL) {
            v = apr_pstrdup(p, apr_dbd_get_entry(c->driver, row, 0));
        }
    }
    if (v == NULL || apr_atoi64(v) <= 0) {
        fprintf(stderr, "consentctl: %s is not a mod_consent store (its "
                "schema version is not recorded)\n", where);
        return 0;
    }
    return (int)apr_atoi64(v);
}

/* Belt and braces: the connection itself refuses writes. */
static apr_status_t read_only(const connection_t *c, apr_pool_t *p,
                              const char **err)
{
    const char *name = apr_dbd_name(c->driver);
    const char *sql = strcmp(name, "pgsql") == 0
                      ? "SET default_transaction_read_only = on"
                      : strcmp(name, "mysql") == 0
                      ? "SET SESSION TRANSACTION READ ONLY"
                      : "PRAGMA query_only = 1";
    int n, rv;

    /* MySQL refuses even to prepare an INSERT in a read-only session,
     * and the store prepares all its statements: there, reading
     * commands rely on never calling a writing one. */
    if (strcmp(name, "mysql") == 0) {
        return APR_SUCCESS;
    }
    rv = apr_dbd_query(c->driver, c->handle, &n, sql);

    if (rv != 0) {
        const char *msg = apr_dbd_error(c->driver, c->handle, rv);

        *err = apr_psprintf(p, "%s: %s", sql, msg ? msg : "failed");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The store's schema brought up to this consentctl's: only a command
 * that writes (purge) does it, as Apache's start would. */
static int migrate(const connection_t *c, int *version, const char *where,
                   apr_pool_t *p)
{
    const char *err = NULL;

    if (*version >= CONSENT_SCHEMA_VERSION) {
        return 1;
    }
    if (consent_store_migrate(c->driver, c->handle, p, &err)
        != APR_SUCCESS) {
        fprintf(stderr, "consentctl: cannot migrate %s: %s\n", where, err);
        return 0;
    }
    *version = CONSENT_SCHEMA_VERSION;
    return 1;
}

static consent_store_t *open_store(const consentctl_opts *o, int writes)
{
    connection_t *c = apr_pcalloc(o->pool, sizeof *c);
    const char *driver = o->driver ? o->driver : "sqlite3";
    consent_store_t *store = NULL;
    const char *err = NULL, *where;
    apr_status_t rv;
    int version, late;

    if (o->params == NULL) {
        fprintf(stderr, "consentctl: -p PARAMS (as DBDParams) is needed\n");
        return NULL;
    }
    where = apr_psprintf(o->pool, "the %s store %s", driver, o->params);
    apr_dbd_init(o->pool);
    if ((rv = apr_dbd_get_driver(o->pool, driver, &c->driver))) {
        fprintf(stderr, "consentctl: DBD driver %s is not available "
                "(is libaprutil1-dbd-%s installed?)\n", driver, driver);
        return NULL;
    }
    if (strcmp(driver, "sqlite3") == 0
        && !sqlite_file_exists(o->params, o->pool)) {
        return NULL;
    }
    /* the server's writers may be committing: a busy timeout from the
     * first statement on (the schema check comes before
     * consent_store_connection_init), else "database is locked" */
    if (strcmp(driver, "sqlite3") == 0) {
        (void)consent_store_sqlite_defaults(o->pool);
    }
    if ((rv = apr_dbd_open_ex(c->driver, o->pool, o->params, &c->handle,
                              &err))) {
        fprintf(stderr, "consentctl: cannot open the %s store: %s\n",
                driver, err ? err : "unknown error");
        return NULL;
    }
    apr_pool_cleanup_register(o->pool, c, close_connection,
                              apr_pool_cleanup_null);
    if ((version = store_schema(c, where, o->pool)) == 0
        || (writes && !migrate(c, &version, where, o->pool))) {
        return NULL;
    }
    if (version != CONSENT_SCHEMA_VERSION) {
        fprintf(stderr, "consentctl: %s has schema version %d, this "
                "consentctl reads version %d: %s\n", where, version,
                CONSENT_SCHEMA_VERSION, version > CONSENT_SCHEMA_VERSION
                ? "use the consentctl of the mod_consent that wrote it"
                : "start Apache with this mod_consent once to migrate it");
        return NULL;
    }
    /* MySQL will not even prepare an INSERT in a read-only session: it
     * turns read-only once prepared; sqlite3 must before (a PRAGMA
     * expires the statements prepared on its connection) */
    late = strcmp(driver, "mysql") == 0;
    if (consent_store_connection_init(c->driver, c->handle, o->pool, &err)
        || (!late && !writes && read_only(c, o->pool, &err))
        || consent_store_open(&store, c->driver, c->handle, o->pool,
                              &err)
        || (late && !writes && read_only(c, o->pool, &err))) {
        fprintf(stderr, "consentctl: store: %s\n", err);
        return NULL;
    }
    store->only_site = o->site;
    return store;
}

consent_store_t *consentctl_open_store(const consentctl_opts *o)
{
    return open_store(o, 0);
}

consent_store_t *consentctl_open_store_rw(const consentctl_opts *o)
{
    return open_store(o, 1);
}

/* ---- export --------------------------------------------------------- */

static int digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; ++i) {
        if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Seconds since the epoch, or RFC 3339 ("2026-11-28", "...T07:29:35Z",
 * "...T07:29:35.5+02:00"). */
int consentctl_parse_time(const char *s, apr_time_t *t)
{
    apr_time_exp_t tm;
    apr_int64_t usec = 0, scale = 100000, off = 0;
    size_t len = strlen(s);

    if (len > 0 && digits(s, (int)len)) {
        *t = apr_time_from_sec(apr_atoi64(s));
        return 1;
    }
    memset(&tm, 0, sizeof tm);
    if (len < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2)
        || s[7] != '-' || !digits(s + 8, 2)) {
        return 0;
    }
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    s += 10;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        if (strlen(s) < 9 || !digits(s + 1, 2) || s[3] != ':'
            || !digits(s + 4, 2) || s[6] != ':' || !digits(s + 7, 2)) {
            return 0;
        }
        tm.tm_hour = atoi(s + 1);
        tm.tm_min = atoi(s + 4);
        tm.tm_sec = atoi(s + 7);
        s += 9;
        if (*s == '.') {
            for (++s; isdigit((unsigned char)*s); ++s, scale /= 10) {
                usec += (*s - '0') * scale;
            }
        }
        if ((*s == '+' || *s == '-') && strlen(s) == 6 && digits(s + 1, 2)
            && s[3] == ':' && digits(s + 4, 2)) {
            off = (atoi(s + 1) * 3600 + atoi(s + 4) * 60)
                  * (*s == '-' ? -1 : 1);
            s += 6;
        }
        else if (*s == 'Z' || *s == 'z') {
            ++s;
        }
        else {
            return 0;
        }
    }
    if (*s != '\0' || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1
        || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59
        || tm.tm_sec > 60 || apr_time_exp_gmt_get(t, &tm) != APR_SUCCESS) {
        return 0;
    }
    *t += usec - apr_time_from_sec(off);
    return 1;
}

static apr_status_t print_json(void *baton, const consent_proof_t *proof,
                               apr_pool_t *scratch)
{
    /* a full disk or a closed pipe must not pass for a complete export */
    if (printf("%s\n", consent_proof_json(scratch, proof)) < 0) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* --format: NULL for the plain export lines, else kantara | iso27560;
 * 0 when the name is not one of them. */
static int export_format(const char *arg, const char **format)
{
    if (strcmp(arg, "json") == 0) {
        *format = NULL;
    }
    else if (strcmp(arg, "kantara") == 0 || strcmp(arg, "iso27560") == 0) {
        *format = arg;
    }
    else {
        return 0;
    }
    return 1;
}

#define EXPORT_USAGE "usage: consentctl -d DRIVER -p PARAMS export " \
    "[--since TIME] [--subject S]\n" \
    "       [--format json|kantara|iso27560] [--jurisdiction J]\n"

int consentctl_export(const consentctl_opts *o, int argc,
                      const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "since", 's', 1, "only proofs from this time on" },
        { "subject", 'S', 1, "only this person's proofs" },
        { "format", 'f', 1, "json (default), kantara or iso27560" },
        { "jurisdiction", 'j', 1, "the receipts' jurisdiction" },
        { NULL, 0, 0, NULL }
    };
    const char *subject = NULL, *arg, *err = NULL, *format = NULL;
    const char *jurisdiction = NULL;
    consent_proof_fn *print = print_json;
    void *baton = NULL;
    consent_store_t *store;
    apr_time_t since = 0;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt;

    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        if (opt == 'S') {
            subject = consentctl_subject(o->pool, arg);
        }
        else if (opt == 'j') {
            jurisdiction = arg;
        }
        else if (opt == 'f' && !export_format(arg, &format)) {
            fprintf(stderr, "consentctl export: --format %s: expected "
                    "json, kantara or iso27560\n", arg);
            return EXIT_USAGE;
        }
        else if (opt == 's' && !consentctl_parse_time(arg, &since)) {
            fprintf(stderr, "consentctl export: --since %s: expected RFC "
                    "3339 (2026-11-28T07:29:35Z) or epoch seconds\n", arg);
            return EXIT_USAGE;
        }
    }
    if (rv != APR_EOF || os->ind < argc || (jurisdiction && !format)) {
        fprintf(stderr, EXPORT_USAGE);
        return EXIT_USAGE;
    }
    if ((store = consentctl_open_store(o)) == NULL) {
        return EXIT_NO_STORE;
    }
    store->only_site_exact = 1;     /* a customer's export: theirs only */
    if (format) {
        print = consentctl_print_receipt;
        baton = consentctl_receipts_make(store, format, jurisdiction,
                                         o->pool);
    }
    if (consent_store_each(store, since, subject, print, baton, o->pool,
                           &err) != APR_SUCCESS
        || fflush(stdout) != 0) {
        fprintf(stderr, "consentctl export: %s\n",
                err ? err : "cannot write the output");
        return err ? EXIT_NO_STORE : EXIT_PROBLEM;
    }
    return 0;
}

/* ---- verify --------------------------------------------------------- */

consent_keyring_t *consentctl_load_keyring(const consentctl_opts *o)
{
    consent_keyring_t *ring = consent_keyring_make(o->pool);
    const char *err = NULL;
    int i;

    for (i = 0; o->key_files && i < o->key_files->nelts; ++i) {
        consent_key_t *key;

        if (consent_key_load(&key, APR_ARRAY_IDX(o->key_files, i,
                                                 const char *),
                             o->pool, &err) != APR_SUCCESS) {
            fprintf(stderr, "consentctl: %s\n", err);
            return NULL;
        }
        consent_keyring_add(ring, key);
    }
    return ring;
}

/* verify's arguments: --checkpoint FILE, repeatable, and more FILEs
 * after it. NULL on a usage error. */
static apr_array_header_t *checkpoint_paths(const consentctl_opts *o,
                                            int argc,
                                            const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "checkpoint", 'c', 1, "a checkpoint to verify against" },
        { NULL, 0, 0, NULL }
    };
    apr_array_header_t *paths = apr_array_make(o->pool, 4,
                                               sizeof(const char *));
    const char *arg;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt;

    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        APR_ARRAY_PUSH(paths, const char *) = arg;
    }
    if (rv != APR_EOF || (os->ind < argc && paths->nelts == 0)) {
        return NULL;
    }
    for (; os->ind < argc; ++os->ind) {
        APR_ARRAY_PUSH(paths, const char *) = argv[os->ind];
    }
    return paths;
}

/*
 * Exit: 1 when anything points at tampering (it wins over the rest),
 * CONSENTCTL_UNCHECKED when all that is wrong is a key the keyring lacks
 * (records that could not be checked are not tampered records), 0 when
 * every record and lane was checked and found intact.
 */
int consentctl_verify(const consentctl_opts *o, int argc,
                      const char *const *argv)
{
    apr_array_header_t *problems, *paths, *cps;
    consent_keyring_t *ring;
    consent_store_t *store;
    apr_int64_t proofs = 0, lanes = 0;
    const char *err = NULL;
    int i, tamper = 0, missing = 0;

    paths = checkpoint_paths(o, argc, argv);
    if (!paths || o->key_files == NULL || o->key_files->nelts == 0) {
        fprintf(stderr, "usage: consentctl -d DRIVER -p PARAMS -k KEYFILE "
                "[-k OLDKEY]... verify [--checkpoint FILE...]\n");
        return EXIT_USAGE;
    }
    if ((ring = consentctl_load_keyring(o)) == NULL) {
        return EXIT_USAGE;
    }
    if ((cps = consentctl_read_checkpoints(o, ring, paths)) == NULL) {
        return EXIT_PROBLEM;    /* unreadable or not sealed by our key */
    }
    if ((store = consentctl_open_store(o)) == NULL) {
        return EXIT_NO_STORE;
    }
    problems = apr_array_make(o->pool, 8, sizeof(consent_problem_t));
    consent_store_verify_checkpoints(store, ring, cps, problems, o->pool);
    for (i = 0; i < problems->nelts; ++i) {
        const consent_problem_t *pb = &APR_ARRAY_IDX(problems, i,
                                                     consent_problem_t);

        if (strcmp(pb->rule, "key") == 0) {
            ++missing;
        }
        else {
            ++tamper;
        }
        fprintf(stderr, "%s\n", consent_problem_str(o->pool, pb));
    }
    if (consent_store_count(store, &proofs, &lanes, o->pool, &err)
        || (o->site && consentctl_site_report(store, o, &err))) {
        fprintf(stderr, "consentctl verify: %s\n", err);
        return EXIT_NO_STORE;
    }
    printf("%" APR_INT64_T_FMT " proofs, %" APR_INT64_T_FMT " lanes: ",
           proofs, lanes);
    if (tamper) {
        printf("%d problem%s\n", tamper, tamper == 1 ? "" : "s");
        return EXIT_PROBLEM;
    }
    if (missing) {
        printf("not fully checked: %d key%s missing from the keyring, no "
               "tampering found in what could be checked\n", missing,
               missing == 1 ? "" : "s");
        return CONSENTCTL_UNCHECKED;
    }
    if (cps->nelts > 0) {
        printf("intact, nothing covered by %d checkpoint%s missing or "
               "changed\n", cps->nelts, cps->nelts == 1 ? "" : "s");
        return 0;
    }
    printf("intact\n");
    return 0;
}

/* ---- status --------------------------------------------------------- */

/* Looked up the way the module stores it: one rule, in the core. */
const char *consentctl_subject(apr_pool_t *p, const char *s)
{
    return consent_subject_normalise(p, s);
}

static apr_status_t note_decisions(void *baton, const consent_proof_t *pf,
                                   apr_pool_t *scratch)
{
    consent_status_add(baton, pf);
    return APR_SUCCESS;
}

/*
 * Stale (ISO/IEC 29184: ask again when the notice changes materially): a
 * consent given on a form of which the store has since seen a newer
 * version with another notice text (consent_notice holds one row per
 * text, with the version that first showed it: a version that changed
 * nothing in the text makes nothing stale). Only "given" can be: the
 * other states are no consent to renew.
 */
static int is_stale(consent_store_t *store, apr_hash_t *newest,
                    const consent_purpose_state_t *l, apr_pool_t *p)
{
    const char *v, *err = NULL, *form = l->form_id;
    apr_array_header_t *rows;

    if (l->state == NULL || strcmp(l->state, CONSENT_STATE_GIVEN) != 0
        || l->form_id == NULL) {
        return 0;
    }
    v = apr_hash_get(newest, l->form_id, APR_HASH_KEY_STRING);
    if (v == NULL) {
        v = consent_store_query(store, "SELECT MAX(form_version) FROM"
                                " consent_notice WHERE form_id = %s", &rows,
                                p, 1, &form, &err) == 0
            && rows->nelts == 1
            && APR_ARRAY_IDX(rows, 0, const char **)[0]
            ? APR_ARRAY_IDX(rows, 0, const char **)[0] : "0";
        apr_hash_set(newest, l->form_id, APR_HASH_KEY_STRING, v);
    }
    return apr_atoi64(v) > (apr_int64_t)l->form_version;
}

const char *consentctl_states_json(consent_store_t *store, apr_pool_t *p,
                                   const consent_status_t *st)
{
    apr_array_header_t *out = apr_array_make(p, st->order->nelts + 1,
                                             sizeof(char *));
    apr_hash_t *newest = apr_hash_make(p);     /* form id -> version */
    int i;

    for (i = 0; i < st->order->nelts; ++i) {
        const consent_purpose_state_t *l =
            APR_ARRAY_IDX(st->order, i, consent_purpose_state_t *);

        APR_ARRAY_PUSH(out, const char *) = apr_psprintf(p,
            "%s:{\"state\":%s,\"event\":%s,\"form_id\":%s,"
            "\"time\":%s,\"receipt_id\":%s,\"stale\":%s}",
            consent_json_str(p, l->purpose), consent_json_str(p, l->state),
            consent_json_str(p, l->event), consent_json_str(p, l->form_id),
            consent_json_str(p, consent_time_rfc3339(p, l->time)),
            consent_json_str(p, l->receipt_id),
            is_stale(store, newest, l, p) ? "true" : "false");
    }
    return apr_pstrcat(p, "{", apr_array_pstrcat(p, out, ','), "}", NULL);
}

static void print_status_json(consent_store_t *store,
                              const consent_status_t *st,
                              const char *subject)
{
    printf("{\"subject\":%s,\"purposes\":%s}\n",
           consent_json_str(st->pool, subject),
           consentctl_states_json(store, st->pool, st));
}

int consentctl_status(const consentctl_opts *o, int argc,
                      const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "subject", 'S', 1, "the person (e.g. the email address)" },
        { "json", 'j', 0, "one JSON object instead of lines" },
        { NULL, 0, 0, NULL }
    };
    const char *subject = NULL, *arg, *err = NULL;
    consent_store_t *store;
    consent_status_t *st;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt, json = 0, i;

    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        if (opt == 'S') {
            subject = consentctl_subject(o->pool, arg);
        }
        else {
            json = 1;
        }
    }
    if (rv != APR_EOF || os->ind < argc || subject == NULL) {
        fprintf(stderr, "usage: consentctl -d DRIVER -p PARAMS status "
                "--subject S [--json]\n");
        return EXIT_USAGE;
    }
    if ((store = consentctl_open_store(o)) == NULL) {
        return EXIT_NO_STORE;
    }
    st = consent_status_make(o->pool);
    if (consent_store_each(store, 0, subject, note_decisions, st, o->pool,
                           &err) != APR_SUCCESS) {
        fprintf(stderr, "consentctl status: %s\n", err);
        return EXIT_NO_STORE;
    }
    if (json) {
        print_status_json(store, st, subject);
        return 0;
    }
    for (i = 0; i < st->order->nelts; ++i) {
        const consent_purpose_state_t *l =
            APR_ARRAY_IDX(st->order, i, consent_purpose_state_t *);

        printf("%s\t%s\t%s\t%s\n", l->purpose, l->state,
               consent_time_rfc3339(o->pool, l->time), l->receipt_id);
    }
    if (st->order->nelts == 0) {
        fprintf(stderr, "consentctl status: no proof for %s\n", subject);
    }
    return 0;
}
