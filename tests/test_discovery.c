/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service discovery (protocol.md §3): the exact Graph request, @odata.nextLink
 * pagination, case-insensitive names, serviceName of the retired Azure AD Graph,
 * first entry wins, a missing service, caching, and rediscovery when Intune moves
 * the tenant (404 of a discovered URL) with the caller seeing one call that worked.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static th_emu *emu;
static th_csr *csr;

static intune_scep_client *new_client(th_log *log, const char *const *overrides) {
    th_emu_reset(emu);
    return th_emu_client(emu, log, overrides);
}

static char *scep_uri(void) { return th_strdupf("%sScepRequestValidationFEService", emu->base_url); }

static void test_discovery_request_exact(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-disc-1", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *d = th_emu_requests(emu, "discovery");
    REQUIRE(cJSON_GetArraySize(d) == 1);
    const cJSON *r = th_item(d, 0);
    CHECK_STR(th_json_str(r, "method"), "GET");
    CHECK_STR(th_json_str(r, "path"), "/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints");
    const char *auth = th_req_header(r, "authorization");
    CHECK(auth && strncmp(auth, "Bearer ", 7) == 0 && strlen(auth) > 7);
    CHECK(th_is_uuid(th_req_header(r, "client-request-id")));
    cJSON *v = th_emu_requests(emu, "validateRequest");
    CHECK(strcmp(th_req_header(r, "client-request-id"), th_req_header(th_item(v, 0), "client-request-id")) != 0);
    /* the Graph token is not the Intune token */
    CHECK(strcmp(auth, th_req_header(th_item(v, 0), "authorization")) != 0);
    cJSON_Delete(v);
    cJSON_Delete(d);
    /* cached: further calls do not discover again */
    for (int i = 0; i < 5; i++) CHECK_STATUS(intune_scep_validate_request(c, "tid-disc-2", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 1);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_discover_diagnostic(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    char *want = scep_uri();
    char *uri = NULL;
    CHECK_STATUS(intune_scep_client_discover(c, "ScepRequestValidationFEService", &uri, err), INTUNE_SCEP_OK, err);
    CHECK_STR(uri, want);
    intune_scep_string_free(uri);
    uri = NULL;
    /* case-insensitive */
    CHECK_STATUS(intune_scep_client_discover(c, "sceprequestvalidationfeservice", &uri, err), INTUNE_SCEP_OK, err);
    CHECK_STR(uri, want);
    intune_scep_string_free(uri);
    uri = NULL;
    char *pki = th_strdupf("%sPkiConnectorFEService", emu->base_url);
    CHECK_STATUS(intune_scep_client_discover(c, "PkiConnectorFEService", &uri, err), INTUNE_SCEP_OK, err);
    CHECK_STR(uri, pki);
    intune_scep_string_free(uri);
    free(pki);
    /* each diagnostic call drops the map and discovers again */
    CHECK_INT(th_emu_request_count(emu, "discovery"), 3);
    /* a missing service: its own status, and the message lists what was found */
    uri = (char *)"untouched";
    CHECK_STATUS(intune_scep_client_discover(c, "NoSuchService", &uri, err), INTUNE_SCEP_E_SERVICE_NOT_FOUND, err);
    CHECK(uri == NULL);
    CHECK_CONTAINS(intune_scep_error_message(err), "NoSuchService");
    CHECK_CONTAINS(intune_scep_error_message(err), "ScepRequestValidationFEService");
    free(want);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_mixed_case_names(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    th_emu_settings(emu, "{\"mixed_case_names\": true}");
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-mixed", csr->b64, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_pagination(void) {
    /* an emulator started with one discovery entry per page, the two services far apart */
    const char *const args[] = {"--page-size", "1", "--extra-endpoints", "6", NULL};
    th_emu *paged = th_emu_start(args);
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = th_emu_client(paged, &log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    th_csr *pcsr = th_emu_device_csr(paged, "CN=paged,O=Contoso");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-page", pcsr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *d = th_emu_requests(paged, "discovery");
    int n = cJSON_GetArraySize(d);
    th_note("%d discovery pages read", n);
    /* The SCEP service is not on the first page: the client followed @odata.nextLink. */
    CHECK(n >= 2);
    int with_token = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, d) {
        const char *q = th_json_str(r, "query");
        if (q && strstr(q, "skiptoken")) with_token++;
        const char *auth = th_req_header(r, "authorization");
        CHECK(auth && strncmp(auth, "Bearer ", 7) == 0);
        CHECK(th_is_uuid(th_req_header(r, "client-request-id")));
    }
    CHECK_INT(with_token, n - 1);
    cJSON_Delete(d);
    /* The revocation service is found on the pages too. */
    char *uri = NULL;
    char *pki = th_strdupf("%sPkiConnectorFEService", paged->base_url);
    CHECK_STATUS(intune_scep_client_discover(c, "PkiConnectorFEService", &uri, err), INTUNE_SCEP_OK, err);
    CHECK_STR(uri, pki);
    intune_scep_string_free(uri);
    free(pki);
    /* the same through the settings of a running emulator */
    th_emu_reset(emu);
    th_emu_settings(emu, "{\"page_size\": 2, \"extra_endpoints\": 9}");
    intune_scep_client *c2 = th_emu_client(emu, NULL, NULL);
    CHECK_STATUS(intune_scep_validate_request(c2, "tid-page-2", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK(th_emu_request_count(emu, "discovery") >= 2);
    intune_scep_client_free(c2);
    CHECK_LOG_NO_SECRET(&log, th_emu_cfg(paged, "AAD_APP_KEY"), "the app key");
    th_csr_free(pcsr);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
    th_emu_stop(paged);
}

static void discovery_answer(const char *value_json) {
    char *body = th_strdupf("{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#endpoints\",\"value\":%s}",
                            value_json);
    th_emu_fault_respond(emu, "discovery", 200, body, 0);
    free(body);
}

static void test_missing_service(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    discovery_answer("[{\"providerName\":\"SomeOtherService\",\"uri\":\"https://127.0.0.1:1/Other\"},"
                     "{\"providerName\":\"PkiConnectorFEService\",\"uri\":\"https://127.0.0.1:1/Pki\"}]");
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-missing", csr->b64, err), INTUNE_SCEP_E_SERVICE_NOT_FOUND, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "ScepRequestValidationFEService");
    CHECK_STR(intune_scep_error_transaction_id(err), "tid-missing");
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
    /* the log lists the names that were found */
    CHECK(th_log_count(&log, 0, "SomeOtherService", NULL) >= 1);
    /* an empty list */
    th_emu_reset(emu);
    discovery_answer("[]");
    char *uri = NULL;
    CHECK_STATUS(intune_scep_client_discover(c, "ScepRequestValidationFEService", &uri, err), INTUNE_SCEP_E_SERVICE_NOT_FOUND,
                 err);
    CHECK(uri == NULL);
    intune_scep_string_free(uri);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void test_discovery_answers_not_trusted(void) {
    static const char *const bodies[] = {"not json", "{\"value\":\"nope\"}", "[]", "{}"};
    intune_scep_error *err = intune_scep_error_new();
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        intune_scep_client *c = new_client(NULL, NULL);
        th_emu_fault_respond(emu, "discovery", 200, bodies[i], 0);
        th_note("discovery answer %s", bodies[i]);
        int rc = intune_scep_validate_request(c, "tid-bad-disc", csr->b64, err);
        CHECK(rc != INTUNE_SCEP_OK);
        CHECK(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_SERVICE_NOT_FOUND);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        intune_scep_client_free(c);
    }
    /* Graph answering 403 (no Application.Read.All) is an HTTP error with the body */
    intune_scep_client *c = new_client(NULL, NULL);
    th_emu_fault_respond(emu, "discovery", 403,
                         "{\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":\"Insufficient privileges\"}}", 0);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-403", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 403);
    CHECK_CONTAINS(intune_scep_error_response_body(err), "Authorization_RequestDenied");
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

static void test_service_name_first_wins_unknown_fields(void) {
    char *real = scep_uri();
    intune_scep_error *err = intune_scep_error_new();
    /* the retired Azure AD Graph's serviceName; unknown fields; duplicates: the first wins */
    char *value = th_strdupf("[{\"id\":\"x\",\"capability\":\"Other\",\"serviceName\":\"Unrelated\",\"uri\":\"https://127.0.0.1:1/U\","
                             "\"newField\":{\"a\":[1,2]}},"
                             "{\"serviceName\":\"ScepRequestValidationFEService\",\"uri\":\"%s\",\"whatever\":true},"
                             "{\"providerName\":\"SCEPREQUESTVALIDATIONFESERVICE\",\"uri\":\"https://127.0.0.1:1/Wrong\"}]",
                             real);
    intune_scep_client *c = new_client(NULL, NULL);
    discovery_answer(value);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-first-wins", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
    intune_scep_client_free(c);
    free(value);
    free(real);
    intune_scep_error_free(err);
}

static void test_stale_endpoint(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-stale-1", csr->b64, err), INTUNE_SCEP_OK, err);
    char *new_uri = th_emu_move_endpoint(emu, "ScepRequestValidationFEService");
    REQUIRE(new_uri != NULL);
    th_log_clear(&log);
    /* the caller sees one call that worked */
    CHECK_STATUS(intune_scep_validate_request(c, "tid-stale-2", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    cJSON *v = th_emu_requests(emu, "validateRequest");
    REQUIRE(cJSON_GetArraySize(v) == 3);
    const cJSON *stale = th_item(v, 1), *fresh = th_item(v, 2);
    CHECK_INT(cJSON_GetObjectItemCaseSensitive(stale, "status")->valueint, 404);
    CHECK_STR(th_req_header(stale, "client-request-id"), th_req_header(fresh, "client-request-id"));
    const char *id = th_req_header(fresh, "client-request-id");
    /* the second attempt went to the new URI */
    const char *path = th_json_str(fresh, "path");
    const char *new_path = strstr(new_uri, "://") ? strchr(strstr(new_uri, "://") + 3, '/') : NULL;
    CHECK(path && new_path && strncmp(path, new_path, strlen(new_path)) == 0);
    /* One line tells of the move (INFO+, with the activity id) and one line sums up the
     * call: activity id, transaction id, the new URL, HTTP 200, two attempts. */
    size_t moved = th_log_count(&log, INTUNE_SCEP_LOG_INFO, id, "HTTP 404", NULL); /* not "404": a port may hold it */
    size_t summary = th_log_count(&log, INTUNE_SCEP_LOG_INFO, id, "tid-stale-2", new_uri, "200", "attempts=2", NULL);
    size_t all = th_log_count(&log, INTUNE_SCEP_LOG_INFO, id, NULL);
    if (moved != 1 || summary != 1 || all != 2) {
        th_fail(__FILE__, __LINE__, "log lines with the activity id: %zu about the 404 (want 1), %zu call summaries (want 1), "
                "%zu in all (want 2)", moved, summary, all);
        th_log_dump(&log);
    }
    /* and the next calls go straight to the new URI */
    CHECK_STATUS(intune_scep_validate_request(c, "tid-stale-3", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 4);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    cJSON_Delete(v);
    free(new_uri);
    /* A 404 that persists after rediscovery is an HTTP error, retried once only. */
    th_emu_fault_respond(emu, "validateRequest", 404, "{\"error\":\"nope\"}", 0);
    int before = th_emu_request_count(emu, "validateRequest");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-stale-4", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 404);
    CHECK_INT(th_emu_request_count(emu, "validateRequest") - before, 2);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 3);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void test_graph_version_key(void) {
    /* MS_GRAPH_API_VERSION "v1.0" is used as it is; "beta" too */
    const char *const v1[] = {"MS_GRAPH_API_VERSION", "v1.0", NULL};
    intune_scep_client *c = new_client(NULL, v1);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-v1", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *d = th_emu_requests(emu, "discovery");
    CHECK_STR(th_json_str(th_item(d, 0), "path"), "/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints");
    cJSON_Delete(d);
    intune_scep_client_free(c);
    const char *const beta[] = {"MS_GRAPH_API_VERSION", "beta", NULL};
    c = new_client(NULL, beta);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-beta", csr->b64, err), INTUNE_SCEP_OK, err);
    d = th_emu_requests(emu, "discovery");
    CHECK_STR(th_json_str(th_item(d, 0), "path"), "/beta/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints");
    cJSON_Delete(d);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

static void setup(void) {
    emu = th_emu_start(NULL);
    csr = th_emu_device_csr(emu, "CN=discovery,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"discovery_request_exact", test_discovery_request_exact},
    {"discover_diagnostic", test_discover_diagnostic},
    {"mixed_case_names", test_mixed_case_names},
    {"pagination", test_pagination},
    {"missing_service", test_missing_service},
    {"discovery_answers_not_trusted", test_discovery_answers_not_trusted},
    {"service_name_first_wins_unknown_fields", test_service_name_first_wins_unknown_fields},
    {"stale_endpoint", test_stale_endpoint},
    {"graph_version_key", test_graph_version_key},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
