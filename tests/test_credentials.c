/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials and the way there: the certificate credential (a signed client
 * assertion instead of a secret), the HTTP proxy with basic auth (through a real
 * CONNECT proxy on loopback), and the revocation calls of PkiConnectorFEService.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#define PROXY_USER "ca-proxy"
#define PROXY_SECRET "Pr0xy~S3cret/+="
#define KEY_PASSWORD "K3y~Passw0rd"

static th_emu *emu;
static th_csr *csr;
static th_ca *app;     /* the app registration's certificate and key */
static th_ca *stranger; /* a certificate the emulator does not know */
static char *app_cert, *app_key, *app_key_encrypted, *stranger_cert, *stranger_key, *other_key;
static pid_t proxy_pid;
static int proxy_stdin = -1;
static char proxy_port[16];

static char *write_key(EVP_PKEY *key, const char *name, const char *password) {
    char *path = th_strdupf("%s/%s", th_tmpdir(), name);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    REQUIRE(PEM_write_PrivateKey(f, key, password ? EVP_aes_256_cbc() : NULL, NULL, 0, NULL, (void *)password) == 1);
    fclose(f);
    return path;
}

static char *write_cert(X509 *cert, const char *name) {
    char *path = th_strdupf("%s/%s", th_tmpdir(), name);
    X509 *certs[] = {cert, NULL};
    th_write_pem_bundle(path, certs);
    return path;
}

/* Start `python3 -m intune_scep.emulator.proxy` with basic auth; it stops when its stdin closes. */
static void start_proxy(void) {
    int in[2], out[2];
    REQUIRE(pipe(in) == 0 && pipe(out) == 0);
    const char *src = getenv("INTUNE_SCEP_SOURCE_DIR");
    char *pythonpath = th_strdupf("%s/python", src ? src : ".");
    proxy_pid = fork();
    REQUIRE(proxy_pid >= 0);
    if (proxy_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        setenv("PYTHONPATH", pythonpath, 1);
        execlp("python3", "python3", "-m", "intune_scep.emulator.proxy", "--user", PROXY_USER, "--password",
               PROXY_SECRET, "--exit-on-stdin-eof", (char *)NULL);
        _exit(127);
    }
    free(pythonpath);
    close(in[0]);
    close(out[1]);
    proxy_stdin = in[1];
    char line[256] = {0};
    size_t n = 0;
    while (n < sizeof line - 1 && read(out[0], line + n, 1) == 1 && line[n] != '\n') n++;
    close(out[0]);
    cJSON *j = cJSON_Parse(line);
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(j, "port");
    REQUIRE(cJSON_IsNumber(port));
    snprintf(proxy_port, sizeof proxy_port, "%d", port->valueint);
    cJSON_Delete(j);
}

static void stop_proxy(void) {
    if (proxy_stdin >= 0) close(proxy_stdin);
    if (proxy_pid > 0) {
        kill(proxy_pid, SIGTERM);
        waitpid(proxy_pid, NULL, 0);
    }
}

/* ---- certificate credential ---- */

