/* SPDX-License-Identifier: Apache-2.0 */
/* revocation.c - the revocation calls of PkiConnectorFEService: download the
 * revocation requests Intune queued for this CA, upload what became of them. */
#include "revocation.h"
#include "client.h"
#include "parse.h"
#include "service.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define ISC_MAX_REVOCATION_RESULTS 500

intune_scep_revocation_results *isc_revocation_results_new(void) {
    return calloc(1, sizeof(intune_scep_revocation_results));
}

void isc_revocation_results_free(intune_scep_revocation_results *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].request_context);
        free(r->items[i].error_code);
        free(r->items[i].error_message);
    }
    free(r->items);
    free(r);
}

int isc_revocation_results_add(intune_scep_revocation_results *r, const char *request_context, int succeeded,
                               const char *error_code, const char *error_message, intune_scep_error *err) {
    const char *code = error_code && *error_code ? error_code : (succeeded ? "0" : NULL);
    if (!code)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT,
                             "argument error_code is required for a failed result (e.g. \"4004\", CertificateNotFoundError)");
    static const char *const known[] = {"0",    "4000", "4001", "4002", "4003", "4004", "4005",
                                        "4006", "4007", "4100", "4101", "4102", "4103"};
    int is_known = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(code, known[i]) == 0) is_known = 1;
    if (!is_known)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT,
                             "argument error_code must be one of \"0\", \"4000\"-\"4007\", \"4100\"-\"4103\"");
    if (succeeded && strcmp(code, "0") != 0)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument error_code must be \"0\" for a succeeded result");
    if (!succeeded && strcmp(code, "0") == 0)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument error_code must not be \"0\" for a failed result");
    if (r->count >= ISC_MAX_REVOCATION_RESULTS)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument results: at most %d results per upload",
                             ISC_MAX_REVOCATION_RESULTS);
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        isc_revocation_result *items = realloc(r->items, cap * sizeof *items);
        if (!items) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
        r->items = items;
        r->cap = cap;
    }
    isc_revocation_result *it = &r->items[r->count];
    it->request_context = isc_strdup(request_context);
    it->succeeded = succeeded ? 1 : 0;
    it->error_code = isc_strdup(code);
    it->error_message = error_message && *error_message ? isc_strdup(error_message) : NULL;
    if (!it->request_context || !it->error_code || (error_message && *error_message && !it->error_message)) {
        free(it->request_context);
        free(it->error_code);
        free(it->error_message);
        return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    r->count++;
    return INTUNE_SCEP_OK;
}

static int read_requests(const char *body, size_t len, void *ctx, intune_scep_error *err) {
    return isc_parse_revocation_requests(body, len, ctx, err);
}

static int read_upload(const char *body, size_t len, void *ctx, intune_scep_error *err) {
    (void)ctx;
    return isc_parse_revocation_upload(body, len, err);
}

int isc_download_revocation_requests(intune_scep_client *c, int max_requests, const char *issuer_name,
                                     intune_scep_revocation_requests **out, intune_scep_error *err) {
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(root, "downloadParameters");
    char *body = NULL;
    if (p && cJSON_AddNumberToObject(p, "maxRequests", max_requests) &&
        (issuer_name && *issuer_name ? cJSON_AddStringToObject(p, "issuerName", issuer_name)
                                     : cJSON_AddNullToObject(p, "issuerName")))
        body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    intune_scep_revocation_requests *list = calloc(1, sizeof *list);
    if (!list) {
        free(body);
        return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    isc_service_op op = {"downloadRevocationRequests", INTUNE_SCEP_SERVICE_REVOCATION,
                         "CertificateAuthorityRequests/downloadRevocationRequests", c->settings.pki_api_version};
    int rc = isc_service_call(c, &op, NULL, body, read_requests, list, err);
    if (rc == INTUNE_SCEP_OK) *out = list;
    else isc_revocation_requests_free(list);
    return rc;
}

int isc_upload_revocation_results(intune_scep_client *c, const intune_scep_revocation_results *results,
                                  intune_scep_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "results");
    int ok = arr != NULL;
    for (size_t i = 0; ok && i < results->count; i++) {
        const isc_revocation_result *r = &results->items[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o) && cJSON_AddStringToObject(o, "requestContext", r->request_context) &&
             cJSON_AddBoolToObject(o, "succeeded", r->succeeded) &&
             cJSON_AddStringToObject(o, "errorCode", r->error_code) &&
             (r->error_message ? cJSON_AddStringToObject(o, "errorMessage", r->error_message)
                               : cJSON_AddNullToObject(o, "errorMessage"));
    }
    char *body = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    isc_service_op op = {"uploadRevocationResults", INTUNE_SCEP_SERVICE_REVOCATION,
                         "CertificateAuthorityRequests/uploadRevocationResults", c->settings.pki_api_version};
    return isc_service_call(c, &op, NULL, body, read_upload, NULL, err);
}
