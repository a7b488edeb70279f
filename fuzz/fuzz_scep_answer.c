/* fuzz_scep_answer.c - Intune's 2xx answer to a SCEP call (isc_parse_scep_answer):
 * the one verdict that lets a certificate be issued. Fail closed: OK only for a
 * JSON object whose "code" is exactly the string "Success". */
#include "fuzz_common.h"

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    FUZZ_ASSERT(body);
    if (size) memcpy(body, data, size);
    intune_scep_error err = {0};
    int rc = isc_parse_scep_answer(body, size, &err);
    /* An independent reading of the same bytes decides what the verdict must be. */
    cJSON *j = size ? cJSON_ParseWithLength(body, size) : NULL;
    const cJSON *code = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "code") : NULL;
    int success = cJSON_IsString(code) && strcmp(code->valuestring, "Success") == 0;
    if (rc == INTUNE_SCEP_OK) {
        FUZZ_ASSERT(success);
        FUZZ_ASSERT(err.message == NULL);
    } else {
        FUZZ_ASSERT(!success || rc == INTUNE_SCEP_E_NOMEM);
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_REJECTED || rc == INTUNE_SCEP_E_NOMEM);
        if (rc == INTUNE_SCEP_E_REJECTED) {
            FUZZ_ASSERT(cJSON_IsString(code));
            FUZZ_ASSERT(err.service_code && strcmp(err.service_code, code->valuestring) == 0);
            FUZZ_ASSERT(fuzz_utf8(err.service_code));
        }
        if (rc == INTUNE_SCEP_E_PROTOCOL) FUZZ_ASSERT(!cJSON_IsString(code));
        fuzz_check_error(&err, rc);
    }
    cJSON_Delete(j);
    isc_error_reset(&err);
    /* Without an error object the verdict is the same. */
    FUZZ_ASSERT(isc_parse_scep_answer(body, size, NULL) == rc);
    free(body);
    return 0;
}
