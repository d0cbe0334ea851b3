/*
 * DESIGN.md's HTTP table, server-neutral (see consent_flow.h). The
 * adapters only translate: the Apache one and the nginx one both drive
 * every page through this.
 */
#include <string.h>
#include <apr_lib.h>

#include "consent_flow.h"
#include "consent_guard.h"
#include "consent_hex.h"
#include "consent_lang.h"
#include "consent_mail.h"
#include "consent_multipart.h"
#include "consent_notice.h"
#include "consent_status.h"
#include "consent_token.h"
#include "consent_urlencoded.h"
#include "consent_withdraw.h"
#include "consent_writer.h"

#define DEFAULT_LANG "en"
#define ONE_CLICK_FIELD "List-Unsubscribe"
#define ONE_CLICK_VALUE "One-Click"
#define ALLOWED "GET, HEAD, POST"
#define CONFIRM_FIELD "confirm"

/* ---- shared pieces --------------------------------------------------- */

/* A line for the server's log, and the last of its level in f->note or
 * f->error. */
static void flow_log(consent_flow_t *f, consent_log_level_t level, int id,
                     const char *text)
{
    consent_flow_log_t *l = apr_array_push(f->logs);

    l->level = level;
    l->id = id;
    l->text = text;
    if (level == CONSENT_LOG_INFO) {
        f->note = text;
    }
    else if (level == CONSENT_LOG_ERR) {
        f->error = text;
    }
}

static void note(consent_flow_t *f, int id, const char *text)
{
    flow_log(f, CONSENT_LOG_INFO, id, text);
}

static void error(consent_flow_t *f, int id, const char *text)
{
    flow_log(f, CONSENT_LOG_ERR, id, text);
}

static void debug(consent_flow_t *f, int id, const char *text)
{
    flow_log(f, CONSENT_LOG_DEBUG, id, text);
}

static const char *flow_lang(const consent_form_t *form,
                              const char *default_lang,
                              const char *accept_language, apr_pool_t *p)
{
    const char *dflt = default_lang ? default_lang : DEFAULT_LANG;
    const apr_array_header_t *offered = form->languages;
    int i;

    /* the configured default only counts if the form speaks it */
    for (i = 0; i < offered->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(offered, i, const char *), dflt) == 0) {
            break;
        }
    }
    return consent_lang_negotiate(accept_language, offered,
                                  i < offered->nelts ? dflt : NULL, p);
}

apr_status_t consent_flow_issue_token(const consent_form_t *form,
                                      const consent_keyring_t *keys,
                                      const char *lang, const char *defaults,
                                      consent_page_kind_t page,
                                      const char **token, apr_pool_t *p)
{
    const consent_notice_t *notice = consent_notice_get(form, lang);
    consent_token_facts_t facts;
    int n = form->purposes->nelts;

    if (!defaults) {
        char *unticked = apr_palloc(p, n + 1);

        memset(unticked, CONSENT_BOX_UNTICKED, n);
        unticked[n] = '\0';
        defaults = unticked;
    }
    memset(&facts, 0, sizeof facts);
    facts.form_id = form->id;
    facts.form_version = form->version;
    facts.lang = lang;
    memcpy(facts.notice_sha256, notice->sha256, CONSENT_SHA256_LEN);
    facts.defaults = defaults;
    facts.page = page;
    return consent_token_issue(token, keys, &facts, p);
}

/* The headers of every page: they carry single-use tokens, so they are
 * never cached and never framed. */
static void page_headers(apr_table_t *h, const char *lang)
{
    apr_table_setn(h, "Content-Type", "text/html; charset=utf-8");
    apr_table_setn(h, "Content-Language", lang);
    apr_table_mergen(h, "Vary", "Accept-Language");
    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_setn(h, "Content-Security-Policy",
                   "default-src 'none'; style-src 'self'; img-src 'self'; "
                   "form-action 'self'; frame-ancestors 'none'; "
                   "base-uri 'none'");
    apr_table_setn(h, "X-Frame-Options", "DENY");
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "Referrer-Policy", "no-referrer");
}

/* ---- the answer's body ----------------------------------------------- */

typedef struct {
    char *data;
    apr_size_t len, cap;
    apr_pool_t *p;
} body_buf;

