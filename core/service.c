/* SPDX-License-Identifier: Apache-2.0 */
/* service.c - one call to a discovered Intune service, for the SCEP calls
 * (scep.c) and the revocation calls (revocation.c) alike: the service target (a
 * path under the discovered URI with an Intune token; a 404 or a failed connect
 * discovers again, once; a URI that cannot be used drops the map), the exchange,
 * the reading of the answer, and the one log line of the call. */
#include "service.h"
#include "client.h"
#include "discovery.h"
#include "exchange.h"
#include "parse.h"
#include "token.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* ---- the target: a path under a discovered service ---------------------------------------- */

typedef struct {
    isc_target base;
    isc_auth_target auth;
    const char *service;
    const char *path;
    isc_cache_entry *map; /* a reference to the service map the URI is from, NULL before discovery */
    const char *uri;      /* the service's URI, in that map */
    int rediscovered;
} service_target;

/* Join a discovered service URI and a path with exactly one slash. */
static char *join_url(const char *base, const char *path) {
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    while (*path == '/') path++;
    size_t m = strlen(path);
    char *url = malloc(n + 1 + m + 1);
    if (!url) return NULL;
    memcpy(url, base, n);
    url[n] = '/';
    memcpy(url + n + 1, path, m + 1);
    return url;
}

/* A URL a request can go to: https, and read by libcurl's own parser with a host. */
static const char *unusable_url(const char *url) {
    if (!isc_has_prefix_ci(url, "https://")) return "is not https";
    CURLU *u = curl_url();
    if (!u) return NULL; /* out of memory: let the request itself fail */
    char *host = NULL;
    const char *why = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        !host || !*host)
        why = "cannot be parsed";
    curl_free(host);
    curl_url_cleanup(u);
    return why;
}

static int service_prepare(intune_scep_client *c, isc_call *call, isc_target *base, char **url,
                           isc_cache_entry **auth, intune_scep_error *err) {
    service_target *t = (service_target *)base;
    int rc;
    if (!t->map && (rc = isc_service_uri(c, t->service, call, 0, &t->map, &t->uri, err)) != INTUNE_SCEP_OK)
        return rc;
    if (!(*url = join_url(t->uri, t->path))) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    return isc_auth_target_token(c, call, &t->auth, auth, err);
}

/* libcurl's URL parser runs once per URL and handle: the handle remembers the last URL it found usable. */
static int service_check(intune_scep_client *c, isc_call *call, isc_target *base, isc_handle *h, const char *url,
                         intune_scep_error *err) {
    service_target *t = (service_target *)base;
    if (h->checked_url && strcmp(h->checked_url, url) == 0) return INTUNE_SCEP_OK;
    const char *why = unusable_url(url);
    if (!why) {
        free(h->checked_url);
        h->checked_url = isc_strdup(url); /* NULL when out of memory: checked again next time */
        return INTUNE_SCEP_OK;
    }
    /* Not kept: the next call discovers again instead of failing on this map until a restart. */
    isc_cache_invalidate(&c->services, t->map->generation);
    isc_log(&c->log, INTUNE_SCEP_LOG_WARNING, "%s activity_id=%s: discovery gave %s a URI that %s; the service map "
            "is dropped", call->op, call->activity_id, t->service, why);
    return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "discovery gave %s a URI that %s", t->service, why);
}

/* A 404 or a failed connect (nothing sent: refused, timed out, TLS handshake stalled or cut)
 * means Intune may have moved the tenant: discover again, once. */
static int service_stale(intune_scep_client *c, isc_call *call, isc_target *base, long status, CURLcode cc,
                         int connect_failed, const char *url) {
    service_target *t = (service_target *)base;
    if (t->auth.base.stale(c, call, &t->auth.base, status, cc, connect_failed, url)) return 1;
    int moved = status == 404 || (status == 0 && connect_failed);
    if (!moved || t->rediscovered || !t->map) return 0;
    isc_log(&c->log, INTUNE_SCEP_LOG_INFO, "%s activity_id=%s: %s from %s; the service may have moved, discovering it again",
            call->op, call->activity_id,
            status == 404 ? "HTTP 404" : cc == CURLE_OPERATION_TIMEDOUT ? "no connection in time" : isc_transport_cause(cc),
            url);
    isc_cache_invalidate(&c->services, t->map->generation);
    isc_cache_entry_release(t->map);
    t->map = NULL;
    t->uri = NULL;
    t->rediscovered = 1;
    return 1;
}

static void service_target_init(service_target *t, const char *service, const char *path) {
    memset(t, 0, sizeof *t);
    t->base.prepare = service_prepare;
    t->base.check = service_check;
    t->base.stale = service_stale;
    isc_auth_target_init(&t->auth, NULL, INTUNE_SCEP_RESOURCE_INTUNE);
    t->service = service;
    t->path = path;
}

static void service_target_release(service_target *t) {
    isc_cache_entry_release(t->map);
    t->map = NULL;
    t->uri = NULL;
}

/* ---- the call ------------------------------------------------------------------------------ */

int isc_service_call(intune_scep_client *c, const isc_service_op *op, const char *transaction_id, char *body,
                     isc_answer_fn read_answer, void *answer_ctx, intune_scep_error *err) {
    isc_call call;
    isc_call_begin(&call, c, op->name, transaction_id);
    int rc;
    if (!body) {
        rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    } else {
        service_target target;
        service_target_init(&target, op->service, op->path);
        isc_request req = {.api_version = op->api_version,
                           .content_type = "application/json",
                           .body = body,
                           .body_len = strlen(body),
                           .send_user_agent_header = 1};
        isc_handle *h = NULL;
        rc = isc_exchange(c, &call, &target.base, &req, INTUNE_SCEP_E_HTTP, &h, err);
        service_target_release(&target);
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
    int level = rc == INTUNE_SCEP_OK         ? INTUNE_SCEP_LOG_INFO
                : rc == INTUNE_SCEP_E_REJECTED ? INTUNE_SCEP_LOG_WARNING
                                               : INTUNE_SCEP_LOG_ERROR;
    if (!isc_log_enabled(&c->log, level)) { /* nothing to format: no sink, or not at this level */
        isc_call_end(&call);
        return rc;
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
        isc_log(&c->log, level,
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
