/*
 * RFC 8058 says mail providers SHOULD send their one-click unsubscribe
 * POST as multipart/form-data (RFC 7578). This reads one text field of
 * such a body, nothing more.
 */
#ifndef CONSENT_MULTIPART_H
#define CONSENT_MULTIPART_H

#include "consent.h"

/* 1 when content_type is multipart/form-data with a boundary. */
int consent_multipart_is(const char *content_type);

/*
 * The value of the part named name, when there is exactly one such part
 * and it carries no file; NULL otherwise (or when the body is malformed).
 */
const char *consent_multipart_field(const char *content_type,
                                    const char *body, apr_size_t len,
                                    const char *name, apr_pool_t *p);

#endif