static apr_status_t buf_write(void *baton, const char *data, apr_size_t n)
{
    body_buf *b = baton;

    if (b->len + n > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        char *d;

        while (cap < b->len + n) {
            cap *= 2;
        }
        d = apr_palloc(b->p, cap);
        if (b->len) {
            memcpy(d, b->data, b->len);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return APR_SUCCESS;
}

static void answer(consent_flow_t *f, int status)
{
    f->step = CONSENT_FLOW_ANSWER;
    f->answer.status = status;
    page_headers(f->answer.headers, f->lang);
}

static void rendered(consent_flow_t *f, body_buf *b, apr_status_t rv)
{
    if (rv != APR_SUCCESS) {
        error(f, 10, "rendering failed");
        apr_table_clear(f->answer.headers);
        f->answer.status = 500;
        f->answer.body = NULL;
        f->answer.len = 0;
        return;
    }
    f->answer.body = b->data;
    f->answer.len = b->len;
}

static body_buf *buf_make(consent_flow_t *f)
{
    body_buf *b = apr_pcalloc(f->pool, sizeof *b);

    b->p = f->pool;
    return b;
}

static void titled_message(consent_flow_t *f, int status,
                           const char *title_key, const char *key)
{
    body_buf *b = buf_make(f);

    answer(f, status);
    rendered(f, b, consent_render_message(f->conf->ui, f->lang, title_key,
                                          key, buf_write, b));
}

/* A message page: title from "<key>.title", body from key. */
static void message(consent_flow_t *f, int status, const char *key)
{
    titled_message(f, status, apr_pstrcat(f->pool, key, ".title", NULL),
                   key);
}

static void unavailable(consent_flow_t *f)
{
    apr_table_setn(f->answer.headers, "Retry-After", CONSENT_RETRY_AFTER);
    message(f, 503, "error.unavailable");
}

/* A page that carries a fresh render token: the form, the withdrawal
 * page, with an error and the values to show again. */
static void signed_page(consent_flow_t *f, int status, const char *error_key,
                        apr_table_t *values)
{
    consent_render_signed_fn *render = f->page == CONSENT_PAGE_WITHDRAW
                                       ? consent_render_withdraw
                                       : consent_render_form;
    body_buf *b = buf_make(f);
    consent_form_request_t req;
    apr_status_t rv;

    memset(&req, 0, sizeof req);
    req.lang = f->lang;
    req.values = values;
    req.error = error_key ? consent_ui_text(f->conf->ui, f->lang, error_key)
                          : NULL;
    req.withdraw_url = f->conf->withdraw_url;
    rv = consent_flow_issue_token(f->conf->form, f->conf->keys, f->lang,
                                  NULL, f->page, &req.token, f->pool);
    answer(f, status);
    if (rv != APR_SUCCESS) {
        error(f, 11, "cannot sign a render token");
        rendered(f, b, rv);
        return;
    }
    rendered(f, b, render(f->conf->form, &req, buf_write, b));
}

/* The page after a departure; receipt may be an earlier one. */
static void done_status(consent_flow_t *f, int status, const char *key,
                        const char *receipt)
{
    body_buf *b = buf_make(f);

    answer(f, status);
    if (receipt) {
        apr_table_setn(f->answer.headers, "Consent-Receipt", receipt);
    }
    rendered(f, b, consent_render_done(
        f->conf->ui, f->lang, apr_pstrcat(f->pool, key, ".title", NULL),
        key, receipt ? receipt : "", buf_write, b));
}

static void done(consent_flow_t *f, const char *key, const char *receipt)
{
    done_status(f, 200, key, receipt);
}

static void refusal(consent_flow_t *f, const consent_verdict_t *v)
{
    switch (v->kind) {
    case CONSENT_VERDICT_BAD_INPUT:
        signed_page(f, 400, v->error_key, v->values);
        break;
    case CONSENT_VERDICT_EXPIRED:
        /* an honest person with an old page gets a fresh one */
        signed_page(f, 403, v->error_key, NULL);
        break;
    case CONSENT_VERDICT_PRETICKED:
        message(f, 422, "error.preticked");
        break;
    default:
        message(f, 403, "error.forbidden");
    }
}

/* Guard mode has no form of ours to show again: the page is the
 * application's, so the person is told what to do on it. */
static void guard_refusal(consent_flow_t *f, const consent_verdict_t *v)
{
    switch (v->kind) {
    case CONSENT_VERDICT_BAD_INPUT:
        titled_message(f, 400, "error.bad_input.title", v->error_key);
        break;
    case CONSENT_VERDICT_PRETICKED:
        message(f, 422, "error.preticked");
        break;
    case CONSENT_VERDICT_EXPIRED:
        message(f, 403, "error.reload");
        break;
    default:
        message(f, 403, "error.forbidden");
    }
}

/* ---- routing ---------------------------------------------------------- */

static int method_is(const consent_flow_t *f, const char *m)
{
    return strcmp(f->req->method, m) == 0;
}

static int is_get(const consent_flow_t *f)
{
    return method_is(f, "GET") || method_is(f, "HEAD");
}

static void store_step(consent_flow_t *f, consent_flow_op_t op)
{
    f->step = CONSENT_FLOW_STORE;
    f->op = op;
}

/* A GET of a page that leads to a submission: 503 rather than a form
 * that cannot be kept, when the store is known to be down. */
static void form_get(consent_flow_t *f)
{
    if (f->req->store_suspect) {
        store_step(f, CONSENT_FLOW_OP_PROBE);
        return;
    }
    signed_page(f, 200, NULL, NULL);
}

/* The link's facts, or NULL (f->note says why). Binding a link to the
 * form of its location is a security rule: a link for one form does not
 * unsubscribe from another. */
static consent_unsub_t *open_link(consent_flow_t *f)
{
    consent_unsub_t *u = apr_pcalloc(f->pool, sizeof *u);
    apr_array_header_t *args;
    const char *t = NULL;
    consent_unsub_status_t st;
    int i;

    if (f->req->args && consent_urlencoded_parse(
            f->req->args, strlen(f->req->args), &args, NULL, f->pool)
        == APR_SUCCESS) {
        for (i = 0; i < args->nelts; ++i) {
            const consent_field_value_t *a =
                &APR_ARRAY_IDX(args, i, consent_field_value_t);
            if (strcmp(a->name, "t") == 0) {
                t = a->value;
                break;
            }
        }
    }
    st = consent_unsub_decode(u, f->conf->keys, t, f->pool);
    if (st == CONSENT_UNSUB_OK
        && strcmp(u->form_id, f->conf->form->id) == 0) {
        u->subject = consent_subject_canonical(f->conf->form, u->subject,
                                               f->pool);
        return u;
    }
    note(f, 42, apr_pstrcat(f->pool, "unsubscribe link refused: ",
                            st == CONSENT_UNSUB_OK ? "made for another form"
                            : consent_unsub_status_str(st), NULL));
    return NULL;
}

static void unsubscribe_get(consent_flow_t *f)
{
    body_buf *b;

    if (!(f->unsub = open_link(f))) {
        message(f, 403, "unsubscribe.invalid");
        return;
    }
    /* GET shows a confirm button and never records: mail scanners and
     * link previews follow links */
    b = buf_make(f);
    answer(f, 200);
    rendered(f, b, consent_render_unsubscribe(f->conf->ui, f->lang,
                                              buf_write, b));
}

/* ---- L/confirm?t= (double opt-in, consent_confirm.h) ---------------- */

static const char *query_t(const consent_flow_t *f)
{
    apr_array_header_t *args;
    int i;

    if (!f->req->args || consent_urlencoded_parse(
            f->req->args, strlen(f->req->args), &args, NULL, f->pool)
        != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < args->nelts; ++i) {
        const consent_field_value_t *a =
            &APR_ARRAY_IDX(args, i, consent_field_value_t);
        if (strcmp(a->name, "t") == 0) {
            return a->value;
        }
    }
    return NULL;
}

/* The link's facts, or NULL (f->note says why): 403, record nothing.
 * Links mailed before double opt-in was turned off still open. */
static consent_confirm_link_t *open_confirm_link(consent_flow_t *f)
{
    consent_confirm_link_t *l = apr_pcalloc(f->pool, sizeof *l);
    const apr_array_header_t *langs = f->conf->form->languages;
    consent_confirm_status_t st;
    int i;

    st = consent_confirm_open(l, f->conf->keys, query_t(f), f->conf->site,
                              f->conf->form->id, f->req->now,
                              f->conf->confirm_lifetime
                              ? f->conf->confirm_lifetime
                              : CONSENT_CONFIRM_DEFAULT_LIFETIME, f->pool);
    if (st != CONSENT_CONFIRM_OK) {
        note(f, 63, apr_pstrcat(f->pool, "confirmation link refused: ",
                                consent_confirm_status_str(st), NULL));
        message(f, 403, CONSENT_CONFIRM_KEY_INVALID);
        return NULL;
    }
    /* the link's language, when the form speaks it */
    for (i = 0; i < langs->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(langs, i, const char *), l->lang) == 0) {
            f->lang = l->lang;
        }
    }
    return l;
}

