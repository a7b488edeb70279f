/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault matrix, C runner: the rows are data, tests/scenarios/faults.json (read with
 * cJSON; fields in tests/scenarios/README.md), shared with the Python and Java runners.
 * Each row is a fault the Intune emulator plays on one step of a call (token, discovery,
 * validateRequest, successNotification, failureNotification, uploadRevocationResults)
 * and the outcome the caller must see.
 *
 * Every fault is permanent for the row (times 0), so no retry can rescue the
 * call, and every row asserts:
 *   - the status class of the row (and the HTTP status / service code / AADSTS number when given);
 *   - never INTUNE_SCEP_OK: the certificate must not be issued or handed out;
 *   - the error carries the call's activity id (a UUID) and its transaction id
 *     (the upload takes none in the C ABI: none is reported);
 *   - the call returned within TIMEOUT_MS plus a margin (and faster when the row
 *     says so, e.g. a Retry-After beyond the deadline fails at once);
 *   - the emulator saw the row's number of requests on the faulted endpoint;
 *   - no secret (the app key, any bearer token the emulator saw) in the message,
 *     the description, the response body copy, or any log line.
 *
 * Rows are grouped into one test per step (`test_fault_matrix token` runs only
 * the token rows); MATRIX_ROW=<substring> runs only the rows whose name holds it.
 * FAULT_SCENARIOS=<file> reads another table (default: the source tree's).
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
/* The table may grow, never shrink: the rows C ran when the table became data. */
#define ROW_FLOOR 126

#ifndef SCENARIOS_FILE
#error "SCENARIOS_FILE (tests/scenarios/faults.json) must be defined by the build"
#endif

static th_emu *emu;
static th_csr *csr;
static char other_ca_file[512];

/* One row of the table, as read (see tests/scenarios/README.md). */
typedef struct {
    const char *name;
    const char *step;   /* the endpoint the fault sits on; also decides the call made */
    char *fault;        /* the fault as JSON text, placeholders not yet filled in; NULL for none */
    const char *setup;  /* "refused_authority", "untrusted", "wrong_host", or NULL */
    int want_status;
    long want_http;        /* -1: not checked */
    const char *want_code; /* service code, NULL: not checked */
    long want_aadsts;      /* -1: not checked */
    long max_ms;           /* 0: TIMEOUT_MS + margin */
    int want_requests;     /* requests the emulator saw on the faulted endpoint; -1: not checked */
    const char *skipped;   /* why this runner does not run it ("skip"/"only"), or NULL */
} row_t;

static cJSON *table;
static row_t *rows;
static size_t nrows;
static const char *overrides[16]; /* the table's "client" keys, key/value pairs */
static long timeout_ms, margin_ms;
static int rows_run, rows_skipped;

static const char *const STEPS[] = {"token", "discovery", "validateRequest", "successNotification",
                                    "failureNotification", "uploadRevocationResults"};
#define NSTEPS (sizeof STEPS / sizeof *STEPS)
static const char *const SETUPS[] = {"refused_authority", "untrusted", "wrong_host"};
static const char *const FIELDS[] = {"name", "step", "setup", "fault", "status", "http", "code", "aadsts",
                                     "requests", "max_ms", "via_socket_factory", "skip", "only"};

/* ---- the table ---------------------------------------------------------- */

static int in_list(const char *s, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0) return 1;
    return 0;
}

/* "AUTH" -> INTUNE_SCEP_E_AUTH, by the library's own names; -1 when no status has that name. */
static int status_of(const char *name) {
    char full[64];
    snprintf(full, sizeof full, "INTUNE_SCEP_E_%s", name);
    for (int s = INTUNE_SCEP_E_INVALID_ARGUMENT; s <= INTUNE_SCEP_E_INTERNAL; s++)
        if (strcmp(intune_scep_status_name(s), full) == 0) return s;
    return -1;
}

static long int_field(const cJSON *row, const char *key, long absent, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
    if (!v) return absent;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble || v->valuedouble < 0) {
        th_fail(__FILE__, __LINE__, "row \"%s\": \"%s\" is not a whole number >= 0", name, key);
        return absent;
    }
    return (long)v->valuedouble;
}

static const char *str_field(const cJSON *row, const char *key, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
    if (!v) return NULL;
    if (!cJSON_IsString(v) || !*v->valuestring) {
        th_fail(__FILE__, __LINE__, "row \"%s\": \"%s\" is not a non-empty string", name, key);
        return NULL;
    }
    return v->valuestring;
}

