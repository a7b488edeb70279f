/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The opt-in transport hook (intune_scep_config_set_transport): every request of
 * a client goes through the callback, which here performs the exchange with a
 * libcurl handle of its own trusting a CA of its choosing. The library keeps
 * retries, Retry-After, the deadline, the 1 MiB cap, the token refresh, the
 * rediscovery and the verdict; what the callback reports is checked fail-closed.
 */
#include "harness.h"

#include <pthread.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static th_emu *emu;
static th_csr *csr;

typedef struct {
    const char *ca_file;  /* what the callback trusts (NULL: libcurl's default store) */
    int fail_first;       /* report this failure kind for the first fail_count exchanges */
    int fail_count;
    int no_status;        /* return 0 without a status */
    int bad_status;       /* report this status instead of the real one */
    int ignore_cap;       /* keep appending past the 1 MiB refusal and return 0 with the status */
    int fail_after_ok;    /* report the answer, then also a failure, and return 0 */
    int saw_http_url;     /* a URL that is not https:// reached the callback */
    long late_ms;         /* sleep this long after the exchange */
    pthread_mutex_t mu;
    int calls;
    int saw_expect;       /* an "Expect:" line was passed */
    int last_headers_have_request_id;
    long last_connect_ms, last_timeout_ms;
    char methods[64];
} hook_state;

typedef struct {
    intune_scep_transport_response *resp;
    int stopped;
    int ignore_cap;
} body_ctx;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
    body_ctx *b = userp;
    if (intune_scep_transport_response_append_body(b->resp, data, size * nmemb) != INTUNE_SCEP_OK &&
        !b->ignore_cap) {
        b->stopped = 1;
        return 0;
    }
    return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userp) {
    body_ctx *b = userp;
    size_t n = size * nitems;
    char line[256];
    if (n < sizeof line) {
        memcpy(line, data, n);
        line[n] = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            char *v = colon + 1;
            v[strcspn(v, "\r\n")] = '\0';
            intune_scep_transport_response_add_header(b->resp, line, v);
        }
    }
    return n;
}

static int test_transport(void *userdata, const char *method, const char *url, const char *const *headers,
                          size_t header_count, const char *body, size_t body_len, long connect_timeout_ms,
                          long timeout_ms, intune_scep_transport_response *response) {
    hook_state *s = userdata;
    pthread_mutex_lock(&s->mu);
    int n = ++s->calls;
    if (strlen(s->methods) + 2 < sizeof s->methods) strcat(s->methods, method[0] == 'G' ? "G" : "P");
    s->last_connect_ms = connect_timeout_ms;
    s->last_timeout_ms = timeout_ms;
    s->last_headers_have_request_id = 0;
    if (strncmp(url, "https://", 8) != 0) s->saw_http_url = 1;
    for (size_t i = 0; i < header_count; i++) {
        if (strcmp(headers[i], "Expect:") == 0) s->saw_expect = 1;
        if (strncmp(headers[i], "client-request-id: ", 19) == 0) s->last_headers_have_request_id = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (s->fail_first && n <= s->fail_count) {
        intune_scep_transport_response_fail(response, s->fail_first, "scripted failure");
        return 1;
    }
    CURL *e = curl_easy_init();
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < header_count; i++) list = curl_slist_append(list, headers[i]);
    list = curl_slist_append(list, "Expect:");
    body_ctx b = {response, 0, s->ignore_cap};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &b);
    if (s->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    curl_slist_free_all(list);
    if (s->late_ms) th_sleep_ms(s->late_ms);
    if (b.stopped) return 1;
    if (cc != CURLE_OK) {
        int kind = INTUNE_SCEP_TRANSPORT_E_OTHER;
        if (cc == CURLE_COULDNT_CONNECT) kind = INTUNE_SCEP_TRANSPORT_E_CONNECT;
        else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR) kind = INTUNE_SCEP_TRANSPORT_E_TLS;
        else if (cc == CURLE_OPERATION_TIMEDOUT) kind = INTUNE_SCEP_TRANSPORT_E_TIMEOUT;
        else if (cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE)
            kind = INTUNE_SCEP_TRANSPORT_E_CLOSED;
        intune_scep_transport_response_fail(response, kind, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return 1;
    }
    if (s->no_status) return 0;
    intune_scep_transport_response_set_status(response, s->bad_status ? s->bad_status : status);
    if (s->fail_after_ok) intune_scep_transport_response_fail(response, INTUNE_SCEP_TRANSPORT_E_CLOSED, "late failure");
    return 0;
}

