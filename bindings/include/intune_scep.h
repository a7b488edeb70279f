/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intune_scep.h - the public C ABI of intune-scep.
 *
 * intune-scep lets a SCEP server or certificate authority take part in Microsoft
 * Intune's SCEP certificate management: before issuing a certificate to an
 * Intune-managed device it asks Intune whether the device's CSR and its
 * challenge are genuine (intune_scep_validate_request), and afterwards it tells
 * Intune what it issued (intune_scep_send_success_notification) or why it failed
 * (intune_scep_send_failure_notification).
 *
 * This header is the only public one, and it is the manual.
 *
 * Conventions
 *  - Every handle is opaque; nothing public is a struct. Free each handle only
 *    with its matching *_free function (NULL is accepted by every *_free).
 *  - Every function that can fail returns an int status (intune_scep_status,
 *    INTUNE_SCEP_OK == 0) and fills the optional intune_scep_error it is given
 *    (NULL is allowed; the status alone then tells what happened).
 *  - Strings are UTF-8 and NUL-terminated. Arguments are borrowed for the duration
 *    of the call only. Returned `const char *` strings belong to the object they
 *    came from and live until that object is freed or next filled.
 *  - FAIL CLOSED: the three SCEP calls return INTUNE_SCEP_OK only when Intune
 *    answered HTTP 2xx with a JSON object whose "code" is exactly "Success".
 *    Anything else - another code, no code, not JSON, an HTTP error, a timeout,
 *    a TLS failure - is an error status: the certificate must not be issued.
 *  - Thread safety: an intune_scep_client is shared by any number of threads at
 *    once. An intune_scep_config and an intune_scep_error belong to one thread
 *    at a time. intune_scep_version and intune_scep_status_name are pure.
 *  - Secrets (AAD_APP_KEY, PROXY_PASS, access tokens) never appear in an error
 *    message, a log line or a copied response body, and are wiped when freed.
 */
#ifndef INTUNE_SCEP_H
#define INTUNE_SCEP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(INTUNE_SCEP_BUILDING) && defined(__GNUC__)
#define INTUNE_SCEP_API __attribute__((visibility("default")))
#else
#define INTUNE_SCEP_API
#endif

/** Major version of the ABI; it is also the SONAME's number (libintunescep.so.1). */
#define INTUNE_SCEP_ABI_VERSION 1

/* ------------------------------------------------------------------------- */
/* Handles and status codes                                                  */
/* ------------------------------------------------------------------------- */

/** The configuration: the java.util.Properties of the reference client. */
typedef struct intune_scep_config intune_scep_config;
/** A client: thread-safe; create one per configuration and share it. */
typedef struct intune_scep_client intune_scep_client;
/** What went wrong, for humans (message) and for code (status and fields). */
typedef struct intune_scep_error intune_scep_error;
/** The four success-notification fields derived from an issued certificate. */
typedef struct intune_scep_cert_details intune_scep_cert_details;
/** Revocation requests Intune queued for this CA (downloadRevocationRequests). */
typedef struct intune_scep_revocation_requests intune_scep_revocation_requests;
/** What became of revocation requests, to upload (uploadRevocationResults). */
typedef struct intune_scep_revocation_results intune_scep_revocation_results;

/** The Intune service that validates SCEP requests and takes the notifications
 *  (the name service discovery lists it under). */
#define INTUNE_SCEP_SERVICE_VALIDATION "ScepRequestValidationFEService"
/** The Intune service that queues revocation requests and takes their results. */
#define INTUNE_SCEP_SERVICE_REVOCATION "PkiConnectorFEService"

/** Status of every fallible call. Values never change once shipped. */
typedef enum {
    INTUNE_SCEP_OK = 0,               /**< success (for SCEP calls: Intune said "Success") */
    INTUNE_SCEP_E_INVALID_ARGUMENT,   /**< a required argument missing, empty or malformed; nothing was sent */
    INTUNE_SCEP_E_CONFIG,             /**< a configuration key missing or invalid; the message names the key */
    INTUNE_SCEP_E_AUTH,               /**< the identity platform refused or failed (service code = OAuth "error") */
    INTUNE_SCEP_E_SERVICE_NOT_FOUND,  /**< discovery does not list the service */
    INTUNE_SCEP_E_HTTP,               /**< a non-2xx answer from Graph or Intune (http_status, response_body set) */
    INTUNE_SCEP_E_TRANSPORT,          /**< connect, DNS, TLS, proxy, reset, or the call's deadline */
    INTUNE_SCEP_E_PROTOCOL,           /**< an answer that cannot be trusted: a 2xx that is not JSON, has no code or is
                                           over 1 MiB; any answer (2xx or not) whose JSON has a member name twice in
                                           one object or a NUL (\u0000 escape or byte) in a name or string */
    INTUNE_SCEP_E_REJECTED,           /**< Intune answered with a code other than "Success" (service_code set) */
    INTUNE_SCEP_E_NOMEM,              /**< out of memory */
    INTUNE_SCEP_E_INTERNAL            /**< a bug or an unexpected library failure */
} intune_scep_status;

/** Log levels; the numbers are those of Python's logging module. */
typedef enum {
    INTUNE_SCEP_LOG_DEBUG = 10,
    INTUNE_SCEP_LOG_INFO = 20,
    INTUNE_SCEP_LOG_WARNING = 30,
    INTUNE_SCEP_LOG_ERROR = 40
} intune_scep_log_level;

