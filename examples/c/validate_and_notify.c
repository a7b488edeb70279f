/* SPDX-License-Identifier: Apache-2.0 */
/* Validate a device's CSR with Intune, then issue (here: load) the certificate, then tell
 * Intune what was issued - in that order, and the certificate only after Intune said Success.
 *
 * usage: validate_and_notify intune.properties TRANSACTION_ID CSR_FILE CERT_FILE
 *   intune.properties  the configuration; INTUNE_SCEP_<KEY> environment variables win over it
 *   CSR_FILE           the device's certificate request (PEM, DER or base64)
 *   CERT_FILE          stands in for the CA: the certificate it issues (PEM or DER), read only
 *                      after the request was validated
 */
#include <intune_scep.h>
#include <stdio.h>
#include <stdlib.h>

/* The file's bytes (at most 1 MiB), NUL-terminated; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    if (buf) buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Your CA: issue a certificate for the validated request. Here it loads one from a file. */
static char *issue_certificate(const char *cert_file, size_t *cert_len) {
    return slurp(cert_file, cert_len);
}

static int report(const char *step, int rc, const intune_scep_error *err) {
    fprintf(stderr, "%s: %s: %s (code %s, activity %s)\n", step, intune_scep_status_name(rc),
            intune_scep_error_message(err),
            intune_scep_error_service_code(err) ? intune_scep_error_service_code(err) : "-",
            intune_scep_error_activity_id(err) ? intune_scep_error_activity_id(err) : "-");
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5) return fprintf(stderr, "usage: %s CONFIG TXID CSR CERT\n", argv[0]), 2;
    const char *config_file = argv[1], *txid = argv[2], *csr_file = argv[3], *cert_file = argv[4];
    int status = 1;
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *client = NULL; /* create once, share across threads */
    char *csr = NULL, *csr_b64 = NULL, *cert = NULL;
    size_t csr_len = 0, cert_len = 0;
    if (!cfg || !err) goto done;

    /* 1. The configuration: the file, then the environment (only because we ask for it). */
    int rc = intune_scep_config_load_file(cfg, config_file, err);
    if (rc == INTUNE_SCEP_OK) rc = intune_scep_config_load_env(cfg, NULL, err);
    if (rc == INTUNE_SCEP_OK) rc = intune_scep_client_new(cfg, &client, err);
    if (rc != INTUNE_SCEP_OK) {
        report("configuration", rc, err);
        goto done;
    }

    /* 2. Validate the request. Anything but OK: refuse the enrollment, issue nothing. */
    if (!(csr = slurp(csr_file, &csr_len))) {
        fprintf(stderr, "%s: cannot be read\n", csr_file);
        goto done;
    }
    rc = intune_scep_csr_to_base64_der(csr, csr_len, &csr_b64, err);
    if (rc == INTUNE_SCEP_OK) rc = intune_scep_validate_request(client, txid, csr_b64, err);
    if (rc != INTUNE_SCEP_OK) {
        report("validateRequest: not issuing", rc, err);
        goto done;
    }

    /* 3. Only now, after Intune said Success, may the CA issue the certificate. */
    if (!(cert = issue_certificate(cert_file, &cert_len))) {
        fprintf(stderr, "%s: cannot be read\n", cert_file);
        rc = intune_scep_send_failure_notification(client, txid, csr_b64, 0x80004005LL, "the CA did not issue", err);
        if (rc != INTUNE_SCEP_OK) report("failureNotification", rc, err);
        goto done;
    }

    /* 4. Tell Intune what was issued. If this fails, do not hand the certificate to the device. */
    rc = intune_scep_send_success_notification_for_cert(client, txid, csr_b64, cert, cert_len, NULL, NULL, err);
    if (rc != INTUNE_SCEP_OK) {
        report("successNotification: withholding the certificate", rc, err);
        goto done;
    }
    printf("validated, issued and notified\n");
    status = 0;

done:
    intune_scep_string_free(csr_b64);
    intune_scep_client_free(client);
    intune_scep_error_free(err);
    intune_scep_config_free(cfg);
    free(csr);
    free(cert);
    return status;
}
