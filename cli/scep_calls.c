/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scep_calls.c - `intune-scep validate`, `notify-success` and `notify-failure`: the three
 * calls a SCEP server makes, with their results as text or JSON. Exit 0 only for Intune's
 * Success.
 */
#include "scep_calls.h"

#include "files.h"
#include "hints.h"
#include "output.h"

#include <cjson/cJSON.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Read --csr and turn it into one-line base64 DER. Returns -1 when fine, else the exit code. */
static int load_csr(const struct cli_args *a, char **b64, intune_scep_error *err) {
    size_t len = 0;
    const char *why = NULL;
    char *raw = cli_read_file(a->csr_path, &len, &why);
    if (raw == NULL)
        return cli_fail_early(CLI_EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "--csr %s: %s", a->csr_path, why);
    int rc = intune_scep_csr_to_base64_der(raw, len, b64, err);
    free(raw);
    if (rc != INTUNE_SCEP_OK)
        return cli_fail_early(cli_exit_code_for_status(rc), intune_scep_status_name(rc), "--csr %s: %s",
                              a->csr_path, intune_scep_error_message(err));
    return -1;
}

/* Report the outcome of one SCEP call; returns the exit code. */
static int report_call(const struct cli_args *a, const char *command, int rc, double elapsed_ms,
                       intune_scep_error *err, const intune_scep_cert_details *details, int64_t hresult) {
    const char *fix = rc == INTUNE_SCEP_OK ? NULL : hint_for_error(HINT_STEP_SCEP_CALL, err);
    int code = cli_exit_code_for_status(rc);
    char ms[32], hr[64];
    snprintf(ms, sizeof ms, "%ld ms", (long)(elapsed_ms + 0.5));
    snprintf(hr, sizeof hr, "%" PRId64 " (0x%" PRIX64 ")", hresult, (uint64_t)hresult);
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_str(o, "command", command);
        cJSON_AddBoolToObject(o, "ok", rc == INTUNE_SCEP_OK);
        cli_json_str(o, "transaction_id", a->transaction_id);
        cli_json_error_fields(o, err, fix);
        if (rc == INTUNE_SCEP_OK) {
            /* Intune's own word for it: only "Success" ever gets here. */
            cJSON_ReplaceItemInObject(o, "service_code", cJSON_CreateString("Success"));
            cJSON_ReplaceItemInObject(o, "message", cJSON_CreateString("Intune answered Success"));
        }
        if (details != NULL) {
            cli_json_str(o, "certificate_thumbprint", intune_scep_cert_details_thumbprint(details));
            cli_json_str(o, "certificate_serial_number", intune_scep_cert_details_serial_number(details));
            cli_json_str(o, "certificate_expiration_date", intune_scep_cert_details_expiration_date(details));
            cli_json_str(o, "issuing_certificate_authority", intune_scep_cert_details_issuing_authority(details));
            cli_json_str(o, "ca_configuration", a->ca_configuration);
            cli_json_str(o, "certificate_authority", a->certificate_authority);
        }
        if (a->command == CLI_CMD_NOTIFY_FAILURE) {
            cJSON_AddNumberToObject(o, "hresult", (double)hresult); /* exact up to 2^53 */
            char exact[32];
            snprintf(exact, sizeof exact, "%" PRId64, hresult);
            cli_json_str(o, "hresult_exact", exact);
            cli_json_str(o, "error_description", a->description);
        }
        cJSON_AddNumberToObject(o, "elapsed_ms", (double)(long)(elapsed_ms + 0.5));
        cJSON_AddNumberToObject(o, "exit_code", code);
        cli_json_print(o);
        cJSON_Delete(o);
        return code;
    }
    if (rc == INTUNE_SCEP_OK) {
        const char *what = a->command == CLI_CMD_VALIDATE
                               ? "Intune accepted the request: the certificate may be issued"
                           : a->command == CLI_CMD_NOTIFY_SUCCESS ? "Intune recorded the issued certificate"
                                                                  : "Intune recorded the failure";
        printf("%s: Success - %s\n", command, what);
    } else if (rc == INTUNE_SCEP_E_REJECTED) {
        const char *sc = intune_scep_error_service_code(err);
        char *clean = cli_scrub(sc ? sc : "(no code)");
        printf("%s: REJECTED by Intune: %s (exit %d)\n", command, clean, code);
        free(clean);
    } else {
        printf("%s: FAILED: %s (exit %d)\n", command, intune_scep_status_name(rc), code);
    }
    cli_field(stdout, "transaction id", a->transaction_id);
    if (details != NULL) {
        cli_field(stdout, "thumbprint", intune_scep_cert_details_thumbprint(details));
        cli_field(stdout, "serial number", intune_scep_cert_details_serial_number(details));
        cli_field(stdout, "expires", intune_scep_cert_details_expiration_date(details));
        cli_field(stdout, "issuer", intune_scep_cert_details_issuing_authority(details));
        cli_field(stdout, "CA configuration", a->ca_configuration);
        cli_field(stdout, "CA", a->certificate_authority);
    }
    if (a->command == CLI_CMD_NOTIFY_FAILURE) {
        cli_field(stdout, "hresult", hr);
        cli_field(stdout, "description", a->description);
    }
    if (rc != INTUNE_SCEP_OK) {
        cli_print_error_fields(stdout, 2, err, fix);
        if (a->command == CLI_CMD_VALIDATE)
            printf("  Do not issue the certificate.\n");
        else if (a->command == CLI_CMD_NOTIFY_SUCCESS)
            printf("  Intune did not record the certificate: do not hand it to the device.\n");
    } else {
        cli_field(stdout, "activity id", intune_scep_error_activity_id(err));
    }
    cli_field(stdout, "elapsed", ms);
    return code;
}

