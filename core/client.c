/* SPDX-License-Identifier: Apache-2.0 */
/* client.c - the client object: settings, caches, the connection pool, the
 * log sink, and the bookkeeping of one call. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void init_curl(void) {
    /* libcurl's global state: initialised once, thread-safe through pthread_once. */
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void free_secret_value(void *p) {
    isc_free_secret(p);
}

static void free_service_map(void *p) {
    isc_service_map_free(p);
    free(p);
}

int isc_client_new(const intune_scep_config *cfg, intune_scep_client **out, intune_scep_error *err) {
    *out = NULL;
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) return isc_error_set(err, INTUNE_SCEP_E_INTERNAL, "libcurl could not be initialised");
    intune_scep_client *c = calloc(1, sizeof *c);
    if (!c) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    c->owner_pid = getpid();
    isc_logger_init(&c->log, cfg->log_fn, cfg->log_userdata, cfg->log_min_level);
    c->transport_fn = cfg->transport_fn;
    c->transport_userdata = cfg->transport_userdata;
    int rc = isc_settings_from_config(cfg, &c->settings, &c->log, err);
    if (rc != INTUNE_SCEP_OK) {
        isc_logger_destroy(&c->log);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->key_lock, NULL);
    if (c->settings.client_cert_file) {
        rc = isc_credential_load(&c->credential, c->settings.client_cert_file, c->settings.client_key_file,
                                 c->settings.client_key_password, err);
        /* The password was needed to load the key only: not kept for the client's life. */
        isc_free_secret(c->settings.client_key_password);
        c->settings.client_key_password = NULL;
        if (rc != INTUNE_SCEP_OK) {
            pthread_mutex_destroy(&c->key_lock);
            isc_settings_free(&c->settings);
            isc_logger_destroy(&c->log);
            free(c);
            return rc;
        }
    }
    isc_cache_init(&c->tokens[0], free_secret_value);
    isc_cache_init(&c->tokens[1], free_secret_value);
    isc_cache_init(&c->services, free_service_map);
    c->services.outlives_lifetime = 1; /* the map is refreshed after SERVICE_MAP_LIFETIME_MS, never expires */
    rc = isc_http_init(c, err);
    if (rc != INTUNE_SCEP_OK) {
        isc_client_free(c);
        return rc;
    }
    isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG,
            "client created: tenant=%s app_id=%s authority=%s graph=%s timeout_ms=%ld retries=%ld tls_ca_file=%s proxy=%s",
            c->settings.tenant, c->settings.app_id, c->settings.authority, c->settings.graph_resource,
            c->settings.timeout_ms, c->settings.max_retries, c->settings.ca_file ? c->settings.ca_file : "(system)",
            c->settings.proxy_url ? c->settings.proxy_url : "(none)");
    *out = c;
    return INTUNE_SCEP_OK;
}

int isc_client_in_other_process(const intune_scep_client *c) {
    /* A child of fork() shares the parent's connections (sockets and TLS state) and may hold a
       copy of a lock some parent thread had taken: it must neither use nor free them. */
    return c->owner_pid != getpid();
}

void isc_client_free(intune_scep_client *c) {
    if (!c) return;
    if (isc_client_in_other_process(c)) return; /* the parent's: left alone (see intune_scep.h) */
    isc_http_cleanup(c);
    isc_cache_destroy(&c->tokens[0]);
    isc_cache_destroy(&c->tokens[1]);
    isc_cache_destroy(&c->services);
    isc_settings_free(&c->settings);
    isc_credential_free(&c->credential);
    pthread_mutex_destroy(&c->key_lock);
    isc_logger_destroy(&c->log);
    free(c);
}

char *isc_client_app_key(intune_scep_client *c) {
    pthread_mutex_lock(&c->key_lock);
    char *k = isc_strdup(c->settings.app_key);
    pthread_mutex_unlock(&c->key_lock);
    return k;
}

int isc_client_set_app_key(intune_scep_client *c, const char *key, intune_scep_error *err) {
    if (c->credential.key)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT,
                             "argument app_key: this client authenticates with a certificate (AAD_CLIENT_CERT_FILE)");
    char *k = isc_strdup(key);
    if (!k) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    pthread_mutex_lock(&c->key_lock);
    char *old = c->settings.app_key;
    c->settings.app_key = k;
    pthread_mutex_unlock(&c->key_lock);
    isc_free_secret(old);
    isc_cache_clear(&c->tokens[0]);
    isc_cache_clear(&c->tokens[1]);
    isc_log(&c->log, INTUNE_SCEP_LOG_INFO, "the application key (AAD_APP_KEY) was replaced; cached tokens dropped");
    return INTUNE_SCEP_OK;
}

void isc_call_begin(isc_call *call, const intune_scep_client *c, const char *op, const char *transaction_id) {
    memset(call, 0, sizeof *call);
    call->op = op;
    call->transaction_id = transaction_id;
    isc_uuid4(call->activity_id);
    call->start_ms = isc_now_ms();
    call->deadline_ms = call->start_ms + (uint64_t)c->settings.timeout_ms;
}

void isc_call_end(isc_call *call) {
    free(call->url);
    call->url = NULL;
}

void isc_call_stamp(const isc_call *call, intune_scep_error *err) {
    if (!err) return;
    isc_error_field(&err->activity_id, call->activity_id);
    isc_error_field(&err->transaction_id, call->transaction_id);
    if (!err->http_status) err->http_status = call->http_status;
    /* A failure never reports the service code Success (only a rejection keeps its code as sent, and that
     * code is then not exactly Success): a reader keyed on it must not be misled. */
    if (err->status != INTUNE_SCEP_E_REJECTED && err->service_code) {
        char *shown = isc_one_line(err->service_code, 128);
        if (!shown || isc_strcaseeq(shown, "Success")) {
            free(err->service_code);
            err->service_code = NULL;
        }
        free(shown);
    }
    char *cause = err->message;
    err->message = NULL;
    /* The cause first, then the context: the call, its activity id and transaction id. */
    if (call->transaction_id) {
        char *tid = isc_utf8_copy(call->transaction_id, 128); /* cut at a character boundary */
        isc_error_set(err, err->status, "%s (%s; activity id %s, transaction id %s)", cause ? cause : "failed",
                      call->op, call->activity_id, tid ? tid : "?");
        free(tid);
    } else
        isc_error_set(err, err->status, "%s (%s; activity id %s)", cause ? cause : "failed", call->op,
                      call->activity_id);
    free(cause);
}
