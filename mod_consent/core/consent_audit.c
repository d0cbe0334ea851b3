/*
 * The audit of consent_audit.h: row counts, column types, notice
 * metadata, and checkpoints kept outside the store.
 */
#include <errno.h>
#include <apr_lib.h>

#include "consent_audit.h"
#include "consent_hex.h"

#define CHECKPOINT_V "consent-checkpoint-1"
#define NAMED_MAX 20            /* stray rows named, then counted */

/* Column positions in PROOF_COLS and LANE_COLS (consent_store.c). */
enum { P_SEQ = 0, P_RECEIPT = 1, P_TIME = 3, P_FORM_ID = 7,
       P_FORM_VERSION = 8, P_LANG = 9, P_TOKEN_ISSUED = 14, P_LANE = 17,
       P_LANE_SEQ = 18 };
enum { L_LANE = 0, L_CREATED = 1, L_CREATION_MAC = 4, L_HEAD_SEQ = 5,
       L_HEAD_MAC = 6 };

typedef struct {
    const char *creation_mac;
    apr_int64_t head_seq;
    const char *head_mac;
    int lane_found;
    int head;                   /* 0 not met, 1 same, 2 changed */
} cp_lane_t;

typedef struct {
    const char *form_id, *form_version, *lang, *first_seen;
    int matched;                /* a citing proof has this metadata */
} notice_meta_t;

typedef struct {
    apr_int64_t lane_seq;
    apr_int64_t seq;
} lane_seen_t;

struct consent_audit_t {
    consent_store_t *store;
    const apr_array_header_t *checkpoints;
    apr_array_header_t *problems;
    apr_hash_t *notices;        /* sha256 -> notice_meta_t* */
    apr_hash_t *lanes;          /* lane -> lane_seen_t* */
    apr_pool_t *pool;
    /* the purge event last looked up for a tombstone: a purge's
     * tombstones come together in their lanes, and one event at a time
     * keeps memory bounded however many were erased */
    apr_pool_t *purge_pool;
    apr_pool_t *tomb_pool;      /* one tombstone's, cleared for the next */
    const char *purge_id;
    apr_hash_t *purge_named;    /* receipt id -> "", NULL: not a purge */
};

#define TAMPER(a, ...) \
    consent_problem_add((a)->problems, "store", 0, "tamper", __VA_ARGS__)
#define UNREADABLE(a, ...) \
    consent_problem_add((a)->problems, "store", 0, "store", __VA_ARGS__)

