#include "consent_hex.h"

const char *consent_hex(apr_pool_t *p, const unsigned char *b,
                        apr_size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, 2 * len + 1);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0x0f];
    }
    out[2 * len] = '\0';
    return out;
}

int consent_hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int consent_hex_decode(unsigned char *out, const char *hex, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        int hi = consent_hex_digit(hex[2 * i]);
        int lo = hi < 0 ? -1 : consent_hex_digit(hex[2 * i + 1]);

        if (lo < 0) {
            return 0;
        }
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return hex[2 * len] == '\0';
}
