/* SPDX-License-Identifier: Apache-2.0 */
/* discovery.c - where Intune's services are: Microsoft Graph's endpoints of the
 * Intune service principal, cached until a call finds a URL stale. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ISC_MAX_DISCOVERY_PAGES 100

static void free_map(void *p) {
    isc_service_map_free(p);
    free(p);
}

/* A nextLink gets the Graph token: it must stay on the configured Graph host. */
static int next_link_allowed(const isc_settings *s, const char *link) {
    size_t n = strlen(s->graph_resource);
    return isc_has_prefix_ci(link, "https://") && strlen(link) > n && isc_has_prefix_ci(link, s->graph_resource);
}

static int fetch_services(intune_scep_client *c, void *ctx, isc_call *call, void **value, uint64_t *lifetime_ms,
                          intune_scep_error *err) {
    (void)ctx;
    const isc_settings *s = &c->settings;
    isc_service_map *map = calloc(1, sizeof *map);
    if (!map) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    isc_call sub;
    isc_call_begin(&sub, c, "discovery", NULL);
    sub.deadline_ms = call->deadline_ms;
    char *url = isc_strdup(s->discovery_url);
    int rc = url ? INTUNE_SCEP_OK : isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    int pages = 0;
    intune_scep_error local = {0};
    while (rc == INTUNE_SCEP_OK && url) {
        if (++pages > ISC_MAX_DISCOVERY_PAGES) {
            rc = isc_error_set(&local, INTUNE_SCEP_E_PROTOCOL, "more than %d pages of endpoints; refused",
                               ISC_MAX_DISCOVERY_PAGES);
            break;
        }
        isc_auth_target target;
        isc_auth_target_init(&target, url, INTUNE_SCEP_RESOURCE_GRAPH);
        isc_request req = {0};
        isc_handle *h = NULL;
        rc = isc_exchange(c, &sub, &target.base, &req, INTUNE_SCEP_E_HTTP, &h, &local);
        free(url);
        url = NULL;
        if (rc != INTUNE_SCEP_OK) break;
        rc = isc_parse_discovery_page(h->body.data, h->body.len, map, &url, &local);
        isc_http_release(c, h);
        if (rc == INTUNE_SCEP_OK && url && !next_link_allowed(s, url)) {
            rc = isc_error_set(&local, INTUNE_SCEP_E_PROTOCOL,
                               "the discovery answer's @odata.nextLink leaves MS_GRAPH_RESOURCE_URL; refused");
        }
    }
    free(url);
    if (rc == INTUNE_SCEP_OK) {
        char *names = isc_service_map_names(map);
        isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG, "discovery: %zu services in %d page(s), request_id=%s, elapsed_ms=%llu: %s",
                map->count, pages, sub.activity_id, (unsigned long long)(isc_now_ms() - sub.start_ms),
                names ? names : "");
        free(names);
        *value = map;
        *lifetime_ms = (uint64_t)s->service_map_lifetime_ms;
    } else {
        if (local.status != INTUNE_SCEP_E_AUTH) { /* a token failure already says what failed */
            char *cause = isc_strdup(local.message);
            int has_url = cause && strstr(cause, s->discovery_url); /* the cause first, the URL once */
            isc_error_set(&local, local.status, "%s (service discovery%s%s, request_id %s)", cause ? cause : "failed",
                          has_url ? "" : " at ", has_url ? "" : s->discovery_url, sub.activity_id);
            free(cause);
        }
        isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG, "%s", local.message);
        free_map(map);
        isc_error_move(err, &local);
    }
    isc_call_end(&sub);
    return rc;
}

/* Runs under the cache's lock: it only copies; nothing here calls the log sink (see isc_service_uri). */
typedef struct {
    const char *service;
    char **uri;
    char *names; /* when the service is missing: the names found, logged after the lock is released */
} lookup_ctx;

static int lookup(const void *value, void *ctx, intune_scep_error *err) {
    const isc_service_map *map = value;
    lookup_ctx *l = ctx;
    const char *uri = isc_service_map_find(map, l->service);
    if (!uri) {
        free(l->names);
        l->names = isc_service_map_names(map);
        return isc_error_set(err, INTUNE_SCEP_E_SERVICE_NOT_FOUND, "service discovery found no %s (services found: %s)",
                             l->service, l->names ? l->names : "?");
    }
    *l->uri = isc_strdup(uri);
    return *l->uri ? INTUNE_SCEP_OK : isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
}

