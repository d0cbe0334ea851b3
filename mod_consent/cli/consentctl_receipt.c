/*
 * export --format kantara | iso27560: each proof as a standard receipt
 * or record, one JSON object a line, in the same order and with the same
 * filters as the plain export.
 *
 * What a standard asks about the controller, the policy, the purposes and
 * the personal data is read from the notice the proof points at (its
 * exact text is stored, sealed by notice_sha256): it is what the person
 * was shown then, whatever the definition file says today. The notice of
 * the previous proof is kept (most proofs in a row share one), so the
 * memory is one notice, however many proofs the store holds.
 */
#include <stdio.h>

#include <apr_strings.h>

#include "consentctl_store.h"
#include "consent_notice_read.h"

#define KANTARA_VERSION "KI-CR-v1.1.0"
#define ISO_SCHEMA "ISO/IEC TS 27560:2023 consent record; mod_consent " \
                   "JSON profile 1"

struct consentctl_receipts_t {
    consent_store_t *store;
    int iso;                        /* else Kantara */
    const char *jurisdiction;       /* --jurisdiction, NULL: by regime */
    apr_pool_t *cache_pool;         /* the last notice read */
    char digest[2 * CONSENT_SHA256_LEN + 1];
    const consent_notice_facts_t *notice;
};

consentctl_receipts_t *consentctl_receipts_make(consent_store_t *store,
                                                const char *format,
                                                const char *jurisdiction,
                                                apr_pool_t *p)
{
    consentctl_receipts_t *r = apr_pcalloc(p, sizeof *r);

    r->store = store;
    r->iso = strcmp(format, "iso27560") == 0;
    r->jurisdiction = jurisdiction;
    apr_pool_create(&r->cache_pool, p);
    return r;
}

/* The facts of the proof's notice; NULL when it has none, or it cannot
 * be read (the receipt then says what the proof alone says). */
static const consent_notice_facts_t *notice_of(consentctl_receipts_t *r,
                                               const consent_proof_t *pf)
{
    const char *sha = pf->notice_sha256;

    if (!sha || strlen(sha) >= sizeof r->digest) {
        return NULL;
    }
    if (strcmp(r->digest, sha) != 0) {
        apr_pool_clear(r->cache_pool);
        r->notice = consent_notice_read(r->cache_pool,
            consent_store_notice(r->store, sha, r->cache_pool));
        apr_cpystrn(r->digest, sha, sizeof r->digest);
    }
    return r->notice;
}

const char *consentctl_jurisdiction(const char *given, const char *regime)
{
    if (given) {
        return given;
    }
    /* b2b is the French rule (CNIL, CPCE L.34-5); opt-in and soft opt-in
     * are the EU's (ePrivacy art. 13, GDPR) */
    return regime && strcmp(regime, "b2b") == 0 ? "FR" : "EU";
}

const char *consentctl_collection_method(const char *event)
{
    if (strcmp(event, CONSENT_EVENT_SUBMISSION) == 0) {
        return "web form rendered by the server, every box unticked, "
               "checked against its signed render token";
    }
    if (strcmp(event, CONSENT_EVENT_WITHDRAWAL) == 0) {
        return "withdrawal page";
    }
    if (strcmp(event, CONSENT_EVENT_UNSUBSCRIBE) == 0) {
        return "one-click unsubscribe link (RFC 8058)";
    }
    if (strcmp(event, CONSENT_EVENT_CONFIRMATION) == 0) {
        return "confirmation link mailed to the address (double opt-in)";
    }
    return event;
}

#define WITHDRAWAL_METHOD "the form's withdrawal page (its address + " \
    "/withdraw), or the one-click unsubscribe link of every message"

static int opt_in(const char *regime)
{
    return !regime || strcmp(regime, "opt-in") == 0;
}

/* Kantara's consentType: EXPLICIT, else a description (spec 4.5.6). */
static const char *consent_type(const char *regime)
{
    if (opt_in(regime)) {
        return "EXPLICIT";
    }
    return strcmp(regime, "b2b") == 0
           ? "not consent: professional address (b2b), right to object "
             "offered at collection and in every message"
           : "not consent: soft opt-in (existing customer), opt-out "
             "offered at collection and in every message";
}

