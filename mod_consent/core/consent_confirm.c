/*
 * Double opt-in (consent_confirm.h): the sealed confirmation link, the
 * hold of a submission and the confirmation proof.
 */
#include "consent_confirm.h"
#include "consent_hex.h"

#define LABEL "mod_consent confirm v1"
#define MAX_SUBJECT 1024
#define PLAIN_MAX (1 + 255 + 1 + 255 + 1 + 255 + 2 + MAX_SUBJECT + 1 + 255 \
                   + 8)

static const consent_seal_kind_t kind = {
    CONSENT_CONFIRM_PREFIX, LABEL, 4096
};

const char *consent_confirm_status_str(consent_confirm_status_t st)
{
    static const char *const names[] = {
        "ok", "missing", "malformed", "unknown key", "forged or altered",
        "expired", "made for another site or form"
    };

    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* ---- plaintext ------------------------------------------------------- */

static int put(unsigned char *b, apr_size_t *off, const char *s,
               apr_size_t max, int wide)
{
    apr_size_t n = s ? strlen(s) : 0;

    if (n > max) {
        return 0;
    }
    if (wide) {
        b[(*off)++] = (unsigned char)(n >> 8);
    }
    b[(*off)++] = (unsigned char)(n & 0xff);
    memcpy(b + *off, s ? s : "", n);
    *off += n;
    return 1;
}

/* A string of the length that precedes it, without NUL, or NULL. */
static const char *take(const unsigned char **b, const unsigned char *end,
                        int wide, apr_pool_t *p)
{
    apr_size_t n;
    const char *s;

    if (end - *b < (wide ? 2 : 1)) {
        return NULL;
    }
    n = wide ? ((apr_size_t)(*b)[0] << 8) | (*b)[1] : (*b)[0];
    *b += wide ? 2 : 1;
    if ((apr_size_t)(end - *b) < n || memchr(*b, '\0', n)) {
        return NULL;
    }
    s = apr_pstrmemdup(p, (const char *)*b, n);
    *b += n;
    return s;
}

apr_status_t consent_confirm_issue(const char **token,
                                   const consent_keyring_t *ring,
                                   const consent_confirm_link_t *l,
                                   apr_pool_t *p)
{
    unsigned char *b = apr_palloc(p, PLAIN_MAX);
    apr_uint64_t t = (apr_uint64_t)l->issued;
    apr_size_t off = 0;
    int i;

    if (!l->form_id || !*l->form_id || !l->receipt_id || !l->subject
        || !*l->subject || !put(b, &off, l->site, 255, 0)
        || !put(b, &off, l->form_id, 255, 0)
        || !put(b, &off, l->receipt_id, 255, 0)
        || !put(b, &off, l->subject, MAX_SUBJECT, 1)
        || !put(b, &off, l->lang, 255, 0)) {
        return APR_EINVAL;
    }
    for (i = 7; i >= 0; --i) {
        b[off++] = (unsigned char)(t >> (8 * i));
    }
    return consent_seal(token, &kind, ring, b, off, p);
}

static int decode_plain(consent_confirm_link_t *l, const unsigned char *b,
                        apr_size_t len, apr_pool_t *p)
{
    const unsigned char *end = b + len;
    apr_uint64_t t = 0;
    int i;

    if (!(l->site = take(&b, end, 0, p))
        || !(l->form_id = take(&b, end, 0, p))
        || !(l->receipt_id = take(&b, end, 0, p))
        || !(l->subject = take(&b, end, 1, p))
        || !(l->lang = take(&b, end, 0, p)) || end - b != 8) {
        return 0;
    }
    for (i = 0; i < 8; ++i) {
        t = (t << 8) | b[i];
    }
    l->issued = (apr_time_t)t;
    return *l->form_id && *l->receipt_id && *l->subject;
}

consent_confirm_status_t consent_confirm_open(consent_confirm_link_t *l,
                                              const consent_keyring_t *ring,
                                              const char *token,
                                              const char *site,
                                              const char *form_id,
                                              apr_time_t now,
                                              apr_interval_time_t lifetime,
                                              apr_pool_t *p)
{
    consent_confirm_link_t got;
    unsigned char *plain;
    apr_size_t len;

    memset(l, 0, sizeof *l);
    memset(&got, 0, sizeof got);
    switch (consent_unseal(&plain, &len, &got.facts, &kind, ring, token,
                           p)) {
    case CONSENT_SEAL_OK:
        break;
    case CONSENT_SEAL_MISSING:
        return CONSENT_CONFIRM_MISSING;
    case CONSENT_SEAL_UNKNOWN_KEY:
        return CONSENT_CONFIRM_UNKNOWN_KEY;
    case CONSENT_SEAL_FORGED:
        return CONSENT_CONFIRM_FORGED;
    default:
        return CONSENT_CONFIRM_MALFORMED;
    }
    /* authenticated, so ours: a payload we cannot read is still refused */
    if (!decode_plain(&got, plain, len, p)) {
        return CONSENT_CONFIRM_MALFORMED;
    }
    if (strcmp(got.site, site ? site : "") != 0
        || strcmp(got.form_id, form_id) != 0) {
        return CONSENT_CONFIRM_FOREIGN;
    }
    if (got.issued < 0 || got.issued > now + CONSENT_CONFIRM_SKEW
        || now - got.issued > lifetime) {
        return CONSENT_CONFIRM_EXPIRED;
    }
    *l = got;
    return CONSENT_CONFIRM_OK;
}

/* ---- state transitions ------------------------------------------------ */

int consent_confirm_hold(consent_proof_t *submission)
{
    int i, n = 0;

    for (i = 0; submission->choices && i < submission->choices->nelts; ++i) {
        consent_choice_t *c = &APR_ARRAY_IDX(submission->choices, i,
                                             consent_choice_t);

        if (c->state && strcmp(c->state, CONSENT_STATE_GIVEN) == 0) {
            c->state = CONSENT_STATE_PENDING;
            ++n;
        }
    }
    return n;
}

/* Still waiting for this very submission's confirmation. */
static int still_pending(const consent_status_t *status, const char *purpose,
                         const char *receipt_id)
{
    const consent_purpose_state_t *s = consent_status_get(status, purpose);

    return s && s->state && s->receipt_id
           && strcmp(s->state, CONSENT_STATE_PENDING) == 0
           && strcmp(s->receipt_id, receipt_id) == 0;
}

consent_proof_t *consent_confirmation_proof(const consent_form_t *form,
                                            const consent_confirm_link_t *l,
                                            const consent_proof_t *pending,
                                            const consent_status_t *status,
                                            const consent_request_info_t *in,
                                            apr_pool_t *p)
{
    consent_proof_t *pr = consent_request_proof(form,
                                                CONSENT_EVENT_CONFIRMATION,
                                                pending->lang, in, p);
    int i;

    for (i = 0; pending->choices && i < pending->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pending->choices, i,
                                                   consent_choice_t);

        if (c->state && strcmp(c->state, CONSENT_STATE_PENDING) == 0
            && still_pending(status, c->purpose, pending->receipt_id)) {
            consent_proof_add_choice(pr, c->purpose, CONSENT_STATE_GIVEN);
        }
    }
    if (pr->choices->nelts == 0) {
        return NULL;
    }
    pr->subject = pending->subject;
    /* the notice the person agreed to is the one of the submission: its
     * text only when the form still shows that one */
    if (pr->notice_sha256 == NULL || pending->notice_sha256 == NULL
        || strcmp(pr->notice_sha256, pending->notice_sha256) != 0) {
        pr->notice_text = NULL;
    }
    pr->notice_sha256 = pending->notice_sha256;
    pr->token_nonce = consent_hex(p, l->facts.nonce, CONSENT_SEAL_NONCE_LEN);
    pr->token_issued = l->issued;
    pr->token_key_id = consent_hex(p, l->facts.key_id, CONSENT_KEY_ID_LEN);
    return pr;
}

