/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.c - `intune-scep inspect-csr`: print what a certificate request asks for
 * (subject, SANs, key, signature hash, key usage, EKUs, Intune's validity pairs,
 * whether it carries a challenge). Over the public C ABI only.
 *
 * The challenge is the device's one-time credential: shown only with --show-challenge.
 */
#include "inspect.h"

#include "intune_scep.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CSR_FILE (256 * 1024)

int inspect_is_command(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            /* global options that take a value */
            if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) i++;
            continue;
        }
        return strcmp(argv[i], "inspect-csr") == 0;
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: intune-scep inspect-csr [--json] [--show-challenge] --csr FILE|-\n"
               "\n"
               "Show what a certificate request (PEM, DER or base64) asks for: subject, SANs (email,\n"
               "UPN, DNS, URI, the strong-mapping SID), key type and size, signature hash, key usage,\n"
               "EKUs, Intune's ValidityPeriod pairs, and whether it carries a challengePassword\n"
               "(shown only with --show-challenge). Needs no configuration; nothing is sent.\n"
               "Exit codes: 0 read, 2 usage error or not a certificate request.\n");
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = malloc(MAX_CSR_FILE + 1);
    size_t n = buf != NULL ? fread(buf, 1, MAX_CSR_FILE + 1, f) : 0;
    if (f != stdin) fclose(f);
    if (buf == NULL || n == 0 || n > MAX_CSR_FILE) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int fail(int json, const char *msg) {
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "command", "inspect-csr");
        cJSON_AddBoolToObject(o, "ok", 0);
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddNumberToObject(o, "exit_code", 2);
        char *s = cJSON_PrintUnformatted(o);
        if (s != NULL) printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        fprintf(stderr, "intune-scep: %s\n", msg);
    }
    return 2;
}

int inspect_csr_main(int argc, char **argv) {
    int json = 0, show = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "inspect-csr") == 0) continue;
        if (strcmp(a, "--json") == 0) json = 1;
        else if (strcmp(a, "--show-challenge") == 0) show = 1;
        else if (strcmp(a, "--csr") == 0 && i + 1 < argc) path = argv[++i];
        else if (strncmp(a, "--csr=", 6) == 0) path = a + 6;
        else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) i++; /* not needed */
        else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) continue;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "inspect-csr: unknown or incomplete option '%.100s' (see intune-scep inspect-csr --help)", a);
            return fail(json, msg);
        }
    }
    if (path == NULL) return fail(json, "inspect-csr: --csr FILE is required ('-' reads standard input)");
    size_t len = 0;
    char *data = read_all(path, &len);
    if (data == NULL) {
        char msg[512];
        snprintf(msg, sizeof msg, "inspect-csr: --csr: cannot read %.300s (missing, empty or over 256 KiB)", path);
        return fail(json, msg);
    }
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_csr_info *info = NULL;
    int rc = intune_scep_csr_info_parse(data, len, &info, err);
    free(data);
    if (rc != INTUNE_SCEP_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "inspect-csr: --csr %.200s: %s", path, intune_scep_error_message(err));
        intune_scep_error_free(err);
        return fail(json, msg);
    }
    const char *challenge = intune_scep_csr_info_challenge_password(info);
    if (json) {
        char *text = NULL;
        rc = intune_scep_csr_info_to_json(info, &text, err);
        cJSON *o = rc == INTUNE_SCEP_OK ? cJSON_Parse(text) : NULL;
        intune_scep_string_free(text);
        if (o == NULL) {
            intune_scep_csr_info_free(info);
            intune_scep_error_free(err);
            return fail(json, "inspect-csr: out of memory");
        }
        cJSON_AddBoolToObject(o, "has_challenge_password", challenge != NULL);
        if (!show) cJSON_ReplaceItemInObject(o, "challenge_password", challenge != NULL ? cJSON_CreateString("(hidden)") : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "command", "inspect-csr");
        cJSON_AddBoolToObject(o, "ok", 1);
        char *s = cJSON_PrintUnformatted(o);
        if (s != NULL) printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        const char *ku = intune_scep_csr_info_key_usage(info);
        printf("subject            %s\n", intune_scep_csr_info_subject(info));
        for (size_t i = 0; i < intune_scep_csr_info_san_count(info); i++)
            printf("san                %s:%s\n", intune_scep_csr_info_san_type(info, i),
                   intune_scep_csr_info_san_value(info, i));
        if (intune_scep_csr_info_sid(info) != NULL) printf("sid                %s\n", intune_scep_csr_info_sid(info));
        printf("key                %s %d\n", intune_scep_csr_info_key_type(info), intune_scep_csr_info_key_bits(info));
        printf("signature hash     %s (%s)\n", intune_scep_csr_info_signature_hash(info),
               intune_scep_csr_info_signature_valid(info) ? "signature valid" : "SIGNATURE INVALID");
        printf("key usage          %s\n", ku != NULL ? (*ku ? ku : "(no bit set)") : "(not requested)");
        for (size_t i = 0; i < intune_scep_csr_info_eku_count(info); i++)
            printf("eku                %s\n", intune_scep_csr_info_eku(info, i));
        if (intune_scep_csr_info_validity_period(info) != NULL || intune_scep_csr_info_validity_period_units(info) != NULL)
            printf("validity           %s %s (%d days)\n",
                   intune_scep_csr_info_validity_period_units(info) ? intune_scep_csr_info_validity_period_units(info) : "?",
                   intune_scep_csr_info_validity_period(info) ? intune_scep_csr_info_validity_period(info) : "?",
                   intune_scep_csr_info_validity_days(info));
        printf("challenge          %s\n", challenge == NULL ? "(none)" : show ? challenge : "present (--show-challenge shows it)");
    }
    intune_scep_csr_info_free(info);
    intune_scep_error_free(err);
    return 0;
}
