/* SPDX-License-Identifier: Apache-2.0 */
/* util.c - small utilities: time, strings, secrets, UUIDs, UTF-8, buffers. */
#include "util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

uint64_t isc_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void isc_sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

char *isc_strdup(const char *s) {
    return s ? isc_strndup(s, strlen(s)) : NULL;
}

char *isc_strndup(const char *s, size_t n) {
    if (!s) return NULL;
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *isc_vasprintf(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *isc_asprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = isc_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void isc_wipe(void *p, size_t n) {
    if (p && n) OPENSSL_cleanse(p, n);
}

void isc_free_secret(char *s) {
    if (!s) return;
    isc_wipe(s, strlen(s));
    free(s);
}

/*
 * The fork generation: a count the child of every fork() increments (a pthread_atfork
 * handler), read with one atomic load. A client notes it when it is made, and so tells
 * a child from its own process without a getpid() system call on every call.
 */
static atomic_uint fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void on_fork_child(void) {
    atomic_fetch_add(&fork_generation, 1);
}
static void register_atfork(void) {
    pthread_atfork(NULL, NULL, on_fork_child);
}

unsigned isc_fork_generation(void) {
    pthread_once(&atfork_once, register_atfork);
    return atomic_load(&fork_generation);
}

/*
 * Activity ids need uniqueness, not secrecy, and one RAND_bytes per call takes
 * the DRBG's lock on the hot path: each thread draws 64 ids' worth at once. A
 * fork makes every thread's batch stale (the child must not repeat the parent's ids).
 */
void isc_uuid4(char out[37]) {
    static const char hex[] = "0123456789abcdef";
    static _Thread_local unsigned char batch[16 * 64];
    static _Thread_local size_t used = sizeof batch;
    static _Thread_local unsigned batch_generation;
    unsigned gen = isc_fork_generation();
    if (used >= sizeof batch || batch_generation != gen) {
        if (RAND_bytes(batch, sizeof batch) != 1) {
            /* RAND_bytes does not fail on a working system; never send a predictable id silently. */
            abort();
        }
        used = 0;
        batch_generation = gen;
    }
    unsigned char *b = batch + used;
    used += 16;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

uint64_t isc_random_below(uint64_t n) {
    uint64_t r = 0;
    if (n == 0) return 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) return n / 2;
    return r % n;
}

/* Word-at-a-time byte tests (SWAR) on 8 bytes: each sets the high bit of some byte exactly when
 * some byte of x is in the class (the exact byte may be off after the first hit; the loops below
 * find it byte by byte). */
#define ISC_ONES UINT64_C(0x0101010101010101)
#define ISC_HIGHS UINT64_C(0x8080808080808080)
#define ISC_ANY_BELOW(x, n) (((x) - ISC_ONES * (n)) & ~(x) & ISC_HIGHS) /* n <= 128 */
#define ISC_ANY_ABOVE(x, m) ((((x) + ISC_ONES * (127 - (m))) | (x)) & ISC_HIGHS) /* m <= 127 */
#define ISC_ANY_EQUAL(x, b) ISC_ANY_BELOW((x) ^ (ISC_ONES * (b)), 1)

static uint64_t load64(const unsigned char *p) {
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

size_t isc_printable_span(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
#if defined(__SSE2__)
    /* 16 bytes at a time: as signed bytes, printable ASCII is > 0x1f and < 0x7f (0x80-0xff are negative). */
    const __m128i lo = _mm_set1_epi8(0x1f), hi = _mm_set1_epi8(0x7f);
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(x, lo), _mm_cmplt_epi8(x, hi));
        if (_mm_movemask_epi8(ok) != 0xffff) break;
    }
#else
    for (; i + 16 <= n; i += 16) {
        uint64_t a = load64(s + i), b = load64(s + i + 8);
        if (ISC_ANY_BELOW(a, 0x20) | ISC_ANY_ABOVE(a, 0x7e) | ISC_ANY_BELOW(b, 0x20) | ISC_ANY_ABOVE(b, 0x7e)) break;
    }
#endif
    while (i < n && s[i] >= 0x20 && s[i] < 0x7f) i++;
    return i;
}

size_t isc_json_plain_span(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
#if defined(__SSE2__)
    /* 16 bytes at a time: as signed bytes, > 0x1f is 0x20-0x7f; then neither '"' nor '\\'. */
    const __m128i lo = _mm_set1_epi8(0x1f), quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash));
        __m128i ok = _mm_andnot_si128(bad, _mm_cmpgt_epi8(x, lo));
        if (_mm_movemask_epi8(ok) != 0xffff) break;
    }
