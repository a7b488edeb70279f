/* SPDX-License-Identifier: Apache-2.0 */
/* config.h - the configuration store, the java.util.Properties reader and the validation
 * of every key into a client's settings (config.c) */
#ifndef ISC_CONFIG_H
#define ISC_CONFIG_H

#include "error.h"
#include "log.h"

#include <stddef.h>

#define ISC_MAX_CONFIG_FILE (1024u * 1024u) /* a properties file above 1 MiB is refused */

typedef struct {
    char *key;
    char *value;
    long line; /* the properties file line it was read from; 0 when set through the API */
} isc_kv;

struct intune_scep_config {
    isc_kv *items;
    size_t count;
    size_t cap;
    intune_scep_log_fn log_fn;
    void *log_userdata;
    int log_min_level;
    intune_scep_transport_fn transport_fn; /* NULL: libcurl */
    void *transport_userdata;
};

/** The validated settings of one client. */
typedef struct {
    char *app_id;
    char *app_key; /* secret */
    char *tenant;
    char *provider;
    char *authority;        /* ends in '/' */
    char *intune_app_id;
    char *intune_resource;  /* as configured */
    char *graph_resource;   /* ends in '/' */
    char *graph_version;    /* "v1.0" */
    char *scep_api_version;
    char *pki_api_version;
    char *proxy_host;
    long proxy_port;
    char *proxy_user;
    char *proxy_pass; /* secret */
    char *ca_file;
    char *client_cert_file; /* certificate credential, instead of app_key */
    char *client_key_file;
    char *client_key_password; /* secret */
    char *federated_token_file; /* workload identity federation: a JWT re-read for each token request */
    char *managed_identity;     /* user-assigned identity's client id; NULL for the system-assigned identity */
    char *identity_endpoint;    /* managed identity: the platform's token endpoint */
    char *identity_header;      /* App Service style X-IDENTITY-HEADER value (a secret); NULL for IMDS style */
    int identity_app_service;   /* 1: App Service / Functions style, 0: instance metadata service style */
    int credential_kind;        /* an intune_scep_credential_kind */
    long timeout_ms;
    long connect_timeout_ms;
    long max_retries;
    long service_map_lifetime_ms; /* discovery is refreshed after this long */
    /* derived */
    char *token_url;
    char *discovery_url;
    char *graph_scope;
    char *intune_scope;
    char *proxy_url;
} isc_settings;

/** A new, empty configuration (NULL when out of memory). */
intune_scep_config *isc_config_new(void);
/** Free every key and value (values wiped), leaving `cfg` empty. */
void isc_config_clear(intune_scep_config *cfg);
void isc_config_free(intune_scep_config *cfg);
void isc_config_set_log(intune_scep_config *cfg, intune_scep_log_fn fn, void *userdata, int min_level);
void isc_config_set_transport(intune_scep_config *cfg, intune_scep_transport_fn fn, void *userdata);
/** Read the properties file `path` (at most 1 MiB, unbuffered, wiped) into `cfg`: all keys or none. */
int isc_config_load_file(intune_scep_config *cfg, const char *path, intune_scep_error *err);
int isc_config_set(intune_scep_config *cfg, const char *key, const char *value);
/** isc_config_set, remembering the properties file line the key was read from (for warnings). */
int isc_config_set_line(intune_scep_config *cfg, const char *key, const char *value, long line);
const char *isc_config_get(const intune_scep_config *cfg, const char *key);
/**
 * Parse java.util.Properties text (`len` bytes) into `cfg`. `origin` names the
 * source in messages (a path). On error nothing is set.
 */
int isc_properties_parse(intune_scep_config *cfg, const char *text, size_t len, const char *origin,
                         intune_scep_error *err);
/**
 * Set every configuration key K whose environment variable `prefix`K is set (only
 * the keys this library knows). All or nothing: on error `cfg` is unchanged and the
 * message names the variable, never its value.
 */
int isc_config_load_env(intune_scep_config *cfg, const char *prefix, intune_scep_error *err);
/** The table of known keys (config.c): how many, the name of one (NULL past the end), and the
 *  INTUNE_SCEP_CONFIG_KEY_* flags of a key (0 for a key not in the table, or NULL). */
size_t isc_config_key_count(void);
const char *isc_config_key_name(size_t index);
int isc_config_key_flags(const char *key);
/** Validate `cfg` into `out`; the message names the key at fault. Warnings go to `log`. */
int isc_settings_from_config(const intune_scep_config *cfg, isc_settings *out, isc_logger *log,
                             intune_scep_error *err);
void isc_settings_free(isc_settings *s);

#endif
