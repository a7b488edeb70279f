/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed connects and the service map's life: a connection on which nothing was sent
 * (a TCP handshake that never completes, a TLS handshake that stalls or is reset) is
 * retried and rediscovers like a refused one, and its message names the setting that
 * expired; the service map is refreshed after SERVICE_MAP_LIFETIME_MS by one thread
 * while the others keep using it, and dropped at once when the URI it gives is unusable.
 */
#include "harness.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static th_emu *emu;
static th_csr *csr;

static long margin_ms(long base) { return (long)(base * th_time_scale()); }

static void point_discovery_at(const char *uri, int times) {
    char *body = th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"%s\"},"
                            "{\"providerName\":\"PkiConnectorFEService\",\"uri\":\"%sPkiConnectorFEService\"}]}",
                            uri, emu->base_url);
    th_emu_fault_respond(emu, "discovery", 200, body, times);
    free(body);
}

static const char *kind_name(th_listen_kind k) {
    return k == TH_LISTEN_STALL ? "TLS handshake stalls" : k == TH_LISTEN_BLACKHOLE ? "TCP handshake black-holed"
                                                                                     : "reset in the TLS handshake";
}

/* Discovery gives a dead endpoint first, the real one on the rediscovery: one call that works. */
static void test_failed_connect_rediscovers(void) {
    const th_listen_kind kinds[] = {TH_LISTEN_STALL, TH_LISTEN_BLACKHOLE, TH_LISTEN_RESET};
    for (int k = 0; k < 3; k++) {
        th_listener *l = th_listener_start(kinds[k]);
        char *dead = th_listener_uri(l, "ScepRequestValidationFEService");
        th_emu_reset(emu);
        th_log log;
        th_log_init(&log);
        const char *const ov[] = {"TIMEOUT_MS", "8000", "CONNECT_TIMEOUT_MS", "500", NULL};
        intune_scep_client *c = th_emu_client(emu, &log, ov);
        point_discovery_at(dead, 1);
        intune_scep_error *err = intune_scep_error_new();
        int64_t t0 = th_now_ms();
        CHECK_STATUS(intune_scep_validate_request(c, "tid-dead-first", csr->b64, err), INTUNE_SCEP_OK, err);
        long el = (long)(th_now_ms() - t0);
        th_note("%s: OK after %ld ms, %ld connection(s) accepted by the dead endpoint", kind_name(kinds[k]), el,
                th_listener_accepted(l));
        CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
        if (kinds[k] != TH_LISTEN_BLACKHOLE) CHECK_INT(th_listener_accepted(l), 1);
        /* one connect timeout at most, not the call's deadline */
        CHECK(el < 500 + margin_ms(2500));
        CHECK(th_log_count(&log, INTUNE_SCEP_LOG_INFO, "discovering it again", NULL) == 1);
        /* the next call goes straight to the real endpoint */
        CHECK_STATUS(intune_scep_validate_request(c, "tid-dead-next", csr->b64, err), INTUNE_SCEP_OK, err);
        CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
        intune_scep_error_free(err);
        intune_scep_client_free(c);
        th_log_destroy(&log);
        free(dead);
        th_listener_stop(l);
    }
}

