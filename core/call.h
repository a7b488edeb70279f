/* SPDX-License-Identifier: Apache-2.0 */
/* call.h - the bookkeeping of one call: activity id, deadline, attempts, the error stamp */
#ifndef ISC_CALL_H
#define ISC_CALL_H

#include "error.h"

#include <stdint.h>

/** The state of one call as it goes: for errors and the log line (its functions are client.c's). */
typedef struct isc_call {
    const char *op;             /* "validateRequest", "token", ... */
    char activity_id[37];
    const char *transaction_id; /* borrowed, may be NULL */
    uint64_t start_ms;
    uint64_t deadline_ms;
    int attempts;
    long http_status;
    char *url; /* last URL tried (owned) */
} isc_call;

/** Begin a call of `c` named `op`: a fresh activity id, the deadline of TIMEOUT_MS from now. */
void isc_call_begin(isc_call *call, const intune_scep_client *c, const char *op, const char *transaction_id);
void isc_call_end(isc_call *call);
/** Stamp the call's activity id, transaction id and HTTP status into err. */
void isc_call_stamp(const isc_call *call, intune_scep_error *err);

#endif
