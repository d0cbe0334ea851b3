/*
 * Guard mode (DESIGN.md "Guard mode"): the consent boxes of a form an
 * application already has (PHP, CGI, a proxied backend). Two halves, both
 * pure so the unit tests and the fuzzers link them without httpd:
 *
 * 1. The page. The application's HTML streams through a consent_guard_t
 *    and comes out byte for byte as it went in, but for two edits:
 *    - right after the first guarded <input> of each <form>, a hidden
 *      <input name="consent_token"> whose signed facts say, per purpose,
 *      whether the page rendered it ticked (anything that would send the
 *      name without a person acting, anywhere in the page), unticked, or
 *      absent (consent_guard.c has the rule);
 *    - with fix on, every `checked` attribute of a guarded checkbox or
 *      radio is cut out, so the box renders (and is recorded) unticked.
 *    The application's markup is never re-serialised.
 *
 * 2. The submission. The application's own field names are translated into
 *    what consent_submission_check() reads: a guarded name sent, with any
 *    value, is a ticked box; a name a backend would read as a guarded one
 *    (PHP: "optin.newsletter", "optin_newsletter[]"...) is refused; a box
 *    ticked for a purpose the page did not show is refused.
 */
#ifndef CONSENT_GUARD_H
#define CONSENT_GUARD_H

#include "consent_form.h"
#include "consent_submit.h"

/* How far a page may reach past its first token (the token waits there
 * until the page ends: its facts are the whole page's), and the largest
 * single tag, comment or raw text; a guard holds at most this much. */
#define CONSENT_GUARD_DEFAULT_HOLD (1024 * 1024)

typedef struct consent_guard_t consent_guard_t;

/* Signs the facts of one form: defaults holds one CONSENT_BOX_* per
 * purpose, in definition order. */
typedef apr_status_t consent_guard_token_fn(void *baton, const char *defaults,
                                            const char **token);

/* Receives the page as it goes out (same shape as consent_write_fn). */
typedef apr_status_t consent_guard_write_fn(void *baton, const char *data,
                                            apr_size_t len);

typedef struct {
    const consent_form_t *form;     /* purposes with input="..." */
    int fix;                        /* ConsentGuardFix: un-tick */
    apr_size_t max_hold;            /* 0: CONSENT_GUARD_DEFAULT_HOLD */
    consent_guard_token_fn *token;
    void *token_baton;
    consent_guard_write_fn *write;
    void *write_baton;
} consent_guard_opts_t;

/* What happened to a page, for the adapter's log lines. */
typedef struct {
    int forms;          /* forms that received a token */
    int ticked;         /* guarded elements that send their name without
                           a person acting, left so */
    int fixed;          /* pre-ticked boxes un-ticked (fix on) */
    int unsure;         /* the page could not be read with certainty
                           (every purpose recorded ticked), or forms left
                           without a token when the guard gave up */
    int too_wide;       /* forms left without a token: the page reaches
                           further than max_hold past the first one */
    const char *gave_up;    /* why the rest went out untouched, or NULL */
    const char *facts;      /* what the page's tokens say (CONSENT_BOX_*
                               per purpose), once finished; NULL when the
                               guard gave up */
} consent_guard_report_t;

/* A guard for one response, in p. */
apr_status_t consent_guard_open(consent_guard_t **guard,
                                const consent_guard_opts_t *opts,
                                apr_pool_t *p);

/* The next bytes of the page, in any split. Whatever can no longer be
 * edited is written out before it returns. */
apr_status_t consent_guard_push(consent_guard_t *guard, const char *data,
                                apr_size_t len);

/* The end of the page: everything still held is written out. */
apr_status_t consent_guard_finish(consent_guard_t *guard);

const consent_guard_report_t *consent_guard_report(
    const consent_guard_t *guard);

/*
 * Whether a page in this charset can be edited byte-wise: the guard only
 * reads and writes ASCII markup (tags, attribute names, the token), which
 * is only safe when the charset spells ASCII as ASCII and has no shift
 * states (UTF-16, UTF-32, ISO-2022-*, UTF-7 and HZ do not qualify).
 * NULL (no charset declared) qualifies.
 */
int consent_guard_charset_ok(const char *charset);

/* The charset parameter of a Content-Type ("text/html; charset=X"), or
 * NULL. */
const char *consent_guard_charset_of(const char *content_type,
                                     apr_pool_t *p);

/*
 * One whole page at once, split into pieces whose sizes come from seed:
 * the entry point of the fuzz target and of the unit tests. report, when
 * not NULL, receives what happened.
 */
apr_status_t consent_guard_page(const consent_guard_opts_t *opts,
                                const char *data, apr_size_t len,
                                unsigned seed,
                                consent_guard_report_t *report,
                                apr_pool_t *p);

/* ---- the submission ------------------------------------------------ */

/*
 * The purpose whose input a field or element name stands for, or -1:
 * the input's own name (*exact = 1), or a spelling a common backend reads
 * as that name (*exact = 0): PHP turns "." and " " into "_" and reads
 * "name[]", "name[key]" as name (and an unmatched "[" as "_"), skips
 * leading spaces and stops at a NUL; some frameworks ignore case.
 */
int consent_guard_input_of(const consent_form_t *form, const char *name,
                           apr_size_t len, int *exact);

/*
 * Judges an application's POST (fields with the application's names):
 * the token, the definition's own fields (the subject...), one purpose
 * per guarded input sent, whatever its value ("no", "0" or empty too: a
 * backend may read any of them as a yes, so the proof never says refused
 * while the application could see a consent; and the page half records a
 * box ticked when anything sends that name without a person acting). A
 * guarded name under another spelling (consent_guard_input_of) is
 * BAD_INPUT (error.bad_input), as is a purpose ticked although the page
 * did not show its box (error.unknown_purpose).
 */
consent_verdict_t *consent_guard_check(const consent_form_t *form,
                                       const consent_keyring_t *ring,
                                       const apr_array_header_t *posted,
                                       const consent_request_info_t *in,
                                       apr_pool_t *p);

/*
 * The definition checks of guard mode (rule "guard"): every purpose names
 * its input; inputs are distinct, are not a field's name nor
 * consent_token, and are printable ASCII without quotes, <, >, & or =
 * (so that they read the same in every charset a page may use).
 * Appends one problem per violation; returns how many.
 */
int consent_guard_lint(const consent_form_t *form,
                       apr_array_header_t *problems);

#endif
