/*
 * consent_report.h: folding proofs into a report's tables. The proofs
 * come from a page pool that goes away: every string kept is interned in
 * the report's pool first (one copy per distinct value), so the tables
 * grow with the number of purposes, days, forms and notices only.
 */
#include <stdlib.h>

#include "consent_report.h"

#define DAY_US APR_INT64_C(86400000000)

consent_report_t *consent_report_make(apr_pool_t *p, apr_time_t since,
                                      apr_time_t until)
{
    consent_report_t *r = apr_pcalloc(p, sizeof *r);

    r->pool = p;
    r->since = since;
    r->until = until;
    r->strings = apr_hash_make(p);
    r->totals = apr_hash_make(p);
    r->days = apr_hash_make(p);
    r->forms = apr_hash_make(p);
    r->newest = apr_hash_make(p);
    r->notices = apr_hash_make(p);
    r->population = apr_hash_make(p);
    r->stale = apr_hash_make(p);
    return r;
}

static const char *intern(consent_report_t *r, const char *s)
{
    const char *kept;

    s = s ? s : "";
    kept = apr_hash_get(r->strings, s, APR_HASH_KEY_STRING);
    if (kept == NULL) {
        kept = apr_pstrdup(r->pool, s);
        apr_hash_set(r->strings, kept, APR_HASH_KEY_STRING, kept);
    }
    return kept;
}

static void count_add(consent_report_t *r, consent_counts_t *c,
                      const char *key, apr_int64_t n)
{
    apr_int64_t *v = apr_hash_get(c, key, APR_HASH_KEY_STRING);

    if (v == NULL) {
        v = apr_pcalloc(r->pool, sizeof *v);
        apr_hash_set(c, intern(r, key), APR_HASH_KEY_STRING, v);
    }
    *v += n;
}

apr_int64_t consent_count_get(consent_counts_t *c, const char *key)
{
    apr_int64_t *v = apr_hash_get(c, key, APR_HASH_KEY_STRING);

    return v ? *v : 0;
}

apr_int64_t consent_count_sum(consent_counts_t *c)
{
    apr_hash_index_t *hi;
    apr_int64_t sum = 0;

    for (hi = apr_hash_first(NULL, c); hi; hi = apr_hash_next(hi)) {
        sum += *(apr_int64_t *)apr_hash_this_val(hi);
    }
    return sum;
}

/* table: purpose -> counts; the purpose's counts, made when new. */
static consent_counts_t *counts_of(consent_report_t *r, apr_hash_t *table,
                                   const char *purpose)
{
    consent_counts_t *c = apr_hash_get(table, purpose, APR_HASH_KEY_STRING);

    if (c == NULL) {
        c = apr_hash_make(r->pool);
        apr_hash_set(table, intern(r, purpose), APR_HASH_KEY_STRING, c);
    }
    return c;
}

static apr_int64_t day_of(apr_time_t t)
{
    /* floor, for times before 1970 too */
    return t >= 0 ? t / DAY_US : -((-t + DAY_US - 1) / DAY_US);
}

static consent_report_period_t *period_make(apr_pool_t *p, apr_int64_t day)
{
    consent_report_period_t *d = apr_pcalloc(p, sizeof *d);

    d->day = day;
    d->decisions = apr_hash_make(p);
    d->events = apr_hash_make(p);
    return d;
}

static consent_report_period_t *day_for(consent_report_t *r, apr_time_t t)
{
    apr_int64_t day = day_of(t);
    consent_report_period_t *d = apr_hash_get(r->days, &day, sizeof day);

    if (d == NULL) {
        d = period_make(r->pool, day);
        apr_hash_set(r->days, &d->day, sizeof d->day, d);
    }
    return d;
}

static const char *form_key(apr_pool_t *p, const char *form_id,
                            unsigned version)
{
    return apr_psprintf(p, "%s\n%u", form_id ? form_id : "", version);
}

static consent_report_form_t *form_for(consent_report_t *r,
                                       const consent_proof_t *pf)
{
    const char *key = form_key(r->pool, pf->form_id, pf->form_version);
    consent_report_form_t *f = apr_hash_get(r->forms, key,
                                            APR_HASH_KEY_STRING);

    if (f == NULL) {
        f = apr_pcalloc(r->pool, sizeof *f);
        f->form_id = intern(r, pf->form_id);
        f->version = pf->form_version;
        f->regime = intern(r, pf->regime);
        f->asked = apr_hash_make(r->pool);
        f->given = apr_hash_make(r->pool);
        apr_hash_set(r->forms, key, APR_HASH_KEY_STRING, f);
    }
    return f;
}

/*
 * What each notice was, and the newest version of each form that changed
 * its text: the version that first showed a notice (proofs come in time
 * order). The rule of `status --json`'s "stale", which reads the same
 * from consent_notice: a version that changed no text makes nothing stale.
 */
