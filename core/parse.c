/* SPDX-License-Identifier: Apache-2.0 */
/* parse.c - readers of the bytes the identity platform, Graph and Intune send.
 * Pure functions (no I/O, no client): each is fuzzed on its own. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static cJSON *parse_object(const char *body, size_t len) {
    if (!body || len == 0) return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    /* One JSON value and nothing but blanks after it: trailing bytes make the answer untrustworthy. */
    if (j && end) {
        size_t used = (size_t)(end - body);
        while (used < len && (body[used] == ' ' || body[used] == '\t' || body[used] == '\r' || body[used] == '\n'))
            used++;
        if (used != len) {
            cJSON_Delete(j);
            return NULL;
        }
    }
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static const char *string_field(const cJSON *obj, const char *name) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

/* Parse an answer of the form {"value": [...]}: the array, or NULL (then *root is NULL too). */
static const cJSON *value_array(const char *body, size_t len, cJSON **root) {
    cJSON *j = parse_object(body, len);
    const cJSON *value = j ? cJSON_GetObjectItemCaseSensitive(j, "value") : NULL;
    if (!cJSON_IsArray(value)) {
        cJSON_Delete(j);
        j = NULL;
        value = NULL;
    }
    *root = j;
    return value;
}

int isc_parse_token_answer(const char *body, size_t len, isc_token_answer *out, intune_scep_error *err) {
    memset(out, 0, sizeof *out);
    cJSON *j = parse_object(body, len);
    if (!j) return isc_error_set(err, INTUNE_SCEP_E_AUTH, "the token endpoint's answer is not a JSON object");
    int rc = INTUNE_SCEP_OK;
    const char *tok = string_field(j, "access_token");
    const char *type = string_field(j, "token_type");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
    long lifetime = -1;
    if (cJSON_IsNumber(exp)) {
        if (exp->valuedouble >= 1 && exp->valuedouble <= 31536000.0) lifetime = (long)exp->valuedouble;
    } else if (cJSON_IsString(exp) && exp->valuestring[0] && strlen(exp->valuestring) <= 9 &&
               strspn(exp->valuestring, "0123456789") == strlen(exp->valuestring)) {
        lifetime = strtol(exp->valuestring, NULL, 10);
        if (lifetime < 1 || lifetime > 31536000L) lifetime = -1;
    }
    if (!tok || !*tok) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the token endpoint's answer has no access_token");
    } else if (isc_has_control(tok) || strchr(tok, ' ')) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the token endpoint's access_token is not a usable bearer token");
    } else if (type && !isc_strcaseeq(type, "Bearer")) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the token endpoint's token_type is not Bearer");
    } else if (lifetime < 0) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the token endpoint's answer has no usable expires_in");
    } else if (!(out->access_token = isc_strdup(tok))) {
        rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    } else {
        out->expires_in = lifetime;
    }
    /* The parse tree holds the token: wipe it before freeing. */
    if (tok) isc_wipe((void *)tok, strlen(tok));
    cJSON_Delete(j);
    return rc;
}

void isc_parse_token_error(const char *body, size_t len, intune_scep_error *err) {
    if (!err) return;
    cJSON *j = parse_object(body, len);
    if (!j) return;
    const char *e = string_field(j, "error");
    const char *d = string_field(j, "error_description");
    if (e) {
        char *v = isc_one_line(e, 128);
        free(err->service_code);
        err->service_code = v;
    }
    if (d) {
        char *v = isc_one_line(d, 2048);
        free(err->description);
        err->description = v;
    }
    const cJSON *codes = cJSON_GetObjectItemCaseSensitive(j, "error_codes");
    const cJSON *first = cJSON_IsArray(codes) ? cJSON_GetArrayItem(codes, 0) : NULL;
    if (cJSON_IsNumber(first) && first->valuedouble > 0 && first->valuedouble < 1e9)
        err->aadsts_code = (long)first->valuedouble;
    else if (d && strncmp(d, "AADSTS", 6) == 0)
        err->aadsts_code = strtol(d + 6, NULL, 10);
    cJSON_Delete(j);
}

