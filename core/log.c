/* SPDX-License-Identifier: Apache-2.0 */
/* log.c - the client's log sink, replaceable while calls run. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void isc_logger_init(isc_logger *l, intune_scep_log_fn fn, void *userdata, int min_level) {
    pthread_rwlock_init(&l->lock, NULL);
    l->fn = fn;
    l->userdata = userdata;
    l->min_level = min_level;
}

void isc_logger_destroy(isc_logger *l) {
    pthread_rwlock_destroy(&l->lock);
}

void isc_logger_set(isc_logger *l, intune_scep_log_fn fn, void *userdata, int min_level) {
    pthread_rwlock_wrlock(&l->lock);
    l->fn = fn;
    l->userdata = userdata;
    l->min_level = min_level;
    pthread_rwlock_unlock(&l->lock);
}

int isc_log_enabled(isc_logger *l, int level) {
    if (!l) return 0;
    pthread_rwlock_rdlock(&l->lock);
    int on = l->fn != NULL && level >= l->min_level;
    pthread_rwlock_unlock(&l->lock);
    return on;
}

void isc_log(isc_logger *l, int level, const char *fmt, ...) {
    if (!l) return;
    pthread_rwlock_rdlock(&l->lock);
    if (l->fn && level >= l->min_level) {
        char stack[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(stack, sizeof stack, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof stack) {
            l->fn(l->userdata, level, stack);
        } else if (n >= 0) {
            char *big = malloc((size_t)n + 1);
            if (big) {
                va_start(ap, fmt);
                vsnprintf(big, (size_t)n + 1, fmt, ap);
                va_end(ap);
                l->fn(l->userdata, level, big);
                free(big);
            }
        }
    }
    pthread_rwlock_unlock(&l->lock);
}
