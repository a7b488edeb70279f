/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_common.h - shared helpers of the libFuzzer harnesses: an invariant check
 * that aborts (so libFuzzer records the input as a crash) and checks of the
 * strings a parser hands back to a caller.
 */
#ifndef INTUNE_SCEP_FUZZ_COMMON_H
#define INTUNE_SCEP_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/** Abort with file:line and the broken invariant when `cond` is false. */
#define FUZZ_ASSERT(cond)                                                                    \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/**
 * 1 when the check named `what` ("utf8", "line", "date", "expires") is relaxed through the
 * environment: FUZZ_RELAX="utf8,line,date,expires" keeps a long run going for memory errors
 * while a known finding of that check is open. Nothing is relaxed by default
 * (nor in CI).
 */
static inline int fuzz_relaxed(const char *what) {
    const char *v = getenv("FUZZ_RELAX");
    return v && strstr(v, what) != NULL;
}

/** 1 when `s` is valid UTF-8 (the ABI's strings are UTF-8). */
static inline int fuzz_utf8(const char *s) {
    static int strict = -1;
    if (strict < 0) strict = !fuzz_relaxed("utf8");
    return !strict || isc_utf8_valid(s, strlen(s));
}

/** 1 when `s` is NULL or valid UTF-8 without any control character (one printable line). */
static inline int fuzz_one_line(const char *s) {
    if (!s) return 1;
    return fuzz_utf8(s) && (!isc_has_control(s) || fuzz_relaxed("line"));
}

/** Every field of an error object: the message a caller logs is one line and valid UTF-8. */
static inline void fuzz_check_error(const intune_scep_error *err, int rc) {
    FUZZ_ASSERT(err->status == rc || rc == INTUNE_SCEP_OK);
    if (rc != INTUNE_SCEP_OK) {
        FUZZ_ASSERT(err->message && *err->message);
        FUZZ_ASSERT(fuzz_one_line(err->message));
    }
    FUZZ_ASSERT(fuzz_one_line(err->description) || err->status == INTUNE_SCEP_E_REJECTED);
}

/** A NUL-terminated heap copy of the input (some readers are also given C strings). */
static inline char *fuzz_copy(const uint8_t *data, size_t size) {
    char *p = malloc(size + 1);
    if (!p) abort();
    if (size) memcpy(p, data, size);
    p[size] = '\0';
    return p;
}

#endif
