/* SPDX-License-Identifier: Apache-2.0 */
/* log.h - the client's log sink (log.c), replaceable under a read-write lock while calls run */
#ifndef ISC_LOG_H
#define ISC_LOG_H

#include "intune_scep.h"

#include <pthread.h>

typedef struct isc_logger {
    pthread_rwlock_t lock;
    intune_scep_log_fn fn;
    void *userdata;
    int min_level;
} isc_logger;

void isc_logger_init(isc_logger *l, intune_scep_log_fn fn, void *userdata, int min_level);
void isc_logger_destroy(isc_logger *l);
void isc_logger_set(isc_logger *l, intune_scep_log_fn fn, void *userdata, int min_level);
/** 1 when a line at `level` would be written (cheap; lets callers skip formatting). */
int isc_log_enabled(isc_logger *l, int level);
void isc_log(isc_logger *l, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
