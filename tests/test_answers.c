/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answers that must not pass, and what a failed answer may say.
 *
 *  - An answer with the same member name twice in one object, or a NUL (a \u0000 escape
 *    in a member name or a string value, or a raw NUL byte), says two things at once:
 *    every reader refuses it with INTUNE_SCEP_E_PROTOCOL and reads nothing from it
 *    (SCEP verdicts, token answers and token errors, discovery pages, error bodies,
 *    revocation downloads and the revocation upload verdict).
 *  - A failed call never reports the service code Success, and no log line of it says
 *    code=Success.
 *  - Retry-After as an HTTP date however far in the future (UBSan-clean).
 *  - Transaction ids in messages and log lines are cut at a character boundary.
 *  - The log sink is never called with a cache lock held: a blocked sink does not stall
 *    another thread's call.
 *  - A warning about an unknown configuration key never prints a stray value.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static th_emu *emu;
static th_csr *csr;

static intune_scep_client *new_client(th_log *log, const char *const *overrides) {
    th_emu_reset(emu);
    return th_emu_client(emu, log, overrides);
}

/* 1 when `s` is valid UTF-8 (no overlong forms, no surrogates). */
static int utf8_ok(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n = (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (*p == 0xC0 || *p == 0xC1)) return 0;
        for (int i = 1; i <= n; i++)
            if ((p[i] & 0xC0) != 0x80) return 0;
        p += n + 1;
    }
    return 1;
}

static int call_kind(intune_scep_client *c, int kind, const char *tid, intune_scep_error *err) {
    switch (kind) {
    case 0: return intune_scep_validate_request(c, tid, csr->b64, err);
    case 1:
        return intune_scep_send_success_notification(c, tid, csr->b64, "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678", "01AB",
                                                     "2027-06-11T16:11:20.000Z", "CN=CA", NULL, NULL, err);
    default: return intune_scep_send_failure_notification(c, tid, csr->b64, (int64_t)0x80004005u, "failed", err);
    }
}

static const char *const endpoints[] = {"validateRequest", "successNotification", "failureNotification"};

/* No log line says code=Success and the error reports no code Success (a rejection: not exactly Success). */
static void check_no_success_code(const char *file, int line, th_log *log, int rc, const intune_scep_error *err) {
    const char *code = intune_scep_error_service_code(err);
    if (code && (rc == INTUNE_SCEP_E_REJECTED ? strcmp(code, "Success") == 0 : strcasecmp(code, "Success") == 0))
        th_fail(file, line, "a failed call (%s) reports the service code \"%s\"", intune_scep_status_name(rc), code);
    if (log && th_log_count(log, 0, "code=Success", NULL) != 0) {
        th_log_dump(log);
        th_fail(file, line, "a log line of a failed call says code=Success");
    }
}
#define CHECK_NO_SUCCESS_CODE(log, rc, err) check_no_success_code(__FILE__, __LINE__, (log), (rc), (err))

/* ---- SCEP verdicts ---- */