static void hook_init(hook_state *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->ca_file = emu->ca_file;
}

/* A client on the emulator whose transport is the hook; TLS_CA_FILE is not set: the hook trusts. */
static intune_scep_client *hook_client(hook_state *s, th_log *log, const char *const *more) {
    const char *overrides[16] = {"TLS_CA_FILE", NULL};
    int k = 2;
    for (int i = 0; more && more[i] && k < 14; i++) overrides[k++] = more[i];
    intune_scep_config *cfg = th_emu_config(emu, log, overrides);
    intune_scep_config_set_transport(cfg, test_transport, s);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *c = NULL;
    int rc = intune_scep_client_new(cfg, &c, err);
    intune_scep_config_free(cfg);
    if (!CHECK_STATUS(rc, INTUNE_SCEP_OK, err)) {
        intune_scep_error_free(err);
        th_abort_test();
    }
    intune_scep_error_free(err);
    return c;
}

static void test_every_request_goes_through_the_hook(void) {
    th_emu_reset(emu);
    hook_state s;
    hook_init(&s);
    intune_scep_client *c = hook_client(&s, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-hook", csr->b64, err), INTUNE_SCEP_OK, err);
    /* token (Graph), discovery, token (Intune), validateRequest */
    CHECK_INT(s.calls, th_emu_request_count(emu, NULL));
    CHECK_INT(s.calls, 4);
    CHECK_STR(s.methods, "PGPP");
    CHECK(!s.saw_expect);
    CHECK(s.last_headers_have_request_id);
    CHECK(s.last_connect_ms > 0 && s.last_connect_ms <= 10000);
    CHECK(s.last_timeout_ms > 0 && s.last_timeout_ms <= 30000);
    CHECK_STATUS(intune_scep_send_failure_notification(c, "tid-hook", csr->b64, 1, "x", err), INTUNE_SCEP_OK, err);
    CHECK_INT(s.calls, 5);

    /* revocation calls too */
    long st = 0;
    cJSON *q = th_emu_call(emu, "POST", "revocations",
                           "{\"requests\":[{\"serialNumber\":\"0A\",\"issuerName\":\"CN=Hook CA\"}]}", &st);
    CHECK_INT(st, 200);
    cJSON_Delete(q);
    intune_scep_revocation_requests *list = NULL;
    CHECK_STATUS(intune_scep_download_revocation_requests(c, 10, "CN=Hook CA", &list, err), INTUNE_SCEP_OK, err);
    REQUIRE(list && intune_scep_revocation_requests_count(list) == 1);
    intune_scep_revocation_results *res = intune_scep_revocation_results_new();
    CHECK_STATUS(intune_scep_revocation_results_add(res, intune_scep_revocation_requests_request_context(list, 0), 1,
                                                    NULL, NULL, err),
                 INTUNE_SCEP_OK, err);
    CHECK_STATUS(intune_scep_upload_revocation_results(c, res, err), INTUNE_SCEP_OK, err);
    CHECK_INT(s.calls, 7); /* download and upload: the service map and the Intune token are cached */
    intune_scep_revocation_results_free(res);
    intune_scep_revocation_requests_free(list);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_untrusted_is_a_tls_error_and_nothing_arrives(void) {
    th_emu_reset(emu);
    hook_state s;
    hook_init(&s);
    th_ca *other = th_ca_new("Some Other CA");
    char *path = th_strdupf("%s/other-ca.pem", th_tmpdir());
    X509 *certs[] = {other->cert, NULL};
    th_write_pem_bundle(path, certs);
    s.ca_file = path;
    intune_scep_client *c = hook_client(&s, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-untrusted", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "TLS");
    CHECK_INT(s.calls, 1); /* a TLS failure is final */
    CHECK_INT(th_emu_request_count(emu, NULL), 0);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    free(path);
    th_ca_free(other);
}

static void test_retries_and_retry_after(void) {
    th_emu_reset(emu);
    hook_state s;
    hook_init(&s);
    intune_scep_client *c = hook_client(&s, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-warm", csr->b64, err), INTUNE_SCEP_OK, err);
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "validateRequest", 503, "{}", 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-503", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *v = th_emu_requests(emu, "validateRequest");
    CHECK_INT(cJSON_GetArraySize(v), 2);
    CHECK_STR(th_req_header(th_item(v, 0), "client-request-id"), th_req_header(th_item(v, 1), "client-request-id"));
    cJSON_Delete(v);

    th_emu_reset(emu);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"status\":429,\"body\":\"{}\",\"headers\":{\"Retry-After\":\"1\"},\"times\":1}");
    int64_t t0 = th_now_ms();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-429", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK(th_now_ms() - t0 >= 950); /* the Retry-After the hook reported was honoured */

    /* a 401 refreshes the token once; a 404 rediscovers once */
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "validateRequest", 401, "{}", 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-401", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "token"), 1);
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "validateRequest", 404, "{}", 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-404", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK(th_emu_request_count(emu, "discovery") >= 1);

    /* 500 beyond the budget stays an HTTP error with the body kept */
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "validateRequest", 500, "{\"error\":\"down\"}", 0);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-500", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 500);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 3);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_verdict_stays_in_the_core(void) {
    th_emu_reset(emu);
    hook_state s;
    hook_init(&s);
    intune_scep_client *c = hook_client(&s, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-warm", csr->b64, err), INTUNE_SCEP_OK, err);
    th_emu_fault_respond(emu, "validateRequest", 200, "not json", 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-notjson", csr->b64, err), INTUNE_SCEP_E_PROTOCOL, err);
    th_emu_fault_respond(emu, "validateRequest", 200, "{\"code\":\"ChallengeExpired\"}", 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-code", csr->b64, err), INTUNE_SCEP_E_REJECTED, err);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"action\":\"oversize\",\"times\":1}");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-big", csr->b64, err), INTUNE_SCEP_E_PROTOCOL, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "1 MiB");
    th_emu_fault_respond(emu, "uploadRevocationResults", 200, "{\"value\":false}", 1);
    intune_scep_revocation_results *res = intune_scep_revocation_results_new();
    intune_scep_revocation_results_add(res, "ctx", 1, NULL, NULL, err);
    CHECK_STATUS(intune_scep_upload_revocation_results(c, res, err), INTUNE_SCEP_E_REJECTED, err);
    intune_scep_revocation_results_free(res);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_callback_misbehaviour_fails_closed(void) {
    th_emu_reset(emu);
    hook_state s;
    hook_init(&s);
    s.no_status = 1; /* returns 0 but never says what the answer was */
    intune_scep_client *c = hook_client(&s, NULL, (const char *const[]){"MAX_RETRIES", "0", NULL});
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-nostatus", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "no HTTP status");
    intune_scep_client_free(c);

    hook_init(&s);
    s.bad_status = 1000;
    c = hook_client(&s, NULL, NULL);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-badstatus", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "1000");
    intune_scep_client_free(c);

    /* an answer after the deadline is a timeout, even a Success */
    hook_init(&s);
    s.late_ms = 700;
    c = hook_client(&s, NULL, (const char *const[]){"TIMEOUT_MS", "500", NULL});
    CHECK_STATUS(intune_scep_validate_request(c, "tid-late", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "TIMEOUT_MS");
    intune_scep_client_free(c);

    /* a failure without a kind is final and says so */
    hook_init(&s);
    s.fail_first = 99;
    s.fail_count = 100;
    c = hook_client(&s, NULL, NULL);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-other", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "scripted failure");
    CHECK_INT(s.calls, 1);
    intune_scep_client_free(c);

    /* a body the callback keeps appending past 1 MiB is refused, whatever it returns */
    hook_init(&s);
    s.ignore_cap = 1;
    c = hook_client(&s, NULL, NULL);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-warm", csr->b64, err), INTUNE_SCEP_OK, err);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"action\":\"oversize\",\"times\":1}");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-ignored-cap", csr->b64, err), INTUNE_SCEP_E_PROTOCOL, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "1 MiB");
    intune_scep_client_free(c);

    /* an answer and a failure: a failure, even when the callback returns 0 */
    hook_init(&s);
    s.fail_after_ok = 1;
    c = hook_client(&s, NULL, (const char *const[]){"MAX_RETRIES", "0", NULL});
    CHECK_STATUS(intune_scep_validate_request(c, "tid-both", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "late failure");
    intune_scep_client_free(c);

    /* a discovered http:// URL never reaches the callback */
    hook_init(&s);
    c = hook_client(&s, NULL, (const char *const[]){"MAX_RETRIES", "0", NULL});
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "discovery", 200,
                         "{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\","
                         "\"uri\":\"http://127.0.0.1:9/ScepRequestValidationFEService\"}]}", 0);
    CHECK(intune_scep_validate_request(c, "tid-http", csr->b64, err) != INTUNE_SCEP_OK);
    CHECK(!s.saw_http_url);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
    intune_scep_client_free(c);

    /* the response setters refuse NULL */
    CHECK_INT(intune_scep_transport_response_set_status(NULL, 200), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_transport_response_append_body(NULL, "x", 1), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_transport_response_add_header(NULL, "a", "b"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    intune_scep_transport_response_fail(NULL, 1, "x");
    intune_scep_config_set_transport(NULL, test_transport, NULL);
    intune_scep_error_free(err);
}

static void test_connect_failures_are_retried(void) {
    th_emu_reset(emu);
    hook_state s;
    hook_init(&s);
    s.fail_first = INTUNE_SCEP_TRANSPORT_E_CONNECT;
    s.fail_count = 2;
    intune_scep_client *c = hook_client(&s, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-connect", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(s.calls, 6); /* two failed connects retried, then token, discovery, token, call */

    hook_init(&s);
    s.fail_first = INTUNE_SCEP_TRANSPORT_E_CLOSED;
    s.fail_count = 100;
    intune_scep_client_free(c);
    c = hook_client(&s, NULL, NULL);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-closed", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "closed");
    CHECK_INT(s.calls, 3); /* MAX_RETRIES 2 */
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_threads_share_a_hooked_client(void);

static void setup(void) {
    emu = th_emu_start(NULL);
    csr = th_emu_device_csr(emu, "CN=hook,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

typedef struct {
    intune_scep_client *c;
    int ok;
} worker_arg;

static void *worker(void *p) {
    worker_arg *a = p;
    intune_scep_error *err = intune_scep_error_new();
    for (int i = 0; i < 10; i++)
        if (intune_scep_validate_request(a->c, "tid-thread", csr->b64, err) == INTUNE_SCEP_OK) a->ok++;
    intune_scep_error_free(err);
    return NULL;
}

static void test_threads_share_a_hooked_client(void) {
    th_emu_reset(emu);
    hook_state s;
    hook_init(&s);
    intune_scep_client *c = hook_client(&s, NULL, NULL);
    pthread_t t[8];
    worker_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i].c = c;
        args[i].ok = 0;
        pthread_create(&t[i], NULL, worker, &args[i]);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += args[i].ok;
    }
    CHECK_INT(ok, 80);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 80);
    CHECK_INT(s.calls, th_emu_request_count(emu, NULL));
    intune_scep_client_free(c);
}

static const th_test tests[] = {
    {"every_request_goes_through_the_hook", test_every_request_goes_through_the_hook},
    {"untrusted_is_a_tls_error_and_nothing_arrives", test_untrusted_is_a_tls_error_and_nothing_arrives},
    {"retries_and_retry_after", test_retries_and_retry_after},
    {"verdict_stays_in_the_core", test_verdict_stays_in_the_core},
    {"callback_misbehaviour_fails_closed", test_callback_misbehaviour_fails_closed},
    {"connect_failures_are_retried", test_connect_failures_are_retried},
    {"threads_share_a_hooked_client", test_threads_share_a_hooked_client},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
