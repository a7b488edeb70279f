/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - the server's counters, gauges and latency histograms, rendered in
 * Prometheus' text exposition format (version 0.0.4). Thread-safe (one mutex).
 *
 * A series is a metric name and a label set written as Prometheus writes it
 * (`outcome="issued",path="intune"`); label values come from metrics_label(),
 * which keeps only characters that need no escaping.
 */
#ifndef INTUNE_SCEP_SERVER_METRICS_H
#define INTUNE_SCEP_SERVER_METRICS_H

#include <stddef.h>

struct metrics;

/* A new, empty set; NULL when out of memory. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Add 1 to the counter `name{labels}` (labels may be "" for none). */
void metrics_inc(struct metrics *m, const char *name, const char *labels);
/* Add `v` to the counter `name{labels}`. */
void metrics_add(struct metrics *m, const char *name, const char *labels, double v);
/* Set the gauge `name{labels}` to `v`. */
void metrics_set(struct metrics *m, const char *name, const char *labels, double v);
/* Record one observation of `seconds` in the histogram `name{labels}`. */
void metrics_observe(struct metrics *m, const char *name, const char *labels, double seconds);

/* Copy `in` into `out` (cap bytes) keeping [A-Za-z0-9_.:-] and replacing any other byte by '_';
 * "" becomes "none". At most cap-1 bytes. */
void metrics_label(const char *in, char *out, size_t cap);

/* The whole set in the text format; malloc'ed, NUL-terminated (free it), NULL when out of memory. */
char *metrics_render(struct metrics *m, size_t *len);

#endif
