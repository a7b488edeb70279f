/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c - counters, gauges and histograms in Prometheus' text format.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 512
#define NBUCKETS 12
static const double BUCKETS[NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

enum kind { COUNTER, GAUGE, HISTOGRAM };

/* Every metric the server exports, with its help text: rendered in this order. */
static const struct {
    const char *name;
    enum kind kind;
    const char *help;
} KNOWN[] = {
    {"intune_scep_server_enrollments_total", COUNTER, "SCEP enrollments by path and outcome"},
    {"intune_scep_server_enrollment_duration_seconds", HISTOGRAM, "time to answer one PKIOperation"},
    {"intune_scep_server_intune_calls_total", COUNTER, "calls to Intune by call, library status and service code"},
    {"intune_scep_server_intune_call_duration_seconds", HISTOGRAM, "time of one call to Intune (retries included)"},
    {"intune_scep_server_revocation_runs_total", COUNTER, "revocation worker runs by outcome"},
    {"intune_scep_server_revocation_results_total", COUNTER, "revocation requests by the result code uploaded"},
    {"intune_scep_server_last_revocation_success_timestamp_seconds", GAUGE,
     "end of the last revocation run whose download (and upload) succeeded, unix time"},
    {"intune_scep_server_crl_next_update_timestamp_seconds", GAUGE, "nextUpdate of the CRL served, unix time"},
    {"intune_scep_server_crl_entries", GAUGE, "certificates listed in the CRL served"},
    {"intune_scep_server_certificates", GAUGE, "certificates in the database by status"},
    {"intune_scep_server_credential_reloads_total", COUNTER, "credential reloads (SIGHUP) by outcome"},
    {"intune_scep_server_ready", GAUGE, "1 when the CA key is loaded and the database answers"},
};

struct series {
    int known;          /* index in KNOWN */
    char labels[192];
    double value;       /* counter or gauge; histogram: sum */
    unsigned long long count;
    unsigned long long buckets[NBUCKETS];
};

struct metrics {
    pthread_mutex_t lock;
    size_t n;
    struct series s[MAX_SERIES];
};

struct metrics *metrics_new(void) {
    struct metrics *m = calloc(1, sizeof *m);
    if (m != NULL) pthread_mutex_init(&m->lock, NULL);
    return m;
}

void metrics_free(struct metrics *m) {
    if (m == NULL) return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void metrics_label(const char *in, char *out, size_t cap) {
    if (cap == 0) return;
    if (in == NULL || *in == '\0') in = "none";
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < cap; i++) {
        char c = in[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                 c == ':' || c == '-';
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
}

/* The series name{labels}, created when new; NULL when the name is unknown or the table is full. Locked. */
static struct series *find(struct metrics *m, const char *name, const char *labels) {
    int k = -1;
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
        if (strcmp(KNOWN[i].name, name) == 0) k = (int)i;
    if (k < 0) return NULL;
    if (labels == NULL) labels = "";
    for (size_t i = 0; i < m->n; i++)
        if (m->s[i].known == k && strcmp(m->s[i].labels, labels) == 0) return &m->s[i];
    if (m->n == MAX_SERIES || strlen(labels) >= sizeof m->s[0].labels) return NULL;
    struct series *s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    s->known = k;
    snprintf(s->labels, sizeof s->labels, "%s", labels);
    return s;
}

void metrics_add(struct metrics *m, const char *name, const char *labels, double v) {
    if (m == NULL) return;
    pthread_mutex_lock(&m->lock);
    struct series *s = find(m, name, labels);
    if (s != NULL) s->value += v;
    pthread_mutex_unlock(&m->lock);
}

void metrics_inc(struct metrics *m, const char *name, const char *labels) { metrics_add(m, name, labels, 1); }

void metrics_set(struct metrics *m, const char *name, const char *labels, double v) {
    if (m == NULL) return;
    pthread_mutex_lock(&m->lock);
    struct series *s = find(m, name, labels);
    if (s != NULL) s->value = v;
    pthread_mutex_unlock(&m->lock);
}

void metrics_observe(struct metrics *m, const char *name, const char *labels, double seconds) {
    if (m == NULL) return;
    pthread_mutex_lock(&m->lock);
    struct series *s = find(m, name, labels);
    if (s != NULL) {
        s->value += seconds;
        s->count++;
        for (int b = 0; b < NBUCKETS; b++)
            if (seconds <= BUCKETS[b]) s->buckets[b]++;
    }
    pthread_mutex_unlock(&m->lock);
}

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

__attribute__((format(printf, 2, 3))) static void put(struct buf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

char *metrics_render(struct metrics *m, size_t *len) {
    struct buf b = {malloc(8192), 0, 8192, 0};
    if (b.p == NULL) return NULL;
    b.p[0] = '\0';
    pthread_mutex_lock(&m->lock);
    for (size_t k = 0; k < sizeof KNOWN / sizeof KNOWN[0]; k++) {
        const char *name = KNOWN[k].name;
        put(&b, "# HELP %s %s\n# TYPE %s %s\n", name, KNOWN[k].help, name,
            KNOWN[k].kind == COUNTER ? "counter" : KNOWN[k].kind == GAUGE ? "gauge" : "histogram");
        for (size_t i = 0; i < m->n; i++) {
            struct series *s = &m->s[i];
            if (s->known != (int)k) continue;
            const char *sep = s->labels[0] ? "," : "";
            if (KNOWN[k].kind != HISTOGRAM) {
                if (s->labels[0])
                    put(&b, "%s{%s} %.17g\n", name, s->labels, s->value);
                else
                    put(&b, "%s %.17g\n", name, s->value);
                continue;
            }
            for (int j = 0; j < NBUCKETS; j++)
                put(&b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, s->labels, sep, BUCKETS[j], s->buckets[j]);
            put(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, s->labels, sep, s->count);
            if (s->labels[0]) {
                put(&b, "%s_sum{%s} %.17g\n%s_count{%s} %llu\n", name, s->labels, s->value, name, s->labels, s->count);
            } else {
                put(&b, "%s_sum %.17g\n%s_count %llu\n", name, s->value, name, s->count);
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