int isc_service_uri(intune_scep_client *c, const char *service, isc_call *call, int force, char **uri,
                    isc_cache_stamp *stamp, intune_scep_error *err) {
    *uri = NULL;
    lookup_ctx l = {service, uri, NULL};
    isc_cache_stamp used = {0, 0};
    int rc = isc_cache_get(c, &c->services, call, force, fetch_services, NULL, lookup, &l, &used, err);
    /* A map without the service is not kept: the next call discovers again. */
    if (rc == INTUNE_SCEP_E_SERVICE_NOT_FOUND) isc_cache_invalidate(&c->services, used.generation);
    /* Logged only now, with no cache lock held: a slow log sink stalls this call, never another thread's. */
    if (l.names)
        isc_log(&c->log, INTUNE_SCEP_LOG_ERROR, "discovery found no %s; services found: %s", service, l.names);
    free(l.names);
    if (stamp) *stamp = used;
    return rc;
}

int isc_client_discover(intune_scep_client *c, const char *service, char **uri, intune_scep_error *err) {
    isc_call call;
    isc_call_begin(&call, c, "discover", NULL);
    int rc = isc_service_uri(c, service, &call, 1, uri, NULL, err);
    if (rc) isc_call_stamp(&call, err);
    isc_call_end(&call);
    return rc;
}

/* ---- a path under a discovered service: the target of the SCEP and revocation calls ---- */

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

static int service_prepare(intune_scep_client *c, isc_call *call, isc_target *base, char **url, char **auth,
                           intune_scep_error *err) {
    isc_service_target *t = (isc_service_target *)base;
    int rc;
    if (!t->uri && (rc = isc_service_uri(c, t->service, call, 0, &t->uri, &t->stamp, err)) != INTUNE_SCEP_OK)
        return rc;
    if (!(*url = join_url(t->uri, t->path))) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    /* libcurl's URL parser runs once per URL and handle: the handle remembers the last URL it found usable. */
    isc_handle *h = call->handle;
    const char *why = h && h->checked_url && strcmp(h->checked_url, *url) == 0 ? NULL : unusable_url(*url);
    if (!why && h && (!h->checked_url || strcmp(h->checked_url, *url) != 0)) {
        free(h->checked_url);
        h->checked_url = isc_strdup(*url); /* NULL when out of memory: checked again next time */
    }
    if (why) {
        /* Not kept: the next call discovers again instead of failing on this map until a restart. */
        isc_cache_invalidate(&c->services, t->stamp.generation);
        free(*url);
        *url = NULL;
        isc_log(&c->log, INTUNE_SCEP_LOG_WARNING, "%s activity_id=%s: discovery gave %s a URI that %s; the service map "
                "is dropped", call->op, call->activity_id, t->service, why);
        return isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "discovery gave %s a URI that %s", t->service, why);
    }
    return isc_auth_target_token(c, call, &t->auth, auth, err);
}

/* A 404 or a failed connect (nothing sent: refused, timed out, TLS handshake stalled or cut)
 * means Intune may have moved the tenant: discover again, once. */
static int service_stale(intune_scep_client *c, isc_call *call, isc_target *base, long status, CURLcode cc,
                         int connect_failed, const char *url) {
    isc_service_target *t = (isc_service_target *)base;
    if (t->auth.base.stale(c, call, &t->auth.base, status, cc, connect_failed, url)) return 1;
    int moved = status == 404 || (status == 0 && connect_failed);
    if (!moved || t->rediscovered || !t->uri) return 0;
    isc_log(&c->log, INTUNE_SCEP_LOG_INFO, "%s activity_id=%s: %s from %s; the service may have moved, discovering it again",
            call->op, call->activity_id,
            status == 404 ? "HTTP 404" : cc == CURLE_OPERATION_TIMEDOUT ? "no connection in time" : isc_transport_cause(cc),
            url);
    isc_cache_invalidate(&c->services, t->stamp.generation);
    free(t->uri);
    t->uri = NULL;
    t->rediscovered = 1;
    return 1;
}

void isc_service_target_init(isc_service_target *t, const char *service, const char *path) {
    memset(t, 0, sizeof *t);
    t->base.prepare = service_prepare;
    t->base.stale = service_stale;
    isc_auth_target_init(&t->auth, NULL, INTUNE_SCEP_RESOURCE_INTUNE);
    t->service = service;
    t->path = path;
}

void isc_service_target_release(isc_service_target *t) {
    free(t->uri);
    t->uri = NULL;
}
