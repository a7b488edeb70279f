/* SPDX-License-Identifier: Apache-2.0 */
/* cache.h - a single-flight cache of one value (cache.c): a token, the service map */
#ifndef ISC_CACHE_H
#define ISC_CACHE_H

#include "call.h"
#include "error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/*
 * A cached value is published as an entry: immutable once installed (but for the time of its next
 * refresh), reference-counted, swapped whole by a refresh or a drop. A reader of a fresh value takes
 * no lock: it loads the current entry and takes a reference (C11 atomics), and may use the value for
 * as long as it holds that reference. Fetches, installs and drops take the cache's mutex.
 */

/** One installed value with what the cache knows of it. */
typedef struct isc_cache_entry {
    atomic_uint refs;
    _Atomic uint64_t refresh_at; /* monotonic ms; UINT64_MAX = never; moved on after a failed refresh */
    uint64_t expires_at;         /* monotonic ms; UINT64_MAX = never */
    uint64_t generation;         /* the cache's count of installed values when this one was installed */
    uint64_t requested_at;       /* monotonic ms when the fetch that got it began */
    void *value;
    void (*free_value)(void *);  /* called on the value when the last reference goes */
} isc_cache_entry;

/** A single-flight cache of one value (a token or the service map). */
typedef struct {
    pthread_mutex_t mu; /* fetches, installs and drops; a reader of a fresh value does not take it */
    pthread_cond_t cv;
    _Atomic(isc_cache_entry *) current; /* the cache holds one reference to it */
    atomic_uint readers; /* readers between loading `current` and holding their reference: a swap waits for 0 */
    uint64_t generation; /* bumped each time a value is installed */
    uint64_t seq;        /* bumped each time a fetch ends */
    int fetching;
    intune_scep_error last_failure; /* of the fetch that ended last, when it failed */
} isc_cache;

typedef int (*isc_fetch_fn)(intune_scep_client *c, void *ctx, isc_call *call, void **value, uint64_t *lifetime_ms,
                            intune_scep_error *err);

/**
 * What a cache holds, told by the module that owns the value (token.c, discovery.c) at every
 * isc_cache_get: the cache itself knows nothing of tokens or service maps.
 */
typedef struct isc_cache_kind {
    const char *what;           /* what a fetch is, for messages: "token request", "service discovery" */
    isc_fetch_fn fetch;         /* gets a new value and its lifetime */
    void (*free_value)(void *); /* called on a value when the last reference goes (a token is wiped there) */
    int outlives_lifetime;      /* the value stays usable after its lifetime (refreshed, never expires) */
} isc_cache_kind;
/** Which cached value a caller used: to drop exactly that one later. */
typedef struct {
    uint64_t generation;
    uint64_t requested_at; /* monotonic ms when the fetch that got the value began */
} isc_cache_stamp;
/** An empty cache; what it holds is told by each isc_cache_get. */
int isc_cache_init(isc_cache *cache);
/** Drop the current value (freed when its last reader lets go) and free the cache's locks. */
void isc_cache_destroy(isc_cache *cache);
/**
 * A reference to the cached value in *entry (release with isc_cache_entry_release), fetching it first
 * (one thread at a time; the others wait, bounded by the call's deadline) when there is none or it is
 * due for refresh. A fresh value is had without a lock. `force` drops the cached value first.
 */
int isc_cache_get(intune_scep_client *c, isc_cache *cache, isc_call *call, int force, const isc_cache_kind *kind,
                  void *fetch_ctx, isc_cache_entry **entry, intune_scep_error *err);
/** Another reference to `e`, which the caller holds one of. */
isc_cache_entry *isc_cache_entry_ref(isc_cache_entry *e);
/** Let go of a reference (NULL: nothing); the last one frees the value. */
void isc_cache_entry_release(isc_cache_entry *e);
/** Which value `e` is (for isc_cache_invalidate). */
isc_cache_stamp isc_cache_entry_stamp(const isc_cache_entry *e);
/** Drop the cached value if it is still the one of `generation`. */
void isc_cache_invalidate(isc_cache *cache, uint64_t generation);
/** Drop the cached value, whatever it is. */
void isc_cache_clear(isc_cache *cache);

#endif