/* GET shows the button and never records: mail scanners and link
 * previews follow links. */
static void confirm_get(consent_flow_t *f)
{
    body_buf *b;

    if (!open_confirm_link(f)) {
        return;
    }
    b = buf_make(f);
    answer(f, 200);
    rendered(f, b, consent_render_confirm_email(f->conf->ui, f->lang,
                                                buf_write, b));
}

/* The button's body: confirm=1, once. */
static void confirm_post(consent_flow_t *f, const char *body, apr_size_t len)
{
    apr_array_header_t *fields;
    const consent_field_value_t *fv;
    int dup;

    if (consent_urlencoded_parse(body, len, &fields, NULL, f->pool)
        != APR_SUCCESS) {
        message(f, 400, "error.bad_input");
        return;
    }
    if (!(f->link = open_confirm_link(f))) {
        return;
    }
    fv = consent_field_single(fields, CONFIRM_FIELD, &dup);
    if (!fv || dup || !consent_value_is_clean(fv, 8)
        || strcmp(fv->value, "1") != 0) {
        message(f, 400, "error.bad_input");
        return;
    }
    store_step(f, CONSENT_FLOW_OP_CONFIRM);
}

/* L/consent.css, from memory (consent_style.h). */
static void style_page(consent_flow_t *f)
{
    consent_style_answer_t a;

    if (!f->conf->style) {
        f->answer.status = 404;
        return;
    }
    if (!is_get(f)) {
        apr_table_setn(f->answer.headers, "Allow", "GET, HEAD");
        message(f, 405, "error.method");
        return;
    }
    consent_style_answer(f->conf->style, f->req->args,
                         f->req->if_none_match, &a);
    f->answer.status = a.status;
    apr_table_setn(f->answer.headers, "ETag", a.etag);
    apr_table_setn(f->answer.headers, "Cache-Control", a.cache_control);
    apr_table_setn(f->answer.headers, "X-Content-Type-Options", "nosniff");
    if (a.body) {
        apr_table_setn(f->answer.headers, "Content-Type", a.content_type);
        f->answer.body = a.body;
        f->answer.len = a.len;
    }
}