static const char *email_of(const char *contact)
{
    return contact && strchr(contact, '@') ? contact : "";
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* "label: description", or what there is of it. */
static const char *purpose_text(apr_pool_t *p,
                                const consent_notice_facts_t *n,
                                const char *id)
{
    const consent_notice_purpose_t *pp = consent_notice_purpose(n, id);

    if (!pp || !*pp->label) {
        return id;
    }
    return *pp->description
           ? apr_pstrcat(p, pp->label, ": ", pp->description, NULL)
           : pp->label;
}

/* The form as the service, named with its site when it has one. */
static const char *service(apr_pool_t *p, const consent_proof_t *pf)
{
    return pf->site && *pf->site
           ? apr_pstrcat(p, pf->site, "/", or_empty(pf->form_id), NULL)
           : or_empty(pf->form_id);
}

static const char *json_list(apr_pool_t *p, apr_array_header_t *items)
{
    return apr_pstrcat(p, "[", apr_array_pstrcat(p, items, ','), "]",
                       NULL);
}

/* Kantara's piiCategory: the personal fields the notice names. */
static const char *field_labels(apr_pool_t *p,
                                const consent_notice_facts_t *n)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(char *));
    int i;

    for (i = 0; n && i < n->fields->nelts; ++i) {
        const consent_notice_field_t *f =
            &APR_ARRAY_IDX(n->fields, i, consent_notice_field_t);

        APR_ARRAY_PUSH(out, const char *) =
            consent_json_str(p, *f->label ? f->label : f->name);
    }
    return json_list(p, out);
}

static const char *kantara_purposes(apr_pool_t *p,
                                    const consent_proof_t *pf,
                                    const consent_notice_facts_t *n)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(char *));
    const char *pii = field_labels(p, n);
    int i;

    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);

        APR_ARRAY_PUSH(out, const char *) = apr_psprintf(p,
            "{\"purpose\":%s,\"purposeCategory\":[],\"consentType\":%s,"
            "\"piiCategory\":%s,\"primaryPurpose\":false,"
            "\"termination\":%s,\"thirdPartyDisclosure\":false,"
            "\"purposeId\":%s,\"state\":%s}",
            consent_json_str(p, purpose_text(p, n, c->purpose)),
            consent_json_str(p, consent_type(pf->regime)), pii,
            consent_json_str(p, "until withdrawn: " WITHDRAWAL_METHOD),
            consent_json_str(p, c->purpose), consent_json_str(p, c->state));
    }
    return json_list(p, out);
}

static const char *kantara(apr_pool_t *p, const consentctl_receipts_t *r,
                           const consent_proof_t *pf,
                           const consent_notice_facts_t *n)
{
    const char *contact = n ? n->contact : NULL;

    return apr_psprintf(p,
        "{\"version\":\"" KANTARA_VERSION "\",\"jurisdiction\":%s,"
        "\"consentTimestamp\":%" APR_INT64_T_FMT ",\"collectionMethod\":%s,"
        "\"consentReceiptID\":%s,\"language\":%s,\"piiPrincipalId\":%s,"
        "\"piiControllers\":[{\"piiController\":%s,\"contact\":%s,"
        "\"address\":{},\"email\":%s,\"phone\":\"\"}],\"policyUrl\":%s,"
        "\"services\":[{\"service\":%s,\"purposes\":%s}],"
        "\"sensitive\":false,\"spiCat\":[]}",
        consent_json_str(p, consentctl_jurisdiction(r->jurisdiction,
                                                    pf->regime)),
        (apr_int64_t)apr_time_sec(pf->time),
        consent_json_str(p, consentctl_collection_method(pf->event)),
        consent_json_str(p, pf->receipt_id), consent_json_str(p, pf->lang),
        consent_json_str(p, or_empty(pf->subject)),
        consent_json_str(p, n ? or_empty(n->controller) : ""),
        consent_json_str(p, or_empty(contact)),
        consent_json_str(p, email_of(contact)),
        consent_json_str(p, n ? or_empty(n->policy) : ""),
        consent_json_str(p, service(p, pf)), kantara_purposes(p, pf, n));
}

/* ---- ISO/IEC TS 27560 ---------------------------------------------- */

static const char *lawful_basis(const char *regime)
{
    return opt_in(regime) ? "consent (GDPR art. 6(1)(a))"
                          : "legitimate interest (GDPR art. 6(1)(f)), "
                            "with the right to object";
}

static const char *iso_purposes(apr_pool_t *p, const consent_proof_t *pf,
                                const consent_notice_facts_t *n)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(char *));
    int i;

    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);

        APR_ARRAY_PUSH(out, const char *) = apr_psprintf(p,
            "{\"purpose\":%s,\"purpose_description\":%s,"
            "\"lawful_basis\":%s}", consent_json_str(p, c->purpose),
            consent_json_str(p, purpose_text(p, n, c->purpose)),
            consent_json_str(p, lawful_basis(pf->regime)));
    }
    return json_list(p, out);
}

