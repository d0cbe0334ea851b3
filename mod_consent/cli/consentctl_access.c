/*
 * consentctl access --subject S: what the controller holds about one
 * person (GDPR art. 15, and art. 20's portable copy): every proof, the
 * full text of each notice they were shown (once per notice), and their
 * current state per purpose, as one JSON document or, with --format html,
 * a self-contained page to send them.
 *
 * The person's proofs are read twice, by pages: once to compute the state
 * (consent_status_add, the rule `status` uses) and collect the notices,
 * once to print. Memory holds the state and the distinct notices of this
 * person, never all their proofs. The second read stops at the number of
 * proofs the first one saw, so the state printed is the state of the
 * proofs listed even while Apache keeps writing.
 */
#include <stdio.h>
#include <stdlib.h>

#include <apr_getopt.h>
#include <apr_strings.h>

#include "consentctl_access.h"

#define EXIT_USAGE CONSENTCTL_USAGE
#define EXIT_NO_STORE CONSENTCTL_NO_STORE

/* A consent_proof_fn's "I have printed what the first read saw". */
#define ACCESS_ENOUGH (APR_OS_START_USERERR + 116)

#define USAGE "usage: consentctl -d DRIVER -p PARAMS access --subject S " \
    "[--format json|html] [--lang L]\n"

/* ---- the first read: state and notices ------------------------------ */

static apr_status_t gather(void *baton, const consent_proof_t *pf,
                           apr_pool_t *scratch)
{
    consentctl_access_t *a = baton;

    (void)scratch;
    consent_status_add(a->status, pf);
    ++a->proofs;
    if (pf->lang && strlen(pf->lang) < sizeof a->last_lang) {
        apr_cpystrn(a->last_lang, pf->lang, sizeof a->last_lang);
    }
    if (pf->notice_sha256 && !apr_hash_get(a->seen, pf->notice_sha256,
                                           APR_HASH_KEY_STRING)) {
        consentctl_notice_t *n = apr_pcalloc(a->pool, sizeof *n);

        n->sha256 = apr_pstrdup(a->pool, pf->notice_sha256);
        n->form_id = apr_pstrdup(a->pool, pf->form_id);
        n->form_version = pf->form_version;
        n->lang = apr_pstrdup(a->pool, pf->lang);
        n->first_shown = pf->time;
        apr_hash_set(a->seen, n->sha256, APR_HASH_KEY_STRING, n);
        APR_ARRAY_PUSH(a->notices, consentctl_notice_t *) = n;
    }
    return APR_SUCCESS;
}

/* Each notice's text, read once and kept for the page's labels. */
static void read_notices(consentctl_access_t *a)
{
    int i;

    for (i = 0; i < a->notices->nelts; ++i) {
        consentctl_notice_t *n = APR_ARRAY_IDX(a->notices, i,
                                               consentctl_notice_t *);

        n->text = consent_store_notice(a->store, n->sha256, a->pool);
        n->facts = consent_notice_read(a->pool, n->text);
    }
}

/* ---- the second read: printing -------------------------------------- */

static apr_status_t print_one(void *baton, const consent_proof_t *pf,
                              apr_pool_t *scratch)
{
    consentctl_access_t *a = baton;

    if (a->printed >= a->proofs) {
        return ACCESS_ENOUGH;
    }
    if (!a->out->proof(a, pf, scratch)) {
        return APR_EGENERAL;
    }
    ++a->printed;
    return APR_SUCCESS;
}

const char *consentctl_purpose_label(const consentctl_access_t *a,
                                     const consentctl_notice_t *hint,
                                     const char *id)
{
    const consent_notice_purpose_t *pp = NULL;
    int i;

    if (hint) {
        pp = consent_notice_purpose(hint->facts, id);
    }
    /* the current state names no notice: any notice in the page's
     * language that has the purpose, else any notice that has it */
    for (i = 0; !pp && i < 2 * a->notices->nelts; ++i) {
        const consentctl_notice_t *n = APR_ARRAY_IDX(a->notices,
            i % a->notices->nelts, consentctl_notice_t *);

        if (i >= a->notices->nelts || !a->lang
            || (n->lang && strcmp(n->lang, a->lang) == 0)) {
            pp = consent_notice_purpose(n->facts, id);
        }
    }
    return pp && *pp->label ? pp->label : id;
}

/* ---- JSON ------------------------------------------------------------ */

static int json_begin(consentctl_access_t *a)
{
    return printf("{\"subject\":%s,\"site\":%s,\"generated\":%s,"
                  "\"purposes\":%s,\"proofs\":[",
                  consent_json_str(a->pool, a->subject),
                  consent_json_str(a->pool, a->site),
                  consent_json_str(a->pool, consent_time_rfc3339(a->pool,
                                   apr_time_now())),
                  consentctl_states_json(a->store, a->pool,
                                         a->status)) >= 0;
}

static int json_proof(consentctl_access_t *a, const consent_proof_t *pf,
                      apr_pool_t *scratch)
{
    return printf("%s%s", a->printed ? "," : "",
                  consent_proof_json(scratch, pf)) >= 0;
}