/** The two resources the client holds tokens for. */
typedef enum {
    INTUNE_SCEP_RESOURCE_GRAPH = 0,   /**< Microsoft Graph (MS_GRAPH_RESOURCE_URL), used for discovery */
    INTUNE_SCEP_RESOURCE_INTUNE = 1   /**< Intune (INTUNE_RESOURCE_URL), used by the SCEP calls */
} intune_scep_resource;

/** The kind of credential a client authenticates with. */
typedef enum {
    INTUNE_SCEP_CREDENTIAL_SECRET = 1,           /**< AAD_APP_KEY */
    INTUNE_SCEP_CREDENTIAL_CERTIFICATE = 2,      /**< AAD_CLIENT_CERT_FILE (+ AAD_CLIENT_KEY_FILE) */
    INTUNE_SCEP_CREDENTIAL_FEDERATED = 3,        /**< AAD_FEDERATED_TOKEN_FILE */
    INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY = 4  /**< AAD_MANAGED_IDENTITY */
} intune_scep_credential_kind;

/**
 * A log sink. Called from whichever thread produced the line, possibly several
 * threads at once; `message` is one line without a trailing newline, valid only
 * during the call. It never contains a secret. It must not call back into the
 * client that produced it.
 */
typedef void (*intune_scep_log_fn)(void *userdata, int level, const char *message);

/* ------------------------------------------------------------------------- */
/* Library                                                                    */
/* ------------------------------------------------------------------------- */

/** The library version, e.g. "1.0.0". Never NULL. */
INTUNE_SCEP_API const char *intune_scep_version(void);

/**
 * The symbolic name of a status, e.g. "INTUNE_SCEP_E_REJECTED".
 * Unknown values give "INTUNE_SCEP_E_UNKNOWN". Never NULL.
 */
INTUNE_SCEP_API const char *intune_scep_status_name(int status);

/* ------------------------------------------------------------------------- */
/* Configuration                                                             */
/* ------------------------------------------------------------------------- */

/**
 * A new, empty configuration, or NULL when out of memory.
 *
 * Keys (case-sensitive, as in java.util.Properties):
 *   AAD_APP_ID (required), TENANT (required), PROVIDER_NAME_AND_VERSION (required),
 *   AAD_APP_KEY (the client secret; a secret) - required unless a certificate
 *   credential is given instead: AAD_CLIENT_CERT_FILE (PEM certificate registered
 *   on the app; its RSA private key in the same file or in AAD_CLIENT_KEY_FILE,
 *   encrypted with AAD_CLIENT_KEY_PASSWORD, a secret). Tokens are then requested
 *   with a signed client assertion (RS256, x5t). Or, with no stored secret:
 *   AAD_FEDERATED_TOKEN_FILE (workload identity federation: a file holding a JWT
 *   from an external issuer, e.g. a Kubernetes projected service-account token;
 *   read afresh for every token request and sent as the client assertion), or
 *   AAD_MANAGED_IDENTITY ("system" or a user-assigned identity's client id: tokens
 *   come from the platform's identity endpoint: App Service / Functions style when
 *   IDENTITY_ENDPOINT and IDENTITY_HEADER are set, in the configuration or the
 *   environment, else the instance metadata service at 169.254.169.254 with
 *   "Metadata: true"; AAD_MANAGED_IDENTITY_ENDPOINT overrides the endpoint; plain
 *   http is allowed only on a loopback or link-local address).
 *   Exactly one credential kind may be set.
 *   CLOUD (public, usgov, usgovdod, china; default public): presets of
 *   AUTH_AUTHORITY, MS_GRAPH_RESOURCE_URL and INTUNE_RESOURCE_URL for a sovereign
 *   cloud; those keys, when set, win.
 *   PROXY_HOST, PROXY_PORT (1-65535, required with PROXY_HOST), PROXY_USER,
 *   PROXY_PASS (required with PROXY_USER; a secret),
 *   AUTH_AUTHORITY (default https://login.microsoftonline.com/),
 *   INTUNE_APP_ID (default 0000000a-0000-0000-c000-000000000000),
 *   INTUNE_RESOURCE_URL (default https://api.manage.microsoft.com/),
 *   MS_GRAPH_RESOURCE_URL (default https://graph.microsoft.com/),
 *   MS_GRAPH_API_VERSION (default 1.0),
 *   GRAPH_RESOURCE_URL, GRAPH_API_VERSION (retired; accepted, unused, warned),
 *   ScepRequestValidationFEServiceVersion (default 2018-02-20),
 *   PkiConnectorFEServiceVersion (default 5019-05-05),
 *   TLS_CA_FILE (PEM bundle trusted instead of the system store),
 *   TIMEOUT_MS (default 30000; the deadline of one call, everything included),
 *   CONNECT_TIMEOUT_MS (default 10000), MAX_RETRIES (default 2, 0-10),
 *   SERVICE_MAP_LIFETIME_MS (default 3600000, 1000-86400000; after this long one
 *   call discovers Intune's services again while the others keep using the map).
 * An optional key with an empty value counts as not set. Unknown keys are kept
 * and warned about in the log when a client is created.
 */
INTUNE_SCEP_API intune_scep_config *intune_scep_config_new(void);

/**
 * Set `key` to `value` (a copy is kept; a previous value is wiped and replaced).
 * `value` NULL removes the key. Returns INTUNE_SCEP_E_INVALID_ARGUMENT for a NULL
 * config, a NULL or empty key, or a key or value that is not valid UTF-8 or holds
 * a control character; INTUNE_SCEP_E_NOMEM when out of memory. Values are only
 * checked against the key's rules when a client is created.
 */
INTUNE_SCEP_API int intune_scep_config_set(intune_scep_config *cfg, const char *key, const char *value);

