/* SPDX-License-Identifier: Apache-2.0 */
/* cache.c - a single-flight cache of one value (a token, the service map).
 * One thread fetches while the others wait for it (bounded by their own call's
 * deadline) or, when the value is only due for refresh, keep using it.
 *
 * The value is published as a reference-counted entry that a refresh or a drop
 * swaps whole. A reader of a fresh value takes no lock: it announces itself in
 * `readers`, loads `current`, takes a reference, and leaves `readers`. Whoever
 * swaps `current` (under the mutex) waits until `readers` is 0 before it lets go
 * of the old entry's reference: a reader that loaded the old entry holds its own
 * reference by then, and a reader that comes later loads the new one. */
#include "cache.h"
#include "util.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int isc_cache_init(isc_cache *cache) {
    memset(cache, 0, sizeof *cache);
    atomic_init(&cache->current, NULL);
    atomic_init(&cache->readers, 0);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&cache->mu, NULL);
    pthread_cond_init(&cache->cv, &attr);
    pthread_condattr_destroy(&attr);
    return INTUNE_SCEP_OK;
}

isc_cache_entry *isc_cache_entry_ref(isc_cache_entry *e) {
    if (e) atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    return e;
}

void isc_cache_entry_release(isc_cache_entry *e) {
    if (!e) return;
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1) return;
    if (e->value && e->free_value) e->free_value(e->value); /* a token is wiped there */
    free(e);
}

isc_cache_stamp isc_cache_entry_stamp(const isc_cache_entry *e) {
    isc_cache_stamp s = {e->generation, e->requested_at};
    return s;
}

/* The current entry with a reference, or NULL; no lock. */
static isc_cache_entry *acquire_current(isc_cache *cache) {
    atomic_fetch_add(&cache->readers, 1);
    isc_cache_entry *e = atomic_load(&cache->current);
    if (e) atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&cache->readers, 1, memory_order_release);
    return e;
}

/* Make `e` (its reference taken over; NULL: none) the current entry and let go of the old one, once no
 * reader is between loading it and holding its own reference. Called with the mutex held (or alone). */
static void publish(isc_cache *cache, isc_cache_entry *e) {
    isc_cache_entry *old = atomic_exchange(&cache->current, e);
    if (!old) return;
    while (atomic_load(&cache->readers) != 0) sched_yield(); /* a few instructions per reader */
    isc_cache_entry_release(old);
}

static void drop_value(isc_cache *cache) {
    publish(cache, NULL);
}

void isc_cache_destroy(isc_cache *cache) {
    drop_value(cache);
    isc_error_reset(&cache->last_failure);
    pthread_cond_destroy(&cache->cv);
    pthread_mutex_destroy(&cache->mu);
}

void isc_cache_invalidate(isc_cache *cache, uint64_t generation) {
    pthread_mutex_lock(&cache->mu);
    isc_cache_entry *cur = atomic_load(&cache->current);
    if (cur && cur->generation == generation) drop_value(cache);
    pthread_mutex_unlock(&cache->mu);
}

void isc_cache_clear(isc_cache *cache) {
    pthread_mutex_lock(&cache->mu);
    drop_value(cache);
    pthread_mutex_unlock(&cache->mu);
}