static int json_end(consentctl_access_t *a)
{
    apr_pool_t *p = a->pool;
    int i, ok = printf("],\"notices\":[") >= 0;

    for (i = 0; ok && i < a->notices->nelts; ++i) {
        const consentctl_notice_t *n = APR_ARRAY_IDX(a->notices, i,
            consentctl_notice_t *);

        ok = printf("%s{\"notice_sha256\":%s,\"form_id\":%s,"
                    "\"form_version\":%u,\"language\":%s,"
                    "\"first_shown\":%s,\"text\":%s}", i ? "," : "",
                    consent_json_str(p, n->sha256),
                    consent_json_str(p, n->form_id), n->form_version,
                    consent_json_str(p, n->lang),
                    consent_json_str(p, consent_time_rfc3339(p,
                                                            n->first_shown)),
                    consent_json_str(p, n->text)) >= 0;
    }
    return ok && printf("]}\n") >= 0;
}

const consentctl_access_out_t consentctl_access_json = {
    json_begin, json_proof, json_end
};

/* ---- options -------------------------------------------------------- */

static const char *i18n_dir(apr_pool_t *p)
{
    const char *dir = getenv("CONSENT_TEMPLATE_DIR");

    return apr_pstrcat(p, dir && *dir ? dir : CONSENT_TEMPLATE_DIR,
                       "/i18n", NULL);
}

/* The page's language: --lang, else that of the latest proof when the
 * catalogues have it, else English. An exit status after a message, or
 * -1 to go on. */
static int pick_language(consentctl_access_t *a, const char *asked)
{
    apr_array_header_t *problems = apr_array_make(a->pool, 2,
        sizeof(consent_problem_t));
    const char *dir = i18n_dir(a->pool);

    if (consent_i18n_load_dir(&a->i18n, dir, problems, a->pool)
        != APR_SUCCESS) {
        fprintf(stderr, "consentctl access: cannot read the translations "
                "in %s\n", dir);
        return CONSENTCTL_PROBLEM;
    }
    if (asked && !consent_i18n_has_lang(a->i18n, asked)) {
        fprintf(stderr, "consentctl access: --lang %s: no translation "
                "(%s has %s)\n", asked, dir, apr_array_pstrcat(a->pool,
                consent_i18n_languages(a->i18n), ' '));
        return EXIT_USAGE;
    }
    a->lang = asked ? asked
              : consent_i18n_has_lang(a->i18n, a->last_lang) ? a->last_lang
              : CONSENT_I18N_FALLBACK;
    return -1;
}

/* 0 on a usage error (after saying it). */
static int options(consentctl_access_t *a, int argc,
                   const char *const *argv, const char **lang)
{
    static const apr_getopt_option_t opts[] = {
        { "subject", 'S', 1, "the person (e.g. the email address)" },
        { "format", 'f', 1, "json (default) or html" },
        { "lang", 'l', 1, "the page's language (html)" },
        { NULL, 0, 0, NULL }
    };
    const char *arg;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt;

    a->out = &consentctl_access_json;
    apr_getopt_init(&os, a->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        if (opt == 'S') {
            a->subject = consentctl_subject(a->pool, arg);
        }
        else if (opt == 'l') {
            *lang = arg;
        }
        else if (strcmp(arg, "html") == 0) {
            a->out = &consentctl_access_html;
        }
        else if (strcmp(arg, "json") != 0) {
            fprintf(stderr, "consentctl access: --format %s: expected json "
                    "or html\n", arg);
            return 0;
        }
    }
    if (rv != APR_EOF || os->ind < argc || !a->subject || !*a->subject
        || (*lang && a->out != &consentctl_access_html)) {
        fprintf(stderr, USAGE);
        return 0;
    }
    return 1;
}

static int fail_read(const char *err)
{
    fprintf(stderr, "consentctl access: %s\n", err);
    return EXIT_NO_STORE;
}

int consentctl_access(const consentctl_opts *o, int argc,
                      const char *const *argv)
{
    consentctl_access_t *a = apr_pcalloc(o->pool, sizeof *a);
    const char *lang = NULL, *err = NULL;
    apr_status_t rv;
    int status;

    a->pool = o->pool;
    a->site = o->site;
    if (!options(a, argc, argv, &lang)) {
        return EXIT_USAGE;
    }
    if ((a->store = consentctl_open_store(o)) == NULL) {
        return EXIT_NO_STORE;
    }
    a->status = consent_status_make(a->pool);
    a->seen = apr_hash_make(a->pool);
    a->notices = apr_array_make(a->pool, 4, sizeof(consentctl_notice_t *));
    if (consent_store_each(a->store, 0, a->subject, gather, a, a->pool,
                           &err) != APR_SUCCESS) {
        return fail_read(err);
    }
    read_notices(a);
    if (a->out == &consentctl_access_html
        && (status = pick_language(a, lang)) >= 0) {
        return status;
    }
    if (!a->out->begin(a)) {
        return CONSENTCTL_PROBLEM;
    }
    rv = consent_store_each(a->store, 0, a->subject, print_one, a, a->pool,
                            &err);
    if (rv != APR_SUCCESS && rv != ACCESS_ENOUGH) {
        return err ? fail_read(err) : CONSENTCTL_PROBLEM;
    }
    if (!a->out->end(a) || fflush(stdout) != 0) {
        fprintf(stderr, "consentctl access: cannot write the output\n");
        return CONSENTCTL_PROBLEM;
    }
    return 0;
}
