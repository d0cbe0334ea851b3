/* consentctl subcommands that work on a proof store. */
#ifndef CONSENTCTL_STORE_H
#define CONSENTCTL_STORE_H

#include "consent.h"
#include "consent_key.h"
#include "consent_store.h"
#include "consent_status.h"

typedef struct {
    apr_pool_t *pool;
    const char *driver;             /* -d, as in DBDriver */
    const char *params;             /* -p, as in DBDParams */
    apr_array_header_t *key_files;  /* -k, repeatable: const char* */
    const char *site;               /* --site (consentctl_site.c) */
    const char *sites_file;         /* --sites, the module's sites file */
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

/* consentctl_access.c: everything about one person (GDPR art. 15, 20). */
int consentctl_access(const consentctl_opts *o, int argc,
                      const char *const *argv);

/* consentctl_receipt.c: export --format kantara | iso27560. format is
 * one of the two; jurisdiction NULL: by regime. print_receipt is a
 * consent_proof_fn whose baton is the receipts. */
typedef struct consentctl_receipts_t consentctl_receipts_t;
consentctl_receipts_t *consentctl_receipts_make(consent_store_t *store,
                                                const char *format,
                                                const char *jurisdiction,
                                                apr_pool_t *p);
apr_status_t consentctl_print_receipt(void *baton,
                                      const consent_proof_t *pf,
                                      apr_pool_t *scratch);
/* What receipts say of a proof: "EU", "FR" (b2b) unless given; how the
 * event was collected, in words. */
const char *consentctl_jurisdiction(const char *given, const char *regime);
const char *consentctl_collection_method(const char *event);

/* status --json's "purposes" object, for status and access alike (the
 * store answers whether a newer notice made a consent stale). */
const char *consentctl_states_json(consent_store_t *store, apr_pool_t *p,
                                   const consent_status_t *st);
/* consentctl report (consentctl_report.c). */
int consentctl_report(const consentctl_opts *o, int argc,
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
/* For a command that writes (purge): not read-only, and the schema
 * migrated to this consentctl's version first, as Apache's start does. */
consent_store_t *consentctl_open_store_rw(const consentctl_opts *o);

/* Epoch seconds or RFC 3339 ("2026-11-28", "...T07:29:35Z"); 0 when
 * neither. */
int consentctl_parse_time(const char *s, apr_time_t *t);

/* consentctl_purge.c: erasure (art. 17) and retention (R11). */
int consentctl_purge(const consentctl_opts *o, int argc,
                     const char *const *argv);
consent_keyring_t *consentctl_load_keyring(const consentctl_opts *o);

/* A form definition compiled as Apache's start-up would (the schema of
 * $CONSENT_TEMPLATE_DIR or the installed one); NULL after saying why. */
struct consent_form_t;
const struct consent_form_t *consentctl_load_form(const consentctl_opts *o,
                                                  const char *path);

/* An address as the store holds it (lower-cased); other subjects as
 * given. */
const char *consentctl_subject(apr_pool_t *p, const char *s);

/* Tenancy (consentctl_site.c). Removes --site S from argv (anywhere)
 * into o->site; 0 after a message when the name is not valid. */
int consentctl_take_site(consentctl_opts *o, int *argc, const char **argv);
/* The site named by a URL's host (lower-cased), NULL if none. */
const char *consentctl_site_of_url(const char *url, apr_pool_t *p);
/* The keys that sign at *site: the -k site key files of that site, or
 * the -k masters derived for it. *site NULL: a site key names it, else
 * fallback. NULL after a message. */
consent_keyring_t *consentctl_site_keyring(const consentctl_opts *o,
                                           const char **site,
                                           const char *fallback);
/* verify --site: prints how many of the store's proofs are o->site's
 * (the whole store is verified: chains interleave sites). */
apr_status_t consentctl_site_report(consent_store_t *store,
                                    const consentctl_opts *o,
                                    const char **err);
/* With --site: -d, -p and -k not given are taken from the sites file
 * the module writes: --sites FILE, else CONSENTCTL_SITES_FILE when it
 * exists and -p is not given. 0 after a message. */
#define CONSENTCTL_SITES_FILE "/var/run/apache2/mod_consent-sites"
int consentctl_from_sites(consentctl_opts *o);
int consentctl_site_key(const consentctl_opts *o, int argc,
                        const char *const *argv);

#endif