/* Why the row is not for this runner ("skip": {"c": why} or "only" without "c"), or NULL. */
static const char *skipped_here(const cJSON *row) {
    const cJSON *skip = cJSON_GetObjectItemCaseSensitive(row, "skip");
    const cJSON *why = skip ? cJSON_GetObjectItemCaseSensitive(skip, "c") : NULL;
    if (why) return cJSON_IsString(why) ? why->valuestring : "skipped";
    const cJSON *only = cJSON_GetObjectItemCaseSensitive(row, "only"), *o;
    if (!only) return NULL;
    cJSON_ArrayForEach(o, only) if (cJSON_IsString(o) && strcmp(o->valuestring, "c") == 0) return NULL;
    return "not for C (\"only\")";
}

/* Read and check the whole table; any row the runner cannot read fails the setup. */
static void load_table(void) {
    const char *path = getenv("FAULT_SCENARIOS");
    if (!path || !*path) path = SCENARIOS_FILE;
    char *text = th_read_file(path, NULL);
    if (!text) {
        th_fail(__FILE__, __LINE__, "cannot read the scenario table %s", path);
        return;
    }
    table = cJSON_Parse(text);
    free(text);
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(table, "rows");
    const cJSON *client = cJSON_GetObjectItemCaseSensitive(table, "client");
    if (!cJSON_IsArray(all) || !cJSON_IsObject(client)) {
        th_fail(__FILE__, __LINE__, "%s: not a scenario table (an object with \"client\" and \"rows\")", path);
        return;
    }
    int k = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, client) {
        if (!cJSON_IsString(kv) || k + 2 >= (int)(sizeof overrides / sizeof *overrides)) {
            th_fail(__FILE__, __LINE__, "client key %s: not a string, or too many keys", kv->string);
            return;
        }
        overrides[k++] = kv->string;
        overrides[k++] = kv->valuestring;
        if (strcmp(kv->string, "TIMEOUT_MS") == 0) timeout_ms = atol(kv->valuestring);
    }
    margin_ms = int_field(table, "margin_ms", 0, "(table)");
    if (timeout_ms <= 0 || margin_ms <= 0) th_fail(__FILE__, __LINE__, "the table needs client.TIMEOUT_MS and margin_ms");
    nrows = (size_t)cJSON_GetArraySize(all);
    rows = calloc(nrows ? nrows : 1, sizeof *rows);
    size_t i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, all) {
        row_t *r = &rows[i++];
        r->name = str_field(row, "name", "?");
        if (!r->name) r->name = "(unnamed)";
        for (size_t j = 0; j + 1 < i; j++)
            if (strcmp(rows[j].name, r->name) == 0) th_fail(__FILE__, __LINE__, "two rows named \"%s\"", r->name);
        const cJSON *f;
        cJSON_ArrayForEach(f, row) if (!in_list(f->string, FIELDS, sizeof FIELDS / sizeof *FIELDS))
            th_fail(__FILE__, __LINE__, "row \"%s\": unknown field \"%s\"", r->name, f->string);
        r->step = str_field(row, "step", r->name);
        if (!r->step || !in_list(r->step, STEPS, NSTEPS))
            th_fail(__FILE__, __LINE__, "row \"%s\": unknown step %s", r->name, r->step ? r->step : "(none)");
        r->setup = str_field(row, "setup", r->name);
        if (r->setup && !in_list(r->setup, SETUPS, sizeof SETUPS / sizeof *SETUPS))
            th_fail(__FILE__, __LINE__, "row \"%s\": unknown setup %s", r->name, r->setup);
        const char *st = str_field(row, "status", r->name);
        r->want_status = st ? status_of(st) : -1;
        if (r->want_status < 0) th_fail(__FILE__, __LINE__, "row \"%s\": unknown status %s", r->name, st ? st : "(none)");
        const cJSON *fault = cJSON_GetObjectItemCaseSensitive(row, "fault");
        if (fault) {
            const char *ep = cJSON_IsObject(fault) ? th_json_str(fault, "endpoint") : NULL;
            if (!ep) th_fail(__FILE__, __LINE__, "row \"%s\": the fault is not an object with an endpoint", r->name);
            r->fault = cJSON_PrintUnformatted(fault);
        } else if (!r->setup) {
            th_fail(__FILE__, __LINE__, "row \"%s\": neither a fault nor a setup", r->name);
        }
        r->want_http = int_field(row, "http", -1, r->name);
        r->want_code = str_field(row, "code", r->name);
        r->want_aadsts = int_field(row, "aadsts", -1, r->name);
        r->max_ms = int_field(row, "max_ms", 0, r->name);
        r->want_requests = (int)int_field(row, "requests", -1, r->name);
        r->skipped = skipped_here(row);
    }
}

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

