/*
 * The store's lane chain.
 *
 * Design. Every record is sealed with HMAC-SHA256 over its canonical form,
 * which includes its lane, its number in the lane and the MAC of the
 * lane's previous record (for the first record: the lane's creation MAC).
 * A lane is one writer, so writers never wait on each other's chain. The
 * lane row keeps the head (count and last MAC) under its own MAC (row_mac),
 * so deleting the last records shows. Lanes form one chain of their own:
 * each new lane names the newest lane as prev_lane (UNIQUE: two creators
 * cannot both extend the same lane; the loser retries) and MACs its id
 * with the predecessor's creation MAC, so deleting a lane shows too. The
 * first lane has prev_lane 'genesis', a value rather than NULL so that
 * UNIQUE allows only one. consent_store_verify() re-checks all of it.
 */
#include <stdarg.h>

#include <apr_general.h>
#include <apr_uuid.h>

#include "consent_store_int.h"
#include "consent_hex.h"

/* "name:length:value\n" pairs, as consent_proof_canonical does. */
static const char *canon(apr_pool_t *p, apr_size_t *len, ...)
{
    const char *out = "", *name, *value;
    va_list ap;

    va_start(ap, len);
    while ((name = va_arg(ap, const char *)) != NULL) {
        value = va_arg(ap, const char *);
        out = value == NULL
            ? apr_pstrcat(p, out, name, ":-\n", NULL)
            : apr_psprintf(p, "%s%s:%" APR_SIZE_T_FMT ":%s\n", out, name,
                           strlen(value), value);
    }
    va_end(ap);
    *len = strlen(out);
    return out;
}

void store_lane_from_cols(lane_t *ln, const char **c)
{
    ln->lane = c[0];
    ln->created_us = store_num(c[1]);
    ln->prev_lane = c[2];
    ln->creation_key_id = c[3];
    ln->creation_mac = c[4];
    ln->head_seq = store_num(c[5]);
    ln->head_mac = c[6];
    ln->head_key_id = c[7];
    ln->row_mac = c[8];
}

/* What creation_mac covers: the lane and the one it extends. */
const char *store_lane_creation_mac(const lane_t *ln,
                                           const char *prev_mac,
                                           const consent_key_t *key,
                                           apr_pool_t *p)
{
    apr_size_t len;
    const char *data = canon(p, &len, "v", "consent-lane-1",
                             "lane", ln->lane,
                             "created_us", store_i64(p, ln->created_us),
                             "prev_lane", ln->prev_lane,
                             "prev_creation_mac", prev_mac,
                             "creation_key_id", ln->creation_key_id, NULL);

    return consent_hmac_hex(key, data, len, p);
}

/* What row_mac covers: the whole lane row but row_mac. */
const char *store_lane_row_mac(const lane_t *ln,
                                      const consent_key_t *key,
                                      apr_pool_t *p)
{
    apr_size_t len;
    const char *data = canon(p, &len, "v", "consent-lane-row-1",
                             "lane", ln->lane,
                             "created_us", store_i64(p, ln->created_us),
                             "prev_lane", ln->prev_lane,
                             "creation_key_id", ln->creation_key_id,
                             "creation_mac", ln->creation_mac,
                             "head_seq", store_i64(p, ln->head_seq),
                             "head_mac", ln->head_mac,
                             "head_key_id", ln->head_key_id, NULL);

    return consent_hmac_hex(key, data, len, p);
}

/* Creates lane as the successor of the newest lane (or as the first). */
static const char *lane_create(consent_store_t *s, lane_t *ln,
                               const char *lane, const consent_key_t *key,
                               apr_pool_t *p)
{
    const char **newest, *args[9];
    const char *kid = consent_hex(p, key->id, CONSENT_KEY_ID_LEN);
    int rv;

    if ((rv = store_select_one(s, S_LANE_LOCK, &newest, p, 0, NULL)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_LOCK, p);
    }
    if ((rv = store_select_one(s, S_LANE_NEWEST, &newest, p, 0, NULL)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_NEWEST, p);
    }
    ln->lane = lane;
    ln->created_us = apr_time_now();
    ln->prev_lane = newest ? newest[0] : GENESIS;
    ln->creation_key_id = kid;
    ln->creation_mac = store_lane_creation_mac(ln, newest ? newest[1] : "",
                                               key, p);
    ln->head_seq = 0;
    ln->head_mac = ln->creation_mac;
    ln->head_key_id = kid;
    ln->row_mac = store_lane_row_mac(ln, key, p);
    if (!ln->creation_mac || !ln->row_mac) {
        return "HMAC failed";
    }
    args[0] = ln->lane;
    args[1] = store_i64(p, ln->created_us);
    args[2] = ln->prev_lane;
    args[3] = ln->creation_key_id;
    args[4] = ln->creation_mac;
    args[5] = "0";
    args[6] = ln->head_mac;
    args[7] = ln->head_key_id;
    args[8] = ln->row_mac;
    if ((rv = store_exec(s, S_LANE_INSERT, NULL, p, 9, args)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_INSERT, p);
    }
    return NULL;
}

