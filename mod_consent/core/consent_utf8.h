/*
 * Text that reaches a proof: one strict reading of UTF-8 (RFC 3629) and
 * of what a single-line value or a subject may hold, used by every page
 * (form, withdrawal, unsubscribe, guard) and by consentctl, so that no
 * two places disagree about what a person typed.
 */
#ifndef CONSENT_UTF8_H
#define CONSENT_UTF8_H

#include "consent.h"

/*
 * 1 when s[0..len) is well-formed UTF-8 as RFC 3629 defines it: no
 * overlong form (C0 AE, E0 80 AF), no surrogate (ED A0 80), nothing
 * above U+10FFFF (F4 90 80 80), no truncated sequence, no NUL.
 */
int consent_utf8_valid(const char *s, apr_size_t len);

/*
 * 1 when s (valid UTF-8) stays on one line: no C0 or C1 control, no
 * DEL, no U+2028 LINE SEPARATOR or U+2029 PARAGRAPH SEPARATOR.
 */
int consent_text_single_line(const char *s);

/*
 * 1 when s (valid UTF-8) holds no invisible format character (Unicode
 * category Cf: U+00AD, U+200B..U+200F, U+202A..U+202E, U+2060..U+206F,
 * U+FEFF, tags...): two subjects that look the same must be the same.
 */
int consent_text_visible(const char *s);

/*
 * s as a person sees it in HTML: trimmed, each run of XML white space
 * (space, tab, CR, LF) one space. Form texts and messages may be wrapped
 * over lines in their files; the page shows the sentence, and no model
 * string holds a newline (the line-based notice format relies on it).
 */
const char *consent_text_collapse(apr_pool_t *p, const char *s);

/*
 * NULL when s may be a subject (who a proof is about), else why not:
 * valid UTF-8, one line, visible, not empty, at most 254 bytes, and not
 * starting with '=', '+', '-' or '@', which a spreadsheet opening a CSV
 * export reads as a formula (but for a telephone number: digits and
 * "+-. ()" only).
 */
const char *consent_subject_problem(const char *s);

/* 1 when s is an id as form definitions spell them (the schema's
 * "identifier": [A-Za-z][A-Za-z0-9_.-]*, at most 255 bytes). */
int consent_identifier_valid(const char *s);

/*
 * The subject as stored and looked up, the one rule for the module and
 * consentctl: surrounding ASCII white space cut, and an address (a value
 * holding '@') lower-cased in ASCII. NULL for NULL.
 */
const char *consent_subject_normalise(apr_pool_t *p, const char *s);

#endif