/* `*s` with every `what` replaced by `with` (the old string is freed). */
static void replace_all(char **s, const char *what, const char *with) {
    const char *in = *s;
    size_t wl = strlen(what), hl = strlen(with), n = 0;
    for (const char *p = strstr(in, what); p; p = strstr(p + wl, what)) n++;
    if (!n) return;
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
    free(*s);
    *s = out;
}

/* The row's fault with its placeholders filled in (README.md lists them). */
static char *fault_json(const row_t *r, th_emu *e) {
    char http_url[64], date[64], closed[96];
    snprintf(http_url, sizeof http_url, "http://127.0.0.1:%d/ScepRequestValidationFEService", http_port);
    time_t when = time(NULL) + 1;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(closed, sizeof closed, "https://127.0.0.1:%d/ScepRequestValidationFEService", closed_port());
    char *stall = th_listener_uri(stall_listener, "ScepRequestValidationFEService");
    char *blackhole = th_listener_uri(blackhole_listener, "ScepRequestValidationFEService");
    char *reset = th_listener_uri(reset_listener, "ScepRequestValidationFEService");
    char *out = strdup(r->fault);
    replace_all(&out, "{HTTP_URL}", http_url);
    replace_all(&out, "{DATE+1}", date);
    replace_all(&out, "{CLOSED_URI}", closed);
    replace_all(&out, "{BASE}", e->base_url);
    replace_all(&out, "{STALL_URI}", stall);
    replace_all(&out, "{BLACKHOLE_URI}", blackhole);
    replace_all(&out, "{RESET_URI}", reset);
    replace_all(&out, "{NUL}", "\\u0000"); /* inside a JSON string: a raw NUL byte in what the emulator sends */
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
    if (strcmp(step, "uploadRevocationResults") == 0) {
        intune_scep_revocation_results *res = intune_scep_revocation_results_new();
        REQUIRE(res != NULL);
        int rc = intune_scep_revocation_results_add(res, "ctx-1", 1, NULL, NULL, err);
        if (rc == INTUNE_SCEP_OK) rc = intune_scep_upload_revocation_results(c, res, err);
        intune_scep_revocation_results_free(res);
        return rc;
    }
    return intune_scep_validate_request(c, tid, csr->b64, err); /* token, discovery and validateRequest rows */
}

