/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_json_writer.c - the request bodies of the three SCEP calls (isc_body_validate,
 * isc_body_success, isc_body_failure in core/scep.c), written without a cJSON tree. The input
 * is cut into fields at 0xff bytes (never part of UTF-8). For every set of fields:
 *   - a field that is not valid UTF-8 (or would hold a NUL: C strings cannot) gives NULL;
 *   - otherwise the body is byte for byte what cJSON_PrintUnformatted prints for the same tree,
 *     and cJSON's parser reads it back as one object holding exactly those members, each string
 *     equal to its field (NULL or "" read back as null), the hResult exactly the 64-bit number. */
#include "fuzz_common.h"
#include "scep.h"

#include <inttypes.h>

#define NFIELDS 9

static cJSON *str_or_null(const char *v) {
    return v && *v ? cJSON_CreateString(v) : cJSON_CreateNull();
}

/* The reference: the tree cJSON builds and prints (what the library sent before). */
static char *reference(const char *wrapper, const char *const *names, const char *const *values, size_t n,
                       const char *raw_name, const char *raw_value, size_t raw_at) {
    cJSON *inner = cJSON_CreateObject();
    FUZZ_ASSERT(inner);
    for (size_t i = 0; i < n; i++) {
        if (raw_name && i == raw_at) cJSON_AddItemToObject(inner, raw_name, cJSON_CreateRaw(raw_value));
        cJSON_AddItemToObject(inner, names[i], str_or_null(values[i]));
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, wrapper, inner);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    FUZZ_ASSERT(out);
    return out;
}

/* The body read back by cJSON: one object {wrapper: {names...}} with exactly these members. */
static void read_back(const char *body, const char *wrapper, const char *const *names, const char *const *values,
                      size_t n, const char *raw_name, int64_t raw) {
    cJSON *j = cJSON_ParseWithOpts(body, NULL, 1);
    FUZZ_ASSERT(cJSON_IsObject(j));
    FUZZ_ASSERT(cJSON_GetArraySize(j) == 1);
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(j, wrapper);
    FUZZ_ASSERT(cJSON_IsObject(inner));
    FUZZ_ASSERT((size_t)cJSON_GetArraySize(inner) == n + (raw_name ? 1 : 0));
    for (size_t i = 0; i < n; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(inner, names[i]);
        FUZZ_ASSERT(m);
        if (values[i] && *values[i]) {
            FUZZ_ASSERT(cJSON_IsString(m));
            FUZZ_ASSERT(strcmp(m->valuestring, values[i]) == 0);
        } else {
            FUZZ_ASSERT(cJSON_IsNull(m));
        }
    }
    if (raw_name) {
        /* cJSON reads numbers as doubles: compare the text, which must be the exact decimal. */
        char want[32];
        snprintf(want, sizeof want, "\"%s\":%" PRId64 ",", raw_name, raw);
        FUZZ_ASSERT(strstr(body, want) != NULL);
        FUZZ_ASSERT(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(inner, raw_name)));
    }
    cJSON_Delete(j);
}

static int all_valid(const char *const *values, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (values[i] && !isc_utf8_valid(values[i], strlen(values[i]))) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Fields cut at 0xff; a field that starts with 0xfe is NULL (an absent optional argument). */
    char *copy = malloc(size + 1);
    FUZZ_ASSERT(copy);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *f[NFIELDS] = {0};
    size_t nf = 0, start = 0;
    int64_t hresult = 0;
    for (size_t i = 0; i <= size && nf < NFIELDS; i++) {
        if (i == size || (unsigned char)copy[i] == 0xff) {
            copy[i] = '\0';
            f[nf++] = (unsigned char)copy[start] == 0xfe ? NULL : copy + start;
            start = i + 1;
        }
    }
    for (size_t i = 0; i < 8 && i < size; i++) hresult = (int64_t)((uint64_t)hresult << 8 | data[size - 1 - i]);
    /* A field holding a NUL byte ends there (as a C caller's string would). */

    {
        static const char *const names[] = {"transactionId", "certificateRequest", "callerInfo"};
        const char *v[] = {f[0], f[1], f[2]};
        char *body = isc_body_validate(v[0], v[1], v[2]);
        if (!all_valid(v, 3)) {
            FUZZ_ASSERT(body == NULL);
        } else {
            FUZZ_ASSERT(body);
            char *ref = reference("request", names, v, 3, NULL, NULL, 0);
            FUZZ_ASSERT(strcmp(body, ref) == 0);
            free(ref);
            read_back(body, "request", names, v, 3, NULL, 0);
        }
        free(body);
    }
    {
        static const char *const names[] = {"transactionId", "certificateRequest", "certificateThumbprint",
                                            "certificateSerialNumber", "certificateExpirationDateUtc",
                                            "issuingCertificateAuthority", "callerInfo", "caConfiguration",
                                            "certificateAuthority"};
        const char *v[] = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
        char *body = isc_body_success(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
        if (!all_valid(v, 9)) {
            FUZZ_ASSERT(body == NULL);
        } else {
            FUZZ_ASSERT(body);
            char *ref = reference("notification", names, v, 9, NULL, NULL, 0);
            FUZZ_ASSERT(strcmp(body, ref) == 0);
            free(ref);
            read_back(body, "notification", names, v, 9, NULL, 0);
        }
        free(body);
    }
    {
        static const char *const names[] = {"transactionId", "certificateRequest", "errorDescription", "callerInfo"};
        const char *v[] = {f[0], f[1], f[2], f[3]};
        char *body = isc_body_failure(v[0], v[1], hresult, v[2], v[3]);
        if (!all_valid(v, 4)) {
            FUZZ_ASSERT(body == NULL);
        } else {
            FUZZ_ASSERT(body);
            char num[32];
            snprintf(num, sizeof num, "%" PRId64, hresult);
            char *ref = reference("notification", names, v, 4, "hResult", num, 2);
            FUZZ_ASSERT(strcmp(body, ref) == 0);
            free(ref);
            read_back(body, "notification", names, v, 4, "hResult", hresult);
        }
        free(body);
    }
    free(copy);
    return 0;
}
