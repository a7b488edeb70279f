/* SPDX-License-Identifier: Apache-2.0 */
/* service.h - one call to a discovered Intune service (service.c): the SCEP and the
 * revocation calls */
#ifndef ISC_SERVICE_H
#define ISC_SERVICE_H

#include "error.h"

#include <stddef.h>

/** A call to one of Intune's services. */
typedef struct {
    const char *name;        /* for the log and errors: "validateRequest" */
    const char *service;     /* discovered service name */
    const char *path;        /* under the service's URI */
    const char *api_version; /* the api-version header */
} isc_service_op;
/** Reads a 2xx answer; returns a status (INTUNE_SCEP_E_PROTOCOL when it cannot be trusted). */
typedef int (*isc_answer_fn)(const char *body, size_t len, void *ctx, intune_scep_error *err);
/** POST `body` (taken over and freed) to `op` with a fresh activity id, read the answer; one log line. */
int isc_service_call(intune_scep_client *c, const isc_service_op *op, const char *transaction_id, char *body,
                     isc_answer_fn read_answer, void *answer_ctx, intune_scep_error *err);

#endif
