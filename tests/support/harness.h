/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h - the C test harness of intune-scep.
 *
 * A minimal test runner (checks that print file:line and never a secret), the
 * Intune emulator as a child process with a client for its control API, helpers
 * that build library configurations and capture log lines, and an OpenSSL 3
 * "device" (certificate requests) and "CA" (issued certificates).
 *
 * The control-API client uses libcurl directly: it is the test's own plumbing,
 * never a stand-in for the library under test.
 */
#ifndef INTUNE_SCEP_TEST_HARNESS_H
#define INTUNE_SCEP_TEST_HARNESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "intune_scep.h"

/* ------------------------------------------------------------------------- */
/* Runner                                                                     */
/* ------------------------------------------------------------------------- */

/** One test: a name (selectable on the command line) and its body. */
typedef struct th_test {
    const char *name;
    void (*fn)(void);
} th_test;

/**
 * Run `tests` (all, or those whose names are given as arguments), calling
 * `setup` once before and `teardown` once after (either may be NULL). Prints one
 * line per test and a summary; returns the process exit code (0 = all passed).
 */
int th_run(int argc, char **argv, const th_test *tests, size_t count, void (*setup)(void), void (*teardown)(void));

/** Record a failure at file:line; the formatted text is redacted before it is printed. */
void th_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Abort the current test (after a failure was recorded). */
void th_abort_test(void) __attribute__((noreturn));
/** Print an informational line (redacted) under the current test. */
void th_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Register a secret: it is replaced by "<redacted>" in everything the harness prints. */
void th_register_secret(const char *secret);
/** Copy `in` into a new string with every registered secret and bearer token redacted. */
char *th_redact(const char *in);

/** Multiply wall-clock allowances when running under valgrind (TH_TIME_SCALE). */
double th_time_scale(void);
/** Monotonic milliseconds. */
int64_t th_now_ms(void);
/** Sleep `ms` milliseconds. */
void th_sleep_ms(long ms);

#define TH_STR_(x) #x
#define TH_STR(x) TH_STR_(x)

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) th_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
    } while (0)

