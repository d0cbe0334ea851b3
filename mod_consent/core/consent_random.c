/* See consent_random.h. */
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "consent_random.h"

#define POOL 1024

static __thread unsigned char pool[POOL];
static __thread apr_size_t left;
static __thread pid_t filled_by;

apr_status_t consent_random_bytes(unsigned char *out, apr_size_t n)
{
    pid_t pid = getpid();
    unsigned char *from;

    if (n > CONSENT_RANDOM_MAX) {
        return APR_EINVAL;
    }
    if (filled_by != pid || left < n) {
        if (RAND_bytes(pool, POOL) != 1) {
            left = 0;
            return APR_EGENERAL;
        }
        left = POOL;
        filled_by = pid;
    }
    from = pool + POOL - left;
    memcpy(out, from, n);
    OPENSSL_cleanse(from, n);
    left -= n;
    return APR_SUCCESS;
}