const char *isc_service_map_find(const isc_service_map *map, const char *name) {
    for (size_t i = 0; i < map->count; i++)
        if (isc_strcaseeq(map->items[i].name, name)) return map->items[i].uri;
    return NULL;
}

void isc_service_map_free(isc_service_map *map) {
    if (!map) return;
    for (size_t i = 0; i < map->count; i++) {
        free(map->items[i].name);
        free(map->items[i].uri);
    }
    free(map->items);
    memset(map, 0, sizeof *map);
}

char *isc_service_map_names(const isc_service_map *map) {
    isc_buf b = {0};
    for (size_t i = 0; i < map->count; i++) {
        if (i && isc_buf_append(&b, ", ", 2)) break;
        if (isc_buf_append(&b, map->items[i].name, strlen(map->items[i].name))) break;
    }
    if (!b.data) return isc_strdup("(none)");
    return b.data;
}

#define ISC_MAX_SERVICES 4096

int isc_parse_discovery_page(const char *body, size_t len, isc_service_map *map, char **next_link,
                             intune_scep_error *err) {
    *next_link = NULL;
    cJSON *j;
    const cJSON *value = value_array(body, len, &j);
    if (!value)
        return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL,
                             "the discovery answer is not a JSON object with a \"value\" array");
    int rc = INTUNE_SCEP_OK;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, value) {
        if (!cJSON_IsObject(entry)) continue;
        const char *name = string_field(entry, "providerName");
        if (!name) name = string_field(entry, "serviceName");
        const char *uri = string_field(entry, "uri");
        if (!name || !*name || !uri || !*uri || isc_has_control(name) || isc_has_control(uri)) continue;
        if (isc_service_map_find(map, name)) continue; /* the first entry of a name wins */
        if (map->count >= ISC_MAX_SERVICES) break;
        if (map->count == map->cap) {
            size_t cap = map->cap ? map->cap * 2 : 16;
            isc_service *items = realloc(map->items, cap * sizeof *items);
            if (!items) {
                rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
                break;
            }
            map->items = items;
            map->cap = cap;
        }
        char *n = isc_strdup(name), *u = isc_strdup(uri);
        if (!n || !u) {
            free(n);
            free(u);
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
            break;
        }
        map->items[map->count].name = n;
        map->items[map->count].uri = u;
        map->count++;
    }
    const char *next = string_field(j, "@odata.nextLink");
    if (rc == INTUNE_SCEP_OK && next && *next) {
        if (!(*next_link = isc_strdup(next))) rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    cJSON_Delete(j);
    return rc;
}

int isc_parse_scep_answer(const char *body, size_t len, intune_scep_error *err) {
    cJSON *j = parse_object(body, len);
    if (!j) return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "Intune's answer is not a JSON object");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    const char *desc = string_field(j, "errorDescription");
    int rc;
    if (!cJSON_IsString(code)) {
        rc = isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "Intune's answer has no string \"code\"");
    } else if (strcmp(code->valuestring, "Success") == 0) {
        rc = INTUNE_SCEP_OK;
    } else {
        char *shown = isc_one_line(code->valuestring, 128);
        char *d = desc && *desc ? isc_one_line(desc, 2048) : NULL;
        rc = isc_error_set(err, INTUNE_SCEP_E_REJECTED, "Intune rejected the request: %s%s%s", shown ? shown : "?",
                           d ? ": " : "", d ? d : "");
        if (err) {
            /* Kept as sent, but always valid UTF-8 (bindings hand it to Java and Python). */
            free(err->service_code);
            err->service_code = isc_utf8_copy(code->valuestring, 1024);
            free(err->description);
            err->description = desc ? isc_utf8_copy(desc, 4096) : NULL;
        }
        free(shown);
        free(d);
    }
    cJSON_Delete(j);
    return rc;
}

