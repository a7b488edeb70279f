/* SPDX-License-Identifier: Apache-2.0 */
/*
 * revocations.c - `intune-scep revocations download` and `... upload`: the
 * revocation calls of Intune's PkiConnectorFEService, as a CA's revocation task
 * makes them. Download prints the requests (text, or JSON with --json); upload
 * takes those JSON requests back with each one's outcome added ("succeeded",
 * "errorCode", "errorMessage") and reports whether Intune took them.
 *
 * Microsoft's guidance, kept in the defaults and the help (help.c): at most 100 requests
 * per download (500 is the service's limit), the issuer name as sent in the
 * success notifications (at most 256 characters), the same transaction for a
 * download and its upload, a download an hour or less often.
 */
#include "revocations.h"

#include "files.h"
#include "hints.h"
#include "output.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX 100
#define HARD_MAX 500
#define ISSUER_MAX 256

static int usage(const char *message) {
    return cli_fail_early(CLI_EXIT_USAGE, "USAGE", "%s", message);
}

int cli_revocations_check(const struct cli_args *a) {
    char buf[320];
    if (a->subcommand == NULL)
        return usage("'revocations' needs a subcommand: download or upload");
    if (strcmp(a->subcommand, "download") == 0) {
        if (a->file != NULL) {
            snprintf(buf, sizeof buf, "unexpected argument '%.200s' (download takes no file)", a->file);
            return usage(buf);
        }
        if (a->max_text != NULL) {
            char *end = NULL;
            long n = strtol(a->max_text, &end, 10);
            if (*a->max_text == '\0' || *end != '\0' || n < 1 || n > HARD_MAX) {
                snprintf(buf, sizeof buf, "--max '%.40s' must be a number from 1 to %d (100 or less recommended)",
                         a->max_text, HARD_MAX);
                return usage(buf);
            }
        }
        if (a->issuer != NULL && strlen(a->issuer) > ISSUER_MAX) {
            snprintf(buf, sizeof buf, "--issuer is longer than %d characters", ISSUER_MAX);
            return usage(buf);
        }
        return -1;
    }
    if (strcmp(a->subcommand, "upload") == 0) {
        if (a->max_text != NULL || a->issuer != NULL)
            return usage("options --max and --issuer apply to 'revocations download' only");
        if (a->file == NULL)
            return usage("'revocations upload' needs the RESULTS.json file");
        return -1;
    }
    snprintf(buf, sizeof buf, "unknown subcommand 'revocations %.100s' (download or upload)", a->subcommand);
    return usage(buf);
}

