/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check.c - `intune-scep check`: a configuration checked against Entra ID, Microsoft Graph
 * and Intune step by step (Graph token and its roles, discovery of the SCEP service, Intune
 * token and its roles), each step with its time, and on failure what to fix.
 */
#include "check.h"

#include "hints.h"
#include "output.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct step {
    const char *name;  /* for JSON */
    const char *title; /* for people */
    hint_step hint;
    int done;
    int status;
    double elapsed_ms;
    char *detail; /* the discovered URI */
};

/* 1 when the comma-separated `roles` hold one of the NULL-terminated `wanted`. */
static int has_role(const char *roles, const char *const *wanted) {
    for (; *wanted; wanted++) {
        size_t n = strlen(*wanted);
        for (const char *p = roles; p && *p;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len == n && strncmp(p, *wanted, n) == 0)
                return 1;
            p = end ? end + 1 : NULL;
        }
    }
    return 0;
}

static const char *const GRAPH_ROLES[] = {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All",
                                          "Directory.ReadWrite.All", NULL};
static const char *const INTUNE_ROLES[] = {"scep_challenge_provider", NULL};

static const char *credential_kind_name(int kind) {
    switch (kind) {
    case INTUNE_SCEP_CREDENTIAL_SECRET: return "client secret (AAD_APP_KEY)";
    case INTUNE_SCEP_CREDENTIAL_CERTIFICATE: return "certificate (AAD_CLIENT_CERT_FILE)";
    case INTUNE_SCEP_CREDENTIAL_FEDERATED: return "federated token (AAD_FEDERATED_TOKEN_FILE)";
    case INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY: return "managed identity (AAD_MANAGED_IDENTITY)";
    default: return "unknown";
    }
}

