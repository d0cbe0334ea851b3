/*
 * consentctl access --format html: the same answer as the JSON, as one
 * page a person can read without help: their choices today first, then
 * what happened and when, then what they were told. Self-contained (the
 * style is inline, nothing is fetched), in the catalogue's language,
 * and every value from the store is escaped: a subject or a user agent
 * is whatever a client sent.
 */
#include <stdio.h>

#include <apr_strings.h>

#include "consentctl_access.h"
#include "consent_template.h"

#define STYLE \
    "body{font-family:system-ui,sans-serif;max-width:46em;margin:2em " \
    "auto;padding:0 1em;line-height:1.5;color:#1a1a1a}" \
    "h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}" \
    "table{border-collapse:collapse;width:100%}" \
    "th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid " \
    "#ddd;vertical-align:top}" \
    ".meta{color:#555;font-size:.9em;overflow-wrap:anywhere}" \
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f5f5f5;" \
    "padding:.6em}article{margin:1em 0}dt{font-weight:600}"

static const char *esc(apr_pool_t *p, const char *s)
{
    return consent_html_escape(p, s ? s : "");
}

/* A translation, escaped (messages are plain text). */
static const char *t(const consentctl_access_t *a, apr_pool_t *p,
                     const char *key)
{
    return esc(p, consent_i18n_text(a->i18n, a->lang, key));
}

