/* SPDX-License-Identifier: Apache-2.0 */
/* parse.c - readers of the bytes the identity platform, Graph and Intune send.
 * Pure functions (no I/O, no client): each is fuzzed on its own. */
#include "parse.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ---- one checked reading of an answer ----------------------------------- */

/*
 * cJSON keeps every member of an object, duplicates included, and looks a name
 * up by taking the first; it decodes \u0000 into a NUL that cuts the C string.
 * Either lets an answer say two things at once ({"code":"Success","code":"X"},
 * {"code":"Success\u0000X"}), so an answer holding one is refused whole: no
 * value is read from it. The raw bytes are checked for a NUL byte and for a
 * \u0000 escape; the tree for a duplicated member name, at every depth.
 */

/* 1 when `body` holds the escape \u0000 (a backslash that is not itself escaped, then u0000). */
static int has_nul_escape(const char *body, size_t len) {
    for (size_t i = 0; i + 6 <= len; i++) {
        if (body[i] != '\\' || memcmp(body + i + 1, "u0000", 5) != 0) continue;
        /* Only inside strings can a backslash appear in JSON that cJSON accepted; an odd run of
         * backslashes ending here makes this one the start of an escape (pairs are escaped backslashes). */
        size_t run = 1;
        while (run <= i && body[i - run] == '\\') run++;
        if (run % 2 == 1) return 1;
    }
    return 0;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *member_name(const cJSON *m) {
    return m->string ? m->string : "";
}

/* The first duplicated member name of `obj` (not of its children), or NULL. */
static const char *duplicate_member(const cJSON *obj) {
    size_t n = 0;
    for (const cJSON *m = obj->child; m; m = m->next) n++;
    if (n < 2) return NULL;
    const char **names = n > 16 ? malloc(n * sizeof *names) : NULL;
    const char *dup = NULL;
    if (names) {
        size_t k = 0;
        for (const cJSON *m = obj->child; m; m = m->next) names[k++] = member_name(m);
        qsort(names, n, sizeof *names, name_cmp);
        for (size_t i = 1; i < n && !dup; i++)
            if (strcmp(names[i - 1], names[i]) == 0) dup = names[i];
        free(names);
        return dup;
    }
    /* Few members (or no memory for sorting): compare each pair. */
    for (const cJSON *a = obj->child; a && !dup; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (strcmp(member_name(a), member_name(b)) == 0) {
                dup = member_name(a);
                break;
            }
    return dup;
}

/* The first duplicated member name in `item` or anything nested in it, or NULL. */
static const char *duplicate_anywhere(const cJSON *item) {
    if (cJSON_IsObject(item)) {
        const char *d = duplicate_member(item);
        if (d) return d;
    }
    if (cJSON_IsObject(item) || cJSON_IsArray(item))
        for (const cJSON *m = item->child; m; m = m->next) {
            const char *d = duplicate_anywhere(m);
            if (d) return d;
        }
    return NULL;
}

/* Wipe every string of a tree (names and values) before it is freed: for answers holding a secret. */
static void wipe_tree(cJSON *item) {
    for (; item; item = item->next) {
        if (item->string) isc_wipe(item->string, strlen(item->string));
        if (cJSON_IsString(item) && item->valuestring) isc_wipe(item->valuestring, strlen(item->valuestring));
        wipe_tree(item->child);
    }
}

enum { ANSWER_OK = 0, ANSWER_NOT_OBJECT, ANSWER_UNTRUSTED };

/*
 * Parse one answer: ANSWER_OK with *out the JSON object; ANSWER_NOT_OBJECT when the bytes are
 * not one JSON object (with nothing after it but blanks); ANSWER_UNTRUSTED when they are, but
 * hold a NUL (a byte or a \u0000 escape) or a duplicated member name: `why` (a buffer of
 * `why_len` bytes, may be NULL) then says which. `secret`: wipe the tree when refusing it.
 */
static int parse_answer(const char *body, size_t len, cJSON **out, char *why, size_t why_len, int secret) {
    *out = NULL;
    if (why && why_len) why[0] = '\0';
    if (!body || len == 0) return ANSWER_NOT_OBJECT;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    /* One JSON value and nothing but blanks after it: trailing bytes make the answer untrustworthy. */
    if (j && end) {
        size_t used = (size_t)(end - body);
        while (used < len && (body[used] == ' ' || body[used] == '\t' || body[used] == '\r' || body[used] == '\n'))
            used++;
        if (used != len) {
            if (secret) wipe_tree(j);
            cJSON_Delete(j);
            return ANSWER_NOT_OBJECT;
        }
    }
    if (!j || !cJSON_IsObject(j)) {
        if (j && secret) wipe_tree(j);
        cJSON_Delete(j);
        return ANSWER_NOT_OBJECT;
    }
    const char *dup = NULL;
    int bad = 0;
    if (memchr(body, '\0', len)) {
        bad = 1;
        if (why) snprintf(why, why_len, "it holds a NUL byte");
    } else if (has_nul_escape(body, len)) {
        bad = 1;
        if (why) snprintf(why, why_len, "it holds a \\u0000 escape");
    } else if ((dup = duplicate_anywhere(j)) != NULL) {
        bad = 1;
        if (why && secret) {
            snprintf(why, why_len, "it has a member name twice in one object"); /* names of a secret's answer stay out */
        } else if (why) {
            char *shown = isc_one_line(dup, 64);
            snprintf(why, why_len, "it has the member \"%s\" twice in one object", shown ? shown : "?");
            free(shown);
        }
    }
    if (bad) {
        if (secret) wipe_tree(j);
        cJSON_Delete(j);
        return ANSWER_UNTRUSTED;
    }
    *out = j;
    return ANSWER_OK;
}

#define WHY_LEN 160

static const char *string_field(const cJSON *obj, const char *name) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

/*
 * Parse an answer of the form {"value": [...]}: the array, or NULL (then *root is NULL too, and
 * *untrusted says whether the answer was refused by parse_answer, with `why`).
 */
static const cJSON *value_array(const char *body, size_t len, cJSON **root, int *untrusted, char *why) {
    cJSON *j;
    *untrusted = parse_answer(body, len, &j, why, WHY_LEN, 0) == ANSWER_UNTRUSTED;
    const cJSON *value = j ? cJSON_GetObjectItemCaseSensitive(j, "value") : NULL;
    if (!cJSON_IsArray(value)) {
        cJSON_Delete(j);
        j = NULL;
        value = NULL;
    }
    *root = j;
    return value;
}

/*
 * A token answer of `who` ("token endpoint", "identity endpoint"): access_token, token_type
 * (Bearer when present) and a lifetime from expires_in, or, with `expires_on`, from expires_on
 * (Unix seconds, read against `now_unix`). The parse tree holds the token: it is wiped.
 */
static int read_token_answer(const char *body, size_t len, const char *who, int expires_on, long long now_unix,
                             isc_token_answer *out, intune_scep_error *err) {
    memset(out, 0, sizeof *out);
    cJSON *j;
    char why[WHY_LEN];
    int parsed = parse_answer(body, len, &j, why, sizeof why, 1);
    if (parsed == ANSWER_UNTRUSTED)
        return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "the %s's answer cannot be trusted: %s", who, why);
    if (!j) return isc_error_set(err, INTUNE_SCEP_E_AUTH, "the %s's answer is not a JSON object", who);
    const char *tok = string_field(j, "access_token");
    const char *type = string_field(j, "token_type");
    long lifetime = -1;
    const char *names[] = {"expires_in", "expires_on"};
    for (int i = 0; i < 1 + (expires_on != 0) && lifetime < 0; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, names[i]);
        double d = -1;
        if (cJSON_IsNumber(v)) d = v->valuedouble;
        else if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) <= 12 &&
                 strspn(v->valuestring, "0123456789") == strlen(v->valuestring))
            d = strtod(v->valuestring, NULL);
        if (d >= 0 && i == 1) d -= (double)now_unix; /* expires_on: Unix seconds */
        if (d >= 1 && d <= 31536000.0) lifetime = (long)d;
    }
    int rc = INTUNE_SCEP_OK;
    if (!tok || !*tok) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the %s's answer has no access_token", who);
    } else if (isc_has_control(tok) || strchr(tok, ' ')) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the %s's access_token is not a usable bearer token", who);
    } else if (type && !isc_strcaseeq(type, "Bearer")) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the %s's token_type is not Bearer", who);
    } else if (lifetime < 0) {
        rc = isc_error_set(err, INTUNE_SCEP_E_AUTH, "the %s's answer has no usable %s", who,
                           expires_on ? "expires_in or expires_on" : "expires_in");
    } else if (!(out->access_token = isc_strdup(tok))) {
        rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    } else {
        out->expires_in = lifetime;
    }
    wipe_tree(j);
    cJSON_Delete(j);
    return rc;
}

