/*
 * A person's current state per purpose, computed from the event history
 * (submissions, withdrawals, unsubscribes): the latest decision on a
 * purpose wins, so a withdrawal overrides an earlier "given" and a new
 * submission overrides an earlier withdrawal. A purpose id names one
 * processing across the forms of a store (a "newsletter" box on two forms
 * is the same newsletter), which is also how `export` shows purposes.
 *
 * Double opt-in: a submission held for confirmation records "pending"
 * (not mailable); a later "confirmation" proof turns a purpose that is
 * still pending into "given", and nothing else.
 *
 * Shared by consentctl (status, suppression-list) and the adapter (an
 * unsubscribe that changes nothing is not recorded twice).
 */
#ifndef CONSENT_STATUS_H
#define CONSENT_STATUS_H

#include "consent_proof.h"

typedef struct {
    const char *purpose;
    const char *state;          /* CONSENT_STATE_* */
    const char *event;          /* the proof that set it */
    const char *form_id;
    unsigned form_version;      /* of the form that recorded it */
    const char *regime;
    apr_time_t time;
    const char *receipt_id;
} consent_purpose_state_t;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *by_purpose;     /* purpose -> consent_purpose_state_t* */
    apr_array_header_t *order;  /* consent_purpose_state_t*, first seen
                                   first */
} consent_status_t;

consent_status_t *consent_status_make(apr_pool_t *p);

/* Takes one proof into account (copied into the status's pool). Proofs
 * may come in any order: an older decision never replaces a newer one;
 * at equal times the proof added last wins. */
void consent_status_add(consent_status_t *st, const consent_proof_t *pf);

/* NULL when the history says nothing about purpose. */
const consent_purpose_state_t *consent_status_get(const consent_status_t *st,
                                                  const char *purpose);

/* 1 for the states that let a mailer write: "given" (opt-in) and
 * "not-objected" (soft opt-in, b2b). Everything else means do not. */
int consent_state_allows_mail(const char *state);

/*
 * 1 when a mailer must not write to this person: for one purpose, when
 * that purpose's state does not allow mail; for purpose NULL, when no
 * purpose at all allows mail. A person with no history is not suppressed
 * (they are not in the store to begin with).
 */
int consent_status_suppressed(const consent_status_t *st,
                              const char *purpose);

/* The state a departure records under a regime: "withdrawn" for opt-in
 * (a consent is taken back), "objected" for soft-opt-in and b2b (there
 * was no consent, the person objects). */
const char *consent_departure_state(const char *regime);

#endif