/** The value of `key`, or NULL when not set. Valid until the key is set again or the config freed. */
INTUNE_SCEP_API const char *intune_scep_config_get(const intune_scep_config *cfg, const char *key);

/**
 * Read a file in java.util.Properties syntax and set every key it holds
 * (later lines win; keys already set and not in the file are kept).
 * Syntax: comment lines start with '#' or '!'; key and value are separated by
 * '=', ':' or whitespace; a line ending in an odd number of backslashes continues
 * on the next one; escapes \t \n \r \f \\ \uXXXX (surrogate pairs combine).
 * The file is read as UTF-8, or as ISO-8859-1 when it is not valid UTF-8.
 * On a syntax error (e.g. a malformed \u escape) returns INTUNE_SCEP_E_CONFIG
 * with the path and line number in the message and leaves `cfg` unchanged;
 * an unreadable file is INTUNE_SCEP_E_CONFIG too. Files over 1 MiB are refused.
 */
INTUNE_SCEP_API int intune_scep_config_load_file(intune_scep_config *cfg, const char *path, intune_scep_error *err);

/** The environment variable prefix intune_scep_config_load_env uses when given NULL. */
#define INTUNE_SCEP_ENV_PREFIX "INTUNE_SCEP_"

/**
 * Set configuration keys from environment variables named `prefix` + key, e.g.
 * INTUNE_SCEP_AAD_APP_KEY for AAD_APP_KEY, so that a secret can stay out of the
 * configuration file. Only the keys listed at intune_scep_config_new are read;
 * other variables are left alone. A variable that is set wins over the key's
 * current value (call it after intune_scep_config_load_file for "file, then
 * environment overrides"); a variable set to the empty string sets the key to ""
 * (for an optional key: not set). `prefix` NULL means INTUNE_SCEP_ENV_PREFIX;
 * otherwise it must be non-empty letters, digits and '_'.
 *
 * The library never reads the environment on its own: only this call does, when
 * the application makes it. It reads with getenv(), so it must not run while
 * another thread changes the environment (setenv, putenv).
 *
 * All or nothing: a value that is not valid UTF-8 or holds a control character is
 * INTUNE_SCEP_E_CONFIG naming the variable (never the value), and `cfg` is left
 * unchanged. INTUNE_SCEP_E_INVALID_ARGUMENT for a NULL `cfg` or a bad `prefix`.
 */
INTUNE_SCEP_API int intune_scep_config_load_env(intune_scep_config *cfg, const char *prefix, intune_scep_error *err);

/* The keys this library knows, for applications that copy, list or redact them (a tool
 * that must never print a secret, a server that passes the library's keys on), so that
 * none keeps a list of its own. The table is fixed for a given library version; a newer
 * version may add keys (never remove one). Pure functions: any thread, any time. */

/** intune_scep_config_key_flags: the library reads this key (every key of the table). */
#define INTUNE_SCEP_CONFIG_KEY_KNOWN 1
/** intune_scep_config_key_flags: the key's value is a secret (AAD_APP_KEY, PROXY_PASS,
 *  AAD_CLIENT_KEY_PASSWORD, IDENTITY_HEADER): never printed, logged or echoed. */
#define INTUNE_SCEP_CONFIG_KEY_SECRET 2
/** intune_scep_config_key_flags: the key is retired: accepted, not used, warned about
 *  when a client is created (GRAPH_RESOURCE_URL, GRAPH_API_VERSION). */
#define INTUNE_SCEP_CONFIG_KEY_RETIRED 4

/** The number of configuration keys this library knows (those listed at intune_scep_config_new). */
INTUNE_SCEP_API size_t intune_scep_config_key_count(void);

/**
 * The name of known key number `index`, 0 to intune_scep_config_key_count() - 1, as it is
 * spelled in a file (case-sensitive); NULL for an index past the end. The string is static:
 * never free it. The order is fixed within a version but carries no meaning.
 */
INTUNE_SCEP_API const char *intune_scep_config_key_name(size_t index);

/**
 * What `key` is (case-sensitive, as in a file): INTUNE_SCEP_CONFIG_KEY_KNOWN, with
 * INTUNE_SCEP_CONFIG_KEY_SECRET and INTUNE_SCEP_CONFIG_KEY_RETIRED or'ed in where they
 * apply; 0 for a key this library does not know (it is then ignored and warned about)
 * and for NULL.
 */
INTUNE_SCEP_API int intune_scep_config_key_flags(const char *key);

/**
 * Route the log lines of clients created from this configuration to `fn`
 * (NULL: no logging, the default). Lines below `min_level` are not formatted.
 * Setting it here, before intune_scep_client_new, also captures the warnings
 * that creating the client produces (unknown and retired keys).
 */
INTUNE_SCEP_API void intune_scep_config_set_log_callback(intune_scep_config *cfg, intune_scep_log_fn fn,
                                                         void *userdata, int min_level);

/** Free a configuration, wiping every value. NULL is fine. */
INTUNE_SCEP_API void intune_scep_config_free(intune_scep_config *cfg);

/* ------------------------------------------------------------------------- */
/* Errors                                                                    */
/* ------------------------------------------------------------------------- */

/** A new, empty error object (status INTUNE_SCEP_OK), or NULL when out of memory. */
INTUNE_SCEP_API intune_scep_error *intune_scep_error_new(void);

/** Free an error object. NULL is fine. */
INTUNE_SCEP_API void intune_scep_error_free(intune_scep_error *err);

/** Return the error object to its empty state (every call that fills it does this first). */
INTUNE_SCEP_API void intune_scep_error_clear(intune_scep_error *err);