consent_flow_t *consent_flow_start(const consent_flow_conf_t *conf,
                                   const consent_flow_request_t *req,
                                   apr_pool_t *p)
{
    consent_flow_t *f = apr_pcalloc(p, sizeof *f);
    const char *path = req->path ? req->path : "";

    f->conf = conf;
    f->req = req;
    f->pool = p;
    f->answer.headers = apr_table_make(p, 12);
    f->logs = apr_array_make(p, 2, sizeof(consent_flow_log_t));
    f->lang = flow_lang(conf->form, conf->default_lang,
                        req->accept_language, p);
    if (!*path || strcmp(path, "/") == 0) {
        f->page = CONSENT_PAGE_FORM;
    }
    else if (strcmp(path, "/withdraw") == 0) {
        f->page = CONSENT_PAGE_WITHDRAW;
    }
    else if (strcmp(path, "/unsubscribe") == 0) {
        f->page = CONSENT_PAGE_UNSUBSCRIBE;
    }
    else if (strcmp(path, "/confirm") == 0) {
        f->page = CONSENT_PAGE_NONE;
    }
    else if (strcmp(path, "/" CONSENT_STYLE_NAME) == 0) {
        f->step = CONSENT_FLOW_ANSWER;
        style_page(f);
        return f;
    }
    else {
        /* the server's own 404 page: nothing of ours lives there */
        f->step = CONSENT_FLOW_ANSWER;
        f->answer.status = 404;
        return f;
    }
    if (is_get(f)) {
        if (f->page == CONSENT_PAGE_UNSUBSCRIBE) {
            unsubscribe_get(f);
        }
        else if (f->page == CONSENT_PAGE_NONE) {
            confirm_get(f);
        }
        else {
            form_get(f);
        }
        return f;
    }
    if (!method_is(f, "POST")) {
        apr_table_setn(f->answer.headers, "Allow", ALLOWED);
        message(f, 405, "error.method");
        return f;
    }
    if (!consent_urlencoded_is(req->content_type)
        && !(f->page == CONSENT_PAGE_UNSUBSCRIBE
             && consent_multipart_is(req->content_type))) {
        message(f, 415, "error.media_type");
        return f;
    }
    /* refuse early what is announced too large, without reading it */
    if (req->content_length > (apr_off_t)conf->max_body) {
        message(f, 413, "error.too_large");
        f->answer.close = 1;
        return f;
    }
    f->step = CONSENT_FLOW_READ_BODY;
    return f;
}

/* ---- POST ------------------------------------------------------------- */

static consent_request_info_t request_info(const consent_flow_t *f)
{
    consent_request_info_t in;

    memset(&in, 0, sizeof in);
    in.page = f->page;      /* the token must come from this page */
    in.ip = f->req->ip;
    in.user_agent = f->req->user_agent;
    in.now = f->req->now;
    in.lifetime = f->conf->lifetime;
    return in;
}

static void judge(consent_flow_t *f, apr_array_header_t *fields)
{
    consent_request_info_t in = request_info(f);
    consent_verdict_t *v;

    if (f->page == CONSENT_PAGE_WITHDRAW) {
        v = consent_withdrawal_check(f->conf->form, f->conf->keys, fields,
                                     &in, f->pool);
    }
    else if (f->page == CONSENT_PAGE_GUARD) {
        v = consent_guard_check(f->conf->form, f->conf->keys, fields, &in,
                                f->pool);
    }
    else {
        v = consent_submission_check(f->conf->form, f->conf->keys, fields,
                                     &in, f->pool);
    }
    if (v->lang) {
        f->lang = v->lang;
    }
    if (v->kind != CONSENT_VERDICT_OK) {
        note(f, f->page == CONSENT_PAGE_WITHDRAW ? 41
                : f->page == CONSENT_PAGE_GUARD ? 510 : 33,
             apr_pstrcat(f->pool, f->page == CONSENT_PAGE_WITHDRAW
                         ? "withdrawal refused: "
                         : f->page == CONSENT_PAGE_GUARD
                         ? "guarded POST refused before the application: "
                         : "submission refused: ",
                         v->detail ? v->detail : v->error_key, NULL));
    }
    if (v->kind != CONSENT_VERDICT_OK && f->page == CONSENT_PAGE_GUARD) {
        guard_refusal(f, v);
        return;
    }
    if (v->kind != CONSENT_VERDICT_OK) {
        refusal(f, v);
        return;
    }
    f->proof = v->proof;
    if (f->page == CONSENT_PAGE_FORM && f->conf->confirm_email
        && consent_confirm_hold(f->proof) > 0) {
        if (!f->proof->subject || !*f->proof->subject) {
            /* nowhere to send the confirmation: nothing to confirm */
            signed_page(f, 400, "error.missing_field", v->values);
            return;
        }
        f->held = 1;
    }
    store_step(f, CONSENT_FLOW_OP_RECORD);
}