static void test_scep_untrusted_members(void) {
    static const char *const bodies[] = {
        "{\"code\":\"Success\",\"code\":\"ChallengeExpired\"}",
        "{\"code\":\"ChallengeExpired\",\"code\":\"Success\"}",
        "{\"code\":\"Success\",\"code\":\"Success\"}",
        "{\"code\":\"Success\\u0000ChallengeExpired\"}",
        "{\"code\\u0000x\":\"Success\"}",
        "{\"code\\u0000\":\"ChallengeExpired\",\"code\":\"Success\"}",
        "{\"code\":\"Success\",\"errorDescription\":\"a\\u0000b\"}",
        "{\"code\":\"Success\",\"co\\u0064e\":\"Unknown\"}",
        "{\"code\":\"Success\",\"detail\":{\"a\":[{\"b\":1,\"b\":2}]}}",
        "{\"code\":\"Success\",\"errorDescription\":\"\",\"errorDescription\":null}",
        "{\"code\":\"Success\",\"x\":\"\\\\\\u0000\"}", /* an escaped backslash, then \u0000 */
    };
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
            th_emu_reset(emu);
            th_log_clear(&log);
            th_emu_fault_respond(emu, endpoints[kind], 200, bodies[i], 1);
            int rc = call_kind(c, kind, "tid-untrusted-member", err);
            if (rc != INTUNE_SCEP_E_PROTOCOL) th_note("%s answering %s", endpoints[kind], bodies[i]);
            CHECK_STATUS(rc, INTUNE_SCEP_E_PROTOCOL, err);
            CHECK(intune_scep_error_service_code(err) == NULL);
            CHECK_INT(intune_scep_error_http_status(err), 200);
            CHECK_CONTAINS(intune_scep_error_message(err), "cannot be trusted");
            CHECK_STR(intune_scep_error_response_body(err), bodies[i]);
            CHECK_INT(th_emu_request_count(emu, endpoints[kind]), 1);
            CHECK_NO_SUCCESS_CODE(&log, rc, err);
        }
        /* A raw NUL byte cuts the string as an escape does (the fault's JSON carries it as \u0000). */
        th_emu_reset(emu);
        char *fault = th_strdupf("{\"endpoint\":\"%s\",\"status\":200,\"body\":\"{\\\"code\\\":\\\"Success\\u0000X\\\"}\","
                                 "\"times\":1}", endpoints[kind]);
        th_emu_fault(emu, fault);
        free(fault);
        CHECK_STATUS(call_kind(c, kind, "tid-raw-nul", err), INTUNE_SCEP_E_PROTOCOL, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "NUL");
    }
    /* What is not a duplicate nor a NUL still passes: one name at two depths, names differing in case,
     * an escaped backslash followed by the text u0000, a \u0000 in no string at all. */
    static const char *const fine[] = {
        "{\"code\":\"Success\",\"detail\":{\"code\":\"Other\"}}",
        "{\"code\":\"Success\",\"Code\":\"Other\"}",
        "{\"code\":\"Success\",\"errorDescription\":\"a\\\\u0000b\"}",
        "{\"code\":\"Success\",\"list\":[{\"a\":1},{\"a\":2}]}",
    };
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        th_emu_reset(emu);
        th_emu_fault_respond(emu, "validateRequest", 200, fine[i], 1);
        int rc = intune_scep_validate_request(c, "tid-fine", csr->b64, err);
        if (rc != INTUNE_SCEP_OK) th_note("answer %s", fine[i]);
        CHECK_STATUS(rc, INTUNE_SCEP_OK, err);
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

/* ---- what a failed answer may say ---- */

