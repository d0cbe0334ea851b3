/*
 * consentctl report: what a DPO shows an auditor, from the proof store.
 * Two reads of the store, each by pages: in time order for the decisions
 * (stopping at --until), then person by person for who stands where now.
 * Only the report's tables are kept (consent_report.h), so memory does
 * not grow with the number of proofs or people.
 */
#include <stdio.h>
#include <stdlib.h>

#include <apr_getopt.h>
#include <apr_file_io.h>

#include "consentctl_store.h"
#include "consentctl_report.h"

#define EXIT_PROBLEM CONSENTCTL_PROBLEM
#define EXIT_USAGE CONSENTCTL_USAGE
#define EXIT_NO_STORE CONSENTCTL_NO_STORE

#define USAGE "usage: consentctl -d DRIVER -p PARAMS report [--since TIME] " \
    "[--until TIME]\n       [--format json|html|csv] [--by day|week] "   \
    "[--lang LANG] [-o FILE] [--site S]\n"

typedef struct {
    apr_time_t since, until;
    const char *format;
    const char *by;             /* NULL: by the length of the range */
    const char *lang;
    const char *output;         /* NULL: stdout */
} report_args_t;

static int bad(const char *what, const char *arg, const char *expected)
{
    fprintf(stderr, "consentctl report: %s %s: %s\n", what, arg, expected);
    return EXIT_USAGE;
}

static int set_arg(report_args_t *a, int opt, const char *arg)
{
    switch (opt) {
    case 's':
    case 'u':
        if (!consentctl_parse_time(arg, opt == 's' ? &a->since
                                                   : &a->until)) {
            return bad(opt == 's' ? "--since" : "--until", arg,
                       "expected RFC 3339 (2026-11-28T07:29:35Z) or epoch "
                       "seconds");
        }
        return 0;
    case 'f':
        a->format = arg;
        return strcmp(arg, "json") && strcmp(arg, "html")
               && strcmp(arg, "csv")
               ? bad("--format", arg, "expected json, html or csv") : 0;
    case 'b':
        a->by = arg;
        return strcmp(arg, "day") && strcmp(arg, "week")
               ? bad("--by", arg, "expected day or week") : 0;
    case 'l':
        a->lang = arg;
        return 0;
    default:
        a->output = arg;
        return 0;
    }
}

static int parse_args(report_args_t *a, const consentctl_opts *o, int argc,
                      const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "since", 's', 1, "decisions from this time on" },
        { "until", 'u', 1, "decisions before this time" },
        { "format", 'f', 1, "json (default), html or csv" },
        { "by", 'b', 1, "series per day or per week" },
        { "lang", 'l', 1, "language of the HTML report" },
        { "output", 'o', 1, "write to this file instead of stdout" },
        { NULL, 0, 0, NULL }
    };
    const char *arg;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt, status;

    memset(a, 0, sizeof *a);
    a->format = "json";
    a->lang = CONSENT_I18N_FALLBACK;
    apr_getopt_init(&os, o->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        if ((status = set_arg(a, opt, arg)) != 0) {
            return status;
        }
    }
    if (rv != APR_EOF || os->ind < argc) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (a->until && a->until <= a->since) {
        fprintf(stderr, "consentctl report: --until must come after "
                "--since\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* The translations of the installed templates (or $CONSENT_TEMPLATE_DIR,
 * a build tree), and --lang among them. */
static int load_i18n(consentctl_report_out_t *out, const char *lang)
{
    const char *dir = getenv("CONSENT_TEMPLATE_DIR");
    apr_array_header_t *problems = apr_array_make(out->pool, 4,
                                                  sizeof(consent_problem_t));
    consent_i18n_t *i18n = NULL;
    int i;

    if (dir == NULL || *dir == '\0') {
        dir = CONSENT_TEMPLATE_DIR;
    }
    dir = apr_pstrcat(out->pool, dir, "/i18n", NULL);
    if (consent_i18n_load_dir(&i18n, dir, problems, out->pool)
        != APR_SUCCESS) {
        for (i = 0; i < problems->nelts; ++i) {
            fprintf(stderr, "%s\n", consent_problem_str(out->pool,
                    &APR_ARRAY_IDX(problems, i, consent_problem_t)));
        }
        return EXIT_PROBLEM;
    }
    if (!consent_i18n_has_lang(i18n, lang)) {
        const apr_array_header_t *l = consent_i18n_languages(i18n);

        fprintf(stderr, "consentctl report: --lang %s: no translation in "
                "%s (there are: %s)\n", lang, dir,
                apr_array_pstrcat(out->pool, l, ' '));
        return EXIT_USAGE;
    }
    out->i18n = i18n;
    out->lang = lang;
    return 0;
}

static apr_status_t first_pass(void *baton, const consent_proof_t *pf,
                               apr_pool_t *scratch)
{
    /* time order: past --until, nothing more to read */
    return consent_report_add_proof(baton, pf) ? APR_EOF : APR_SUCCESS;
}

static apr_status_t second_pass(void *baton, const consent_proof_t *pf,
                                apr_pool_t *scratch)
{
    consent_report_person_proof(baton, pf);
    return APR_SUCCESS;
}

/* Both reads; 0 or an exit status after saying why. */
static int read_store(consent_report_t *r, const consentctl_opts *o)
{
    consent_report_people_t people;
    consent_store_t *store;
    const char *err = NULL;
    apr_status_t rv;

    if ((store = consentctl_open_store(o)) == NULL) {
        return EXIT_NO_STORE;
    }
    store->only_site_exact = 1;     /* a customer's report: theirs only */
    rv = consent_store_each(store, 0, NULL, first_pass, r, o->pool, &err);
    if (rv == APR_SUCCESS || rv == APR_EOF) {
        consent_report_people_init(&people, r);
        rv = consent_store_each_by_subject(store, second_pass, &people,
                                           o->pool, &err);
        consent_report_person_done(&people);
    }
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "consentctl report: %s\n",
                err ? err : "cannot read the store");
        return EXIT_NO_STORE;
    }
    return 0;
}

