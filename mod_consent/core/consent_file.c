#include <apr_file_io.h>
#include <apr_file_info.h>

#include "consent_file.h"

/* The open file is asked again: the path may have changed since. */
static apr_status_t read_open(apr_file_t *f, apr_size_t max, char **buf,
                              apr_size_t *len, apr_pool_t *p)
{
    apr_finfo_t fi;
    apr_status_t rv = apr_file_info_get(&fi, APR_FINFO_TYPE
                                        | APR_FINFO_SIZE, f);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (fi.filetype != APR_REG) {
        return APR_EINVAL;
    }
    if (fi.size > (apr_off_t)max) {
        return APR_ENOSPC;
    }
    *buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    *len = 0;
    rv = fi.size > 0
         ? apr_file_read_full(f, *buf, (apr_size_t)fi.size, len)
         : APR_SUCCESS;
    (*buf)[*len] = '\0';
    return rv == APR_EOF ? APR_SUCCESS : rv;
}

apr_status_t consent_file_read(const char *path, apr_size_t max,
                               const char *rule, const char **buf,
                               apr_size_t *len,
                               apr_array_header_t *problems, apr_pool_t *p)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *data = NULL, err[120];
    apr_status_t rv;

    /* asked before opening too: opening a FIFO would wait for a writer */
    rv = apr_stat(&fi, path, APR_FINFO_TYPE, p);
    if (rv == APR_SUCCESS && fi.filetype != APR_REG) {
        rv = APR_EINVAL;
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                           APR_OS_DEFAULT, p);
    }
    if (rv == APR_SUCCESS) {
        rv = read_open(f, max, &data, len, p);
        apr_file_close(f);
    }
    if (rv == APR_EINVAL) {
        consent_problem_add(problems, path, 0, rule, "not a regular file");
    }
    else if (rv == APR_ENOSPC) {
        consent_problem_add(problems, path, 0, rule,
                            "larger than %lu bytes", (unsigned long)max);
    }
    else if (rv != APR_SUCCESS) {
        consent_problem_add(problems, path, 0, rule, "cannot be read: %s",
                            apr_strerror(rv, err, sizeof err));
    }
    *buf = data;
    return rv;
}