static void test_http_error_never_reports_success(void) {
    static const struct {
        int status;
        const char *body;
        int want;
    } cases[] = {
        {500, "{\"code\":\"Success\",\"errorDescription\":\"an HTTP error\"}", INTUNE_SCEP_E_HTTP},
        {400, "{\"code\":\"Success\"}", INTUNE_SCEP_E_HTTP},
        {403, "{\"error\":{\"code\":\"Success\",\"message\":\"an HTTP error\"}}", INTUNE_SCEP_E_HTTP},
        {422, "{\"error\":\"success\",\"error_description\":\"an HTTP error\"}", INTUNE_SCEP_E_HTTP},
        {409, "{\"code\":\"Success \\t\"}", INTUNE_SCEP_E_HTTP},
        {400, "{\"code\":\"BadRequest\",\"code\":\"Success\"}", INTUNE_SCEP_E_PROTOCOL},
        {400, "{\"code\":\"Success\\u0000BadRequest\"}", INTUNE_SCEP_E_PROTOCOL},
        /* a 2xx without a string code, whose Graph-style error says Success */
        {200, "{\"error\":{\"code\":\"Success\",\"message\":\"no code member\"}}", INTUNE_SCEP_E_PROTOCOL},
    };
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"MAX_RETRIES", "0", NULL};
    intune_scep_client *c = new_client(&log, ov);
    intune_scep_error *err = intune_scep_error_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        th_emu_reset(emu);
        th_log_clear(&log);
        th_emu_fault_respond(emu, "validateRequest", cases[i].status, cases[i].body, 1);
        int rc = intune_scep_validate_request(c, "tid-http-success", csr->b64, err);
        if (rc != cases[i].want) th_note("answer %d %s", cases[i].status, cases[i].body);
        CHECK_STATUS(rc, cases[i].want, err);
        CHECK_INT(intune_scep_error_http_status(err), cases[i].status);
        CHECK(intune_scep_error_service_code(err) == NULL);
        CHECK_STR(intune_scep_error_response_body(err), cases[i].body);
        CHECK_NO_SUCCESS_CODE(&log, rc, err);
        CHECK(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "tid-http-success", "outcome=", NULL) == 1);
    }
    /* A rejection keeps its code as sent; one that only looks like Success on one line is not shown as it. */
    static const char *const near[] = {"Success ", "Success\t", "Success\n", "success", " Success"};
    for (size_t i = 0; i < sizeof near / sizeof *near; i++) {
        th_emu_reset(emu);
        th_log_clear(&log);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "code", near[i]);
        char *body = cJSON_PrintUnformatted(b);
        th_emu_fault_respond(emu, "validateRequest", 200, body, 1);
        int rc = intune_scep_validate_request(c, "tid-near-success", csr->b64, err);
        CHECK_STATUS(rc, INTUNE_SCEP_E_REJECTED, err);
        CHECK_STR(intune_scep_error_service_code(err), near[i]);
        CHECK_NO_SUCCESS_CODE(&log, rc, err);
        free(body);
        cJSON_Delete(b);
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

/* ---- token answers and token errors ---- */

static void test_token_untrusted(void) {
    static const struct {
        int status;
        const char *body;
        int want;
    } cases[] = {
        {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"EmuTok-a\",\"access_token\":\"EmuTok-b\"}",
         INTUNE_SCEP_E_PROTOCOL},
        {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"expires_in\":\"1\",\"access_token\":\"EmuTok-a\"}",
         INTUNE_SCEP_E_PROTOCOL},
        {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"EmuTok-a\\u0000 b\"}",
         INTUNE_SCEP_E_PROTOCOL},
        {200, "{\"token_type\":\"Bearer\",\"expires_in\":\"3599\\u0000x\",\"access_token\":\"EmuTok-a\"}",
         INTUNE_SCEP_E_PROTOCOL},
        {200, "{\"token_type\\u0000\":\"mac\",\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"EmuTok-a\"}",
         INTUNE_SCEP_E_PROTOCOL},
        {400, "{\"error\":\"invalid_client\",\"error\":\"Success\",\"error_codes\":[7000215]}", INTUNE_SCEP_E_PROTOCOL},
        {401, "{\"error\":\"invalid_client\\u0000\",\"error_description\":\"AADSTS7000215: x\"}", INTUNE_SCEP_E_PROTOCOL},
        {400, "{\"error\":\"Success\",\"error_description\":\"AADSTS7000215: an error\"}", INTUNE_SCEP_E_AUTH},
    };
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        th_emu_reset(emu);
        th_log_clear(&log);
        th_emu_fault_respond(emu, "token", cases[i].status, cases[i].body, 0);
        int rc = intune_scep_validate_request(c, "tid-token-untrusted", csr->b64, err);
        if (rc != cases[i].want) th_note("token answer %d %s", cases[i].status, cases[i].body);
        CHECK_STATUS(rc, cases[i].want, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "token request");
        if (cases[i].want == INTUNE_SCEP_E_PROTOCOL) CHECK_CONTAINS(intune_scep_error_message(err), "cannot be trusted");
        CHECK(intune_scep_error_service_code(err) == NULL);
        CHECK_NOT_CONTAINS(intune_scep_error_message(err), "EmuTok-");
        CHECK_LOG_NO_SECRET(&log, "EmuTok-", "a token of the answer");
        CHECK_NO_SUCCESS_CODE(&log, rc, err);
        CHECK_INT(th_emu_request_count(emu, "token"), 1);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

/* ---- discovery pages ---- */

static void test_discovery_untrusted(void) {
    char *uri = th_strdupf("%sScepRequestValidationFEService", emu->base_url);
    char *bodies[] = {
        th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"%s\",\"uri\":\"https://127.0.0.1:1/x\"}]}", uri),
        th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"providerName\":\"Other\",\"uri\":\"%s\"}]}", uri),
        th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\\u0000x\",\"uri\":\"%s\"}]}", uri),
        th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"%s\\u0000\"}]}", uri),
        th_strdupf("{\"value\":[],\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"%s\"}]}", uri),
        th_strdupf("{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"%s\"}],\"@odata.nextLink\":\"x\",\"@odata.nextLink\":\"y\"}", uri),
    };
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        th_emu_reset(emu);
        th_emu_fault_respond(emu, "discovery", 200, bodies[i], 0);
        int rc = intune_scep_validate_request(c, "tid-discovery-untrusted", csr->b64, err);
        if (rc != INTUNE_SCEP_E_PROTOCOL) th_note("discovery answer %s", bodies[i]);
        CHECK_STATUS(rc, INTUNE_SCEP_E_PROTOCOL, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "cannot be trusted");
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));
        free(bodies[i]);
    }
    /* and a discovery error body that says two things */
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "discovery", 403, "{\"error\":{\"code\":\"Authorization_RequestDenied\",\"code\":\"Success\"}}", 0);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-discovery-403", csr->b64, err), INTUNE_SCEP_E_PROTOCOL, err);
    CHECK_INT(intune_scep_error_http_status(err), 403);
    CHECK(intune_scep_error_service_code(err) == NULL);
    cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));
    free(uri);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* ---- revocation ---- */

