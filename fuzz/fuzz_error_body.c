/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_error_body.c - what a non-2xx answer says (isc_capture_error_body): the
 * body copied into the caller's error object, and its code and description. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    FUZZ_ASSERT(body);
    if (size) memcpy(body, data, size);
    intune_scep_error err = {0};
    char why[160];
    int rc = isc_capture_error_body(body, size, &err, why, sizeof why);
    /* JSON with a NUL or a duplicated member name is refused (PROTOCOL), and only such JSON:
     * then nothing is read from it but the body copy. */
    int untrusted = fuzz_untrusted(body, size);
    FUZZ_ASSERT(rc == (untrusted ? INTUNE_SCEP_E_PROTOCOL : INTUNE_SCEP_OK));
    if (untrusted) {
        FUZZ_ASSERT(!err.service_code && !err.description);
        FUZZ_ASSERT(why[0] && fuzz_one_line(why));
    }
    /* A failed answer never reports the code Success, in any case. */
    FUZZ_ASSERT(!err.service_code || !isc_strcaseeq(err.service_code, "Success"));
    if (size == 0) {
        FUZZ_ASSERT(err.response_body == NULL);
    } else if (err.response_body) {
        size_t n = strlen(err.response_body);
        FUZZ_ASSERT(n <= ISC_MAX_ERROR_BODY);
        /* Valid UTF-8 (a character split by the cap is replaced), no control character but \n and \t. */
        FUZZ_ASSERT(isc_utf8_valid(err.response_body, n));
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)err.response_body[i];
            FUZZ_ASSERT(c >= 0x20 || c == '\n' || c == '\t');
            FUZZ_ASSERT(c != 0x7f);
        }
    }
    FUZZ_ASSERT(fuzz_one_line(err.service_code));
    FUZZ_ASSERT(fuzz_one_line(err.description));
    /* Fields already set (by an earlier parser) are kept. */
    intune_scep_error pre = {0};
    pre.service_code = isc_strdup("Kept");
    FUZZ_ASSERT(isc_capture_error_body(body, size, &pre, NULL, 0) == rc);
    FUZZ_ASSERT(pre.service_code && strcmp(pre.service_code, "Kept") == 0);
    isc_error_reset(&pre);
    isc_error_reset(&err);
    FUZZ_ASSERT(isc_capture_error_body(body, size, NULL, why, sizeof why) == rc);
    free(body);
    return 0;
}
