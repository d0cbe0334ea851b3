/*
 * Guard mode's page inspection (consent_guard.c): any bytes an
 * application may send as HTML, against the example guard definition
 * (templates/examples/signup-guard.xml). Besides memory errors, it checks
 * the promise made to the site: without ConsentGuardFix the page comes out
 * exactly as it went in but for the inserted tokens, however it is cut
 * into pieces; broken: abort(). (That the cuts change nothing at all is
 * checked on real pages by the unit tests; on garbage, libxml2 2.9 itself
 * does not always parse the same way whatever its buffer boundaries.)
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

static void run(const uint8_t *data, size_t size, int fix, unsigned seed,
                sink_t *out, apr_pool_t *p)
{
    consent_guard_opts_t o;

    memset(&o, 0, sizeof o);
    o.form = guard_form;
    o.fix = fix;
    o.max_hold = 4096;          /* small: the give-up path gets explored */
    o.token = sign;
    o.token_baton = p;
    o.write = sink_write;
    o.write_baton = out;
    if (consent_guard_page(&o, (const char *)data, size, seed, NULL, p)
        != APR_SUCCESS) {
        abort();
    }
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
    apr_pool_t *p;
    unsigned n = 0;

    /* a marker that cannot already be in the page */
    do {
        apr_snprintf(marker, sizeof marker, "fuzz-%u-", n++);
    } while (size && memmem(data, size, marker, strlen(marker)));
    apr_pool_create(&p, fuzz_pool());
    run(data, size, 0, 1, &a, p);
    run(data, size, 0, (unsigned)size * 2654435761u, &b, p);
    run(data, size, 1, 7, &c, p);
    check_only_insertions(data, size, &b);
    check_only_insertions(data, size, &a);
    free(a.buf);
    free(b.buf);
    free(c.buf);
    apr_pool_destroy(p);
    return 0;
}
