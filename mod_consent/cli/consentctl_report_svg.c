/*
 * The HTML report's charts, inline SVG: a page a DPO mails or prints must
 * carry its pictures with it, and hold no script. Every text is escaped;
 * every figure also stands in a table beside the chart, for readers who
 * do not see it.
 */
#include <stdio.h>

#include "consentctl_report.h"
#include "consent_template.h"
#include "consent_utf8.h"

/* plot area of a bar chart, in viewBox units */
#define W 720
#define H 170
#define LEFT 52
#define TOP 12
#define PLOT_W (W - LEFT - 8)
#define PLOT_H 120
#define BAR_MAX 48      /* a few periods: bars, not walls */

const char *consentctl_state_colour(const char *state)
{
    static const char *const colours[][2] = {
        { CONSENT_STATE_GIVEN, "#1b7f3b" },
        { CONSENT_STATE_PENDING, "#d4a017" },
        { CONSENT_STATE_REFUSED, "#8c96a0" },
        { CONSENT_STATE_WITHDRAWN, "#c0392b" },
        { CONSENT_STATE_NOT_OBJECTED, "#2a7fb8" },
        { CONSENT_STATE_OBJECTED, "#7d3c98" },
        { CONSENT_EVENT_WITHDRAWAL, "#c0392b" },
        { CONSENT_EVENT_UNSUBSCRIBE, "#e67e22" },
    };
    size_t i;

    for (i = 0; state && i < sizeof colours / sizeof colours[0]; ++i) {
        if (strcmp(state, colours[i][0]) == 0) {
            return colours[i][1];
        }
    }
    return "#5d6d7e";
}

const char *consentctl_html(apr_pool_t *p, const char *s)
{
    char *copy;
    apr_size_t i;

    if (s == NULL) {
        return "";
    }
    if (!consent_utf8_valid(s, strlen(s))) {
        copy = apr_pstrdup(p, s);
        for (i = 0; copy[i]; ++i) {
            if ((unsigned char)copy[i] >= 0x80) {
                copy[i] = '?';
            }
        }
        s = copy;
    }
    return consent_html_escape(p, s);
}

static apr_int64_t tallest(const consentctl_chart_t *c)
{
    apr_int64_t max = 1;
    int i, j;

    for (i = 0; i < c->n; ++i) {
        apr_int64_t sum = 0;

        for (j = 0; j < c->k; ++j) {
            sum += c->v[i * c->k + j];
        }
        max = sum > max ? sum : max;
    }
    return max;
}

static void axis(FILE *out, apr_int64_t max)
{
    fprintf(out, "<g class=\"axis\" font-size=\"11\" fill=\"#444\">"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%" APR_INT64_T_FMT
            "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>"
            "</g>", LEFT, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H, LEFT,
            TOP, LEFT + PLOT_W, TOP, LEFT - 6, TOP + 4, max, LEFT - 6,
            TOP + PLOT_H + 4);
}

/* The first, middle and last bars' labels under the plot. */
static double bar_width(const consentctl_chart_t *c)
{
    double bw = (double)PLOT_W / c->n;

    return bw > BAR_MAX ? BAR_MAX : bw;
}

static void x_labels(FILE *out, apr_pool_t *p, const consentctl_chart_t *c)
{
    int at[3] = { 0, c->n / 2, c->n - 1 }, i;
    double bw = bar_width(c);

    for (i = 0; i < 3; ++i) {
        if (i > 0 && at[i] <= at[i - 1]) {
            continue;
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
                "fill=\"#444\" text-anchor=\"%s\">%s</text>",
                LEFT + bw * at[i] + (i == 0 ? 0 : i == 2 ? bw : bw / 2),
                TOP + PLOT_H + 18, i == 0 ? "start" : i == 2 ? "end"
                                                     : "middle",
                consentctl_html(p, c->labels[at[i]]));
    }
}

static void bar(FILE *out, apr_pool_t *p, const consentctl_chart_t *c,
                int i, apr_int64_t max)
{
    double bw = bar_width(c), y = TOP + PLOT_H;
    double gap = bw > 4 ? bw * 0.15 : 0;
    int j;

    for (j = 0; j < c->k; ++j) {
        apr_int64_t v = c->v[i * c->k + j];
        double h = (double)PLOT_H * (double)v / (double)max;

        if (v == 0) {
            continue;
        }
        y -= h;
        fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                "height=\"%.2f\" fill=\"%s\"><title>%s, %s: %"
                APR_INT64_T_FMT "</title></rect>", LEFT + bw * i + gap / 2,
                y, bw - gap, h, c->colours[j],
                consentctl_html(p, c->labels[i]),
                consentctl_html(p, c->series[j]), v);
    }
}

/* stretch: a share bar fills its cell whatever the cell's shape */
static void svg_open(FILE *out, apr_pool_t *p, const char *title, int h,
                     int stretch)
{
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
            "%d %d\"%s role=\"img\" aria-label=\"%s\"><title>%s</title>",
            W, h, stretch ? " preserveAspectRatio=\"none\"" : "",
            consentctl_html(p, title), consentctl_html(p, title));
}

void consentctl_svg_bars(FILE *out, apr_pool_t *p,
                         const consentctl_chart_t *c)
{
    apr_int64_t max = tallest(c);
    int i;

    svg_open(out, p, c->title, H, 0);
    axis(out, max);
    for (i = 0; i < c->n; ++i) {
        bar(out, p, c, i, max);
    }
    if (c->n > 0) {
        x_labels(out, p, c);
    }
    fputs("</svg>", out);
}

void consentctl_svg_shares(FILE *out, apr_pool_t *p,
                           const consentctl_chart_t *c)
{
    apr_int64_t sum = 0;
    double x = 0;
    int j;

    for (j = 0; j < c->k; ++j) {
        sum += c->v[j];
    }
    svg_open(out, p, c->title, 28, 1);
    fprintf(out, "<rect x=\"0\" y=\"2\" width=\"%d\" height=\"24\" "
            "fill=\"#eee\"/>", W);
    for (j = 0; j < c->k && sum > 0; ++j) {
        double w = (double)W * (double)c->v[j] / (double)sum;

        if (c->v[j] == 0) {
            continue;
        }
        fprintf(out, "<rect x=\"%.2f\" y=\"2\" width=\"%.2f\" "
                "height=\"24\" fill=\"%s\"><title>%s: %" APR_INT64_T_FMT
                "</title></rect>", x, w, c->colours[j],
                consentctl_html(p, c->series[j]), c->v[j]);
        x += w;
    }
    fputs("</svg>", out);
}
