/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault matrix: one table, each row a fault the Intune emulator plays on one
 * step of a SCEP call (token, discovery, validateRequest, successNotification,
 * failureNotification) and the outcome the caller must see.
 *
 * Every fault is permanent for the row (times 0), so no retry can rescue the
 * call, and every row asserts:
 *   - the status class of the row (and the HTTP status / service code when given);
 *   - never INTUNE_SCEP_OK: the certificate must not be issued or handed out;
 *   - the error carries the call's activity id (a UUID) and its transaction id;
 *   - the call returned within TIMEOUT_MS plus a margin (and faster when the row
 *     says so, e.g. a Retry-After beyond the deadline fails at once);
 *   - no secret (the app key, any bearer token the emulator saw) in the message,
 *     the description, the response body copy, or any log line.
 *
 * Rows are grouped into one test per step (`test_fault_matrix token` runs only
 * the token rows); MATRIX_ROW=<substring> runs only the rows whose name holds it.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define APP_SECRET "Harden~AppSecret+/=7Kq2vX9wLm4pRt8z"
#define TIMEOUT_MS 2000
#define MARGIN_MS 1500

static th_emu *emu;
static th_csr *csr;
static char other_ca_file[512];

/* Special set-ups a row may need besides its fault. */
enum {
    SP_NONE = 0,
    SP_REFUSED_AUTHORITY,  /* AUTH_AUTHORITY is a closed port */
    SP_UNTRUSTED,          /* TLS_CA_FILE holds another CA */
    SP_WRONG_HOST,         /* an emulator whose certificate names another host */
};

typedef struct {
    const char *name;
    const char *step;  /* the endpoint the fault sits on; also decides the call made */
    const char *fault; /* fault JSON ({HTTP_URL} {DATE+1} {CLOSED_URI} {BASE} {STALL_URI} {BLACKHOLE_URI} {RESET_URI}
                        * substituted), NULL for none */
    int special;
    int want_status;
    long want_http;        /* -1: not checked */
    const char *want_code; /* service code, NULL: not checked */
    long max_ms;           /* 0: TIMEOUT_MS + MARGIN_MS */
    int want_requests;     /* requests the emulator saw on the faulted endpoint; -1: not checked (time-bound rows) */
} row_t;

#define AAD_ERR(code, n) \
    "{\\\"error\\\":\\\"" code "\\\",\\\"error_description\\\":\\\"AADSTS" #n ": refused.\\\",\\\"error_codes\\\":[" #n "]}"
#define RESPOND(ep, st, body) "{\"endpoint\":\"" ep "\",\"times\":0,\"status\":" #st ",\"body\":\"" body "\"}"
#define RESPOND_H(ep, st, hdrs) "{\"endpoint\":\"" ep "\",\"times\":0,\"status\":" #st ",\"headers\":" hdrs "}"
#define ACTION(ep, act) "{\"endpoint\":\"" ep "\",\"times\":0,\"action\":\"" act "\"}"
#define REDIRECT(ep, st, loc) "{\"endpoint\":\"" ep "\",\"times\":0,\"action\":\"redirect\",\"status\":" #st ",\"body\":\"" loc "\"}"
#define OK200(ep, body) "{\"endpoint\":\"" ep "\",\"times\":0,\"status\":200,\"body\":\"" body "\"}"

#define AUTH INTUNE_SCEP_E_AUTH
#define HTTP INTUNE_SCEP_E_HTTP
#define TRANSPORT INTUNE_SCEP_E_TRANSPORT
#define PROTOCOL INTUNE_SCEP_E_PROTOCOL
#define REJECTED INTUNE_SCEP_E_REJECTED
#define NOTFOUND INTUNE_SCEP_E_SERVICE_NOT_FOUND

#define SCEP_URI_OK "https://127.0.0.1/ScepRequestValidationFEService"

