/*
 * Proofs (LEGAL.md R7): one record per decision, with what an auditor
 * needs, a canonical byte form that is MACed, and the JSON line that
 * `consentctl export` prints.
 */
#ifndef CONSENT_PROOF_H
#define CONSENT_PROOF_H

#include "consent.h"
#include "consent_key.h"

#define CONSENT_EVENT_SUBMISSION "submission"
#define CONSENT_EVENT_WITHDRAWAL "withdrawal"
#define CONSENT_EVENT_UNSUBSCRIBE "unsubscribe"
/* double opt-in: the person clicked the link mailed to them */
#define CONSENT_EVENT_CONFIRMATION "confirmation"
/* consentctl purge: the erasure of the receipts its choices name
 * ("<receipt id>=erased"), made before their tombstones (consent_purge.h) */
#define CONSENT_EVENT_PURGE "purge"
#define CONSENT_STATE_ERASED "erased"

#define CONSENT_STATE_GIVEN "given"
#define CONSENT_STATE_REFUSED "refused"
#define CONSENT_STATE_WITHDRAWN "withdrawn"
#define CONSENT_STATE_OBJECTED "objected"
/* double opt-in: ticked, not yet confirmed from the mailbox; not a
 * consent */
#define CONSENT_STATE_PENDING "pending"
/* Soft opt-in and b2b: the person did not tick the objection box. Not a
 * consent (nobody gave one), so never "given". */
#define CONSENT_STATE_NOT_OBJECTED "not-objected"

typedef struct {
    const char *purpose;        /* purpose id */
    const char *state;          /* CONSENT_STATE_* */
} consent_choice_t;

typedef struct {
    const char *receipt_id;     /* UUID (apr_uuid), given to the person */
    const char *event;          /* CONSENT_EVENT_* */
    const char *site;           /* ConsentSite; "" for proofs recorded
                                   before tenancy (schema version 1) */
    apr_time_t time;            /* UTC, microseconds */
    const char *ip;             /* as Apache sees it (mod_remoteip) */
    const char *user_agent;
    const char *subject;        /* e.g. the email address */
    const char *form_id;
    unsigned form_version;
    const char *lang;
    const char *regime;
    const char *notice_sha256;  /* hex */
    const char *notice_text;    /* stored once per digest; NULL on read */
    apr_array_header_t *choices;    /* consent_choice_t, form order */
    /* facts of the signed render token (NULL/0 when there was none) */
    const char *token_nonce;    /* hex; unique in the store: single use */
    apr_time_t token_issued;
    const char *token_key_id;   /* hex */
    const char *token_defaults; /* CONSENT_BOX_* per purpose */
    /* tamper evidence, filled in by the store */
    const char *lane;           /* chain the record belongs to */
    apr_int64_t lane_seq;       /* 1, 2, ... within the lane */
    const char *prev_mac;       /* hex MAC of the lane's previous record */
    const char *mac_key_id;     /* hex id of the key that made mac */
    const char *mac;            /* hex HMAC-SHA256(canonical) */
    /* NULL, or on a tombstone (consent_purge.h): "<receipt id of the purge
     * event> <hex tombstone MAC>"; mac is then the record's MAC as it was
     * sealed, which its successor chains to */
    const char *erasure;
} consent_proof_t;

/* A new proof with a fresh receipt id and the current time. */
consent_proof_t *consent_proof_make(apr_pool_t *p, const char *event);

/* A deep copy in p (a record kept beyond the store's page). */
consent_proof_t *consent_proof_copy(apr_pool_t *p, const consent_proof_t *in);

void consent_proof_add_choice(consent_proof_t *proof, const char *purpose,
                              const char *state);

/* "newsletter=given;partners=refused": how choices are stored. */
const char *consent_choices_encode(apr_pool_t *p,
                                   const apr_array_header_t *choices);
apr_array_header_t *consent_choices_decode(apr_pool_t *p, const char *s);

/*
 * The bytes that are MACed: every field above except mac itself, each as
 * "name:length:value\n" in a fixed order, so no value can shift into
 * another. prev_mac and lane are included: that is the chain. site is
 * included only when not empty, so the MACs of proofs recorded before
 * tenancy (site '') are unchanged and keep verifying.
 */
const char *consent_proof_canonical(apr_pool_t *p,
                                    const consent_proof_t *proof,
                                    apr_size_t *len);

/* Sets mac_key_id and mac under key. */
apr_status_t consent_proof_seal(consent_proof_t *proof,
                                const consent_key_t *key, apr_pool_t *p);

/*
 * The MAC of a tombstone: HMAC of "v:consent-tombstone-1", erased_by (the
 * purge event's receipt id), mac (the record's MAC as first sealed) and
 * the canonical form of the record as it is now, its personal fields
 * erased. Under the key of mac_key_id. NULL if HMAC fails.
 */
const char *consent_proof_tomb_mac(apr_pool_t *p, const consent_proof_t *tomb,
                                   const char *erased_by,
                                   const consent_key_t *key);

/* A tombstone's erasure split: 1 when it is "<id> <64 hex>". */
int consent_proof_erasure_parse(apr_pool_t *p, const char *erasure,
                                const char **erased_by,
                                const char **tomb_mac);

/* 1 when mac matches under the keyring's key of that id; for a tombstone
 * (erasure not NULL), when its tombstone MAC does. */
int consent_proof_check(const consent_proof_t *proof,
                        const consent_keyring_t *ring, apr_pool_t *p);

/* The ring's key whose hex id is id_hex (a mac_key_id), NULL if none. */
const consent_key_t *consent_proof_key(const consent_keyring_t *ring,
                                       const char *id_hex);

/* s as a quoted JSON string ("null" for NULL); bytes that are not UTF-8
 * become U+FFFD so the output is always valid JSON. */
const char *consent_json_str(apr_pool_t *p, const char *s);

/* One JSON object (no newline), fields of DESIGN.md's export. */
const char *consent_proof_json(apr_pool_t *p, const consent_proof_t *proof);

/* RFC 3339 UTC with microseconds: 2026-11-28T07:29:35.123456Z */
const char *consent_time_rfc3339(apr_pool_t *p, apr_time_t t);

#endif
