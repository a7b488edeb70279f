/* SPDX-License-Identifier: Apache-2.0 */
/* cache.c - a single-flight cache of one value (a token, the service map).
 * One thread fetches while the others wait for it (bounded by their own call's
 * deadline) or, when the value is only due for refresh, keep using it. */
#include "cache.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int isc_cache_init(isc_cache *cache, void (*free_value)(void *), const char *what) {
    memset(cache, 0, sizeof *cache);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&cache->mu, NULL);
    pthread_cond_init(&cache->cv, &attr);
    pthread_condattr_destroy(&attr);
    cache->free_value = free_value;
    cache->what = what;
    return INTUNE_SCEP_OK;
}

static void drop_value(isc_cache *cache) {
    if (cache->value && cache->free_value) cache->free_value(cache->value);
    cache->value = NULL;
}

void isc_cache_destroy(isc_cache *cache) {
    drop_value(cache);
    isc_error_reset(&cache->last_failure);
    pthread_cond_destroy(&cache->cv);
    pthread_mutex_destroy(&cache->mu);
}

void isc_cache_invalidate(isc_cache *cache, uint64_t generation) {
    pthread_mutex_lock(&cache->mu);
    if (cache->value && cache->generation == generation) drop_value(cache);
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

int isc_cache_get(intune_scep_client *c, isc_cache *cache, isc_call *call, int force, isc_fetch_fn fetch,
                  void *fetch_ctx, isc_use_fn use, void *use_ctx, isc_cache_stamp *stamp, intune_scep_error *err) {
    pthread_mutex_lock(&cache->mu);
    if (force) drop_value(cache);
    for (;;) {
        uint64_t now = isc_now_ms();
        if (cache->value && now >= cache->expires_at) drop_value(cache);
        int fresh = cache->value && now < cache->refresh_at;
        int usable_while_refreshing = cache->value && cache->fetching;
        if (fresh || usable_while_refreshing) {
            int rc = use(cache->value, use_ctx, err);
            if (stamp) stamp->generation = cache->generation, stamp->installed_at = cache->installed_at;
            pthread_mutex_unlock(&cache->mu);
            return rc;
        }
        if (!cache->fetching) {
            /* This thread fetches; others wait (or keep using a still-valid value). */
            cache->fetching = 1;
            pthread_mutex_unlock(&cache->mu);
            void *value = NULL;
            uint64_t lifetime_ms = 0;
            intune_scep_error local = {0};
            int rc = fetch(c, fetch_ctx, call, &value, &lifetime_ms, &local);
            pthread_mutex_lock(&cache->mu);
            cache->fetching = 0;
            cache->seq++;
            if (rc == INTUNE_SCEP_OK) {
                drop_value(cache);
                uint64_t t = isc_now_ms();
                cache->value = value;
                cache->generation++;
                cache->installed_at = t;
                if (lifetime_ms == UINT64_MAX) {
                    cache->expires_at = cache->refresh_at = UINT64_MAX;
                } else if (cache->outlives_lifetime) {
                    /* Refreshed when its lifetime is over, by one thread; the others keep using it. */
                    cache->refresh_at = t + lifetime_ms;
                    cache->expires_at = UINT64_MAX;
                } else {
                    /* Refresh ahead: 5 minutes before expiry, or half the lifetime if shorter. */
                    uint64_t margin = lifetime_ms / 2 < 300000u ? lifetime_ms / 2 : 300000u;
                    cache->expires_at = t + lifetime_ms;
                    cache->refresh_at = t + lifetime_ms - margin;
                }
                isc_error_reset(&cache->last_failure);
                pthread_cond_broadcast(&cache->cv);
                rc = use(cache->value, use_ctx, err);
                if (stamp) stamp->generation = cache->generation, stamp->installed_at = cache->installed_at;
                pthread_mutex_unlock(&cache->mu);
                return rc;
            }
            isc_error_copy(&cache->last_failure, &local);
            pthread_cond_broadcast(&cache->cv);
            uint64_t t = isc_now_ms();
            if (cache->value && t < cache->expires_at) {
                /* A refresh ahead of expiry failed: the current value still serves; try again in 30 s. */
                isc_error_reset(&local);
                cache->refresh_at = t + 30000u < cache->expires_at ? t + 30000u : cache->expires_at;
                rc = use(cache->value, use_ctx, err);
                if (stamp) stamp->generation = cache->generation, stamp->installed_at = cache->installed_at;
                pthread_mutex_unlock(&cache->mu);
                return rc;
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
                                     cache->what);
            }
        }
        if (!cache->value && cache->last_failure.status != INTUNE_SCEP_OK) {
            /* The fetch this thread waited for failed: report that failure rather than repeat it. */
            int rc = cache->last_failure.status;
            if (err) isc_error_copy(err, &cache->last_failure);
            pthread_mutex_unlock(&cache->mu);
            return rc;
        }
    }
}