/* Canonical: the text the store writes for the value it stands for. */
int consent_audit_canonical_int(const char *s)
{
    char buf[32], *end;
    apr_int64_t v;

    if (s == NULL || *s == '\0' || strlen(s) >= sizeof buf) {
        return 0;
    }
    errno = 0;
    v = apr_strtoi64(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return 0;
    }
    apr_snprintf(buf, sizeof buf, "%" APR_INT64_T_FMT, v);
    return strcmp(buf, s) == 0;
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static apr_int64_t num(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}

/* ---- the verify hooks ------------------------------------------------ */

consent_audit_t *consent_audit_make(consent_store_t *store,
                                    const apr_array_header_t *checkpoints,
                                    apr_array_header_t *problems,
                                    apr_pool_t *p)
{
    consent_audit_t *a = apr_pcalloc(p, sizeof *a);

    a->store = store;
    a->checkpoints = checkpoints;
    a->problems = problems;
    a->notices = apr_hash_make(p);
    a->lanes = apr_hash_make(p);
    a->pool = p;
    apr_pool_create(&a->purge_pool, p);
    apr_pool_create(&a->tomb_pool, p);
    return a;
}

static void int_column(consent_audit_t *a, const char *table,
                       const char *row, const char *column,
                       const char *value)
{
    if (!consent_audit_canonical_int(value)) {
        TAMPER(a, "%s %s: %s is %s%s%s, not an integer (re-typed)", table,
               row, column, value ? "'" : "", value ? value : "NULL",
               value ? "'" : "");
    }
}

int consent_audit_begin(consent_audit_t *a, apr_pool_t *scratch)
{
    const char *after = "", *err = NULL;
    apr_array_header_t *rows;
    int i;

    do {
        apr_pool_clear(scratch);
        if (consent_store_query(a->store, "SELECT sha256, form_id,"
                                " form_version, lang, first_seen"
                                " FROM consent_notice WHERE sha256 > %s"
                                " ORDER BY sha256 LIMIT 100", &rows,
                                scratch, 1, &after, &err) != 0) {
            UNREADABLE(a, "cannot read notices: %s", err);
            return 1;
        }
        for (i = 0; i < rows->nelts; ++i) {
            const char **c = APR_ARRAY_IDX(rows, i, const char **);
            notice_meta_t *m = apr_pcalloc(a->pool, sizeof *m);

            after = apr_pstrdup(a->pool, c[0]);
            m->form_id = c[1] ? apr_pstrdup(a->pool, c[1]) : NULL;
            m->form_version = c[2] ? apr_pstrdup(a->pool, c[2]) : NULL;
            m->lang = c[3] ? apr_pstrdup(a->pool, c[3]) : NULL;
            m->first_seen = c[4] ? apr_pstrdup(a->pool, c[4]) : NULL;
            int_column(a, "notice", after, "form_version", m->form_version);
            int_column(a, "notice", after, "first_seen", m->first_seen);
            apr_hash_set(a->notices, after, APR_HASH_KEY_STRING, m);
        }
    } while (rows->nelts == 100);
    return 0;
}

void consent_audit_lane_row(consent_audit_t *a, const char **c)
{
    const char *lane = c[L_LANE] ? c[L_LANE] : "";
    int i;

    int_column(a, "lane", lane, "created_us", c[L_CREATED]);
    int_column(a, "lane", lane, "head_seq", c[L_HEAD_SEQ]);
    for (i = 0; a->checkpoints && i < a->checkpoints->nelts; ++i) {
        const consent_checkpoint_t *cp =
            APR_ARRAY_IDX(a->checkpoints, i, const consent_checkpoint_t *);
        cp_lane_t *cl = apr_hash_get(cp->lanes_at, lane,
                                     APR_HASH_KEY_STRING);

        if (cl == NULL) {
            continue;
        }
        cl->lane_found = 1;
        if (!same(cl->creation_mac, c[L_CREATION_MAC])) {
            TAMPER(a, "checkpoint %s: lane %s was re-created since (its "
                   "creation MAC differs)", cp->source, lane);
        }
    }
}

/* seq is the database's: it cannot be in the MAC, but it grows. */
static void check_seq(consent_audit_t *a, const consent_proof_t *pf,
                      const char *seq)
{
    const char *lane = pf->lane ? pf->lane : "";
    lane_seen_t *ls = apr_hash_get(a->lanes, lane, APR_HASH_KEY_STRING);

    if (ls == NULL) {
        ls = apr_pcalloc(a->pool, sizeof *ls);
        apr_hash_set(a->lanes, apr_pstrdup(a->pool, lane),
                     APR_HASH_KEY_STRING, ls);
    }
    else if (num(seq) <= ls->seq) {
        TAMPER(a, "receipt %s (lane %s #%" APR_INT64_T_FMT "): seq %s is "
               "not after the previous record's %" APR_INT64_T_FMT " (seq "
               "altered)", pf->receipt_id, lane, pf->lane_seq, seq,
               ls->seq);
    }
    ls->seq = num(seq);
    ls->lane_seq = pf->lane_seq;
}

static void match_notice(consent_audit_t *a, const char **c,
                         const consent_proof_t *pf)
{
    notice_meta_t *m;

    if (pf->notice_sha256 == NULL) {
        return;
    }
    m = apr_hash_get(a->notices, pf->notice_sha256, APR_HASH_KEY_STRING);
    if (m && !m->matched && same(m->form_id, c[P_FORM_ID])
        && same(m->form_version, c[P_FORM_VERSION])
        && same(m->lang, c[P_LANG]) && same(m->first_seen, c[P_TIME])) {
        m->matched = 1;
    }
}

static void meet_heads(consent_audit_t *a, const consent_proof_t *pf)
{
    int i;

    for (i = 0; a->checkpoints && i < a->checkpoints->nelts; ++i) {
        const consent_checkpoint_t *cp =
            APR_ARRAY_IDX(a->checkpoints, i, const consent_checkpoint_t *);
        cp_lane_t *cl = pf->lane ? apr_hash_get(cp->lanes_at, pf->lane,
                                                APR_HASH_KEY_STRING) : NULL;

        if (cl && cl->head_seq == pf->lane_seq) {
            cl->head = same(cl->head_mac, pf->mac) ? 1 : 2;
        }
    }
}

/* The receipts the purge event id names, NULL when id is not a purge
 * event of the store. Its own MAC is checked where verify meets it in its
 * lane, like any record's: a forged one is tampering there. */
static apr_hash_t *purge_named(consent_audit_t *a, const char *id)
{
    apr_array_header_t *rows, *choices;
    const char *err = NULL, **c;
    int i;

    if (a->purge_id && strcmp(a->purge_id, id) == 0) {
        return a->purge_named;
    }
    apr_pool_clear(a->purge_pool);
    a->purge_id = apr_pstrdup(a->purge_pool, id);
    a->purge_named = NULL;
    if (consent_store_query(a->store, "SELECT event, choices, erasure"
                            " FROM consent_proof WHERE receipt_id = %s",
                            &rows, a->purge_pool, 1, &id, &err) != 0) {
        UNREADABLE(a, "cannot read purge event %s: %s", id, err);
        return NULL;
    }
    c = rows->nelts == 1 ? APR_ARRAY_IDX(rows, 0, const char **) : NULL;
    if (c == NULL || !same(c[0], CONSENT_EVENT_PURGE) || c[2] != NULL) {
        return NULL;
    }
    a->purge_named = apr_hash_make(a->purge_pool);
    choices = consent_choices_decode(a->purge_pool, c[1]);
    for (i = 0; i < choices->nelts; ++i) {
        const consent_choice_t *ch = &APR_ARRAY_IDX(choices, i,
                                                    consent_choice_t);

        if (same(ch->state, CONSENT_STATE_ERASED)) {
            apr_hash_set(a->purge_named, ch->purpose, APR_HASH_KEY_STRING,
                         "");
        }
    }
    return a->purge_named;
}

/* A tombstone must be named by a purge event: an erasure is authorised
 * and on the record, never a row blanked quietly. */
static void check_tombstone(consent_audit_t *a, const consent_proof_t *pf,
                            apr_pool_t *p)
{
    const char *by = NULL, *tomb = NULL;
    apr_hash_t *named;

    if (!consent_proof_erasure_parse(p, pf->erasure, &by, &tomb)) {
        TAMPER(a, "receipt %s: a tombstone mod_consent never writes "
               "(erasure '%.80s')", pf->receipt_id, pf->erasure);
        return;
    }
    named = purge_named(a, by);
    if (named == NULL) {
        TAMPER(a, "receipt %s: erased by %s, which is no purge event of "
               "the store (an erasure not on the record)", pf->receipt_id,
               by);
    }
    else if (!apr_hash_get(named, pf->receipt_id, APR_HASH_KEY_STRING)) {
        TAMPER(a, "receipt %s: erased by purge %s, which does not name it "
               "(an erasure not on the record)", pf->receipt_id, by);
    }
}

void consent_audit_proof_row(consent_audit_t *a, const char **c,
                             const consent_proof_t *pf)
{
    const char *r = c[P_RECEIPT] ? c[P_RECEIPT] : "(no receipt id)";

    int_column(a, "receipt", r, "seq", c[P_SEQ]);
    int_column(a, "receipt", r, "time_us", c[P_TIME]);
    int_column(a, "receipt", r, "form_version", c[P_FORM_VERSION]);
    int_column(a, "receipt", r, "token_issued", c[P_TOKEN_ISSUED]);
    int_column(a, "receipt", r, "lane_seq", c[P_LANE_SEQ]);
    check_seq(a, pf, c[P_SEQ]);
    match_notice(a, c, pf);
    meet_heads(a, pf);
    if (pf->erasure != NULL) {
        apr_pool_clear(a->tomb_pool);
        check_tombstone(a, pf, a->tomb_pool);
    }
}

/* ---- the end: counts, strays, what was not met ----------------------- */

static int count_rows(consent_audit_t *a, const char *table,
                      apr_int64_t *n, apr_pool_t *p)
{
    apr_array_header_t *rows;
    const char *err = NULL;

    if (consent_store_query(a->store, apr_pstrcat(p, "SELECT COUNT(*) FROM ",
                                                  table, NULL),
                            &rows, p, 0, NULL, &err) != 0
        || rows->nelts != 1) {
        UNREADABLE(a, "cannot count %s: %s", table, err ? err : "no row");
        return 1;
    }
    *n = num(APR_ARRAY_IDX(rows, 0, const char **)[0]);
    return 0;
}

/* The proofs the keyset pages of verify cannot reach, named. */
static void name_stray_proofs(consent_audit_t *a, apr_pool_t *p)
{
    apr_array_header_t *rows;
    const char *err = NULL;
    int i;

    if (consent_store_query(a->store, "SELECT receipt_id, lane, lane_seq"
                            " FROM consent_proof WHERE CASE WHEN lane >= ''"
                            " AND (lane > '' OR lane_seq > -1) THEN 0"
                            " ELSE 1 END = 1 ORDER BY seq LIMIT 21",
                            &rows, p, 0, NULL, &err) != 0) {
        UNREADABLE(a, "cannot look for stray proofs: %s", err);
        return;
    }
    for (i = 0; i < rows->nelts && i < NAMED_MAX; ++i) {
        const char **c = APR_ARRAY_IDX(rows, i, const char **);

        TAMPER(a, "receipt %s (lane '%s' #%s): outside every lane, never "
               "chained (a row inserted by hand)", c[0] ? c[0] : "NULL",
               c[1] ? c[1] : "NULL", c[2] ? c[2] : "NULL");
    }
}

static void check_count(consent_audit_t *a, const char *table,
                        apr_int64_t read, apr_int64_t *held, apr_pool_t *p)
{
    *held = -1;
    if (count_rows(a, table, held, p) != 0) {
        return;
    }
    if (*held != read) {
        if (strcmp(table, "consent_proof") == 0) {
            name_stray_proofs(a, p);
        }
        TAMPER(a, "%s holds %" APR_INT64_T_FMT " rows, verify read %"
               APR_INT64_T_FMT ": %" APR_INT64_T_FMT " not accounted for",
               table, *held, read, *held - read);
    }
}

static void check_notices_met(consent_audit_t *a, apr_pool_t *p)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, a->notices); hi; hi = apr_hash_next(hi)) {
        const notice_meta_t *m = apr_hash_this_val(hi);

        if (!m->matched) {
            TAMPER(a, "notice %s: its form_id, form_version, lang and "
                   "first_seen are those of no proof citing it (altered, "
                   "or its proofs deleted)",
                   (const char *)apr_hash_this_key(hi));
        }
    }
}

