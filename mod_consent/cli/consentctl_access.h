/* consentctl access: what the two outputs (JSON, HTML) share. */
#ifndef CONSENTCTL_ACCESS_H
#define CONSENTCTL_ACCESS_H

#include "consentctl_store.h"
#include "consent_i18n.h"
#include "consent_notice_read.h"

/* A notice the person was shown, and the first proof that points at it. */
typedef struct {
    const char *sha256;
    const char *text;           /* NULL when the store lacks it */
    const consent_notice_facts_t *facts;    /* NULL: unreadable */
    const char *form_id;
    unsigned form_version;
    const char *lang;
    apr_time_t first_shown;
} consentctl_notice_t;

typedef struct consentctl_access_t consentctl_access_t;

/* An output: each returns 0 when stdout could not be written. begin
 * comes after the first read (state and notices known), proof for each
 * proof of the second, end last. */
typedef struct {
    int (*begin)(consentctl_access_t *a);
    int (*proof)(consentctl_access_t *a, const consent_proof_t *pf,
                 apr_pool_t *scratch);
    int (*end)(consentctl_access_t *a);
} consentctl_access_out_t;

struct consentctl_access_t {
    apr_pool_t *pool;
    consent_store_t *store;
    const char *subject;        /* as the store holds it */
    const char *site;           /* --site, or NULL */
    const consentctl_access_out_t *out;
    consent_status_t *status;   /* the state, as `status` computes it */
    apr_hash_t *seen;           /* notice digest -> consentctl_notice_t* */
    apr_array_header_t *notices;    /* consentctl_notice_t*, in order */
    apr_int64_t proofs;         /* seen by the first read */
    apr_int64_t printed;
    char last_lang[36];         /* the latest proof's language */
    consent_i18n_t *i18n;       /* html only */
    const char *lang;           /* html only: the page's language */
};

extern const consentctl_access_out_t consentctl_access_json;
extern const consentctl_access_out_t consentctl_access_html;

/* A purpose's label: in the notice of hint (NULL: any notice of the
 * person, the page's language first), else the id itself. */
const char *consentctl_purpose_label(const consentctl_access_t *a,
                                     const consentctl_notice_t *hint,
                                     const char *id);

#endif