int isc_parse_token_answer(const char *body, size_t len, isc_token_answer *out, intune_scep_error *err) {
    return read_token_answer(body, len, "token endpoint", 0, 0, out, err);
}

int isc_parse_mi_token_answer(const char *body, size_t len, long long now_unix, isc_token_answer *out,
                              intune_scep_error *err) {
    return read_token_answer(body, len, "identity endpoint", 1, now_unix, out, err);
}

int isc_parse_message_field(const char *body, size_t len, char **message, char *why, size_t why_len) {
    *message = NULL;
    cJSON *j;
    if (parse_answer(body, len, &j, why, why_len, 0) == ANSWER_UNTRUSTED) return INTUNE_SCEP_E_PROTOCOL;
    const char *m = j ? string_field(j, "message") : NULL;
    if (m) *message = isc_one_line(m, 600);
    cJSON_Delete(j);
    return INTUNE_SCEP_OK;
}

int isc_parse_token_roles(const char *payload, size_t len, char **roles) {
    *roles = NULL;
    cJSON *j;
    int shape = parse_answer(payload, len, &j, NULL, 0, 1);
    if (shape == ANSWER_UNTRUSTED) return INTUNE_SCEP_E_PROTOCOL;
    isc_buf out = {0};
    int failed = 0;
    const cJSON *arr = j ? cJSON_GetObjectItemCaseSensitive(j, "roles") : NULL;
    if (!cJSON_IsArray(arr)) arr = NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        /* A role holding the separator could pose as two: left out, like an empty one or one with a
         * control character. */
        if (!cJSON_IsString(it) || !*it->valuestring || isc_has_control(it->valuestring) ||
            strchr(it->valuestring, ','))
            continue;
        if (out.len) failed |= isc_buf_append(&out, ",", 1);
        failed |= isc_buf_append(&out, it->valuestring, strlen(it->valuestring));
    }
    if (j) wipe_tree(j);
    cJSON_Delete(j);
    if (failed || isc_buf_append(&out, "", 0)) {
        isc_buf_free(&out);
        return INTUNE_SCEP_E_NOMEM;
    }
    *roles = out.data;
    return INTUNE_SCEP_OK;
}

