/*
 * consentctl report --format html: one page a DPO can mail or print (A4),
 * in the language of --lang (templates/i18n, keys report.*). It stands
 * alone: styles inline, charts inline SVG, no script, no font, no image
 * and no link to fetch. Every string that comes from the store goes
 * through consentctl_html().
 */
#include <stdio.h>

#include "consentctl_report.h"

#define CSS \
    "@page{size:A4;margin:14mm 12mm}" \
    "*{box-sizing:border-box}" \
    "body{font:10.5pt/1.45 system-ui,-apple-system,'Segoe UI',Roboto," \
    "'DejaVu Sans',sans-serif;color:#1b1b1b;background:#fff;" \
    "max-width:190mm;margin:1.5em auto;padding:0 1em}" \
    "h1{font-size:19pt;margin:0 0 .3em}" \
    "h2{font-size:13.5pt;margin:1.6em 0 .4em;padding-bottom:.15em;" \
    "border-bottom:2px solid #1b7f3b;break-after:avoid}" \
    "h3{font-size:11pt;margin:.9em 0 .2em;break-after:avoid}" \
    "p.help{color:#444;margin:.2em 0 .6em}" \
    "dl.meta{display:grid;grid-template-columns:max-content 1fr;" \
    "gap:.1em 1em;margin:0}dl.meta dt{font-weight:600}dl.meta dd{margin:0}" \
    "table{border-collapse:collapse;width:100%;font-size:9.5pt;" \
    "margin:.3em 0 .8em}" \
    "th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;" \
    "vertical-align:top}th{background:#f3f5f4}" \
    ".n{text-align:right;font-variant-numeric:tabular-nums;" \
    "white-space:nowrap}th.n{white-space:normal}" \
    "tr,figure{break-inside:avoid}" \
    "figure{margin:.2em 0 .8em}figure svg{width:100%;height:auto;" \
    "display:block}td svg{width:100%;height:12px;display:block}" \
    "td.bar{width:16%;min-width:3em}table.small{width:auto}" \
    ".legend{list-style:none;padding:0;margin:.2em 0;display:flex;" \
    "flex-wrap:wrap;gap:.2em 1.2em;font-size:9pt}" \
    ".key{display:inline-block;width:.8em;height:.8em;margin-right:.35em;" \
    "vertical-align:-.05em;border-radius:2px}" \
    ".digest{font-family:ui-monospace,'DejaVu Sans Mono',monospace;" \
    "font-size:8pt;word-break:break-all}" \
    ".none{color:#666;font-style:italic}" \
    "footer{margin-top:2em;color:#555;font-size:8.5pt}" \
    "@media print{body{margin:0;max-width:none;padding:0}" \
    "table{font-size:8.5pt}" \
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}" \
    "h2{break-before:auto}section{break-inside:auto}}"

typedef struct {
    const consentctl_report_out_t *o;
    FILE *out;
    apr_pool_t *p;
} page_t;

/* A translation, escaped: the texts are plain text. */
static const char *t(const page_t *pg, const char *key)
{
    return consentctl_html(pg->p, consent_i18n_text(pg->o->i18n,
                                                    pg->o->lang, key));
}

/* A state's or event's name in the page's language; the store's own word
 * when there is no translation for it. */
static const char *word(const page_t *pg, const char *prefix,
                        const char *name)
{
    const char *key = apr_pstrcat(pg->p, prefix, name, NULL);
    const char *s = consent_i18n_find(pg->o->i18n, pg->o->lang, key);

    s = s ? s : consent_i18n_find(pg->o->i18n, CONSENT_I18N_FALLBACK, key);
    return s ? s : name;
}

static const char *when(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d UTC",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min);
}

static const char *percent(const page_t *pg, apr_int64_t n, apr_int64_t of)
{
    char *s;

    if (of == 0) {
        return "&#8212;";
    }
    s = apr_psprintf(pg->p, "%.1f\xc2\xa0%%", 100.0 * (double)n / (double)of);
    if (strcmp(t(pg, "report.decimal_mark"), ",") == 0) {
        *strchr(s, '.') = ',';
    }
    return s;
}

static void legend(const page_t *pg, const apr_array_header_t *names,
                   const char *prefix)
{
    int i;

    fputs("<ul class=\"legend\">", pg->out);
    for (i = 0; i < names->nelts; ++i) {
        const char *s = APR_ARRAY_IDX(names, i, const char *);

        fprintf(pg->out, "<li><span class=\"key\" style=\"background:%s\">"
                "</span>%s</li>", consentctl_state_colour(s),
                consentctl_html(pg->p, word(pg, prefix, s)));
    }
    fputs("</ul>", pg->out);
}

