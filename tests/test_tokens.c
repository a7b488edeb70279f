/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tokens (protocol.md §2): the exact token request, one token per resource while
 * it is fresh, refresh ahead of expiry, one refetch on a 401, the identity
 * platform's refusal surfaced (invalid_client, AADSTS 7000215) without any
 * secret in a message or a log line, and rotating the app key on a live client.
 */
#include "harness.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static th_emu *emu;
static th_csr *csr;

#define ROTATED_SECRET "r0tated~Secret+With/Form=Chars&x"

/* ---- form decoding ---- */

static char *url_decode(const char *s, size_t n) {
    char *o = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            o[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            o[k++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = 0;
    return o;
}

/* The decoded value of `field` in an x-www-form-urlencoded body (malloc'd), or NULL. */
static char *form_field(const char *body, const char *field) {
    if (!body) return NULL;
    size_t fl = strlen(field);
    const char *p = body;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq) {
            char *name = url_decode(p, (size_t)(eq - p));
            int match = strlen(name) == fl && memcmp(name, field, fl) == 0;
            free(name);
            if (match) return url_decode(eq + 1, len - (size_t)(eq + 1 - p));
        }
        if (!amp) break;
        p = amp + 1;
    }
    return NULL;
}

static int count_fields(const char *body) {
    int n = body && *body ? 1 : 0;
    for (const char *p = body; p && *p; p++)
        if (*p == '&') n++;
    return n;
}

static intune_scep_client *new_client(th_log *log, const char *const *overrides) {
    th_emu_reset(emu);
    return th_emu_client(emu, log, overrides);
}

static int validate(intune_scep_client *c, const char *tid, intune_scep_error *err) {
    return intune_scep_validate_request(c, tid, csr->b64, err);
}