int isc_parse_token_error(const char *body, size_t len, intune_scep_error *err, char *why, size_t why_len) {
    cJSON *j;
    if (parse_answer(body, len, &j, why, why_len, 0) == ANSWER_UNTRUSTED) return INTUNE_SCEP_E_PROTOCOL;
    if (!j || !err) {
        cJSON_Delete(j);
        return INTUNE_SCEP_OK;
    }
    const char *e = string_field(j, "error");
    const char *d = string_field(j, "error_description");
    if (e) {
        char *v = isc_one_line(e, 128);
        if (v && isc_strcaseeq(v, "Success")) {
            free(v); /* a failed answer never reports the code Success */
        } else {
            free(err->service_code);
            err->service_code = v;
        }
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
    return INTUNE_SCEP_OK;
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
    int untrusted;
    char why[WHY_LEN];
    const cJSON *value = value_array(body, len, &j, &untrusted, why);
    if (untrusted) return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "the discovery answer cannot be trusted: %s", why);
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
    cJSON *j;
    char why[WHY_LEN];
    if (parse_answer(body, len, &j, why, sizeof why, 0) == ANSWER_UNTRUSTED)
        return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "Intune's answer cannot be trusted: %s", why);
    if (!j) return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "Intune's answer is not a JSON object");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    const char *desc = string_field(j, "errorDescription");
    int rc;
    if (!cJSON_IsString(code)) {
        rc = isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "Intune's answer has no string \"code\"");
    } else if (strcmp(code->valuestring, "Success") == 0) {
        rc = INTUNE_SCEP_OK;
    } else {
        char *shown = isc_code_shown(code->valuestring);
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

int isc_capture_error_body(const char *body, size_t len, intune_scep_error *err, char *why, size_t why_len) {
    if (why && why_len) why[0] = '\0';
    if (!body || len == 0) return INTUNE_SCEP_OK;
    cJSON *j;
    int parsed = parse_answer(body, len, &j, why, why_len, 0);
    if (!err) {
        cJSON_Delete(j);
        return parsed == ANSWER_UNTRUSTED ? INTUNE_SCEP_E_PROTOCOL : INTUNE_SCEP_OK;
    }
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
    if (parsed == ANSWER_UNTRUSTED) return INTUNE_SCEP_E_PROTOCOL; /* nothing is read from it */
    if (!j) return INTUNE_SCEP_OK;
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
    if (code && !err->service_code) {
        err->service_code = isc_one_line(code, 128);
        /* A failed answer never reports the code Success (a log monitor keyed on it would be misled). */
        if (err->service_code && isc_strcaseeq(err->service_code, "Success")) {
            free(err->service_code);
            err->service_code = NULL;
        }
    }
    if (desc && !err->description) err->description = isc_one_line(desc, 2048);
    cJSON_Delete(j);
    return INTUNE_SCEP_OK;
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
    int untrusted;
    char why[WHY_LEN];
    const cJSON *value = value_array(body, len, &j, &untrusted, why);
    if (untrusted)
        return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "the revocation requests answer cannot be trusted: %s", why);
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
    cJSON *j;
    char why[WHY_LEN];
    if (parse_answer(body, len, &j, why, sizeof why, 0) == ANSWER_UNTRUSTED)
        return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "the revocation results answer cannot be trusted: %s", why);
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
