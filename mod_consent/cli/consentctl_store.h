/* consentctl subcommands that work on a proof store. */
#ifndef CONSENTCTL_STORE_H
#define CONSENTCTL_STORE_H

#include "consent.h"
#include "consent_key.h"
#include "consent_store.h"

typedef struct {
    apr_pool_t *pool;
    const char *driver;             /* -d, as in DBDriver */
    const char *params;             /* -p, as in DBDParams */
    apr_array_header_t *key_files;  /* -k, repeatable: const char* */
} consentctl_opts;

/* consentctl's exit status (README "consentctl", consentctl --help). */
#define CONSENTCTL_OK 0
#define CONSENTCTL_PROBLEM 1    /* tampering, lint errors, output failed */
#define CONSENTCTL_USAGE 2      /* bad command line, unreadable key file */
#define CONSENTCTL_UNCHECKED 3  /* verify: keys missing, no tamper found */
#define CONSENTCTL_NO_STORE 4   /* store missing, not ours, unreachable */

/* Each returns the process exit code above. */
int consentctl_export(const consentctl_opts *o, int argc,
                      const char *const *argv);
int consentctl_verify(const consentctl_opts *o, int argc,
                      const char *const *argv);
int consentctl_status(const consentctl_opts *o, int argc,
                      const char *const *argv);

/* consentctl_checkpoint.c: a signed summary of the store, and the
 * checkpoint files of verify --checkpoint (consent_checkpoint_t*, or
 * NULL after saying why one is unusable). */
int consentctl_checkpoint(const consentctl_opts *o, int argc,
                          const char *const *argv);
apr_array_header_t *consentctl_read_checkpoints(
    const consentctl_opts *o, const consent_keyring_t *ring,
    const apr_array_header_t *paths);

/* consentctl_mail.c: what a mailer needs. */
int consentctl_unsubscribe_url(const consentctl_opts *o, int argc,
                               const char *const *argv);
int consentctl_suppression_list(const consentctl_opts *o, int argc,
                                const char *const *argv);

/* Shared by the commands: NULL after saying why on stderr. */
consent_store_t *consentctl_open_store(const consentctl_opts *o);
consent_keyring_t *consentctl_load_keyring(const consentctl_opts *o);

/* A form definition compiled as Apache's start-up would (the schema of
 * $CONSENT_TEMPLATE_DIR or the installed one); NULL after saying why. */
struct consent_form_t;
const struct consent_form_t *consentctl_load_form(const consentctl_opts *o,
                                                  const char *path);

/* An address as the store holds it (lower-cased); other subjects as
 * given. */
const char *consentctl_subject(apr_pool_t *p, const char *s);

#endif
