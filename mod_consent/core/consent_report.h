/*
 * The figures of `consentctl report`, for a DPO: decisions per purpose
 * and state (in total and per day), consent rates per form version, the
 * notices each version showed, and the current state of the people the
 * store knows (how many gave, refused, withdrew...; how many consents
 * were given under a notice older than the form's newest: "stale").
 *
 * Everything is folded while the proofs stream by (consent_store_each,
 * then consent_store_each_by_subject), into tables keyed by purpose,
 * state, day, form version and notice: their size depends on how many of
 * those there are, never on how many proofs or people.
 */
#ifndef CONSENT_REPORT_H
#define CONSENT_REPORT_H

#include "consent_proof.h"
#include "consent_status.h"

/* A day is the UTC day number since 1970-01-01; a week is named by the
 * number of its Monday. */
typedef enum { CONSENT_REPORT_DAY, CONSENT_REPORT_WEEK } consent_report_by_t;

/* Above this many days, a report without --by goes by week. */
#define CONSENT_REPORT_WEEKLY_AFTER 90

/* state -> apr_int64_t* (states and keys interned in the report) */
typedef apr_hash_t consent_counts_t;

typedef struct {
    apr_int64_t day;            /* first day of the period */
    apr_hash_t *decisions;      /* purpose -> consent_counts_t* */
    consent_counts_t *events;   /* event -> proofs of that event */
} consent_report_period_t;

typedef struct {
    const char *form_id;
    unsigned version;
    const char *regime;
    apr_int64_t submissions;
    apr_hash_t *asked;          /* purpose -> counts at submission */
    consent_counts_t *given;    /* purpose -> given (submitted or
                                   confirmed), the rate's numerator */
} consent_report_form_t;

typedef struct {
    const char *sha256;
    const char *form_id;
    unsigned version;
    const char *lang;
    apr_int64_t proofs;
    apr_time_t first, last;
} consent_report_notice_t;

typedef struct {
    apr_pool_t *pool;
    apr_time_t since, until;    /* decisions in [since, until); until 0:
                                   no end */
    apr_hash_t *strings;        /* interned copies */
    apr_int64_t proofs;         /* proofs in the range */
    apr_hash_t *totals;         /* purpose -> consent_counts_t* */
    apr_hash_t *days;           /* "day" -> consent_report_period_t* */
    apr_hash_t *forms;          /* "form\nversion" -> ..._form_t* */
    apr_hash_t *newest;         /* form id -> unsigned* (before until) */
    apr_hash_t *notices;        /* digest -> consent_report_notice_t* */
    apr_int64_t people;         /* subjects known before until */
    apr_hash_t *population;     /* purpose -> consent_counts_t* */
    consent_counts_t *stale;    /* purpose -> stale current consents */
} consent_report_t;

consent_report_t *consent_report_make(apr_pool_t *p, apr_time_t since,
                                      apr_time_t until);

/* First pass, proofs in time order: 1 once past until (stop reading). */
int consent_report_add_proof(consent_report_t *r,
                             const consent_proof_t *pf);

/* Second pass, proofs by subject: one person folded at a time. */
typedef struct {
    consent_report_t *report;
    apr_pool_t *pool;           /* the current person's, cleared after */
    const char *subject;
    consent_status_t *status;
    apr_hash_t *version;        /* purpose -> "form\nversion" that set it */
} consent_report_people_t;

void consent_report_people_init(consent_report_people_t *pp,
                                consent_report_t *r);
void consent_report_person_proof(consent_report_people_t *pp,
                                 const consent_proof_t *pf);
/* Counts the person folded so far, then forgets them; call once more
 * after the last proof. */
void consent_report_person_done(consent_report_people_t *pp);

/* ---- reading the figures -------------------------------------------- */

/* The periods from the first to the last that holds a proof, gaps
 * included, by day or by week: consent_report_period_t*, in p. */
apr_array_header_t *consent_report_periods(const consent_report_t *r,
                                           consent_report_by_t by,
                                           apr_pool_t *p);

/* By week when the range (since..until, else the proofs') exceeds
 * CONSENT_REPORT_WEEKLY_AFTER days. */
consent_report_by_t consent_report_default_by(const consent_report_t *r);

/* "2026-11-28", the first day of a period. */
const char *consent_report_day_str(apr_pool_t *p, apr_int64_t day);

/* A hash's keys sorted (const char*); states in the order of their
 * meaning (given, pending, refused, ...), others by byte order. */
apr_array_header_t *consent_report_keys(apr_hash_t *h, apr_pool_t *p);
apr_array_header_t *consent_report_states(apr_hash_t *counts,
                                          apr_pool_t *p);

/* Every state of any count of these tables (purpose -> counts), ordered
 * as consent_report_states. */
apr_array_header_t *consent_report_all_states(apr_hash_t *by_purpose,
                                              apr_pool_t *p);

apr_int64_t consent_count_get(consent_counts_t *c, const char *key);
apr_int64_t consent_count_sum(consent_counts_t *c);

/* Forms and notices sorted by form id then version (then language). */
apr_array_header_t *consent_report_forms(const consent_report_t *r,
                                         apr_pool_t *p);
apr_array_header_t *consent_report_notices(const consent_report_t *r,
                                           apr_pool_t *p);

/* 1 when the notice's version is the newest its form has shown. */
int consent_report_in_force(const consent_report_t *r,
                            const consent_report_notice_t *n);

#endif
