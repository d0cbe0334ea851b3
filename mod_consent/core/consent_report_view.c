/*
 * consent_report.h: the report's tables in the order they are shown
 * (sorted keys, states in the order of their meaning, periods with their
 * gaps filled and, for long ranges, folded into weeks).
 */
#include <stdlib.h>

#include "consent_report.h"

#define DAY_US APR_INT64_C(86400000000)

/* States as a reader scans them: consent first, then what is not. */
static const char *const state_order[] = {
    CONSENT_STATE_GIVEN, CONSENT_STATE_PENDING, CONSENT_STATE_REFUSED,
    CONSENT_STATE_WITHDRAWN, CONSENT_STATE_NOT_OBJECTED,
    CONSENT_STATE_OBJECTED, NULL
};

static int state_rank(const char *s)
{
    int i;

    for (i = 0; state_order[i]; ++i) {
        if (strcmp(s, state_order[i]) == 0) {
            return i;
        }
    }
    return i;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int by_state(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int d = state_rank(x) - state_rank(y);

    return d ? d : strcmp(x, y);
}

apr_array_header_t *consent_report_keys(apr_hash_t *h, apr_pool_t *p)
{
    apr_array_header_t *keys = apr_array_make(p, apr_hash_count(h) + 1,
                                              sizeof(const char *));
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, h); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(keys, const char *) = apr_hash_this_key(hi);
    }
    qsort(keys->elts, keys->nelts, sizeof(const char *), by_bytes);
    return keys;
}

apr_array_header_t *consent_report_states(apr_hash_t *counts, apr_pool_t *p)
{
    apr_array_header_t *keys = consent_report_keys(counts, p);

    qsort(keys->elts, keys->nelts, sizeof(const char *), by_state);
    return keys;
}

apr_array_header_t *consent_report_all_states(apr_hash_t *by_purpose,
                                              apr_pool_t *p)
{
    apr_hash_t *all = apr_hash_make(p);
    apr_hash_index_t *hi, *hj;

    for (hi = apr_hash_first(NULL, by_purpose); hi; hi = apr_hash_next(hi)) {
        for (hj = apr_hash_first(NULL, apr_hash_this_val(hi)); hj;
             hj = apr_hash_next(hj)) {
            apr_hash_set(all, apr_hash_this_key(hj), APR_HASH_KEY_STRING,
                         "");
        }
    }
    return consent_report_states(all, p);
}

const char *consent_report_day_str(apr_pool_t *p, apr_int64_t day)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, (apr_time_t)day * DAY_US);
    return apr_psprintf(p, "%04d-%02d-%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday);
}

/* 1970-01-01 was a Thursday: (day + 3) mod 7 counts from Monday. */
static apr_int64_t monday_of(apr_int64_t day)
{
    apr_int64_t m = (day + 3) % 7;

    return day - (m < 0 ? m + 7 : m);
}

static void add_counts(apr_pool_t *p, apr_hash_t *into, apr_hash_t *from)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, from); hi; hi = apr_hash_next(hi)) {
        const char *k = apr_hash_this_key(hi);
        apr_int64_t *v = apr_hash_get(into, k, APR_HASH_KEY_STRING);

        if (v == NULL) {
            v = apr_pcalloc(p, sizeof *v);
            apr_hash_set(into, k, APR_HASH_KEY_STRING, v);
        }
        *v += *(apr_int64_t *)apr_hash_this_val(hi);
    }
}

static void add_period(apr_pool_t *p, consent_report_period_t *into,
                       const consent_report_period_t *from)
{
    apr_hash_index_t *hi;

    add_counts(p, into->events, from->events);
    for (hi = apr_hash_first(NULL, from->decisions); hi;
         hi = apr_hash_next(hi)) {
        const char *purpose = apr_hash_this_key(hi);
        apr_hash_t *c = apr_hash_get(into->decisions, purpose,
                                     APR_HASH_KEY_STRING);

        if (c == NULL) {
            c = apr_hash_make(p);
            apr_hash_set(into->decisions, purpose, APR_HASH_KEY_STRING, c);
        }
        add_counts(p, c, apr_hash_this_val(hi));
    }
}

