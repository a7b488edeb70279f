/* SPDX-License-Identifier: Apache-2.0 */
/* client.c - the client object: settings, caches, the connection pool, the
 * log sink, and the bookkeeping of one call. */
#include "client.h"
#include "http.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void init_curl(void) {
    /* libcurl's global state: initialised once, thread-safe through pthread_once. */
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void auth_free(isc_auth *a);

int isc_client_new(const intune_scep_config *cfg, intune_scep_client **out, intune_scep_error *err) {
    *out = NULL;
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) return isc_error_set(err, INTUNE_SCEP_E_INTERNAL, "libcurl could not be initialised");
    intune_scep_client *c = calloc(1, sizeof *c);
    if (!c) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    c->owner_pid = getpid();
    c->owner_fork_generation = isc_fork_generation();
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
    rc = isc_auth_from_settings(&c->settings, &c->auth, &c->log, err);
    if (rc != INTUNE_SCEP_OK) {
        pthread_mutex_destroy(&c->key_lock);
        isc_settings_free(&c->settings);
        isc_logger_destroy(&c->log);
        free(c);
        return rc;
    }
    isc_cache_init(&c->tokens[0]);
    isc_cache_init(&c->tokens[1]);
    isc_cache_init(&c->services);
    rc = isc_http_init(c, err);
    if (rc != INTUNE_SCEP_OK) {
        isc_client_free(c);
        return rc;
    }
    isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG,
            "client created: tenant=%s app_id=%s credential=%s authority=%s graph=%s timeout_ms=%ld retries=%ld "
            "tls_ca_file=%s proxy=%s",
            c->settings.tenant, c->settings.app_id, isc_credential_kind_name(c->auth->kind), c->settings.authority,
            c->settings.graph_resource,
            c->settings.timeout_ms, c->settings.max_retries, c->settings.ca_file ? c->settings.ca_file : "(system)",
            c->settings.proxy_url ? c->settings.proxy_url : "(none)");
    *out = c;
    return INTUNE_SCEP_OK;
}

int isc_client_in_other_process(const intune_scep_client *c) {
    /* A child of fork() shares the parent's connections (sockets and TLS state) and may hold a
       copy of a lock some parent thread had taken: it must neither use nor free them. */
    return c->owner_fork_generation != isc_fork_generation(); /* an atomic load: no system call per call */
}

int isc_client_usable(const intune_scep_client *c, intune_scep_error *err) {
    if (!c) return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument client is required (got NULL)");
    if (isc_client_in_other_process(c))
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT,
                             "argument client was created by process %ld, not this one (%ld): a client cannot be "
                             "used after fork(); create a new client in the child",
                             (long)c->owner_pid, (long)getpid());
    return INTUNE_SCEP_OK;
}

void isc_client_set_log(intune_scep_client *c, intune_scep_log_fn fn, void *userdata, int min_level) {
    if (!isc_client_in_other_process(c)) isc_logger_set(&c->log, fn, userdata, min_level);
}

int isc_client_credential_kind(intune_scep_client *c) {
    isc_auth *a = isc_auth_acquire(c);
    int kind = a->kind;
    isc_auth_release(c, a);
    return kind;
}

int64_t isc_client_certificate_expiry(intune_scep_client *c) {
    isc_auth *a = isc_auth_acquire(c);
    int64_t t = a->kind == INTUNE_SCEP_CREDENTIAL_CERTIFICATE ? a->cert.not_after : 0;
    isc_auth_release(c, a);
    return t;
}

void isc_client_free(intune_scep_client *c) {
    if (!c) return;
    if (isc_client_in_other_process(c)) return; /* the parent's: left alone (see intune_scep.h) */
    isc_http_cleanup(c);
    isc_cache_destroy(&c->tokens[0]);
    isc_cache_destroy(&c->tokens[1]);
    isc_cache_destroy(&c->services);
    isc_settings_free(&c->settings);
    auth_free(c->auth);
    pthread_mutex_destroy(&c->key_lock);
    isc_logger_destroy(&c->log);
    free(c);
}

const char *isc_credential_kind_name(int kind) {
    switch (kind) {
    case INTUNE_SCEP_CREDENTIAL_SECRET: return "client secret";
    case INTUNE_SCEP_CREDENTIAL_CERTIFICATE: return "certificate";
    case INTUNE_SCEP_CREDENTIAL_FEDERATED: return "federated token";
    case INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY: return "managed identity";
    default: return "none";
    }
}

int isc_auth_from_settings(isc_settings *s, isc_auth **out, isc_logger *log, intune_scep_error *err) {
    *out = NULL;
    isc_auth *a = calloc(1, sizeof *a);
    if (!a) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    a->refs = 1;
    a->kind = s->credential_kind;
    if (a->kind == INTUNE_SCEP_CREDENTIAL_CERTIFICATE) {
        int rc = isc_credential_load(&a->cert, s->client_cert_file, s->client_key_file, s->client_key_password, err);
        /* The password was needed to load the key only: not kept for the client's life. */
        isc_free_secret(s->client_key_password);
        s->client_key_password = NULL;
        if (rc != INTUNE_SCEP_OK) {
            free(a);
            return rc;
        }
        int64_t left = a->cert.not_after - (int64_t)time(NULL);
        if (left < 30 * 86400)
            isc_log(log, INTUNE_SCEP_LOG_WARNING,
                    "the certificate of AAD_CLIENT_CERT_FILE %s (x5t %s); upload a new one to the app registration "
                    "and rotate",
                    left <= 0 ? "has expired" : left < 86400 ? "expires within a day" : "expires within 30 days",
                    a->cert.x5t);
    }
    /* The strings move from the settings into the credential (one owner of each secret). */
    a->app_key = s->app_key;
    s->app_key = NULL;
    a->token_file = s->federated_token_file;
    s->federated_token_file = NULL;
    a->identity = s->managed_identity;
    s->managed_identity = NULL;
    a->identity_endpoint = s->identity_endpoint;
    s->identity_endpoint = NULL;
    a->identity_header = s->identity_header;
    s->identity_header = NULL;
    a->identity_app_service = s->identity_app_service;
    *out = a;
    return INTUNE_SCEP_OK;
}

