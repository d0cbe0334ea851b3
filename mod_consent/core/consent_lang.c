#include <apr_lib.h>

#include "consent_lang.h"

/* Compares a language range with an offered tag: exact or primary tag. */
static int lang_match(const char *range, apr_size_t rlen, const char *tag)
{
    apr_size_t tlen = strlen(tag);

    if (rlen == tlen && strncasecmp(range, tag, rlen) == 0) {
        return 2;
    }
    /* "fr-CA" accepts "fr"; "fr" accepts "fr-BE" */
    if (rlen > tlen && range[tlen] == '-'
        && strncasecmp(range, tag, tlen) == 0) {
        return 1;
    }
    if (tlen > rlen && tag[rlen] == '-'
        && strncasecmp(range, tag, rlen) == 0) {
        return 1;
    }
    return 0;
}

/* q-value in thousandths (RFC 9110 12.4.2); -1 when malformed. */
static int parse_q(const char *params)
{
    const char *q = params;
    int v = 0, digits = 0;

    while (*q == ' ' || *q == '\t' || *q == ';') {
        ++q;
    }
    if (!*q) {
        return 1000;
    }
    if ((q[0] != 'q' && q[0] != 'Q') || q[1] != '=') {
        return -1;
    }
    q += 2;
    if (*q == '1') {
        return 1000;
    }
    if (*q++ != '0') {
        return -1;
    }
    if (*q == '.') {
        for (++q; apr_isdigit(*q) && digits < 3; ++q, ++digits) {
            v = v * 10 + (*q - '0');
        }
    }
    while (digits++ < 3) {
        v *= 10;
    }
    return v;
}

/*
 * Hand-written because httpd's negotiation lives in mod_negotiation (not
 * callable from a handler, nor from the server-independent core).
 */
const char *consent_lang_negotiate(const char *accept_language,
                                   const apr_array_header_t *offered,
                                   const char *dflt, apr_pool_t *p)
{
    char *list, *item, *state;
    const char *best = NULL;
    int best_score = 0, i;

    if (!offered || offered->nelts == 0) {
        return dflt;
    }
    if (!dflt) {
        dflt = APR_ARRAY_IDX(offered, 0, const char *);
    }
    if (!accept_language || strlen(accept_language) > 1024) {
        return dflt;
    }
    list = apr_pstrdup(p, accept_language);
    for (item = apr_strtok(list, ",", &state); item;
         item = apr_strtok(NULL, ",", &state)) {
        char *semi = strchr(item, ';');
        int q = parse_q(semi ? semi : "");
        apr_size_t rlen;

        while (*item == ' ' || *item == '\t') {
            ++item;
        }
        rlen = semi ? (apr_size_t)(semi - item) : strlen(item);
        while (rlen > 0 && (item[rlen - 1] == ' ' || item[rlen - 1] == '\t')) {
            --rlen;
        }
        for (i = 0; q > 0 && i < offered->nelts; ++i) {
            const char *tag = APR_ARRAY_IDX(offered, i, const char *);
            int m = lang_match(item, rlen, tag);
            /* quality first, then exact over prefix, then header order */
            int score = m ? q * 4 + m : 0;

            if (score > best_score) {
                best_score = score;
                best = tag;
            }
        }
    }
    return best ? best : dflt;
}