int cli_scep_run(intune_scep_client *client, const struct cli_args *a, intune_scep_error *err) {
    char *csr = NULL;
    int early = load_csr(a, &csr, err);
    if (early >= 0)
        return early;
    int64_t hresult = 0;
    intune_scep_cert_details *details = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    int rc;
    double t0;
    if (a->command == CLI_CMD_NOTIFY_FAILURE) {
        if (cli_parse_hresult(a->hresult_text, &hresult) != 0) {
            intune_scep_string_free(csr);
            return cli_usage_error("--hresult '%s' is not a decimal or 0x hexadecimal 64-bit integer",
                                   a->hresult_text);
        }
        if (a->description[0] == '\0') {
            intune_scep_string_free(csr);
            return cli_fail_early(CLI_EXIT_USAGE, "USAGE", "--description must not be empty");
        }
    }
    if (a->command == CLI_CMD_NOTIFY_SUCCESS) {
        const char *why = NULL;
        cert = cli_read_file(a->cert_path, &cert_len, &why);
        if (cert == NULL) {
            intune_scep_string_free(csr);
            return cli_fail_early(CLI_EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "--cert %s: %s", a->cert_path,
                                  why);
        }
        rc = intune_scep_cert_details_from_cert(cert, cert_len, &details, err);
        if (rc != INTUNE_SCEP_OK) {
            int code = cli_fail_early(cli_exit_code_for_status(rc), intune_scep_status_name(rc), "--cert %s: %s",
                                      a->cert_path, intune_scep_error_message(err));
            free(cert);
            intune_scep_string_free(csr);
            return code;
        }
    }
    t0 = cli_now_ms();
    switch (a->command) {
    case CLI_CMD_VALIDATE:
        rc = intune_scep_validate_request(client, a->transaction_id, csr, err);
        break;
    case CLI_CMD_NOTIFY_SUCCESS:
        rc = intune_scep_send_success_notification_for_cert(client, a->transaction_id, csr, cert, cert_len,
                                                            a->ca_configuration, a->certificate_authority, err);
        break;
    default:
        rc = intune_scep_send_failure_notification(client, a->transaction_id, csr, hresult, a->description, err);
        break;
    }
    int code = report_call(a, a->command_name, rc, cli_now_ms() - t0, err, details, hresult);
    intune_scep_cert_details_free(details);
    free(cert);
    intune_scep_string_free(csr);
    return code;
}
