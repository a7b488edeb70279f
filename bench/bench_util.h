/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_util.h - the measuring harness shared by the C benchmark programs.
 *
 * A benchmark is a set of callbacks (bench_ops): per-thread set-up, one call
 * (which must check its answer and return non-zero when it is not a verified
 * Success), per-thread tear-down. The harness runs them on N threads and prints
 * one JSON line per figure on stdout, the format bench/driver.py reads.
 */
#ifndef INTUNE_SCEP_BENCH_UTIL_H
#define INTUNE_SCEP_BENCH_UTIL_H

#include <stddef.h>

/** Callbacks of one benchmark. `shared` is handed to every callback. */
typedef struct {
    /** Set up one thread's state (may return NULL when it needs none); called before timing. */
    void *(*thread_init)(void *shared, int thread_index);
    /**
     * Make one call and check its answer. Returns 0 only for a verified
     * Success; otherwise writes a one-line reason into errbuf and returns non-zero.
     */
    int (*call)(void *shared, void *thread_state, char *errbuf, size_t errlen);
    /** Free one thread's state (may be NULL). */
    void (*thread_fini)(void *shared, void *thread_state);
    void *shared;
} bench_ops;

/** Timing of a throughput run. */
typedef struct {
    double warmup_s;      /**< calls made before the first measured round */
    double round_s;       /**< length of one measured round */
    int rounds;           /**< measured rounds; the best one is reported */
    const char *status_url; /**< nginx stub_status URL (plain HTTP), or NULL */
} bench_timing;

/** Monotonic clock (CLOCK_MONOTONIC) in seconds: comparable with Python's time.monotonic(). */
double bench_now(void);

/** A field of /proc/self/status in kB ("VmRSS", "VmHWM"), or -1. */
long bench_proc_status_kb(const char *field);

/**
 * Read nginx's stub_status at `url`: accepted connections and requests so far.
 * Each reading opens one connection of its own (counted in `accepts`).
 * Returns 0 on success.
 */
int bench_stub_status(const char *url, long long *accepts, long long *requests);

/** Read a whole file into a NUL-terminated buffer (trailing whitespace removed); NULL on failure. */
char *bench_read_file(const char *path);

/**
 * Run `ops` on `threads` threads: warm up, then timing->rounds rounds of
 * timing->round_s seconds. Prints one JSON line:
 * {"figure":"throughput","front_door":NAME,"threads":N,"calls_per_s":BEST,
 *  "rounds":[...],"calls":M,"new_connections":C,"connections_per_1000":X}
 * where the connection figures cover the measured rounds only. Returns 0, or
 * non-zero (after printing the failing call's reason on stderr) when any call failed.
 */
int bench_throughput(const char *name, const bench_ops *ops, int threads, const bench_timing *timing);

/**
 * Make `total` calls on `threads` threads and print
 * {"figure":"memory","front_door":NAME,"threads":N,"calls":TOTAL,"checkpoint":CP,
 *  "max_rss_kb":..,"rss_at_checkpoint_kb":..,"rss_end_kb":..,"growth_kb":..}
 * where the checkpoint reading is taken when the CP-th call completes and the
 * end reading after the last. Returns 0, or non-zero when any call failed.
 */
int bench_memory(const char *name, const bench_ops *ops, int threads, long total, long checkpoint);

/** The value following `key` ("--seconds") in argv[first..], or `dflt` when absent. */
const char *bench_opt(int argc, char **argv, int first, const char *key, const char *dflt);

/** Parse a thread-count list such as "1,2,4,8" into out[0..cap); returns the count, or -1 when malformed. */
int bench_parse_threads(const char *list, int *out, int cap);

/** Fill `t` from --warmup, --seconds, --rounds and --status-url (defaults 1, 5, 3, none). */
void bench_timing_from_args(bench_timing *t, int argc, char **argv, int first);

#endif
