/*
 * Double opt-in by email (issue 17). A submission at a location with
 * `ConsentConfirm email` is held: the purposes the person ticked are
 * recorded "pending", not "given", and a message to the subject's
 * address carries a sealed link L/confirm?t=TOKEN. Only the POST of that
 * link records a "confirmation" proof that turns them into "given": an
 * address typed by somebody else never becomes a consent.
 *
 * The link (consent_seal.h, prefix "c1.") is bound to the form, the
 * receipt id of the pending proof and the subject, and expires:
 *
 *   plaintext = len(1) site  len(1) form_id  len(1) receipt_id
 *               len(2, big-endian) subject  len(1) lang
 *               issued(8, big-endian, microseconds since the epoch)
 *
 * `site` is empty until multi-site tenancy (ConsentSite) exists; the
 * opener compares it with the site it serves, so a link made for one
 * site will not open on another once it is filled in.
 */
#ifndef CONSENT_CONFIRM_H
#define CONSENT_CONFIRM_H

#include "consent_form.h"
#include "consent_seal.h"
#include "consent_status.h"
#include "consent_submit.h"

#define CONSENT_CONFIRM_PREFIX "c1."
#define CONSENT_CONFIRM_DEFAULT_LIFETIME apr_time_from_sec(7 * 86400)
/* How far in the future an issue time may be (clocks of a cluster). */
#define CONSENT_CONFIRM_SKEW apr_time_from_sec(300)

typedef struct {
    const char *site;           /* "" until tenancy */
    const char *form_id;
    const char *receipt_id;     /* of the pending submission */
    const char *subject;
    const char *lang;           /* the page and message language */
    apr_time_t issued;
    consent_seal_facts_t facts; /* set by consent_confirm_open */
} consent_confirm_link_t;

typedef enum {
    CONSENT_CONFIRM_OK = 0,
    CONSENT_CONFIRM_MISSING,
    CONSENT_CONFIRM_MALFORMED,
    CONSENT_CONFIRM_UNKNOWN_KEY,
    CONSENT_CONFIRM_FORGED,     /* altered */
    CONSENT_CONFIRM_EXPIRED,
    CONSENT_CONFIRM_FOREIGN     /* sealed for another site or form */
} consent_confirm_status_t;

const char *consent_confirm_status_str(consent_confirm_status_t st);

/* Seals a link with the keyring's first key; APR_EINVAL when a value is
 * too long for the format. */
apr_status_t consent_confirm_issue(const char **token,
                                   const consent_keyring_t *ring,
                                   const consent_confirm_link_t *link,
                                   apr_pool_t *p);

/* Opens a link for site and form, valid for lifetime after its issue;
 * link is filled only when CONSENT_CONFIRM_OK. */
consent_confirm_status_t consent_confirm_open(consent_confirm_link_t *link,
                                              const consent_keyring_t *ring,
                                              const char *token,
                                              const char *site,
                                              const char *form_id,
                                              apr_time_t now,
                                              apr_interval_time_t lifetime,
                                              apr_pool_t *p);

/* Holds a submission: every "given" choice becomes "pending". Returns
 * how many purposes now wait for confirmation (0: nothing to confirm,
 * no message to send). */
int consent_confirm_hold(consent_proof_t *submission);

/*
 * The "confirmation" proof of an opened link, given the subject's
 * history (status) and the pending submission the link names: its
 * purposes still pending from that very submission, each "given". NULL
 * when none is left (already confirmed, withdrawn or overridden since):
 * a repeated click records nothing more. The proof carries the link's
 * facts (nonce, key id, issue time) as a submission carries its render
 * token's.
 */
consent_proof_t *consent_confirmation_proof(const consent_form_t *form,
                                            const consent_confirm_link_t *l,
                                            const consent_proof_t *pending,
                                            const consent_status_t *status,
                                            const consent_request_info_t *in,
                                            apr_pool_t *p);

/* 1 when every purpose the submission held pending is now "given" (the
 * page of a repeated click says so). */
int consent_confirm_done(const consent_proof_t *pending,
                         const consent_status_t *status);

/*
 * What an adapter does with the POST of an opened link, in one place:
 * it reads the subject's history through consent_store_each() with
 * consent_confirm_collect() and the history made by
 * consent_confirm_history_make(), then asks consent_confirm_decide().
 */
typedef struct {
    consent_status_t *status;
    const char *receipt_id;     /* the link's */
    consent_proof_t *pending;   /* that submission, copied; NULL if none */
} consent_confirm_history_t;

consent_confirm_history_t *consent_confirm_history_make(
    const consent_confirm_link_t *l, apr_pool_t *p);

/* A consent_proof_fn for consent_store_each (baton: the history). */
apr_status_t consent_confirm_collect(void *baton,
                                     const consent_proof_t *proof,
                                     apr_pool_t *scratch);

typedef enum {
    CONSENT_CONFIRM_RECORD = 0, /* store *proof, answer 200 "done" */
    CONSENT_CONFIRM_ALREADY,    /* 200 "done", *receipt the earlier one */
    CONSENT_CONFIRM_NOTHING,    /* 200 "nothing left", nothing recorded */
    CONSENT_CONFIRM_UNKNOWN     /* 403: no such submission of this person
                                   at this form */
} consent_confirm_action_t;

consent_confirm_action_t consent_confirm_decide(
    const consent_form_t *form, const consent_confirm_link_t *l,
    const consent_confirm_history_t *h, const consent_request_info_t *in,
    consent_proof_t **proof, const char **receipt, apr_pool_t *p);

/* Translation keys of the pages (title: key + ".title"). */
#define CONSENT_CONFIRM_KEY_SENT "confirm_email.sent"
#define CONSENT_CONFIRM_KEY_FAILED "confirm_email.failed"
#define CONSENT_CONFIRM_KEY_DONE "confirm_email.done"
#define CONSENT_CONFIRM_KEY_NOTHING "confirm_email.nothing"
#define CONSENT_CONFIRM_KEY_INVALID "confirm_email.invalid"

#endif