void isc_capture_error_body(const char *body, size_t len, intune_scep_error *err) {
    if (!err || !body || len == 0) return;
    size_t n = len < ISC_MAX_ERROR_BODY ? len : ISC_MAX_ERROR_BODY;
    char *copy = isc_strndup(body, n);
    if (copy) {
        /* Keep it printable and valid as a C string; cut a multi-byte character split by the cap. */
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)copy[i];
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) copy[i] = '?';
        }
        isc_utf8_repair(copy, n);
        free(err->response_body);
        err->response_body = copy;
    }
    cJSON *j = parse_object(body, len);
    if (!j) return;
    const char *code = string_field(j, "code");
    const char *desc = string_field(j, "errorDescription");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (!code && cJSON_IsObject(e)) {
        code = string_field(e, "code");
        desc = string_field(e, "message");
    } else if (!code && cJSON_IsString(e)) {
        code = e->valuestring;
        desc = string_field(j, "error_description");
    }
    if (code && !err->service_code) err->service_code = isc_one_line(code, 128);
    if (desc && !err->description) err->description = isc_one_line(desc, 2048);
    cJSON_Delete(j);
}

void isc_revocation_requests_free(intune_scep_revocation_requests *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].request_context);
        free(r->items[i].serial_number);
        free(r->items[i].issuer_name);
        free(r->items[i].ca_configuration);
    }
    free(r->items);
    free(r);
}

int isc_parse_revocation_requests(const char *body, size_t len, intune_scep_revocation_requests *out,
                                  intune_scep_error *err) {
    cJSON *j;
    const cJSON *value = value_array(body, len, &j);
    if (!value)
        return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL,
                             "the revocation requests answer is not a JSON object with a \"value\" array");
    int n = cJSON_GetArraySize(value), rc = INTUNE_SCEP_OK;
    out->items = n > 0 ? calloc((size_t)n, sizeof *out->items) : NULL;
    if (n > 0 && !out->items) rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, value) {
        if (rc != INTUNE_SCEP_OK) break;
        const char *ctx = cJSON_IsObject(e) ? string_field(e, "requestContext") : NULL;
        const char *serial = cJSON_IsObject(e) ? string_field(e, "serialNumber") : NULL;
        const char *issuer = cJSON_IsObject(e) ? string_field(e, "issuerName") : NULL;
        const char *cacfg = cJSON_IsObject(e) ? string_field(e, "caConfiguration") : NULL;
        if (!ctx || !*ctx || !serial || !*serial) {
            rc = isc_error_set(err, INTUNE_SCEP_E_PROTOCOL,
                               "revocation request %zu has no requestContext or serialNumber string", out->count);
            break;
        }
        isc_revocation_request *r = &out->items[out->count++];
        r->request_context = isc_strdup(ctx);
        r->serial_number = isc_strdup(serial);
        r->issuer_name = isc_strdup(issuer ? issuer : "");
        r->ca_configuration = isc_strdup(cacfg);
        if (!r->request_context || !r->serial_number || !r->issuer_name || (cacfg && !r->ca_configuration))
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    cJSON_Delete(j);
    return rc;
}

int isc_parse_revocation_upload(const char *body, size_t len, intune_scep_error *err) {
    cJSON *j = parse_object(body, len);
    const cJSON *value = j ? cJSON_GetObjectItemCaseSensitive(j, "value") : NULL;
    int rc;
    if (cJSON_IsTrue(value)) rc = INTUNE_SCEP_OK;
    else if (cJSON_IsFalse(value))
        rc = isc_error_set(err, INTUNE_SCEP_E_REJECTED, "Intune did not accept the revocation results (value false)");
    else
        rc = isc_error_set(err, INTUNE_SCEP_E_PROTOCOL,
                           "the revocation results answer is not a JSON object with a boolean \"value\"");
    cJSON_Delete(j);
    return rc;
}
