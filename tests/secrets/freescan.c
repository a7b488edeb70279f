/* SPDX-License-Identifier: Apache-2.0 */
/*
 * freescan.c - an allocation interposer for tests (LD_PRELOAD): it fails a test when a
 * block freed (or moved by realloc) by the library still holds one of the test's secrets.
 *
 * The test registers its secrets with freescan_watch() (found with dlsym). On every free
 * and realloc the old block is searched for them; when one is found, the call stack says
 * who freed it: a block freed by libintunescep or by the SWIG module (directly, or through
 * cJSON on the library's behalf) is a violation, counted and reported by label (never the
 * secret itself). Blocks freed inside libcurl or OpenSSL are out of the library's reach and
 * are not counted; blocks the test program itself frees are its own business.
 *
 * freescan_live() counts the live blocks (tracked from malloc to free) that hold a
 * secret: a secret kept longer than it is needed shows there.
 *
 * Only for plain builds: the sanitizers and valgrind replace the allocator themselves.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

#define MAX_NEEDLES 16
#define NEEDLE_MAX 256
#define SLOTS (1u << 21) /* live blocks tracked */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char label[64];
    char bytes[NEEDLE_MAX];
    size_t len;
} needles[MAX_NEEDLES];
static int nneedles;
static long violations;
static void *slots[SLOTS];
static size_t nslots;
static __thread int in_hook;

/* ---- live-block table: linear probing with backward-shift deletion ---- */

static size_t slot_of(const void *p) {
    uintptr_t x = (uintptr_t)p >> 4;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 11) & (SLOTS - 1);
}

static void track(void *p) {
    if (!p || nslots > SLOTS / 10 * 7) return;
    size_t i = slot_of(p);
    while (slots[i]) i = (i + 1) & (SLOTS - 1);
    slots[i] = p;
    nslots++;
}

static void untrack(void *p) {
    size_t i = slot_of(p);
    while (slots[i] && slots[i] != p) i = (i + 1) & (SLOTS - 1);
    if (!slots[i]) return;
    slots[i] = NULL;
    nslots--;
    size_t j = i;
    for (;;) {
        j = (j + 1) & (SLOTS - 1);
        if (!slots[j]) break;
        size_t k = slot_of(slots[j]);
        int move = (j > i) ? (k <= i || k > j) : (k <= i && k > j);
        if (move) {
            slots[i] = slots[j];
            slots[j] = NULL;
            i = j;
        }
    }
}

/* ---- who frees ---- */

enum { WHO_OTHER, WHO_LIBRARY, WHO_OUT_OF_REACH };

static int has(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

static int who_frees(const char **fn_out) {
    void *frames[24];
    int n = backtrace(frames, 24);
    for (int i = 2; i < n; i++) {
        Dl_info info;
        if (!dladdr(frames[i], &info) || !info.dli_fname) return WHO_OTHER;
        const char *f = info.dli_fname;
        if (has(f, "libintunescep") || has(f, "_native")) {
            *fn_out = info.dli_sname;
            return WHO_LIBRARY;
        }
        if (has(f, "libcurl") || has(f, "libssl") || has(f, "libcrypto") || has(f, "libnghttp") || has(f, "libz"))
            return WHO_OUT_OF_REACH;
        if (has(f, "libc.so") || has(f, "libcjson") || has(f, "freescan")) continue;
        return WHO_OTHER;
    }
    return WHO_OTHER;
}

static void check_block(void *p, const char *how) {
    if (!nneedles) return;
    size_t size = malloc_usable_size(p);
    for (int k = 0; k < nneedles; k++) {
        if (!memmem(p, size, needles[k].bytes, needles[k].len)) continue;
        const char *fn = NULL;
        if (who_frees(&fn) != WHO_LIBRARY) return;
        __atomic_add_fetch(&violations, 1, __ATOMIC_SEQ_CST);
        char line[256];
        int m = snprintf(line, sizeof line, "freescan: a block of %zu bytes %s by the library (%s) still holds %s\n",
                         size, how, fn ? fn : "?", needles[k].label);
        if (m > 0) (void)!write(2, line, (size_t)m < sizeof line ? (size_t)m : sizeof line - 1);
        return;
    }
}

/* ---- the allocator ---- */

void *malloc(size_t n) {
    void *p = __libc_malloc(n);
    if (p && !in_hook) {
        in_hook = 1;
        pthread_mutex_lock(&mu);
        track(p);
        pthread_mutex_unlock(&mu);
        in_hook = 0;
    }
    return p;
}

void *calloc(size_t a, size_t b) {
    void *p = __libc_calloc(a, b);
    if (p && !in_hook) {
        in_hook = 1;
        pthread_mutex_lock(&mu);
        track(p);
        pthread_mutex_unlock(&mu);
        in_hook = 0;
    }
    return p;
}

void free(void *p) {
    if (!p) return;
    if (!in_hook) {
        in_hook = 1;
        pthread_mutex_lock(&mu);
        untrack(p);
        pthread_mutex_unlock(&mu);
        check_block(p, "freed");
        in_hook = 0;
    }
    __libc_free(p);
}

void *realloc(void *p, size_t n) {
    if (!p) return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (in_hook) return __libc_realloc(p, n);
    in_hook = 1;
    check_block(p, "left behind by realloc");
    void *q = __libc_realloc(p, n);
    if (q) {
        pthread_mutex_lock(&mu);
        untrack(p);
        track(q);
        pthread_mutex_unlock(&mu);
    }
    in_hook = 0;
    return q;
}

static void *aligned(size_t align, size_t n) {
    void *p = __libc_memalign(align, n);
    if (p && !in_hook) {
        in_hook = 1;
        pthread_mutex_lock(&mu);
        track(p);
        pthread_mutex_unlock(&mu);
        in_hook = 0;
    }
    return p;
}

int posix_memalign(void **out, size_t align, size_t n) {
    void *p = aligned(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n) { return aligned(align, n); }
void *memalign(size_t align, size_t n) { return aligned(align, n); }

/* ---- the test's side ---- */

/** Watch for `len` bytes of `secret` (at most 256 are compared), reported as `label`. */
void freescan_watch(const char *label, const void *secret, size_t len) {
    pthread_mutex_lock(&mu);
    if (nneedles < MAX_NEEDLES && len) {
        snprintf(needles[nneedles].label, sizeof needles[nneedles].label, "%s", label);
        if (len > NEEDLE_MAX) len = NEEDLE_MAX;
        memcpy(needles[nneedles].bytes, secret, len);
        needles[nneedles].len = len;
        nneedles++;
    }
    pthread_mutex_unlock(&mu);
}

/** Forget every watched secret and the violations counted so far. */
void freescan_clear(void) {
    pthread_mutex_lock(&mu);
    memset(needles, 0, sizeof needles);
    nneedles = 0;
    __atomic_store_n(&violations, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&mu);
}

/** Blocks freed by the library that still held a watched secret, since freescan_clear. */
long freescan_violations(void) { return __atomic_load_n(&violations, __ATOMIC_SEQ_CST); }

/** Live blocks holding `len` bytes of `secret`. */
long freescan_live(const void *secret, size_t len) {
    long n = 0;
    in_hook = 1;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < SLOTS; i++)
        if (slots[i] && memmem(slots[i], malloc_usable_size(slots[i]), secret, len)) n++;
    pthread_mutex_unlock(&mu);
    in_hook = 0;
    return n;
}

__attribute__((constructor)) static void warm_up(void) {
    void *frames[2];
    in_hook = 1;
    backtrace(frames, 2); /* loads the unwinder now, not inside a hook */
    in_hook = 0;
}
