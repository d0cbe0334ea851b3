/* Guard mode's two adapter files share these (consent_guard.c, the page;
 * consent_guard_post.c, the submission). */
#ifndef CONSENT_GUARD_HTTPD_H
#define CONSENT_GUARD_HTTPD_H

#include "mod_consent.h"

/* The POST check and the body replay: hooks and filters. */
void consent_guard_register_post(apr_pool_t *p);

/* Gives back to the request what the check set aside for the
 * application's sake (Accept-Encoding), once the application answered:
 * mod_deflate may then compress the edited page for the client. */
void consent_guard_restore_request(request_rec *r);

#endif
