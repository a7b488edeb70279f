/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_util.c - the measuring harness shared by the C benchmark programs.
 */
#include "bench_util.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* CPU time (user + system) of the whole process so far, in seconds. */
static double process_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* Context switches (voluntary + involuntary) of every thread of the process so far: a thread
 * that sleeps for a lock another holds (Python's GIL, say) adds one each time. */
static long process_context_switches(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long bench_proc_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    size_t flen = strlen(field);
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            kb = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

typedef struct {
    char buf[1024];
    size_t len;
} small_buf;

static size_t small_buf_write(char *data, size_t size, size_t n, void *userdata)
{
    small_buf *b = userdata;
    size_t len = size * n;
    if (len > sizeof b->buf - 1 - b->len)
        return 0;
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return len;
}

int bench_stub_status(const char *url, long long *accepts, long long *requests)
{
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    small_buf b = {.len = 0};
    b.buf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, small_buf_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK || status != 200)
        return -1;
    /* "Active connections: 1 \nserver accepts handled requests\n 10 10 20 \n..." */
    const char *p = strstr(b.buf, "requests\n");
    long long a, hd, r;
    if (!p || sscanf(p + 9, "%lld %lld %lld", &a, &hd, &r) != 3)
        return -1;
    *accepts = a;
    *requests = r;
    return 0;
}

char *bench_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    buf[len] = '\0';
    return buf;
}

const char *bench_opt(int argc, char **argv, int first, const char *key, const char *dflt)
{
    for (int i = first; i + 1 < argc; i++)
        if (strcmp(argv[i], key) == 0)
            return argv[i + 1];
    return dflt;
}

int bench_parse_threads(const char *list, int *out, int cap)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 256 || n == cap)
            return -1;
        out[n++] = (int)v;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return n > 0 ? n : -1;
}

void bench_timing_from_args(bench_timing *t, int argc, char **argv, int first)
{
    t->warmup_s = atof(bench_opt(argc, argv, first, "--warmup", "1"));
    t->round_s = atof(bench_opt(argc, argv, first, "--seconds", "5"));
    t->rounds = atoi(bench_opt(argc, argv, first, "--rounds", "3"));
    if (t->rounds < 1)
        t->rounds = 1;
    t->status_url = bench_opt(argc, argv, first, "--status-url", NULL);
}

/* ------------------------------------------------------------------------- */
/* Threads                                                                    */
/* ------------------------------------------------------------------------- */

typedef struct {
    _Alignas(64) atomic_ulong n;
} padded_counter;

typedef struct {
    const bench_ops *ops;
    int threads;
    atomic_int stop;
    atomic_int failed;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready;
    int go;
    char errbuf[512];
    padded_counter *counters;
    /* memory mode */
    int memory_mode;
    atomic_long tickets;
    atomic_long done;
    long total;
    long checkpoint;
    atomic_long rss_at_checkpoint;
} run_state;

typedef struct {
    run_state *run;
    int index;
} thread_arg;

static void record_failure(run_state *r, const char *why)
{
    pthread_mutex_lock(&r->lock);
    if (!atomic_load(&r->failed)) {
        snprintf(r->errbuf, sizeof r->errbuf, "%s", why);
        atomic_store(&r->failed, 1);
    }
    pthread_mutex_unlock(&r->lock);
    atomic_store(&r->stop, 1);
}

static void *worker(void *p)
{
    thread_arg *ta = p;
    run_state *r = ta->run;
    const bench_ops *ops = r->ops;
    void *state = ops->thread_init ? ops->thread_init(ops->shared, ta->index) : NULL;

    pthread_mutex_lock(&r->lock);
    r->ready++;
    pthread_cond_broadcast(&r->cond);
    while (!r->go)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);

    char err[512];
    atomic_ulong *count = &r->counters[ta->index].n;
    if (r->memory_mode) {
        while (!atomic_load_explicit(&r->stop, memory_order_relaxed) &&
               atomic_fetch_add(&r->tickets, 1) < r->total) {
            err[0] = '\0';
            if (ops->call(ops->shared, state, err, sizeof err) != 0) {
                record_failure(r, err[0] ? err : "call failed");
                break;
            }
            long d = atomic_fetch_add(&r->done, 1) + 1;
            if (d == r->checkpoint)
                atomic_store(&r->rss_at_checkpoint, bench_proc_status_kb("VmRSS"));
        }
    } else {
        while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
            err[0] = '\0';
            if (ops->call(ops->shared, state, err, sizeof err) != 0) {
                record_failure(r, err[0] ? err : "call failed");
                break;
            }
            atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
        }
    }
    if (ops->thread_fini)
        ops->thread_fini(ops->shared, state);
    return NULL;
}

static unsigned long total_calls(run_state *r)
{
    unsigned long sum = 0;
    for (int i = 0; i < r->threads; i++)
        sum += atomic_load_explicit(&r->counters[i].n, memory_order_relaxed);
    return sum;
}