/* RFC 8058: the body says "List-Unsubscribe=One-Click", once. */
static int is_one_click(const apr_array_header_t *fields)
{
    const consent_field_value_t *fv;
    int dup;

    if (consent_fields_problem(fields, fields->pool)) {
        return 0;
    }
    fv = consent_field_single(fields, ONE_CLICK_FIELD, &dup);
    return fv && !dup && consent_value_is_clean(fv, 32)
           && strcmp(fv->value, ONE_CLICK_VALUE) == 0;
}

/*
 * POST L/unsubscribe?t=: the act, from the confirm button or from a mail
 * provider's one-click. RFC 8058 3.2: providers SHOULD post
 * multipart/form-data (and MAY post urlencoded).
 */
static void unsubscribe_post(consent_flow_t *f, const char *body,
                             apr_size_t len)
{
    apr_array_header_t *fields;
    int one_click;

    if (consent_multipart_is(f->req->content_type)) {
        const char *v = consent_multipart_field(f->req->content_type, body,
                                                len, ONE_CLICK_FIELD,
                                                f->pool);
        one_click = v && strcmp(v, ONE_CLICK_VALUE) == 0;
    }
    else if (consent_urlencoded_parse(body, len, &fields, NULL, f->pool)
             != APR_SUCCESS) {
        message(f, 400, "error.bad_input");
        return;
    }
    else {
        one_click = is_one_click(fields);
    }
    if (!(f->unsub = open_link(f))) {
        message(f, 403, "unsubscribe.invalid");
        return;
    }
    if (!one_click) {
        note(f, 45, "unsubscribe refused: the body is not "
                    "List-Unsubscribe=One-Click");
        message(f, 400, "error.bad_input");
        return;
    }
    store_step(f, CONSENT_FLOW_OP_UNSUBSCRIBE);
}

void consent_flow_body(consent_flow_t *f, const char *body, apr_size_t len,
                       int too_large)
{
    apr_array_header_t *fields;

    if (too_large) {
        message(f, 413, "error.too_large");
        f->answer.close = 1;
        return;
    }
    if (f->page == CONSENT_PAGE_UNSUBSCRIBE) {
        unsubscribe_post(f, body, len);
        return;
    }
    if (f->page == CONSENT_PAGE_NONE) {
        confirm_post(f, body, len);
        return;
    }
    if (consent_urlencoded_parse(body, len, &fields, NULL, f->pool)
        != APR_SUCCESS) {
        note(f, 35, "body refused: malformed urlencoded body");
        message(f, 400, "error.bad_input");
        return;
    }
    judge(f, fields);
}

/* ---- the store -------------------------------------------------------- */

static apr_status_t add_to_status(void *baton, const consent_proof_t *pf,
                                   apr_pool_t *scratch)
{
    consent_status_add(baton, pf);
    return APR_SUCCESS;
}

/* The receipt of the departure that already covers what the link names
 * (a repeated click is answered with it). */
static const char *earlier_receipt(const consent_status_t *status,
                                   const consent_unsub_t *u,
                                   const consent_form_t *form)
{
    const consent_purpose_state_t *s;
    const char *id;

    id = u->purposes->nelts ? APR_ARRAY_IDX(u->purposes, 0, const char *)
         : APR_ARRAY_IDX(form->purposes, 0, const consent_purpose_t *)->id;
    s = consent_status_get(status, id);
    return s ? s->receipt_id : NULL;
}

static const consent_key_t *signing_key(const consent_flow_t *f)
{
    const consent_keyring_t *ring = f->conf->seal_keys ? f->conf->seal_keys
                                                       : f->conf->keys;

    return APR_ARRAY_IDX(ring->keys, 0, const consent_key_t *);
}

/* "newsletter=given partners=refused": what a decision was, for the
 * debug log (no subject, no token, no secret). */
static const char *choices_str(apr_pool_t *p, const consent_proof_t *pf)
{
    const char *out = "";
    int i;

    for (i = 0; pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);

        out = apr_pstrcat(p, out, i ? " " : "", c->purpose, "=",
                          c->state, NULL);
    }
    return *out ? out : "(no purpose)";
}

static void record(consent_flow_t *f, consent_store_t *store,
                   const char *lane, consent_lane_cache_t *cache)
{
    const consent_proof_t *pf = f->proof;
    const char *err = NULL;

    if (f->conf->site) {
        f->proof->site = f->conf->site;
    }
    f->stored = f->writer
        ? consent_writer_record(f->writer, f->proof, signing_key(f),
                                f->pool, &err)
        : consent_store_record_cached(store, f->proof, lane, cache,
                                      signing_key(f), f->pool, &err);
    if (f->stored == CONSENT_STORE_OK) {
        f->receipt = f->proof->receipt_id;
        debug(f, 34, apr_psprintf(f->pool, "%s stored: receipt %s, form %s "
                                  "v%u (%s, %s): %s", pf->event,
                                  pf->receipt_id, pf->form_id,
                                  pf->form_version, pf->lang, pf->regime,
                                  choices_str(f->pool, pf)));
    }
    else if (f->stored == CONSENT_STORE_DUPLICATE) {
        note(f, 31, apr_pstrcat(f->pool, "render token replayed (nonce ",
                                f->proof->token_nonce, ")", NULL));
    }
    else {
        error(f, 32, apr_pstrcat(f->pool, "cannot store proof: ",
                                 err ? err : "?", NULL));
    }
}