/** The status of the last call that filled this error (INTUNE_SCEP_OK when none failed). */
INTUNE_SCEP_API int intune_scep_error_status(const intune_scep_error *err);

/**
 * One line for a log or an exception: what failed, why, and the activity id.
 * Never holds a secret. "" when there is no error. Never NULL for a non-NULL err.
 */
INTUNE_SCEP_API const char *intune_scep_error_message(const intune_scep_error *err);

/**
 * The code as the service sent it: Intune's "code" (e.g. "ChallengeExpired") for
 * INTUNE_SCEP_E_REJECTED, the OAuth "error" (e.g. "invalid_client") for
 * INTUNE_SCEP_E_AUTH; NULL when there is none.
 */
INTUNE_SCEP_API const char *intune_scep_error_service_code(const intune_scep_error *err);

/** Intune's "errorDescription" or the identity platform's "error_description"; NULL when none. */
INTUNE_SCEP_API const char *intune_scep_error_description(const intune_scep_error *err);

/**
 * The activity id: the client-request-id UUID sent with the call (every attempt
 * of one call carries the same one). Intune support correlates by it. Set after
 * a failed call and after a successful call to Intune (status INTUNE_SCEP_OK),
 * so a CA can record it with the certificate; NULL when nothing was sent
 * (invalid argument, configuration).
 */
INTUNE_SCEP_API const char *intune_scep_error_activity_id(const intune_scep_error *err);

/** The transaction id of the failing SCEP call as the caller gave it, or NULL. */
INTUNE_SCEP_API const char *intune_scep_error_transaction_id(const intune_scep_error *err);

/** The HTTP status of the last answer of the failing call; 0 when there was no HTTP answer. */
INTUNE_SCEP_API long intune_scep_error_http_status(const intune_scep_error *err);

/** The body of a non-2xx (or untrusted 2xx) answer, capped at 4 KiB; NULL when none. */
INTUNE_SCEP_API const char *intune_scep_error_response_body(const intune_scep_error *err);

/**
 * The AADSTS number of an INTUNE_SCEP_E_AUTH error (e.g. 7000215 for an invalid
 * client secret: the first of the identity platform's "error_codes"); 0 when none.
 */
INTUNE_SCEP_API long intune_scep_error_aadsts_code(const intune_scep_error *err);

/* ------------------------------------------------------------------------- */
/* Client                                                                    */
/* ------------------------------------------------------------------------- */

/**
 * Create a client from `cfg` (which is copied: the config may be freed or changed
 * afterwards). Every key is validated here; an invalid configuration returns
 * INTUNE_SCEP_E_CONFIG with a message naming the key. Nothing is sent: tokens
 * and discovery happen on the first call that needs them.
 * On success *out holds the client; on failure *out is set to NULL.
 *
 * fork(): a client belongs to the process that created it. In a child after fork()
 * every call on the parent's client returns INTUNE_SCEP_E_INVALID_ARGUMENT (nothing is
 * sent: its connections and TLS sessions are the parent's), intune_scep_client_free
 * and intune_scep_client_set_log_callback do nothing, and the parent's client keeps
 * working in the parent. Create a new client in the child (from a configuration,
 * which may be used after fork()). A process that forks (a pre-forking server)
 * should create its clients in each worker after the fork.
 */
INTUNE_SCEP_API int intune_scep_client_new(const intune_scep_config *cfg, intune_scep_client **out,
                                           intune_scep_error *err);

/**
 * Free a client: waits for nothing, so no call may be running on it. Cached tokens
 * and the app key are wiped. NULL is fine. In a child after fork() it does nothing:
 * the client and its connections are the parent's (see intune_scep_client_new).
 */
INTUNE_SCEP_API void intune_scep_client_free(intune_scep_client *client);

/**
 * Replace the log sink of a live client (see intune_scep_config_set_log_callback).
 * Safe while other threads make calls; lines already being written may still go
 * to the previous sink until this returns.
 */
INTUNE_SCEP_API void intune_scep_client_set_log_callback(intune_scep_client *client, intune_scep_log_fn fn,
                                                         void *userdata, int min_level);

/**
 * Replace the client secret (AAD_APP_KEY) of a live client, as administrators
 * rotate it; cached tokens are dropped so the next call uses the new key.
 * Safe while other threads make calls. INTUNE_SCEP_E_INVALID_ARGUMENT when empty,
 * or when the client authenticates otherwise (a certificate, a federated token
 * or a managed identity: use intune_scep_client_update_credentials).
 */
INTUNE_SCEP_API int intune_scep_client_set_app_key(intune_scep_client *client, const char *app_key,
                                                   intune_scep_error *err);

/**
 * Swap the whole credential of a live client for the one `config` describes
 * (its AAD_APP_KEY, AAD_CLIENT_CERT_FILE/AAD_CLIENT_KEY_FILE/AAD_CLIENT_KEY_PASSWORD,
 * AAD_FEDERATED_TOKEN_FILE or AAD_MANAGED_IDENTITY with its endpoint keys; the
 * kind may change; exactly one must be set; other keys of `config` are ignored).
 * Atomic: the new credential is loaded and checked first (INTUNE_SCEP_E_CONFIG
 * naming the key at fault, the client unchanged), then swapped in and cached
 * tokens dropped. Calls in flight finish with the credential they started with.
 * Safe while other threads make calls. Available since 1.1.
 */
INTUNE_SCEP_API int intune_scep_client_update_credentials(intune_scep_client *client,
                                                          const intune_scep_config *config, intune_scep_error *err);

/**
 * The kind of credential the client uses now (an intune_scep_credential_kind),
 * or 0 for a NULL client. Available since 1.1.
 */