static void run_row(const row_t *r, int index) {
    const char *only = getenv("MATRIX_ROW");
    if (only && *only && !strstr(r->name, only)) return;
    if (r->skipped) {
        rows_skipped++;
        th_note("%-50s skipped: %s", r->name, r->skipped);
        return;
    }
    rows_run++;
    th_emu *e = emu;
    th_emu *wrong_host = NULL;
    int sp_refused = r->setup && strcmp(r->setup, "refused_authority") == 0;
    int sp_untrusted = r->setup && strcmp(r->setup, "untrusted") == 0;
    if (r->setup && strcmp(r->setup, "wrong_host") == 0) {
        const char *args[] = {"--app-secret", APP_SECRET, "--server-cert-hostname", "not-this-host.example", NULL};
        wrong_host = th_emu_start(args);
        e = wrong_host;
    }
    th_emu_reset(e);
    char refused[96];
    const char *ov[24];
    int k = 0;
    for (int i = 0; overrides[i]; i++) ov[k++] = overrides[i];
    if (sp_refused) {
        snprintf(refused, sizeof refused, "https://127.0.0.1:%d/", closed_port());
        ov[k++] = "AUTH_AUTHORITY";
        ov[k++] = refused;
    }
    if (sp_untrusted) {
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
    int upload = strcmp(r->step, "uploadRevocationResults") == 0;
    char tid[64];
    snprintf(tid, sizeof tid, "matrix-%02d-%lld", index, (long long)th_now_ms());
    intune_scep_error *err = intune_scep_error_new();
    int64_t t0 = th_now_ms();
    int rc = call_step(c, r->step, tid, err);
    int64_t elapsed = th_now_ms() - t0;

    long limit = (long)((r->max_ms ? r->max_ms : timeout_ms + margin_ms) * th_time_scale());
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
    if (r->want_aadsts >= 0) {
        if (intune_scep_error_aadsts_code(err) != r->want_aadsts)
            th_fail(__FILE__, __LINE__, "row \"%s\": AADSTS %ld, want %ld", r->name, intune_scep_error_aadsts_code(err),
                    r->want_aadsts);
        char aadsts[32];
        snprintf(aadsts, sizeof aadsts, "AADSTS%ld", r->want_aadsts);
        const char *desc = intune_scep_error_description(err);
        if (!desc || !strstr(desc, aadsts))
            th_fail(__FILE__, __LINE__, "row \"%s\": the description does not name %s", r->name, aadsts);
    }
    /* A failure never reports the service code Success (only a rejection keeps a code as sent, and it is not
     * exactly Success then), and no log line of it says code=Success. */
    const char *got_code = intune_scep_error_service_code(err);
    if (got_code && (rc != INTUNE_SCEP_E_REJECTED ? strcasecmp(got_code, "Success") == 0 : strcmp(got_code, "Success") == 0))
        th_fail(__FILE__, __LINE__, "row \"%s\": a failed call reports the service code %s", r->name, got_code);
    if (th_log_count(&log, 0, "code=Success", NULL) != 0)
        th_fail(__FILE__, __LINE__, "row \"%s\": a log line says code=Success", r->name);
    if (!th_is_uuid(intune_scep_error_activity_id(err)))
        th_fail(__FILE__, __LINE__, "row \"%s\": no activity id (got %s)", r->name,
                intune_scep_error_activity_id(err) ? intune_scep_error_activity_id(err) : "NULL");
    else if (!strstr(intune_scep_error_message(err), intune_scep_error_activity_id(err)))
        th_fail(__FILE__, __LINE__, "row \"%s\": the message does not carry the activity id", r->name);
    const char *got_tid = intune_scep_error_transaction_id(err);
    if (upload ? got_tid != NULL : !got_tid || strcmp(got_tid, tid) != 0)
        th_fail(__FILE__, __LINE__, "row \"%s\": transaction id %s, want %s", r->name, got_tid ? got_tid : "NULL",
                upload ? "none (the upload takes none)" : tid);
    if (elapsed > limit)
        th_fail(__FILE__, __LINE__, "row \"%s\": took %lld ms, allowed %ld ms (TIMEOUT_MS %ld)", r->name,
                (long long)elapsed, limit, timeout_ms);
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
    for (size_t i = 0; i < nrows; i++)
        if (strcmp(rows[i].step, step) == 0) run_row(&rows[i], (int)i);
}

static void test_token(void) { run_step("token"); }
static void test_discovery(void) { run_step("discovery"); }
static void test_validate(void) { run_step("validateRequest"); }
static void test_success(void) { run_step("successNotification"); }
static void test_failure(void) { run_step("failureNotification"); }
static void test_upload(void) { run_step("uploadRevocationResults"); }

static void test_table(void) {
    /* The table keeps every row it ever had (a floor), covers every SCEP step with several rows, and every
     * status class a call can fail with. */
    size_t runnable = 0;
    for (size_t i = 0; i < nrows; i++) runnable += rows[i].skipped == NULL;
    if (runnable < ROW_FLOOR)
        th_fail(__FILE__, __LINE__, "the table holds %zu rows for C, fewer than %d", runnable, ROW_FLOOR);
    for (size_t s = 0; s < NSTEPS; s++) {
        int n = 0;
        for (size_t i = 0; i < nrows; i++) n += strcmp(rows[i].step, STEPS[s]) == 0;
        if (n < (strcmp(STEPS[s], "uploadRevocationResults") == 0 ? 1 : 5))
            th_fail(__FILE__, __LINE__, "step %s has only %d rows", STEPS[s], n);
    }
    const int classes[] = {INTUNE_SCEP_E_AUTH, INTUNE_SCEP_E_HTTP, INTUNE_SCEP_E_TRANSPORT, INTUNE_SCEP_E_PROTOCOL,
                           INTUNE_SCEP_E_REJECTED, INTUNE_SCEP_E_SERVICE_NOT_FOUND};
    for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
        int n = 0;
        for (size_t i = 0; i < nrows; i++) n += rows[i].want_status == classes[c];
        if (!n) th_fail(__FILE__, __LINE__, "no row expects %s", intune_scep_status_name(classes[c]));
    }
}

static void setup(void) {
    load_table();
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
    printf("fault matrix: %d scenarios run, %d skipped, %zu in the table\n", rows_run, rows_skipped, nrows);
    if (http_listener >= 0) close(http_listener);
    th_listener_stop(stall_listener);
    th_listener_stop(blackhole_listener);
    th_listener_stop(reset_listener);
    th_csr_free(csr);
    th_emu_stop(emu);
    for (size_t i = 0; i < nrows; i++) cJSON_free(rows[i].fault);
    free(rows);
    cJSON_Delete(table);
}

static const th_test tests[] = {
    {"token", test_token},     {"discovery", test_discovery}, {"validate", test_validate}, {"success", test_success},
    {"failure", test_failure}, {"upload", test_upload},       {"table", test_table},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