static void auth_free(isc_auth *a) {
    if (!a) return;
    isc_free_secret(a->app_key);
    isc_credential_free(&a->cert);
    free(a->token_file);
    free(a->identity);
    free(a->identity_endpoint);
    isc_free_secret(a->identity_header);
    free(a);
}

isc_auth *isc_auth_acquire(intune_scep_client *c) {
    pthread_mutex_lock(&c->key_lock);
    isc_auth *a = c->auth;
    a->refs++;
    pthread_mutex_unlock(&c->key_lock);
    return a;
}

void isc_auth_release(intune_scep_client *c, isc_auth *a) {
    pthread_mutex_lock(&c->key_lock);
    int last = --a->refs == 0;
    pthread_mutex_unlock(&c->key_lock);
    if (last) auth_free(a);
}

/* Install `a` (taken over), drop the old credential's reference and every cached token. */
static void auth_swap(intune_scep_client *c, isc_auth *a) {
    pthread_mutex_lock(&c->key_lock);
    isc_auth *old = c->auth;
    c->auth = a;
    pthread_mutex_unlock(&c->key_lock);
    isc_auth_release(c, old);
    isc_cache_clear(&c->tokens[0]);
    isc_cache_clear(&c->tokens[1]);
}

int isc_client_set_app_key(intune_scep_client *c, const char *key, intune_scep_error *err) {
    isc_auth *cur = isc_auth_acquire(c);
    int kind = cur->kind;
    isc_auth_release(c, cur);
    if (kind != INTUNE_SCEP_CREDENTIAL_SECRET)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT,
                             "argument app_key: this client authenticates with a %s (%s); use "
                             "intune_scep_client_update_credentials",
                             isc_credential_kind_name(kind),
                             kind == INTUNE_SCEP_CREDENTIAL_CERTIFICATE ? "AAD_CLIENT_CERT_FILE"
                             : kind == INTUNE_SCEP_CREDENTIAL_FEDERATED ? "AAD_FEDERATED_TOKEN_FILE"
                                                                        : "AAD_MANAGED_IDENTITY");
    isc_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->app_key = isc_strdup(key))) {
        free(a);
        return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    a->refs = 1;
    a->kind = INTUNE_SCEP_CREDENTIAL_SECRET;
    auth_swap(c, a);
    isc_log(&c->log, INTUNE_SCEP_LOG_INFO, "the application key (AAD_APP_KEY) was replaced; cached tokens dropped");
    return INTUNE_SCEP_OK;
}

static const char *const CREDENTIAL_KEYS[] = {
    "AAD_APP_KEY", "AAD_CLIENT_CERT_FILE", "AAD_CLIENT_KEY_FILE", "AAD_CLIENT_KEY_PASSWORD",
    "AAD_FEDERATED_TOKEN_FILE", "AAD_MANAGED_IDENTITY", "AAD_MANAGED_IDENTITY_ENDPOINT", "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
};

int isc_client_update_credentials(intune_scep_client *c, const intune_scep_config *cfg, intune_scep_error *err) {
    /* The candidate is checked by the same rules as a new client's: the client's own identity
     * keys with the credential keys of `cfg`. */
    intune_scep_config staged = {0};
    int rc = INTUNE_SCEP_OK;
    const char *own[][2] = {{"AAD_APP_ID", c->settings.app_id},
                            {"TENANT", c->settings.tenant},
                            {"PROVIDER_NAME_AND_VERSION", c->settings.provider}};
    for (size_t i = 0; i < 3 && !rc; i++) rc = isc_config_set(&staged, own[i][0], own[i][1]);
    for (size_t i = 0; i < sizeof CREDENTIAL_KEYS / sizeof *CREDENTIAL_KEYS && !rc; i++) {
        const char *v = isc_config_get(cfg, CREDENTIAL_KEYS[i]);
        if (v) rc = isc_config_set(&staged, CREDENTIAL_KEYS[i], v);
    }
    isc_settings s;
    memset(&s, 0, sizeof s);
    isc_auth *a = NULL;
    if (rc) rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    else rc = isc_settings_from_config(&staged, &s, &c->log, err);
    if (!rc) rc = isc_auth_from_settings(&s, &a, &c->log, err);
    isc_settings_free(&s);
    isc_config_clear(&staged);
    if (rc) return rc;
    int kind = a->kind;
    auth_swap(c, a);
    isc_log(&c->log, INTUNE_SCEP_LOG_INFO, "the credential was replaced (now a %s); cached tokens dropped",
            isc_credential_kind_name(kind));
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