#define REQUIRE(cond)                                                         \
    do {                                                                      \
        if (!(cond)) {                                                        \
            th_fail(__FILE__, __LINE__, "REQUIRE(%s) failed", #cond);         \
            th_abort_test();                                                  \
        }                                                                     \
    } while (0)

#define CHECK_INT(a, b)                                                                          \
    do {                                                                                         \
        long long th_a_ = (long long)(a), th_b_ = (long long)(b);                                \
        if (th_a_ != th_b_)                                                                      \
            th_fail(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", #a, #b, th_a_, th_b_);  \
    } while (0)

#define CHECK_STR(a, b) th_check_str(__FILE__, __LINE__, #a, (a), (b))
#define CHECK_CONTAINS(hay, needle) th_check_contains(__FILE__, __LINE__, #hay, (hay), (needle), 1)
#define CHECK_NOT_CONTAINS(hay, needle) th_check_contains(__FILE__, __LINE__, #hay, (hay), (needle), 0)
/** Check a status and, when it differs, print both names and the error's message. */
#define CHECK_STATUS(rc, want, err) th_check_status(__FILE__, __LINE__, #rc, (rc), (want), (err))
#define REQUIRE_STATUS(rc, want, err)                                          \
    do {                                                                       \
        if (!th_check_status(__FILE__, __LINE__, #rc, (rc), (want), (err)))    \
            th_abort_test();                                                   \
    } while (0)

int th_check_str(const char *file, int line, const char *expr, const char *got, const char *want);
int th_check_contains(const char *file, int line, const char *expr, const char *hay, const char *needle, int want);
int th_check_status(const char *file, int line, const char *expr, int got, int want, const intune_scep_error *err);

/* ------------------------------------------------------------------------- */
/* Emulator                                                                   */
/* ------------------------------------------------------------------------- */

/** A running emulator child process and a control-API connection to it. */
typedef struct th_emu {
    pid_t pid;
    int stdin_fd;          /* kept open: its EOF stops the emulator */
    char *base_url;        /* "https://127.0.0.1:PORT/" */
    char *control_url;     /* base_url + "_emulator/" */
    char *ca_file;         /* the emulator's CA (PEM) */
    char *log_path;        /* the emulator's stderr */
    cJSON *config;         /* the complete client configuration it printed */
    char *managed_identity_url; /* "http://127.0.0.1:PORT/": the plain-http managed-identity endpoints */
    char *identity_header; /* the App Service style X-IDENTITY-HEADER value (a secret) */
    void *curl;            /* control-API handle */
    char *tls_name;        /* --server-cert-hostname: the control API is reached by this name */
    char *resolve;         /* "name:port:127.0.0.1" for CURLOPT_RESOLVE, or NULL */
    pthread_mutex_t mu;
} th_emu;

/**
 * Start `python3 -m intune_scep.emulator --port 0 --exit-on-stdin-eof` plus
 * `extra_args` (NULL-terminated, may be NULL) and read its JSON line.
 * Aborts the current test (or the process, outside a test) when it does not start.
 */
th_emu *th_emu_start(const char *const *extra_args);
/** Stop the emulator (stdin EOF, then SIGTERM, then SIGKILL) and free everything. */
void th_emu_stop(th_emu *emu);

/**
 * One control-API call: `method` on control_url + `path` with an optional JSON
 * body. Returns the parsed answer (caller frees) or NULL; *status gets the HTTP status.
 */
cJSON *th_emu_call(th_emu *emu, const char *method, const char *path, const char *json_body, long *status);
/** POST /_emulator/reset and clear the token cache of nothing else; REQUIREs success. */
void th_emu_reset(th_emu *emu);
/** Every recorded request (all endpoints when `endpoint` is NULL), a new cJSON array. */
cJSON *th_emu_requests(th_emu *emu, const char *endpoint);
/** How many requests to `endpoint` (NULL: all) were recorded. */
int th_emu_request_count(th_emu *emu, const char *endpoint);
/** GET /_emulator/stats (caller frees). */
cJSON *th_emu_stats(th_emu *emu);
/** stats.token_requests[resource] ("graph" or "intune"). */
long th_emu_token_requests(th_emu *emu, const char *resource);
/** stats.connections. */
long th_emu_connections(th_emu *emu);
/** POST /_emulator/faults with `fault_json`; REQUIREs success. */
void th_emu_fault(th_emu *emu, const char *fault_json);
/** Convenience: a `respond` fault on `endpoint` answering `status` with `body`, `times` times. */
void th_emu_fault_respond(th_emu *emu, const char *endpoint, int status, const char *body, int times);
/** POST /_emulator/settings with `json`; REQUIREs success. */
void th_emu_settings(th_emu *emu, const char *json);
/** POST /_emulator/tokens/expire. */
void th_emu_expire_tokens(th_emu *emu);
/** POST /_emulator/move_endpoint; returns the new uri (malloc'd). */
char *th_emu_move_endpoint(th_emu *emu, const char *service);
/** POST /_emulator/challenges with a profile; returns the challenge (malloc'd), profile id in *profile_id if non-NULL. */
char *th_emu_challenge(th_emu *emu, const char *profile_json, char **profile_id);
/** GET /_emulator/notifications (caller frees). */
cJSON *th_emu_notifications(th_emu *emu);
/** The value of a config key the emulator printed, or NULL. */
const char *th_emu_cfg(th_emu *emu, const char *key);

/** Header `name` (lower case) of a recorded request, or NULL. */
const char *th_req_header(const cJSON *req, const char *name);
/** Body text of a recorded request, or NULL. */
const char *th_req_body(const cJSON *req);
/** The i-th item of a cJSON array (NULL when out of range). */
const cJSON *th_item(const cJSON *arr, int i);
/** Object member string value, or NULL. */
const char *th_json_str(const cJSON *obj, const char *name);

/* ------------------------------------------------------------------------- */
/* Listeners that never answer as a server should (failed connects)          */
/* ------------------------------------------------------------------------- */

typedef enum {
    TH_LISTEN_STALL,     /* accepts and holds the connection, never sends a byte: the TLS handshake stalls */
    TH_LISTEN_BLACKHOLE, /* a full backlog: the TCP handshake never completes (SYNs are dropped) */
    TH_LISTEN_RESET,     /* accepts, reads the ClientHello, resets the connection */
} th_listen_kind;
typedef struct th_listener th_listener;

/** Start a listener on 127.0.0.1 (an ephemeral port); REQUIREs success. */
th_listener *th_listener_start(th_listen_kind kind);
int th_listener_port(const th_listener *l);
/** Connections accepted so far (always 0 for TH_LISTEN_BLACKHOLE). */
long th_listener_accepted(th_listener *l);
/** "https://127.0.0.1:PORT/" + path (malloc'd). */
char *th_listener_uri(const th_listener *l, const char *path);
/** Close every connection and the listener, free it (NULL is fine). */
void th_listener_stop(th_listener *l);

/* ------------------------------------------------------------------------- */
/* Log capture and client configuration                                      */
/* ------------------------------------------------------------------------- */

/** Captured log lines (thread-safe). */
typedef struct th_log {
    pthread_mutex_t mu;
    char **lines;
    int *levels;
    size_t n, cap;
} th_log;

void th_log_init(th_log *log);
void th_log_clear(th_log *log);
void th_log_destroy(th_log *log);
/** The intune_scep_log_fn: userdata is a th_log. */
void th_log_cb(void *userdata, int level, const char *message);
/** Lines at `level` or above that contain every one of the NULL-terminated substrings. */
size_t th_log_count(th_log *log, int min_level, ...);
/** Fail (at file:line) if any captured line contains `secret`; never prints the secret. */
void th_log_check_no_secret(const char *file, int line, th_log *log, const char *secret, const char *what);
#define CHECK_LOG_NO_SECRET(log, secret, what) th_log_check_no_secret(__FILE__, __LINE__, (log), (secret), (what))
/** Print the captured lines (redacted), for diagnosis after a failure. */
void th_log_dump(th_log *log);

/**
 * A configuration holding every key the emulator printed, then the NULL-terminated
 * key/value pairs of `overrides` (a NULL value removes the key), with the log
 * callback routed to `log` (may be NULL) at DEBUG.
 */
intune_scep_config *th_emu_config(th_emu *emu, th_log *log, const char *const *overrides);
/** th_emu_config + intune_scep_client_new; REQUIREs success. */
intune_scep_client *th_emu_client(th_emu *emu, th_log *log, const char *const *overrides);

/** Every distinct bearer token the emulator recorded (a cJSON array of strings). */
cJSON *th_emu_seen_tokens(th_emu *emu);
/** Fail if `text` holds the app key or any bearer token the emulator saw. */
void th_check_no_secrets_in(const char *file, int line, th_emu *emu, const char *text, const char *what);
#define CHECK_NO_SECRETS(emu, text, what) th_check_no_secrets_in(__FILE__, __LINE__, (emu), (text), (what))

/** True when `s` is a lower- or upper-case RFC 4122 UUID string (8-4-4-4-12 hex). */
int th_is_uuid(const char *s);

/* ------------------------------------------------------------------------- */
/* Device CSRs and a test CA (OpenSSL 3)                                      */
/* ------------------------------------------------------------------------- */

#define TH_KU_DIGITAL_SIGNATURE 0x1u
#define TH_KU_KEY_ENCIPHERMENT 0x2u

/** What a device puts into its certificate request. */
typedef struct th_csr_spec {
    const char *subject;        /* RFC 4514 ("CN=alice,O=Contoso", most significant last), no escapes */
    const char *challenge;      /* challengePassword attribute; NULL: none */
    const char *san_emails[4];  /* rfc822Name */
    const char *san_upns[4];    /* otherName 1.3.6.1.4.1.311.20.2.3 (UTF8String) */
    const char *san_dns[4];     /* dNSName */
    unsigned key_usage;         /* TH_KU_* bits; 0: no extension */
    const char *ekus[4];        /* dotted OIDs */
    int key_bits;               /* 1024 or 2048 (0: 2048) */
    const char *hash;           /* "sha1" or "sha256" (NULL: sha256) */
} th_csr_spec;

/** A built certificate request. */
typedef struct th_csr {
    X509_REQ *req;
    EVP_PKEY *key;              /* owned (a reference) */
    unsigned char *der;         /* OPENSSL_malloc'd */
    size_t der_len;
    char *b64;                  /* one-line base64 of der */
    char *pem;
} th_csr;

/**
 * Build a CSR (REQUIREs success) by the emulator's device module: POST device/csr on an
 * emulator this process starts on first use (and stops at exit). RSA keys are made once
 * per size by that emulator and reused.
 */
th_csr *th_csr_build(const th_csr_spec *spec);
void th_csr_free(th_csr *csr);

/**
 * POST /_emulator/device/csr with `request_json` (a profile and what the device changes,
 * see docs/emulator.md): the request and key the emulator built (REQUIREs success).
 * *challenge and *profile_id, when not NULL, get the answer's (malloc'd; NULL when none).
 */
th_csr *th_emu_csr(th_emu *emu, const char *request_json, char **challenge, char **profile_id);

/**
 * A device CSR the emulator validates as Success: a challenge for the profile
 * {"subject": subject} and a request with that subject and challenge (RSA 2048, SHA-256),
 * both from POST device/csr.
 */
th_csr *th_emu_device_csr(th_emu *emu, const char *subject);

/** `relative` under the source tree (INTUNE_SCEP_SOURCE_DIR, else the configured one); malloc'd. */
char *th_source_path(const char *relative);

/** A throwaway certificate authority. */
typedef struct th_ca {
    EVP_PKEY *key;
    X509 *cert;
} th_ca;

/** A self-signed CA with subject CN=`cn`,O=Intune SCEP Tests. */
th_ca *th_ca_new(const char *cn);
void th_ca_free(th_ca *ca);
/** Issue a certificate for `csr` (its subject, key and extensions), valid `days` days. */
X509 *th_ca_issue(th_ca *ca, const th_csr *csr, int days);
/** PEM of a certificate (malloc'd, NUL-terminated). */
char *th_cert_pem(X509 *cert);
/** DER of a certificate (malloc'd), length in *len. */
unsigned char *th_cert_der(X509 *cert, size_t *len);
/** Upper-case hex SHA-1 of the DER (malloc'd). */
char *th_cert_sha1_hex(X509 *cert);
/** Write a PEM file containing each certificate of `certs` (NULL-terminated). */
void th_write_pem_bundle(const char *path, X509 *const *certs);
/** Read a whole file (malloc'd, NUL-terminated), length in *len (may be NULL); NULL on error. */
char *th_read_file(const char *path, size_t *len);
/** Write `len` bytes to `path`; REQUIREs success. */
void th_write_file(const char *path, const void *data, size_t len);
/** A directory for this process's temporary files (created on first use). */
const char *th_tmpdir(void);

/** malloc'd printf. */
char *th_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
