/* SPDX-License-Identifier: Apache-2.0 */
/* Validate a device's CSR with Intune, then report the issued certificate.
 * usage: validate_and_notify intune.properties TRANSACTION_ID CSR_FILE CERT_FILE */
#include <intune_scep.h>
#include <stdio.h>
#include <stdlib.h>

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(1 << 20) : NULL;
    *len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    if (buf) buf[*len] = '\0';
    if (f) fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 5) return fprintf(stderr, "usage: %s CONFIG TXID CSR CERT\n", argv[0]), 2;
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *client = NULL;
    size_t csr_len, cert_len;
    char *csr = slurp(argv[3], &csr_len), *cert = slurp(argv[4], &cert_len), *csr_b64 = NULL;
    int rc = intune_scep_config_load_file(cfg, argv[1], err);
    if (rc == INTUNE_SCEP_OK) rc = intune_scep_client_new(cfg, &client, err);
    if (rc == INTUNE_SCEP_OK) rc = intune_scep_csr_to_base64_der(csr, csr_len, &csr_b64, err);
    if (rc == INTUNE_SCEP_OK) rc = intune_scep_validate_request(client, argv[2], csr_b64, err);
    /* Only now, after Intune said Success, may the CA issue the certificate. */
    if (rc == INTUNE_SCEP_OK)
        rc = intune_scep_send_success_notification_for_cert(client, argv[2], csr_b64, cert, cert_len, NULL, NULL, err);
    if (rc != INTUNE_SCEP_OK)
        fprintf(stderr, "%s: %s (code %s, activity %s)\n", intune_scep_status_name(rc), intune_scep_error_message(err),
                intune_scep_error_service_code(err) ? intune_scep_error_service_code(err) : "-",
                intune_scep_error_activity_id(err) ? intune_scep_error_activity_id(err) : "-");
    else
        printf("validated and notified\n");
    intune_scep_string_free(csr_b64);
    intune_scep_client_free(client);
    intune_scep_error_free(err);
    intune_scep_config_free(cfg);
    free(csr);
    free(cert);
    return rc == INTUNE_SCEP_OK ? 0 : 1;
}