static void note_form_and_notice(consent_report_t *r,
                                 const consent_proof_t *pf)
{
    consent_report_notice_t *n;
    unsigned *v;

    if (pf->notice_sha256 == NULL || *pf->notice_sha256 == '\0') {
        return;
    }
    n = apr_hash_get(r->notices, pf->notice_sha256, APR_HASH_KEY_STRING);
    if (n == NULL) {
        n = apr_pcalloc(r->pool, sizeof *n);
        n->sha256 = intern(r, pf->notice_sha256);
        n->form_id = intern(r, pf->form_id);
        n->version = pf->form_version;
        n->lang = intern(r, pf->lang);
        n->first = pf->time;
        apr_hash_set(r->notices, n->sha256, APR_HASH_KEY_STRING, n);
        v = apr_hash_get(r->newest, n->form_id,
                         APR_HASH_KEY_STRING);
        if (v == NULL) {
            v = apr_pcalloc(r->pool, sizeof *v);
            apr_hash_set(r->newest, n->form_id,
                         APR_HASH_KEY_STRING, v);
        }
        *v = n->version > *v ? n->version : *v;
    }
    n->proofs++;
    n->last = pf->time > n->last ? pf->time : n->last;
    n->first = pf->time < n->first ? pf->time : n->first;
}

static int is_event(const consent_proof_t *pf, const char *event)
{
    return pf->event != NULL && strcmp(pf->event, event) == 0;
}

/* A form version's rate: boxes submitted, and those that became
 * consent (given at submission, or confirmed later). */
static void note_rate(consent_report_t *r, const consent_proof_t *pf,
                      const consent_choice_t *c)
{
    int submitted = is_event(pf, CONSENT_EVENT_SUBMISSION);

    if (!submitted && !is_event(pf, CONSENT_EVENT_CONFIRMATION)) {
        return;
    }
    if (submitted) {
        count_add(r, counts_of(r, form_for(r, pf)->asked, c->purpose),
                  c->state, 1);
    }
    if (strcmp(c->state, CONSENT_STATE_GIVEN) == 0) {
        count_add(r, form_for(r, pf)->given, c->purpose, 1);
    }
}

int consent_report_add_proof(consent_report_t *r, const consent_proof_t *pf)
{
    consent_report_period_t *d;
    int i;

    if (r->until && pf->time >= r->until) {
        return 1;
    }
    note_form_and_notice(r, pf);
    if (pf->time < r->since) {
        return 0;
    }
    r->proofs++;
    d = day_for(r, pf->time);
    count_add(r, d->events, pf->event ? pf->event : "", 1);
    if (is_event(pf, CONSENT_EVENT_SUBMISSION)) {
        form_for(r, pf)->submissions++;
    }
    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);

        if (c->purpose == NULL || c->state == NULL) {
            continue;
        }
        count_add(r, counts_of(r, r->totals, c->purpose), c->state, 1);
        count_add(r, counts_of(r, d->decisions, c->purpose), c->state, 1);
        note_rate(r, pf, c);
    }
    return 0;
}

/* ---- the people, one at a time -------------------------------------- */

void consent_report_people_init(consent_report_people_t *pp,
                                consent_report_t *r)
{
    memset(pp, 0, sizeof *pp);
    pp->report = r;
    apr_pool_create(&pp->pool, r->pool);
}

void consent_report_person_proof(consent_report_people_t *pp,
                                 const consent_proof_t *pf)
{
    const char *key;
    int i;

    if (pf->subject == NULL || *pf->subject == '\0'
        || (pp->report->until && pf->time >= pp->report->until)) {
        return;
    }
    if (pp->subject == NULL || strcmp(pp->subject, pf->subject) != 0) {
        consent_report_person_done(pp);
        pp->subject = apr_pstrdup(pp->pool, pf->subject);
        pp->status = consent_status_make(pp->pool);
        pp->version = apr_hash_make(pp->pool);
    }
    consent_status_add(pp->status, pf);
    key = form_key(pp->pool, pf->form_id, pf->form_version);
    /* which proof set each purpose: the one whose receipt it now holds */
    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);
        const consent_purpose_state_t *s =
            consent_status_get(pp->status, c->purpose);

        if (s && s->receipt_id && pf->receipt_id
            && strcmp(s->receipt_id, pf->receipt_id) == 0) {
            apr_hash_set(pp->version, apr_pstrdup(pp->pool, c->purpose),
                         APR_HASH_KEY_STRING, key);
        }
    }
}

/* A current consent given under a version older than its form's
 * newest. */
static int stale(const consent_report_people_t *pp,
                 const consent_purpose_state_t *s)
{
    const char *key = apr_hash_get(pp->version, s->purpose,
                                   APR_HASH_KEY_STRING);
    const char *nl = key ? strrchr(key, '\n') : NULL;
    unsigned *newest;

    if (nl == NULL || strcmp(s->state, CONSENT_STATE_GIVEN) != 0) {
        return 0;
    }
    newest = apr_hash_get(pp->report->newest, key, nl - key);
    return newest != NULL && strtoul(nl + 1, NULL, 10) < *newest;
}

void consent_report_person_done(consent_report_people_t *pp)
{
    consent_report_t *r = pp->report;
    int i;

    if (pp->subject != NULL) {
        r->people++;
        for (i = 0; i < pp->status->order->nelts; ++i) {
            const consent_purpose_state_t *s = APR_ARRAY_IDX(
                pp->status->order, i, const consent_purpose_state_t *);

            count_add(r, counts_of(r, r->population, s->purpose), s->state,
                      1);
            if (stale(pp, s)) {
                count_add(r, r->stale, s->purpose, 1);
            }
        }
    }
    apr_pool_clear(pp->pool);
    pp->subject = NULL;
    pp->status = NULL;
    pp->version = NULL;
}
