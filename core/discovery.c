/* SPDX-License-Identifier: Apache-2.0 */
/* discovery.c - where Intune's services are: Microsoft Graph's endpoints of the
 * Intune service principal, cached until a call finds a URL stale. */
#include "discovery.h"
#include "client.h"
#include "exchange.h"
#include "parse.h"
#include "token.h"
#include "util.h"

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

/* The discovery cache holds the service map: refreshed after SERVICE_MAP_LIFETIME_MS by one thread while the
 * others keep using it; it never expires. */
static const isc_cache_kind SERVICE_MAP = {"service discovery", fetch_services, free_map, 1};

int isc_service_uri(intune_scep_client *c, const char *service, isc_call *call, int force, isc_cache_entry **map,
                    const char **uri, intune_scep_error *err) {
    *map = NULL;
    *uri = NULL;
    isc_cache_entry *e = NULL;
    int rc = isc_cache_get(c, &c->services, call, force, &SERVICE_MAP, NULL, &e, err);
    if (rc != INTUNE_SCEP_OK) return rc;
    const char *found = isc_service_map_find(e->value, service);
    if (found) {
        *map = e;
        *uri = found;
        return INTUNE_SCEP_OK;
    }
    char *names = isc_service_map_names(e->value);
    rc = isc_error_set(err, INTUNE_SCEP_E_SERVICE_NOT_FOUND, "service discovery found no %s (services found: %s)",
                       service, names ? names : "?");
    /* A map without the service is not kept: the next call discovers again. */
    isc_cache_invalidate(&c->services, e->generation);
    isc_cache_entry_release(e);
    if (names) isc_log(&c->log, INTUNE_SCEP_LOG_ERROR, "discovery found no %s; services found: %s", service, names);
    free(names);
    return rc;
}

int isc_client_discover(intune_scep_client *c, const char *service, char **uri, intune_scep_error *err) {
    isc_call call;
    isc_call_begin(&call, c, "discover", NULL);
    isc_cache_entry *map = NULL;
    const char *found = NULL;
    int rc = isc_service_uri(c, service, &call, 1, &map, &found, err);
    if (rc == INTUNE_SCEP_OK && !(*uri = isc_strdup(found))) rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    isc_cache_entry_release(map);
    if (rc) isc_call_stamp(&call, err);
    isc_call_end(&call);
    return rc;
}
