/* SPDX-License-Identifier: Apache-2.0 */
/* error.h - the error object every fallible call fills (error.c), and the check of a
 * text argument */
#ifndef ISC_ERROR_H
#define ISC_ERROR_H

#include "intune_scep.h"

struct intune_scep_error {
    int status;
    char *message;
    char *service_code;
    char *description;
    char *activity_id;
    char *transaction_id;
    char *response_body;
    long http_status;
    long aadsts_code;
};

/** The symbolic name of a status ("INTUNE_SCEP_E_REJECTED"). */
const char *isc_status_name(int status);
/** Empty an error object (free and zero every field). */
void isc_error_reset(intune_scep_error *e);
/** Set status and message (printf-style); returns status. e may be NULL. */
int isc_error_set(intune_scep_error *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Replace one string field with a copy of `value` (NULL clears). */
void isc_error_field(char **field, const char *value);
/** Move every field of src into dst (dst reset first; src left empty). */
void isc_error_move(intune_scep_error *dst, intune_scep_error *src);
/** Copy every field of src into dst (dst reset first). */
void isc_error_copy(intune_scep_error *dst, const intune_scep_error *src);
/**
 * The check of a required text argument named `name`: present, non-empty, valid UTF-8; `oneline` also refuses
 * control characters. INTUNE_SCEP_E_INVALID_ARGUMENT with a message naming the argument, else INTUNE_SCEP_OK.
 */
int isc_check_text(intune_scep_error *err, const char *name, const char *value, int oneline);
/** isc_check_text(..., 1) for an optional argument: NULL and "" pass. */
int isc_check_optional(intune_scep_error *err, const char *name, const char *value);

#endif
