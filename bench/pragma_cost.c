/*
 * What the sqlite3 connection settings would cost if they ran on every
 * request (issue 15 asked: measure, then keep or remove): N calls of
 * consent_store_connection_init (PRAGMA busy_timeout, PRAGMA synchronous)
 * on one open connection, against N trivial statements (SELECT 1) on the
 * same one, wall and CPU time per call. mod_consent runs the settings
 * once per connection (mod_dbd's post_connect hook, the writer's connect).
 *
 *     pragma_cost DATABASE N
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <apr_general.h>
#include <apr_dbd.h>

#include "consent_store.h"

static double cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int select_one(const apr_dbd_driver_t *d, apr_dbd_t *h,
                      apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;

    if (apr_dbd_select(d, p, h, &res, "SELECT 1", 0) != 0) {
        return 1;
    }
    while (apr_dbd_get_row(d, p, res, &row, -1) == 0) {
    }
    return 0;
}

/* Runs one of the two kinds n times: wall and CPU microseconds a call. */
static int measure(const apr_dbd_driver_t *d, apr_dbd_t *h, int pragmas,
                   long n, apr_pool_t *p, double *wall, double *cpu)
{
    apr_time_t t0 = apr_time_now();
    double c0 = cpu_us();
    const char *err = NULL;
    apr_pool_t *it;
    long i;

    apr_pool_create(&it, p);
    for (i = 0; i < n; ++i) {
        if (pragmas ? consent_store_connection_init(d, h, it, &err) != 0
                    : select_one(d, h, it) != 0) {
            fprintf(stderr, "pragma_cost: %s\n", err ? err : "failed");
            return 1;
        }
        apr_pool_clear(it);
    }
    *wall = (double)(apr_time_now() - t0) / n;
    *cpu = (cpu_us() - c0) / n;
    return 0;
}

int main(int argc, char **argv)
{
    const apr_dbd_driver_t *d;
    apr_dbd_t *h;
    apr_pool_t *p;
    const char *err = NULL;
    double pw, pc, sw, sc;
    long n;

    if (argc != 3 || (n = atol(argv[2])) <= 0) {
        fprintf(stderr, "usage: pragma_cost DATABASE N\n");
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    apr_dbd_init(p);
    if (apr_dbd_get_driver(p, "sqlite3", &d) != APR_SUCCESS
        || apr_dbd_open_ex(d, p, argv[1], &h, &err) != APR_SUCCESS) {
        fprintf(stderr, "pragma_cost: cannot open %s: %s\n", argv[1],
                err ? err : "?");
        return 1;
    }
    if (measure(d, h, 1, n, p, &pw, &pc) || measure(d, h, 0, n, p, &sw, &sc)
        || measure(d, h, 1, n, p, &pw, &pc)) {   /* the second run: warm */
        return 1;
    }
    printf("{\"pragmas_wall_us\": %.3f, \"pragmas_cpu_us\": %.3f, "
           "\"select_wall_us\": %.3f, \"select_cpu_us\": %.3f}\n",
           pw, pc, sw, sc);
    apr_dbd_close(d, h);
    apr_terminate();
    return 0;
}
