/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_revocation.c - Intune's revocation answers: the downloaded requests
 * (isc_parse_revocation_requests) and the verdict on uploaded results
 * (isc_parse_revocation_upload: OK only for {"value": true}). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    FUZZ_ASSERT(body);
    if (size) memcpy(body, data, size);
    /* The independent reading (fuzz_common.h) decides what the verdicts may be. */
    cJSON *j = fuzz_json_object(body, size);
    int untrusted = fuzz_untrusted(body, size);
    const cJSON *value = j ? cJSON_GetObjectItemCaseSensitive(j, "value") : NULL;

    intune_scep_error err = {0};
    intune_scep_revocation_requests *reqs = calloc(1, sizeof *reqs);
    FUZZ_ASSERT(reqs);
    int rc = isc_parse_revocation_requests(body, size, reqs, &err);
    if (rc == INTUNE_SCEP_OK) {
        FUZZ_ASSERT(!untrusted && cJSON_IsArray(value));
        FUZZ_ASSERT((int)reqs->count == cJSON_GetArraySize(value));
        for (size_t i = 0; i < reqs->count; i++) {
            FUZZ_ASSERT(reqs->items[i].request_context && *reqs->items[i].request_context);
            FUZZ_ASSERT(reqs->items[i].serial_number && *reqs->items[i].serial_number);
            FUZZ_ASSERT(reqs->items[i].issuer_name);
        }
        FUZZ_ASSERT(err.message == NULL);
    } else {
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_NOMEM);
        fuzz_check_error(&err, rc);
    }
    if (untrusted) FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL && reqs->count == 0);
    isc_revocation_requests_free(reqs);
    isc_error_reset(&err);

    rc = isc_parse_revocation_upload(body, size, &err);
    if (rc == INTUNE_SCEP_OK) {
        /* {"value": true} and nothing untrustworthy: {"value":true,"value":false} must not pass. */
        FUZZ_ASSERT(!untrusted && cJSON_IsTrue(value));
        FUZZ_ASSERT(err.message == NULL);
    } else {
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_REJECTED || rc == INTUNE_SCEP_E_NOMEM);
        if (rc == INTUNE_SCEP_E_REJECTED) FUZZ_ASSERT(!untrusted && cJSON_IsFalse(value));
        if (untrusted) FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL);
        fuzz_check_error(&err, rc);
    }
    isc_error_reset(&err);
    FUZZ_ASSERT(isc_parse_revocation_upload(body, size, NULL) == rc);
    cJSON_Delete(j);
    free(body);
    return 0;
}
