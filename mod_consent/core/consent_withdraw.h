/*
 * Departures (LEGAL.md R6), pure: the withdrawal page's POST judged like
 * a submission, and the proof an unsubscribe link leaves. No I/O, so the
 * Apache adapter, a later nginx adapter and the unit tests share it.
 */
#ifndef CONSENT_WITHDRAW_H
#define CONSENT_WITHDRAW_H

#include "consent_submit.h"
#include "consent_status.h"

/* One box per purpose, posted as withdraw=<purpose id>, and one box for
 * everything, posted as withdraw_all=1. */
#define CONSENT_WITHDRAW_FIELD "withdraw"
#define CONSENT_WITHDRAW_ALL_FIELD "withdraw_all"

/*
 * POST L/withdraw: the signed render token of the withdrawal page (same
 * answers as a submission: 403, 403 with a fresh page, 422), the subject
 * field, then the boxes. Nothing ticked is a 400 (error.nothing_selected).
 * When valid, verdict->proof is a "withdrawal" whose purposes are the
 * ones ticked (all of the form's with withdraw_all), each "withdrawn"
 * (opt-in) or "objected" (soft-opt-in, b2b); purposes not ticked are
 * absent from it, as they did not change.
 */
consent_verdict_t *consent_withdrawal_check(const consent_form_t *form,
                                            const consent_keyring_t *ring,
                                            const apr_array_header_t *fields,
                                            const consent_request_info_t *in,
                                            apr_pool_t *p);

/*
 * The "unsubscribe" proof of a one-click link: the purposes named (all of
 * the form's when it names none) that the subject's current status still
 * lets a mailer write to. NULL when there are none left: the person has
 * already left, and a repeated click records nothing more.
 */
consent_proof_t *consent_unsubscribe_proof(const consent_form_t *form,
                                           const char *subject,
                                           const apr_array_header_t *named,
                                           const consent_status_t *status,
                                           const char *lang,
                                           const consent_request_info_t *in,
                                           apr_pool_t *p);

#endif
