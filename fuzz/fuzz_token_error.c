/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_token_error.c - the identity platform's error answer (isc_parse_token_error),
 * whose fields reach the caller's error object and the log. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    FUZZ_ASSERT(body);
    if (size) memcpy(body, data, size);
    intune_scep_error err = {0};
    char why[160];
    int rc = isc_parse_token_error(body, size, &err, why, sizeof why);
    /* An answer with a NUL or a duplicated member name is refused whole, and only such an answer. */
    int untrusted = fuzz_untrusted(body, size);
    FUZZ_ASSERT(rc == (untrusted ? INTUNE_SCEP_E_PROTOCOL : INTUNE_SCEP_OK));
    if (untrusted) {
        FUZZ_ASSERT(!err.service_code && !err.description && !err.aadsts_code);
        FUZZ_ASSERT(why[0] && fuzz_one_line(why));
    }
    /* A failed answer never reports the code Success. */
    FUZZ_ASSERT(!err.service_code || !isc_strcaseeq(err.service_code, "Success"));
    /* What goes into a log line is one printable line, capped. */
    FUZZ_ASSERT(fuzz_one_line(err.service_code));
    FUZZ_ASSERT(fuzz_one_line(err.description));
    FUZZ_ASSERT(!err.service_code || strlen(err.service_code) <= 128);
    FUZZ_ASSERT(!err.description || strlen(err.description) <= 2048);
    FUZZ_ASSERT(err.aadsts_code >= 0 || err.aadsts_code < 0); /* any value, but read without UB */
    isc_error_reset(&err);
    /* A second parse over a filled error object replaces, never leaks. */
    err.service_code = isc_strdup("previous");
    FUZZ_ASSERT(isc_parse_token_error(body, size, &err, NULL, 0) == rc);
    FUZZ_ASSERT(err.service_code != NULL);
    if (untrusted) FUZZ_ASSERT(strcmp(err.service_code, "previous") == 0);
    isc_error_reset(&err);
    FUZZ_ASSERT(isc_parse_token_error(body, size, NULL, why, sizeof why) == rc);
    free(body);
    return 0;
}