static void check_checkpoint(consent_audit_t *a,
                             const consent_checkpoint_t *cp,
                             const apr_int64_t *held, apr_pool_t *p)
{
    static const char *const tables[] = {
        "consent_proof", "consent_lane", "consent_notice"
    };
    const apr_int64_t had[] = { cp->proofs, cp->lanes, cp->notices };
    const char *when = consent_time_rfc3339(p, cp->time);
    apr_hash_index_t *hi;
    int i;

    for (i = 0; i < 3; ++i) {
        if (held[i] >= 0 && held[i] < had[i]) {
            TAMPER(a, "checkpoint %s (%s): %s had %" APR_INT64_T_FMT
                   " rows, it holds %" APR_INT64_T_FMT " (rows deleted "
                   "since)", cp->source, when, tables[i], had[i], held[i]);
        }
    }
    for (hi = apr_hash_first(p, cp->lanes_at); hi; hi = apr_hash_next(hi)) {
        const char *lane = apr_hash_this_key(hi);
        const cp_lane_t *cl = apr_hash_this_val(hi);

        if (!cl->lane_found) {
            TAMPER(a, "checkpoint %s (%s): lane %s is missing (deleted "
                   "since)", cp->source, when, lane);
        }
        else if (cl->head_seq > 0 && cl->head == 0) {
            TAMPER(a, "checkpoint %s (%s): lane %s record #%"
                   APR_INT64_T_FMT " is missing (deleted since)",
                   cp->source, when, lane, cl->head_seq);
        }
        else if (cl->head == 2) {
            TAMPER(a, "checkpoint %s (%s): lane %s record #%"
                   APR_INT64_T_FMT " changed since (history rewritten: "
                   "it or a record before it)", cp->source, when, lane,
                   cl->head_seq);
        }
    }
}