/* Sleep `secs`, waking early when a call failed. */
static void nap(run_state *r, double secs)
{
    double end = bench_now() + secs;
    for (;;) {
        double left = end - bench_now();
        if (left <= 0 || atomic_load(&r->failed))
            return;
        if (left > 0.05)
            left = 0.05;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int start_threads(run_state *r, const bench_ops *ops, int threads)
{
    memset(r, 0, sizeof *r);
    r->ops = ops;
    r->threads = threads;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->counters = aligned_alloc(64, sizeof(padded_counter) * (size_t)threads);
    if (!r->counters)
        return -1;
    for (int i = 0; i < threads; i++)
        atomic_init(&r->counters[i].n, 0);
    return 0;
}

static int launch(run_state *r, pthread_t *tids, thread_arg *args)
{
    for (int i = 0; i < r->threads; i++) {
        args[i].run = r;
        args[i].index = i;
        if (pthread_create(&tids[i], NULL, worker, &args[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    }
    /* Every thread is set up (handles created) before anything is timed. */
    pthread_mutex_lock(&r->lock);
    while (r->ready < r->threads)
        pthread_cond_wait(&r->cond, &r->lock);
    r->go = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void finish(run_state *r, pthread_t *tids)
{
    atomic_store(&r->stop, 1);
    for (int i = 0; i < r->threads; i++)
        pthread_join(tids[i], NULL);
    free(r->counters);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

int bench_throughput(const char *name, const bench_ops *ops, int threads, const bench_timing *timing)
{
    run_state r;
    pthread_t tids[256];
    thread_arg args[256];
    if (threads < 1 || threads > 256 || start_threads(&r, ops, threads) != 0)
        return -1;
    launch(&r, tids, args);

    nap(&r, timing->warmup_s);
    long long acc0 = -1, acc1 = -1, req0 = 0, req1 = 0;
    if (timing->status_url && bench_stub_status(timing->status_url, &acc0, &req0) != 0)
        acc0 = -1;
    double rates[64];
    int nrounds = timing->rounds > 64 ? 64 : timing->rounds;
    unsigned long measured = 0;
    double cpu0 = process_cpu_s();
    long cs0 = process_context_switches();
    for (int i = 0; i < nrounds && !atomic_load(&r.failed); i++) {
        unsigned long c0 = total_calls(&r);
        double t0 = bench_now();
        nap(&r, timing->round_s);
        unsigned long c1 = total_calls(&r);
        double t1 = bench_now();
        rates[i] = (double)(c1 - c0) / (t1 - t0);
        measured += c1 - c0;
    }
    double cpu1 = process_cpu_s();
    long cs1 = process_context_switches();
    if (acc0 >= 0 && bench_stub_status(timing->status_url, &acc1, &req1) != 0)
        acc1 = -1;
    finish(&r, tids);

    if (atomic_load(&r.failed)) {
        fprintf(stderr, "%s, %d threads: a call failed: %s\n", name, threads, r.errbuf);
        return -1;
    }
    double best = 0;
    printf("{\"figure\":\"throughput\",\"front_door\":\"%s\",\"threads\":%d,\"rounds\":[", name, threads);
    for (int i = 0; i < nrounds; i++) {
        printf("%s%.1f", i ? "," : "", rates[i]);
        if (rates[i] > best)
            best = rates[i];
    }
    printf("],\"calls_per_s\":%.1f,\"calls\":%lu,\"cpu_s\":%.4f,\"context_switches\":%ld", best, measured,
           cpu1 - cpu0, cs1 - cs0);
    if (acc0 >= 0 && acc1 >= 0) {
        /* The second reading's own connection is counted in acc1: take it off. */
        long long conns = acc1 - acc0 - 1;
        printf(",\"new_connections\":%lld,\"connections_per_1000\":%.3f,\"server_requests\":%lld", conns,
               measured ? (double)conns * 1000.0 / (double)measured : 0.0, req1 - req0 - 1);
    }
    printf("}\n");
    fflush(stdout);
    return 0;
}

int bench_memory(const char *name, const bench_ops *ops, int threads, long total, long checkpoint)
{
    run_state r;
    pthread_t tids[256];
    thread_arg args[256];
    if (threads < 1 || threads > 256 || checkpoint < 1 || checkpoint > total ||
        start_threads(&r, ops, threads) != 0)
        return -1;
    r.memory_mode = 1;
    r.total = total;
    r.checkpoint = checkpoint;
    atomic_init(&r.rss_at_checkpoint, -1);
    double t0 = bench_now();
    launch(&r, tids, args);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    double t1 = bench_now();
    long rss_end = bench_proc_status_kb("VmRSS");
    long hwm = bench_proc_status_kb("VmHWM");
    long cp = atomic_load(&r.rss_at_checkpoint);
    long done = atomic_load(&r.done);
    int failed = atomic_load(&r.failed);
    free(r.counters);
    if (failed || done != total) {
        fprintf(stderr, "%s memory: %ld of %ld calls made: %s\n", name, done, total,
                failed ? r.errbuf : "stopped early");
        return -1;
    }
    printf("{\"figure\":\"memory\",\"front_door\":\"%s\",\"threads\":%d,\"calls\":%ld,\"checkpoint\":%ld,"
           "\"max_rss_kb\":%ld,\"rss_at_checkpoint_kb\":%ld,\"rss_end_kb\":%ld,\"growth_kb\":%ld,"
           "\"seconds\":%.2f}\n",
           name, threads, total, checkpoint, hwm, cp, rss_end, rss_end - cp, t1 - t0);
    fflush(stdout);
    return 0;
}
