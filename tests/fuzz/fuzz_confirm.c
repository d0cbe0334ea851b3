/*
 * Double opt-in links (consent_confirm.c) and the message built from what
 * they hold (consent_mail.c): the link comes back from anyone's mailbox.
 * The first byte picks what the rest is:
 *   even: a link token as clicked (prefix, base64, AES-GCM tag);
 *   odd:  a plaintext that the fuzzer's key seals here, so the fuzzer
 *         gets past the tag into the payload reader, the binding checks
 *         and, when the link opens, the message builder.
 */
#include <string.h>

#include "consent_confirm.h"
#include "consent_mail.h"
#include "fuzz.h"

static const consent_seal_kind_t kind = {
    CONSENT_CONFIRM_PREFIX, "mod_consent confirm v1", 4096
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_form();
    fuzz_keyring();
    return 0;
}

/* Links open only within their lifetime: the clock is the link's own. */
static void build_message(const consent_confirm_link_t *l, apr_pool_t *p)
{
    consent_proof_t *pr = consent_proof_make(p, CONSENT_EVENT_SUBMISSION);
    const char *message;
    consent_mail_t m;

    pr->subject = l->subject;
    pr->lang = l->lang;
    pr->time = l->issued;
    consent_proof_add_choice(pr, "newsletter", CONSENT_STATE_PENDING);
    memset(&m, 0, sizeof m);
    m.form = fuzz_form();
    m.proof = pr;
    m.from = "noreply@example.org";
    m.confirm_url = "https://example.org/newsletter/confirm?t=c1.x";
    m.unsubscribe_url = "https://example.org/newsletter/unsubscribe?t=u1.x";
    m.expires = l->issued;
    /* no ui: texts fall back to their keys, which is enough here */
    if (consent_mail_build(&message, &m, p) == APR_SUCCESS
        && strpbrk(apr_pstrcat(p, l->subject, l->lang, NULL), "\r\n")) {
        abort();                /* a line break reached a header */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    consent_confirm_link_t l;
    const char *token = NULL;
    apr_pool_t *p;

    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_pool());
    if (data[0] & 1) {
        if (size > 1 && consent_seal(&token, &kind, fuzz_keyring(),
                                     data + 1, size - 1, p) != APR_SUCCESS) {
            token = NULL;
        }
    }
    else {
        token = fuzz_cstr(data + 1, size - 1, p);
    }
    if (token && consent_confirm_open(&l, fuzz_keyring(), token, "",
                                      fuzz_form()->id,
                                      apr_time_from_sec(1796000000),
                                      APR_INT64_MAX, p)
                 == CONSENT_CONFIRM_OK) {
        build_message(&l, p);
    }
    apr_pool_destroy(p);
    return 0;
}