static int download(intune_scep_client *client, intune_scep_error *err, const struct cli_args *a) {
    int max = a->max_text ? (int)strtol(a->max_text, NULL, 10) : DEFAULT_MAX;
    const char *issuer = a->issuer && *a->issuer ? a->issuer : NULL;
    intune_scep_revocation_requests *list = NULL;
    double t0 = cli_now_ms();
    int rc = intune_scep_download_revocation_requests(client, max, issuer, &list, err);
    double elapsed = cli_now_ms() - t0;
    int code = cli_exit_code_for_status(rc);
    const char *fix = rc == INTUNE_SCEP_OK ? NULL : hint_for_error(HINT_STEP_SCEP_CALL, err);
    size_t n = intune_scep_revocation_requests_count(list);
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_str(o, "command", "revocations download");
        cJSON_AddBoolToObject(o, "ok", rc == INTUNE_SCEP_OK);
        cli_json_error_fields(o, err, fix);
        cJSON_AddNumberToObject(o, "max_requests", max);
        cli_json_str(o, "issuer_name", issuer);
        cJSON_AddNumberToObject(o, "count", (double)n);
        cJSON *arr = cJSON_AddArrayToObject(o, "requests");
        for (size_t i = 0; i < n; i++) {
            cJSON *r = cJSON_CreateObject();
            cli_json_str(r, "requestContext", intune_scep_revocation_requests_request_context(list, i));
            cli_json_str(r, "serialNumber", intune_scep_revocation_requests_serial_number(list, i));
            cli_json_str(r, "issuerName", intune_scep_revocation_requests_issuer_name(list, i));
            cli_json_str(r, "caConfiguration", intune_scep_revocation_requests_ca_configuration(list, i));
            cJSON_AddItemToArray(arr, r);
        }
        cJSON_AddNumberToObject(o, "elapsed_ms", (double)(long)(elapsed + 0.5));
        cJSON_AddNumberToObject(o, "exit_code", code);
        cli_json_print(o);
        cJSON_Delete(o);
    } else if (rc == INTUNE_SCEP_OK) {
        char *is = cli_scrub(issuer ? issuer : "any");
        printf("revocations download: %zu request%s (max %d, issuer %s)\n", n, n == 1 ? "" : "s", max, is);
        free(is);
        for (size_t i = 0; i < n; i++) {
            char *serial = cli_scrub(intune_scep_revocation_requests_serial_number(list, i));
            printf("  %zu. serial %s\n", i + 1, serial);
            free(serial);
            const char *iss = intune_scep_revocation_requests_issuer_name(list, i);
            cli_field(stdout, "issuer", iss && *iss ? iss : NULL);
            cli_field(stdout, "CA configuration", intune_scep_revocation_requests_ca_configuration(list, i));
            cli_field(stdout, "request context", intune_scep_revocation_requests_request_context(list, i));
        }
        cli_field(stdout, "activity id", intune_scep_error_activity_id(err));
        if (n > 0)
            printf("Revoke them, then report each outcome: run this with --json, add \"succeeded\" (and\n"
                   "\"errorCode\", \"errorMessage\" for a failure) to each request, and pass the file to\n"
                   "'intune-scep revocations upload'.\n");
    } else {
        printf("revocations download: FAILED: %s (exit %d)\n", intune_scep_status_name(rc), code);
        cli_print_error_fields(stdout, 2, err, fix);
    }
    intune_scep_revocation_requests_free(list);
    return code;
}

/* The results of `json` into `out`. Returns -1 when fine, else the exit code (reported). */
static int read_results(const char *path, const char *text, size_t len, intune_scep_revocation_results *out,
                        intune_scep_error *err, size_t *succeeded) {
    char buf[512];
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (root == NULL) {
        snprintf(buf, sizeof buf, "%.200s: not JSON", path);
        return cli_fail_early(CLI_EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "%s", buf);
    }
    const cJSON *items = root;
    if (cJSON_IsObject(root)) {
        items = cJSON_GetObjectItemCaseSensitive(root, "results");
        if (items == NULL)
            items = cJSON_GetObjectItemCaseSensitive(root, "requests");
    }
    int code = -1;
    if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) == 0) {
        snprintf(buf, sizeof buf, "%.200s: no results (a JSON list, or an object with a \"results\" or "
                 "\"requests\" list, of at least one)", path);
        code = cli_fail_early(CLI_EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "%s", buf);
    }
    int i = 0;
    const cJSON *it;
    const cJSON *list = code < 0 ? items : NULL; /* nothing to read after an error */
    cJSON_ArrayForEach(it, list) {
        const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(it, "requestContext");
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(it, "succeeded");
        const cJSON *ec = cJSON_GetObjectItemCaseSensitive(it, "errorCode");
        const cJSON *em = cJSON_GetObjectItemCaseSensitive(it, "errorMessage");
        const char *why = NULL;
        if (!cJSON_IsObject(it)) why = "is not an object";
        else if (!cJSON_IsString(ctx) || ctx->valuestring[0] == '\0') why = "has no \"requestContext\" string";
        else if (!cJSON_IsBool(ok)) why = "has no \"succeeded\" true or false (the outcome of the revocation)";
        else if (ec != NULL && !cJSON_IsNull(ec) && !cJSON_IsString(ec)) why = "has an \"errorCode\" that is not a string";
        else if (em != NULL && !cJSON_IsNull(em) && !cJSON_IsString(em)) why = "has an \"errorMessage\" that is not a string";
        if (why == NULL) {
            int rc = intune_scep_revocation_results_add(out, ctx->valuestring, cJSON_IsTrue(ok),
                                                        cJSON_IsString(ec) ? ec->valuestring : NULL,
                                                        cJSON_IsString(em) ? em->valuestring : NULL, err);
            if (rc != INTUNE_SCEP_OK) {
                snprintf(buf, sizeof buf, "%.200s: result %d: %.250s", path, i, intune_scep_error_message(err));
                code = cli_fail_early(cli_exit_code_for_status(rc), intune_scep_status_name(rc), "%s", buf);
                break;
            }
            if (cJSON_IsTrue(ok)) (*succeeded)++;
        } else {
            snprintf(buf, sizeof buf, "%.200s: result %d %s", path, i, why);
            code = cli_fail_early(CLI_EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "%s", buf);
            break;
        }
        i++;
    }
    cJSON_Delete(root);
    return code;
}

