/*
 * Hex, both ways: ids, digests and MACs are stored and shown as
 * lower-case hex, and hex ids and percent-escapes are read back. One
 * place, so that every reader accepts the same digits.
 */
#ifndef CONSENT_HEX_H
#define CONSENT_HEX_H

#include <apr_pools.h>

/* Lower-case hex of len bytes. */
const char *consent_hex(apr_pool_t *p, const unsigned char *b, apr_size_t len);

/* The value of one hex digit, either case; -1 for anything else. */
int consent_hex_digit(int c);

/* Exactly 2 * len hex digits, and nothing after them, into out[len];
 * 0 (out undefined) for anything else. */
int consent_hex_decode(unsigned char *out, const char *hex, apr_size_t len);

#endif
