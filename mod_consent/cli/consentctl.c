/*
 * consentctl: the same core as the module, from a shell.
 *
 *   consentctl [-d DRIVER] [-p PARAMS] [-k KEYFILE] COMMAND [ARGS]
 *
 * Global options name the store and the secrets the way DBDriver,
 * DBDParams and ConsentSecretFile do in Apache's configuration; each
 * command is one entry of the table at the end of this file.
 *
 * Exit status: the CONSENTCTL_* codes of consentctl_store.h, printed by
 * --help and listed in the README.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_getopt.h>

#include <libxml/parser.h>

#include "consent.h"
#include "consent_form.h"
#include "consentctl_store.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_PROBLEM CONSENTCTL_PROBLEM
#define EXIT_USAGE CONSENTCTL_USAGE

/* What the global options said, handed to every command. */
typedef consentctl_opts ctl_t;

typedef int command_fn(const ctl_t *ctl, int argc, const char *const *argv);

typedef struct {
    const char *name;
    command_fn *run;
    const char *args;
    const char *summary;
} command_t;

static const command_t *commands(void);

static void usage(FILE *out)
{
    const command_t *c;

    fprintf(out,
            "usage: consentctl [-d DRIVER] [-p PARAMS] [-k KEYFILE] "
            "COMMAND [ARGS]\n"
            "       consentctl --help | --version\n\n"
            "options:\n"
            "  -d DRIVER   store driver, as DBDriver (sqlite3, pgsql)\n"
            "  -p PARAMS   store parameters, as DBDParams\n"
            "  -k KEYFILE  secret file, as ConsentSecretFile (repeatable: "
            "the first signs, all verify)\n"
            "  --site S    only site S (ConsentSite); also after the "
            "command\n"
            "  --sites FILE  where --site finds its store and secrets "
            "(default\n"
            "              " CONSENTCTL_SITES_FILE ", written by "
            "Apache)\n\n"
            "commands:\n");
    for (c = commands(); c->name != NULL; c++) {
        fprintf(out, "  %s %s\n      %s\n", c->name, c->args, c->summary);
    }
    fprintf(out,
            "\nReading commands open the store as it is: they never create "
            "or migrate it.\n\n"
            "exit status:\n"
            "  0  done; verify: every record checked and intact\n"
            "  1  a problem found: tampering (verify), a definition "
            "refused (lint),\n"
            "     the output could not be written\n"
            "  2  usage error, or a secret file (-k) refused\n"
            "  3  verify: no tampering found, but records sealed with a "
            "key not given\n"
            "     with -k could not be checked (tampering, 1, wins)\n"
            "  4  the store is missing, holds no mod_consent schema, or "
            "cannot be read\n");
}

/* ---- lint ----------------------------------------------------------- */

/* --schema, else $CONSENT_TEMPLATE_DIR (a build tree), else installed. */
static const char *default_schema(apr_pool_t *p)
{
    const char *dir = getenv("CONSENT_TEMPLATE_DIR");

    if (dir == NULL || *dir == '\0') {
        dir = CONSENT_TEMPLATE_DIR;
    }
    return apr_pstrcat(p, dir, "/consent-form.rng", NULL);
}

static void print_problems(const apr_array_header_t *problems, int from,
                           apr_pool_t *p)
{
    int i;

    for (i = from; i < problems->nelts; i++) {
        fprintf(stderr, "%s\n", consent_problem_str(p,
                &APR_ARRAY_IDX(problems, i, consent_problem_t)));
    }
}

static int lint_file(const consent_schema_t *schema, const char *path,
                     apr_pool_t *parent)
{
    apr_pool_t *p;
    apr_array_header_t *problems;
    consent_form_t *form;
    apr_status_t rv;

    apr_pool_create(&p, parent);
    problems = apr_array_make(p, 4, sizeof(consent_problem_t));
    rv = consent_form_compile(&form, schema, path, problems, p);
    print_problems(problems, 0, p);
    if (rv == APR_SUCCESS && problems->nelts == 0) {
        printf("%s: ok\n", path);
    }
    else if (problems->nelts == 0) {
        fprintf(stderr, "%s: cannot be compiled\n", path);
    }
    apr_pool_destroy(p);
    return rv == APR_SUCCESS ? 0 : EXIT_PROBLEM;
}

static int cmd_lint(const ctl_t *ctl, int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "schema", 's', 1, "RELAX NG schema of form definitions" },
        { NULL, 0, 0, NULL }
    };
    const char *schema_path = default_schema(ctl->pool), *arg;
    apr_array_header_t *problems;
    consent_schema_t *schema;
    apr_getopt_t *os;
    apr_status_t rv;
    int opt, status = 0;

    apr_getopt_init(&os, ctl->pool, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        schema_path = arg;
    }
    if (rv != APR_EOF || os->ind >= argc) {
        fprintf(stderr, "usage: consentctl lint [--schema FILE] FILE...\n");
        return EXIT_USAGE;
    }
    problems = apr_array_make(ctl->pool, 4, sizeof(consent_problem_t));
    if (consent_schema_load(&schema, schema_path, problems, ctl->pool)
        != APR_SUCCESS) {
        print_problems(problems, 0, ctl->pool);
        return EXIT_PROBLEM;
    }
    for (; os->ind < argc; os->ind++) {
        if (lint_file(schema, argv[os->ind], ctl->pool) != 0) {
            status = EXIT_PROBLEM;
        }
    }
    return status;
}

