#ifndef CONSENT_LANG_H
#define CONSENT_LANG_H

#include "consent.h"

/*
 * Picks the language to answer in from an Accept-Language header
 * (RFC 9110 12.5.4: q-values, primary-tag fallback "fr-CA" -> "fr"),
 * among the offered ones; dflt when nothing matches or the header is
 * absent or malformed. dflt must be one of offered (or NULL: first offered).
 */
const char *consent_lang_negotiate(const char *accept_language,
                                   const apr_array_header_t *offered,
                                   const char *dflt, apr_pool_t *p);

#endif
