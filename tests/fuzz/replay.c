/*
 * Replays fuzz inputs without libFuzzer: `replay_X FILE|DIR...` feeds each
 * file to LLVMFuzzerTestOneInput once; with no argument, the committed
 * corpus of X (FUZZ_CORPUS), which is how `make check` runs it. Built by
 * `make check` with the normal compiler, so the committed corpora run in
 * every test run (the mod_auth_openidc idiom); a crash or sanitizer
 * report fails the test.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    size_t n;

    if (!f) {
        perror(path);
        return 1;
    }
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

static int run_path(const char *path, int *count)
{
    struct stat st;
    struct dirent *e;
    DIR *d;
    char sub[4096];
    int bad = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        ++*count;
        return run_file(path);
    }
    if (!(d = opendir(path))) {
        perror(path);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            bad |= run_path(sub, count);
        }
    }
    closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    int i, bad = 0, count = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; ++i) {
        bad |= run_path(argv[i], &count);
    }
#ifdef FUZZ_CORPUS
    if (argc < 2) {
        bad |= run_path(FUZZ_CORPUS, &count);
    }
#endif
    printf("replayed %d input(s)\n", count);
    return bad || count == 0;
}
