/*
 * Submission validation: an urlencoded body against the example form, the
 * way the Apache adapter hands it over (names and values %-decoded, a %00
 * visible as len > strlen). Two valid tokens are issued at start-up, one
 * with every box unticked and one with a box rendered ticked: a body can
 * name them as "consent_token=@0" and "@1", so the fuzzer explores the
 * field and box checks behind a good token, not only the 403 path.
 *
 * The property (R1): a submission whose token says a box was rendered
 * ticked is never accepted. An OK verdict for it aborts, so the fuzzer
 * reports it as a crash and the replay of the corpus fails.
 */
#include <stdio.h>
#include <string.h>
#include <apr_lib.h>

#include "consent_notice.h"
#include "consent_submit.h"
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

static int hexval(int c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/* %-decoding as ap_parse_form_data does it: '+' is a space. */
static char *unescape(const char *s, apr_size_t n, apr_size_t *len,
                      apr_pool_t *p)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] == '%' && i + 2 < n && apr_isxdigit(s[i + 1])
                 && apr_isxdigit(s[i + 2])) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *len = (apr_size_t)(o - out);
    return out;
}

/* Whether the token field named the token of a ticked render. */
static int used_preticked;

static void add_field(apr_array_header_t *fs, const char *pair,
                      apr_size_t n, apr_pool_t *p)
{
    const char *eq = memchr(pair, '=', n);
    consent_field_value_t *f;
    apr_size_t nlen = eq ? (apr_size_t)(eq - pair) : n, vlen;

    f = apr_array_push(fs);
    f->name = unescape(pair, nlen, &vlen, p);
    f->value = eq ? unescape(eq + 1, n - nlen - 1, &f->len, p) : "";
    f->len = eq ? f->len : 0;
    if (strcmp(f->name, CONSENT_TOKEN_FIELD) == 0
        && (strcmp(f->value, "@0") == 0 || strcmp(f->value, "@1") == 0)
        && tokens[f->value[1] - '0']) {
        used_preticked |= f->value[1] == '1';
        f->value = tokens[f->value[1] - '0'];
        f->len = strlen(f->value);
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
    const char *body, *amp;
    apr_array_header_t *fs;
    consent_request_info_t in = { "127.0.0.1", "fuzz", 0, 0 };
    apr_pool_t *p;

    apr_pool_create(&p, fuzz_pool());
    used_preticked = 0;
    body = fuzz_cstr(data, size, p);
    fs = apr_array_make(p, 8, sizeof(consent_field_value_t));
    while (size > 0) {
        amp = memchr(body, '&', size);
        add_field(fs, body, amp ? (apr_size_t)(amp - body) : size, p);
        if (!amp) {
            break;
        }
        size -= (apr_size_t)(amp - body) + 1;
        body = amp + 1;
    }
    in.now = issued + apr_time_from_sec(1);
    in.lifetime = apr_time_from_sec(7200);
    assert_never_preticked(consent_submission_check(fuzz_form(),
                                                    fuzz_keyring(), fs,
                                                    &in, p));
    apr_pool_destroy(p);
    return 0;
}