static void unsubscribe(consent_flow_t *f, consent_store_t *store,
                        const char *lane, consent_lane_cache_t *cache)
{
    consent_request_info_t in = request_info(f);
    consent_status_t *status = consent_status_make(f->pool);
    const char *err = NULL;

    if (consent_store_each(store, 0, f->unsub->subject, add_to_status,
                           status, f->pool, &err) != APR_SUCCESS) {
        f->stored = CONSENT_STORE_ERROR;
        error(f, 43, apr_pstrcat(f->pool, "store unavailable for an "
                                 "unsubscribe: ", err ? err : "?", NULL));
        return;
    }
    f->proof = consent_unsubscribe_proof(f->conf->form, f->unsub->subject,
                                         f->unsub->purposes, status, f->lang,
                                         &in, f->pool);
    if (!f->proof) {
        /* already gone: harmless, and nothing more to record */
        debug(f, 44, apr_pstrcat(f->pool, "unsubscribe: nothing left to "
                                 "withdraw on form ", f->conf->form->id,
                                 ", nothing recorded", NULL));
        f->stored = CONSENT_STORE_OK;
        f->receipt = earlier_receipt(status, f->unsub, f->conf->form);
        return;
    }
    record(f, store, lane, cache);
}

/* A held submission, once stored: its message, sent with a bounded wait
 * (durable first: a message never announces an unrecorded proof). */
static void send_message(consent_flow_t *f)
{
    const consent_flow_conf_t *c = f->conf;
    const char *msg, *why = NULL;
    apr_status_t rv;

    f->mail_failed = 1;
    if (!c->mail_argv || !c->mail_from || !f->req->base_url) {
        why = "no mail command, sender or server name";
    }
    else if ((rv = consent_confirm_message(
                  &msg, c->keys, c->ui, c->form, f->proof, c->mail_from,
                  f->req->base_url, c->site, c->confirm_lifetime
                  ? c->confirm_lifetime : CONSENT_CONFIRM_DEFAULT_LIFETIME,
                  f->pool)) != APR_SUCCESS) {
        why = rv == APR_EINVAL ? "the message would have an invalid header"
                               : "cannot seal the links";
    }
    else if (consent_mail_send(c->mail_argv, msg, CONSENT_MAIL_TIMEOUT, &why,
                               f->pool) != APR_SUCCESS) {
        why = apr_pstrcat(f->pool, c->mail_argv[0], ": ", why ? why : "?",
                          NULL);
    }
    else {
        f->mail_failed = 0;
        debug(f, 62, apr_pstrcat(f->pool, "confirmation message for "
                                 "receipt ", f->proof->receipt_id, " sent",
                                 NULL));
        return;
    }
    error(f, 61, apr_pstrcat(f->pool, "confirmation message for receipt ",
                             f->proof->receipt_id, " not sent: ", why,
                             NULL));
}

/* POST L/confirm?t=: the subject's history decides (consent_confirm.h). */
static void confirm(consent_flow_t *f, consent_store_t *store,
                    const char *lane, consent_lane_cache_t *cache)
{
    consent_request_info_t in = request_info(f);
    consent_confirm_history_t *h = consent_confirm_history_make(f->link,
                                                                f->pool);
    const char *err = NULL;

    if (consent_store_each(store, 0, f->link->subject,
                           consent_confirm_collect, h, f->pool, &err)
        != APR_SUCCESS) {
        f->stored = CONSENT_STORE_ERROR;
        error(f, 64, apr_pstrcat(f->pool, "store unavailable for a "
                                 "confirmation: ", err ? err : "?", NULL));
        return;
    }
    f->action = consent_confirm_decide(f->conf->form, f->link, h, &in,
                                       &f->proof, &f->receipt, f->pool);
    f->stored = CONSENT_STORE_OK;
    if (f->action == CONSENT_CONFIRM_RECORD) {
        record(f, store, lane, cache);
    }
}

int consent_flow_needs_store(const consent_flow_t *f)
{
    return f->op != CONSENT_FLOW_OP_RECORD || !f->writer;
}

