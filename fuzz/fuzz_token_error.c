/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_token_error.c - the identity platform's error answer (isc_parse_token_error),
 * whose fields reach the caller's error object and the log. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    FUZZ_ASSERT(body);
    if (size) memcpy(body, data, size);
    intune_scep_error err = {0};
    isc_parse_token_error(body, size, &err);
    /* What goes into a log line is one printable line, capped. */
    FUZZ_ASSERT(fuzz_one_line(err.service_code));
    FUZZ_ASSERT(fuzz_one_line(err.description));
    FUZZ_ASSERT(!err.service_code || strlen(err.service_code) <= 128);
    FUZZ_ASSERT(!err.description || strlen(err.description) <= 2048);
    FUZZ_ASSERT(err.aadsts_code >= 0 || err.aadsts_code < 0); /* any value, but read without UB */
    isc_error_reset(&err);
    /* A second parse over a filled error object replaces, never leaks. */
    err.service_code = isc_strdup("previous");
    isc_parse_token_error(body, size, &err);
    FUZZ_ASSERT(err.service_code != NULL);
    isc_error_reset(&err);
    isc_parse_token_error(body, size, NULL);
    free(body);
    return 0;
}
