/*
 * Guard mode's page scanner and inspection (consent_guard_scan.c,
 * consent_guard_tag.c, consent_guard.c): any bytes an application may
 * send as HTML, against the example guard definition
 * (templates/examples/signup-guard.xml). Besides memory errors, it checks
 * the promises, and abort()s when one is broken:
 * - without ConsentGuardFix the page comes out exactly as it went in but
 *   for the inserted tokens, and the same whatever pieces it came in;
 * - a ticked box is always seen: the input with a pre-ticked guarded box
 *   appended (its "<!--" defused, since a comment hides a box from every
 *   browser too) is recorded ticked, whatever came before it;
 * - fix mode only says unticked of what is unticked: its output, read
 *   again without fix, ticks no purpose the fix run recorded unticked.
 */
#include <string.h>

#include "consent_guard.h"
#include "fuzz.h"

#define TOKEN_INPUT "<input type=\"hidden\" name=\"consent_token\" value=\""

typedef struct {
    char *buf;
    apr_size_t len;
    apr_size_t cap;
} sink_t;

static const consent_form_t *guard_form;
static char marker[32];

#define TICKED_BOX "<input type=checkbox name=optin_newsletter checked>"

static apr_status_t sink_write(void *baton, const char *data, apr_size_t len)
{
    sink_t *s = baton;

    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->buf = realloc(s->buf, s->cap);
        if (!s->buf) {
            abort();
        }
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return APR_SUCCESS;
}

/* The token spells a marker the input does not contain, then the facts. */
static apr_status_t sign(void *baton, const char *defaults,
                         const char **token)
{
    *token = apr_pstrcat(baton, marker, defaults, NULL);
    return APR_SUCCESS;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    guard_form = fuzz_form_at("templates/examples/signup-guard.xml");
    return 0;
}

/* The page's facts, or NULL when the guard gave up. */
static const char *run(const uint8_t *data, size_t size, int fix,
                       unsigned seed, sink_t *out, apr_pool_t *p)
{
    consent_guard_opts_t o;
    consent_guard_report_t r;

    memset(&o, 0, sizeof o);
    o.form = guard_form;
    o.fix = fix;
    o.max_hold = 4096;          /* small: the give-up path gets explored */
    o.token = sign;
    o.token_baton = p;
    o.write = sink_write;
    o.write_baton = out;
    if (consent_guard_page(&o, (const char *)data, size, seed, &r, p)
        != APR_SUCCESS) {
        abort();
    }
    return r.gave_up ? NULL : r.facts;
}

/* The input, its "<!--" defused, then a pre-ticked box: ticked. */
static void check_ticked_seen(const uint8_t *data, size_t size,
                              apr_pool_t *p)
{
    apr_size_t n = strlen(TICKED_BOX), i;
    char *page = apr_palloc(p, size + n);
    sink_t out = { NULL, 0, 0 };
    const char *facts;

    memcpy(page, data, size);
    for (i = 0; i + 3 < size; ++i) {
        if (memcmp(page + i, "<!--", 4) == 0) {
            page[i + 2] = 'x';
        }
    }
    memcpy(page + size, TICKED_BOX, n);
    facts = run((const uint8_t *)page, size + n, 0, 3, &out, p);
    if (facts && facts[0] != '1') {
        abort();
    }
    free(out.buf);
}

/* Fix mode's output read again: nothing ticks that it said did not. */
static void check_fix_sound(const char *fixed_facts, const sink_t *fixed,
                            apr_pool_t *p)
{
    sink_t again = { NULL, 0, 0 };
    const char *facts;
    apr_size_t i;

    facts = run((const uint8_t *)fixed->buf, fixed->len, 0, 5, &again, p);
    for (i = 0; fixed_facts && facts && facts[i]; ++i) {
        if (facts[i] == '1' && fixed_facts[i] != '1') {
            abort();
        }
    }
    free(again.buf);
}

/* The output minus the inputs the guard inserted must be the input. */
static void check_only_insertions(const uint8_t *data, size_t size,
                                  const sink_t *out)
{
    apr_size_t i = 0, j = 0, plen = strlen(TOKEN_INPUT);
    const char *close;

    while (i < out->len) {
        if (out->len - i > plen + strlen(marker)
            && memcmp(out->buf + i, TOKEN_INPUT, plen) == 0
            && memcmp(out->buf + i + plen, marker, strlen(marker)) == 0) {
            close = memchr(out->buf + i + plen, '>', out->len - i - plen);
            if (!close) {
                abort();
            }
            i = (apr_size_t)(close - out->buf) + 1;
            continue;
        }
        if (j >= size || out->buf[i] != (char)data[j]) {
            abort();
        }
        i++;
        j++;
    }
    if (j != size) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sink_t a = { NULL, 0, 0 }, b = { NULL, 0, 0 }, c = { NULL, 0, 0 };
    const char *fa, *fb, *fc;
    apr_pool_t *p;
    unsigned n = 0;

    /* a marker that cannot already be in the page */
    do {
        apr_snprintf(marker, sizeof marker, "fuzz-%u-", n++);
    } while (size && memmem(data, size, marker, strlen(marker)));
    apr_pool_create(&p, fuzz_pool());
    fa = run(data, size, 0, 1, &a, p);
    fb = run(data, size, 0, (unsigned)size * 2654435761u, &b, p);
    fc = run(data, size, 1, 7, &c, p);
    check_only_insertions(data, size, &b);
    check_only_insertions(data, size, &a);
    /* the pieces change nothing: same facts, same bytes but the tokens'
     * (the marker and the facts: the same length) */
    if ((fa == NULL) != (fb == NULL) || (fa && strcmp(fa, fb) != 0)
        || a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len) != 0)) {
        abort();
    }
    check_ticked_seen(data, size, p);
    check_fix_sound(fc, &c, p);
    free(a.buf);
    free(b.buf);
    free(c.buf);
    apr_pool_destroy(p);
    return 0;
}
