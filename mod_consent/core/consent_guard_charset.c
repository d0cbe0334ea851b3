/*
 * Which pages guard mode can edit byte-wise (see consent_guard.h): the
 * charset a response or its <meta> declares, checked with libxml2's own
 * converters rather than a list of names kept by hand.
 */
#include <libxml/encoding.h>

#include "consent_guard.h"

const char *consent_guard_charset_of(const char *content_type,
                                     apr_pool_t *p)
{
    const char *c = content_type;

    while (c && *c && strncasecmp(c, "charset=", 8) != 0) {
        ++c;
    }
    if (!c || !*c) {
        return NULL;
    }
    c += 8;
    c += *c == '"' || *c == '\'';
    return apr_pstrmemdup(p, c, strcspn(c, "; \t\"'"));
}

/* Encodings with shift states reuse ASCII bytes for other characters. */
static int has_shift_states(const char *cs)
{
    static const char *const prefixes[] = {
        "iso-2022", "csiso2022", "utf-7", "hz", "utf-16", "utf-32",
        "ucs-2", "ucs-4", "unicode", NULL
    };
    int i;

    for (i = 0; prefixes[i]; ++i) {
        if (strncasecmp(cs, prefixes[i], strlen(prefixes[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

int consent_guard_charset_ok(const char *charset)
{
    static const char ascii[] = "<>/=\"' \t\r\n&;#:.-_abcdefghijklmnopqrstu"
                                "vwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    xmlCharEncodingHandlerPtr h;
    xmlBufferPtr in, out;
    int ok;

    if (!charset || !*charset) {
        return 1;
    }
    if (has_shift_states(charset)) {
        return 0;
    }
    h = xmlFindCharEncodingHandler(charset);
    if (!h) {
        return 0;
    }
    in = xmlBufferCreate();
    out = xmlBufferCreate();
    xmlBufferAdd(in, (const xmlChar *)ascii, sizeof ascii - 1);
    /* ASCII written in that charset must stay the same bytes */
    ok = xmlCharEncOutFunc(h, out, in) >= 0
         && xmlBufferLength(out) == sizeof ascii - 1
         && memcmp(xmlBufferContent(out), ascii, sizeof ascii - 1) == 0;
    xmlBufferFree(in);
    xmlBufferFree(out);
    xmlCharEncCloseFunc(h);
    return ok;
}