int cli_check_run(intune_scep_client *client, const intune_scep_config *cfg, const struct cli_args *a,
                  intune_scep_error *err) {
    struct step steps[3] = {
        {"graph_token", "Graph token", HINT_STEP_GRAPH_TOKEN, 0, 0, 0, NULL},
        {"discovery", "Service discovery", HINT_STEP_DISCOVERY, 0, 0, 0, NULL},
        {"intune_token", "Intune token", HINT_STEP_INTUNE_TOKEN, 0, 0, 0, NULL},
    };
    int failed = -1;
    char *roles[3] = {NULL, NULL, NULL};
    const char *missing = NULL; /* a permission the token does not carry */
    for (int i = 0; i < 3 && failed < 0; i++) {
        double t0 = cli_now_ms();
        int rc;
        if (i == 1) {
            char *uri = NULL;
            rc = intune_scep_client_discover(client, INTUNE_SCEP_SERVICE_VALIDATION, &uri, err);
            if (rc == INTUNE_SCEP_OK && uri != NULL)
                steps[1].detail = cli_xstrdup(uri);
            intune_scep_string_free(uri);
        } else {
            /* A fresh token, and the permissions it carries (its roles claim, read but not verified). */
            int resource = i == 0 ? INTUNE_SCEP_RESOURCE_GRAPH : INTUNE_SCEP_RESOURCE_INTUNE;
            rc = intune_scep_client_token_roles(client, resource, &roles[i], err);
            if (rc == INTUNE_SCEP_OK) {
                const char *const *wanted = i == 0 ? GRAPH_ROLES : INTUNE_ROLES;
                size_t n = strlen(roles[i]) + 16;
                steps[i].detail = cli_xmalloc(n);
                snprintf(steps[i].detail, n, "roles: %s", *roles[i] ? roles[i] : "(none)");
                if (!has_role(roles[i], wanted)) {
                    missing = wanted[0];
                    rc = INTUNE_SCEP_E_AUTH;
                }
            }
        }
        steps[i].elapsed_ms = cli_now_ms() - t0;
        steps[i].done = 1;
        steps[i].status = rc;
        if (rc != INTUNE_SCEP_OK)
            failed = i;
    }
    char permission_msg[512] = "", permission_fix[512] = "";
    if (missing) {
        int graph = strcmp(missing, "Application.Read.All") == 0;
        snprintf(permission_msg, sizeof permission_msg,
                 "the %s token does not carry the application permission %s (roles: %s)", graph ? "Graph" : "Intune",
                 missing, roles[failed] && *roles[failed] ? roles[failed] : "none");
        snprintf(permission_fix, sizeof permission_fix,
                 "add the %s application permission %s to the app registration (Entra admin center > App "
                 "registrations > your app > API permissions > Add a permission > %s > Application permissions), "
                 "then 'Grant admin consent' for the tenant; a new token carries it",
                 graph ? "Microsoft Graph" : "Intune", missing, graph ? "Microsoft Graph" : "APIs my organization uses > Microsoft Intune API");
    }
    const char *fix = missing ? permission_fix : failed >= 0 ? hint_for_error(steps[failed].hint, err) : NULL;
    int code = failed >= 0 ? cli_exit_code_for_status(steps[failed].status) : CLI_EXIT_SUCCESS;
    const char *tenant = intune_scep_config_get(cfg, "TENANT");
    const char *app_id = intune_scep_config_get(cfg, "AAD_APP_ID");
    int kind = intune_scep_client_credential_kind(client);
    int64_t expiry = intune_scep_client_certificate_expiry(client);
    char expires[64] = "";
    if (expiry > 0) {
        time_t t = (time_t)expiry;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    long days_left = expiry > 0 ? (long)((expiry - (int64_t)time(NULL)) / 86400) : 0;

    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_str(o, "command", "check");
        cJSON_AddBoolToObject(o, "ok", failed < 0);
        cli_json_str(o, "tenant", tenant);
        cli_json_str(o, "app_id", app_id);
        cli_json_str(o, "transaction_id", NULL); /* no SCEP transaction: same fields as the other commands */
        cli_json_str(o, "credential", credential_kind_name(kind));
        cli_json_str(o, "certificate_expires", expiry > 0 ? expires : NULL);
        if (a->candidate_path)
            cli_json_str(o, "candidate", a->candidate_path);
        if (failed >= 0) {
            cli_json_error_fields(o, err, fix);
            cli_json_str(o, "failed_step", steps[failed].name);
            if (missing) {
                cJSON_ReplaceItemInObject(o, "status", cJSON_CreateString("INTUNE_SCEP_E_AUTH"));
                cJSON_ReplaceItemInObject(o, "message", cJSON_CreateString(permission_msg));
                cli_json_str(o, "missing_permission", missing);
            }
        } else {
            cli_json_error_fields(o, err, NULL); /* every field present, empty */
            cJSON_ReplaceItemInObject(o, "message", cJSON_CreateString("every step passed"));
        }
        cJSON *arr = cJSON_AddArrayToObject(o, "steps");
        for (int i = 0; i < 3; i++) {
            cJSON *s = cJSON_CreateObject();
            cli_json_str(s, "name", steps[i].name);
            cli_json_str(s, "title", steps[i].title);
            if (!steps[i].done) {
                cli_json_str(s, "result", "skipped");
                cJSON_AddBoolToObject(s, "ok", 0);
            } else {
                cli_json_str(s, "result", steps[i].status == INTUNE_SCEP_OK ? "ok" : "failed");
                cJSON_AddBoolToObject(s, "ok", steps[i].status == INTUNE_SCEP_OK);
                cJSON_AddNumberToObject(s, "elapsed_ms", (double)(long)(steps[i].elapsed_ms + 0.5));
                if (i == 1 && steps[i].detail)
                    cli_json_str(s, "uri", steps[i].detail);
                if (roles[i]) {
                    cJSON *ra = cJSON_AddArrayToObject(s, "roles");
                    for (const char *p = roles[i]; *p;) {
                        const char *end = strchr(p, ',');
                        size_t len = end ? (size_t)(end - p) : strlen(p);
                        char *one = cli_xmalloc(len + 1);
                        memcpy(one, p, len);
                        one[len] = '\0';
                        cJSON_AddItemToArray(ra, cJSON_CreateString(one));
                        free(one);
                        p = end ? end + 1 : p + len;
                    }
                }
                if (i == failed && missing) {
                    cli_json_str(s, "status", "INTUNE_SCEP_E_AUTH");
                    cli_json_str(s, "message", permission_msg);
                    cli_json_str(s, "missing_permission", missing);
                    cli_json_str(s, "fix", fix);
                } else if (i == failed) {
                    cli_json_error_fields(s, err, fix);
                }
            }
            cJSON_AddItemToArray(arr, s);
        }
        cJSON_AddNumberToObject(o, "exit_code", code);
        cli_json_print(o);
        cJSON_Delete(o);
    } else {
        char *t = cli_scrub(tenant ? tenant : "?"), *app = cli_scrub(app_id ? app_id : "?");
        printf("Checking tenant %s, app %s\n", t, app);
        free(t);
        free(app);
        for (int i = 0; i < 3; i++) {
            if (!steps[i].done) {
                printf("  %-5s %-18s %8s\n", "skip", steps[i].title, "-");
                continue;
            }
            char *detail = cli_scrub(steps[i].detail ? steps[i].detail : "");
            printf("  %-5s %-18s %5ld ms%s%s\n", steps[i].status == INTUNE_SCEP_OK ? "ok" : "FAIL", steps[i].title,
                   (long)(steps[i].elapsed_ms + 0.5), *detail ? "  " : "", detail);
            free(detail);
            if (i == failed && missing) {
                cli_field_at(stdout, 8, "status", "INTUNE_SCEP_E_AUTH");
                cli_field_at(stdout, 8, "missing", missing);
                cli_field_at(stdout, 8, "message", permission_msg);
                cli_field_at(stdout, 8, "fix", fix);
            } else if (i == failed) {
                cli_print_error_fields(stdout, 8, err, fix);
            }
        }
        if (failed < 0)
            printf("Result: OK - every step passed; this configuration can reach Intune.\n");
        else
            printf("Result: FAILED at step %d (%s), exit %d\n", failed + 1, steps[failed].title, code);
        char *cand = a->candidate_path ? cli_scrub(a->candidate_path) : NULL;
        if (expiry > 0)
            printf("Credential: %s%s%s, certificate expires %s (%s%ld days)\n", credential_kind_name(kind),
                   cand ? " from candidate " : "", cand ? cand : "", expires, days_left < 0 ? "expired " : "in ",
                   days_left < 0 ? -days_left : days_left);
        else
            printf("Credential: %s%s%s\n", credential_kind_name(kind), cand ? " from candidate " : "",
                   cand ? cand : "");
        free(cand);
    }
    for (int i = 0; i < 3; i++) {
        free(steps[i].detail);
        intune_scep_string_free(roles[i]);
    }
    return code;
}