/* ---- head and summary ----------------------------------------------- */

static void head(const page_t *pg)
{
    fprintf(pg->out, "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
            "<meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,"
            "initial-scale=1\">"
            "<title>%s</title><style>",
            consentctl_html(pg->p, pg->o->lang), t(pg, "report.title"));
    fputs(CSS "</style></head><body>", pg->out);
}

static void summary(const page_t *pg)
{
    const consent_report_t *r = pg->o->report;

    fprintf(pg->out, "<header><h1>%s</h1><dl class=\"meta\">"
            "<dt>%s</dt><dd>%s</dd>"
            "<dt>%s</dt><dd>%s &#8594; %s</dd>"
            "<dt>%s</dt><dd>%s</dd>"
            "<dt>%s</dt><dd>%" APR_INT64_T_FMT "</dd>"
            "<dt>%s</dt><dd>%s</dd></dl></header>",
            t(pg, "report.title"), t(pg, "report.site"),
            pg->o->site ? consentctl_html(pg->p, pg->o->site)
                        : t(pg, "report.all_sites"),
            t(pg, "report.period"),
            r->since ? when(pg->p, r->since) : t(pg, "report.beginning"),
            r->until ? when(pg->p, r->until) : t(pg, "report.now"),
            t(pg, "report.series"),
            t(pg, pg->o->by == CONSENT_REPORT_WEEK ? "report.by.week"
                                                   : "report.by.day"),
            t(pg, "report.proofs"), r->proofs,
            t(pg, "report.generated"), when(pg->p, pg->o->generated));
}

/* ---- decisions ------------------------------------------------------ */

/* A table of purposes by state opens with a column per state; with no
 * purpose at all, a line saying so closes the section instead (0). */
static int table_head(const page_t *pg, const apr_array_header_t *purposes,
                      const apr_array_header_t *states)
{
    int j;

    if (purposes->nelts == 0) {
        fprintf(pg->out, "<p class=\"none\">%s</p></section>",
                t(pg, "report.none"));
        return 0;
    }
    fprintf(pg->out, "<table><thead><tr><th>%s</th>",
            t(pg, "report.purpose"));
    for (j = 0; j < states->nelts; ++j) {
        fprintf(pg->out, "<th class=\"n\">%s</th>", consentctl_html(pg->p,
                word(pg, "report.state.", APR_ARRAY_IDX(states, j,
                                                        const char *))));
    }
    return 1;
}

static void totals(const page_t *pg)
{
    apr_hash_t *h = pg->o->report->totals;
    apr_array_header_t *purposes = consent_report_keys(h, pg->p);
    apr_array_header_t *states = consent_report_all_states(h, pg->p);
    int i, j;

    fprintf(pg->out, "<section id=\"decisions\"><h2>%s</h2>"
            "<p class=\"help\">%s</p>", t(pg, "report.decisions"),
            t(pg, "report.decisions_help"));
    if (!table_head(pg, purposes, states)) {
        return;
    }
    fprintf(pg->out, "<th class=\"n\">%s</th></tr></thead><tbody>",
            t(pg, "report.total"));
    for (i = 0; i < purposes->nelts; ++i) {
        const char *k = APR_ARRAY_IDX(purposes, i, const char *);
        consent_counts_t *c = apr_hash_get(h, k, APR_HASH_KEY_STRING);

        fprintf(pg->out, "<tr><th scope=\"row\">%s</th>",
                consentctl_html(pg->p, k));
        for (j = 0; j < states->nelts; ++j) {
            fprintf(pg->out, "<td class=\"n\">%" APR_INT64_T_FMT "</td>",
                    consent_count_get(c, APR_ARRAY_IDX(states, j,
                                                       const char *)));
        }
        fprintf(pg->out, "<td class=\"n\">%" APR_INT64_T_FMT "</td></tr>",
                consent_count_sum(c));
    }
    fputs("</tbody></table></section>", pg->out);
}

static const char **period_labels(const page_t *pg)
{
    const apr_array_header_t *pd = pg->o->periods;
    const char **labels = apr_pcalloc(pg->p, (pd->nelts + 1)
                                             * sizeof *labels);
    int i;

    for (i = 0; i < pd->nelts; ++i) {
        labels[i] = consent_report_day_str(pg->p, APR_ARRAY_IDX(pd, i,
                                           consent_report_period_t *)->day);
    }
    return labels;
}

