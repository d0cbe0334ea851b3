/* Nonce bytes from a per-thread buffer (consent_random.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "consent_random.h"

static void bytes_never_repeat(void **state)
{
    static unsigned char seen[2000][16];
    int i, j;

    /* more than one buffer's worth, so refills are crossed */
    for (i = 0; i < 2000; ++i) {
        assert_int_equal(consent_random_bytes(seen[i], 16), APR_SUCCESS);
        for (j = 0; j < i; ++j) {
            assert_memory_not_equal(seen[i], seen[j], 16);
        }
    }
    assert_int_equal(consent_random_bytes(seen[0], CONSENT_RANDOM_MAX + 1),
                     APR_EINVAL);
}

/* A forked child must not hand out the bytes its parent will. */
static void a_child_draws_its_own(void **state)
{
    unsigned char parent[16], child[16];
    int fds[2], status;
    pid_t pid;

    assert_int_equal(consent_random_bytes(parent, 16), APR_SUCCESS);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        consent_random_bytes(child, 16);
        _exit(write(fds[1], child, 16) == 16 ? 0 : 1);
    }
    assert_int_equal(read(fds[0], child, 16), 16);
    waitpid(pid, &status, 0);
    assert_int_equal(consent_random_bytes(parent, 16), APR_SUCCESS);
    assert_memory_not_equal(parent, child, 16);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bytes_never_repeat),
        cmocka_unit_test(a_child_draws_its_own),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
