/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_cert_details.c - the certificate-details helper (isc_cert_details): an
 * issued certificate in PEM or DER from the CA's own storage or its caller. */
#include "fuzz_common.h"
#include "certinfo.h"

#include <openssl/err.h>

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *cert = malloc(size ? size : 1);
    FUZZ_ASSERT(cert);
    if (size) memcpy(cert, data, size);
    intune_scep_cert_details *d = NULL;
    intune_scep_error err = {0};
    int rc = isc_cert_details(cert, size, &d, &err);
    if (rc == INTUNE_SCEP_OK) {
        FUZZ_ASSERT(d && d->thumbprint && d->serial_number && d->expiration_date && d->issuing_authority);
        FUZZ_ASSERT(strlen(d->thumbprint) == 40);
        for (const char *p = d->thumbprint; *p; p++) FUZZ_ASSERT(isxdigit((unsigned char)*p) && !islower((unsigned char)*p));
        const char *s = d->serial_number;
        if (*s == '-') s++;
        FUZZ_ASSERT(*s);
        for (const char *p = s; *p; p++) FUZZ_ASSERT(isxdigit((unsigned char)*p) && !islower((unsigned char)*p));
        FUZZ_ASSERT(s[0] != '0' || s[1] == '\0'); /* no leading zeros */
        /* ISO 8601: a four-digit year, "YYYY-MM-DDTHH:MM:SS.000Z". */
        FUZZ_ASSERT(strlen(d->expiration_date) == 24 || fuzz_relaxed("date"));
        FUZZ_ASSERT(d->expiration_date[strlen(d->expiration_date) - 1] == 'Z');
        FUZZ_ASSERT(err.message == NULL);
        /* The public accessors give the same strings. */
        FUZZ_ASSERT(intune_scep_cert_details_thumbprint(d) == d->thumbprint);
        isc_cert_details_free(d);
    } else {
        FUZZ_ASSERT(d == NULL);
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_INVALID_ARGUMENT || rc == INTUNE_SCEP_E_NOMEM);
        fuzz_check_error(&err, rc);
    }
    isc_error_reset(&err);
    free(cert);
    /* OpenSSL's error queue keeps allocations across inputs: empty it, so leak checks stay meaningful and cheap. */
    ERR_clear_error();
    return 0;
}
