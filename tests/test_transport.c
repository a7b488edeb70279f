/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport (protocol.md §4.1 and the TLS rules): retries on 5xx, 429 with
 * Retry-After and cut connections inside MAX_RETRIES and TIMEOUT_MS; the deadline
 * of a call; rediscovery on a connect failure; TLS trust limited to TLS_CA_FILE
 * (no environment variable widens it) and host names checked; a warm call
 * reusing its connection.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

static th_emu *emu;
static th_csr *csr;

static intune_scep_client *new_client(th_log *log, const char *const *overrides) {
    th_emu_reset(emu);
    return th_emu_client(emu, log, overrides);
}

static double req_time(const cJSON *req) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "time");
    return cJSON_IsNumber(t) ? t->valuedouble : 0;
}

static long margin_ms(long ms) { return (long)(ms * th_time_scale()); }

static void warm(intune_scep_client *c) {
    intune_scep_error *err = intune_scep_error_new();
    int rc = intune_scep_validate_request(c, "tid-warm", csr->b64, err);
    if (!CHECK_STATUS(rc, INTUNE_SCEP_OK, err)) {
        intune_scep_error_free(err);
        th_abort_test();
    }
    intune_scep_error_free(err);
}

static void test_5xx_then_success(void) {
    static const int statuses[] = {500, 502, 503, 504};
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    warm(c);
    for (size_t i = 0; i < 4; i++) {
        th_emu_reset(emu);
        th_log_clear(&log);
        th_emu_fault_respond(emu, "validateRequest", statuses[i], "{\"error\":\"transient\"}", 1);
        CHECK_STATUS(intune_scep_validate_request(c, "tid-5xx", csr->b64, err), INTUNE_SCEP_OK, err);
        cJSON *v = th_emu_requests(emu, "validateRequest");
        CHECK_INT(cJSON_GetArraySize(v), 2);
        const char *id = th_req_header(th_item(v, 1), "client-request-id");
        CHECK_STR(th_req_header(th_item(v, 0), "client-request-id"), id);
        /* the call's line says it took two attempts */
        if (id && th_log_count(&log, INTUNE_SCEP_LOG_INFO, id, "attempts=2", NULL) != 1) {
            th_fail(__FILE__, __LINE__, "no log line with the activity id and attempts=2 after HTTP %d", statuses[i]);
            th_log_dump(&log);
        }
        cJSON_Delete(v);
    }
    /* notifications are retried too (a duplicate costs nothing; a lost one leaves the admin blind) */
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "failureNotification", 503, "", 2);
    CHECK_STATUS(intune_scep_send_failure_notification(c, "tid-5xx-fail", csr->b64, 1, "x", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "failureNotification"), 3);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void test_5xx_beyond_budget(void) {
    static const struct {
        const char *max_retries;
        int attempts;
    } cases[] = {{NULL, 3}, {"0", 1}, {"1", 2}, {"4", 5}};
    const char *body = "{\"error\":{\"code\":\"InternalServerError\",\"message\":\"boom\"}}";
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *const ov[] = {"MAX_RETRIES", cases[i].max_retries, NULL};
        th_log log;
        th_log_init(&log);
        intune_scep_client *c = new_client(&log, cases[i].max_retries ? ov : NULL);
        intune_scep_error *err = intune_scep_error_new();
        warm(c);
        th_emu_reset(emu);
        th_log_clear(&log);
        th_emu_fault_respond(emu, "validateRequest", 500, body, 0);
        th_note("MAX_RETRIES=%s", cases[i].max_retries ? cases[i].max_retries : "(default)");
        CHECK_STATUS(intune_scep_validate_request(c, "tid-500", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
        CHECK_INT(intune_scep_error_http_status(err), 500);
        CHECK_STR(intune_scep_error_response_body(err), body);
        CHECK_STR(intune_scep_error_transaction_id(err), "tid-500");
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), cases[i].attempts);
        char *att = th_strdupf("attempts=%d", cases[i].attempts);
        if (intune_scep_error_activity_id(err) &&
            th_log_count(&log, INTUNE_SCEP_LOG_WARNING, intune_scep_error_activity_id(err), att, "500", NULL) != 1) {
            th_fail(__FILE__, __LINE__, "no warning line with the activity id, HTTP 500 and %s", att);
            th_log_dump(&log);
        }
        free(att);
        intune_scep_error_free(err);
        intune_scep_client_free(c);
        th_log_destroy(&log);
    }
}

