/* SPDX-License-Identifier: Apache-2.0 */
/* error.c - the error object every fallible call fills. */
#include "error.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void isc_error_field(char **field, const char *value) {
    free(*field);
    *field = isc_strdup(value);
}

void isc_error_reset(intune_scep_error *e) {
    if (!e) return;
    free(e->message);
    free(e->service_code);
    free(e->description);
    free(e->activity_id);
    free(e->transaction_id);
    free(e->response_body);
    memset(e, 0, sizeof *e);
}

int isc_error_set(intune_scep_error *e, int status, const char *fmt, ...) {
    if (!e) return status;
    va_list ap;
    va_start(ap, fmt);
    char *msg = isc_vasprintf(fmt, ap);
    va_end(ap);
    free(e->message);
    e->message = msg;
    e->status = status;
    return status;
}

void isc_error_move(intune_scep_error *dst, intune_scep_error *src) {
    if (!dst) {
        isc_error_reset(src);
        return;
    }
    if (dst == src) return;
    isc_error_reset(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

void isc_error_copy(intune_scep_error *dst, const intune_scep_error *src) {
    if (!dst || dst == src) return;
    isc_error_reset(dst);
    dst->status = src->status;
    dst->message = isc_strdup(src->message);
    dst->service_code = isc_strdup(src->service_code);
    dst->description = isc_strdup(src->description);
    dst->activity_id = isc_strdup(src->activity_id);
    dst->transaction_id = isc_strdup(src->transaction_id);
    dst->response_body = isc_strdup(src->response_body);
    dst->http_status = src->http_status;
    dst->aadsts_code = src->aadsts_code;
}

int isc_check_text(intune_scep_error *err, const char *name, const char *value, int oneline) {
    if (!value) return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument %s is required (got NULL)", name);
    if (!*value) return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument %s must not be empty", name);
    /* Fast path, a word at a time: printable ASCII (a base64 CSR, a transaction id) is valid UTF-8 on one line. */
    size_t n = strlen(value);
    if (isc_printable_span(value, n) == n) return INTUNE_SCEP_OK;
    if (!isc_utf8_valid(value, n))
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument %s is not valid UTF-8", name);
    if (oneline && isc_has_control(value))
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument %s holds a control character", name);
    return INTUNE_SCEP_OK;
}

int isc_check_optional(intune_scep_error *err, const char *name, const char *value) {
    return value && *value ? isc_check_text(err, name, value, 1) : INTUNE_SCEP_OK;
}

const char *isc_status_name(int status) {
    switch (status) {
    case INTUNE_SCEP_OK: return "INTUNE_SCEP_OK";
    case INTUNE_SCEP_E_INVALID_ARGUMENT: return "INTUNE_SCEP_E_INVALID_ARGUMENT";
    case INTUNE_SCEP_E_CONFIG: return "INTUNE_SCEP_E_CONFIG";
    case INTUNE_SCEP_E_AUTH: return "INTUNE_SCEP_E_AUTH";
    case INTUNE_SCEP_E_SERVICE_NOT_FOUND: return "INTUNE_SCEP_E_SERVICE_NOT_FOUND";
    case INTUNE_SCEP_E_HTTP: return "INTUNE_SCEP_E_HTTP";
    case INTUNE_SCEP_E_TRANSPORT: return "INTUNE_SCEP_E_TRANSPORT";
    case INTUNE_SCEP_E_PROTOCOL: return "INTUNE_SCEP_E_PROTOCOL";
    case INTUNE_SCEP_E_REJECTED: return "INTUNE_SCEP_E_REJECTED";
    case INTUNE_SCEP_E_NOMEM: return "INTUNE_SCEP_E_NOMEM";
    case INTUNE_SCEP_E_INTERNAL: return "INTUNE_SCEP_E_INTERNAL";
    default: return "INTUNE_SCEP_E_UNKNOWN";
    }
}