void consent_audit_end(consent_audit_t *a, apr_int64_t proofs_read,
                       apr_int64_t lanes_read, apr_int64_t notices_read,
                       apr_pool_t *scratch)
{
    apr_int64_t held[3];
    int i;

    apr_pool_clear(scratch);
    check_count(a, "consent_proof", proofs_read, &held[0], scratch);
    check_count(a, "consent_lane", lanes_read, &held[1], scratch);
    check_count(a, "consent_notice", notices_read, &held[2], scratch);
    check_notices_met(a, scratch);
    for (i = 0; a->checkpoints && i < a->checkpoints->nelts; ++i) {
        check_checkpoint(a, APR_ARRAY_IDX(a->checkpoints, i,
                                          const consent_checkpoint_t *),
                         held, scratch);
    }
}

/* ---- checkpoints ----------------------------------------------------- */

/* Lane ids as consent_store_lane_id() makes them, and a little more: a
 * space or a line break would let one lane read as two lines. */
static int plain_id(const char *s)
{
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (; *s; ++s) {
        if (!apr_isalnum(*s) && !strchr("._:-", *s)) {
            return 0;
        }
    }
    return 1;
}

static const char *lane_lines(consent_audit_t *a, apr_pool_t *p,
                              const char **err)
{
    apr_array_header_t *rows, *out;
    int i;

    if (consent_store_query(a->store, "SELECT lane, creation_mac,"
                            " head_seq, head_mac FROM consent_lane"
                            " ORDER BY lane", &rows, p, 0, NULL,
                            err) != 0) {
        return NULL;
    }
    out = apr_array_make(p, rows->nelts + 1, sizeof(const char *));
    for (i = 0; i < rows->nelts; ++i) {
        const char **c = APR_ARRAY_IDX(rows, i, const char **);

        if (!plain_id(c[0]) || !plain_id(c[1]) || !plain_id(c[3])
            || !consent_audit_canonical_int(c[2])) {
            *err = apr_psprintf(p, "lane %s: a lane row mod_consent never "
                                "writes (run consentctl verify)",
                                c[0] ? c[0] : "NULL");
            return NULL;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(
            p, "lane ", c[0], " ", c[1], " ", c[2], " ", c[3], "\n", NULL);
    }
    /* joined once: thousands of lanes, each appended, would be O(n^2) */
    return apr_array_pstrcat(p, out, '\0');
}

apr_status_t consent_checkpoint_make(consent_store_t *store,
                                     const consent_key_t *key,
                                     const char **text, apr_pool_t *p,
                                     const char **err)
{
    apr_array_header_t *problems = apr_array_make(p, 2,
                                                  sizeof(consent_problem_t));
    consent_audit_t *a = consent_audit_make(store, NULL, problems, p);
    apr_int64_t n[3];
    apr_time_t now = apr_time_now();
    const char *lanes, *mac;

    *text = NULL;
    *err = NULL;
    /* counts first: rows added meanwhile only make the lanes newer */
    if (count_rows(a, "consent_proof", &n[0], p)
        || count_rows(a, "consent_lane", &n[1], p)
        || count_rows(a, "consent_notice", &n[2], p)) {
        *err = consent_problem_str(p, &APR_ARRAY_IDX(problems, 0,
                                                     consent_problem_t));
        return APR_EGENERAL;
    }
    if ((lanes = lane_lines(a, p, err)) == NULL) {
        return APR_EGENERAL;
    }
    *text = apr_psprintf(p, CHECKPOINT_V "\ntime %s\ntime_us %"
                         APR_INT64_T_FMT "\nkey_id %s\n"
                         "count consent_proof %" APR_INT64_T_FMT "\n"
                         "count consent_lane %" APR_INT64_T_FMT "\n"
                         "count consent_notice %" APR_INT64_T_FMT "\n%s",
                         consent_time_rfc3339(p, now), (apr_int64_t)now,
                         consent_hex(p, key->id, CONSENT_KEY_ID_LEN),
                         n[0], n[1], n[2], lanes);
    if ((mac = consent_hmac_hex(key, *text, strlen(*text), p)) == NULL) {
        *text = NULL;
        *err = "HMAC failed";
        return APR_EGENERAL;
    }
    *text = apr_pstrcat(p, *text, "mac ", mac, "\n", NULL);
    return APR_SUCCESS;
}

/* The signed part and the MAC line; NULL when there is no "mac" line. */
static const char *split_mac(const char *text, apr_size_t *signed_len,
                             apr_pool_t *p)
{
    apr_size_t n = strlen(text);
    const char *line;

    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')) {
        --n;
    }
    line = text + n;
    while (line > text && line[-1] != '\n') {
        --line;
    }
    if (strncmp(line, "mac ", 4) != 0) {
        return NULL;
    }
    *signed_len = (apr_size_t)(line - text);
    return apr_pstrmemdup(p, line + 4, (apr_size_t)(text + n - line - 4));
}