INTUNE_SCEP_API int intune_scep_client_credential_kind(intune_scep_client *client);

/**
 * For a certificate credential, its expiry (notAfter) in Unix seconds; 0 for
 * other kinds or a NULL client. A client logs a warning when it is created or
 * rotated with a certificate that expires within 30 days. Available since 1.1.
 */
INTUNE_SCEP_API int64_t intune_scep_client_certificate_expiry(intune_scep_client *client);

/**
 * Fetch a fresh token for `resource` (an intune_scep_resource) and give the
 * `roles` claim of its payload, decoded WITHOUT verifying the signature (for
 * diagnostics: which application permissions were granted), comma-separated
 * in *roles_out ("" when the token has none or is not a JWT), to be freed with
 * intune_scep_string_free. The token itself is never given out.
 * Available since 1.1.
 */
INTUNE_SCEP_API int intune_scep_client_token_roles(intune_scep_client *client, int resource, char **roles_out,
                                                   intune_scep_error *err);

/**
 * Fetch a fresh token for `resource` (an intune_scep_resource), bypassing and
 * then refreshing the cache. For diagnostics (`intune-scep check`); calls fetch
 * tokens by themselves. Returns INTUNE_SCEP_E_AUTH with the OAuth error, its
 * description and the AADSTS code when the identity platform refuses.
 */
INTUNE_SCEP_API int intune_scep_client_fetch_token(intune_scep_client *client, int resource,
                                                   intune_scep_error *err);

/**
 * Run service discovery now (dropping the cached map) and give the URI of
 * `service_name` (e.g. "ScepRequestValidationFEService", case-insensitive) in
 * *uri_out, to be freed with intune_scep_string_free. For diagnostics; calls
 * discover by themselves. INTUNE_SCEP_E_SERVICE_NOT_FOUND when discovery
 * answered without that service (the message lists the names found).
 */
INTUNE_SCEP_API int intune_scep_client_discover(intune_scep_client *client, const char *service_name,
                                                char **uri_out, intune_scep_error *err);

/** Free a string this library returned through an out-parameter (wiped first). NULL is fine. */
INTUNE_SCEP_API void intune_scep_string_free(char *s);

/* ------------------------------------------------------------------------- */
/* The three SCEP calls                                                       */
/* ------------------------------------------------------------------------- */

/**
 * Ask Intune whether `certificate_request` (the DER PKCS#10 CSR in base64, no PEM
 * armour, no line breaks) and the challenge inside it are genuine for the SCEP
 * transaction `transaction_id`.
 *
 * Returns INTUNE_SCEP_OK only when Intune answered "Success": issue the
 * certificate then, and never otherwise. INTUNE_SCEP_E_REJECTED carries Intune's
 * code (e.g. "SubjectNameMismatch") as the service code. Empty or missing
 * arguments return INTUNE_SCEP_E_INVALID_ARGUMENT naming the argument, before
 * anything is sent. A call retries by itself (MAX_RETRIES, inside TIMEOUT_MS).
 */
INTUNE_SCEP_API int intune_scep_validate_request(intune_scep_client *client, const char *transaction_id,
                                                 const char *certificate_request, intune_scep_error *err);

/**
 * Tell Intune the certificate was issued for `transaction_id`.
 * cert_thumbprint: SHA-1 of the certificate's DER in hex; cert_serial_number:
 * the serial in hex; cert_expiration_date: ISO 8601 UTC ("2027-06-11T16:11:20.000Z");
 * cert_issuing_authority: the issuer's name. ca_configuration and
 * certificate_authority are optional (NULL or "" sends JSON null).
 * intune_scep_cert_details_from_cert derives the four certificate fields.
 * Returns INTUNE_SCEP_OK only when Intune answered "Success"; when it did not,
 * the certificate should not be handed to the device.
 */
INTUNE_SCEP_API int intune_scep_send_success_notification(intune_scep_client *client, const char *transaction_id,
        const char *certificate_request, const char *cert_thumbprint, const char *cert_serial_number,
        const char *cert_expiration_date, const char *cert_issuing_authority,
        const char *ca_configuration, const char *certificate_authority,
        intune_scep_error *err);

/**
 * Tell Intune that issuing the certificate for `transaction_id` failed.
 * `hresult` is sent as the exact 64-bit integer given (0x80004005 given as an
 * unsigned 32-bit value stays 2147500037). `error_description` must be non-empty.
 */
INTUNE_SCEP_API int intune_scep_send_failure_notification(intune_scep_client *client, const char *transaction_id,
        const char *certificate_request, int64_t hresult, const char *error_description,
        intune_scep_error *err);

/**
 * Derive the fields of intune_scep_send_success_notification from `cert` and send
 * it: the same as calling intune_scep_cert_details_from_cert and then
 * intune_scep_send_success_notification. `cert` is PEM or DER, `cert_len` bytes.
 */
INTUNE_SCEP_API int intune_scep_send_success_notification_for_cert(intune_scep_client *client,
        const char *transaction_id, const char *certificate_request, const char *cert, size_t cert_len,
        const char *ca_configuration, const char *certificate_authority, intune_scep_error *err);

/* ------------------------------------------------------------------------- */
/* Certificate details                                                       */
/* ------------------------------------------------------------------------- */

/**
 * Parse an issued certificate (PEM or DER, `len` bytes) and derive the four
 * success-notification fields. INTUNE_SCEP_E_INVALID_ARGUMENT when it is not a
 * certificate. On success *out holds the details (free with
 * intune_scep_cert_details_free); on failure *out is NULL.
 */
