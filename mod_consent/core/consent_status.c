/*
 * From a history of proofs to the current state of each purpose
 * (consent_status.h): the latest decision wins.
 */
#include "consent_status.h"

consent_status_t *consent_status_make(apr_pool_t *p)
{
    consent_status_t *st = apr_pcalloc(p, sizeof *st);

    st->pool = p;
    st->by_purpose = apr_hash_make(p);
    st->order = apr_array_make(p, 4, sizeof(consent_purpose_state_t *));
    return st;
}

static consent_purpose_state_t *slot_for(consent_status_t *st,
                                         const char *purpose)
{
    consent_purpose_state_t *s = apr_hash_get(st->by_purpose, purpose,
                                              APR_HASH_KEY_STRING);

    if (s == NULL) {
        s = apr_pcalloc(st->pool, sizeof *s);
        s->purpose = apr_pstrdup(st->pool, purpose);
        apr_hash_set(st->by_purpose, s->purpose, APR_HASH_KEY_STRING, s);
        APR_ARRAY_PUSH(st->order, consent_purpose_state_t *) = s;
    }
    return s;
}

/*
 * Double opt-in: a confirmation only turns "pending" into "given". When
 * the purpose is not pending (withdrawn since, never held), the
 * confirmation changes nothing, so that no history can make a consent of
 * a choice that was not confirmed.
 */
static int confirms(const consent_proof_t *pf, const consent_choice_t *c,
                    const consent_purpose_state_t *s)
{
    if (pf->event == NULL
        || strcmp(pf->event, CONSENT_EVENT_CONFIRMATION) != 0) {
        return 1;
    }
    return strcmp(c->state, CONSENT_STATE_GIVEN) == 0 && s != NULL
           && s->state != NULL && pf->time >= s->time
           && strcmp(s->state, CONSENT_STATE_PENDING) == 0;
}

void consent_status_add(consent_status_t *st, const consent_proof_t *pf)
{
    apr_pool_t *p = st->pool;
    int i;

    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);
        consent_purpose_state_t *s;

        if (c->purpose == NULL || c->state == NULL) {
            continue;
        }
        if (!confirms(pf, c, consent_status_get(st, c->purpose))) {
            continue;               /* an unconfirmed choice stays so */
        }
        s = slot_for(st, c->purpose);
        if (s->state != NULL && pf->time < s->time) {
            continue;               /* an older decision came late */
        }
        s->state = apr_pstrdup(p, c->state);
        s->event = apr_pstrdup(p, pf->event);
        s->form_id = apr_pstrdup(p, pf->form_id);
        s->form_version = pf->form_version;
        s->regime = apr_pstrdup(p, pf->regime);
        s->time = pf->time;
        s->receipt_id = apr_pstrdup(p, pf->receipt_id);
    }
}

const consent_purpose_state_t *consent_status_get(const consent_status_t *st,
                                                  const char *purpose)
{
    return purpose ? apr_hash_get(st->by_purpose, purpose,
                                  APR_HASH_KEY_STRING) : NULL;
}

int consent_state_allows_mail(const char *state)
{
    return state != NULL && (strcmp(state, CONSENT_STATE_GIVEN) == 0
                             || strcmp(state, CONSENT_STATE_NOT_OBJECTED)
                                == 0);
}

int consent_status_suppressed(const consent_status_t *st,
                              const char *purpose)
{
    const consent_purpose_state_t *s;
    int i;

    if (purpose != NULL) {
        s = consent_status_get(st, purpose);
        return s != NULL && !consent_state_allows_mail(s->state);
    }
    if (st->order->nelts == 0) {
        return 0;
    }
    for (i = 0; i < st->order->nelts; ++i) {
        s = APR_ARRAY_IDX(st->order, i, const consent_purpose_state_t *);
        if (consent_state_allows_mail(s->state)) {
            return 0;
        }
    }
    return 1;
}

const char *consent_departure_state(const char *regime)
{
    return regime == NULL || strcmp(regime, "opt-in") == 0
           ? CONSENT_STATE_WITHDRAWN : CONSENT_STATE_OBJECTED;
}