static void test_certificate_credential(void) {
    th_emu_reset(emu);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_CLIENT_CERT_FILE", app_cert, "AAD_CLIENT_KEY_FILE", app_key, NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tx-cert", csr->b64, err), INTUNE_SCEP_OK, err);
    /* The token requests carried an assertion, not a secret. */
    cJSON *reqs = th_emu_requests(emu, "token");
    CHECK_INT(cJSON_GetArraySize(reqs), 2);
    for (int i = 0; i < cJSON_GetArraySize(reqs); i++) {
        const char *body = th_req_body(th_item(reqs, i));
        CHECK_CONTAINS(body, "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer");
        CHECK_CONTAINS(body, "client_assertion=");
        CHECK_NOT_CONTAINS(body, "client_secret");
    }
    cJSON_Delete(reqs);
    /* Rotating a secret makes no sense for a certificate client. */
    CHECK_STATUS(intune_scep_client_set_app_key(c, "new-secret", err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "AAD_CLIENT_CERT_FILE");
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

static void test_certificate_credential_encrypted_key(void) {
    th_emu_reset(emu);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_CLIENT_CERT_FILE", app_cert, "AAD_CLIENT_KEY_FILE",
                              app_key_encrypted, "AAD_CLIENT_KEY_PASSWORD", KEY_PASSWORD, NULL};
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    CHECK_LOG_NO_SECRET(&log, KEY_PASSWORD, "log");
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

static void test_certificate_credential_config_errors(void) {
    struct {
        const char *cert, *key, *password, *app_key, *want;
    } rows[] = {
        {app_cert, app_key_encrypted, "wrong", NULL, "AAD_CLIENT_KEY_FILE"},
        {app_cert, app_key_encrypted, NULL, NULL, "AAD_CLIENT_KEY_FILE"},
        {app_cert, NULL, NULL, NULL, "AAD_CLIENT_CERT_FILE"}, /* the cert file holds no key */
        {app_cert, other_key, NULL, NULL, "does not belong"},
        {"/nonexistent/cert.pem", app_key, NULL, NULL, "AAD_CLIENT_CERT_FILE"},
        {app_cert, app_key, NULL, "a-secret-too", "give one credential"},
        {NULL, app_key, NULL, "a-secret", "AAD_CLIENT_CERT_FILE is required"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const char *const ov[] = {"AAD_APP_KEY", rows[i].app_key, "AAD_CLIENT_CERT_FILE", rows[i].cert,
                                  "AAD_CLIENT_KEY_FILE", rows[i].key, "AAD_CLIENT_KEY_PASSWORD", rows[i].password,
                                  NULL};
        intune_scep_config *cfg = th_emu_config(emu, NULL, ov);
        intune_scep_error *err = intune_scep_error_new();
        intune_scep_client *c = NULL;
        th_note("row %zu", i);
        CHECK_STATUS(intune_scep_client_new(cfg, &c, err), INTUNE_SCEP_E_CONFIG, err);
        CHECK(c == NULL);
        CHECK_CONTAINS(intune_scep_error_message(err), rows[i].want);
        CHECK_NOT_CONTAINS(intune_scep_error_message(err), KEY_PASSWORD);
        intune_scep_error_free(err);
        intune_scep_config_free(cfg);
    }
}

static void test_unregistered_certificate_refused(void) {
    th_emu_reset(emu);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_CLIENT_CERT_FILE", stranger_cert, "AAD_CLIENT_KEY_FILE",
                              stranger_key, NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tx-stranger", csr->b64, err), INTUNE_SCEP_E_AUTH, err);
    CHECK_STR(intune_scep_error_service_code(err), "invalid_client");
    CHECK(intune_scep_error_aadsts_code(err) != 0);
    CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
    CHECK_STR(intune_scep_error_transaction_id(err), "tx-stranger");
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

/* ---- proxy ---- */

static void test_proxy_with_basic_auth(void) {
    th_emu_reset(emu);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"PROXY_HOST", "127.0.0.1", "PROXY_PORT", proxy_port, "PROXY_USER", PROXY_USER,
                              "PROXY_PASS", PROXY_SECRET, NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tx-proxy", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_LOG_NO_SECRET(&log, PROXY_SECRET, "log");
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

static void test_proxy_refuses_wrong_password(void) {
    th_emu_reset(emu);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"PROXY_HOST", "127.0.0.1", "PROXY_PORT", proxy_port, "PROXY_USER", PROXY_USER,
                              "PROXY_PASS", "wr0ng~Pass", NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    intune_scep_error *err = intune_scep_error_new();
    int64_t start = th_now_ms();
    CHECK_STATUS(intune_scep_validate_request(c, "tx-proxy-bad", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "407");
    CHECK_CONTAINS(intune_scep_error_message(err), "PROXY_PASS");
    CHECK_NOT_CONTAINS(intune_scep_error_message(err), "wr0ng~Pass");
    CHECK_LOG_NO_SECRET(&log, "wr0ng~Pass", "log");
    /* A refused proxy is not retried: it answers at once. */
    CHECK(th_now_ms() - start < (int64_t)(2000 * th_time_scale()));
    CHECK_INT(th_emu_request_count(emu, NULL), 0);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

/* NO_PROXY / no_proxy in the environment do not bypass the configured proxy: a proxy that
 * refuses the credentials is still asked (407), and nothing reaches the emulator directly. */
static void test_no_proxy_environment_ignored(void) {
    static const char *const vars[] = {"NO_PROXY", "no_proxy"};
    char *saved[2];
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
    static const char *const values[] = {"*", "127.0.0.1", "127.0.0.1,localhost,::1"};
    for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
        for (int i = 0; i < 2; i++) setenv(vars[i], values[v], 1);
        th_emu_reset(emu);
        const char *const bad[] = {"PROXY_HOST", "127.0.0.1", "PROXY_PORT", proxy_port, "PROXY_USER", PROXY_USER,
                                   "PROXY_PASS", "wr0ng~Pass", NULL};
        intune_scep_client *c = th_emu_client(emu, NULL, bad);
        intune_scep_error *err = intune_scep_error_new();
        CHECK_STATUS(intune_scep_validate_request(c, "tx-no-proxy", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "407");
        CHECK_INT(th_emu_request_count(emu, NULL), 0);
        intune_scep_client_free(c);
        /* and with the right credentials every request goes through the proxy */
        const char *const good[] = {"PROXY_HOST", "127.0.0.1", "PROXY_PORT", proxy_port, "PROXY_USER", PROXY_USER,
                                    "PROXY_PASS", PROXY_SECRET, NULL};
        c = th_emu_client(emu, NULL, good);
        CHECK_STATUS(intune_scep_validate_request(c, "tx-no-proxy-ok", csr->b64, err), INTUNE_SCEP_OK, err);
        intune_scep_client_free(c);
        intune_scep_error_free(err);
        th_note("NO_PROXY=no_proxy=%s: the configured proxy was used", values[v]);
    }
    for (int i = 0; i < 2; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
}

/* Through the proxy, a discovered endpoint the proxy cannot reach (CONNECT answered 502) or whose
 * TLS handshake stalls inside the tunnel is a failed connect: one rediscovery, and the call works. */
static void test_proxy_failed_connect_rediscovers(void) {
    th_listener *stall = th_listener_start(TH_LISTEN_STALL);
    th_listener *gone = th_listener_start(TH_LISTEN_STALL);
    char *closed = th_listener_uri(gone, "ScepRequestValidationFEService");
    th_listener_stop(gone); /* the port is closed now: the proxy answers CONNECT with 502 */
    char *stalled = th_listener_uri(stall, "ScepRequestValidationFEService");
    const char *const targets[] = {closed, stalled};
    const char *const what[] = {"the proxy cannot reach the endpoint (502)", "the TLS handshake stalls in the tunnel"};
    for (int i = 0; i < 2; i++) {
        th_emu_reset(emu);
        const char *const ov[] = {"PROXY_HOST", "127.0.0.1", "PROXY_PORT", proxy_port, "PROXY_USER", PROXY_USER,
                                  "PROXY_PASS", PROXY_SECRET, "CONNECT_TIMEOUT_MS", "500", "TIMEOUT_MS", "8000", NULL};
        intune_scep_client *c = th_emu_client(emu, NULL, ov);
        char *body = th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"%s\"}]}",
                                targets[i]);
        th_emu_fault_respond(emu, "discovery", 200, body, 1);
        intune_scep_error *err = intune_scep_error_new();
        CHECK_STATUS(intune_scep_validate_request(c, "tx-proxy-moved", csr->b64, err), INTUNE_SCEP_OK, err);
        CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
        th_note("%s: one rediscovery, the call worked", what[i]);
        /* always unreachable: a transport error that says so, after the one rediscovery */
        intune_scep_client_free(c);
        th_emu_reset(emu);
        c = th_emu_client(emu, NULL, ov);
        th_emu_fault_respond(emu, "discovery", 200, body, 0);
        CHECK_STATUS(intune_scep_validate_request(c, "tx-proxy-moved-always", csr->b64, err), INTUNE_SCEP_E_TRANSPORT,
                     err);
        CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        if (i == 0) CHECK_CONTAINS(intune_scep_error_message(err), "could not reach");
        else CHECK_CONTAINS(intune_scep_error_message(err), "CONNECT_TIMEOUT_MS");
        CHECK_NOT_CONTAINS(intune_scep_error_message(err), PROXY_SECRET);
        intune_scep_error_free(err);
        intune_scep_client_free(c);
        free(body);
    }
    free(closed);
    free(stalled);
    th_listener_stop(stall);
}

/* ---- revocation ---- */

static void test_revocation_round_trip(void) {
    th_emu_reset(emu);
    cJSON *queued = th_emu_call(emu, "POST", "revocations",
                                "{\"requests\":[{\"serialNumber\":\"0A1B2C\",\"issuerName\":\"CN=Contoso CA\"},"
                                "{\"serialNumber\":\"FF\",\"issuerName\":\"CN=Contoso CA\",\"caConfiguration\":\"ca01\\\\Contoso\"},"
                                "{\"serialNumber\":\"01\",\"issuerName\":\"CN=Other CA\"}]}",
                                NULL);
    cJSON_Delete(queued);
    intune_scep_client *c = th_emu_client(emu, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_revocation_requests *list = NULL;
    CHECK_STATUS(intune_scep_download_revocation_requests(c, 10, "CN=Contoso CA", &list, err), INTUNE_SCEP_OK, err);
    REQUIRE(list != NULL);
    REQUIRE(intune_scep_revocation_requests_count(list) == 2);
    CHECK_STR(intune_scep_revocation_requests_serial_number(list, 0), "0A1B2C");
    CHECK(intune_scep_revocation_requests_ca_configuration(list, 0) == NULL);
    CHECK_STR(intune_scep_revocation_requests_ca_configuration(list, 1), "ca01\\Contoso");
    CHECK(intune_scep_revocation_requests_serial_number(list, 2) == NULL);
    cJSON *reqs = th_emu_requests(emu, "downloadRevocationRequests");
    const cJSON *r0 = th_item(reqs, 0);
    CHECK_STR(th_req_header(r0, "api-version"), "5019-05-05");
    CHECK(th_is_uuid(th_req_header(r0, "client-request-id")));
    cJSON *body = cJSON_Parse(th_req_body(r0));
    cJSON *want = cJSON_Parse("{\"downloadParameters\":{\"maxRequests\":10,\"issuerName\":\"CN=Contoso CA\"}}");
    CHECK(cJSON_Compare(body, want, 1));
    cJSON_Delete(body);
    cJSON_Delete(want);
    cJSON_Delete(reqs);

    intune_scep_revocation_results *res = intune_scep_revocation_results_new();
    CHECK_STATUS(intune_scep_revocation_results_add(res, intune_scep_revocation_requests_request_context(list, 0), 1,
                                                    NULL, NULL, err),
                 INTUNE_SCEP_OK, err);
    CHECK_STATUS(intune_scep_revocation_results_add(res, intune_scep_revocation_requests_request_context(list, 1), 0,
                                                    "4004", "certificate not found", err),
                 INTUNE_SCEP_OK, err);
    /* Results that do not fit together are refused before anything is sent. */
    CHECK_STATUS(intune_scep_revocation_results_add(res, "ctx", 1, "4000", NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_STATUS(intune_scep_revocation_results_add(res, "ctx", 0, "0", NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_STATUS(intune_scep_revocation_results_add(res, "ctx", 0, NULL, NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_STATUS(intune_scep_revocation_results_add(res, "", 1, NULL, NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "request_context");
    CHECK_INT(intune_scep_revocation_results_count(res), 2);
    CHECK_STATUS(intune_scep_upload_revocation_results(c, res, err), INTUNE_SCEP_OK, err);
    cJSON *uploaded = th_emu_call(emu, "GET", "revocation_results", NULL, NULL);
    CHECK_INT(cJSON_GetArraySize(uploaded), 2);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(th_item(uploaded, 0), "known_request")));
    CHECK_STR(th_json_str(th_item(uploaded, 1), "errorCode"), "4004");
    cJSON_Delete(uploaded);

    /* Arguments and answers that must fail. */
    intune_scep_revocation_requests *none = NULL;
    CHECK_STATUS(intune_scep_download_revocation_requests(c, 0, NULL, &none, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_STATUS(intune_scep_download_revocation_requests(c, 501, NULL, &none, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "max_requests");
    intune_scep_revocation_results *empty = intune_scep_revocation_results_new();
    CHECK_STATUS(intune_scep_upload_revocation_results(c, empty, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    th_emu_fault_respond(emu, "uploadRevocationResults", 200, "{\"value\":false}", 1);
    CHECK_STATUS(intune_scep_upload_revocation_results(c, res, err), INTUNE_SCEP_E_REJECTED, err);
    th_emu_fault_respond(emu, "uploadRevocationResults", 200, "{\"value\":\"true\"}", 1);
    CHECK_STATUS(intune_scep_upload_revocation_results(c, res, err), INTUNE_SCEP_E_PROTOCOL, err);
    th_emu_fault_respond(emu, "downloadRevocationRequests", 200, "{\"value\":[{\"serialNumber\":\"01\"}]}", 1);
    CHECK_STATUS(intune_scep_download_revocation_requests(c, 5, NULL, &none, err), INTUNE_SCEP_E_PROTOCOL, err);
    CHECK(none == NULL);
    th_emu_fault_respond(emu, "downloadRevocationRequests", 500, "{}", 0);
    CHECK_STATUS(intune_scep_download_revocation_requests(c, 5, NULL, &none, err), INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 500);
    CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
    cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));

    intune_scep_revocation_results_free(empty);
    intune_scep_revocation_results_free(res);
    intune_scep_revocation_requests_free(list);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

static void setup(void) {
    app = th_ca_new("Contoso SCEP connector");
    stranger = th_ca_new("Not registered");
    app_cert = write_cert(app->cert, "app.pem");
    app_key = write_key(app->key, "app.key", NULL);
    app_key_encrypted = write_key(app->key, "app-encrypted.key", KEY_PASSWORD);
    stranger_cert = write_cert(stranger->cert, "stranger.pem");
    stranger_key = write_key(stranger->key, "stranger.key", NULL);
    EVP_PKEY *fresh = EVP_RSA_gen(2048); /* test CAs may share a key: this one is surely another */
    REQUIRE(fresh != NULL);
    other_key = write_key(fresh, "other.key", NULL);
    EVP_PKEY_free(fresh);
    const char *const args[] = {"--client-cert-file", app_cert, NULL};
    emu = th_emu_start(args);
    csr = th_emu_device_csr(emu, "CN=credentials,O=Contoso");
    start_proxy();
}

static void teardown(void) {
    stop_proxy();
    th_csr_free(csr);
    th_emu_stop(emu);
    th_ca_free(app);
    th_ca_free(stranger);
    free(app_cert);
    free(app_key);
    free(app_key_encrypted);
    free(stranger_cert);
    free(stranger_key);
    free(other_key);
}

static const th_test tests[] = {
    {"certificate_credential", test_certificate_credential},
    {"certificate_credential_encrypted_key", test_certificate_credential_encrypted_key},
    {"certificate_credential_config_errors", test_certificate_credential_config_errors},
    {"unregistered_certificate_refused", test_unregistered_certificate_refused},
    {"proxy_with_basic_auth", test_proxy_with_basic_auth},
    {"proxy_refuses_wrong_password", test_proxy_refuses_wrong_password},
    {"no_proxy_environment_ignored", test_no_proxy_environment_ignored},
    {"proxy_failed_connect_rediscovers", test_proxy_failed_connect_rediscovers},
    {"revocation_round_trip", test_revocation_round_trip},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
