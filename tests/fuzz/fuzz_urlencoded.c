/*
 * The core's urlencoded parser (consent_urlencoded.c), which the nginx
 * adapter feeds with raw request bodies. Besides memory errors, checks a
 * round trip: whatever the parser accepts, re-encoded, parses back to the
 * same fields (names, values and lengths, NUL bytes included), and no
 * accepted name is empty or carries a NUL.
 */
#include <string.h>

#include "consent_urlencoded.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_pool();
    return 0;
}

static void encode(apr_array_header_t *out, const char *s, apr_size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.') {
            APR_ARRAY_PUSH(out, char) = (char)c;
        }
        else {
            APR_ARRAY_PUSH(out, char) = '%';
            APR_ARRAY_PUSH(out, char) = hex[c >> 4];
            APR_ARRAY_PUSH(out, char) = hex[c & 15];
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_array_header_t *fs, *again, *body;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, fuzz_pool());
    if (consent_urlencoded_parse((const char *)data, size, &fs, NULL, p)
        != APR_SUCCESS) {
        apr_pool_destroy(p);
        return 0;
    }
    body = apr_array_make(p, (int)size * 3 + 1, 1);
    for (i = 0; i < fs->nelts; ++i) {
        const consent_field_value_t *f =
            &APR_ARRAY_IDX(fs, i, consent_field_value_t);

        if (f->bad_name) {
            /* a NUL or bad UTF-8 in a name: the page refuses it; strlen
             * cannot carry it round */
            apr_pool_destroy(p);
            return 0;
        }
        if (!*f->name || f->value[f->len] != '\0') {
            abort();
        }
        if (i) {
            APR_ARRAY_PUSH(body, char) = '&';
        }
        encode(body, f->name, strlen(f->name));
        APR_ARRAY_PUSH(body, char) = '=';
        encode(body, f->value, f->len);
    }
    if (consent_urlencoded_parse(body->elts, (apr_size_t)body->nelts,
                                 &again, NULL, p) != APR_SUCCESS
        || again->nelts != fs->nelts) {
        abort();
    }
    for (i = 0; i < fs->nelts; ++i) {
        const consent_field_value_t *a =
            &APR_ARRAY_IDX(fs, i, consent_field_value_t);
        const consent_field_value_t *b =
            &APR_ARRAY_IDX(again, i, consent_field_value_t);

        if (strcmp(a->name, b->name) != 0 || a->len != b->len
            || memcmp(a->value, b->value, a->len) != 0) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