static void test_revocation_untrusted(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_revocation_results *res = intune_scep_revocation_results_new();
    REQUIRE_STATUS(intune_scep_revocation_results_add(res, "ctx-1", 1, NULL, NULL, err), INTUNE_SCEP_OK, err);
    static const char *const upload[] = {
        "{\"value\":true,\"value\":false}",
        "{\"value\":false,\"value\":true}",
        "{\"value\":true,\"value\":true}",
        "{\"value\\u0000x\":false,\"value\":true}",
        "{\"value\":true,\"detail\":\"\\u0000\"}",
        "{\"value\":true,\"detail\":{\"a\":1,\"a\":1}}",
    };
    for (size_t i = 0; i < sizeof upload / sizeof *upload; i++) {
        th_emu_reset(emu);
        th_emu_fault_respond(emu, "uploadRevocationResults", 200, upload[i], 1);
        int rc = intune_scep_upload_revocation_results(c, res, err);
        if (rc != INTUNE_SCEP_E_PROTOCOL) th_note("upload verdict %s", upload[i]);
        CHECK_STATUS(rc, INTUNE_SCEP_E_PROTOCOL, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "cannot be trusted");
        CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
    }
    th_emu_reset(emu);
    th_emu_fault_respond(emu, "uploadRevocationResults", 200, "{\"value\":true}", 1);
    CHECK_STATUS(intune_scep_upload_revocation_results(c, res, err), INTUNE_SCEP_OK, err);

    static const char *const download[] = {
        "{\"value\":[{\"requestContext\":\"c\",\"serialNumber\":\"01\",\"serialNumber\":\"02\"}]}",
        "{\"value\":[{\"requestContext\":\"c\",\"serialNumber\":\"01\\u0000\"}]}",
        "{\"value\":[{\"requestContext\":\"c\\u0000d\",\"serialNumber\":\"01\"}]}",
        "{\"value\":[{\"requestContext\":\"c\",\"serialNumber\":\"01\",\"issuerName\":\"CN=A\",\"issuerName\":\"CN=B\"}]}",
        "{\"value\":[],\"value\":[{\"requestContext\":\"c\",\"serialNumber\":\"01\"}]}",
    };
    for (size_t i = 0; i < sizeof download / sizeof *download; i++) {
        th_emu_reset(emu);
        th_emu_fault_respond(emu, "downloadRevocationRequests", 200, download[i], 1);
        intune_scep_revocation_requests *list = NULL;
        int rc = intune_scep_download_revocation_requests(c, 10, NULL, &list, err);
        if (rc != INTUNE_SCEP_E_PROTOCOL) th_note("download answer %s", download[i]);
        CHECK_STATUS(rc, INTUNE_SCEP_E_PROTOCOL, err);
        CHECK(list == NULL);
        CHECK_CONTAINS(intune_scep_error_message(err), "cannot be trusted");
        if (rc == INTUNE_SCEP_OK) intune_scep_revocation_requests_free(list);
    }
    /* an HTTP error of a revocation call never reports Success either */
    th_emu_reset(emu);
    th_log_clear(&log);
    th_emu_fault_respond(emu, "downloadRevocationRequests", 400, "{\"code\":\"Success\"}", 1);
    intune_scep_revocation_requests *none = NULL;
    int rc = intune_scep_download_revocation_requests(c, 10, NULL, &none, err);
    CHECK_STATUS(rc, INTUNE_SCEP_E_HTTP, err);
    CHECK(intune_scep_error_service_code(err) == NULL);
    CHECK_NO_SUCCESS_CODE(&log, rc, err);
    intune_scep_revocation_results_free(res);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

/* ---- Retry-After as a far HTTP date ---- */

static void test_retry_after_far_dates(void) {
    /* curl reads years far beyond 9999; none may overflow the wait (UBSan in the asan build) */
    static const char *const dates[] = {
        "Fri, 31 Dec 9999 23:59:59 GMT",        "Fri, 31 Dec 99999999 23:59:59 GMT",
        "Fri, 31 Dec 999999999 23:59:59 GMT",   "Fri, 31 Dec 2147483647 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",        "Mon, 01 Jan 1600 00:00:00 GMT",
    };
    const char *const ov[] = {"TIMEOUT_MS", "2000", "MAX_RETRIES", "1", NULL};
    intune_scep_client *c = new_client(NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-warm", csr->b64, err), INTUNE_SCEP_OK, err);
    for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
        th_emu_reset(emu);
        char *fault = th_strdupf("{\"endpoint\":\"validateRequest\",\"status\":429,\"body\":\"{}\","
                                 "\"headers\":{\"Retry-After\":\"%s\"},\"times\":0}", dates[i]);
        th_emu_fault(emu, fault);
        free(fault);
        int64_t t0 = th_now_ms();
        int rc = intune_scep_validate_request(c, "tid-far-date", csr->b64, err);
        int64_t el = th_now_ms() - t0;
        CHECK_STATUS(rc, INTUNE_SCEP_E_HTTP, err);
        CHECK_INT(intune_scep_error_http_status(err), 429);
        int n = th_emu_request_count(emu, "validateRequest");
        /* a future date beyond the deadline is not waited for (one request); a past one is retried at once */
        CHECK_INT(n, i < 4 ? 1 : 2);
        th_note("Retry-After: %s -> %d request(s), %lld ms", dates[i], n, (long long)el);
        cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* ---- transaction ids cut at a character boundary ---- */

static void test_transaction_id_cut_at_character(void) {
    /* 127 ASCII bytes, then a 2-byte and a 4-byte character across the 128-byte cut */
    char tid[256];
    memset(tid, 'a', 127);
    strcpy(tid + 127, "\xc3\xa9\xf0\x9f\x98\x80-tail");
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"MAX_RETRIES", "0", NULL};
    intune_scep_client *c = new_client(&log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, tid, csr->b64, err), INTUNE_SCEP_OK, err);
    th_emu_fault_respond(emu, "validateRequest", 200, "{\"code\":\"ChallengeExpired\"}", 1);
    CHECK_STATUS(intune_scep_validate_request(c, tid, csr->b64, err), INTUNE_SCEP_E_REJECTED, err);
    CHECK(utf8_ok(intune_scep_error_message(err)));
    CHECK_STR(intune_scep_error_transaction_id(err), tid); /* the field itself is kept whole */
    th_emu_fault_respond(emu, "validateRequest", 500, "", 1);
    CHECK_STATUS(intune_scep_validate_request(c, tid, csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    CHECK(utf8_ok(intune_scep_error_message(err)));
    /* the message and the log lines show the id up to the last whole character */
    CHECK_CONTAINS(intune_scep_error_message(err), "transaction id aaaa");
    CHECK_NOT_CONTAINS(intune_scep_error_message(err), "-tail");
    pthread_mutex_lock(&log.mu);
    size_t lines = log.n;
    for (size_t i = 0; i < log.n; i++)
        if (!utf8_ok(log.lines[i])) th_fail(__FILE__, __LINE__, "log line %zu is not valid UTF-8", i);
    pthread_mutex_unlock(&log.mu);
    CHECK(lines >= 3);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_INFO, "transaction_id=aaaa", NULL), 3);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

/* ---- the log sink is never called with a cache lock held ---- */

typedef struct {
    th_log log;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t blocker; /* the thread whose "discovery found no" line blocks in the sink */
    int blocker_set;
    int in_sink;    /* the blocker is inside the sink */
    int other_done; /* the other thread's call returned */
    int timed_out;  /* the sink gave up waiting for it */
    long wait_ms;
} blocking_sink;

static void blocking_log(void *userdata, int level, const char *message) {
    blocking_sink *s = userdata;
    th_log_cb(&s->log, level, message);
    pthread_mutex_lock(&s->mu);
    int block = s->blocker_set && pthread_equal(pthread_self(), s->blocker) && !s->in_sink &&
                strstr(message, "discovery found no") != NULL;
    if (block) {
        s->in_sink = 1;
        pthread_cond_broadcast(&s->cv);
        /* Wait until the other thread's call has completed: bounded, so that a sink called under a lock
         * the other thread needs ends the test as a failure instead of a hang. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->wait_ms / 1000;
        while (!s->other_done) {
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT) {
                s->timed_out = 1;
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
}

typedef struct {
    intune_scep_client *client;
    blocking_sink *sink;
    int rc;
} blocker_arg;

static void *blocker_main(void *p) {
    blocker_arg *a = p;
    intune_scep_error *err = intune_scep_error_new();
    a->rc = intune_scep_validate_request(a->client, "tid-blocker", csr->b64, err);
    intune_scep_error_free(err);
    return NULL;
}

static void test_slow_log_sink_does_not_stall_others(void) {
    th_emu_reset(emu);
    /* Discovery never lists the SCEP service: each call ends with "discovery found no ..." logged. */
    th_emu_fault_respond(emu, "discovery", 200,
                         "{\"value\":[{\"providerName\":\"PkiConnectorFEService\",\"uri\":\"https://127.0.0.1:1/Pki\"}]}", 0);
    blocking_sink s;
    memset(&s, 0, sizeof s);
    th_log_init(&s.log);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.wait_ms = (long)(20000 * th_time_scale());
    intune_scep_config *cfg = th_emu_config(emu, NULL, NULL);
    intune_scep_config_set_log_callback(cfg, blocking_log, &s, INTUNE_SCEP_LOG_DEBUG);
    intune_scep_client *c = NULL;
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_client_new(cfg, &c, err), INTUNE_SCEP_OK, err);
    intune_scep_config_free(cfg);

    blocker_arg a = {c, &s, -1};
    pthread_t t;
    pthread_mutex_lock(&s.mu);
    REQUIRE(pthread_create(&t, NULL, blocker_main, &a) == 0);
    s.blocker = t;
    s.blocker_set = 1;
    /* Wait (bounded) until the first thread sits in the sink. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += s.wait_ms / 1000;
    while (!s.in_sink && !s.timed_out)
        if (pthread_cond_timedwait(&s.cv, &s.mu, &ts) == ETIMEDOUT) break;
    int reached = s.in_sink;
    pthread_mutex_unlock(&s.mu);
    CHECK(reached);

    /* This thread needs the service map (and the tokens) the blocked thread just used. */
    int rc = intune_scep_validate_request(c, "tid-other", csr->b64, err);
    pthread_mutex_lock(&s.mu);
    s.other_done = 1;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    pthread_join(t, NULL);

    CHECK_STATUS(rc, INTUNE_SCEP_E_SERVICE_NOT_FOUND, err);
    CHECK_INT(a.rc, INTUNE_SCEP_E_SERVICE_NOT_FOUND);
    if (s.timed_out)
        th_fail(__FILE__, __LINE__,
                "the other thread's call did not complete while a log line was blocked in the sink: "
                "the sink was called with a lock held that the other call needs");
    CHECK(th_log_count(&s.log, INTUNE_SCEP_LOG_ERROR, "discovery found no", NULL) >= 2);
    cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    th_log_destroy(&s.log);
}

/* ---- warnings about unknown configuration keys ---- */

#define STRAY_SECRET "Old~AppSecret+/9Kq2vX9wLm4pRt8zQ"

static void test_unknown_key_warning_hides_values(void) {
    th_register_secret(STRAY_SECRET);
    char *path = th_strdupf("%s/stray.properties", th_tmpdir());
    const char *text = "# a key was rotated; the old value stayed on a line of its own\n"
                       "TIMEOUT_MSX=5000\n"
                       "\n"
                       STRAY_SECRET "\n"
                       "Old~AppSecret+/x:y\n";
    th_write_file(path, text, strlen(text));
    th_log log;
    th_log_init(&log);
    th_emu_reset(emu);
    intune_scep_config *cfg = th_emu_config(emu, &log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_config_load_file(cfg, path, err), INTUNE_SCEP_OK, err);
    /* and one set through the API that does not look like a key */
    REQUIRE(intune_scep_config_set(cfg, "api~" STRAY_SECRET, "") == INTUNE_SCEP_OK);
    intune_scep_client *c = NULL;
    REQUIRE_STATUS(intune_scep_client_new(cfg, &c, err), INTUNE_SCEP_OK, err);
    /* a key that looks like one is named; the others only by their line */
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "TIMEOUT_MSX", "not known", NULL), 1);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "line 4", "not known", NULL), 1);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "line 5", "not known", NULL), 1);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "does not look like a key", "not known", NULL), 3);
    CHECK_LOG_NO_SECRET(&log, STRAY_SECRET, "a stray value read as a key");
    CHECK_LOG_NO_SECRET(&log, "Old~AppSecret", "the start of a stray value read as a key");
    intune_scep_client_free(c);
    /* a control character in such a key: the error names the line, not the key */
    const char *bad = "AAD_APP_ID=x\n" STRAY_SECRET "=a\\u0001b\n";
    th_write_file(path, bad, strlen(bad));
    intune_scep_config *cfg2 = th_emu_config(emu, NULL, NULL);
    REQUIRE_STATUS(intune_scep_config_load_file(cfg2, path, err), INTUNE_SCEP_OK, err);
    c = NULL;
    CHECK_STATUS(intune_scep_client_new(cfg2, &c, err), INTUNE_SCEP_E_CONFIG, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "line 2");
    CHECK_NOT_CONTAINS(intune_scep_error_message(err), "Old~AppSecret");
    intune_scep_client_free(c);
    intune_scep_config_free(cfg2);
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    th_log_destroy(&log);
    free(path);
}

static void setup(void) {
    emu = th_emu_start(NULL);
    csr = th_emu_device_csr(emu, "CN=answers-device,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"scep_untrusted_members", test_scep_untrusted_members},
    {"http_error_never_reports_success", test_http_error_never_reports_success},
    {"token_untrusted", test_token_untrusted},
    {"discovery_untrusted", test_discovery_untrusted},
    {"revocation_untrusted", test_revocation_untrusted},
    {"retry_after_far_dates", test_retry_after_far_dates},
    {"transaction_id_cut_at_character", test_transaction_id_cut_at_character},
    {"slow_log_sink_does_not_stall_others", test_slow_log_sink_does_not_stall_others},
    {"unknown_key_warning_hides_values", test_unknown_key_warning_hides_values},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
