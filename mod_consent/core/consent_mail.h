/*
 * The confirmation message of double opt-in (consent_confirm.h) and its
 * sending. The message is plain text in the person's language, UTF-8,
 * quoted-printable, with an RFC 2047 encoded Subject; it names the
 * controller and the purposes waiting, holds the confirmation link and a
 * List-Unsubscribe pair (RFC 2369, RFC 8058).
 *
 * It is handed whole to a command on its standard input, the way every
 * MTA's sendmail interface takes it (`/usr/sbin/sendmail -t -i`), with a
 * bounded wait, so that a stuck MTA never holds a worker for long.
 */
#ifndef CONSENT_MAIL_H
#define CONSENT_MAIL_H

#include "consent_form.h"
#include "consent_proof.h"
#include "consent_render.h"

#define CONSENT_MAIL_DEFAULT_COMMAND "/usr/sbin/sendmail -t -i"
#define CONSENT_MAIL_TIMEOUT apr_time_from_sec(10)

typedef struct {
    const consent_ui_t *ui;     /* translations */
    const consent_form_t *form;
    const consent_proof_t *proof;   /* the pending submission */
    const char *from;           /* ConsentMailFrom, checked at start-up */
    const char *confirm_url;    /* absolute, L/confirm?t=... */
    const char *unsubscribe_url;    /* absolute, L/unsubscribe?t=... */
    apr_time_t expires;         /* when the link stops working */
} consent_mail_t;

/*
 * The RFC 5322 message, lines ending in LF (the sendmail interface's
 * convention). APR_EINVAL when a header value would hold a control
 * character (nothing from a request may shape the headers).
 */
apr_status_t consent_mail_build(const char **message,
                                const consent_mail_t *m, apr_pool_t *p);

/*
 * The whole message for a held submission (consent_confirm_hold), links
 * included: the confirmation link L/confirm?t= (bound to site, form,
 * receipt and subject, issued at the proof's time) and a one-click
 * unsubscribe link L/unsubscribe?t= for all the form's purposes. base is
 * L as people reach it, absolute (https://example.org/newsletter).
 * APR_EINVAL as consent_mail_build; APR_EGENERAL when sealing fails.
 */
apr_status_t consent_confirm_message(const char **message,
                                     const consent_keyring_t *ring,
                                     const consent_ui_t *ui,
                                     const consent_form_t *form,
                                     const consent_proof_t *proof,
                                     const char *from, const char *base,
                                     const char *site,
                                     apr_interval_time_t lifetime,
                                     apr_pool_t *p);

/*
 * 1 when addr is acceptable as ConsentMailFrom: "user@example.org" or
 * "Display Name <user@example.org>" with an ASCII display name; else 0
 * and *why says what is wrong.
 */
int consent_mail_from_ok(const char *addr, const char **why,
                         apr_pool_t *p);

/* The argument vector of a command line (no shell): argv[0] must be an
 * absolute path. NULL and *why when it cannot be used. */
const char *const *consent_mail_argv(const char *command, const char **why,
                                     apr_pool_t *p);

/*
 * Runs argv with message on its standard input and waits at most
 * timeout, then kills it. APR_SUCCESS when it exited 0; else *status
 * describes what happened ("exit status 75", "killed by signal 9",
 * "timed out after 10 s and killed") for the log.
 */
apr_status_t consent_mail_send(const char *const *argv, const char *message,
                               apr_interval_time_t timeout,
                               const char **status, apr_pool_t *p);

#endif