static int parse_line(consent_checkpoint_t *cp, char *line, apr_pool_t *p)
{
    char *f[6], *last, *tok;
    int n = 0;

    for (tok = apr_strtok(line, " ", &last); tok;
         tok = apr_strtok(NULL, " ", &last)) {
        if (n == 6) {
            return 0;
        }
        f[n++] = tok;
    }
    if (n == 2 && strcmp(f[0], "time_us") == 0
        && consent_audit_canonical_int(f[1])) {
        cp->time = (apr_time_t)apr_atoi64(f[1]);
    }
    else if (n == 2 && strcmp(f[0], "key_id") == 0) {
        cp->key_id = f[1];
    }
    else if (n == 3 && strcmp(f[0], "count") == 0
             && consent_audit_canonical_int(f[2])) {
        apr_int64_t v = apr_atoi64(f[2]);

        if (strcmp(f[1], "consent_proof") == 0) {
            cp->proofs = v;
        }
        else if (strcmp(f[1], "consent_lane") == 0) {
            cp->lanes = v;
        }
        else if (strcmp(f[1], "consent_notice") == 0) {
            cp->notices = v;
        }
    }
    else if (n == 5 && strcmp(f[0], "lane") == 0
             && consent_audit_canonical_int(f[3])) {
        cp_lane_t *cl = apr_pcalloc(p, sizeof *cl);

        cl->creation_mac = f[2];
        cl->head_seq = apr_atoi64(f[3]);
        cl->head_mac = f[4];
        apr_hash_set(cp->lanes_at, f[1], APR_HASH_KEY_STRING, cl);
    }
    else if (!(n == 2 && strcmp(f[0], "time") == 0)) {
        return 0;
    }
    return 1;
}

