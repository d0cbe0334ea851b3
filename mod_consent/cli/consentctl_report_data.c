/*
 * consentctl report --format json and csv: the report's tables for
 * programs (JSON, documented in the README) and for spreadsheets (one row
 * per period, purpose and state).
 */
#include <stdio.h>

#include "consentctl_report.h"

static const char *js(apr_pool_t *p, const char *s)
{
    return consent_json_str(p, s);
}

static const char *time_or_null(apr_pool_t *p, apr_time_t t)
{
    return t ? js(p, consent_time_rfc3339(p, t)) : "null";
}

/* {"state": n, ...} */
static void json_counts(FILE *out, apr_pool_t *p, consent_counts_t *c)
{
    apr_array_header_t *states = consent_report_states(c, p);
    int i;

    fputc('{', out);
    for (i = 0; i < states->nelts; ++i) {
        const char *s = APR_ARRAY_IDX(states, i, const char *);

        fprintf(out, "%s%s:%" APR_INT64_T_FMT, i ? "," : "", js(p, s),
                consent_count_get(c, s));
    }
    fputc('}', out);
}

/* {"purpose": {"state": n, ...}, ...} */
static void json_by_purpose(FILE *out, apr_pool_t *p, apr_hash_t *h)
{
    apr_array_header_t *purposes = consent_report_keys(h, p);
    int i;

    fputc('{', out);
    for (i = 0; i < purposes->nelts; ++i) {
        const char *k = APR_ARRAY_IDX(purposes, i, const char *);

        fprintf(out, "%s%s:", i ? "," : "", js(p, k));
        json_counts(out, p, apr_hash_get(h, k, APR_HASH_KEY_STRING));
    }
    fputc('}', out);
}

static void json_series(FILE *out, apr_pool_t *p,
                        const apr_array_header_t *periods)
{
    int i;

    fputs("\"series\":[", out);
    for (i = 0; i < periods->nelts; ++i) {
        const consent_report_period_t *d =
            APR_ARRAY_IDX(periods, i, const consent_report_period_t *);

        fprintf(out, "%s{\"period\":\"%s\",\"totals\":", i ? "," : "",
                consent_report_day_str(p, d->day));
        json_by_purpose(out, p, d->decisions);
        fputs(",\"events\":", out);
        json_counts(out, p, d->events);
        fputc('}', out);
    }
    fputs("]", out);
}

/* given / boxes submitted, or null when none was */
static const char *rate(apr_pool_t *p, apr_int64_t given, apr_int64_t asked)
{
    return asked ? apr_psprintf(p, "%.4f", (double)given / (double)asked)
                 : "null";
}

static void json_form(FILE *out, apr_pool_t *p,
                      const consent_report_form_t *f)
{
    apr_array_header_t *purposes = consent_report_keys(f->asked, p);
    int i;

    fprintf(out, "{\"form_id\":%s,\"version\":%u,\"regime\":%s,"
            "\"submissions\":%" APR_INT64_T_FMT ",\"purposes\":{",
            js(p, f->form_id), f->version, js(p, f->regime),
            f->submissions);
    for (i = 0; i < purposes->nelts; ++i) {
        const char *k = APR_ARRAY_IDX(purposes, i, const char *);
        consent_counts_t *asked = apr_hash_get(f->asked, k,
                                               APR_HASH_KEY_STRING);
        apr_int64_t given = consent_count_get(f->given, k);

        fprintf(out, "%s%s:{\"submitted\":", i ? "," : "", js(p, k));
        json_counts(out, p, asked);
        fprintf(out, ",\"given\":%" APR_INT64_T_FMT ",\"rate\":%s}", given,
                rate(p, given, consent_count_sum(asked)));
    }
    fputs("}}", out);
}

static void json_forms(FILE *out, apr_pool_t *p, const consent_report_t *r)
{
    apr_array_header_t *forms = consent_report_forms(r, p);
    int i;

    fputs("\"forms\":[", out);
    for (i = 0; i < forms->nelts; ++i) {
        fputs(i ? "," : "", out);
        json_form(out, p, APR_ARRAY_IDX(forms, i, consent_report_form_t *));
    }
    fputs("]", out);
}

