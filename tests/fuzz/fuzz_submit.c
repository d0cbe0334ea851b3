/*
 * Submission validation: an urlencoded body against the example form,
 * read by the core's reader as the Apache adapter does (names and values
 * %-decoded, a %00 in a value visible as len > strlen, in a name as
 * bad_name). Two valid tokens are issued at start-up, one
 * with every box unticked and one with a box rendered ticked: a body can
 * name them as "consent_token=@0" and "@1", so the fuzzer explores the
 * field and box checks behind a good token, not only the 403 path.
 *
 * The property (R1): a submission whose token says a box was rendered
 * ticked is never accepted. An OK verdict for it aborts, so the fuzzer
 * reports it as a crash and the replay of the corpus fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent_notice.h"
#include "consent_submit.h"
#include "consent_urlencoded.h"
#include "fuzz.h"

static const char *tokens[2];
static apr_time_t issued;

static const char *issue(const char *defaults)
{
    const consent_form_t *form = fuzz_form();
    consent_token_facts_t f;
    const char *token;

    memset(&f, 0, sizeof f);
    f.form_id = form->id;
    f.form_version = form->version;
    f.lang = "en";
    f.defaults = defaults;
    f.page = CONSENT_PAGE_FORM;
    memcpy(f.notice_sha256, consent_notice_get(form, "en")->sha256,
           CONSENT_SHA256_LEN);
    return consent_token_issue(&token, fuzz_keyring(), &f, fuzz_pool())
           == APR_SUCCESS ? token : NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    tokens[0] = issue("00");
    tokens[1] = issue("10");
    issued = apr_time_now();
    return 0;
}

/* Whether the token field named the token of a ticked render. */
static int used_preticked;

/* "@0" and "@1" as a token's value name the tokens issued above. */
static void swap_tokens(apr_array_header_t *fs)
{
    int i;

    for (i = 0; i < fs->nelts; ++i) {
        consent_field_value_t *f =
            &APR_ARRAY_IDX(fs, i, consent_field_value_t);

        if (strcmp(f->name, CONSENT_TOKEN_FIELD) == 0
            && (strcmp(f->value, "@0") == 0 || strcmp(f->value, "@1") == 0)
            && tokens[f->value[1] - '0']) {
            used_preticked |= f->value[1] == '1';
            f->value = tokens[f->value[1] - '0'];
            f->len = strlen(f->value);
        }
    }
}

static void assert_never_preticked(const consent_verdict_t *v)
{
    const char *d = v->facts.defaults;

    if (v->kind != CONSENT_VERDICT_OK) {
        return;
    }
    if (used_preticked || (d && strchr(d, '1'))) {
        fprintf(stderr, "fuzz_submit: a token of a form rendered with a "
                "box ticked (defaults %s) was accepted\n", d ? d : "?");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_array_header_t *fs = NULL;
    consent_request_info_t in;
    const char *why = NULL;
    apr_pool_t *p;

    apr_pool_create(&p, fuzz_pool());
    used_preticked = 0;
    /* the adapter's reader: a malformed escape is a 400 before the core */
    if (consent_urlencoded_parse((const char *)data, size, &fs, &why, p)
        == APR_SUCCESS) {
        swap_tokens(fs);
        memset(&in, 0, sizeof in);
        in.ip = "127.0.0.1";
        in.user_agent = "fuzz";
        in.now = issued + apr_time_from_sec(1);
        in.lifetime = apr_time_from_sec(7200);
        in.page = CONSENT_PAGE_FORM;
        assert_never_preticked(consent_submission_check(
            fuzz_form(), fuzz_keyring(), fs, &in, p));
    }
    apr_pool_destroy(p);
    return 0;
}
