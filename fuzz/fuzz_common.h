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

#include "error.h"
#include "parse.h"
#include "util.h"

#include <cjson/cJSON.h>

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

/*
 * An independent reading of the rules every reader of answers follows (core/parse.c): the bytes
 * are one JSON object and nothing but blanks after it; an answer that also holds a NUL (a byte, or
 * a \u0000 escape in a member name or string value) or the same member name twice in one object
 * (at any depth) cannot be trusted. Written differently from the library on purpose: a lexer
 * that follows strings and escapes, and a comparison of every pair of members.
 */

/** The object the bytes hold (one JSON object, then only blanks), or NULL. Free with cJSON_Delete. */
static inline cJSON *fuzz_json_object(const char *body, size_t size) {
    const char *end = NULL;
    cJSON *j = size ? cJSON_ParseWithLengthOpts(body, size, &end, 0) : NULL;
    if (j && end) {
        size_t used = (size_t)(end - body);
        while (used < size && body[used] && strchr(" \t\r\n", body[used])) used++;
        if (used != size) {
            cJSON_Delete(j);
            j = NULL;
        }
    }
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

/** 1 when a JSON string in the bytes holds the escape \u0000. */
static inline int fuzz_has_nul_escape(const char *body, size_t size) {
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < size; i++) {
        char c = body[i];
        if (!in_string) {
            if (c == '"') in_string = 1;
        } else if (escaped) {
            escaped = 0;
            if (c == 'u' && i + 4 < size && memcmp(body + i + 1, "0000", 4) == 0) return 1;
        } else if (c == '\\') {
            escaped = 1;
        } else if (c == '"') {
            in_string = 0;
        }
    }
    return 0;
}

/** 1 when an object in the tree has two members of one name. */
static inline int fuzz_has_duplicate(const cJSON *item) {
    for (; item; item = item->next) {
        if (cJSON_IsObject(item))
            for (const cJSON *a = item->child; a; a = a->next)
                for (const cJSON *b = a->next; b; b = b->next)
                    if (strcmp(a->string ? a->string : "", b->string ? b->string : "") == 0) return 1;
        if (fuzz_has_duplicate(item->child)) return 1;
    }
    return 0;
}

/** 1 when the bytes are one JSON object that cannot be trusted (a NUL, or a duplicated member name). */
static inline int fuzz_untrusted(const char *body, size_t size) {
    cJSON *j = fuzz_json_object(body, size);
    if (!j) return 0;
    int bad = memchr(body, 0, size) != NULL || fuzz_has_nul_escape(body, size) || fuzz_has_duplicate(j);
    cJSON_Delete(j);
    return bad;
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
