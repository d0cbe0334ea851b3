/* consentctl subcommands that work on a proof store. */
#ifndef CONSENTCTL_STORE_H
#define CONSENTCTL_STORE_H

#include "consent.h"

typedef struct {
    apr_pool_t *pool;
    const char *driver;             /* -d, as in DBDriver */
    const char *params;             /* -p, as in DBDParams */
    apr_array_header_t *key_files;  /* -k, repeatable: const char* */
} consentctl_opts;

/* Each returns the process exit code: 0 ok, 1 failure found, 2 usage. */
int consentctl_export(const consentctl_opts *o, int argc,
                      const char *const *argv);
int consentctl_verify(const consentctl_opts *o, int argc,
                      const char *const *argv);
int consentctl_status(const consentctl_opts *o, int argc,
                      const char *const *argv);

#endif
