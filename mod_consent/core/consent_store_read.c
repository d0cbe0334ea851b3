/*
 * Reading proofs.
 *
 * Reads (export, verify) go by pages of PAGE rows on keyset cursors, so
 * memory stays bounded and no read holds a snapshot for long.
 */
#include <stdlib.h>

#include "consent_store_int.h"

consent_proof_t *store_proof_from_cols(const char **c, apr_pool_t *p)
{
    consent_proof_t *pf = apr_pcalloc(p, sizeof *pf);

    pf->receipt_id = c[1];
    pf->event = c[2];
    pf->time = store_num(c[3]);
    pf->ip = c[4];
    pf->user_agent = c[5];
    pf->subject = c[6];
    pf->form_id = c[7];
    pf->form_version = (unsigned)store_num(c[8]);
    pf->lang = c[9];
    pf->regime = c[10];
    pf->notice_sha256 = c[11];
    pf->choices = consent_choices_decode(p, c[12]);
    pf->token_nonce = c[13];
    pf->token_issued = store_num(c[14]);
    pf->token_key_id = c[15];
    pf->token_defaults = c[16];
    pf->lane = c[17];
    pf->lane_seq = store_num(c[18]);
    pf->prev_mac = c[19];
    pf->mac_key_id = c[20];
    pf->mac = c[21];
    pf->site = c[COL_SITE] ? c[COL_SITE] : "";
    pf->erasure = c[COL_ERASURE];
    return pf;
}

/*
 * Pages of label's rows: arg (if any) then the cursor (a, a, b) bound, fn
 * called on each row, and the cursor moved to the last row's columns ca
 * and cb. Two page pools take turns, so the cursor can point into the
 * previous page while the next is read: two pages at most, whatever the
 * length of a subject.
 */
apr_status_t store_each_row(consent_store_t *store, const char *label,
                            const char *arg, const char *a, const char *b,
                            int ca, int cb, store_row_fn *fn, void *baton,
                            apr_pool_t *p, const char **err)
{
    const char *args[4];
    apr_array_header_t *rows;
    apr_status_t status = APR_SUCCESS;
    apr_pool_t *pages[2], *page;
    int rv, i, n, turn = 0;

    *err = NULL;
    apr_pool_create(&pages[0], p);
    apr_pool_create(&pages[1], p);
    do {
        page = pages[turn];
        turn = !turn;
        apr_pool_clear(page);
        n = 0;
        if (arg) {
            args[n++] = arg;
        }
        args[n++] = a;
        args[n++] = a;
        args[n++] = b;
        rv = store_select_rows(store, label, &rows, page, n, args);
        if (rv != 0) {
            *err = store_db_error(store->driver, store->handle, rv, label, p);
            status = APR_EGENERAL;
            break;
        }
        for (i = 0; i < rows->nelts && status == APR_SUCCESS; ++i) {
            status = fn(baton, APR_ARRAY_IDX(rows, i, const char **), page);
        }
        if (rows->nelts > 0) {
            const char **last = APR_ARRAY_IDX(rows, rows->nelts - 1,
                                              const char **);
            a = last[ca] ? last[ca] : "";
            b = last[cb] ? last[cb] : "-1";
        }
    } while (status == APR_SUCCESS && rows->nelts == atoi(PAGE));
    apr_pool_destroy(pages[0]);
    apr_pool_destroy(pages[1]);
    return status;
}

typedef struct {
    const consent_store_t *store;
    consent_proof_fn *fn;
    void *baton;
} each_t;

/* The store's site filter (consent_store_t.only_site), then fn. */
static apr_status_t each_proof(void *baton, const char **c,
                               apr_pool_t *page)
{
    const each_t *e = baton;
    const char *site = c[COL_SITE] ? c[COL_SITE] : "";

    if (!e->store->only_site || strcmp(e->store->only_site, site) == 0
        || (!*site && !e->store->only_site_exact)) {
        return e->fn(e->baton, store_proof_from_cols(c, page), page);
    }
    return APR_SUCCESS;
}

static apr_status_t each_page(consent_store_t *store, const char *label,
                              const char *arg, const char *a, int ca,
                              consent_proof_fn *fn, void *baton,
                              apr_pool_t *p, const char **err)
{
    each_t e = { store, fn, baton };

    return store_each_row(store, label, arg, a, "-1", ca, COL_SEQ,
                          each_proof, &e, p, err);
}

apr_status_t consent_store_each(consent_store_t *store, apr_time_t since,
                                const char *subject, consent_proof_fn *fn,
                                void *baton, apr_pool_t *p, const char **err)
{
    return each_page(store, subject ? S_PROOF_BY_SUBJECT : S_PROOF_BY_TIME,
                     subject, store_i64(p, since), COL_TIME, fn, baton, p,
                     err);
}

apr_status_t consent_store_each_by_subject(consent_store_t *store,
                                           consent_proof_fn *fn,
                                           void *baton, apr_pool_t *p,
                                           const char **err)
{
    return each_page(store, S_PROOF_BY_PERSON, NULL, "", COL_SUBJECT, fn,
                     baton, p, err);
}

const char *consent_store_notice(consent_store_t *store, const char *sha256,
                                 apr_pool_t *p)
{
    const char **row;

    if (store_select_one(store, S_NOTICE_GET, &row, p, 1, &sha256) != 0
        || row == NULL) {
        return NULL;
    }
    return row[0];
}

apr_status_t consent_store_count(consent_store_t *store,
                                 apr_int64_t *proofs, apr_int64_t *lanes,
                                 apr_pool_t *p, const char **err)
{
    apr_array_header_t *rows;
    const char **row;
    int rv;

    *err = NULL;
    rv = store_select_one(store, S_PROOF_COUNT, &row, p, 0, NULL);
    if (rv == 0) {
        *proofs = store_num(row ? row[0] : NULL);
        rv = store_select_rows(store, S_LANE_ALL, &rows, p, 0, NULL);
    }
    if (rv != 0) {
        *err = store_db_error(store->driver, store->handle, rv, "count", p);
        return APR_EGENERAL;
    }
    *lanes = rows->nelts;
    return APR_SUCCESS;
}
