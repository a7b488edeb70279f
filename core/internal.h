/* SPDX-License-Identifier: Apache-2.0 */
/*
 * internal.h - the private engine of intune-scep, shared by core/ and bindings/.
 * Nothing here is part of the ABI. Names start with isc_.
 */
#ifndef INTUNE_SCEP_INTERNAL_H
#define INTUNE_SCEP_INTERNAL_H

#include "intune_scep.h"

#include <pthread.h>
#include <sys/types.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#define ISC_MAX_RESPONSE (1024u * 1024u) /* answers above 1 MiB are refused */
#define ISC_MAX_ERROR_BODY 4096u         /* copied into an error object */
#define ISC_MAX_CONFIG_FILE (1024u * 1024u)

/* ---- small utilities (util.c) ------------------------------------------- */

/** Monotonic clock in milliseconds. */
uint64_t isc_now_ms(void);
/** Sleep for `ms` milliseconds (restarted on EINTR). */
void isc_sleep_ms(uint64_t ms);
/** strdup that returns NULL for NULL. */
char *isc_strdup(const char *s);
char *isc_strndup(const char *s, size_t n);
/** printf into a new string (NULL when out of memory). */
char *isc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *isc_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/** Wipe and free a string (secrets). */
void isc_free_secret(char *s);
/** Wipe `n` bytes. */
void isc_wipe(void *p, size_t n);
/** Write a random version-4 UUID, 36 characters and a NUL, into out. */
void isc_uuid4(char out[37]);
/** A random number in [0, n). */
uint64_t isc_random_below(uint64_t n);
/** 1 when `s` (n bytes) is valid UTF-8 without NUL. */
int isc_utf8_valid(const char *s, size_t n);
/** How many leading bytes of `s` (n bytes) are printable ASCII (0x20-0x7e); a word at a time. */
size_t isc_printable_span(const char *s, size_t n);
/** How many leading bytes of `s` (n bytes) go into a JSON string as they are: ASCII 0x20-0x7f but '"' and '\\'. */
size_t isc_json_plain_span(const char *s, size_t n);
/** 1 when `s` holds an ASCII control character (0x00-0x1f, 0x7f). */
int isc_has_control(const char *s);
/** Replace, in place, every byte of `s` (n bytes) that does not belong to a valid UTF-8 character with '?'. */
void isc_utf8_repair(char *s, size_t n);
/** A copy of `s`, at most `max` bytes cut at a character boundary, as valid UTF-8 (see isc_utf8_repair). */
char *isc_utf8_copy(const char *s, size_t max);
/** isc_utf8_copy on one line: control characters become spaces, trailing space trimmed. */
char *isc_one_line(const char *s, size_t max);
/**
 * A service code as a message or log line shows it (capped at 128 bytes on a character boundary):
 * as it is when it is one plain token that does not begin with "success" (any case); otherwise in
 * double quotes with blanks kept and control characters escaped ("Success\t", "success"). So only
 * the exact code Success can read code=Success (and a failed call never carries that one).
 */
char *isc_code_shown(const char *code);
/** Case-insensitive ASCII string equality. */
int isc_strcaseeq(const char *a, const char *b);
/** Case-insensitive ASCII prefix test. */
int isc_has_prefix_ci(const char *s, const char *prefix);

/** A growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} isc_buf;
int isc_buf_append(isc_buf *b, const void *p, size_t n);
void isc_buf_reset(isc_buf *b);
void isc_buf_free(isc_buf *b);

/* ---- errors (error.c) --------------------------------------------------- */

struct intune_scep_error {
    int status;
    char *message;
    char *service_code;
    char *description;
    char *activity_id;
    char *transaction_id;
    char *response_body;
    long http_status;
    long aadsts_code;
};

