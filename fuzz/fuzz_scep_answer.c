/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_scep_answer.c - Intune's 2xx answer to a SCEP call (isc_parse_scep_answer):
 * the one verdict that lets a certificate be issued. Fail closed: OK only for a
 * JSON object whose "code" is exactly the string "Success", and never for an answer that
 * holds a NUL or a duplicated member name. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    FUZZ_ASSERT(body);
    if (size) memcpy(body, data, size);
    intune_scep_error err = {0};
    int rc = isc_parse_scep_answer(body, size, &err);
    /* An independent reading of the same bytes decides what the verdict must be: one JSON
     * object and nothing after it but blanks (trailing bytes make an answer untrustworthy),
     * without a NUL or a duplicated member name anywhere (fuzz_common.h). */
    cJSON *j = fuzz_json_object(body, size);
    int untrusted = fuzz_untrusted(body, size);
    const cJSON *code = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "code") : NULL;
    int success = !untrusted && cJSON_IsString(code) && strcmp(code->valuestring, "Success") == 0;
    if (rc == INTUNE_SCEP_OK) {
        FUZZ_ASSERT(success);
        FUZZ_ASSERT(err.message == NULL);
    } else {
        FUZZ_ASSERT(!success || rc == INTUNE_SCEP_E_NOMEM);
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_REJECTED || rc == INTUNE_SCEP_E_NOMEM);
        /* An untrustworthy answer is never read: neither a verdict nor a code comes out of it. */
        if (untrusted) FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_NOMEM);
        if (untrusted) FUZZ_ASSERT(err.service_code == NULL);
        if (rc == INTUNE_SCEP_E_REJECTED) {
            FUZZ_ASSERT(!untrusted);
            FUZZ_ASSERT(cJSON_IsString(code));
            /* Kept as sent when it is valid UTF-8 of at most 1 KiB; otherwise repaired (still valid UTF-8). */
            FUZZ_ASSERT(err.service_code);
            if (fuzz_utf8(code->valuestring) && strlen(code->valuestring) <= 1024)
                FUZZ_ASSERT(strcmp(err.service_code, code->valuestring) == 0);
            FUZZ_ASSERT(fuzz_utf8(err.service_code));
            FUZZ_ASSERT(!err.description || fuzz_utf8(err.description));
        }
        if (rc == INTUNE_SCEP_E_PROTOCOL) FUZZ_ASSERT(untrusted || !cJSON_IsString(code));
        fuzz_check_error(&err, rc);
    }
    cJSON_Delete(j);
    isc_error_reset(&err);
    /* Without an error object the verdict is the same. */
    FUZZ_ASSERT(isc_parse_scep_answer(body, size, NULL) == rc);
    free(body);
    return 0;
}