void consent_flow_store(consent_flow_t *f, consent_store_t *store,
                        const char *lane, consent_lane_cache_t *cache)
{
    if (!store && consent_flow_needs_store(f)) {
        f->stored = CONSENT_STORE_ERROR;
        error(f, 32, "store unavailable: answering 503");
        return;
    }
    /* a person's state here is their state at this site (and what was
     * recorded before sites existed), as on Apache */
    if (store) {
        store->only_site = f->conf->site;
        store->only_site_exact = 0;
    }
    switch (f->op) {
    case CONSENT_FLOW_OP_PROBE:
        f->stored = CONSENT_STORE_OK;
        break;
    case CONSENT_FLOW_OP_RECORD:
        record(f, store, lane, cache);
        if (f->held && f->stored == CONSENT_STORE_OK) {
            send_message(f);
        }
        break;
    case CONSENT_FLOW_OP_CONFIRM:
        confirm(f, store, lane, cache);
        break;
    case CONSENT_FLOW_OP_UNSUBSCRIBE:
        unsubscribe(f, store, lane, cache);
        break;
    }
}

int consent_flow_store_failed(const consent_flow_t *f)
{
    return f->stored == CONSENT_STORE_ERROR;
}

static void confirm_stored(consent_flow_t *f)
{
    switch (f->action) {
    case CONSENT_CONFIRM_RECORD:
    case CONSENT_CONFIRM_ALREADY:
        /* a repeated click answers with the earlier confirmation */
        done(f, CONSENT_CONFIRM_KEY_DONE, f->receipt);
        break;
    case CONSENT_CONFIRM_NOTHING:
        /* withdrawn or replaced since */
        message(f, 200, CONSENT_CONFIRM_KEY_NOTHING);
        break;
    default:
        note(f, 65, apr_pstrcat(f->pool, "confirmation link names receipt ",
                                f->link->receipt_id, ", not a submission "
                                "of this person at this form", NULL));
        message(f, 403, CONSENT_CONFIRM_KEY_INVALID);
    }
}

static void answer_stored(consent_flow_t *f)
{
    body_buf *b;

    if (f->page == CONSENT_PAGE_GUARD) {
        f->step = CONSENT_FLOW_PASS;
        return;
    }
    if (f->page == CONSENT_PAGE_NONE) {
        confirm_stored(f);
        return;
    }
    if (f->held && f->mail_failed) {
        /* the pending proof is kept: its receipt is the person's */
        done_status(f, 502, CONSENT_CONFIRM_KEY_FAILED, f->receipt);
        return;
    }
    if (f->page != CONSENT_PAGE_FORM) {
        done(f, f->page == CONSENT_PAGE_WITHDRAW ? "withdraw.done"
                                                 : "unsubscribe.done",
             f->receipt);
        return;
    }
    if (f->conf->success_url) {
        f->step = CONSENT_FLOW_ANSWER;
        f->answer.status = 303;
        apr_table_setn(f->answer.headers, "Location", f->conf->success_url);
        apr_table_setn(f->answer.headers, "Consent-Receipt", f->receipt);
        apr_table_setn(f->answer.headers, "Cache-Control", "no-store");
        return;
    }
    if (f->held) {
        done(f, CONSENT_CONFIRM_KEY_SENT, f->receipt);
        return;
    }
    b = buf_make(f);
    f->lang = f->proof->lang;
    answer(f, 200);
    apr_table_setn(f->answer.headers, "Consent-Receipt", f->receipt);
    rendered(f, b, consent_render_confirmation(
        f->conf->ui, f->conf->form, f->lang, f->proof,
        f->conf->withdraw_url, buf_write, b));
}

void consent_flow_stored(consent_flow_t *f)
{
    if (f->proof) {
        f->lang = f->proof->lang;
    }
    switch (f->stored) {
    case CONSENT_STORE_OK:
        if (f->op == CONSENT_FLOW_OP_PROBE) {
            signed_page(f, 200, NULL, NULL);
        }
        else {
            answer_stored(f);
        }
        break;
    case CONSENT_STORE_DUPLICATE:
        message(f, 409, "error.replay");
        break;
    default:
        unavailable(f);
    }
}

/* ---- guard mode ------------------------------------------------------- */

/* Whether a query string names a guarded input, under any spelling a
 * backend reads as its name (consent_guard_input_of): a box sent by GET
 * would reach the application unchecked. Lenient on purpose
 * (applications use "?debug" and stray '%'): only the names matter,
 * decoded where they can be, up to a NUL as a backend reads them. */
static int query_has_box(const char *args, const consent_form_t *form,
                         apr_pool_t *p)
{
    char *name = apr_palloc(p, strlen(args) + 1);
    const char *s = args;
    int exact;

    while (*s) {
        char *o = name;

        for (; *s && *s != '&' && *s != ';' && *s != '='; ++s) {
            if (*s == '+') {
                *o++ = ' ';
            }
            else if (*s == '%' && apr_isxdigit(s[1]) && apr_isxdigit(s[2])) {
                *o++ = (char)(consent_hex_digit(s[1]) * 16
                              + consent_hex_digit(s[2]));
                s += 2;
            }
            else {
                *o++ = *s;
            }
        }
        *o = '\0';
        if (consent_guard_input_of(form, name, strlen(name), &exact) >= 0) {
            return 1;
        }
        while (*s && *s != '&' && *s != ';') {
            ++s;
        }
        if (*s) {
            ++s;
        }
    }
    return 0;
}

