/*
 * The notice: the exact text a person is shown for one form in one
 * language (controller, policy link, every purpose's label and description).
 * Its canonical bytes are built once at start-up; their SHA-256 goes into
 * every render token and every proof, and the text itself is stored once
 * per distinct digest (R7).
 */
#ifndef CONSENT_NOTICE_H
#define CONSENT_NOTICE_H

#include "consent_form.h"

typedef struct {
    const char *lang;
    const char *text;                       /* canonical UTF-8 text */
    apr_size_t len;
    unsigned char sha256[CONSENT_SHA256_LEN];
    const char *sha256_hex;
} consent_notice_t;

/* Fills form->notices for every language of the form. */
apr_status_t consent_notice_build(consent_form_t *form, apr_pool_t *p);

const consent_notice_t *consent_notice_get(const consent_form_t *form,
                                           const char *lang);

#endif