static const row_t ROWS[] = {
    /* ---- token (the identity platform) ---- */
    {"token 400 invalid_request", "token", RESPOND("token", 400, AAD_ERR("invalid_request", 90002)), 0, AUTH, 400, "invalid_request", 0, 1},
    {"token 401 invalid_client", "token", RESPOND("token", 401, AAD_ERR("invalid_client", 7000215)), 0, AUTH, 401, "invalid_client", 0, 1},
    {"token 403", "token", RESPOND("token", 403, AAD_ERR("access_denied", 50105)), 0, AUTH, 403, "access_denied", 0, 1},
    {"token 404", "token", RESPOND("token", 404, ""), 0, AUTH, 404, NULL, 0, 1},
    {"token 429 without Retry-After", "token", RESPOND("token", 429, ""), 0, AUTH, 429, NULL, 0, 3},
    {"token 429 Retry-After seconds", "token", RESPOND_H("token", 429, "{\"Retry-After\":\"1\"}"), 0, AUTH, 429, NULL, 0, 2},
    {"token 500", "token", RESPOND("token", 500, ""), 0, AUTH, 500, NULL, 0, 3},
    {"token 502", "token", RESPOND("token", 502, "<html>Bad Gateway</html>"), 0, AUTH, 502, NULL, 0, 3},
    {"token 503 Retry-After HTTP date", "token", RESPOND_H("token", 503, "{\"Retry-After\":\"{DATE+1}\"}"), 0, AUTH, 503, NULL, 0, -1},
    {"token 504", "token", RESPOND("token", 504, ""), 0, AUTH, 504, NULL, 0, 3},
    {"token reset before the status line", "token", ACTION("token", "reset"), 0, TRANSPORT, 0, NULL, 0, 3},
    {"token reset after the headers", "token", ACTION("token", "reset_after_headers"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"token no answer (deadline)", "token", ACTION("token", "hang"), 0, TRANSPORT, 0, NULL, 0, -1},
    {"token drip of one byte per second", "token", ACTION("token", "drip"), 0, TRANSPORT, -1, NULL, 0, -1},
    {"token body shorter than Content-Length", "token", ACTION("token", "short_body"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"token body over 1 MiB", "token", ACTION("token", "oversize"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"token 200 not JSON", "token", OK200("token", "<html>hello</html>"), 0, AUTH, -1, NULL, 0, 1},
    {"token 200 JSON array", "token", OK200("token", "[1,2]"), 0, AUTH, -1, NULL, 0, 1},
    {"token 200 JSON string", "token", OK200("token", "\\\"token\\\""), 0, AUTH, -1, NULL, 0, 1},
    {"token 200 without access_token", "token", OK200("token", "{\\\"token_type\\\":\\\"Bearer\\\",\\\"expires_in\\\":3599}"), 0, AUTH, -1, NULL, 0, 1},
    /* Answers that say two things at once: a duplicated member name, an escaped or raw NUL (never read, PROTOCOL). */
    {"token 200 access_token twice", "token", OK200("token", "{\\\"token_type\\\":\\\"Bearer\\\",\\\"expires_in\\\":3599,\\\"access_token\\\":\\\"EmuTok-not-issued-1\\\",\\\"access_token\\\":\\\"EmuTok-not-issued-2\\\"}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"token 200 expires_in twice", "token", OK200("token", "{\\\"token_type\\\":\\\"Bearer\\\",\\\"expires_in\\\":3599,\\\"expires_in\\\":\\\"0\\\",\\\"access_token\\\":\\\"EmuTok-not-issued\\\"}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"token 200 NUL escape in access_token", "token", OK200("token", "{\\\"token_type\\\":\\\"Bearer\\\",\\\"expires_in\\\":3599,\\\"access_token\\\":\\\"EmuTok-a\\\\u0000b\\\"}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"token 200 NUL escape in a member name", "token", OK200("token", "{\\\"token_type\\\":\\\"Bearer\\\",\\\"expires_in\\\\u0000x\\\":1,\\\"expires_in\\\":3599,\\\"access_token\\\":\\\"EmuTok-x\\\"}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"token 400 error twice", "token", RESPOND("token", 400, "{\\\"error\\\":\\\"invalid_client\\\",\\\"error\\\":\\\"Success\\\"}"), 0, PROTOCOL, 400, NULL, 0, 1},
    {"token 400 error Success", "token", RESPOND("token", 400, "{\\\"error\\\":\\\"Success\\\",\\\"error_description\\\":\\\"AADSTS7000215: refused.\\\"}"), 0, AUTH, 400, NULL, 0, 1},
    {"token 302 to http:// not followed", "token", REDIRECT("token", 302, "{HTTP_URL}"), 0, AUTH, 302, NULL, 0, 1},
    {"token connection refused", "token", NULL, SP_REFUSED_AUTHORITY, TRANSPORT, 0, NULL, 0, 0},
    {"token untrusted certificate", "token", NULL, SP_UNTRUSTED, TRANSPORT, 0, NULL, 0, 0},
    {"token certificate for another host", "token", NULL, SP_WRONG_HOST, TRANSPORT, 0, NULL, 0, 0},

    /* ---- discovery (Microsoft Graph) ---- */
    {"discovery 400", "discovery", RESPOND("discovery", 400, "{\\\"error\\\":{\\\"code\\\":\\\"BadRequest\\\",\\\"message\\\":\\\"no\\\"}}"), 0, HTTP, 400, "BadRequest", 0, 1},
    {"discovery 401 (token refreshed once)", "discovery", RESPOND("discovery", 401, ""), 0, HTTP, 401, NULL, 0, 2},
    {"discovery 403", "discovery", RESPOND("discovery", 403, "{\\\"error\\\":{\\\"code\\\":\\\"Authorization_RequestDenied\\\",\\\"message\\\":\\\"Insufficient privileges\\\"}}"), 0, HTTP, 403, "Authorization_RequestDenied", 0, 1},
    {"discovery 404", "discovery", RESPOND("discovery", 404, ""), 0, HTTP, 404, NULL, 0, 1},
    {"discovery 429 Retry-After seconds", "discovery", RESPOND_H("discovery", 429, "{\"Retry-After\":\"1\"}"), 0, HTTP, 429, NULL, 0, 2},
    {"discovery 500", "discovery", RESPOND("discovery", 500, ""), 0, HTTP, 500, NULL, 0, 3},
    {"discovery 503", "discovery", RESPOND("discovery", 503, ""), 0, HTTP, 503, NULL, 0, 3},
    {"discovery reset before the status line", "discovery", ACTION("discovery", "reset"), 0, TRANSPORT, 0, NULL, 0, 3},
    {"discovery no answer (deadline)", "discovery", ACTION("discovery", "hang"), 0, TRANSPORT, 0, NULL, 0, -1},
    {"discovery body over 1 MiB", "discovery", ACTION("discovery", "oversize"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 200 not JSON", "discovery", OK200("discovery", "not json"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 200 value missing", "discovery", OK200("discovery", "{\\\"values\\\":[]}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 200 value a string", "discovery", OK200("discovery", "{\\\"value\\\":\\\"x\\\"}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 200 JSON array", "discovery", OK200("discovery", "[]"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery without the SCEP service", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"providerName\\\":\\\"PkiConnectorFEService\\\",\\\"uri\\\":\\\"https://127.0.0.1/Pki\\\"}]}"), 0, NOTFOUND, -1, NULL, 0, 1},
    {"discovery gives an http:// URI", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"providerName\\\":\\\"ScepRequestValidationFEService\\\",\\\"uri\\\":\\\"{HTTP_URL}\\\"}]}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 302 to http:// not followed", "discovery", REDIRECT("discovery", 302, "{HTTP_URL}"), 0, HTTP, 302, NULL, 0, 1},
    {"discovery reset after the headers", "discovery", ACTION("discovery", "reset_after_headers"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"discovery drip of one byte per second", "discovery", ACTION("discovery", "drip"), 0, TRANSPORT, -1, NULL, 0, -1},
    {"discovery body shorter than Content-Length", "discovery", ACTION("discovery", "short_body"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"discovered URI connection refused", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"serviceName\\\":\\\"ScepRequestValidationFEService\\\",\\\"uri\\\":\\\"{CLOSED_URI}\\\"}]}"), 0, TRANSPORT, 0, NULL, 0, 2},
    /* failed connects on which nothing was sent: one rediscovery, like a refused connection */
    {"discovered URI TLS handshake stalls", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"serviceName\\\":\\\"ScepRequestValidationFEService\\\",\\\"uri\\\":\\\"{STALL_URI}\\\"}]}"), 0, TRANSPORT, 0, NULL, 0, 2},
    {"discovered URI TCP handshake black-holed", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"serviceName\\\":\\\"ScepRequestValidationFEService\\\",\\\"uri\\\":\\\"{BLACKHOLE_URI}\\\"}]}"), 0, TRANSPORT, 0, NULL, 0, 2},
    {"discovered URI reset in the TLS handshake", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"serviceName\\\":\\\"ScepRequestValidationFEService\\\",\\\"uri\\\":\\\"{RESET_URI}\\\"}]}"), 0, TRANSPORT, 0, NULL, 0, 2},
    {"discovery 200 uri twice", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"providerName\\\":\\\"ScepRequestValidationFEService\\\",\\\"uri\\\":\\\"https://127.0.0.1:1/a\\\",\\\"uri\\\":\\\"https://127.0.0.1:1/b\\\"}]}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 200 NUL escape in providerName", "discovery", OK200("discovery", "{\\\"value\\\":[{\\\"providerName\\\":\\\"ScepRequestValidationFEService\\\\u0000x\\\",\\\"uri\\\":\\\"https://127.0.0.1:1/a\\\"}]}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 200 value twice", "discovery", OK200("discovery", "{\\\"value\\\":[],\\\"value\\\":[{\\\"providerName\\\":\\\"ScepRequestValidationFEService\\\",\\\"uri\\\":\\\"https://127.0.0.1:1/a\\\"}]}"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"discovery 403 code twice", "discovery", RESPOND("discovery", 403, "{\\\"error\\\":{\\\"code\\\":\\\"Authorization_RequestDenied\\\",\\\"code\\\":\\\"Success\\\",\\\"message\\\":\\\"no\\\"}}"), 0, PROTOCOL, 403, NULL, 0, 1},

    /* ---- validateRequest ---- */
    {"validate 400", "validateRequest", RESPOND("validateRequest", 400, "{\\\"error\\\":{\\\"code\\\":\\\"BadRequest\\\",\\\"message\\\":\\\"shape\\\"}}"), 0, HTTP, 400, "BadRequest", 0, 1},
    {"validate 401 (token refreshed once)", "validateRequest", RESPOND("validateRequest", 401, ""), 0, HTTP, 401, NULL, 0, 2},
    {"validate 403", "validateRequest", RESPOND("validateRequest", 403, ""), 0, HTTP, 403, NULL, 0, 1},
    {"validate 404 (rediscovered once)", "validateRequest", RESPOND("validateRequest", 404, ""), 0, HTTP, 404, NULL, 0, 2},
    {"validate 429 without Retry-After", "validateRequest", RESPOND("validateRequest", 429, ""), 0, HTTP, 429, NULL, 0, 3},
    {"validate 429 Retry-After seconds", "validateRequest", RESPOND_H("validateRequest", 429, "{\"Retry-After\":\"1\"}"), 0, HTTP, 429, NULL, 0, 2},
    {"validate 429 Retry-After HTTP date", "validateRequest", RESPOND_H("validateRequest", 429, "{\"Retry-After\":\"{DATE+1}\"}"), 0, HTTP, 429, NULL, 0, -1},
    {"validate 429 Retry-After beyond the deadline", "validateRequest", RESPOND_H("validateRequest", 429, "{\"Retry-After\":\"3600\"}"), 0, HTTP, 429, NULL, 1000, 1},
    {"validate 500", "validateRequest", RESPOND("validateRequest", 500, "{\\\"code\\\":\\\"InternalError\\\",\\\"errorDescription\\\":\\\"boom\\\"}"), 0, HTTP, 500, "InternalError", 0, 3},
    {"validate 502", "validateRequest", RESPOND("validateRequest", 502, ""), 0, HTTP, 502, NULL, 0, 3},
    {"validate 503", "validateRequest", RESPOND("validateRequest", 503, ""), 0, HTTP, 503, NULL, 0, 3},
    {"validate 504", "validateRequest", RESPOND("validateRequest", 504, ""), 0, HTTP, 504, NULL, 0, 3},
    {"validate reset before the status line", "validateRequest", ACTION("validateRequest", "reset"), 0, TRANSPORT, 0, NULL, 0, 3},
    {"validate reset after the headers", "validateRequest", ACTION("validateRequest", "reset_after_headers"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"validate no answer (deadline)", "validateRequest", ACTION("validateRequest", "hang"), 0, TRANSPORT, 0, NULL, 0, -1},
    {"validate drip of one byte per second", "validateRequest", ACTION("validateRequest", "drip"), 0, TRANSPORT, -1, NULL, 0, -1},
    {"validate status line and headers one byte per second", "validateRequest", ACTION("validateRequest", "drip_head"), 0, TRANSPORT, -1, NULL, 0, -1},
    {"validate body shorter than Content-Length", "validateRequest", ACTION("validateRequest", "short_body"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"validate body over 1 MiB", "validateRequest", ACTION("validateRequest", "oversize"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"validate 200 not JSON", "validateRequest", OK200("validateRequest", "Success"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 JSON array", "validateRequest", OK200("validateRequest", "[{\\\"code\\\":\\\"Success\\\"}]"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 JSON string", "validateRequest", OK200("validateRequest", "\\\"Success\\\""), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 code as a number", "validateRequest", OK200("validateRequest", "{\\\"code\\\":1,\\\"errorDescription\\\":\\\"\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 code missing", "validateRequest", OK200("validateRequest", "{\\\"errorDescription\\\":\\\"\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 empty body", "validateRequest", OK200("validateRequest", ""), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 code success in lower case", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"success\\\"}"), 0, REJECTED, 200, "success", 0, 1},
    {"validate 200 unknown code", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"NotAnIntuneCode\\\",\\\"errorDescription\\\":\\\"?\\\"}"), 0, REJECTED, 200, "NotAnIntuneCode", 0, 1},
    {"validate 204 no content", "validateRequest", RESPOND("validateRequest", 204, ""), 0, PROTOCOL, 204, NULL, 0, 1},
    {"validate 302 to http:// not followed", "validateRequest", REDIRECT("validateRequest", 302, "{HTTP_URL}"), 0, HTTP, 302, NULL, 0, 1},
    {"validate 307 to the same https path not followed", "validateRequest", REDIRECT("validateRequest", 307, "{BASE}ScepRequestValidationFEService/ScepActions/validateRequest"), 0, HTTP, 307, NULL, 0, 1},
    {"validate 200 code twice, Success first", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"Success\\\",\\\"code\\\":\\\"ChallengeExpired\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 code twice, Success last", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"ChallengeExpired\\\",\\\"code\\\":\\\"Success\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 NUL escape in code", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"Success\\\\u0000ChallengeExpired\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 NUL escape in a member name", "validateRequest", OK200("validateRequest", "{\\\"code\\\\u0000x\\\":\\\"Success\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 NUL escape in errorDescription", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"Success\\\",\\\"errorDescription\\\":\\\"a\\\\u0000b\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 raw NUL byte in code", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"Success\\u0000X\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 200 member twice in a nested object", "validateRequest", OK200("validateRequest", "{\\\"code\\\":\\\"Success\\\",\\\"detail\\\":{\\\"a\\\":[{\\\"b\\\":1,\\\"b\\\":2}]}}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"validate 500 code Success never reported", "validateRequest", RESPOND("validateRequest", 500, "{\\\"code\\\":\\\"Success\\\",\\\"errorDescription\\\":\\\"an HTTP error\\\"}"), 0, HTTP, 500, NULL, 0, 3},
    {"validate 400 code twice", "validateRequest", RESPOND("validateRequest", 400, "{\\\"code\\\":\\\"BadRequest\\\",\\\"code\\\":\\\"Success\\\"}"), 0, PROTOCOL, 400, NULL, 0, 1},
    {"validate 429 Retry-After HTTP date in year 2147483647", "validateRequest", RESPOND_H("validateRequest", 429, "{\"Retry-After\":\"Fri, 31 Dec 2147483647 23:59:59 GMT\"}"), 0, HTTP, 429, NULL, 1000, 1},
    {"validate 429 Retry-After HTTP date in year 999999999", "validateRequest", RESPOND_H("validateRequest", 429, "{\"Retry-After\":\"Fri, 31 Dec 999999999 23:59:59 GMT\"}"), 0, HTTP, 429, NULL, 1000, 1},

    /* ---- successNotification ---- */
    {"success 400", "successNotification", RESPOND("successNotification", 400, ""), 0, HTTP, 400, NULL, 0, 1},
    {"success 401 (token refreshed once)", "successNotification", RESPOND("successNotification", 401, ""), 0, HTTP, 401, NULL, 0, 2},
    {"success 500", "successNotification", RESPOND("successNotification", 500, ""), 0, HTTP, 500, NULL, 0, 3},
    {"success 503 Retry-After seconds", "successNotification", RESPOND_H("successNotification", 503, "{\"Retry-After\":\"1\"}"), 0, HTTP, 503, NULL, 0, 2},
    {"success reset before the status line", "successNotification", ACTION("successNotification", "reset"), 0, TRANSPORT, 0, NULL, 0, 3},
    {"success no answer (deadline)", "successNotification", ACTION("successNotification", "hang"), 0, TRANSPORT, 0, NULL, 0, -1},
    {"success body over 1 MiB", "successNotification", ACTION("successNotification", "oversize"), 0, PROTOCOL, -1, NULL, 0, 1},
    {"success 200 code Unknown", "successNotification", OK200("successNotification", "{\\\"code\\\":\\\"Unknown\\\",\\\"errorDescription\\\":\\\"not validated\\\"}"), 0, REJECTED, 200, "Unknown", 0, 1},
    {"success 200 not JSON", "successNotification", OK200("successNotification", "<ok/>"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"success 200 code twice", "successNotification", OK200("successNotification", "{\\\"code\\\":\\\"Success\\\",\\\"code\\\":\\\"Unknown\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"success 200 NUL escape in code", "successNotification", OK200("successNotification", "{\\\"code\\\":\\\"Success\\\\u0000Unknown\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},

    /* ---- failureNotification ---- */
    {"failure 403", "failureNotification", RESPOND("failureNotification", 403, ""), 0, HTTP, 403, NULL, 0, 1},
    {"failure 404 (rediscovered once)", "failureNotification", RESPOND("failureNotification", 404, ""), 0, HTTP, 404, NULL, 0, 2},
    {"failure 429 Retry-After HTTP date", "failureNotification", RESPOND_H("failureNotification", 429, "{\"Retry-After\":\"{DATE+1}\"}"), 0, HTTP, 429, NULL, 0, -1},
    {"failure 502", "failureNotification", RESPOND("failureNotification", 502, ""), 0, HTTP, 502, NULL, 0, 3},
    {"failure reset after the headers", "failureNotification", ACTION("failureNotification", "reset_after_headers"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"failure body shorter than Content-Length", "failureNotification", ACTION("failureNotification", "short_body"), 0, TRANSPORT, -1, NULL, 0, 3},
    {"failure drip of one byte per second", "failureNotification", ACTION("failureNotification", "drip"), 0, TRANSPORT, -1, NULL, 0, -1},
    {"failure 200 code as a number", "failureNotification", OK200("failureNotification", "{\\\"code\\\":0}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"failure 200 JSON array", "failureNotification", OK200("failureNotification", "[]"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"failure 200 code twice", "failureNotification", OK200("failureNotification", "{\\\"code\\\":\\\"Success\\\",\\\"code\\\":\\\"Unknown\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"failure 200 NUL escape in a member name", "failureNotification", OK200("failureNotification", "{\\\"code\\\\u0000x\\\":\\\"Success\\\"}"), 0, PROTOCOL, 200, NULL, 0, 1},
    {"failure 503 code Success never reported", "failureNotification", RESPOND("failureNotification", 503, "{\\\"error\\\":{\\\"code\\\":\\\"Success\\\",\\\"message\\\":\\\"an HTTP error\\\"}}"), 0, HTTP, 503, NULL, 0, 3},
};

#define NROWS (sizeof ROWS / sizeof *ROWS)

/* ---- plumbing ---------------------------------------------------------- */

/* A loopback TCP port with a listener that must never see a connection (redirect targets). */
static int http_listener = -1;
static int http_port = 0;
/* Endpoints on which a connection never carries a request. */
static th_listener *stall_listener, *blackhole_listener, *reset_listener;

static int listen_loopback(int *port_out) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port_out = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on: bound once, then closed. */
static int closed_port(void) {
    int port = 0;
    int fd = listen_loopback(&port);
    close(fd);
    return port;
}

/* Connections the never-followed listener received since the last call. */
static int listener_connections(void) {
    int n = 0;
    for (;;) {
        int c = accept4(http_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) break;
        close(c);
        n++;
    }
    return n;
}

static char *replace_all(const char *in, const char *what, const char *with) {
    size_t wl = strlen(what), hl = strlen(with), n = 0;
    for (const char *p = strstr(in, what); p; p = strstr(p + wl, what)) n++;
    char *out = malloc(strlen(in) + n * hl + 1), *o = out;
    const char *p = in, *q;
    while ((q = strstr(p, what))) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, with, hl);
        o += hl;
        p = q + wl;
    }
    strcpy(o, p);
    return out;
}

static char *fault_json(const row_t *r, th_emu *e) {
    char http_url[64], date[64], closed[96];
    snprintf(http_url, sizeof http_url, "http://127.0.0.1:%d/ScepRequestValidationFEService", http_port);
    time_t when = time(NULL) + 1;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(closed, sizeof closed, "https://127.0.0.1:%d/ScepRequestValidationFEService", closed_port());
    char *a = replace_all(r->fault, "{HTTP_URL}", http_url);
    char *b = replace_all(a, "{DATE+1}", date);
    char *c = replace_all(b, "{CLOSED_URI}", closed);
    char *d = replace_all(c, "{BASE}", e->base_url);
    char *stall = th_listener_uri(stall_listener, "ScepRequestValidationFEService");
    char *blackhole = th_listener_uri(blackhole_listener, "ScepRequestValidationFEService");
    char *reset = th_listener_uri(reset_listener, "ScepRequestValidationFEService");
    char *f = replace_all(d, "{STALL_URI}", stall);
    char *g = replace_all(f, "{BLACKHOLE_URI}", blackhole);
    char *out = replace_all(g, "{RESET_URI}", reset);
    free(a);
    free(b);
    free(c);
    free(d);
    free(f);
    free(g);
    free(stall);
    free(blackhole);
    free(reset);
    return out;
}

/* Every log line, and each string the error carries, holds no secret. */
static void check_no_secrets(const row_t *r, th_emu *e, th_log *log, const intune_scep_error *err) {
    cJSON *toks = th_emu_seen_tokens(e);
    const char *texts[] = {intune_scep_error_message(err), intune_scep_error_description(err),
                           intune_scep_error_response_body(err), intune_scep_error_service_code(err)};
    const char *names[] = {"message", "description", "response body", "service code"};
    for (int i = 0; i < 4; i++) {
        if (!texts[i]) continue;
        if (strstr(texts[i], "EmuTok-"))
            th_fail(__FILE__, __LINE__, "row \"%s\": the error's %s holds a bearer token (EmuTok-)", r->name, names[i]);
        if (strstr(texts[i], APP_SECRET)) th_fail(__FILE__, __LINE__, "row \"%s\": the error's %s holds the app key", r->name, names[i]);
        const cJSON *t;
        cJSON_ArrayForEach(t, toks) if (strstr(texts[i], t->valuestring))
            th_fail(__FILE__, __LINE__, "row \"%s\": the error's %s holds a bearer token", r->name, names[i]);
    }
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < log->n; i++) {
        if (strstr(log->lines[i], "EmuTok-"))
            th_fail(__FILE__, __LINE__, "row \"%s\": log line %zu holds a bearer token (EmuTok-)", r->name, i);
        if (strstr(log->lines[i], APP_SECRET))
            th_fail(__FILE__, __LINE__, "row \"%s\": log line %zu holds the app key", r->name, i);
        const cJSON *t;
        cJSON_ArrayForEach(t, toks) if (strstr(log->lines[i], t->valuestring))
            th_fail(__FILE__, __LINE__, "row \"%s\": log line %zu holds a bearer token", r->name, i);
    }
    pthread_mutex_unlock(&log->mu);
    cJSON_Delete(toks);
}

static int call_step(intune_scep_client *c, const char *step, const char *tid, intune_scep_error *err) {
    if (strcmp(step, "successNotification") == 0)
        return intune_scep_send_success_notification(c, tid, csr->b64, "0123456789ABCDEF0123456789ABCDEF01234567",
                                                     "1A2B3C", "2027-06-11T16:11:20.000Z",
                                                     "CN=Intune SCEP Tests CA,O=Intune SCEP Tests", NULL, NULL, err);
    if (strcmp(step, "failureNotification") == 0)
        return intune_scep_send_failure_notification(c, tid, csr->b64, (int64_t)0x80004005u, "issuance failed", err);
    return intune_scep_validate_request(c, tid, csr->b64, err);
}

static int rows_run = 0;

static void run_row(const row_t *r, int index) {
    const char *only = getenv("MATRIX_ROW");
    if (only && *only && !strstr(r->name, only)) return;
    rows_run++;
    th_emu *e = emu;
    th_emu *wrong_host = NULL;
    if (r->special == SP_WRONG_HOST) {
        const char *args[] = {"--app-secret", APP_SECRET, "--server-cert-hostname", "not-this-host.example", NULL};
        wrong_host = th_emu_start(args);
        e = wrong_host;
    }
    th_emu_reset(e);
    char refused[96];
    const char *ov[16];
    int k = 0;
    ov[k++] = "TIMEOUT_MS";
    ov[k++] = TH_STR(TIMEOUT_MS);
    ov[k++] = "CONNECT_TIMEOUT_MS";
    ov[k++] = "1000";
    ov[k++] = "MAX_RETRIES";
    ov[k++] = "2";
    if (r->special == SP_REFUSED_AUTHORITY) {
        snprintf(refused, sizeof refused, "https://127.0.0.1:%d/", closed_port());
        ov[k++] = "AUTH_AUTHORITY";
        ov[k++] = refused;
    }
    if (r->special == SP_UNTRUSTED) {
        ov[k++] = "TLS_CA_FILE";
        ov[k++] = other_ca_file;
    }
    ov[k] = NULL;
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = th_emu_client(e, &log, ov);
    if (r->fault) {
        char *f = fault_json(r, e);
        th_emu_fault(e, f);
        free(f);
    }
    (void)listener_connections();
    char tid[64];
    snprintf(tid, sizeof tid, "matrix-%02d-%lld", index, (long long)th_now_ms());
    intune_scep_error *err = intune_scep_error_new();
    int64_t t0 = th_now_ms();
    int rc = call_step(c, r->step, tid, err);
    int64_t elapsed = th_now_ms() - t0;

    long limit = (long)((r->max_ms ? r->max_ms : TIMEOUT_MS + MARGIN_MS) * th_time_scale());
    if (rc == INTUNE_SCEP_OK) th_fail(__FILE__, __LINE__, "row \"%s\": the call returned INTUNE_SCEP_OK", r->name);
    if (rc != r->want_status)
        th_fail(__FILE__, __LINE__, "row \"%s\": status %s, want %s; message: %s", r->name, intune_scep_status_name(rc),
                intune_scep_status_name(r->want_status), intune_scep_error_message(err));
    if (intune_scep_error_status(err) != rc)
        th_fail(__FILE__, __LINE__, "row \"%s\": the error object's status %d differs from the returned %d", r->name,
                intune_scep_error_status(err), rc);
    if (r->want_http >= 0 && intune_scep_error_http_status(err) != r->want_http)
        th_fail(__FILE__, __LINE__, "row \"%s\": http status %ld, want %ld", r->name, intune_scep_error_http_status(err),
                r->want_http);
    if (r->want_code) {
        const char *code = intune_scep_error_service_code(err);
        if (!code || strcmp(code, r->want_code) != 0)
            th_fail(__FILE__, __LINE__, "row \"%s\": service code %s, want %s", r->name, code ? code : "NULL", r->want_code);
    }
    /* A failure never reports the service code Success (only a rejection keeps a code as sent, and it is not
     * exactly Success then), and no log line of it says code=Success. */
    const char *got_code = intune_scep_error_service_code(err);
    if (got_code && (rc != REJECTED ? strcasecmp(got_code, "Success") == 0 : strcmp(got_code, "Success") == 0))
        th_fail(__FILE__, __LINE__, "row \"%s\": a failed call reports the service code %s", r->name, got_code);
    if (th_log_count(&log, 0, "code=Success", NULL) != 0)
        th_fail(__FILE__, __LINE__, "row \"%s\": a log line says code=Success", r->name);
    if (!th_is_uuid(intune_scep_error_activity_id(err)))
        th_fail(__FILE__, __LINE__, "row \"%s\": no activity id (got %s)", r->name,
                intune_scep_error_activity_id(err) ? intune_scep_error_activity_id(err) : "NULL");
    else if (!strstr(intune_scep_error_message(err), intune_scep_error_activity_id(err)))
        th_fail(__FILE__, __LINE__, "row \"%s\": the message does not carry the activity id", r->name);
    const char *got_tid = intune_scep_error_transaction_id(err);
    if (!got_tid || strcmp(got_tid, tid) != 0)
        th_fail(__FILE__, __LINE__, "row \"%s\": transaction id %s, want %s", r->name, got_tid ? got_tid : "NULL", tid);
    if (elapsed > limit)
        th_fail(__FILE__, __LINE__, "row \"%s\": took %lld ms, allowed %ld ms (TIMEOUT_MS %d)", r->name,
                (long long)elapsed, limit, TIMEOUT_MS);
    const char *msg = intune_scep_error_message(err);
    if (!msg || !*msg || strchr(msg, '\n')) th_fail(__FILE__, __LINE__, "row \"%s\": the message is not one line", r->name);
    if (r->fault && strstr(r->fault, "{HTTP_URL}") && strstr(r->fault, "redirect")) {
        int n = listener_connections();
        if (n) th_fail(__FILE__, __LINE__, "row \"%s\": the redirect to http:// was followed (%d connection(s))", r->name, n);
    }
    /* Attempts as the protocol has them: retries only on connection failures, 429 and 5xx (MAX_RETRIES 2,
     * inside the deadline), one more after a 401 (new token) or a 404 (rediscovery), none after a redirect. */
    int seen = th_emu_request_count(e, r->step);
    if (r->want_requests >= 0 && seen != r->want_requests)
        th_fail(__FILE__, __LINE__, "row \"%s\": the emulator saw %d %s request(s), want %d", r->name, seen, r->step,
                r->want_requests);
    /* The failing call was logged, with its activity id. */
    if (intune_scep_error_activity_id(err) &&
        th_log_count(&log, INTUNE_SCEP_LOG_WARNING, intune_scep_error_activity_id(err), NULL) == 0)
        th_fail(__FILE__, __LINE__, "row \"%s\": no warning/error log line carries the activity id", r->name);
    check_no_secrets(r, e, &log, err);
    th_note("%-50s %-31s http=%3ld requests=%d %5lld ms", r->name, intune_scep_status_name(rc),
            intune_scep_error_http_status(err), seen, (long long)elapsed);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
    if (wrong_host) th_emu_stop(wrong_host);
    else th_emu_reset(e);
}

static void run_step(const char *step) {
    for (size_t i = 0; i < NROWS; i++)
        if (strcmp(ROWS[i].step, step) == 0) run_row(&ROWS[i], (int)i);
}

static void test_token(void) { run_step("token"); }
static void test_discovery(void) { run_step("discovery"); }
static void test_validate(void) { run_step("validateRequest"); }
static void test_success(void) { run_step("successNotification"); }
static void test_failure(void) { run_step("failureNotification"); }

static void test_table_size(void) {
    /* The table covers at least 40 faults and every step. */
    CHECK(NROWS >= 40);
    const char *steps[] = {"token", "discovery", "validateRequest", "successNotification", "failureNotification"};
    for (int s = 0; s < 5; s++) {
        int n = 0;
        for (size_t i = 0; i < NROWS; i++) n += strcmp(ROWS[i].step, steps[s]) == 0;
        if (n < 5) th_fail(__FILE__, __LINE__, "step %s has only %d rows", steps[s], n);
    }
    th_note("%zu rows in the table; %d run", NROWS, rows_run);
}

static void setup(void) {
    th_register_secret(APP_SECRET);
    const char *args[] = {"--app-secret", APP_SECRET, NULL};
    emu = th_emu_start(args);
    csr = th_emu_device_csr(emu, "CN=matrix-device,O=Contoso");
    http_listener = listen_loopback(&http_port);
    fcntl(http_listener, F_SETFL, O_NONBLOCK);
    stall_listener = th_listener_start(TH_LISTEN_STALL);
    blackhole_listener = th_listener_start(TH_LISTEN_BLACKHOLE);
    reset_listener = th_listener_start(TH_LISTEN_RESET);
    th_ca *other = th_ca_new("Some Other CA");
    snprintf(other_ca_file, sizeof other_ca_file, "%s/other-ca.pem", th_tmpdir());
    X509 *certs[] = {other->cert, NULL};
    th_write_pem_bundle(other_ca_file, certs);
    th_ca_free(other);
}

static void teardown(void) {
    if (http_listener >= 0) close(http_listener);
    th_listener_stop(stall_listener);
    th_listener_stop(blackhole_listener);
    th_listener_stop(reset_listener);
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"token", test_token},       {"discovery", test_discovery}, {"validate", test_validate},
    {"success", test_success},   {"failure", test_failure},     {"table", test_table_size},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
