/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_csr_info.c - the certificate request reader (intune_scep_csr_info_*, core/csrinfo.c):
 * any bytes as a PEM, DER or base64 request; every accessor and the JSON form of what it read. */
#include "fuzz_common.h"

#include "csrinfo.h"

#include <cjson/cJSON.h>
#include <openssl/err.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *csr = malloc(size ? size : 1);
    FUZZ_ASSERT(csr);
    if (size) memcpy(csr, data, size);
    intune_scep_error err = {0};
    intune_scep_csr_info *info = NULL;
    int rc = isc_csr_info(csr, size, &info, &err);
    if (rc == INTUNE_SCEP_OK) {
        FUZZ_ASSERT(info);
        FUZZ_ASSERT(isc_csr_info_subject(info) && fuzz_utf8(isc_csr_info_subject(info)));
        FUZZ_ASSERT(isc_csr_info_key_type(info) && isc_csr_info_signature_hash(info));
        FUZZ_ASSERT(isc_csr_info_key_bits(info) >= 0 && isc_csr_info_validity_days(info) >= 0);
        for (size_t i = 0; i < isc_csr_info_san_count(info); i++)
            FUZZ_ASSERT(isc_csr_info_san_type(info, i) && isc_csr_info_san_value(info, i));
        FUZZ_ASSERT(isc_csr_info_san_type(info, isc_csr_info_san_count(info)) == NULL);
        for (size_t i = 0; i < isc_csr_info_eku_count(info); i++) FUZZ_ASSERT(isc_csr_info_eku(info, i));
        FUZZ_ASSERT(isc_csr_info_eku(info, isc_csr_info_eku_count(info)) == NULL);
        if (isc_csr_info_challenge(info)) FUZZ_ASSERT(fuzz_utf8(isc_csr_info_challenge(info)));
        char *json = NULL;
        FUZZ_ASSERT(isc_csr_info_to_json(info, &json, NULL) == INTUNE_SCEP_OK && json);
        cJSON *o = cJSON_Parse(json);
        FUZZ_ASSERT(o && cJSON_IsObject(o)); /* always well-formed JSON */
        cJSON_Delete(o);
        free(json);
        isc_csr_info_free(info);
    } else {
        FUZZ_ASSERT(info == NULL);
        FUZZ_ASSERT(rc == INTUNE_SCEP_E_INVALID_ARGUMENT || rc == INTUNE_SCEP_E_NOMEM);
        fuzz_check_error(&err, rc);
    }
    isc_error_reset(&err);
    free(csr);
    ERR_clear_error();
    return 0;
}