const consent_form_t *consentctl_load_form(const consentctl_opts *o,
                                           const char *path)
{
    apr_array_header_t *problems;
    consent_schema_t *schema;
    consent_form_t *form;

    problems = apr_array_make(o->pool, 4, sizeof(consent_problem_t));
    if (consent_schema_load(&schema, default_schema(o->pool), problems,
                            o->pool) != APR_SUCCESS
        || consent_form_compile(&form, schema, path, problems, o->pool)
           != APR_SUCCESS) {
        print_problems(problems, 0, o->pool);
        fprintf(stderr, "consentctl: %s: not a valid form definition\n",
                path);
        return NULL;
    }
    return form;
}

/* ---- dispatch ------------------------------------------------------- */

static const command_t *commands(void)
{
    static const command_t table[] = {
        { "lint", cmd_lint, "[--schema FILE] FILE...",
          "check form definitions as Apache's start-up would" },
        { "export", consentctl_export, "[--since TIME] [--subject S] "
          "[--format json|kantara|iso27560] [--jurisdiction J]",
          "every proof as JSON Lines, or as Kantara receipts or ISO/IEC "
          "TS 27560 records (-d, -p)" },
        { "access", consentctl_access, "--subject S [--format json|html] "
          "[--lang L]",
          "everything held about a person: proofs, notices shown, "
          "current state (-d, -p)" },
        { "verify", consentctl_verify, "[--checkpoint FILE...]",
          "check the tamper evidence of the store, and that nothing a "
          "checkpoint covers went missing or changed (-d, -p, -k)" },
        { "checkpoint", consentctl_checkpoint, "[--no-verify]",
          "a signed summary of the store to keep off the machine "
          "(-d, -p, -k)" },
        { "status", consentctl_status, "--subject S [--json]",
          "the current state of each purpose for a person (-d, -p)" },
        { "unsubscribe-url", consentctl_unsubscribe_url,
          "--base URL --form ID --subject S [--purpose P]... "
          "[--form-file FILE]",
          "a signed one-click unsubscribe link and its two mail headers "
          "(-k)" },
        { "site-key", consentctl_site_key, "--site S",
          "site S's key, derived from the master, as a secret file (-k "
          "MASTER)" },
        { "report", consentctl_report, "[--since T] [--until T] "
          "[--format json|html|csv] [--by day|week] [--lang L] [-o FILE]",
          "decisions, consent rates, withdrawals, who stands where now and "
          "the notices in force, for a DPO (-d, -p)" },
        { "suppression-list", consentctl_suppression_list,
          "[--hashed] [--purpose P] [--csv]",
          "everyone a mailer must not write to, one a line (-d, -p)" },
        { "purge", consentctl_purge,
          "--subject S | --inactive-before DATE [--dry-run]",
          "erase personal data from proofs, keeping tombstones that verify "
          "(-d, -p, -k)" },
        { NULL, NULL, NULL, NULL }
    };
    return table;
}

static const command_t *find_command(const char *name)
{
    const command_t *c;

    for (c = commands(); c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

/* Parses the global options; returns -1 to go on, else an exit status. */
static int global_options(ctl_t *ctl, apr_getopt_t *os)
{
    static const apr_getopt_option_t opts[] = {
        { "driver", 'd', 1, "store driver, as DBDriver" },
        { "params", 'p', 1, "store parameters, as DBDParams" },
        { "key", 'k', 1, "secret file, as ConsentSecretFile" },
        { "site", 'S', 1, "only this site (ConsentSite)" },
        { "sites", 's', 1, "the sites file mod_consent writes" },
        { "help", 'h', 0, "this help" },
        { "version", 'V', 0, "the version" },
        { NULL, 0, 0, NULL }
    };
    const char *arg;
    apr_status_t rv;
    int opt;

    while ((rv = apr_getopt_long(os, opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case 'd': ctl->driver = arg; break;
        case 'p': ctl->params = arg; break;
        case 'k': APR_ARRAY_PUSH(ctl->key_files, const char *) = arg; break;
        case 'S': ctl->site = arg; break;
        case 's': ctl->sites_file = arg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("consentctl %s\n", PACKAGE_VERSION); return 0;
        }
    }
    if (rv != APR_EOF) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

int main(int argc, const char *const *argv)
{
    const command_t *cmd = NULL;
    apr_getopt_t *os;
    ctl_t ctl;
    int status;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fprintf(stderr, "consentctl: cannot initialise APR\n");
        return EXIT_PROBLEM;
    }
    atexit(apr_terminate);
    memset(&ctl, 0, sizeof ctl);
    apr_pool_create(&ctl.pool, NULL);
    ctl.key_files = apr_array_make(ctl.pool, 2, sizeof(const char *));
    xmlInitParser();

    apr_getopt_init(&os, ctl.pool, argc, argv);
    status = global_options(&ctl, os);
    if (status < 0 && os->ind >= argc) {
        usage(stderr);
        status = EXIT_USAGE;
    }
    else if (status < 0 && (cmd = find_command(argv[os->ind])) == NULL) {
        fprintf(stderr, "consentctl: unknown command '%s'\n\n",
                argv[os->ind]);
        usage(stderr);
        status = EXIT_USAGE;
    }
    else if (status < 0) {
        int n = argc - os->ind;
        const char **args = apr_pmemdup(ctl.pool, argv + os->ind,
                                        (n + 1) * sizeof *args);

        /* The command sees its own name as argv[0], as getopt expects. */
        status = consentctl_take_site(&ctl, &n, args)
                 && consentctl_from_sites(&ctl)
                 ? cmd->run(&ctl, n, args) : EXIT_USAGE;
    }
    apr_pool_destroy(ctl.pool);
    xmlCleanupParser();
    return status;
}