/* A chart of the periods; value(period, name) gives each bar's parts. */
static void period_chart(const page_t *pg, const char *title,
                         const apr_array_header_t *names, const char *prefix,
                         apr_int64_t (*value)(const consent_report_period_t *,
                                              const char *, const char *),
                         const char *arg)
{
    const apr_array_header_t *pd = pg->o->periods;
    consentctl_chart_t c;
    apr_int64_t *v = apr_pcalloc(pg->p, (pd->nelts * names->nelts + 1)
                                        * sizeof *v);
    const char **series = apr_pcalloc(pg->p, (names->nelts + 1)
                                             * sizeof *series);
    const char **colours = apr_pcalloc(pg->p, (names->nelts + 1)
                                              * sizeof *colours);
    int i, j;

    for (j = 0; j < names->nelts; ++j) {
        const char *s = APR_ARRAY_IDX(names, j, const char *);

        series[j] = word(pg, prefix, s);
        colours[j] = consentctl_state_colour(s);
        for (i = 0; i < pd->nelts; ++i) {
            v[i * names->nelts + j] = value(APR_ARRAY_IDX(pd, i,
                consent_report_period_t *), arg, s);
        }
    }
    c.title = title;
    c.n = pd->nelts;
    c.k = names->nelts;
    c.v = v;
    c.series = series;
    c.colours = colours;
    c.labels = period_labels(pg);
    fputs("<figure>", pg->out);
    consentctl_svg_bars(pg->out, pg->p, &c);
    legend(pg, names, prefix);
    fputs("</figure>", pg->out);
}

static apr_int64_t decisions_of(const consent_report_period_t *d,
                                const char *purpose, const char *state)
{
    consent_counts_t *c = apr_hash_get(d->decisions, purpose,
                                       APR_HASH_KEY_STRING);

    return c ? consent_count_get(c, state) : 0;
}

static void over_time(const page_t *pg)
{
    apr_hash_t *h = pg->o->report->totals;
    apr_array_header_t *purposes = consent_report_keys(h, pg->p);
    int i;

    fprintf(pg->out, "<section id=\"over-time\"><h2>%s</h2>",
            t(pg, "report.over_time"));
    for (i = 0; i < purposes->nelts; ++i) {
        const char *k = APR_ARRAY_IDX(purposes, i, const char *);

        fprintf(pg->out, "<h3>%s</h3>", consentctl_html(pg->p, k));
        period_chart(pg, k, consent_report_states(apr_hash_get(h, k,
                     APR_HASH_KEY_STRING), pg->p), "report.state.",
                     decisions_of, k);
    }
    if (purposes->nelts == 0) {
        fprintf(pg->out, "<p class=\"none\">%s</p>", t(pg, "report.none"));
    }
    fputs("</section>", pg->out);
}

/* ---- rates ---------------------------------------------------------- */

static void rate_row(const page_t *pg, const consent_report_form_t *f,
                     const char *purpose)
{
    consent_counts_t *asked = apr_hash_get(f->asked, purpose,
                                           APR_HASH_KEY_STRING);
    apr_int64_t n = consent_count_sum(asked);
    apr_int64_t given = consent_count_get(f->given, purpose);
    apr_int64_t parts[2];
    const char *series[2], *colours[2] = { "#1b7f3b", "#d5dbdf" };
    consentctl_chart_t c = { purpose, 1, 2, parts, series, colours, NULL };

    parts[0] = given < n ? given : n;
    parts[1] = n - parts[0];
    series[0] = word(pg, "report.state.", CONSENT_STATE_GIVEN);
    series[1] = consent_i18n_text(pg->o->i18n, pg->o->lang,
                                  "report.other");
    fprintf(pg->out, "<tr><td>%s</td><td class=\"n\">%u</td><td>%s</td>"
            "<td class=\"n\">%" APR_INT64_T_FMT "</td><td>%s</td>"
            "<td class=\"n\">%" APR_INT64_T_FMT "</td><td class=\"n\">%"
            APR_INT64_T_FMT "</td><td class=\"n\">%s</td><td class=\"bar\">",
            consentctl_html(pg->p, f->form_id), f->version,
            consentctl_html(pg->p, f->regime), f->submissions,
            consentctl_html(pg->p, purpose), n, given,
            percent(pg, given, n));
    consentctl_svg_shares(pg->out, pg->p, &c);
    fputs("</td></tr>", pg->out);
}