int consent_confirm_done(const consent_proof_t *pending,
                         const consent_status_t *status)
{
    int i, n = 0;

    for (i = 0; pending->choices && i < pending->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pending->choices, i,
                                                   consent_choice_t);
        const consent_purpose_state_t *s;

        if (!c->state || strcmp(c->state, CONSENT_STATE_PENDING) != 0) {
            continue;
        }
        s = consent_status_get(status, c->purpose);
        if (!s || !s->state || strcmp(s->state, CONSENT_STATE_GIVEN) != 0) {
            return 0;
        }
        ++n;
    }
    return n > 0;
}

/* ---- the POST of a link ------------------------------------------------ */

consent_confirm_history_t *consent_confirm_history_make(
    const consent_confirm_link_t *l, apr_pool_t *p)
{
    consent_confirm_history_t *h = apr_pcalloc(p, sizeof *h);

    h->status = consent_status_make(p);
    h->receipt_id = apr_pstrdup(p, l->receipt_id);
    return h;
}

/* The store hands out proofs in a pool it clears: keep what we need. */
static consent_proof_t *proof_copy(apr_pool_t *p, const consent_proof_t *pf)
{
    consent_proof_t *c = apr_pmemdup(p, pf, sizeof *pf);
    int i;

    c->receipt_id = apr_pstrdup(p, pf->receipt_id);
    c->event = apr_pstrdup(p, pf->event);
    c->site = apr_pstrdup(p, pf->site ? pf->site : "");
    c->subject = apr_pstrdup(p, pf->subject);
    c->form_id = apr_pstrdup(p, pf->form_id);
    c->lang = apr_pstrdup(p, pf->lang);
    c->regime = apr_pstrdup(p, pf->regime);
    c->notice_sha256 = apr_pstrdup(p, pf->notice_sha256);
    c->notice_text = NULL;
    c->ip = c->user_agent = c->token_nonce = c->token_key_id = NULL;
    c->token_defaults = c->lane = c->prev_mac = c->mac_key_id = NULL;
    c->mac = NULL;
    c->choices = apr_array_make(p, pf->choices ? pf->choices->nelts : 1,
                                sizeof(consent_choice_t));
    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *ch = &APR_ARRAY_IDX(pf->choices, i,
                                                    consent_choice_t);

        consent_proof_add_choice(c, apr_pstrdup(p, ch->purpose),
                                 apr_pstrdup(p, ch->state));
    }
    return c;
}

