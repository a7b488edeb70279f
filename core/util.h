/* SPDX-License-Identifier: Apache-2.0 */
/* util.h - small utilities (util.c): time, strings, UTF-8, wiping, the growable buffer.
 * Pure: no I/O beyond the clock and the random source, no client */
#ifndef ISC_UTIL_H
#define ISC_UTIL_H

#include "intune_scep.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/** Monotonic clock in milliseconds. */
uint64_t isc_now_ms(void);
/** Sleep for `ms` milliseconds (restarted on EINTR). */
void isc_sleep_ms(uint64_t ms);
/** strdup that returns NULL for NULL. */
char *isc_strdup(const char *s);
char *isc_strndup(const char *s, size_t n);
/** printf into a new string (NULL when out of memory). */
char *isc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *isc_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/** Wipe and free a string (secrets). */
void isc_free_secret(char *s);
/** Wipe `n` bytes. */
void isc_wipe(void *p, size_t n);
/** The number of fork()s this process descends from since the library was first used (it changes
 *  in the child of every fork; the handler is registered on the first call). One atomic load. */
unsigned isc_fork_generation(void);
/** Write a random version-4 UUID, 36 characters and a NUL, into out. */
void isc_uuid4(char out[37]);
/** A random number in [0, n). */
uint64_t isc_random_below(uint64_t n);
/** 1 when `s` (n bytes) is valid UTF-8 without NUL. */
int isc_utf8_valid(const char *s, size_t n);
/** How many leading bytes of `s` (n bytes) are printable ASCII (0x20-0x7e); a word at a time. */
size_t isc_printable_span(const char *s, size_t n);
/** How many leading bytes of `s` (n bytes) go into a JSON string as they are: ASCII 0x20-0x7f but '"' and '\\'. */
size_t isc_json_plain_span(const char *s, size_t n);
/** 1 when `s` holds an ASCII control character (0x00-0x1f, 0x7f). */
int isc_has_control(const char *s);
/** Replace, in place, every byte of `s` (n bytes) that does not belong to a valid UTF-8 character with '?'. */
void isc_utf8_repair(char *s, size_t n);
/** A copy of `s`, at most `max` bytes cut at a character boundary, as valid UTF-8 (see isc_utf8_repair). */
char *isc_utf8_copy(const char *s, size_t max);
/** isc_utf8_copy on one line: control characters become spaces, trailing space trimmed. */
char *isc_one_line(const char *s, size_t max);
/**
 * A service code as a message or log line shows it (capped at 128 bytes on a character boundary):
 * as it is when it is one plain token that does not begin with "success" (any case); otherwise in
 * double quotes with blanks kept and control characters escaped ("Success\t", "success"). So only
 * the exact code Success can read code=Success (and a failed call never carries that one).
 */
char *isc_code_shown(const char *code);
/** Case-insensitive ASCII string equality. */
int isc_strcaseeq(const char *a, const char *b);
/** Case-insensitive ASCII prefix test. */
int isc_has_prefix_ci(const char *s, const char *prefix);

/** A growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} isc_buf;
int isc_buf_append(isc_buf *b, const void *p, size_t n);
void isc_buf_reset(isc_buf *b);
void isc_buf_free(isc_buf *b);

#endif