static void rates(const page_t *pg)
{
    apr_array_header_t *forms = consent_report_forms(pg->o->report, pg->p);
    int i, j;

    fprintf(pg->out, "<section id=\"rates\"><h2>%s</h2><p class=\"help\">"
            "%s</p>", t(pg, "report.rates"), t(pg, "report.rates_help"));
    if (forms->nelts == 0) {
        fprintf(pg->out, "<p class=\"none\">%s</p></section>",
                t(pg, "report.none"));
        return;
    }
    fprintf(pg->out, "<table><thead><tr><th>%s</th><th class=\"n\">%s</th>"
            "<th>%s</th><th class=\"n\">%s</th><th>%s</th>"
            "<th class=\"n\">%s</th><th class=\"n\">%s</th>"
            "<th class=\"n\">%s</th><th></th>"
            "</tr></thead><tbody>", t(pg, "report.form"),
            t(pg, "report.version"), t(pg, "report.regime"),
            t(pg, "report.submissions"), t(pg, "report.purpose"),
            t(pg, "report.asked"), t(pg, "report.consented"),
            t(pg, "report.rate"));
    for (i = 0; i < forms->nelts; ++i) {
        const consent_report_form_t *f =
            APR_ARRAY_IDX(forms, i, const consent_report_form_t *);
        apr_array_header_t *purposes = consent_report_keys(f->asked, pg->p);

        for (j = 0; j < purposes->nelts; ++j) {
            rate_row(pg, f, APR_ARRAY_IDX(purposes, j, const char *));
        }
    }
    fputs("</tbody></table></section>", pg->out);
}

/* ---- withdrawals and unsubscribes ----------------------------------- */

static apr_int64_t events_of(const consent_report_period_t *d,
                             const char *unused, const char *event)
{
    return consent_count_get(d->events, event);
}

static void departures(const page_t *pg)
{
    apr_array_header_t *events = apr_array_make(pg->p, 2,
                                                sizeof(const char *));
    const apr_array_header_t *pd = pg->o->periods;
    apr_int64_t n[2] = { 0, 0 };
    int i;

    APR_ARRAY_PUSH(events, const char *) = CONSENT_EVENT_WITHDRAWAL;
    APR_ARRAY_PUSH(events, const char *) = CONSENT_EVENT_UNSUBSCRIBE;
    for (i = 0; i < pd->nelts; ++i) {
        const consent_report_period_t *d =
            APR_ARRAY_IDX(pd, i, const consent_report_period_t *);

        n[0] += consent_count_get(d->events, CONSENT_EVENT_WITHDRAWAL);
        n[1] += consent_count_get(d->events, CONSENT_EVENT_UNSUBSCRIBE);
    }
    fprintf(pg->out, "<section id=\"departures\"><h2>%s</h2>"
            "<p class=\"help\">%s</p><table class=\"small\"><tbody>"
            "<tr><th scope=\"row\">%s</th><td class=\"n\">%" APR_INT64_T_FMT
            "</td></tr><tr><th scope=\"row\">%s</th><td class=\"n\">%"
            APR_INT64_T_FMT "</td></tr></tbody></table>",
            t(pg, "report.departures"), t(pg, "report.departures_help"),
            t(pg, "report.event.withdrawal"), n[0],
            t(pg, "report.event.unsubscribe"), n[1]);
    if (n[0] + n[1] > 0) {
        period_chart(pg, consent_i18n_text(pg->o->i18n, pg->o->lang,
                                           "report.departures"),
                     events, "report.event.", events_of, NULL);
    }
    fputs("</section>", pg->out);
}

/* ---- population ----------------------------------------------------- */