/** The symbolic name of a status ("INTUNE_SCEP_E_REJECTED"). */
const char *isc_status_name(int status);
/** Empty an error object (free and zero every field). */
void isc_error_reset(intune_scep_error *e);
/** Set status and message (printf-style); returns status. e may be NULL. */
int isc_error_set(intune_scep_error *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Replace one string field with a copy of `value` (NULL clears). */
void isc_error_field(char **field, const char *value);
/** Move every field of src into dst (dst reset first; src left empty). */
void isc_error_move(intune_scep_error *dst, intune_scep_error *src);
/** Copy every field of src into dst (dst reset first). */
void isc_error_copy(intune_scep_error *dst, const intune_scep_error *src);
/**
 * The check of a required text argument named `name`: present, non-empty, valid UTF-8; `oneline` also refuses
 * control characters. INTUNE_SCEP_E_INVALID_ARGUMENT with a message naming the argument, else INTUNE_SCEP_OK.
 */
int isc_check_text(intune_scep_error *err, const char *name, const char *value, int oneline);
/** isc_check_text(..., 1) for an optional argument: NULL and "" pass. */
int isc_check_optional(intune_scep_error *err, const char *name, const char *value);

/* ---- configuration (config.c) ------------------------------------------- */

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
/** Validate `cfg` into `out`; the message names the key at fault. Warnings go to `log`. */
struct isc_logger;
int isc_settings_from_config(const intune_scep_config *cfg, isc_settings *out, struct isc_logger *log,
                             intune_scep_error *err);
void isc_settings_free(isc_settings *s);

/* ---- logging (log.c) ---------------------------------------------------- */

typedef struct isc_logger {
    pthread_rwlock_t lock;
    intune_scep_log_fn fn;
    void *userdata;
    int min_level;
} isc_logger;

void isc_logger_init(isc_logger *l, intune_scep_log_fn fn, void *userdata, int min_level);
void isc_logger_destroy(isc_logger *l);
void isc_logger_set(isc_logger *l, intune_scep_log_fn fn, void *userdata, int min_level);
/** 1 when a line at `level` would be written (cheap; lets callers skip formatting). */
int isc_log_enabled(isc_logger *l, int level);
void isc_log(isc_logger *l, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- parsers of outside bytes (parse.c): pure functions, fuzzed --------- */

typedef struct {
    char *access_token; /* secret */
    long expires_in;    /* seconds */
} isc_token_answer;

/*
 * Every reader below refuses an answer that holds a NUL (a byte, or a \u0000
 * escape in any member name or string value) or the same member name twice in
 * one object, at any depth: INTUNE_SCEP_E_PROTOCOL, and nothing is read from it.
 */

/**
 * Read a 200 answer of the token endpoint. Returns INTUNE_SCEP_OK with `out`
 * filled, INTUNE_SCEP_E_PROTOCOL for an answer that cannot be trusted (see
 * above), or INTUNE_SCEP_E_AUTH with a message (never the token).
 */
int isc_parse_token_answer(const char *body, size_t len, isc_token_answer *out, intune_scep_error *err);
/**
 * Read a failed answer of the token endpoint into err's service code ("error",
 * never "Success"), description ("error_description") and AADSTS code
 * ("error_codes"[0]). Leaves the fields empty when the body is not such JSON.
 * Returns INTUNE_SCEP_E_PROTOCOL (fields left alone, `why` says why; may be NULL)
 * for a body that cannot be trusted, else INTUNE_SCEP_OK.
 */
int isc_parse_token_error(const char *body, size_t len, intune_scep_error *err, char *why, size_t why_len);
/* A managed-identity endpoint's 200 answer: access_token with expires_in (IMDS) or expires_on
 * (App Service, Unix seconds, read against `now_unix`). PROTOCOL for an answer with a NUL or a
 * member name twice; AUTH when no usable token is in it. The parse tree is wiped. */
int isc_parse_mi_token_answer(const char *body, size_t len, long long now_unix, isc_token_answer *out,
                              intune_scep_error *err);
/* The "message" member of an error answer (App Service's {"statusCode":..,"message":..}), one
 * line (malloc'd) or NULL; PROTOCOL (with `why`) for an answer that cannot be trusted. */
int isc_parse_message_field(const char *body, size_t len, char **message, char *why, size_t why_len);

typedef struct {
    char *name; /* providerName or serviceName */
    char *uri;
} isc_service;

typedef struct {
    isc_service *items;
    size_t count;
    size_t cap;
} isc_service_map;

/**
 * Read one page of a discovery answer, appending its entries to `map` (first
 * entry of a name wins) and giving the @odata.nextLink in *next_link (or NULL).
 * INTUNE_SCEP_E_PROTOCOL when the body is not a JSON object with a "value" array.
 */
int isc_parse_discovery_page(const char *body, size_t len, isc_service_map *map, char **next_link,
                             intune_scep_error *err);
const char *isc_service_map_find(const isc_service_map *map, const char *name);
void isc_service_map_free(isc_service_map *map);
/** A comma-separated list of the names in the map (for messages). */
char *isc_service_map_names(const isc_service_map *map);

/**
 * Read a 2xx answer of a SCEP call. INTUNE_SCEP_OK only for a JSON object whose
 * "code" is the string "Success"; INTUNE_SCEP_E_REJECTED for any other string
 * code (service code and description set); INTUNE_SCEP_E_PROTOCOL otherwise.
 */
int isc_parse_scep_answer(const char *body, size_t len, intune_scep_error *err);
/**
 * Keep what a non-2xx answer says: the body, capped and on printable
 * characters, as the error's response body, and a JSON "code"/"errorDescription"
 * or Graph-style {"error":{"code","message"}} as service code (never "Success",
 * in any case) and description. Returns INTUNE_SCEP_E_PROTOCOL when the body is
 * JSON that cannot be trusted (then only the body copy is kept and `why`, may be
 * NULL, says why), else INTUNE_SCEP_OK. err may be NULL.
 */
int isc_capture_error_body(const char *body, size_t len, intune_scep_error *err, char *why, size_t why_len);

/* ---- the certificate credential (assertion.c) ---------------------------- */

typedef struct evp_pkey_st EVP_PKEY;
typedef struct {
    EVP_PKEY *key; /* RSA private key, or NULL when the client uses a secret */
    char *x5t;     /* base64url SHA-1 thumbprint of the certificate */
    int64_t not_after; /* the certificate's expiry, Unix seconds */
} isc_credential;

/** Load the certificate and its private key; the message names the configuration key at fault. */
int isc_credential_load(isc_credential *cred, const char *cert_file, const char *key_file, const char *password,
                        intune_scep_error *err);
void isc_credential_free(isc_credential *cred);
/** A signed client-assertion JWT for `audience` (the token URL); NULL on failure. */
char *isc_credential_assertion(const isc_credential *cred, const char *app_id, const char *audience,
                               intune_scep_error *err);

/* ---- revocation (revocation.c; readers in parse.c) ------------------------ */

typedef struct {
    char *request_context;
    char *serial_number;
    char *issuer_name;
    char *ca_configuration; /* may be NULL */
} isc_revocation_request;

struct intune_scep_revocation_requests {
    isc_revocation_request *items;
    size_t count;
};

typedef struct {
    char *request_context;
    int succeeded;
    char *error_code;
    char *error_message; /* may be NULL */
} isc_revocation_result;

struct intune_scep_revocation_results {
    isc_revocation_result *items;
    size_t count;
    size_t cap;
};

/** Read a downloadRevocationRequests answer (entries without a requestContext or serial are refused). */
int isc_parse_revocation_requests(const char *body, size_t len, intune_scep_revocation_requests *out,
                                  intune_scep_error *err);
/** Read an uploadRevocationResults answer: OK only for {"value": true}. */
int isc_parse_revocation_upload(const char *body, size_t len, intune_scep_error *err);
void isc_revocation_requests_free(intune_scep_revocation_requests *r);
intune_scep_revocation_results *isc_revocation_results_new(void);
void isc_revocation_results_free(intune_scep_revocation_results *r);
int isc_revocation_results_add(intune_scep_revocation_results *r, const char *request_context, int succeeded,
                               const char *error_code, const char *error_message, intune_scep_error *err);
int isc_download_revocation_requests(intune_scep_client *c, int max_requests, const char *issuer_name,
                                     intune_scep_revocation_requests **out, intune_scep_error *err);
int isc_upload_revocation_results(intune_scep_client *c, const intune_scep_revocation_results *results,
                                  intune_scep_error *err);

/* ---- the client -------------------------------------------------------- */

/** A single-flight cache of one value (a token or the service map). */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *value;
    uint64_t refresh_at; /* monotonic ms; UINT64_MAX = never */
    uint64_t expires_at;
    uint64_t generation; /* bumped each time a value is installed */
    uint64_t installed_at; /* monotonic ms when the value was installed */
    uint64_t seq;        /* bumped each time a fetch ends */
    int fetching;
    int outlives_lifetime; /* the value stays usable after its lifetime (refreshed, never expires): the service map */
    intune_scep_error last_failure; /* of the fetch that ended last, when it failed */
    void (*free_value)(void *);
} isc_cache;

/** One pooled libcurl easy handle with its own connection and answer buffer. */
typedef struct isc_handle {
    CURL *easy;
    struct isc_handle *next;
    pthread_t owner; /* the thread that used it last: it gets it back first */
    isc_buf body;
    int oversize;
    long proxy_status; /* the proxy's answer to CONNECT, 0 when none */
    int nothing_sent;  /* the last perform wrote no byte of its HTTP request to the server */
    int connect_bounded; /* the last perform's connect phase was bounded by CONNECT_TIMEOUT_MS, not the deadline */
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
    /* The request's header lines, kept between calls and rebuilt only when what they say changes (a new
     * token, another content type or api-version); each attempt rewrites its client-request-id in place.
     * They hold the Authorization line, a secret: wiped when rebuilt and when the handle is freed. */
    struct curl_slist *headers;
    char *header_id;           /* the 36 characters of the client-request-id value inside `headers` */
    const char *header_auth;   /* the Authorization line inside `headers`, NULL when none */
    const char *header_ctype;  /* the Content-Type and api-version they were built with (NULL: none) */
    const char *header_api;
    int header_ua;             /* built with the UserAgent header */
    char *checked_url;         /* the last discovered service URL found usable (see discovery.c), a copy */
} isc_handle;

/**
 * The credential of a client: one kind, swapped whole by a rotation. Token
 * requests hold a reference, so a request in flight finishes with the
 * credential it started with.
 */
typedef struct isc_auth {
    int refs; /* guarded by the client's key_lock */
    int kind; /* an intune_scep_credential_kind */
    char *app_key;    /* secret */
    isc_credential cert;
    char *token_file;
    char *identity;   /* NULL: system-assigned */
    char *identity_endpoint;
    char *identity_header; /* secret */
    int identity_app_service;
} isc_auth;

/** Build a credential from validated settings (taking over its secrets); the message names the key at fault. */
int isc_auth_from_settings(isc_settings *s, isc_auth **out, isc_logger *log, intune_scep_error *err);
/** The client's current credential, with a reference (release with isc_auth_release). */
isc_auth *isc_auth_acquire(intune_scep_client *c);
void isc_auth_release(intune_scep_client *c, isc_auth *a);
/** A human name of a credential kind ("client secret", ...). */
const char *isc_credential_kind_name(int kind);

struct intune_scep_client {
    isc_settings settings;
    pthread_mutex_t key_lock; /* guards auth and its reference counts */
    isc_auth *auth;
    isc_logger log;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    isc_handle *pool;
    isc_cache tokens[2]; /* by intune_scep_resource */
    isc_cache services;
    char user_agent[160]; /* the whole "User-Agent: ..." header line */
    pid_t owner_pid;      /* the process that created it; a child after fork() may not use it */
    intune_scep_transport_fn transport_fn; /* the opt-in transport hook; NULL: libcurl */
    void *transport_userdata;
};

/** Nonzero when `c` was created by another process (this is a child after fork()). */
int isc_client_in_other_process(const intune_scep_client *c);

/** The state of one call as it goes: for errors and the log line. */
typedef struct {
    const char *op;             /* "validateRequest", "token", ... */
    char activity_id[37];
    const char *transaction_id; /* borrowed, may be NULL */
    uint64_t start_ms;
    uint64_t deadline_ms;
    int attempts;
    long http_status;
    char *url; /* last URL tried (owned) */
} isc_call;

void isc_call_begin(isc_call *call, const intune_scep_client *c, const char *op, const char *transaction_id);
void isc_call_end(isc_call *call);
/** Stamp the call's activity id, transaction id and HTTP status into err. */
void isc_call_stamp(const isc_call *call, intune_scep_error *err);

/* http.c */
int isc_http_init(intune_scep_client *c, intune_scep_error *err);
void isc_http_cleanup(intune_scep_client *c);
isc_handle *isc_http_acquire(intune_scep_client *c, intune_scep_error *err);
void isc_http_release(intune_scep_client *c, isc_handle *h);
/** Wipe every line of a header list (one may be an Authorization line) and free it. */
void isc_free_headers(struct curl_slist *list);
/**
 * Perform one HTTP exchange on `h` before `deadline_ms`. `body` NULL means GET.
 * Returns the CURLcode; *status is the HTTP status (0 when no answer).
 */
CURLcode isc_http_perform(intune_scep_client *c, isc_handle *h, const char *url, struct curl_slist *headers,
                          const char *body, size_t body_len, uint64_t deadline_ms, long *status);

/* transport.c */
/**
 * isc_http_perform through the client's transport callback instead of libcurl:
 * the same contract (CURLcode, *status, h->body, h->retry_after, h->oversize,
 * h->proxy_status, h->errbuf), so exchange.c treats both alike.
 */
/* The setters behind intune_scep_transport_response_* (the ABI checks the arguments first):
 * the status (100-599), a header (only Retry-After is kept), a piece of the body (refused past
 * the 1 MiB cap), or a failure of the exchange (an intune_scep_transport_failure). */
int isc_transport_response_set_status(intune_scep_transport_response *r, long status);
int isc_transport_response_add_header(intune_scep_transport_response *r, const char *name, const char *value);
int isc_transport_response_append_body(intune_scep_transport_response *r, const char *data, size_t len);
void isc_transport_response_fail(intune_scep_transport_response *r, int kind, const char *message);
CURLcode isc_transport_perform(intune_scep_client *c, isc_handle *h, const char *url, struct curl_slist *headers,
                               const char *body, size_t body_len, uint64_t deadline_ms, long *status);

/* cache.c */
typedef int (*isc_fetch_fn)(intune_scep_client *c, void *ctx, isc_call *call, void **value, uint64_t *lifetime_ms,
                            intune_scep_error *err);
/** Runs with the cache's lock held: it only copies what it needs (never logs, never blocks). */
typedef int (*isc_use_fn)(const void *value, void *ctx, intune_scep_error *err);
/** Which cached value a caller used: to drop exactly that one later. */
typedef struct {
    uint64_t generation;
    uint64_t installed_at; /* monotonic ms */
} isc_cache_stamp;
int isc_cache_init(isc_cache *cache, void (*free_value)(void *));
void isc_cache_destroy(isc_cache *cache);
/**
 * Run `use` on the cached value, fetching it first (one thread at a time; the
 * others wait, bounded by the call's deadline) when there is none or it is due
 * for refresh. `force` drops the cached value first. *stamp (may be NULL)
 * tells which value was used (for isc_cache_invalidate).
 */
int isc_cache_get(intune_scep_client *c, isc_cache *cache, isc_call *call, int force, isc_fetch_fn fetch,
                  void *fetch_ctx, isc_use_fn use, void *use_ctx, isc_cache_stamp *stamp, intune_scep_error *err);
/** Drop the cached value if it is still the one of `generation`. */
void isc_cache_invalidate(isc_cache *cache, uint64_t generation);
/** Drop the cached value, whatever it is. */
void isc_cache_clear(isc_cache *cache);

/* token.c */
/**
 * Give a copy of the "Authorization: Bearer ..." header line for `resource`
 * (wipe with isc_free_secret), fetching a token when needed.
 */
int isc_token_header(intune_scep_client *c, int resource, isc_call *call, int force, char **header,
                     isc_cache_stamp *stamp, intune_scep_error *err);

/* discovery.c */
/** Give a copy of the URI of `service` (case-insensitive), discovering when needed. */
int isc_service_uri(intune_scep_client *c, const char *service, isc_call *call, int force, char **uri,
                    isc_cache_stamp *stamp, intune_scep_error *err);

/* exchange.c: one request with retries, inside the call's deadline */

/**
 * Where a request goes and with which token, decided afresh before each attempt:
 * token.c gives a fixed URL with an optional token (isc_auth_target), service.c
 * a path under a discovered service's URI with a token.
 */
typedef struct isc_target isc_target;
struct isc_target {
    /** Give the URL (owned) and the Authorization line (owned, a secret; NULL for none) of the next attempt. */
    int (*prepare)(intune_scep_client *c, isc_call *call, isc_target *t, char **url, char **auth,
                   intune_scep_error *err);
    /**
     * May be NULL. Once the attempt has its pooled handle `h`: whether `url` may be sent to (a status other than
     * INTUNE_SCEP_OK ends the request with that error). Runs after prepare, so prepare holds no handle.
     */
    int (*check)(intune_scep_client *c, isc_call *call, isc_target *t, isc_handle *h, const char *url,
                 intune_scep_error *err);
    /**
     * After an HTTP answer `status` (0: none) or a transport failure `cc` from `url`: 1 when the target
     * dropped something stale (a refused token, a moved endpoint) and the attempt is to be repeated at once,
     * on top of the retries. `connect_failed` is 1 when nothing was sent (see isc_failed_connect).
     */
    int (*stale)(intune_scep_client *c, isc_call *call, isc_target *t, long status, CURLcode cc, int connect_failed,
                 const char *url);
};

/** A fixed URL with a token for `resource` (-1: none); a 401 drops the token and repeats once. */
typedef struct {
    isc_target base;
    const char *url;
    int resource;
    isc_cache_stamp stamp;
    int refusals;
    uint64_t first_refusal_at;
} isc_auth_target;
void isc_auth_target_init(isc_auth_target *t, const char *url, int resource);
/** The Authorization line for `t`'s resource (the token part of isc_auth_target's prepare). */
int isc_auth_target_token(intune_scep_client *c, isc_call *call, isc_auth_target *t, char **auth,
                          intune_scep_error *err);

/** 1 for a failure to reach the host at all (connect, DNS): nothing was sent. */
int isc_connect_failure(CURLcode cc);
/**
 * 1 when the last perform on `h` failed with `cc` before anything was sent: a refused or
 * unresolvable host, a TCP handshake or proxy tunnel that did not complete in time, a TLS
 * handshake that stalled or was cut. Such a failure is retried and rediscovers like a refused
 * connection; a failure after the request went out is not a failed connect.
 */
int isc_failed_connect(const isc_handle *h, CURLcode cc);
/** A one-line cause of a transport failure. */
const char *isc_transport_cause(CURLcode cc);

typedef struct {
    const char *api_version;  /* NULL: no api-version header */
    const char *content_type; /* NULL for GET */
    const char *body;         /* NULL for GET */
    size_t body_len;
    int send_user_agent_header; /* the reference's "UserAgent" header */
} isc_request;

/**
 * Send `req` to `target` with the call's activity id, retrying per the protocol
 * inside the call's deadline. On INTUNE_SCEP_OK, *handle holds the answer (status 2xx, body
 * in (*handle)->body): release it with isc_http_release. Non-2xx final answers
 * give INTUNE_SCEP_E_HTTP (or `non2xx_status` when the caller wants another
 * status, e.g. INTUNE_SCEP_E_AUTH for the token endpoint) with the body captured.
 */
int isc_exchange(intune_scep_client *c, isc_call *call, isc_target *target, const isc_request *req,
                 int non2xx_status, isc_handle **handle, intune_scep_error *err);

/* scep.c */
/** The JSON bodies of the three calls (NULL when out of memory, or when a value is not valid UTF-8: the ABI refuses
 * such arguments before); optional strings NULL or "" give JSON null. */
char *isc_body_validate(const char *transaction_id, const char *csr, const char *provider);
char *isc_body_success(const char *transaction_id, const char *csr, const char *thumbprint, const char *serial,
                       const char *expiration, const char *issuer, const char *provider, const char *ca_configuration,
                       const char *certificate_authority);
char *isc_body_failure(const char *transaction_id, const char *csr, int64_t hresult, const char *description,
                       const char *provider);
/* service.c: one call to a discovered service (the SCEP and revocation calls) */
/** A call to one of Intune's services. */
typedef struct {
    const char *name;        /* for the log and errors: "validateRequest" */
    const char *service;     /* discovered service name */
    const char *path;        /* under the service's URI */
    const char *api_version; /* the api-version header */
} isc_service_op;
/** Reads a 2xx answer; returns a status (INTUNE_SCEP_E_PROTOCOL when it cannot be trusted). */
typedef int (*isc_answer_fn)(const char *body, size_t len, void *ctx, intune_scep_error *err);
/** POST `body` (taken over and freed) to `op` with a fresh activity id, read the answer; one log line. */
int isc_service_call(intune_scep_client *c, const isc_service_op *op, const char *transaction_id, char *body,
                     isc_answer_fn read_answer, void *answer_ctx, intune_scep_error *err);
/* scep.c */
/** Send `body` (taken over and freed) to ScepActions/`action`; one log line. */
int isc_scep_call(intune_scep_client *c, const char *action, const char *transaction_id, char *body,
                  intune_scep_error *err);
/* The three SCEP calls, their arguments checked by the ABI (bindings/intune_scep.c). */
int isc_scep_validate(intune_scep_client *c, const char *transaction_id, const char *csr, intune_scep_error *err);
int isc_scep_success(intune_scep_client *c, const char *transaction_id, const char *csr, const char *thumbprint,
                     const char *serial, const char *expiration, const char *issuer, const char *ca_configuration,
                     const char *certificate_authority, intune_scep_error *err);
/** isc_scep_success with what the certificate `cert` (PEM or DER, `cert_len` bytes) gives; INVALID_ARGUMENT naming
 * "cert" when it cannot be read. */
int isc_scep_success_for_cert(intune_scep_client *c, const char *transaction_id, const char *csr, const char *cert,
                              size_t cert_len, const char *ca_configuration, const char *certificate_authority,
                              intune_scep_error *err);
int isc_scep_failure(intune_scep_client *c, const char *transaction_id, const char *csr, int64_t hresult,
                     const char *description, intune_scep_error *err);

/* client.c */
int isc_client_new(const intune_scep_config *cfg, intune_scep_client **out, intune_scep_error *err);
void isc_client_free(intune_scep_client *c);
/** The argument check of a client: present, and created by this process (not a parent before fork()). */
int isc_client_usable(const intune_scep_client *c, intune_scep_error *err);
/** Replace the log sink (nothing in a child after fork()). */
void isc_client_set_log(intune_scep_client *c, intune_scep_log_fn fn, void *userdata, int min_level);
/** The kind of the credential in use (an intune_scep_credential_kind). */
int isc_client_credential_kind(intune_scep_client *c);
/** The certificate credential's expiry (Unix seconds), 0 for another kind. */
int64_t isc_client_certificate_expiry(intune_scep_client *c);
/** Fetch a fresh token for `resource` now (the cached one is replaced); the call stamps its errors. */
int isc_client_fetch_token(intune_scep_client *c, int resource, intune_scep_error *err);
/** Discover afresh and give a copy of `service`'s URI (free with isc_free_secret); the call stamps its errors. */
int isc_client_discover(intune_scep_client *c, const char *service, char **uri, intune_scep_error *err);
int isc_client_set_app_key(intune_scep_client *c, const char *key, intune_scep_error *err);
/** Swap the whole credential for the one `cfg` describes; cached tokens are dropped. */
int isc_client_update_credentials(intune_scep_client *c, const intune_scep_config *cfg, intune_scep_error *err);
/** The `roles` claim of the token for `resource` (decoded, not verified), comma-separated. */
int isc_client_token_roles(intune_scep_client *c, int resource, char **roles, intune_scep_error *err);

/* certinfo.c */
struct intune_scep_cert_details {
    char *thumbprint;
    char *serial_number;
    char *expiration_date;
    char *issuing_authority;
};
int isc_cert_details(const char *data, size_t len, intune_scep_cert_details **out, intune_scep_error *err);
void isc_cert_details_free(intune_scep_cert_details *d);
int isc_csr_to_base64_der(const char *data, size_t len, char **out, intune_scep_error *err);
/* The bytes written into a memory BIO, as a NUL-terminated copy (malloc'd), or NULL. */
struct bio_st;
char *isc_bio_string(struct bio_st *bio);

#endif
