/*
 * The mechanical checks of LEGAL.md on a loaded definition. Each problem
 * names the file, the line of the offending element and the rule:
 *   R1 a purpose pre-ticked by any attribute (default="checked", checked=...)
 *   R3 duplicate purpose or field ids; a purpose that is the acceptance of
 *      terms of sale
 *   R4 a purpose that is required
 *   R5 no controller, no policy link (or one that is not an absolute
 *      http(s) URL), a purpose without label or description in a
 *      language the form offers, a field without label
 *   R7 no field identifies the subject (an email field or subject="true")
 *   R9 regime="soft-opt-in" without a <notice> in every language (the
 *      customer relationship, similar products)
 *   R10 regime="b2b" without a <notice> in every language (messages
 *      relate to the person's profession)
 */
#ifndef CONSENT_LINT_H
#define CONSENT_LINT_H

#include "consent_form.h"

/* Appends one problem per violation; returns how many were found. */
int consent_lint(const consent_form_t *form, apr_array_header_t *problems);

/*
 * R5's rule for the privacy policy link, the one the page applies too:
 * an absolute http or https URL with a host. Not a path: the link is
 * also shown where no page is its base (mails, exports, receipts); no
 * other scheme: a link must lead to a page, never run a script.
 */
int consent_lint_policy_url(apr_pool_t *p, const char *url);

#endif