static void population_row(const page_t *pg, const char *purpose,
                           const apr_array_header_t *states)
{
    const consent_report_t *r = pg->o->report;
    consent_counts_t *c = apr_hash_get(r->population, purpose,
                                       APR_HASH_KEY_STRING);
    apr_int64_t *v = apr_pcalloc(pg->p, (states->nelts + 1) * sizeof *v);
    const char **series = apr_pcalloc(pg->p, (states->nelts + 1)
                                             * sizeof *series);
    const char **colours = apr_pcalloc(pg->p, (states->nelts + 1)
                                              * sizeof *colours);
    consentctl_chart_t chart = { purpose, 1, states->nelts, v, series,
                                 colours, NULL };
    int j;

    fprintf(pg->out, "<tr><th scope=\"row\">%s</th>",
            consentctl_html(pg->p, purpose));
    for (j = 0; j < states->nelts; ++j) {
        const char *s = APR_ARRAY_IDX(states, j, const char *);

        v[j] = consent_count_get(c, s);
        series[j] = word(pg, "report.state.", s);
        colours[j] = consentctl_state_colour(s);
        fprintf(pg->out, "<td class=\"n\">%" APR_INT64_T_FMT "</td>", v[j]);
    }
    fprintf(pg->out, "<td class=\"n\">%" APR_INT64_T_FMT "</td>"
            "<td class=\"bar\">", consent_count_get(r->stale, purpose));
    consentctl_svg_shares(pg->out, pg->p, &chart);
    fputs("</td></tr>", pg->out);
}

static void population(const page_t *pg)
{
    const consent_report_t *r = pg->o->report;
    apr_array_header_t *purposes = consent_report_keys(r->population, pg->p);
    apr_array_header_t *states = consent_report_all_states(r->population,
                                                           pg->p);
    int i;

    fprintf(pg->out, "<section id=\"population\"><h2>%s</h2>"
            "<p class=\"help\">%s %s. %s %" APR_INT64_T_FMT ".</p>"
            "<p class=\"help\">%s</p>",
            t(pg, "report.population"), t(pg, "report.as_of"),
            r->until ? when(pg->p, r->until) : when(pg->p, pg->o->generated),
            t(pg, "report.people"), r->people, t(pg, "report.stale_help"));
    if (!table_head(pg, purposes, states)) {
        return;
    }
    fprintf(pg->out, "<th class=\"n\">%s</th><th></th>"
            "</tr></thead><tbody>", t(pg, "report.stale"));
    for (i = 0; i < purposes->nelts; ++i) {
        population_row(pg, APR_ARRAY_IDX(purposes, i, const char *), states);
    }
    fputs("</tbody></table>", pg->out);
    legend(pg, states, "report.state.");
    fputs("</section>", pg->out);
}

/* ---- notices -------------------------------------------------------- */

static void notices(const page_t *pg)
{
    const consent_report_t *r = pg->o->report;
    apr_array_header_t *all = consent_report_notices(r, pg->p);
    int i, shown = 0;

    fprintf(pg->out, "<section id=\"notices\"><h2>%s</h2><p class=\"help\">"
            "%s</p><table><thead><tr><th>%s</th><th class=\"n\">%s</th>"
            "<th>%s</th><th>%s</th><th>%s</th><th class=\"n\">%s</th>"
            "</tr></thead><tbody>", t(pg, "report.notices"),
            t(pg, "report.notices_help"), t(pg, "report.form"),
            t(pg, "report.version"), t(pg, "report.language"),
            t(pg, "report.digest"), t(pg, "report.first_shown"),
            t(pg, "report.proofs"));
    for (i = 0; i < all->nelts; ++i) {
        const consent_report_notice_t *n =
            APR_ARRAY_IDX(all, i, const consent_report_notice_t *);

        if (!consent_report_in_force(r, n)) {
            continue;
        }
        ++shown;
        fprintf(pg->out, "<tr><td>%s</td><td class=\"n\">%u</td><td>%s</td>"
                "<td class=\"digest\">%s</td><td>%s</td><td class=\"n\">%"
                APR_INT64_T_FMT "</td></tr>",
                consentctl_html(pg->p, n->form_id), n->version,
                consentctl_html(pg->p, n->lang),
                consentctl_html(pg->p, n->sha256), when(pg->p, n->first),
                n->proofs);
    }
    fputs("</tbody></table>", pg->out);
    fprintf(pg->out, "<p class=\"help\">%s %d</p></section>",
            t(pg, "report.superseded"), all->nelts - shown);
}

int consentctl_report_html(const consentctl_report_out_t *o)
{
    page_t pg;

    pg.o = o;
    pg.out = o->out;
    apr_pool_create(&pg.p, o->pool);
    head(&pg);
    summary(&pg);
    totals(&pg);
    over_time(&pg);
    rates(&pg);
    departures(&pg);
    population(&pg);
    notices(&pg);
    fprintf(o->out, "<footer><p>%s</p></footer></body></html>\n",
            t(&pg, "report.footer"));
    apr_pool_destroy(pg.p);
    return ferror(o->out);
}