consent_flow_t *consent_flow_guard_start(const consent_flow_conf_t *conf,
                                         const consent_flow_request_t *req,
                                         apr_pool_t *p)
{
    consent_flow_t *f = apr_pcalloc(p, sizeof *f);

    f->conf = conf;
    f->req = req;
    f->pool = p;
    f->page = CONSENT_PAGE_GUARD;
    f->answer.headers = apr_table_make(p, 12);
    f->logs = apr_array_make(p, 2, sizeof(consent_flow_log_t));
    f->lang = flow_lang(conf->form, conf->default_lang,
                        req->accept_language, p);
    if (req->args && query_has_box(req->args, conf->form, p)) {
        note(f, 512, "a guarded box in the query string: guarded forms "
                     "must use method=\"post\"");
        titled_message(f, 400, "error.bad_input.title", "error.bad_input");
        return f;
    }
    /* the method exactly: a backend may take "post" for a POST */
    if (!method_is(f, "POST") && (req->chunked || req->content_length > 0)) {
        note(f, 513, apr_pstrcat(p, req->method, " with a body refused: "
                                 "only POST bodies are checked", NULL));
        apr_table_setn(f->answer.headers, "Allow", ALLOWED);
        message(f, 405, "error.method");
        f->answer.close = 1;
        return f;
    }
    if (!method_is(f, "POST")) {
        f->step = CONSENT_FLOW_PASS;
        return f;
    }
    if (!consent_urlencoded_is(req->content_type)) {
        message(f, 415, "error.media_type");
        return f;
    }
    if (req->content_length > (apr_off_t)conf->max_body) {
        message(f, 413, "error.too_large");
        f->answer.close = 1;
        return f;
    }
    f->step = CONSENT_FLOW_READ_BODY;
    return f;
}

/* Pages that may hold the application's form: 2xx with a body, and the
 * statuses an application shows its form again with (400, 409, 422). */
static int status_has_form(int status)
{
    return (status >= 200 && status < 300 && status != 204
            && status != 205 && status != 206)
           || status == 400 || status == 409 || status == 422;
}

int consent_flow_guard_inspectable(int status, const char *ct,
                                   const char *charset, const char *ce,
                                   const char **why, apr_pool_t *p)
{
    apr_size_t n = sizeof "text/html" - 1;

    *why = NULL;
    if (!status_has_form(status) || !ct || strncasecmp(ct, "text/html", n)
        || (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ')) {
        return 0;
    }
    if (ce && *ce && strcasecmp(ce, "identity") != 0) {
        *why = apr_pstrcat(p, "came ", ce, "-encoded although the request "
                           "asked for identity: passed on untouched, its "
                           "forms get no token (their POSTs: 403)", NULL);
        return 0;
    }
    if (!charset) {
        charset = consent_guard_charset_of(ct, p);
    }
    if (!consent_guard_charset_ok(charset)) {
        *why = apr_pstrcat(p, "is in charset ", charset, ", which the "
                           "guard cannot edit: passed on untouched", NULL);
        return 0;
    }
    return 1;
}

/* The guard's signer: the facts of one form of the application's page. */
typedef struct {
    const consent_flow_conf_t *conf;
    const char *lang;
    apr_array_header_t *logs;
    apr_pool_t *pool;
} guard_signer;

static apr_status_t sign_guarded(void *baton, const char *defaults,
                                 const char **token)
{
    guard_signer *g = baton;

    if (g->logs) {
        consent_flow_log_t *l = apr_array_push(g->logs);

        l->level = CONSENT_LOG_DEBUG;
        l->id = 502;
        l->text = apr_pstrcat(g->pool, "form rendered boxes ", defaults,
                              NULL);
    }
    return consent_flow_issue_token(g->conf->form, g->conf->keys, g->lang,
                                    defaults, CONSENT_PAGE_GUARD, token,
                                    g->pool);
}

apr_status_t consent_flow_guard_page(const consent_flow_conf_t *conf,
                                     const char *accept_language,
                                     consent_write_fn *write, void *baton,
                                     apr_array_header_t *logs,
                                     consent_guard_t **guard, apr_pool_t *p)
{
    guard_signer *g = apr_pcalloc(p, sizeof *g);
    consent_guard_opts_t opts;

    g->conf = conf;
    g->pool = p;
    g->logs = logs;
    g->lang = flow_lang(conf->form, conf->default_lang, accept_language, p);
    memset(&opts, 0, sizeof opts);
    opts.form = conf->form;
    opts.fix = conf->guard_fix;
    opts.token = sign_guarded;
    opts.token_baton = g;
    opts.write = write;
    opts.write_baton = baton;
    return consent_guard_open(guard, &opts, p);
}

int consent_flow_is_receipt_header(const char *key)
{
    static const char want[] = "consent_receipt";
    apr_size_t i;

    for (i = 0; key[i]; ++i) {
        char c = apr_isalnum(key[i]) ? (char)apr_tolower(key[i]) : '_';

        if (i >= sizeof want - 1 || c != want[i]) {
            return 0;
        }
    }
    return i == sizeof want - 1;
}
