/*
 * What every fuzz target shares: one APR initialisation, a pool per input,
 * and the example form compiled once. The same sources build two ways:
 * with clang's libFuzzer (build/fuzz) to search, and with the normal
 * compiler and replay.c's main() to replay the committed corpora.
 */
#ifndef CONSENT_FUZZ_H
#define CONSENT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "consent_form.h"
#include "consent_key.h"

#ifndef FUZZ_SRCDIR
#error "FUZZ_SRCDIR must name the source tree (for templates/)"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process-wide pool; inputs get a subpool of it. */
apr_pool_t *fuzz_pool(void);

/* templates/consent-form.rng, compiled once; aborts when it can't be. */
const consent_schema_t *fuzz_schema(void);

/* templates/examples/newsletter.xml, loaded, linted, notices built. */
const consent_form_t *fuzz_form(void);

/* Any definition of the source tree, compiled the same way. */
const consent_form_t *fuzz_form_at(const char *relpath);

/* A keyring with one fixed 48-byte key (no file: fuzzers stay pure). */
const consent_keyring_t *fuzz_keyring(void);

/* A NUL-terminated copy of the input in p. */
char *fuzz_cstr(const uint8_t *data, size_t size, apr_pool_t *p);

#endif