static int upload(intune_scep_client *client, intune_scep_error *err, const struct cli_args *a) {
    char buf[512];
    size_t len = 0;
    const char *why = NULL;
    char *text = cli_read_file(a->file, &len, &why);
    if (text == NULL) {
        snprintf(buf, sizeof buf, "%.200s: %.200s", a->file, why);
        return cli_fail_early(CLI_EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "%s", buf);
    }
    intune_scep_revocation_results *results = intune_scep_revocation_results_new();
    if (results == NULL) {
        free(text);
        return cli_fail_early(CLI_EXIT_INTERNAL, "INTUNE_SCEP_E_NOMEM", "out of memory");
    }
    size_t succeeded = 0;
    int code = read_results(a->file, text, len, results, err, &succeeded);
    free(text);
    if (code >= 0) {
        intune_scep_revocation_results_free(results);
        return code;
    }
    size_t n = intune_scep_revocation_results_count(results);
    double t0 = cli_now_ms();
    int rc = intune_scep_upload_revocation_results(client, results, err);
    double elapsed = cli_now_ms() - t0;
    intune_scep_revocation_results_free(results);
    code = cli_exit_code_for_status(rc);
    const char *fix = rc == INTUNE_SCEP_OK ? NULL
                      : rc == INTUNE_SCEP_E_REJECTED
                          ? "Intune did not take the results ({\"value\": false}): check that each requestContext "
                            "comes from a download of this tenant and upload again"
                          : hint_for_error(HINT_STEP_SCEP_CALL, err);
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_str(o, "command", "revocations upload");
        cJSON_AddBoolToObject(o, "ok", rc == INTUNE_SCEP_OK);
        cli_json_error_fields(o, err, fix);
        if (rc == INTUNE_SCEP_OK)
            cJSON_ReplaceItemInObject(o, "message", cJSON_CreateString("Intune took the results"));
        cJSON_AddNumberToObject(o, "count", (double)n);
        cJSON_AddNumberToObject(o, "succeeded", (double)succeeded);
        cJSON_AddNumberToObject(o, "failed", (double)(n - succeeded));
        cJSON_AddNumberToObject(o, "elapsed_ms", (double)(long)(elapsed + 0.5));
        cJSON_AddNumberToObject(o, "exit_code", code);
        cli_json_print(o);
        cJSON_Delete(o);
    } else if (rc == INTUNE_SCEP_OK) {
        printf("revocations upload: Success - Intune took %zu result%s (%zu revoked, %zu failed)\n", n,
               n == 1 ? "" : "s", succeeded, n - succeeded);
        cli_field(stdout, "activity id", intune_scep_error_activity_id(err));
    } else {
        printf("revocations upload: %s: %s (exit %d)\n", rc == INTUNE_SCEP_E_REJECTED ? "REJECTED by Intune" : "FAILED",
               intune_scep_status_name(rc), code);
        cli_print_error_fields(stdout, 2, err, fix);
    }
    return code;
}

int cli_revocations_run(intune_scep_client *client, intune_scep_error *err, const struct cli_args *a) {
    return strcmp(a->subcommand, "download") == 0 ? download(client, err, a) : upload(client, err, a);
}