INTUNE_SCEP_API int intune_scep_cert_details_from_cert(const char *cert, size_t len,
                                                       intune_scep_cert_details **out, intune_scep_error *err);

/** SHA-1 of the certificate's DER, 40 upper-case hex digits. */
INTUNE_SCEP_API const char *intune_scep_cert_details_thumbprint(const intune_scep_cert_details *d);
/** The serial number in upper-case hex, without leading zeros ("0" for zero). */
INTUNE_SCEP_API const char *intune_scep_cert_details_serial_number(const intune_scep_cert_details *d);
/** notAfter as ISO 8601 UTC with milliseconds, e.g. "2027-06-11T16:11:20.000Z". */
INTUNE_SCEP_API const char *intune_scep_cert_details_expiration_date(const intune_scep_cert_details *d);
/** The issuer's distinguished name, RFC 4514 string form, e.g. "CN=Contoso Issuing CA,O=Contoso". */
INTUNE_SCEP_API const char *intune_scep_cert_details_issuing_authority(const intune_scep_cert_details *d);
/** Free certificate details. NULL is fine. */
INTUNE_SCEP_API void intune_scep_cert_details_free(intune_scep_cert_details *d);

/**
 * Normalise a certificate request given as PEM ("-----BEGIN CERTIFICATE REQUEST-----"
 * or "NEW CERTIFICATE REQUEST"), DER, or base64 with or without line breaks into
 * the one-line base64 DER the SCEP calls take, after checking it parses as PKCS#10.
 * *out is freed with intune_scep_string_free. INTUNE_SCEP_E_INVALID_ARGUMENT when
 * it is not a certificate request.
 */
INTUNE_SCEP_API int intune_scep_csr_to_base64_der(const char *csr, size_t len, char **out, intune_scep_error *err);

/* ------------------------------------------------------------------------- */
/* Certificate request inspection                                             */
/* ------------------------------------------------------------------------- */

/** What a certificate request asks for (intune_scep_csr_info_parse). */
typedef struct intune_scep_csr_info intune_scep_csr_info;

/**
 * Read a certificate request (PEM, DER, or base64 with or without line breaks, `len`
 * bytes; up to 256 KiB) and give what it asks for: the challengePassword, the subject,
 * the SANs, the key, the signature hash, the requested key usage and EKUs, and
 * Intune's ValidityPeriod / ValidityPeriodUnits name-value pairs (attribute
 * 1.3.6.1.4.1.311.13.2.1). Nothing is sent anywhere; a SCEP server uses it to log a
 * request, to pick its validity, or to route it. INTUNE_SCEP_E_INVALID_ARGUMENT when
 * it is not a PKCS#10 request. On success *out holds the information (free with
 * intune_scep_csr_info_free); on failure *out is NULL. An unreadable extension is
 * reported as absent, never as a crash; the self-signature is checked and reported
 * (intune_scep_csr_info_signature_valid), not required.
 */
INTUNE_SCEP_API int intune_scep_csr_info_parse(const char *csr, size_t len, intune_scep_csr_info **out,
                                               intune_scep_error *err);
/** Free request information (the challenge is wiped). NULL is fine. */
INTUNE_SCEP_API void intune_scep_csr_info_free(intune_scep_csr_info *info);
/**
 * The challengePassword as UTF-8, or NULL when the request has none. It is the
 * device's one-time credential: do not log it.
 */
INTUNE_SCEP_API const char *intune_scep_csr_info_challenge_password(const intune_scep_csr_info *info);
/** The subject in RFC 4514 form (most significant RDN last, e.g. "CN=alice,O=Contoso"); "" when empty. */
INTUNE_SCEP_API const char *intune_scep_csr_info_subject(const intune_scep_csr_info *info);
/** How many subjectAltName entries the request holds (at most 256 are read). */
INTUNE_SCEP_API size_t intune_scep_csr_info_san_count(const intune_scep_csr_info *info);
/**
 * The type of SAN `i`: "email" (rfc822Name), "upn" (otherName 1.3.6.1.4.1.311.20.2.3),
 * "dns", "uri", "ip", "dirname" or "other" (the value is then the otherName's OID or "");
 * NULL when out of range.
 */
INTUNE_SCEP_API const char *intune_scep_csr_info_san_type(const intune_scep_csr_info *info, size_t i);
/** The value of SAN `i` as text (an IP address in dotted or colon form); NULL when out of range. */
INTUNE_SCEP_API const char *intune_scep_csr_info_san_value(const intune_scep_csr_info *info, size_t i);
/**
 * The SID of the strong-mapping URI SAN "tag:microsoft.com,2022-09-14:sid:<SID>"
 * (e.g. "S-1-5-21-..."), or NULL when the request has none.
 */
INTUNE_SCEP_API const char *intune_scep_csr_info_sid(const intune_scep_csr_info *info);
/** The key type: "RSA", "RSA-PSS", "EC", "Ed25519", "Ed448", "DSA" or "unknown". */
INTUNE_SCEP_API const char *intune_scep_csr_info_key_type(const intune_scep_csr_info *info);
/** The key size in bits (the modulus for RSA, the curve's size for EC); 0 when unknown. */
INTUNE_SCEP_API int intune_scep_csr_info_key_bits(const intune_scep_csr_info *info);
/** The hash of the request's signature, lower case: "sha1", "sha256", "sha384", "sha512"...; "unknown" when none. */
INTUNE_SCEP_API const char *intune_scep_csr_info_signature_hash(const intune_scep_csr_info *info);
/** 1 when the request's self-signature verifies with its own key, else 0. */
INTUNE_SCEP_API int intune_scep_csr_info_signature_valid(const intune_scep_csr_info *info);
/**
 * The requested key usage bits, comma-separated in RFC 5280 order with RFC 5280's
 * names ("digitalSignature,keyEncipherment"); "" for an extension with no bit set;
 * NULL when the request has no keyUsage extension.
 */