apr_status_t consent_checkpoint_parse(consent_checkpoint_t **pcp,
                                      const char *source, const char *text,
                                      const consent_keyring_t *ring,
                                      apr_pool_t *p, const char **err)
{
    consent_checkpoint_t *cp = apr_pcalloc(p, sizeof *cp);
    const consent_key_t *key;
    const char *mac, *expect;
    char *body, *line, *last;
    apr_size_t len = 0;

    *pcp = NULL;
    cp->source = source;
    cp->lanes_at = apr_hash_make(p);
    cp->proofs = cp->lanes = cp->notices = -1;
    if (strncmp(text, CHECKPOINT_V "\n", sizeof CHECKPOINT_V) != 0
        || (mac = split_mac(text, &len, p)) == NULL) {
        *err = "not a checkpoint of consentctl (" CHECKPOINT_V ")";
        return APR_EINVAL;
    }
    body = apr_pstrmemdup(p, text, len);
    for (line = apr_strtok(body + sizeof CHECKPOINT_V, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        if (!parse_line(cp, line, p)) {
            *err = apr_psprintf(p, "unreadable line: %.60s", line);
            return APR_EINVAL;
        }
    }
    key = consent_proof_key(ring, cp->key_id);
    expect = key ? consent_hmac_hex(key, text, len, p) : NULL;
    if (key == NULL) {
        *err = apr_psprintf(p, "signed with key %s, not given (-k)",
                            cp->key_id ? cp->key_id : "(none)");
        return APR_EINVAL;
    }
    if (expect == NULL || strlen(mac) != strlen(expect)
        || !consent_mac_equal((const unsigned char *)mac,
                              (const unsigned char *)expect,
                              strlen(expect))) {
        *err = "its MAC does not match: altered, or not made with this key";
        return APR_EINVAL;
    }
    if (cp->proofs < 0 || cp->lanes < 0 || cp->notices < 0 || !cp->time) {
        *err = "a count or its time is missing";
        return APR_EINVAL;
    }
    *pcp = cp;
    return APR_SUCCESS;
}