static const char *when(apr_pool_t *p, apr_time_t time)
{
    apr_time_exp_t tm;
    char buf[64];
    apr_size_t n = 0;

    apr_time_exp_gmt(&tm, time);
    apr_strftime(buf, &n, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return apr_pstrmemdup(p, buf, n);
}

static const char *state_text(const consentctl_access_t *a, apr_pool_t *p,
                              const char *state)
{
    const char *s = consent_i18n_find(a->i18n, a->lang,
                                      apr_pstrcat(p, "state.", state, NULL));

    if (!s) {
        s = consent_i18n_find(a->i18n, CONSENT_I18N_FALLBACK,
                              apr_pstrcat(p, "state.", state, NULL));
    }
    return esc(p, s ? s : state);
}

static int current_state(consentctl_access_t *a, apr_pool_t *p)
{
    const consent_status_t *st = a->status;
    int i, ok;

    ok = printf("<h2>%s</h2>\n<p>%s</p>\n<table>\n<tr><th>%s</th><th>%s"
                "</th><th>%s</th><th>%s</th></tr>\n",
                t(a, p, "access.current"), t(a, p, "access.current_help"),
                t(a, p, "confirm.purpose"), t(a, p, "confirm.choice"),
                t(a, p, "access.since"), t(a, p, "confirm.receipt")) >= 0;
    for (i = 0; ok && i < st->order->nelts; ++i) {
        const consent_purpose_state_t *l =
            APR_ARRAY_IDX(st->order, i, consent_purpose_state_t *);

        ok = printf("<tr><td>%s</td><td><strong>%s</strong></td><td>%s"
                    "</td><td class=\"meta\">%s</td></tr>\n",
                    esc(p, consentctl_purpose_label(a, NULL, l->purpose)),
                    state_text(a, p, l->state), esc(p, when(p, l->time)),
                    esc(p, l->receipt_id)) >= 0;
    }
    return ok && printf("</table>\n") >= 0;
}

static int html_begin(consentctl_access_t *a)
{
    apr_pool_t *p;
    int ok;

    apr_pool_create(&p, a->pool);
    ok = printf("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
                "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
                "content=\"width=device-width, initial-scale=1\">\n"
                "<title>%s</title>\n<style>%s</style>\n</head>\n"
                "<body>\n<h1>%s</h1>\n<p>%s <strong>%s</strong>%s%s.</p>\n"
                "<p class=\"meta\">%s %s</p>\n",
                esc(p, a->lang), t(a, p, "access.title"), STYLE,
                t(a, p, "access.title"), t(a, p, "access.intro"),
                esc(p, a->subject), a->site ? " &middot; " : "",
                a->site ? esc(p, a->site) : "", t(a, p, "access.generated"),
                esc(p, when(p, apr_time_now()))) >= 0;
    if (ok && a->proofs == 0) {
        ok = printf("<p>%s</p>\n", t(a, p, "access.none")) >= 0;
    }
    else if (ok) {
        ok = current_state(a, p)
             && printf("<h2>%s</h2>\n", t(a, p, "access.history")) >= 0;
    }
    apr_pool_destroy(p);
    return ok;
}

static int html_proof(consentctl_access_t *a, const consent_proof_t *pf,
                      apr_pool_t *p)
{
    const consentctl_notice_t *n = pf->notice_sha256
        ? apr_hash_get(a->seen, pf->notice_sha256, APR_HASH_KEY_STRING)
        : NULL;
    int i, ok;

    ok = printf("<article>\n<h3>%s &mdash; %s</h3>\n<ul>\n",
                esc(p, when(p, pf->time)), t(a, p, apr_pstrcat(p,
                "access.event.", pf->event, NULL))) >= 0;
    for (i = 0; ok && pf->choices && i < pf->choices->nelts; ++i) {
        const consent_choice_t *c = &APR_ARRAY_IDX(pf->choices, i,
                                                   consent_choice_t);

        ok = printf("<li>%s: <strong>%s</strong></li>\n",
                    esc(p, consentctl_purpose_label(a, n, c->purpose)),
                    state_text(a, p, c->state)) >= 0;
    }
    return ok && printf("</ul>\n<p class=\"meta\">%s: %s &middot; %s: %s "
                        "(%u) &middot; %s: %s &middot; %s: %s &middot; %s: "
                        "%s</p>\n</article>\n",
                        t(a, p, "confirm.receipt"), esc(p, pf->receipt_id),
                        t(a, p, "access.form"), esc(p, pf->form_id),
                        pf->form_version, t(a, p, "access.language"),
                        esc(p, pf->lang), t(a, p, "access.ip"),
                        esc(p, pf->ip), t(a, p, "access.user_agent"),
                        esc(p, pf->user_agent)) >= 0;
}

/* The policy as a link only when it is a web address. */
static const char *policy_html(apr_pool_t *p, const char *url)
{
    if (url && (strncmp(url, "https://", 8) == 0
                || strncmp(url, "http://", 7) == 0)) {
        return apr_psprintf(p, "<a href=\"%s\">%s</a>", esc(p, url),
                            esc(p, url));
    }
    return esc(p, url);
}

static int notice_facts(consentctl_access_t *a,
                        const consent_notice_facts_t *f, apr_pool_t *p)
{
    int i, ok;

    ok = printf("<dl>\n<dt>%s</dt><dd>%s</dd>\n<dt>%s</dt><dd>%s</dd>\n"
                "<dt>%s</dt><dd>%s</dd>\n",
                t(a, p, "form.controller"), esc(p, f->controller),
                t(a, p, "form.contact"), esc(p, f->contact),
                t(a, p, "form.policy"), policy_html(p, f->policy)) >= 0;
    if (ok && f->extra) {
        ok = printf("<dt>%s</dt><dd>%s</dd>\n", t(a, p, "access.notice"),
                    esc(p, f->extra)) >= 0;
    }
    for (i = 0; ok && i < f->purposes->nelts; ++i) {
        const consent_notice_purpose_t *pp =
            &APR_ARRAY_IDX(f->purposes, i, consent_notice_purpose_t);

        ok = printf("<dt>%s</dt><dd>%s</dd>\n", esc(p, pp->label),
                    esc(p, pp->description)) >= 0;
    }
    return ok && printf("</dl>\n") >= 0;
}

static int notice(consentctl_access_t *a, const consentctl_notice_t *n,
                  apr_pool_t *p)
{
    int ok = printf("<article>\n<h3>%s %s (%u) &middot; %s: %s &middot; "
                    "%s</h3>\n", t(a, p, "access.form"), esc(p, n->form_id),
                    n->form_version, t(a, p, "access.language"),
                    esc(p, n->lang), esc(p, when(p, n->first_shown))) >= 0;

    if (ok && !n->text) {
        return printf("<p>%s</p>\n</article>\n",
                      t(a, p, "access.notice_missing")) >= 0;
    }
    if (ok && n->facts) {
        ok = notice_facts(a, n->facts, p);
    }
    return ok && printf("<details><summary>%s</summary>\n<pre>%s</pre>\n"
                        "</details>\n</article>\n",
                        t(a, p, "access.notice_exact"),
                        esc(p, n->text)) >= 0;
}

static int html_end(consentctl_access_t *a)
{
    apr_pool_t *p;
    int i, ok = 1;

    apr_pool_create(&p, a->pool);
    if (a->notices->nelts > 0) {
        ok = printf("<h2>%s</h2>\n", t(a, p, "access.notices")) >= 0;
    }
    for (i = 0; ok && i < a->notices->nelts; ++i) {
        apr_pool_clear(p);
        ok = notice(a, APR_ARRAY_IDX(a->notices, i, consentctl_notice_t *),
                    p);
    }
    ok = ok && printf("<h2>%s</h2>\n<p>%s</p>\n</body>\n</html>\n",
                      t(a, p, "access.rights.title"),
                      t(a, p, "access.rights")) >= 0;
    apr_pool_destroy(p);
    return ok;
}

const consentctl_access_out_t consentctl_access_html = {
    html_begin, html_proof, html_end
};