INTUNE_SCEP_API const char *intune_scep_csr_info_key_usage(const intune_scep_csr_info *info);
/** How many extended key usages the request asks for (at most 64 are read). */
INTUNE_SCEP_API size_t intune_scep_csr_info_eku_count(const intune_scep_csr_info *info);
/** EKU `i` as a dotted OID ("1.3.6.1.5.5.7.3.2"), or NULL when out of range. */
INTUNE_SCEP_API const char *intune_scep_csr_info_eku(const intune_scep_csr_info *info, size_t i);
/** The ValidityPeriod pair's value as sent ("Days", "Weeks", "Months", "Years"), or NULL. */
INTUNE_SCEP_API const char *intune_scep_csr_info_validity_period(const intune_scep_csr_info *info);
/** The ValidityPeriodUnits pair's value as sent ("1"), or NULL. */
INTUNE_SCEP_API const char *intune_scep_csr_info_validity_period_units(const intune_scep_csr_info *info);
/**
 * The requested validity in days from the two pairs (a week is 7 days, a month 30, a
 * year 365, hours rounded up to whole days); 0 when either pair is missing or unusable.
 */
INTUNE_SCEP_API int intune_scep_csr_info_validity_days(const intune_scep_csr_info *info);
/**
 * Everything above as one JSON object (keys subject, challenge_password, sans
 * [{type, value}], sid, key_type, key_bits, signature_hash, signature_valid,
 * key_usage, ekus, validity_period, validity_period_units, validity_days; absent
 * values are null). *out is freed with intune_scep_string_free.
 */
INTUNE_SCEP_API int intune_scep_csr_info_to_json(const intune_scep_csr_info *info, char **out,
                                                 intune_scep_error *err);

/* ------------------------------------------------------------------------- */
/* Revocation (PkiConnectorFEService, api-version PkiConnectorFEServiceVersion) */
/* ------------------------------------------------------------------------- */

/**
 * Download up to `max_requests` (1-500) revocation requests Intune queued for this
 * CA, only those of `issuer_name` when it is not NULL or "". On success *out holds
 * the list (free with intune_scep_revocation_requests_free); on failure *out is NULL.
 * Errors as for the SCEP calls (activity id, HTTP status, retries, deadline).
 */
INTUNE_SCEP_API int intune_scep_download_revocation_requests(intune_scep_client *client, int max_requests,
                                                             const char *issuer_name,
                                                             intune_scep_revocation_requests **out,
                                                             intune_scep_error *err);
/** How many requests the list holds. */
INTUNE_SCEP_API size_t intune_scep_revocation_requests_count(const intune_scep_revocation_requests *r);
/** The opaque requestContext of request `i` (echo it in the result), or NULL when out of range. */
INTUNE_SCEP_API const char *intune_scep_revocation_requests_request_context(const intune_scep_revocation_requests *r,
                                                                            size_t i);
/** The serial number of the certificate to revoke (as Intune sent it), or NULL when out of range. */
INTUNE_SCEP_API const char *intune_scep_revocation_requests_serial_number(const intune_scep_revocation_requests *r,
                                                                          size_t i);
/** The issuer name Intune sent ("" when none), or NULL when out of range. */
INTUNE_SCEP_API const char *intune_scep_revocation_requests_issuer_name(const intune_scep_revocation_requests *r,
                                                                        size_t i);
/** The CA configuration Intune sent, or NULL when none or out of range. */
INTUNE_SCEP_API const char *intune_scep_revocation_requests_ca_configuration(const intune_scep_revocation_requests *r,
                                                                             size_t i);
/** Free a list of revocation requests. NULL is fine. */
INTUNE_SCEP_API void intune_scep_revocation_requests_free(intune_scep_revocation_requests *r);

/** A new, empty set of revocation results, or NULL when out of memory. */
INTUNE_SCEP_API intune_scep_revocation_results *intune_scep_revocation_results_new(void);
/**
 * Add the result of one request: its `request_context`, whether the revocation
 * `succeeded`, and an `error_code` - "0" (or NULL) for a success; for a failure one of
 * "4000" NonRetryableServiceException, "4001" DataSerializationError, "4002"
 * ParameterDataInvalidError, "4003" CryptographyError, "4004" CertificateNotFoundError,
 * "4005" ConflictError, "4006" NotSupportedError, "4007" PayloadTooLargeError, "4100"
 * RetryableServiceException, "4101" ServiceUnavailableException, "4102"
 * ServiceTooBusyException, "4103" AuthenticationException - and an optional message.
 * INTUNE_SCEP_E_INVALID_ARGUMENT naming the argument when they do not fit together.
 */
INTUNE_SCEP_API int intune_scep_revocation_results_add(intune_scep_revocation_results *r, const char *request_context,
                                                       int succeeded, const char *error_code,
                                                       const char *error_message, intune_scep_error *err);
/** How many results the set holds. */
INTUNE_SCEP_API size_t intune_scep_revocation_results_count(const intune_scep_revocation_results *r);
/** Free a set of revocation results. NULL is fine. */
INTUNE_SCEP_API void intune_scep_revocation_results_free(intune_scep_revocation_results *r);
/**
 * Upload the results (at least one). INTUNE_SCEP_OK only when Intune answered
 * {"value": true}; {"value": false} is INTUNE_SCEP_E_REJECTED.
 */