static void json_notices(FILE *out, apr_pool_t *p, const consent_report_t *r)
{
    apr_array_header_t *notices = consent_report_notices(r, p);
    int i;

    fputs("\"notices\":[", out);
    for (i = 0; i < notices->nelts; ++i) {
        const consent_report_notice_t *n =
            APR_ARRAY_IDX(notices, i, const consent_report_notice_t *);

        fprintf(out, "%s{\"sha256\":%s,\"form_id\":%s,\"version\":%u,"
                "\"lang\":%s,\"proofs\":%" APR_INT64_T_FMT ",\"first\":%s,"
                "\"last\":%s,\"in_force\":%s}", i ? "," : "",
                js(p, n->sha256), js(p, n->form_id), n->version,
                js(p, n->lang), n->proofs, time_or_null(p, n->first),
                time_or_null(p, n->last),
                consent_report_in_force(r, n) ? "true" : "false");
    }
    fputs("]", out);
}

int consentctl_report_json(const consentctl_report_out_t *o)
{
    const consent_report_t *r = o->report;
    apr_pool_t *p = o->pool;
    FILE *out = o->out;

    fprintf(out, "{\"site\":%s,\"since\":%s,\"until\":%s,\"by\":\"%s\","
            "\"generated\":%s,\"proofs\":%" APR_INT64_T_FMT ",\"totals\":",
            o->site ? js(p, o->site) : "null", time_or_null(p, r->since),
            time_or_null(p, r->until),
            o->by == CONSENT_REPORT_WEEK ? "week" : "day",
            time_or_null(p, o->generated), r->proofs);
    json_by_purpose(out, p, r->totals);
    fputc(',', out);
    json_series(out, p, o->periods);
    fprintf(out, ",\"people\":%" APR_INT64_T_FMT ",\"population\":",
            r->people);
    json_by_purpose(out, p, r->population);
    fputs(",\"stale\":", out);
    json_counts(out, p, r->stale);
    fputc(',', out);
    json_forms(out, p, r);
    fputc(',', out);
    json_notices(out, p, r);
    fputs("}\n", out);
    return ferror(out);
}

/* ---- CSV ------------------------------------------------------------ */

/* RFC 4180, and a cell a spreadsheet would run as a formula (OWASP "CSV
 * injection") behind a quote mark, as suppression-list --csv does. */
static void csv_cell(FILE *out, const char *s)
{
    fputc('"', out);
    if (*s && strchr("=+-@\t\r", *s)) {
        fputc('\'', out);
    }
    for (; *s; ++s) {
        if (*s == '"') {
            fputc('"', out);
        }
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_period(FILE *out, apr_pool_t *p,
                       const consent_report_period_t *d)
{
    apr_array_header_t *purposes = consent_report_keys(d->decisions, p);
    const char *day = consent_report_day_str(p, d->day);
    int i, j;

    for (i = 0; i < purposes->nelts; ++i) {
        const char *k = APR_ARRAY_IDX(purposes, i, const char *);
        consent_counts_t *c = apr_hash_get(d->decisions, k,
                                           APR_HASH_KEY_STRING);
        apr_array_header_t *states = consent_report_states(c, p);

        for (j = 0; j < states->nelts; ++j) {
            const char *s = APR_ARRAY_IDX(states, j, const char *);

            fprintf(out, "%s,", day);
            csv_cell(out, k);
            fputc(',', out);
            csv_cell(out, s);
            fprintf(out, ",%" APR_INT64_T_FMT "\r\n", consent_count_get(c, s));
        }
    }
}

int consentctl_report_csv(const consentctl_report_out_t *o)
{
    apr_pool_t *p;
    int i;

    fputs("period,purpose,state,count\r\n", o->out);
    apr_pool_create(&p, o->pool);
    for (i = 0; i < o->periods->nelts; ++i) {
        apr_pool_clear(p);
        csv_period(o->out, p, APR_ARRAY_IDX(o->periods, i,
                                            consent_report_period_t *));
    }
    apr_pool_destroy(p);
    return ferror(o->out);
}