apr_status_t consent_confirm_collect(void *baton,
                                     const consent_proof_t *pf,
                                     apr_pool_t *scratch)
{
    consent_confirm_history_t *h = baton;

    consent_status_add(h->status, pf);
    if (pf->receipt_id && strcmp(pf->receipt_id, h->receipt_id) == 0
        && pf->event && strcmp(pf->event, CONSENT_EVENT_SUBMISSION) == 0) {
        h->pending = proof_copy(h->status->pool, pf);
    }
    return APR_SUCCESS;
}

/* The receipt that already holds what the link asked for. */
static const char *earlier_receipt(const consent_status_t *status,
                                   const consent_proof_t *pending)
{
    const consent_purpose_state_t *s;
    int i;

    for (i = 0; i < pending->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pending->choices, i,
                                                   consent_choice_t);

        if (c->state && strcmp(c->state, CONSENT_STATE_PENDING) == 0
            && (s = consent_status_get(status, c->purpose)) != NULL) {
            return s->receipt_id;
        }
    }
    return NULL;
}

consent_confirm_action_t consent_confirm_decide(
    const consent_form_t *form, const consent_confirm_link_t *l,
    const consent_confirm_history_t *h, const consent_request_info_t *in,
    consent_proof_t **proof, const char **receipt, apr_pool_t *p)
{
    *proof = NULL;
    *receipt = NULL;
    /* sealed, so authentic; still, the submission must be this person's
     * at this form */
    if (!h->pending || !h->pending->form_id || !h->pending->subject
        || strcmp(h->pending->form_id, form->id) != 0
        || strcmp(h->pending->subject, l->subject) != 0) {
        return CONSENT_CONFIRM_UNKNOWN;
    }
    *proof = consent_confirmation_proof(form, l, h->pending, h->status, in,
                                        p);
    if (*proof) {
        return CONSENT_CONFIRM_RECORD;
    }
    if (consent_confirm_done(h->pending, h->status)) {
        *receipt = earlier_receipt(h->status, h->pending);
        return CONSENT_CONFIRM_ALREADY;
    }
    return CONSENT_CONFIRM_NOTHING;
}