static int wait_until(isc_cache *cache, uint64_t deadline_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = isc_now_ms();
    uint64_t wait = deadline_ms > now ? deadline_ms - now : 0;
    ts.tv_sec += (time_t)(wait / 1000u);
    ts.tv_nsec += (long)(wait % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(&cache->cv, &cache->mu, &ts);
}

/* A new entry for a fetched value, with two references: the cache's and the caller's. */
static isc_cache_entry *entry_new(isc_cache *cache, const isc_cache_kind *kind, void *value, uint64_t lifetime_ms,
                                  uint64_t requested_at) {
    isc_cache_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    uint64_t t = isc_now_ms(), refresh_at, expires_at;
    if (lifetime_ms == UINT64_MAX) {
        expires_at = refresh_at = UINT64_MAX;
    } else if (kind->outlives_lifetime) {
        /* Refreshed when its lifetime is over, by one thread; the others keep using it. */
        refresh_at = t + lifetime_ms;
        expires_at = UINT64_MAX;
    } else {
        /* Refresh ahead: 5 minutes before expiry, or half the lifetime if shorter. */
        uint64_t margin = lifetime_ms / 2 < 300000u ? lifetime_ms / 2 : 300000u;
        expires_at = t + lifetime_ms;
        refresh_at = t + lifetime_ms - margin;
    }
    atomic_init(&e->refs, 2);
    atomic_init(&e->refresh_at, refresh_at);
    e->expires_at = expires_at;
    e->generation = ++cache->generation;
    e->requested_at = requested_at;
    e->value = value;
    e->free_value = kind->free_value;
    return e;
}

int isc_cache_get(intune_scep_client *c, isc_cache *cache, isc_call *call, int force, const isc_cache_kind *kind,
                  void *fetch_ctx, isc_cache_entry **entry, intune_scep_error *err) {
    *entry = NULL;
    if (!force) {
        /* The warm path: a fresh value, no lock. */
        isc_cache_entry *e = acquire_current(cache);
        if (e) {
            uint64_t now = isc_now_ms();
            if (now < atomic_load_explicit(&e->refresh_at, memory_order_relaxed) && now < e->expires_at) {
                *entry = e;
                return INTUNE_SCEP_OK;
            }
            isc_cache_entry_release(e);
        }
    }
    pthread_mutex_lock(&cache->mu);
    if (force) drop_value(cache);
    for (;;) {
        uint64_t now = isc_now_ms();
        isc_cache_entry *cur = atomic_load(&cache->current); /* only swapped under the mutex */
        if (cur && now >= cur->expires_at) {
            drop_value(cache);
            cur = NULL;
        }
        int fresh = cur && now < atomic_load(&cur->refresh_at);
        int usable_while_refreshing = cur && cache->fetching;
        if (fresh || usable_while_refreshing) {
            *entry = isc_cache_entry_ref(cur);
            pthread_mutex_unlock(&cache->mu);
            return INTUNE_SCEP_OK;
        }
        if (!cache->fetching) {
            /* This thread fetches; others wait (or keep using a still-valid value). */
            cache->fetching = 1;
            pthread_mutex_unlock(&cache->mu);
            void *value = NULL;
            uint64_t lifetime_ms = 0;
            intune_scep_error local = {0};
            uint64_t requested_at = isc_now_ms();
            int rc = kind->fetch(c, fetch_ctx, call, &value, &lifetime_ms, &local);
            pthread_mutex_lock(&cache->mu);
            cache->fetching = 0;
            cache->seq++;
            isc_cache_entry *e = NULL;
            if (rc == INTUNE_SCEP_OK && !(e = entry_new(cache, kind, value, lifetime_ms, requested_at))) {
                if (kind->free_value) kind->free_value(value);
                rc = isc_error_set(&local, INTUNE_SCEP_E_NOMEM, "out of memory");
            }
            if (rc == INTUNE_SCEP_OK) {
                publish(cache, e);
                isc_error_reset(&cache->last_failure);
                pthread_cond_broadcast(&cache->cv);
                pthread_mutex_unlock(&cache->mu);
                *entry = e;
                return INTUNE_SCEP_OK;
            }
            isc_error_copy(&cache->last_failure, &local);
            pthread_cond_broadcast(&cache->cv);
            uint64_t t = isc_now_ms();
            cur = atomic_load(&cache->current);
            if (cur && t < cur->expires_at) {
                /* A refresh ahead of expiry failed: the current value still serves; try again in 30 s. */
                isc_error_reset(&local);
                atomic_store(&cur->refresh_at, t + 30000u < cur->expires_at ? t + 30000u : cur->expires_at);
                *entry = isc_cache_entry_ref(cur);
                pthread_mutex_unlock(&cache->mu);
                return INTUNE_SCEP_OK;
            }
            pthread_mutex_unlock(&cache->mu);
            isc_error_move(err, &local);
            return rc;
        }
        /* Another thread is fetching and there is nothing usable: wait for it. */
        uint64_t seq = cache->seq;
        while (cache->fetching && cache->seq == seq) {
            if (wait_until(cache, call->deadline_ms) == ETIMEDOUT) {
                pthread_mutex_unlock(&cache->mu);
                return isc_error_set(err, INTUNE_SCEP_E_TRANSPORT,
                                     "%s: the call's deadline passed while waiting for another thread's %s", call->op,
                                     kind->what);
            }
        }
        if (!atomic_load(&cache->current) && cache->last_failure.status != INTUNE_SCEP_OK) {
            /* The fetch this thread waited for failed: report that failure rather than repeat it. */
            int rc = cache->last_failure.status;
            if (err) isc_error_copy(err, &cache->last_failure);
            pthread_mutex_unlock(&cache->mu);
            return rc;
        }
    }
}
