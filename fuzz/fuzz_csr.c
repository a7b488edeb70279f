/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_csr.c - CSR normalisation (isc_csr_to_base64_der): a certificate request
 * as PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"), DER, or base64
 * with or without line breaks, into the one-line base64 DER of the SCEP calls. */
#include "fuzz_common.h"
#include "certinfo.h"

#include <openssl/err.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *csr = malloc(size ? size : 1);
    FUZZ_ASSERT(csr);
    if (size) memcpy(csr, data, size);
    char *out = NULL;
    intune_scep_error err = {0};
    int rc = isc_csr_to_base64_der(csr, size, &out, &err);
    if (rc == INTUNE_SCEP_OK) {
        FUZZ_ASSERT(out && *out);
        size_t n = strlen(out);
        /* One line of standard base64 that decodes to one whole PKCS#10 request. */
        FUZZ_ASSERT(n % 4 == 0);
        FUZZ_ASSERT(strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == n);
        unsigned char *der = malloc(n / 4 * 3 + 1);
        FUZZ_ASSERT(der);
        int dl = EVP_DecodeBlock(der, (const unsigned char *)out, (int)n);
        FUZZ_ASSERT(dl > 0);
        while (n > 0 && out[n - 1] == '=') n--, dl--; /* EVP_DecodeBlock counts padding as zero bytes */
        const unsigned char *p = der;
        X509_REQ *req = d2i_X509_REQ(NULL, &p, dl);
        FUZZ_ASSERT(req && p == der + dl);
        X509_REQ_free(req);
        free(der);
        /* Normalising the normal form gives it back unchanged. */
        char *again = NULL;
        FUZZ_ASSERT(isc_csr_to_base64_der(out, strlen(out), &again, NULL) == INTUNE_SCEP_OK);
        FUZZ_ASSERT(strcmp(again, out) == 0);
        free(again);
        free(out);
    } else {
        FUZZ_ASSERT(out == NULL);
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_INVALID_ARGUMENT || rc == INTUNE_SCEP_E_NOMEM);
        fuzz_check_error(&err, rc);
    }
    isc_error_reset(&err);
    free(csr);
    /* OpenSSL's error queue keeps allocations across inputs: empty it, so leak checks stay meaningful and cheap. */
    ERR_clear_error();
    return 0;
}