INTUNE_SCEP_API int intune_scep_upload_revocation_results(intune_scep_client *client,
                                                          const intune_scep_revocation_results *results,
                                                          intune_scep_error *err);

/* ------------------------------------------------------------------------- */
/* Transport hook (opt-in)                                                   */
/* ------------------------------------------------------------------------- */

/**
 * The answer of one HTTP exchange performed by a transport callback: filled by
 * the callback through the intune_scep_transport_response_* functions, valid
 * only during the callback. Opaque.
 */
typedef struct intune_scep_transport_response intune_scep_transport_response;

/** Why a transport callback could not complete an exchange (intune_scep_transport_response_fail). */
typedef enum {
    INTUNE_SCEP_TRANSPORT_E_OTHER = 1, /**< anything else (final: not retried) */
    INTUNE_SCEP_TRANSPORT_E_RESOLVE,   /**< the host name could not be resolved (retried; a service URL is rediscovered) */
    INTUNE_SCEP_TRANSPORT_E_CONNECT,   /**< no connection could be made (retried; a service URL is rediscovered) */
    INTUNE_SCEP_TRANSPORT_E_TLS,       /**< the TLS handshake failed: trust, host name, client certificate (final) */
    INTUNE_SCEP_TRANSPORT_E_TIMEOUT,   /**< the timeout given to the callback passed (final: the deadline) */
    INTUNE_SCEP_TRANSPORT_E_CLOSED,    /**< the connection was cut before the whole answer arrived (retried) */
    INTUNE_SCEP_TRANSPORT_E_PROXY      /**< the proxy refused the tunnel; set its status first when known (final) */
} intune_scep_transport_failure;

/**
 * A transport callback: performs ONE HTTPS exchange and reports its outcome.
 * The library calls it instead of libcurl for every request of a client made
 * from a configuration that has one (intune_scep_config_set_transport): token,
 * discovery, SCEP and revocation requests alike. Everything around the exchange
 * stays in the library: tokens and their caches, discovery, retries, backoff,
 * Retry-After, the call's deadline, the 1 MiB cap, the activity id, the verdict
 * and the log lines. Redirects must not be followed.
 *
 *  - `method` is "GET" or "POST"; `url` is an https:// URL.
 *  - `headers` holds `header_count` complete request lines "Name: value" to
 *    send as they are. They include the Authorization line: it is a secret
 *    (never log it), and every string here is wiped after the callback returns.
 *  - `body` (`body_len` bytes; NULL for a GET) may hold a secret too (the
 *    client secret of a token request).
 *  - `connect_timeout_ms` bounds the connect (and TLS handshake);
 *    `timeout_ms` bounds the whole exchange: the call's deadline. An answer
 *    that arrives after it is discarded as a timeout.
 *  - Report an answer with intune_scep_transport_response_set_status (required),
 *    intune_scep_transport_response_add_header (Retry-After is the one the
 *    library reads) and intune_scep_transport_response_append_body, then return 0.
 *    Report a failure with intune_scep_transport_response_fail and return non-zero.
 *    Returning 0 without a status, or with a body over 1 MiB, is a failure.
 *
 * It runs on the thread that made the call, possibly on several threads at
 * once, and must not call back into the client. `userdata` is the pointer
 * given to intune_scep_config_set_transport.
 */
typedef int (*intune_scep_transport_fn)(void *userdata, const char *method, const char *url,
                                        const char *const *headers, size_t header_count, const char *body,
                                        size_t body_len, long connect_timeout_ms, long timeout_ms,
                                        intune_scep_transport_response *response);

/**
 * Make clients created from this configuration perform their HTTPS exchanges
 * through `fn` instead of libcurl (NULL: libcurl, the default). `userdata` is
 * passed to every call and must stay valid as long as such a client lives.
 * TLS_CA_FILE and PROXY_* are then the callback's business (the library still
 * validates them). Binding layers use it to bring a platform's TLS stack
 * (e.g. a Java SSLSocketFactory).
 */
INTUNE_SCEP_API void intune_scep_config_set_transport(intune_scep_config *cfg, intune_scep_transport_fn fn,
                                                      void *userdata);

/**
 * The HTTP status of the answer (100-599). INTUNE_SCEP_E_INVALID_ARGUMENT
 * for a NULL response or a status out of range (the exchange then fails).
 */
INTUNE_SCEP_API int intune_scep_transport_response_set_status(intune_scep_transport_response *response, long status);

/**
 * One header of the answer (`name` without the colon). Only those the library
 * reads are kept (Retry-After); others are accepted and ignored.
 * INTUNE_SCEP_E_INVALID_ARGUMENT for a NULL argument.
 */
INTUNE_SCEP_API int intune_scep_transport_response_add_header(intune_scep_transport_response *response,
                                                              const char *name, const char *value);

/**
 * Append `len` bytes to the body of the answer. INTUNE_SCEP_E_PROTOCOL once the
 * body would pass 1 MiB: stop reading then (the exchange fails as an oversized
 * answer, whatever the callback returns). INTUNE_SCEP_E_NOMEM when out of memory.
 */
INTUNE_SCEP_API int intune_scep_transport_response_append_body(intune_scep_transport_response *response,
                                                               const char *data, size_t len);

/**
 * Record why the exchange failed: `kind` is an intune_scep_transport_failure,
 * `message` one line for the error message (no secret; NULL allowed; cut at
 * 255 bytes). The callback then returns non-zero.
 */
INTUNE_SCEP_API void intune_scep_transport_response_fail(intune_scep_transport_response *response, int kind,
                                                         const char *message);

#ifdef __cplusplus
}
#endif

#endif /* INTUNE_SCEP_H */