static void day_range(const consent_report_t *r, apr_int64_t *first,
                      apr_int64_t *last)
{
    apr_hash_index_t *hi;
    int any = 0;

    for (hi = apr_hash_first(NULL, r->days); hi; hi = apr_hash_next(hi)) {
        const consent_report_period_t *d = apr_hash_this_val(hi);

        if (!any || d->day < *first) {
            *first = d->day;
        }
        if (!any || d->day > *last) {
            *last = d->day;
        }
        any = 1;
    }
    if (!any) {
        *first = 0;
        *last = -1;
    }
}

apr_array_header_t *consent_report_periods(const consent_report_t *r,
                                           consent_report_by_t by,
                                           apr_pool_t *p)
{
    apr_int64_t first, last, day, step = by == CONSENT_REPORT_WEEK ? 7 : 1;
    apr_array_header_t *out = apr_array_make(p, 16,
                                             sizeof(consent_report_period_t *));

    day_range(r, &first, &last);
    if (last < first) {
        return out;
    }
    if (by == CONSENT_REPORT_WEEK) {
        first = monday_of(first);
    }
    for (day = first; day <= last; day += step) {
        consent_report_period_t *pd = apr_pcalloc(p, sizeof *pd);
        apr_int64_t d;

        pd->day = day;
        pd->decisions = apr_hash_make(p);
        pd->events = apr_hash_make(p);
        for (d = day; d < day + step; ++d) {
            const consent_report_period_t *from = apr_hash_get(r->days, &d,
                                                               sizeof d);
            if (from != NULL) {
                add_period(p, pd, from);
            }
        }
        APR_ARRAY_PUSH(out, consent_report_period_t *) = pd;
    }
    return out;
}

consent_report_by_t consent_report_default_by(const consent_report_t *r)
{
    apr_int64_t first, last;

    day_range(r, &first, &last);
    if (r->since > 0) {
        first = r->since / DAY_US;
    }
    if (r->until > 0) {
        last = (r->until - 1) / DAY_US;
    }
    return last - first > CONSENT_REPORT_WEEKLY_AFTER
           ? CONSENT_REPORT_WEEK : CONSENT_REPORT_DAY;
}

static int form_cmp(const char *fa, unsigned va, const char *fb, unsigned vb)
{
    int d = strcmp(fa, fb);

    return d ? d : (va > vb) - (va < vb);
}

static int by_form(const void *a, const void *b)
{
    const consent_report_form_t *x = *(const consent_report_form_t *const *)a;
    const consent_report_form_t *y = *(const consent_report_form_t *const *)b;

    return form_cmp(x->form_id, x->version, y->form_id, y->version);
}

static int by_notice(const void *a, const void *b)
{
    const consent_report_notice_t *x =
        *(const consent_report_notice_t *const *)a;
    const consent_report_notice_t *y =
        *(const consent_report_notice_t *const *)b;
    int d = form_cmp(x->form_id, x->version, y->form_id, y->version);

    d = d ? d : strcmp(x->lang, y->lang);
    return d ? d : strcmp(x->sha256, y->sha256);
}

static apr_array_header_t *sorted_values(apr_hash_t *h,
                                         int (*cmp)(const void *,
                                                    const void *),
                                         apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, apr_hash_count(h) + 1,
                                           sizeof(void *));
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, h); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(a, void *) = apr_hash_this_val(hi);
    }
    qsort(a->elts, a->nelts, sizeof(void *), cmp);
    return a;
}

apr_array_header_t *consent_report_forms(const consent_report_t *r,
                                         apr_pool_t *p)
{
    return sorted_values(r->forms, by_form, p);
}

apr_array_header_t *consent_report_notices(const consent_report_t *r,
                                           apr_pool_t *p)
{
    return sorted_values(r->notices, by_notice, p);
}

int consent_report_in_force(const consent_report_t *r,
                            const consent_report_notice_t *n)
{
    const unsigned *v = apr_hash_get(r->newest, n->form_id,
                                     APR_HASH_KEY_STRING);

    return v != NULL && n->version == *v;
}
