/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_token_answer.c - the identity platform's 200 answer (isc_parse_token_answer):
 * a usable token, or AUTH; PROTOCOL exactly for an answer with a NUL or a duplicated member.
 * The same bytes as a token's decoded payload (isc_parse_token_roles): the roles claim. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    FUZZ_ASSERT(body);
    if (size) memcpy(body, data, size);
    intune_scep_error err = {0};
    isc_token_answer ans;
    int rc = isc_parse_token_answer(body, size, &ans, &err);
    /* An answer with a NUL or a duplicated member name is refused as untrustworthy, and only such an answer. */
    int untrusted = fuzz_untrusted(body, size);
    if (untrusted) FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_NOMEM);
    if (rc == INTUNE_SCEP_E_PROTOCOL) FUZZ_ASSERT(untrusted);
    if (rc == INTUNE_SCEP_OK) {
        /* A usable bearer token: non-empty, no control character, no blank; a lifetime in range. */
        FUZZ_ASSERT(ans.access_token && *ans.access_token);
        FUZZ_ASSERT(!isc_has_control(ans.access_token) && !strchr(ans.access_token, ' '));
        /* The same range whether expires_in came as a number or as a string of digits. */
        FUZZ_ASSERT((ans.expires_in >= 1 && ans.expires_in <= 31536000) || fuzz_relaxed("expires"));
        FUZZ_ASSERT(err.message == NULL);
        isc_free_secret(ans.access_token);
    } else {
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_AUTH || rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_NOMEM);
        FUZZ_ASSERT(ans.access_token == NULL);
        fuzz_check_error(&err, rc);
    }
    isc_error_reset(&err);

    /* The roles claim: PROTOCOL exactly for an untrusted payload; otherwise a string of
     * comma-separated, non-empty roles without a control character. */
    char *roles = NULL;
    rc = isc_parse_token_roles(body, size, &roles);
    if (untrusted) FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_NOMEM);
    if (rc == INTUNE_SCEP_E_PROTOCOL) FUZZ_ASSERT(untrusted);
    if (rc == INTUNE_SCEP_OK) {
        FUZZ_ASSERT(roles != NULL && !isc_has_control(roles));
        size_t n = strlen(roles);
        FUZZ_ASSERT(n == 0 || (roles[0] != ',' && roles[n - 1] != ',' && !strstr(roles, ",,")));
        free(roles);
    } else {
        FUZZ_ASSERT(roles == NULL);
    }
    free(body);
    return 0;
}