static int render(const consentctl_report_out_t *out, const char *format)
{
    if (strcmp(format, "html") == 0) {
        return consentctl_report_html(out);
    }
    if (strcmp(format, "csv") == 0) {
        return consentctl_report_csv(out);
    }
    return consentctl_report_json(out);
}

/* -o FILE: written beside it, then renamed, so that a report cut short
 * never stands in for a whole one. */
static int write_report(consentctl_report_out_t *out, const char *format,
                        const char *path)
{
    const char *tmp = path ? apr_pstrcat(out->pool, path, ".tmp", NULL)
                           : NULL;
    int failed;

    out->out = path ? fopen(tmp, "w") : stdout;
    if (out->out == NULL) {
        perror(apr_psprintf(out->pool, "consentctl report: %s", tmp));
        return EXIT_PROBLEM;
    }
    failed = render(out, format) | (fflush(out->out) != 0)
             | ferror(out->out);
    if (path) {
        failed |= fclose(out->out) != 0;
        failed = failed || apr_file_rename(tmp, path, out->pool);
        if (failed) {
            apr_file_remove(tmp, out->pool);
        }
    }
    if (failed) {
        fprintf(stderr, "consentctl report: cannot write %s\n",
                path ? path : "the output");
        return EXIT_PROBLEM;
    }
    return 0;
}

int consentctl_report(const consentctl_opts *o, int argc,
                      const char *const *argv)
{
    consentctl_report_out_t out;
    consent_report_t *r;
    report_args_t a;
    int status;

    if ((status = parse_args(&a, o, argc, argv)) != 0) {
        return status;
    }
    memset(&out, 0, sizeof out);
    out.pool = o->pool;
    out.site = o->site;
    out.generated = apr_time_now();
    if (strcmp(a.format, "html") == 0
        && (status = load_i18n(&out, a.lang)) != 0) {
        return status;
    }
    r = consent_report_make(o->pool, a.since, a.until);
    if ((status = read_store(r, o)) != 0) {
        return status;
    }
    out.report = r;
    out.by = a.by ? (strcmp(a.by, "week") == 0 ? CONSENT_REPORT_WEEK
                                               : CONSENT_REPORT_DAY)
                  : consent_report_default_by(r);
    out.periods = consent_report_periods(r, out.by, o->pool);
    return write_report(&out, a.format, a.output);
}