/* Always dead: retried within MAX_RETRIES after the one rediscovery; the message names CONNECT_TIMEOUT_MS. */
static void test_failed_connect_retried_message(void) {
    const th_listen_kind kinds[] = {TH_LISTEN_STALL, TH_LISTEN_BLACKHOLE, TH_LISTEN_RESET};
    for (int k = 0; k < 3; k++) {
        th_listener *l = th_listener_start(kinds[k]);
        char *dead = th_listener_uri(l, "ScepRequestValidationFEService");
        th_emu_reset(emu);
        const char *const ov[] = {"TIMEOUT_MS", "10000", "CONNECT_TIMEOUT_MS", "300", "MAX_RETRIES", "2", NULL};
        intune_scep_client *c = th_emu_client(emu, NULL, ov);
        point_discovery_at(dead, 0);
        intune_scep_error *err = intune_scep_error_new();
        int64_t t0 = th_now_ms();
        CHECK_STATUS(intune_scep_validate_request(c, "tid-dead-always", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
        long el = (long)(th_now_ms() - t0);
        const char *msg = intune_scep_error_message(err);
        th_note("%s always: %ld ms, %ld accepted: %s", kind_name(kinds[k]), el, th_listener_accepted(l), msg);
        CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        /* 1 attempt, the rediscovery, 1 attempt, 2 retries */
        if (kinds[k] != TH_LISTEN_BLACKHOLE) CHECK_INT(th_listener_accepted(l), 4);
        CHECK(el < margin_ms(6000)); /* four connect timeouts and two backoffs, far below TIMEOUT_MS */
        if (kinds[k] == TH_LISTEN_RESET) {
            CHECK_CONTAINS(msg, "TLS handshake failed");
        } else {
            CHECK_CONTAINS(msg, "CONNECT_TIMEOUT_MS");
            CHECK_CONTAINS(msg, "300 ms");
            CHECK_NOT_CONTAINS(msg, "(TIMEOUT_MS)");
        }
        CHECK_INT(intune_scep_error_http_status(err), 0);
        intune_scep_error_free(err);
        intune_scep_client_free(c);
        free(dead);
        th_listener_stop(l);
    }
}

/* A token endpoint that stalls is retried within MAX_RETRIES (no rediscovery there), named right. */
static void test_token_endpoint_stall_retried(void) {
    th_listener *l = th_listener_start(TH_LISTEN_STALL);
    char *authority = th_listener_uri(l, "");
    th_emu_reset(emu);
    const char *const ov[] = {"AUTH_AUTHORITY", authority, "TIMEOUT_MS", "10000", "CONNECT_TIMEOUT_MS", "300",
                              "MAX_RETRIES", "1", NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-token-stall", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(th_listener_accepted(l), 2);
    CHECK_CONTAINS(intune_scep_error_message(err), "CONNECT_TIMEOUT_MS");
    CHECK_NOT_CONTAINS(intune_scep_error_message(err), "(TIMEOUT_MS)");
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    free(authority);
    th_listener_stop(l);
}

/* When the deadline is what ends the connect, the message names TIMEOUT_MS. */
static void test_deadline_named_when_it_expires(void) {
    th_listener *l = th_listener_start(TH_LISTEN_STALL);
    char *dead = th_listener_uri(l, "ScepRequestValidationFEService");
    th_emu_reset(emu);
    const char *const ov[] = {"TIMEOUT_MS", "1500", "CONNECT_TIMEOUT_MS", "60000", NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    point_discovery_at(dead, 0);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-deadline", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "TIMEOUT_MS");
    CHECK_NOT_CONTAINS(intune_scep_error_message(err), "CONNECT_TIMEOUT_MS");
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    free(dead);
    th_listener_stop(l);
}

/* A request that went out and got no answer is not a failed connect: no rediscovery. */
static void test_no_answer_is_not_a_failed_connect(void) {
    th_emu_reset(emu);
    const char *const ov[] = {"TIMEOUT_MS", "1500", "CONNECT_TIMEOUT_MS", "1000", "MAX_RETRIES", "2", NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"times\":0,\"action\":\"hang\"}");
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-hang", csr->b64, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 1);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
    CHECK_CONTAINS(intune_scep_error_message(err), "(TIMEOUT_MS)");
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* ---- the service map's lifetime ---- */

static void test_service_map_lifetime(void) {
    th_emu_reset(emu);
    const char *const ov[] = {"SERVICE_MAP_LIFETIME_MS", "1000", "TIMEOUT_MS", "8000", NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-life-1", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-life-2", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 1);
    th_sleep_ms(1300);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-life-3", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-life-4", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    /* the key is checked and named */
    intune_scep_config *cfg = th_emu_config(emu, NULL, (const char *const[]){"SERVICE_MAP_LIFETIME_MS", "999", NULL});
    intune_scep_client *bad = NULL;
    err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_new(cfg, &bad, err), INTUNE_SCEP_E_CONFIG, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "SERVICE_MAP_LIFETIME_MS");
    CHECK(bad == NULL);
    intune_scep_error_free(err);
    intune_scep_config_free(cfg);
}

typedef struct {
    intune_scep_client *c;
    int rc;
    atomic_int done;
} call_arg;

static void *call_thread(void *p) {
    call_arg *a = p;
    intune_scep_error *err = intune_scep_error_new();
    a->rc = intune_scep_validate_request(a->c, "tid-refresher", csr->b64, err);
    intune_scep_error_free(err);
    atomic_store(&a->done, 1);
    return NULL;
}

/* One thread refreshes the map (slowly); the others keep using the old one meanwhile. */
static void test_service_map_refreshed_by_one_thread(void) {
    th_emu_reset(emu);
    const char *const ov[] = {"SERVICE_MAP_LIFETIME_MS", "1000", "TIMEOUT_MS", "10000", NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-one-1", csr->b64, err), INTUNE_SCEP_OK, err);
    th_sleep_ms(1300);
    /* the refresh answers after 3 s, with the real services */
    char *body = th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":"
                            "\"%sScepRequestValidationFEService\"},{\"providerName\":\"PkiConnectorFEService\",\"uri\":"
                            "\"%sPkiConnectorFEService\"}]}", emu->base_url, emu->base_url);
    cJSON *fault = cJSON_CreateObject();
    cJSON_AddStringToObject(fault, "endpoint", "discovery");
    cJSON_AddNumberToObject(fault, "times", 1);
    cJSON_AddNumberToObject(fault, "status", 200);
    cJSON_AddNumberToObject(fault, "delay_ms", 3000);
    cJSON_AddStringToObject(fault, "body", body);
    char *fj = cJSON_PrintUnformatted(fault);
    th_emu_fault(emu, fj);
    call_arg a = {c, -1, 0};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, call_thread, &a) == 0);
    /* wait until the refresh is under way */
    for (int i = 0; i < 300 && th_emu_request_count(emu, "discovery") < 2; i++) th_sleep_ms(10);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(intune_scep_validate_request(c, "tid-one-others", csr->b64, err), INTUNE_SCEP_OK, err);
    /* the four calls did not wait for the refresh */
    CHECK_INT(atomic_load(&a.done), 0);
    pthread_join(t, NULL);
    CHECK_STATUS(a.rc, INTUNE_SCEP_OK, NULL);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 6);
    cJSON_Delete(fault);
    free(fj);
    free(body);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* A refresh that fails leaves the old map in use (tried again 30 s later), never an outage. */
static void test_service_map_refresh_failure_keeps_map(void) {
    th_emu_reset(emu);
    const char *const ov[] = {"SERVICE_MAP_LIFETIME_MS", "1000", "TIMEOUT_MS", "8000", "MAX_RETRIES", "0", NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-keep-1", csr->b64, err), INTUNE_SCEP_OK, err);
    th_sleep_ms(1300);
    th_emu_fault_respond(emu, "discovery", 503, "", 0);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-keep-2", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-keep-3", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* A URI that cannot be used drops the map at once: the next call discovers again. */
static void test_unusable_uri_drops_the_map(void) {
    const char *const uris[] = {"http://127.0.0.1:1/ScepRequestValidationFEService", "https://[::1/Scep",
                                "https://127.0.0.1:99999/ScepRequestValidationFEService", "https://bad host/Scep",
                                "ftp://127.0.0.1/Scep"};
    for (size_t i = 0; i < sizeof uris / sizeof *uris; i++) {
        th_emu_reset(emu);
        th_log log;
        th_log_init(&log);
        intune_scep_client *c = th_emu_client(emu, &log, NULL);
        point_discovery_at(uris[i], 1);
        intune_scep_error *err = intune_scep_error_new();
        CHECK_STATUS(intune_scep_validate_request(c, "tid-unusable", csr->b64, err), INTUNE_SCEP_E_PROTOCOL, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "ScepRequestValidationFEService a URI that");
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        CHECK(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "service map is dropped", NULL) == 1);
        /* the next call discovers again and works */
        CHECK_STATUS(intune_scep_validate_request(c, "tid-after-unusable", csr->b64, err), INTUNE_SCEP_OK, err);
        CHECK_INT(th_emu_request_count(emu, "discovery"), 2);
        th_note("%s: refused, dropped, rediscovered", uris[i]);
        intune_scep_error_free(err);
        intune_scep_client_free(c);
        th_log_destroy(&log);
    }
}

static void setup(void) {
    emu = th_emu_start(NULL);
    csr = th_emu_device_csr(emu, "CN=connect,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"failed_connect_rediscovers", test_failed_connect_rediscovers},
    {"failed_connect_retried_message", test_failed_connect_retried_message},
    {"token_endpoint_stall_retried", test_token_endpoint_stall_retried},
    {"deadline_named_when_it_expires", test_deadline_named_when_it_expires},
    {"no_answer_is_not_a_failed_connect", test_no_answer_is_not_a_failed_connect},
    {"service_map_lifetime", test_service_map_lifetime},
    {"service_map_refreshed_by_one_thread", test_service_map_refreshed_by_one_thread},
    {"service_map_refresh_failure_keeps_map", test_service_map_refresh_failure_keeps_map},
    {"unusable_uri_drops_the_map", test_unusable_uri_drops_the_map},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
