/*
 * Random bytes for nonces, cheaply. OpenSSL 3's RAND_bytes costs about a
 * microsecond a call, paid by every form page for its token's nonce; a
 * thread draws them from a buffer filled by RAND_bytes instead.
 */
#ifndef CONSENT_RANDOM_H
#define CONSENT_RANDOM_H

#include "consent.h"

/*
 * n bytes (at most CONSENT_RANDOM_MAX) from this thread's buffer of
 * RAND_bytes output, refilled when used up and whenever the process is
 * not the one that filled it (after fork, a child must not hand out its
 * parent's bytes). Bytes handed out are wiped from the buffer.
 */
#define CONSENT_RANDOM_MAX 64
apr_status_t consent_random_bytes(unsigned char *out, apr_size_t n);

#endif