static void test_429_retry_after(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    warm(c);
    /* seconds */
    th_emu_reset(emu);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"status\":429,\"body\":\"{}\",\"headers\":{\"Retry-After\":\"1\"},\"times\":1}");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-429", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *v = th_emu_requests(emu, "validateRequest");
    CHECK_INT(cJSON_GetArraySize(v), 2);
    double gap = req_time(th_item(v, 1)) - req_time(th_item(v, 0));
    th_note("Retry-After: 1 -> the second attempt came %.3f s later", gap);
    CHECK(gap >= 0.9);
    cJSON_Delete(v);
    /* an HTTP date two seconds ahead */
    th_emu_reset(emu);
    char date[64];
    time_t when = time(NULL) + 2;
    struct tm tmv;
    gmtime_r(&when, &tmv);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tmv);
    char *fault = th_strdupf("{\"endpoint\":\"validateRequest\",\"status\":429,\"body\":\"{}\",\"headers\":{\"Retry-After\":\"%s\"},"
                             "\"times\":1}",
                             date);
    th_emu_fault(emu, fault);
    free(fault);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-429-date", csr->b64, err), INTUNE_SCEP_OK, err);
    v = th_emu_requests(emu, "validateRequest");
    CHECK_INT(cJSON_GetArraySize(v), 2);
    gap = req_time(th_item(v, 1)) - req_time(th_item(v, 0));
    th_note("Retry-After: <date + 2 s> -> the second attempt came %.3f s later", gap);
    CHECK(gap >= 0.5);
    cJSON_Delete(v);
    /* 429 every time: an HTTP error after the retry budget */
    th_emu_reset(emu);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"status\":429,\"body\":\"{\\\"error\\\":\\\"throttled\\\"}\",\"headers\":{\"Retry-After\":\"0\"},\"times\":0}");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-429-always", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 429);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 3);
    intune_scep_error_free(err);
    intune_scep_client_free(c);

    /* a Retry-After that does not fit in the deadline is not waited for */
    const char *const ov[] = {"TIMEOUT_MS", "3000", NULL};
    c = new_client(NULL, ov);
    err = intune_scep_error_new();
    warm(c);
    th_emu_reset(emu);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"status\":429,\"body\":\"{}\",\"headers\":{\"Retry-After\":\"60\"},\"times\":0}");
    int64_t t0 = th_now_ms();
    int rc = intune_scep_validate_request(c, "tid-429-long", csr->b64, err);
    long el = (long)(th_now_ms() - t0);
    th_note("Retry-After: 60 with TIMEOUT_MS=3000 -> %s after %ld ms", intune_scep_status_name(rc), el);
    CHECK(rc == INTUNE_SCEP_E_HTTP || rc == INTUNE_SCEP_E_TRANSPORT);
    CHECK(el <= 3000 + margin_ms(1500));
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_cut_connections_retried(void) {
    static const char *const actions[] = {"reset", "reset_after_headers", "short_body"};
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    warm(c);
    for (size_t i = 0; i < 3; i++) {
        th_emu_reset(emu);
        char *f = th_strdupf("{\"endpoint\":\"validateRequest\",\"action\":\"%s\",\"times\":1}", actions[i]);
        th_emu_fault(emu, f);
        free(f);
        th_note("action %s once", actions[i]);
        CHECK_STATUS(intune_scep_validate_request(c, "tid-cut", csr->b64, err), INTUNE_SCEP_OK, err);
        cJSON *v = th_emu_requests(emu, "validateRequest");
        CHECK_INT(cJSON_GetArraySize(v), 2);
        CHECK_STR(th_req_header(th_item(v, 0), "client-request-id"), th_req_header(th_item(v, 1), "client-request-id"));
        cJSON_Delete(v);
    }
    /* cut every time: a transport error with no HTTP status, after the budget */
    th_emu_reset(emu);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"action\":\"reset\",\"times\":0}");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-cut-always", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(intune_scep_error_http_status(err), 0);
    CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
    CHECK_STR(intune_scep_error_transaction_id(err), "tid-cut-always");
    /* MAX_RETRIES=2: three attempts. libcurl itself sends a request once more on a fresh
     * connection when a reused connection dies before any byte of the answer (the
     * first attempt here went out on the warm connection), so the emulator may see 4. */
    int n = th_emu_request_count(emu, "validateRequest");
    th_note("reset every time: %d requests reached the emulator", n);
    CHECK(n == 3 || n == 4);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void deadline_case(const char *endpoint, const char *action, int warm_first) {
    const char *const ov[] = {"TIMEOUT_MS", "1500", NULL};
    intune_scep_client *c = new_client(NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    if (warm_first) warm(c);
    th_emu_reset(emu);
    char *f = th_strdupf("{\"endpoint\":\"%s\",\"action\":\"%s\",\"times\":0}", endpoint, action);
    th_emu_fault(emu, f);
    free(f);
    int64_t t0 = th_now_ms();
    int rc = intune_scep_validate_request(c, "tid-deadline", csr->b64, err);
    long el = (long)(th_now_ms() - t0);
    th_note("%s on %s%s, TIMEOUT_MS=1500: %s after %ld ms", action, endpoint, warm_first ? "" : " (cold client)",
            intune_scep_status_name(rc), el);
    CHECK_STATUS(rc, INTUNE_SCEP_E_TRANSPORT, err);
    CHECK(el >= 1000);
    CHECK(el <= 1500 + margin_ms(1000));
    /* drip sends its status line before the body stalls: that status may be kept */
    if (strcmp(action, "drip") != 0) CHECK_INT(intune_scep_error_http_status(err), 0);
    CHECK_STR(intune_scep_error_transaction_id(err), "tid-deadline");
    if (warm_first) CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_deadline(void) {
    deadline_case("validateRequest", "hang", 1);
    deadline_case("validateRequest", "drip", 1);
    /* the deadline covers token and discovery too */
    deadline_case("token", "hang", 0);
    deadline_case("discovery", "hang", 0);
    /* a slow answer inside the deadline is fine */
    const char *const ov[] = {"TIMEOUT_MS", "5000", NULL};
    intune_scep_client *c = new_client(NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    warm(c);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"action\":\"respond\",\"status\":200,"
                      "\"body\":\"{\\\"code\\\":\\\"Success\\\",\\\"errorDescription\\\":\\\"\\\"}\",\"delay_ms\":700,\"times\":1}");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-slow", csr->b64, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_backoff_inside_deadline(void) {
    /* many retries allowed, a short deadline: the backoff between attempts never runs past it */
    const char *const ov[] = {"TIMEOUT_MS", "1500", "MAX_RETRIES", "10", NULL};
    intune_scep_client *c = new_client(NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    warm(c);
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "validateRequest", 503, "{\"error\":\"busy\"}", 0);
    int64_t t0 = th_now_ms();
    int rc = intune_scep_validate_request(c, "tid-backoff", csr->b64, err);
    long el = (long)(th_now_ms() - t0);
    int n = th_emu_request_count(emu, "validateRequest");
    th_note("503 every time, MAX_RETRIES=10, TIMEOUT_MS=1500: %s after %ld ms and %d attempts", intune_scep_status_name(rc), el, n);
    CHECK(rc == INTUNE_SCEP_E_HTTP || rc == INTUNE_SCEP_E_TRANSPORT);
    CHECK(el <= 1500 + margin_ms(1000));
    CHECK(n >= 2 && n <= 11);
    /* backoff: the attempts are spread out, not fired back to back */
    cJSON *v = th_emu_requests(emu, "validateRequest");
    if (n >= 3) CHECK(req_time(th_item(v, n - 1)) - req_time(th_item(v, 0)) >= 0.05);
    cJSON_Delete(v);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_proxy_environment_ignored(void) {
    /* the proxy comes from the configuration only: *_proxy variables pointing at a dead port change nothing */
    static const char *const vars[] = {"https_proxy", "HTTPS_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"};
    char *saved[5];
    for (int i = 0; i < 5; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        setenv(vars[i], "http://127.0.0.1:1", 1);
    }
    char *no_proxy = getenv("NO_PROXY") ? strdup(getenv("NO_PROXY")) : NULL;
    char *no_proxy_l = getenv("no_proxy") ? strdup(getenv("no_proxy")) : NULL;
    unsetenv("NO_PROXY");
    unsetenv("no_proxy");
    const char *const ov[] = {"TIMEOUT_MS", "5000", NULL};
    intune_scep_client *c = new_client(NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-proxy-env", csr->b64, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    for (int i = 0; i < 5; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
    if (no_proxy) setenv("NO_PROXY", no_proxy, 1);
    if (no_proxy_l) setenv("no_proxy", no_proxy_l, 1);
    free(no_proxy);
    free(no_proxy_l);
}

static void test_connect_failure_rediscovers(void) {
    /* discovery first points at a dead port, then at the real service */
    th_emu_reset(emu);
    char *real = th_strdupf("%sScepRequestValidationFEService", emu->base_url);
    th_emu_fault_respond(emu, "discovery", 200,
                         "{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"https://127.0.0.1:1/Scep\"}]}", 1);
    intune_scep_client *c = th_emu_client(emu, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-dead-port", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
    intune_scep_client_free(c);
    /* always dead: a transport error within the deadline */
    const char *const ov[] = {"TIMEOUT_MS", "4000", NULL};
    c = new_client(NULL, ov);
    th_emu_fault_respond(emu, "discovery", 200,
                         "{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"https://127.0.0.1:1/Scep\"}]}", 0);
    int64_t t0 = th_now_ms();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-dead-always", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK(th_now_ms() - t0 <= 4000 + margin_ms(1000));
    CHECK(th_emu_request_count(emu, "discovery") >= 2);
    CHECK_INT(intune_scep_error_http_status(err), 0);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    free(real);
}

static void write_hash_dir(const char *dir, X509 *cert) {
    mkdir(dir, 0700);
    char *path = th_strdupf("%s/%08lx.0", dir, X509_subject_name_hash(cert));
    X509 *certs[] = {cert, NULL};
    th_write_pem_bundle(path, certs);
    free(path);
}

static X509 *read_cert(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return c;
}

static char *saved_env(const char *name) {
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *value) {
    if (value) setenv(name, value, 1);
    else unsetenv(name);
    free(value);
}

static void test_untrusted_server_certificate(void) {
    th_ca *other = th_ca_new("Some Other CA");
    char *other_file = th_strdupf("%s/other-ca.pem", th_tmpdir());
    X509 *o[] = {other->cert, NULL};
    th_write_pem_bundle(other_file, o);
    X509 *emu_ca = read_cert(emu->ca_file);
    REQUIRE(emu_ca != NULL);
    /* a bundle that DOES hold the emulator's CA, and a hashed directory with it */
    char *bundle = th_strdupf("%s/bundle-with-emulator-ca.pem", th_tmpdir());
    X509 *both[] = {other->cert, emu_ca, NULL};
    th_write_pem_bundle(bundle, both);
    char *hashdir = th_strdupf("%s/hashed-certs", th_tmpdir());
    write_hash_dir(hashdir, emu_ca);

    intune_scep_error *err = intune_scep_error_new();
    /* 1. the bundle itself, given as TLS_CA_FILE, works (so the refusals below are about trust) */
    const char *const ok[] = {"TLS_CA_FILE", bundle, NULL};
    intune_scep_client *c = new_client(NULL, ok);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-bundle", csr->b64, err), INTUNE_SCEP_OK, err);
    intune_scep_client_free(c);

    /* 2. TLS_CA_FILE of another CA: refused, nothing reached the emulator */
    const char *const bad[] = {"TLS_CA_FILE", other_file, "TIMEOUT_MS", "5000", NULL};
    c = new_client(NULL, bad);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-untrusted", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(intune_scep_error_http_status(err), 0);
    CHECK_INT(th_emu_request_count(emu, NULL), 0);
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_E_TRANSPORT, err);
    intune_scep_client_free(c);

    /* 3. the same, with the environment pointing at a bundle and a directory that trust the emulator */
    char *s1 = saved_env("SSL_CERT_FILE"), *s2 = saved_env("CURL_CA_BUNDLE"), *s3 = saved_env("SSL_CERT_DIR"),
         *s4 = saved_env("REQUESTS_CA_BUNDLE");
    setenv("SSL_CERT_FILE", bundle, 1);
    setenv("CURL_CA_BUNDLE", bundle, 1);
    setenv("SSL_CERT_DIR", hashdir, 1);
    setenv("REQUESTS_CA_BUNDLE", bundle, 1);
    c = new_client(NULL, bad);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-untrusted-env", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(th_emu_request_count(emu, NULL), 0);
    intune_scep_client_free(c);
    restore_env("SSL_CERT_FILE", s1);
    restore_env("CURL_CA_BUNDLE", s2);
    restore_env("SSL_CERT_DIR", s3);
    restore_env("REQUESTS_CA_BUNDLE", s4);

    /* 4. no TLS_CA_FILE: the system store, which does not know the emulator's CA */
    const char *const sys[] = {"TLS_CA_FILE", NULL, "TIMEOUT_MS", "5000", NULL};
    c = new_client(NULL, sys);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-system-store", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(th_emu_request_count(emu, NULL), 0);
    intune_scep_client_free(c);

    intune_scep_error_free(err);
    X509_free(emu_ca);
    th_ca_free(other);
    free(other_file);
    free(bundle);
    free(hashdir);
}

static void test_host_name_mismatch(void) {
    const char *const args[] = {"--server-cert-hostname", "other.example", NULL};
    th_emu *wrong = th_emu_start(args);
    const char *const ov[] = {"TIMEOUT_MS", "5000", NULL};
    intune_scep_client *c = th_emu_client(wrong, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-hostname", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(intune_scep_error_http_status(err), 0);
    CHECK_INT(th_emu_request_count(wrong, NULL), 0);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_emu_stop(wrong);
}

static void test_connection_reuse(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    warm(c);
    warm(c);
    long before = th_emu_connections(emu);
    for (int i = 0; i < 50; i++) {
        char tid[32];
        snprintf(tid, sizeof tid, "tid-reuse-%d", i);
        int rc = i % 2 ? intune_scep_validate_request(c, tid, csr->b64, err)
                       : intune_scep_send_failure_notification(c, tid, csr->b64, 1, "x", err);
        CHECK_STATUS(rc, INTUNE_SCEP_OK, err);
    }
    long after = th_emu_connections(emu);
    th_note("connections before %ld, after 50 warm calls %ld", before, after);
    CHECK_INT(after, before);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void setup(void) {
    emu = th_emu_start(NULL);
    csr = th_emu_device_csr(emu, "CN=transport,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"5xx_then_success", test_5xx_then_success},
    {"5xx_beyond_budget", test_5xx_beyond_budget},
    {"429_retry_after", test_429_retry_after},
    {"cut_connections_retried", test_cut_connections_retried},
    {"deadline", test_deadline},
    {"backoff_inside_deadline", test_backoff_inside_deadline},
    {"proxy_environment_ignored", test_proxy_environment_ignored},
    {"connect_failure_rediscovers", test_connect_failure_rediscovers},
    {"untrusted_server_certificate", test_untrusted_server_certificate},
    {"host_name_mismatch", test_host_name_mismatch},
    {"connection_reuse", test_connection_reuse},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