#else
    for (; i + 8 <= n; i += 8) {
        uint64_t a = load64(s + i);
        if (ISC_ANY_BELOW(a, 0x20) | ISC_ANY_ABOVE(a, 0x7f) | ISC_ANY_EQUAL(a, '"') | ISC_ANY_EQUAL(a, '\\')) break;
    }
#endif
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

int isc_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            /* ASCII runs a word at a time: no byte with the high bit, no NUL. */
            while (i + 8 <= n) {
                uint64_t w = load64(s + i);
                if (ISC_ANY_ABOVE(w, 0x7f) | ISC_ANY_BELOW(w, 1)) break;
                i += 8;
            }
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int isc_has_control(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) return 1;
    }
    return 0;
}

void isc_utf8_repair(char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !isc_utf8_valid(s + i, k)) k++;
        if (k <= 4 && i + k <= n) {
            i += k;
        } else {
            s[i++] = '?';
        }
    }
}

char *isc_utf8_copy(const char *s, size_t max) {
    if (!s) return NULL;
    size_t n = strnlen(s, max);
    /* Cut at a character boundary: step back over continuation bytes of a split character. */
    if (n == max && n > 0 && (unsigned char)s[n] >= 0x80) {
        size_t k = n;
        while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
        if (n - k < 4) n = k;
    }
    char *p = isc_strndup(s, n);
    if (p) isc_utf8_repair(p, n);
    return p;
}

char *isc_one_line(const char *s, size_t max) {
    char *p = isc_utf8_copy(s, max);
    if (!p) return NULL;
    size_t n = strlen(p);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f) p[i] = ' ';
    }
    while (n > 0 && p[n - 1] == ' ') p[--n] = '\0';
    return p;
}

int isc_strcaseeq(const char *a, const char *b) {
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return 0;
        if (!x) return 1;
    }
}

int isc_has_prefix_ci(const char *s, const char *prefix) {
    for (; *prefix; s++, prefix++) {
        unsigned char x = (unsigned char)*s, y = (unsigned char)*prefix;
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return 0;
    }
    return 1;
}

int isc_buf_append(isc_buf *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        /* Not realloc: the old block may hold a secret (a token answer, a properties file's
         * app key) and realloc would free it unwiped. Allocate, copy, wipe, free. */
        /* calloc: a recycled block may still hold what other code (libcurl's request buffer
         * with an Authorization line) left in it; the buffer starts from zeros, not from that. */
        char *d = calloc(1, cap);
        if (!d) return INTUNE_SCEP_E_NOMEM;
        if (b->data) {
            memcpy(d, b->data, b->len + 1);
            isc_wipe(b->data, b->cap);
            free(b->data);
        }
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return INTUNE_SCEP_OK;
}

void isc_buf_reset(isc_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void isc_buf_free(isc_buf *b) {
    if (b->data) isc_wipe(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *isc_code_shown(const char *code) {
    if (!code) return NULL;
    char *c = isc_utf8_copy(code, 128);
    if (!c) return NULL;
    int plain = *c != '\0' && !isc_has_prefix_ci(c, "success");
    for (const char *p = c; *p && plain; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\') plain = 0;
    if (plain) return c;
    /* Quoted, with every blank-like or control byte escaped: "Success\t", " Success", "success". */
    isc_buf b = {0};
    int bad = isc_buf_append(&b, "\"", 1);
    for (const char *p = c; *p && !bad; p++) {
        unsigned char ch = (unsigned char)*p;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            bad = isc_buf_append(&b, esc, 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            bad = isc_buf_append(&b, esc, 6);
        } else {
            bad = isc_buf_append(&b, p, 1);
        }
    }
    if (!bad) bad = isc_buf_append(&b, "\"", 1);
    free(c);
    if (bad) {
        isc_buf_free(&b);
        return NULL;
    }
    return b.data;
}