static void test_token_request_exact(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(validate(c, "tid-tok-exact", err), INTUNE_SCEP_OK, err);
    cJSON *toks = th_emu_requests(emu, "token");
    REQUIRE(cJSON_GetArraySize(toks) == 2);
    cJSON *call = th_emu_requests(emu, "validateRequest");
    const char *call_id = th_req_header(th_item(call, 0), "client-request-id");
    int saw_graph = 0, saw_intune = 0;
    char *want_path = th_strdupf("/%s/oauth2/v2.0/token", th_emu_cfg(emu, "TENANT"));
    char *graph_scope = th_strdupf("%s.default", th_emu_cfg(emu, "MS_GRAPH_RESOURCE_URL"));
    for (int i = 0; i < 2; i++) {
        const cJSON *r = th_item(toks, i);
        CHECK_STR(th_json_str(r, "method"), "POST");
        CHECK_STR(th_json_str(r, "path"), want_path);
        const char *ct = th_req_header(r, "content-type");
        CHECK(ct && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0);
        const char *id = th_req_header(r, "client-request-id");
        CHECK(th_is_uuid(id));
        if (id && call_id) CHECK(strcmp(id, call_id) != 0); /* its own fresh id */
        CHECK(th_req_header(r, "authorization") == NULL);
        const char *body = th_req_body(r);
        char *gt = form_field(body, "grant_type"), *cid = form_field(body, "client_id");
        char *sec = form_field(body, "client_secret"), *scope = form_field(body, "scope");
        CHECK_STR(gt, "client_credentials");
        CHECK_STR(cid, th_emu_cfg(emu, "AAD_APP_ID"));
        if (!sec || strcmp(sec, th_emu_cfg(emu, "AAD_APP_KEY")) != 0) th_fail(__FILE__, __LINE__, "client_secret is not the app key");
        CHECK_INT(count_fields(body), 4);
        if (scope && strcmp(scope, "https://api.manage.microsoft.com//.default") == 0) saw_intune++;
        else if (scope && strcmp(scope, graph_scope) == 0) saw_graph++;
        else th_fail(__FILE__, __LINE__, "unexpected scope %s", scope ? scope : "NULL");
        free(gt);
        free(cid);
        free(sec);
        free(scope);
    }
    CHECK_INT(saw_graph, 1);
    CHECK_INT(saw_intune, 1);
    /* The Graph token was asked for before discovery; discovery came before the call. */
    cJSON *all = th_emu_requests(emu, NULL);
    CHECK_STR(th_json_str(th_item(all, 0), "endpoint"), "token");
    CHECK_STR(th_json_str(th_item(all, 1), "endpoint"), "discovery");
    CHECK_STR(th_json_str(th_item(all, cJSON_GetArraySize(all) - 1), "endpoint"), "validateRequest");
    /* token and discovery events are logged at debug level, without secrets */
    cJSON *seen = th_emu_seen_tokens(emu);
    CHECK(cJSON_GetArraySize(seen) == 2);
    const cJSON *t;
    cJSON_ArrayForEach(t, seen) CHECK_LOG_NO_SECRET(&log, t->valuestring, "an access token");
    CHECK_LOG_NO_SECRET(&log, th_emu_cfg(emu, "AAD_APP_KEY"), "the app key");
    cJSON_Delete(seen);
    cJSON_Delete(all);
    free(want_path);
    free(graph_scope);
    cJSON_Delete(call);
    cJSON_Delete(toks);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void test_token_cached(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    for (int i = 0; i < 10; i++) {
        char tid[32];
        snprintf(tid, sizeof tid, "tid-cache-%d", i);
        CHECK_STATUS(validate(c, tid, err), INTUNE_SCEP_OK, err);
        CHECK_STATUS(intune_scep_send_failure_notification(c, tid, csr->b64, 0x80004005LL, "x", err), INTUNE_SCEP_OK, err);
    }
    CHECK_INT(th_emu_token_requests(emu, "graph"), 1);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 1);
    CHECK_INT(th_emu_request_count(emu, "token"), 2);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 1);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 10);
    CHECK_INT(th_emu_request_count(emu, "failureNotification"), 10);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_token_refreshed_before_expiry(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    /* Tokens live 4 s: the client renews ahead (at most half the lifetime). */
    th_emu_settings(emu, "{\"token_lifetime\": 4}");
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(validate(c, "tid-refresh-1", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 1);
    th_sleep_ms(2600);
    /* still valid for ~1.4 s, but inside the margin: renewed before use, no 401 */
    REQUIRE_STATUS(validate(c, "tid-refresh-2", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 2);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 2);
    /* and in between no extra token is fetched */
    REQUIRE_STATUS(validate(c, "tid-refresh-3", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 2);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_401_recovery(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(validate(c, "tid-401-1", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 1);
    th_emu_expire_tokens(emu);
    CHECK_STATUS(validate(c, "tid-401-2", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 2); /* exactly one new Intune token */
    CHECK_INT(th_emu_token_requests(emu, "graph"), 1);  /* discovery stays cached */
    cJSON *calls = th_emu_requests(emu, "validateRequest");
    CHECK_INT(cJSON_GetArraySize(calls), 3); /* ok, 401, ok */
    /* both attempts of the second call carry one activity id */
    CHECK_STR(th_req_header(th_item(calls, 1), "client-request-id"), th_req_header(th_item(calls, 2), "client-request-id"));
    CHECK(strcmp(th_req_header(th_item(calls, 1), "authorization"), th_req_header(th_item(calls, 2), "authorization")) != 0);
    cJSON_Delete(calls);
    /* a 401 is refreshed once, on top of MAX_RETRIES, and then it is an HTTP error */
    th_emu_fault_respond(emu, "validateRequest", 401, "{\"error\":\"unauthorized\"}", 0);
    long before = th_emu_token_requests(emu, "intune");
    int before_calls = th_emu_request_count(emu, "validateRequest");
    CHECK_STATUS(validate(c, "tid-401-3", err), INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 401);
    CHECK_INT(th_emu_token_requests(emu, "intune") - before, 1);
    CHECK_INT(th_emu_request_count(emu, "validateRequest") - before_calls, 2);
    CHECK_NO_SECRETS(emu, intune_scep_error_message(err), "the error message");
    CHECK_NO_SECRETS(emu, intune_scep_error_response_body(err), "the response body copy");
    cJSON *seen = th_emu_seen_tokens(emu);
    const cJSON *t;
    cJSON_ArrayForEach(t, seen) CHECK_LOG_NO_SECRET(&log, t->valuestring, "an access token");
    cJSON_Delete(seen);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void check_auth_error(const char *file, int line, intune_scep_error *err, const char *wrong_secret) {
    if (intune_scep_error_status(err) != INTUNE_SCEP_E_AUTH) {
        th_fail(file, line, "status %s, want INTUNE_SCEP_E_AUTH", intune_scep_status_name(intune_scep_error_status(err)));
        return;
    }
    th_check_str(file, line, "service code", intune_scep_error_service_code(err), "invalid_client");
    if (intune_scep_error_aadsts_code(err) != 7000215)
        th_fail(file, line, "aadsts code %ld, want 7000215", intune_scep_error_aadsts_code(err));
    const char *d = intune_scep_error_description(err);
    th_check_contains(file, line, "description", d, "AADSTS7000215", 1);
    const char *m = intune_scep_error_message(err);
    if (!m || !*m) th_fail(file, line, "empty message");
    if (m && strchr(m, '\n')) th_fail(file, line, "the message is more than one line");
    /* an administrator can tell what is wrong from the message alone */
    if (m && !strstr(m, "invalid_client") && !strstr(m, "7000215"))
        th_fail(file, line, "the message names neither invalid_client nor AADSTS7000215: %s", m);
    if (m && strstr(m, wrong_secret)) th_fail(file, line, "the message holds the wrong secret");
    if (d && strstr(d, wrong_secret)) th_fail(file, line, "the description holds the wrong secret");
    const char *b = intune_scep_error_response_body(err);
    if (b && strstr(b, wrong_secret)) th_fail(file, line, "the response body holds the wrong secret");
}

static void test_wrong_secret(void) {
    static const char wrong[] = "Wrong~Secret+/=123";
    th_register_secret(wrong);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"AAD_APP_KEY", wrong, NULL};
    intune_scep_client *c = new_client(&log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(validate(c, "tid-wrong-secret", err), INTUNE_SCEP_E_AUTH, err);
    check_auth_error(__FILE__, __LINE__, err, wrong);
    CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
    CHECK_STR(intune_scep_error_transaction_id(err), "tid-wrong-secret");
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 0);
    /* the log tells an administrator too, at WARNING or above, without the secret */
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "invalid_client", NULL) +
              th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "7000215", NULL) >= 1);
    CHECK_LOG_NO_SECRET(&log, wrong, "the wrong secret");
    CHECK_LOG_NO_SECRET(&log, th_emu_cfg(emu, "AAD_APP_KEY"), "the app key");

    /* the diagnostic call says the same */
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_E_AUTH, err);
    check_auth_error(__FILE__, __LINE__, err, wrong);
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_E_AUTH, err);
    check_auth_error(__FILE__, __LINE__, err, wrong);
    /* the secret never reached the recorded request in clear text other than as the form field */
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void test_token_endpoint_failures(void) {
    static const struct {
        int status;
        const char *body;
    } cases[] = {
        {200, "not json"},
        {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599}"},
        {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"\"}"},
        {200, "[]"},
        {400, "{\"error\":\"invalid_request\",\"error_description\":\"AADSTS900144: The request body must contain the following parameter: 'grant_type'.\",\"error_codes\":[900144]}"},
        {401, "{\"error\":\"unauthorized_client\",\"error_description\":\"AADSTS700016: Application not found in the directory.\",\"error_codes\":[700016]}"},
        {400, "<html>bad</html>"},
    };
    intune_scep_error *err = intune_scep_error_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        intune_scep_client *c = new_client(NULL, NULL);
        th_emu_fault_respond(emu, "token", cases[i].status, cases[i].body, 0);
        th_note("token answer %d %s", cases[i].status, cases[i].body);
        CHECK_STATUS(validate(c, "tid-token-fail", err), INTUNE_SCEP_E_AUTH, err);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        if (i == 4) {
            CHECK_STR(intune_scep_error_service_code(err), "invalid_request");
            CHECK_INT(intune_scep_error_aadsts_code(err), 900144);
            CHECK_CONTAINS(intune_scep_error_description(err), "AADSTS900144");
        }
        if (i == 5) {
            CHECK_STR(intune_scep_error_service_code(err), "unauthorized_client");
            CHECK_INT(intune_scep_error_aadsts_code(err), 700016);
        }
        intune_scep_client_free(c);
    }
    /* a 5xx from the token endpoint is retried within the budget */
    intune_scep_client *c = new_client(NULL, NULL);
    th_emu_fault_respond(emu, "token", 503, "{\"error\":\"temporarily_unavailable\"}", 1);
    CHECK_STATUS(validate(c, "tid-token-503", err), INTUNE_SCEP_OK, err);
    intune_scep_client_free(c);
    /* the token endpoint unreachable: a transport error */
    const char *const ov[] = {"AUTH_AUTHORITY", "https://127.0.0.1:1/", "TIMEOUT_MS", "3000", NULL};
    c = new_client(NULL, ov);
    CHECK_STATUS(validate(c, "tid-token-unreachable", err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(intune_scep_error_http_status(err), 0);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

static void test_fetch_token_diagnostic(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "graph"), 1);
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "graph"), 2); /* bypasses the cache */
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 1);
    /* ... and refreshes it: the next call uses the fetched tokens */
    CHECK_STATUS(validate(c, "tid-fetch", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "graph"), 2);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 1);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_app_key_rotation(void) {
    th_register_secret(ROTATED_SECRET);
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(validate(c, "tid-rot-1", err), INTUNE_SCEP_OK, err);
    /* The administrator rotates the secret in Entra ID: the old one stops working. */
    char *settings = th_strdupf("{\"app_secret\":\"%s\"}", ROTATED_SECRET);
    th_emu_settings(emu, settings);
    free(settings);
    th_emu_expire_tokens(emu);
    CHECK_STATUS(validate(c, "tid-rot-2", err), INTUNE_SCEP_E_AUTH, err);
    CHECK_STR(intune_scep_error_service_code(err), "invalid_client");
    CHECK_INT(intune_scep_error_aadsts_code(err), 7000215);
    /* ... and the SCEP server takes the new one without a restart. */
    CHECK_STATUS(intune_scep_client_set_app_key(c, ROTATED_SECRET, err), INTUNE_SCEP_OK, err);
    long before = th_emu_token_requests(emu, "intune");
    CHECK_STATUS(validate(c, "tid-rot-3", err), INTUNE_SCEP_OK, err);
    CHECK(th_emu_token_requests(emu, "intune") > before);
    /* the new secret went form-encoded (+ / = ~ &) and decodes exactly */
    cJSON *toks = th_emu_requests(emu, "token");
    const cJSON *last = th_item(toks, cJSON_GetArraySize(toks) - 1);
    char *sec = form_field(th_req_body(last), "client_secret");
    if (!sec || strcmp(sec, ROTATED_SECRET) != 0) th_fail(__FILE__, __LINE__, "client_secret is not the rotated key");
    free(sec);
    cJSON_Delete(toks);
    /* rotating drops cached tokens even while they are still valid */
    before = th_emu_token_requests(emu, "intune");
    CHECK_STATUS(intune_scep_client_set_app_key(c, ROTATED_SECRET, err), INTUNE_SCEP_OK, err);
    CHECK_STATUS(validate(c, "tid-rot-4", err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune") - before, 1);
    CHECK_LOG_NO_SECRET(&log, ROTATED_SECRET, "the rotated app key");
    CHECK_LOG_NO_SECRET(&log, th_emu_cfg(emu, "AAD_APP_KEY"), "the app key");
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
    /* restore the emulator's secret for the other tests */
    settings = th_strdupf("{\"app_secret\":\"%s\"}", th_emu_cfg(emu, "AAD_APP_KEY"));
    th_emu_settings(emu, settings);
    free(settings);
}

static void setup(void) {
    emu = th_emu_start(NULL);
    csr = th_emu_device_csr(emu, "CN=tokens,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"token_request_exact", test_token_request_exact},
    {"token_cached", test_token_cached},
    {"token_refreshed_before_expiry", test_token_refreshed_before_expiry},
    {"401_recovery", test_401_recovery},
    {"wrong_secret", test_wrong_secret},
    {"token_endpoint_failures", test_token_endpoint_failures},
    {"fetch_token_diagnostic", test_fetch_token_diagnostic},
    {"app_key_rotation", test_app_key_rotation},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