const char *consent_store_lane_id(apr_pool_t *p)
{
    unsigned char b[16];

    if (apr_generate_random_bytes(b, sizeof b) != APR_SUCCESS) {
        apr_uuid_t uuid;    /* unique is what matters, not secret */

        apr_uuid_get(&uuid);
        memcpy(b, uuid.data, sizeof b);
    }
    return consent_hex(p, b, sizeof b);
}

/* Moves the lane's head to the proof just inserted. The head_seq guard
 * turns two writers on one lane into an error rather than a fork. */
const char *store_lane_advance(consent_store_t *s, lane_t *ln,
                                      const consent_proof_t *pf,
                                      const consent_key_t *key, apr_pool_t *p)
{
    const char *args[7];
    apr_int64_t was = ln->head_seq;
    const char *was_mac = ln->head_mac;
    int rv, n = 0;

    ln->head_seq = pf->lane_seq;
    ln->head_mac = pf->mac;
    ln->head_key_id = pf->mac_key_id;
    if ((ln->row_mac = store_lane_row_mac(ln, key, p)) == NULL) {
        return "HMAC failed";
    }
    args[0] = store_i64(p, ln->head_seq);
    args[1] = ln->head_mac;
    args[2] = ln->head_key_id;
    args[3] = ln->row_mac;
    args[4] = ln->lane;
    args[5] = store_i64(p, was);
    args[6] = was_mac;      /* the head this record chained to, exactly */
    if ((rv = store_exec(s, S_LANE_ADVANCE, &n, p, 7, args)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_ADVANCE, p);
    }
    return n == 1 ? NULL : apr_psprintf(p, "lane %s changed under its "
                                        "writer (two writers on one "
                                        "lane?)", ln->lane);
}

/* The lane's head, from the writer's memory when it has it. */
const char *store_lane_read(consent_store_t *s, lane_t *ln,
                                   const char *lane,
                                   const consent_lane_cache_t *cache,
                                   const consent_key_t *key, apr_pool_t *p,
                                   int *lane_race)
{
    const char **row;
    const char *err;
    int rv;

    if (cache && cache->valid && strcmp(cache->lane, lane) == 0) {
        ln->lane = cache->lane;
        ln->created_us = cache->created_us;
        ln->prev_lane = cache->prev_lane;
        ln->creation_key_id = cache->creation_key_id;
        ln->creation_mac = cache->creation_mac;
        ln->head_seq = cache->head_seq;
        ln->head_mac = cache->head_mac;
        ln->head_key_id = cache->head_key_id;
        return NULL;
    }
    if ((rv = store_select_one(s, S_LANE_GET, &row, p, 1, &lane)) != 0) {
        return store_db_error(s->driver, s->handle, rv, S_LANE_GET, p);
    }
    if (row) {
        store_lane_from_cols(ln, row);
        return NULL;
    }
    if ((err = lane_create(s, ln, lane, key, p)) != NULL) {
        *lane_race = 1;
    }
    return err;
}

/* Remembers what a committed record left; forgets what does not fit. */
void store_lane_remember(consent_lane_cache_t *c, const lane_t *ln,
                                const consent_proof_t *pf)
{
    c->valid = strlen(ln->lane) < sizeof c->lane
               && strlen(ln->prev_lane) < sizeof c->prev_lane
               && strlen(ln->creation_key_id) < sizeof c->creation_key_id
               && strlen(ln->creation_mac) < sizeof c->creation_mac
               && strlen(ln->head_mac) < sizeof c->head_mac
               && strlen(ln->head_key_id) < sizeof c->head_key_id;
    if (c->valid) {
        apr_cpystrn(c->lane, ln->lane, sizeof c->lane);
        c->created_us = ln->created_us;
        apr_cpystrn(c->prev_lane, ln->prev_lane, sizeof c->prev_lane);
        apr_cpystrn(c->creation_key_id, ln->creation_key_id,
                    sizeof c->creation_key_id);
        apr_cpystrn(c->creation_mac, ln->creation_mac,
                    sizeof c->creation_mac);
        c->head_seq = ln->head_seq;
        apr_cpystrn(c->head_mac, ln->head_mac, sizeof c->head_mac);
        apr_cpystrn(c->head_key_id, ln->head_key_id, sizeof c->head_key_id);
    }
    if (pf->notice_sha256 && strlen(pf->notice_sha256) < sizeof c->notice) {
        apr_cpystrn(c->notice, pf->notice_sha256, sizeof c->notice);
    }
}