static const char *iso_pii(apr_pool_t *p, const consent_notice_facts_t *n)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(char *));
    int i;

    for (i = 0; n && i < n->fields->nelts; ++i) {
        const consent_notice_field_t *f =
            &APR_ARRAY_IDX(n->fields, i, consent_notice_field_t);

        APR_ARRAY_PUSH(out, const char *) = apr_psprintf(p,
            "{\"pii_type\":%s,\"pii_attribute_id\":%s}",
            consent_json_str(p, *f->label ? f->label : f->name),
            consent_json_str(p, f->name));
    }
    return json_list(p, out);
}

static const char *iso_events(apr_pool_t *p, const consent_proof_t *pf)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(char *));
    const char *when = consent_json_str(p, consent_time_rfc3339(p,
                                                                pf->time));
    const char *type = opt_in(pf->regime) ? "expressed consent"
                       : "no consent: right to object";
    int i;

    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);

        APR_ARRAY_PUSH(out, const char *) = apr_psprintf(p,
            "{\"event_time\":%s,\"event_type\":%s,\"event_state\":%s,"
            "\"purpose\":%s,\"entity_id\":%s,"
            "\"validity_duration\":\"until withdrawn\","
            "\"event\":%s}", when, consent_json_str(p, type),
            consent_json_str(p, c->state), consent_json_str(p, c->purpose),
            consent_json_str(p, or_empty(pf->subject)),
            consent_json_str(p, pf->event));
    }
    return json_list(p, out);
}

static const char *iso_party(apr_pool_t *p, const consent_notice_facts_t *n)
{
    const char *name, *contact;

    if (!n || !n->controller) {
        return "[]";
    }
    name = consent_json_str(p, n->controller);
    contact = consent_json_str(p, or_empty(n->contact));
    return apr_psprintf(p, "[{\"party_id\":%s,\"party_name\":%s,"
                        "\"party_contact\":%s%s%s,\"party_role\":"
                        "\"controller\"}]", name, name, contact,
                        *email_of(n->contact) ? ",\"party_email\":" : "",
                        *email_of(n->contact) ? contact : "");
}

static const char *iso27560(apr_pool_t *p, const consentctl_receipts_t *r,
                            const consent_proof_t *pf,
                            const consent_notice_facts_t *n)
{
    const char *controllers = n && n->controller
        ? apr_psprintf(p, "[%s]", consent_json_str(p, n->controller))
        : "[]";

    return apr_psprintf(p,
        "{\"schema_version\":\"" ISO_SCHEMA "\",\"record_id\":%s,"
        "\"pii_principal_id\":%s,\"processing\":{\"privacy_notice\":"
        "{\"form_id\":%s,\"form_version\":%u,\"notice_sha256\":%s,"
        "\"policy_url\":%s},\"language\":%s,\"purposes\":%s,"
        "\"pii_information\":%s,\"pii_controllers\":%s,"
        "\"collection_method\":%s,\"service\":%s,\"jurisdiction\":%s,"
        "\"withdrawal_method\":%s},\"parties\":%s,\"events\":%s}",
        consent_json_str(p, pf->receipt_id),
        consent_json_str(p, or_empty(pf->subject)),
        consent_json_str(p, pf->form_id), pf->form_version,
        consent_json_str(p, pf->notice_sha256),
        consent_json_str(p, n ? n->policy : NULL),
        consent_json_str(p, pf->lang), iso_purposes(p, pf, n),
        iso_pii(p, n), controllers,
        consent_json_str(p, consentctl_collection_method(pf->event)),
        consent_json_str(p, service(p, pf)),
        consent_json_str(p, consentctl_jurisdiction(r->jurisdiction,
                                                    pf->regime)),
        consent_json_str(p, WITHDRAWAL_METHOD), iso_party(p, n),
        iso_events(p, pf));
}

apr_status_t consentctl_print_receipt(void *baton,
                                      const consent_proof_t *pf,
                                      apr_pool_t *scratch)
{
    consentctl_receipts_t *r = baton;
    const consent_notice_facts_t *n = notice_of(r, pf);
    const char *line = r->iso ? iso27560(scratch, r, pf, n)
                              : kantara(scratch, r, pf, n);

    /* a full disk or a closed pipe must not pass for a whole export */
    return printf("%s\n", line) < 0 ? APR_EGENERAL : APR_SUCCESS;
}
