/* SPDX-License-Identifier: Apache-2.0 */
/* cache.h - a single-flight cache of one value (cache.c): a token, the service map */
#ifndef ISC_CACHE_H
#define ISC_CACHE_H

#include "call.h"
#include "error.h"

#include <pthread.h>
#include <stdint.h>

/** A single-flight cache of one value (a token or the service map). */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *value;
    uint64_t refresh_at; /* monotonic ms; UINT64_MAX = never */
    uint64_t expires_at;
    uint64_t generation; /* bumped each time a value is installed */
    uint64_t installed_at; /* monotonic ms when the value was installed */
    uint64_t seq;        /* bumped each time a fetch ends */
    int fetching;
    int outlives_lifetime; /* the value stays usable after its lifetime (refreshed, never expires): the service map */
    intune_scep_error last_failure; /* of the fetch that ended last, when it failed */
    void (*free_value)(void *);
    const char *what; /* what a fetch is, for messages: "token request", "service discovery" */
} isc_cache;

typedef int (*isc_fetch_fn)(intune_scep_client *c, void *ctx, isc_call *call, void **value, uint64_t *lifetime_ms,
                            intune_scep_error *err);
/** Runs with the cache's lock held: it only copies what it needs (never logs, never blocks). */
typedef int (*isc_use_fn)(const void *value, void *ctx, intune_scep_error *err);
/** Which cached value a caller used: to drop exactly that one later. */
typedef struct {
    uint64_t generation;
    uint64_t installed_at; /* monotonic ms */
} isc_cache_stamp;
/** `what` names a fetch in messages ("token request"): a waiter whose deadline passes says what it waited for. */
int isc_cache_init(isc_cache *cache, void (*free_value)(void *), const char *what);
void isc_cache_destroy(isc_cache *cache);
/**
 * Run `use` on the cached value, fetching it first (one thread at a time; the
 * others wait, bounded by the call's deadline) when there is none or it is due
 * for refresh. `force` drops the cached value first. *stamp (may be NULL)
 * tells which value was used (for isc_cache_invalidate).
 */
int isc_cache_get(intune_scep_client *c, isc_cache *cache, isc_call *call, int force, isc_fetch_fn fetch,
                  void *fetch_ctx, isc_use_fn use, void *use_ctx, isc_cache_stamp *stamp, intune_scep_error *err);
/** Drop the cached value if it is still the one of `generation`. */
void isc_cache_invalidate(isc_cache *cache, uint64_t generation);
/** Drop the cached value, whatever it is. */
void isc_cache_clear(isc_cache *cache);

#endif
