/*
 * The request flow (consent_flow.c), which the nginx adapter feeds with
 * whatever a client sends: method, path, query, Content-Type and body,
 * through routing, the urlencoded and multipart parsers, the checks and
 * the pages, up to a store that cannot be reached. An input is
 *
 *   [G]METHOD PATH[?QUERY]\n CONTENT-TYPE\n BODY
 *
 * (a leading G: the guard-mode flow of the signup definition). "@T" in
 * the body stands for a valid render token issued at start-up, so that
 * the checks behind a good token are explored too.
 */
#include <string.h>

#include "consent_flow.h"
#include "consent_site.h"
#include "fuzz.h"

static consent_flow_conf_t conf, guard_conf;
static const char *token;

static void compile(consent_site_t *site, consent_flow_conf_t *c,
                    const char *relpath)
{
    apr_array_header_t *problems =
        apr_array_make(fuzz_pool(), 4, sizeof(consent_problem_t));
    consent_form_t *form = consent_site_form(
        site, apr_pstrcat(fuzz_pool(), FUZZ_SRCDIR "/", relpath, NULL),
        strstr(relpath, "guard") != NULL, FUZZ_SRCDIR "/templates",
        problems);

    if (!form || !(c->ui = consent_site_pages(
            site, &form, FUZZ_SRCDIR "/templates", problems))) {
        abort();
    }
    c->form = form;
    c->keys = fuzz_keyring();
    c->withdraw_url = "/f/withdraw";
    c->lifetime = apr_time_from_sec(7200);
    c->max_body = 4096;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    consent_site_t *site = consent_site_make(fuzz_pool());

    compile(site, &conf, "templates/examples/newsletter.xml");
    compile(site, &guard_conf, "templates/examples/signup-guard.xml");
    if (consent_flow_issue_token(conf.form, conf.keys, "en", NULL,
                                 CONSENT_PAGE_FORM, &token, fuzz_pool())
        != APR_SUCCESS) {
        abort();
    }
    return 0;
}

/* The next line of *s (NUL-terminated copy), *s moved past it. */
static char *line(const char **s, const char *end, apr_pool_t *p)
{
    const char *nl = memchr(*s, '\n', (apr_size_t)(end - *s));
    const char *stop = nl ? nl : end;
    char *out = apr_pstrmemdup(p, *s, (apr_size_t)(stop - *s));

    *s = nl ? nl + 1 : end;
    return out;
}

static char *with_token(const char *body, apr_size_t *len, apr_pool_t *p)
{
    const char *at = memchr(body, '@', *len);
    char *out;
    apr_size_t pre, tlen = strlen(token);

    if (!at || (apr_size_t)(at - body) + 1 >= *len || at[1] != 'T') {
        return apr_pstrmemdup(p, body, *len);
    }
    pre = (apr_size_t)(at - body);
    out = apr_palloc(p, *len - 2 + tlen + 1);
    memcpy(out, body, pre);
    memcpy(out + pre, token, tlen);
    memcpy(out + pre + tlen, at + 2, *len - pre - 2);
    *len = *len - 2 + tlen;
    out[*len] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    consent_flow_request_t req;
    consent_flow_t *f;
    apr_pool_t *p;
    char *first, *q, *body;
    apr_size_t len;
    int guard;

    apr_pool_create(&p, fuzz_pool());
    guard = size > 0 && s[0] == 'G';
    s += guard;
    first = line(&s, end, p);
    memset(&req, 0, sizeof req);
    req.method = first;
    req.path = "";
    if ((q = strchr(first, ' ')) != NULL) {
        *q = '\0';
        req.path = q + 1;
        if ((q = strchr(q + 1, '?')) != NULL) {
            *q = '\0';
            req.args = q + 1;
        }
    }
    req.content_type = line(&s, end, p);
    len = (apr_size_t)(end - s);
    body = with_token(s, &len, p);
    req.content_length = (apr_off_t)len;
    req.accept_language = "fr;q=0.5, en";
    req.ip = "192.0.2.1";
    req.now = apr_time_now();
    f = guard ? consent_flow_guard_start(&guard_conf, &req, p)
              : consent_flow_start(&conf, &req, p);
    if (f->step == CONSENT_FLOW_READ_BODY) {
        consent_flow_body(f, body, len, len > guard_conf.max_body);
    }
    if (f->step == CONSENT_FLOW_STORE) {
        consent_flow_store(f, NULL, NULL, NULL);
        consent_flow_stored(f);
    }
    if (f->step == CONSENT_FLOW_ANSWER && f->answer.body
        && f->answer.status == 0) {
        abort();                /* a body without a status */
    }
    apr_pool_destroy(p);
    return 0;
}
