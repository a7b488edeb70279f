/* SPDX-License-Identifier: Apache-2.0 */
/* scep.c - the three SCEP calls: their bodies, the exchange, the verdict
 * (only "Success" passes), and the one log line per call. */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int add_string(cJSON *obj, const char *name, const char *value) {
    cJSON *v = value && *value ? cJSON_CreateString(value) : cJSON_CreateNull();
    return v && cJSON_AddItemToObject(obj, name, v) ? 0 : -1;
}

/* Print {"<wrapper>": inner} compactly and free the tree. */
static char *print_body(const char *wrapper, cJSON *inner) {
    cJSON *root = cJSON_CreateObject();
    if (!root || !cJSON_AddItemToObject(root, wrapper, inner)) {
        cJSON_Delete(root);
        cJSON_Delete(inner);
        return NULL;
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

char *isc_body_validate(const char *transaction_id, const char *csr, const char *provider) {
    cJSON *r = cJSON_CreateObject();
    if (!r || add_string(r, "transactionId", transaction_id) || add_string(r, "certificateRequest", csr) ||
        add_string(r, "callerInfo", provider)) {
        cJSON_Delete(r);
        return NULL;
    }
    return print_body("request", r);
}

char *isc_body_success(const char *transaction_id, const char *csr, const char *thumbprint, const char *serial,
                       const char *expiration, const char *issuer, const char *provider, const char *ca_configuration,
                       const char *certificate_authority) {
    cJSON *n = cJSON_CreateObject();
    if (!n || add_string(n, "transactionId", transaction_id) || add_string(n, "certificateRequest", csr) ||
        add_string(n, "certificateThumbprint", thumbprint) || add_string(n, "certificateSerialNumber", serial) ||
        add_string(n, "certificateExpirationDateUtc", expiration) ||
        add_string(n, "issuingCertificateAuthority", issuer) || add_string(n, "callerInfo", provider) ||
        /* Optional: JSON null when not given, as the C# reference sends. */
        add_string(n, "caConfiguration", ca_configuration) || add_string(n, "certificateAuthority", certificate_authority)) {
        cJSON_Delete(n);
        return NULL;
    }
    return print_body("notification", n);
}

char *isc_body_failure(const char *transaction_id, const char *csr, int64_t hresult, const char *description,
                       const char *provider) {
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, hresult); /* exact: a double would round 64-bit values */
    cJSON *n = cJSON_CreateObject();
    cJSON *h = cJSON_CreateRaw(num);
    if (!n || !h || add_string(n, "transactionId", transaction_id) || add_string(n, "certificateRequest", csr) ||
        !cJSON_AddItemToObject(n, "hResult", h) || add_string(n, "errorDescription", description) ||
        add_string(n, "callerInfo", provider)) {
        if (n && !cJSON_GetObjectItemCaseSensitive(n, "hResult")) cJSON_Delete(h);
        cJSON_Delete(n);
        return NULL;
    }
    return print_body("notification", n);
}

static int read_scep_answer(const char *body, size_t len, void *ctx, intune_scep_error *err) {
    (void)ctx;
    return isc_parse_scep_answer(body, len, err);
}

int isc_service_call(intune_scep_client *c, const isc_service_op *op, const char *transaction_id, char *body,
                     isc_answer_fn read_answer, void *answer_ctx, intune_scep_error *err) {
    isc_call call;
    isc_call_begin(&call, c, op->name, transaction_id);
    int rc;
    if (!body) {
        rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    } else {
        isc_service_target target;
        isc_service_target_init(&target, op->service, op->path);
        isc_request req = {.api_version = op->api_version,
                           .content_type = "application/json",
                           .body = body,
                           .body_len = strlen(body),
                           .send_user_agent_header = 1};
        isc_handle *h = NULL;
        rc = isc_exchange(c, &call, &target.base, &req, INTUNE_SCEP_E_HTTP, &h, err);
        isc_service_target_release(&target);
        if (rc == INTUNE_SCEP_OK) {
            rc = read_answer(h->body.data, h->body.len, answer_ctx, err);
            if (rc == INTUNE_SCEP_E_PROTOCOL) isc_capture_error_body(h->body.data, h->body.len, err, NULL, 0);
            isc_http_release(c, h);
        }
    }
    free(body);
    if (rc != INTUNE_SCEP_OK) {
        isc_call_stamp(&call, err);
    } else if (err) {
        /* A success carries the activity id too, for the caller's own records. */
        isc_error_field(&err->activity_id, call.activity_id);
        isc_error_field(&err->transaction_id, transaction_id);
        err->http_status = call.http_status;
    }
    unsigned long long elapsed = (unsigned long long)(isc_now_ms() - call.start_ms);
    char *tid_cut = transaction_id ? isc_utf8_copy(transaction_id, 128) : NULL; /* cut at a character boundary */
    const char *txid = tid_cut ? tid_cut : "-";
    if (rc == INTUNE_SCEP_OK) {
        isc_log(&c->log, INTUNE_SCEP_LOG_INFO,
                "%s outcome=Success activity_id=%s transaction_id=%s url=%s http_status=%ld attempts=%d "
                "elapsed_ms=%llu",
                op->name, call.activity_id, txid, call.url ? call.url : "-", call.http_status, call.attempts, elapsed);
    } else {
        char *code = err && err->service_code ? isc_code_shown(err->service_code) : NULL;
        isc_log(&c->log, rc == INTUNE_SCEP_E_REJECTED ? INTUNE_SCEP_LOG_WARNING : INTUNE_SCEP_LOG_ERROR,
                "%s outcome=%s%s%s activity_id=%s transaction_id=%s url=%s http_status=%ld attempts=%d "
                "elapsed_ms=%llu: %s",
                op->name, isc_status_name(rc), code ? " code=" : "", code ? code : "", call.activity_id, txid,
                call.url ? call.url : "-", err && err->http_status ? err->http_status : call.http_status, call.attempts,
                elapsed,
                err && err->message ? err->message : "");
        free(code);
    }
    free(tid_cut);
    isc_call_end(&call);
    return rc;
}

int isc_scep_call(intune_scep_client *c, const char *action, const char *transaction_id, char *body,
                  intune_scep_error *err) {
    char path[96];
    snprintf(path, sizeof path, "ScepActions/%s", action);
    isc_service_op op = {action, "ScepRequestValidationFEService", path, c->settings.scep_api_version};
    return isc_service_call(c, &op, transaction_id, body, read_scep_answer, NULL, err);
}
