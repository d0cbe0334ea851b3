/* consentctl report: the figures of consent_report.h as JSON, CSV or one
 * self-contained HTML page. */
#ifndef CONSENTCTL_REPORT_H
#define CONSENTCTL_REPORT_H

#include <stdio.h>

#include "consent_i18n.h"
#include "consent_report.h"

typedef struct {
    FILE *out;
    apr_pool_t *pool;
    const consent_report_t *report;
    consent_report_by_t by;
    apr_array_header_t *periods;    /* consent_report_period_t* */
    const char *site;               /* --site, or NULL: every site */
    const char *lang;               /* --lang (HTML) */
    const consent_i18n_t *i18n;     /* HTML only */
    apr_time_t generated;
} consentctl_report_out_t;

/* Each returns non-zero when the output could not be written. */
int consentctl_report_json(const consentctl_report_out_t *o);
int consentctl_report_csv(const consentctl_report_out_t *o);
int consentctl_report_html(const consentctl_report_out_t *o);

/* consentctl_report_svg.c: inline SVG charts, no script, no reference
 * to anything outside the page. */
typedef struct {
    const char *title;              /* plain text, escaped here */
    int n;                          /* bars (periods) */
    int k;                          /* stacked series */
    const apr_int64_t *v;           /* n * k values, bar by bar */
    const char *const *series;      /* k names, plain text */
    const char *const *colours;     /* k fills (#rrggbb) */
    const char *const *labels;      /* n bar labels, plain text */
} consentctl_chart_t;

void consentctl_svg_bars(FILE *out, apr_pool_t *p,
                         const consentctl_chart_t *c);
/* One bar split in shares of its k values (n = 1). */
void consentctl_svg_shares(FILE *out, apr_pool_t *p,
                           const consentctl_chart_t *c);
/* A state's fill: fixed for the known states, grey for others. */
const char *consentctl_state_colour(const char *state);
/* Text for an HTML element or attribute: escaped, and bytes that are not
 * UTF-8 replaced, whatever the store holds. */
const char *consentctl_html(apr_pool_t *p, const char *s);

#endif
