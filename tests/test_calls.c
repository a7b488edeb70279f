/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The three SCEP calls (protocol.md §4): the exact request each sends (headers and
 * JSON body as the emulator recorded them), every Intune code mapped to
 * INTUNE_SCEP_E_REJECTED and kept as sent, only "Success" accepted, and every 2xx
 * answer that cannot be trusted refused (fail closed).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/x509.h>

static th_emu *emu;
static th_csr *csr;
static th_ca *ca;

#define PROVIDER "Contoso SCEP \xe2\x9c\x93 caf\xc3\xa9 1.0"

static intune_scep_client *new_client(th_log *log, const char *const *overrides) {
    th_emu_reset(emu);
    return th_emu_client(emu, log, overrides);
}

static intune_scep_client *provider_client(th_log *log) {
    const char *const ov[] = {"PROVIDER_NAME_AND_VERSION", PROVIDER, NULL};
    return new_client(log, ov);
}

/* The body of `req` parses to exactly the JSON `want` (no missing, extra or different member). */
static void check_body(const char *file, int line, const cJSON *req, const cJSON *want) {
    const char *body = th_req_body(req);
    cJSON *got = body ? cJSON_Parse(body) : NULL;
    if (!got || !cJSON_Compare(got, want, 1)) {
        char *w = cJSON_PrintUnformatted(want);
        th_fail(file, line, "request body %s, want %s", body ? body : "NULL", w ? w : "?");
        free(w);
    }
    cJSON_Delete(got);
}
#define CHECK_BODY(req, want) check_body(__FILE__, __LINE__, (req), (want))

/* A header value as recorded: the emulator may have decoded UTF-8 bytes as ISO-8859-1. */
static int header_equals_utf8(const char *got, const char *want) {
    if (!got) return 0;
    if (strcmp(got, want) == 0) return 1;
    /* fold code points below 256 back to bytes */
    char buf[1024];
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)got;
    while (*p && k < sizeof buf - 1) {
        if (*p < 0x80) {
            buf[k++] = (char)*p++;
        } else if ((*p & 0xE0) == 0xC0 && p[1]) {
            unsigned cp = ((unsigned)(*p & 0x1F) << 6) | (p[1] & 0x3F);
            if (cp > 0xFF) return 0;
            buf[k++] = (char)cp;
            p += 2;
        } else {
            return 0;
        }
    }
    buf[k] = 0;
    return strcmp(buf, want) == 0;
}

static void check_common_headers(const char *file, int line, const cJSON *req, const char *provider) {
    const char *auth = th_req_header(req, "authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || strlen(auth) < 8) th_fail(file, line, "no Authorization: Bearer <token>");
    th_check_str(file, line, "content-type", th_req_header(req, "content-type"), "application/json");
    if (!th_is_uuid(th_req_header(req, "client-request-id"))) th_fail(file, line, "client-request-id is not a UUID");
    th_check_str(file, line, "api-version", th_req_header(req, "api-version"), "2018-02-20");
    if (!header_equals_utf8(th_req_header(req, "useragent"), provider))
        th_fail(file, line, "UserAgent header %s, want %s", th_req_header(req, "useragent") ? th_req_header(req, "useragent") : "NULL",
                provider);
    const char *ua = th_req_header(req, "user-agent");
    if (!ua || !(strstr(ua, "intune-scep") || strstr(ua, "intunescep") || strstr(ua, "IntuneScep")) ||
        !strstr(ua, intune_scep_version()))
        th_fail(file, line, "User-Agent %s does not name the library and its version %s", ua ? ua : "NULL", intune_scep_version());
    th_check_str(file, line, "method", th_json_str(req, "method"), "POST");
}
#define CHECK_HEADERS(req, provider) check_common_headers(__FILE__, __LINE__, (req), (provider))

static void test_validate_exact_request(void) {
    intune_scep_client *c = provider_client(NULL);
    intune_scep_error *err = intune_scep_error_new();
    const char *tid = "tid-exact-\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80-\"quoted\"\\";
    REQUIRE_STATUS(intune_scep_validate_request(c, tid, csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *v = th_emu_requests(emu, "validateRequest");
    REQUIRE(cJSON_GetArraySize(v) == 1);
    const cJSON *r = th_item(v, 0);
    CHECK_HEADERS(r, PROVIDER);
    CHECK_STR(th_json_str(r, "path"), "/ScepRequestValidationFEService/ScepActions/validateRequest");
    cJSON *want = cJSON_CreateObject();
    cJSON *inner = cJSON_AddObjectToObject(want, "request");
    cJSON_AddStringToObject(inner, "transactionId", tid);
    cJSON_AddStringToObject(inner, "certificateRequest", csr->b64);
    cJSON_AddStringToObject(inner, "callerInfo", PROVIDER);
    CHECK_BODY(r, want);
    cJSON_Delete(want);
    /* the Intune token, not the Graph one */
    cJSON *d = th_emu_requests(emu, "discovery");
    CHECK(strcmp(th_req_header(r, "authorization"), th_req_header(th_item(d, 0), "authorization")) != 0);
    cJSON_Delete(d);
    cJSON_Delete(v);
    /* each call has a fresh activity id */
    REQUIRE_STATUS(intune_scep_validate_request(c, tid, csr->b64, err), INTUNE_SCEP_OK, err);
    v = th_emu_requests(emu, "validateRequest");
    CHECK(strcmp(th_req_header(th_item(v, 0), "client-request-id"), th_req_header(th_item(v, 1), "client-request-id")) != 0);
    cJSON_Delete(v);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_api_version_key(void) {
    const char *const ov[] = {"ScepRequestValidationFEServiceVersion", "2019-01-01", NULL};
    intune_scep_client *c = new_client(NULL, ov);
    th_emu_settings(emu, "{\"scep_api_version\":\"2019-01-01\"}");
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tid-apiver", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *v = th_emu_requests(emu, "validateRequest");
    CHECK_STR(th_req_header(th_item(v, 0), "api-version"), "2019-01-01");
    cJSON_Delete(v);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void success_body(cJSON *want, const char *tid, const char *thumb, const char *serial, const char *exp,
                         const char *issuer, const char *cacfg, const char *caname) {
    cJSON *n = cJSON_AddObjectToObject(want, "notification");
    cJSON_AddStringToObject(n, "transactionId", tid);
    cJSON_AddStringToObject(n, "certificateRequest", csr->b64);
    cJSON_AddStringToObject(n, "certificateThumbprint", thumb);
    cJSON_AddStringToObject(n, "certificateSerialNumber", serial);
    cJSON_AddStringToObject(n, "certificateExpirationDateUtc", exp);
    cJSON_AddStringToObject(n, "issuingCertificateAuthority", issuer);
    cJSON_AddStringToObject(n, "callerInfo", PROVIDER);
    if (cacfg) cJSON_AddStringToObject(n, "caConfiguration", cacfg);
    else cJSON_AddNullToObject(n, "caConfiguration");
    if (caname) cJSON_AddStringToObject(n, "certificateAuthority", caname);
    else cJSON_AddNullToObject(n, "certificateAuthority");
}

static void test_success_notification_exact_request(void) {
    intune_scep_client *c = provider_client(NULL);
    intune_scep_error *err = intune_scep_error_new();
    const char *thumb = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678", *serial = "1A2B3C4D",
               *exp = "2027-06-11T16:11:20.000Z", *issuer = "CN=Contoso Issuing CA \xc3\xa9,O=Contoso";
    static const struct {
        const char *tid, *cacfg, *caname, *want_cacfg, *want_caname;
    } cases[] = {
        {"tid-succ-null", NULL, NULL, NULL, NULL},
        {"tid-succ-empty", "", "", NULL, NULL},
        {"tid-succ-given", "ca01.contoso.com\\Contoso Issuing CA", "Contoso Issuing CA", "ca01.contoso.com\\Contoso Issuing CA",
         "Contoso Issuing CA"},
    };
    for (size_t i = 0; i < 3; i++) {
        th_emu_reset(emu);
        REQUIRE_STATUS(intune_scep_validate_request(c, cases[i].tid, csr->b64, err), INTUNE_SCEP_OK, err);
        CHECK_STATUS(intune_scep_send_success_notification(c, cases[i].tid, csr->b64, thumb, serial, exp, issuer,
                                                           cases[i].cacfg, cases[i].caname, err),
                     INTUNE_SCEP_OK, err);
        cJSON *s = th_emu_requests(emu, "successNotification");
        REQUIRE(cJSON_GetArraySize(s) == 1);
        const cJSON *r = th_item(s, 0);
        CHECK_HEADERS(r, PROVIDER);
        CHECK_STR(th_json_str(r, "path"), "/ScepRequestValidationFEService/ScepActions/successNotification");
        cJSON *want = cJSON_CreateObject();
        success_body(want, cases[i].tid, thumb, serial, exp, issuer, cases[i].want_cacfg, cases[i].want_caname);
        CHECK_BODY(r, want);
        cJSON_Delete(want);
        cJSON_Delete(s);
        cJSON *notes = th_emu_notifications(emu);
        CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(notes, "success")), 1);
        cJSON_Delete(notes);
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_success_notification_for_cert(void) {
    intune_scep_client *c = provider_client(NULL);
    intune_scep_error *err = intune_scep_error_new();
    X509 *cert = th_ca_issue(ca, csr, 30);
    char *pem = th_cert_pem(cert);
    size_t der_len = 0;
    unsigned char *der = th_cert_der(cert, &der_len);
    char *sha1 = th_cert_sha1_hex(cert);
    for (int form = 0; form < 2; form++) {
        th_emu_reset(emu);
        const char *tid = form ? "tid-for-cert-der" : "tid-for-cert-pem";
        REQUIRE_STATUS(intune_scep_validate_request(c, tid, csr->b64, err), INTUNE_SCEP_OK, err);
        int rc = form ? intune_scep_send_success_notification_for_cert(c, tid, csr->b64, (const char *)der, der_len, NULL,
                                                                       "Contoso CA", err)
                      : intune_scep_send_success_notification_for_cert(c, tid, csr->b64, pem, strlen(pem), "cfg", NULL, err);
        CHECK_STATUS(rc, INTUNE_SCEP_OK, err);
        intune_scep_cert_details *d = NULL;
        REQUIRE_STATUS(intune_scep_cert_details_from_cert(pem, strlen(pem), &d, err), INTUNE_SCEP_OK, err);
        cJSON *s = th_emu_requests(emu, "successNotification");
        REQUIRE(cJSON_GetArraySize(s) == 1);
        cJSON *want = cJSON_CreateObject();
        success_body(want, tid, sha1, intune_scep_cert_details_serial_number(d), intune_scep_cert_details_expiration_date(d),
                     intune_scep_cert_details_issuing_authority(d), form ? NULL : "cfg", form ? "Contoso CA" : NULL);
        CHECK_BODY(th_item(s, 0), want);
        cJSON_Delete(want);
        cJSON_Delete(s);
        intune_scep_cert_details_free(d);
    }
    free(sha1);
    free(der);
    free(pem);
    X509_free(cert);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* The integer after "hResult": in the raw body text, exactly as sent. */
static int raw_hresult(const char *body, long long *out) {
    const char *p = body ? strstr(body, "\"hResult\"") : NULL;
    if (!p) return 0;
    p += 9;
    while (*p == ' ') p++;
    if (*p++ != ':') return 0;
    while (*p == ' ') p++;
    char *end = NULL;
    *out = strtoll(p, &end, 10);
    return end != p && (*end == ',' || *end == '}' || *end == ' ');
}

static void test_failure_notification_exact_request(void) {
    intune_scep_client *c = provider_client(NULL);
    intune_scep_error *err = intune_scep_error_new();
    static const struct {
        int64_t h;
        const char *text;
    } hs[] = {
        {(int64_t)0x80004005u, "2147500037"},
        {-2147467259LL, "-2147467259"},
        {0, "0"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
        {9007199254740993LL, "9007199254740993"},
    };
    const char *desc = "CA refused: \xc3\xa9\xe2\x82\xac \"quoted\" \\ tab\t";
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++) {
        th_emu_reset(emu);
        CHECK_STATUS(intune_scep_send_failure_notification(c, "tid-fail", csr->b64, hs[i].h, desc, err), INTUNE_SCEP_OK, err);
        cJSON *f = th_emu_requests(emu, "failureNotification");
        REQUIRE(cJSON_GetArraySize(f) == 1);
        const cJSON *r = th_item(f, 0);
        CHECK_HEADERS(r, PROVIDER);
        CHECK_STR(th_json_str(r, "path"), "/ScepRequestValidationFEService/ScepActions/failureNotification");
        long long got = 0;
        if (!raw_hresult(th_req_body(r), &got) || got != (long long)hs[i].h)
            th_fail(__FILE__, __LINE__, "hResult in %s, want %s", th_req_body(r), hs[i].text);
        const char *body = th_req_body(r);
        char *needle = th_strdupf("%s", hs[i].text);
        CHECK_CONTAINS(body, needle);
        free(needle);
        /* the rest of the body, exactly (hResult compared as text above; here as a double
         * only where that is exact) */
        cJSON *parsed = body ? cJSON_Parse(body) : NULL;
        cJSON *n = cJSON_GetObjectItemCaseSensitive(parsed, "notification");
        CHECK(cJSON_IsObject(n));
        CHECK_INT(cJSON_GetArraySize(n), 5);
        CHECK_STR(th_json_str(n, "transactionId"), "tid-fail");
        CHECK_STR(th_json_str(n, "certificateRequest"), csr->b64);
        CHECK_STR(th_json_str(n, "errorDescription"), desc);
        CHECK_STR(th_json_str(n, "callerInfo"), PROVIDER);
        CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(n, "hResult")));
        CHECK_INT(cJSON_GetArraySize(parsed), 1);
        cJSON_Delete(parsed);
        cJSON_Delete(f);
    }
    /* the emulator kept the notification */
    cJSON *notes = th_emu_notifications(emu);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(notes, "failure")), 1);
    cJSON_Delete(notes);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static const char *const intune_codes[] = {
    "Unknown", "CertificateRequestDecodingFailed", "ChallengePasswordMissing", "ChallengeDeserializationError",
    "ChallengeDecryptionError", "ChallengeDecodingError", "ChallengeInvalidTimestamp", "ChallengeExpired",
    "SubjectNameMissing", "SubjectNameMismatch", "SubjectAltNameMissing", "SubjectAltNameMismatch", "KeyUsageMismatch",
    "KeyLengthMismatch", "EnhancedKeyUsageMissing", "EnhancedKeyUsageMismatch", "AadKeyIdentifierListMissing",
    "RegisteredKeyMismatch", "SigningCertThumbprintMismatch", "ScepProfileNoLongerTargetedToTheClient",
    "SignatureValidationFailed", "BadCertificateRequestIdInChallenge", "BadDeviceIdInChallenge", "BadUserIdInChallenge",
    /* not Intune's: kept as sent */
    "SomethingIntuneAddsLater", "success", "SUCCESS", " Success", "Success ", "Succes", "",
};

static int call_kind(intune_scep_client *c, int kind, const char *tid, intune_scep_error *err) {
    switch (kind) {
    case 0:
        return intune_scep_validate_request(c, tid, csr->b64, err);
    case 1:
        return intune_scep_send_success_notification(c, tid, csr->b64, "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678", "01AB",
                                                     "2027-06-11T16:11:20.000Z", "CN=CA", NULL, NULL, err);
    default:
        return intune_scep_send_failure_notification(c, tid, csr->b64, (int64_t)0x80004005u, "failed", err);
    }
}

static const char *const endpoints[] = {"validateRequest", "successNotification", "failureNotification"};

static void test_every_code_rejected(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < sizeof intune_codes / sizeof *intune_codes; i++) {
            th_emu_reset(emu);
            th_log_clear(&log);
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "code", intune_codes[i]);
            char *desc = th_strdupf("description of %s", intune_codes[i]);
            cJSON_AddStringToObject(b, "errorDescription", desc);
            char *body = cJSON_PrintUnformatted(b);
            th_emu_fault_respond(emu, endpoints[kind], 200, body, 1);
            char tid[64];
            snprintf(tid, sizeof tid, "tid-code-%d-%zu", kind, i);
            int rc = call_kind(c, kind, tid, err);
            if (rc != INTUNE_SCEP_E_REJECTED) th_note("%s answering code \"%s\"", endpoints[kind], intune_codes[i]);
            CHECK_STATUS(rc, INTUNE_SCEP_E_REJECTED, err);
            CHECK_STR(intune_scep_error_service_code(err), intune_codes[i]);
            CHECK_STR(intune_scep_error_description(err), desc);
            CHECK_STR(intune_scep_error_transaction_id(err), tid);
            CHECK_INT(intune_scep_error_http_status(err), 200);
            /* the activity id is the client-request-id that was sent, and the log line carries it */
            cJSON *reqs = th_emu_requests(emu, endpoints[kind]);
            CHECK_INT(cJSON_GetArraySize(reqs), 1); /* a rejection is an answer: no retry */
            const char *sent = th_req_header(th_item(reqs, 0), "client-request-id");
            CHECK_STR(intune_scep_error_activity_id(err), sent);
            if (sent) {
                CHECK_CONTAINS(intune_scep_error_message(err), sent);
                CHECK(th_log_count(&log, INTUNE_SCEP_LOG_INFO, sent, tid, NULL) >= 1);
            }
            CHECK(strchr(intune_scep_error_message(err), '\n') == NULL);
            if (intune_codes[i][0] && strcmp(intune_codes[i], " Success") != 0 && strcmp(intune_codes[i], "Success ") != 0)
                CHECK_CONTAINS(intune_scep_error_message(err), intune_codes[i]);
            cJSON_Delete(reqs);
            free(body);
            free(desc);
            cJSON_Delete(b);
        }
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void test_success_variants_accepted(void) {
    static const char *const ok_bodies[] = {
        "{\"code\":\"Success\"}",
        "{\"code\":\"Success\",\"errorDescription\":\"\"}",
        "{\"@odata.context\":\"https://fef.msub02.manage.microsoft.com/$metadata\",\"code\":\"Success\",\"errorDescription\":null,\"extra\":[1,{\"a\":2}]}",
        "  {\"errorDescription\":\"ignored\", \"code\" : \"Success\"}  \n",
    };
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < sizeof ok_bodies / sizeof *ok_bodies; i++) {
            th_emu_reset(emu);
            th_emu_fault_respond(emu, endpoints[kind], 200, ok_bodies[i], 1);
            int rc = call_kind(c, kind, "tid-ok-variant", err);
            if (rc != INTUNE_SCEP_OK) th_note("%s answering %s", endpoints[kind], ok_bodies[i]);
            CHECK_STATUS(rc, INTUNE_SCEP_OK, err);
        }
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_untrusted_2xx_bodies(void) {
    static const struct {
        int status;
        const char *body;
    } cases[] = {
        {200, "not json"},
        {200, ""},
        {200, "[]"},
        {200, "[{\"code\":\"Success\"}]"},
        {200, "{\"code\":1}"},
        {200, "{\"code\":true}"},
        {200, "{\"code\":null}"},
        {200, "{\"code\":{\"value\":\"Success\"}}"},
        {200, "{\"errorDescription\":\"no code\"}"},
        {200, "{}"},
        {200, "null"},
        {200, "\"Success\""},
        {200, "{\"code\":\"Success\""},
        {200, "{\"code\":\"Success\"} trailing"},
        {200, "{\"code\":\"Success\"}{\"code\":\"Success\"}"},
        {201, "not json"},
        {204, ""},
    };
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        th_emu_reset(emu);
        th_emu_fault_respond(emu, "validateRequest", cases[i].status, cases[i].body, 1);
        int rc = intune_scep_validate_request(c, "tid-untrusted", csr->b64, err);
        if (rc != INTUNE_SCEP_E_PROTOCOL) th_note("answer %d \"%s\"", cases[i].status, cases[i].body);
        if (!CHECK_STATUS(rc, INTUNE_SCEP_E_PROTOCOL, err)) continue;
        CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
        CHECK_STR(intune_scep_error_transaction_id(err), "tid-untrusted");
        CHECK_INT(intune_scep_error_http_status(err), cases[i].status);
        CHECK(strchr(intune_scep_error_message(err), '\n') == NULL);
        if (cases[i].body[0]) CHECK_STR(intune_scep_error_response_body(err), cases[i].body);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
    }
    /* over 1 MiB: refused, the copy capped */
    for (int kind = 0; kind < 3; kind++) {
        th_emu_reset(emu);
        if (kind == 1) REQUIRE_STATUS(intune_scep_validate_request(c, "tid-oversize", csr->b64, err), INTUNE_SCEP_OK, err);
        char *fault = th_strdupf("{\"endpoint\":\"%s\",\"action\":\"oversize\",\"times\":1}", endpoints[kind]);
        th_emu_fault(emu, fault);
        free(fault);
        int rc = call_kind(c, kind, "tid-oversize", err);
        CHECK_STATUS(rc, INTUNE_SCEP_E_PROTOCOL, err);
        const char *b = intune_scep_error_response_body(err);
        CHECK(b == NULL || strlen(b) <= 4096);
    }
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_http_errors(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    /* 400 with a body: an HTTP error, not retried, the body kept */
    const char *body = "{\"error\":{\"code\":\"BadRequest\",\"message\":\"bad shape\"}}";
    th_emu_fault_respond(emu, "validateRequest", 400, body, 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-400", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 400);
    CHECK_STR(intune_scep_error_response_body(err), body);
    CHECK(th_is_uuid(intune_scep_error_activity_id(err)));
    CHECK_STR(intune_scep_error_transaction_id(err), "tid-400");
    CHECK_CONTAINS(intune_scep_error_message(err), "400");
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
    /* a 400 whose body is large: the copy is capped at 4 KiB */
    th_emu_reset(emu);
    size_t n = 20000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = 0;
    th_emu_fault_respond(emu, "validateRequest", 400, big, 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-400-big", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    const char *copy = intune_scep_error_response_body(err);
    CHECK(copy != NULL && strlen(copy) <= 4096 && strlen(copy) >= 1024);
    free(big);
    /* a redirect (to plain http) is not followed */
    th_emu_reset(emu);
    th_emu_fault(emu, "{\"endpoint\":\"validateRequest\",\"action\":\"redirect\",\"status\":307,"
                      "\"body\":\"http://127.0.0.1:1/ScepActions/validateRequest\",\"times\":1}");
    int rc = intune_scep_validate_request(c, "tid-redirect", csr->b64, err);
    CHECK(rc == INTUNE_SCEP_E_HTTP || rc == INTUNE_SCEP_E_PROTOCOL);
    CHECK_INT(intune_scep_error_http_status(err), 307);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
    /* a 302 to another path on the same HTTPS server is not followed either */
    th_emu_reset(emu);
    char *redir = th_strdupf("{\"endpoint\":\"validateRequest\",\"action\":\"redirect\",\"status\":302,"
                             "\"body\":\"%sScepRequestValidationFEService/ScepActions/validateRequest\",\"times\":1}",
                             emu->base_url);
    th_emu_fault(emu, redir);
    free(redir);
    rc = intune_scep_validate_request(c, "tid-redirect-2", csr->b64, err);
    CHECK(rc == INTUNE_SCEP_E_HTTP || rc == INTUNE_SCEP_E_PROTOCOL);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 1);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void test_log_line_per_call(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = new_client(&log, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-log-1", csr->b64, err), INTUNE_SCEP_OK, err);
    /* a cold call: token and discovery events at DEBUG, one line at INFO for the call itself */
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_DEBUG, "token", NULL) >= 1);
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_DEBUG, "discover", NULL) >= 1);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_INFO, NULL), 1);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_INFO, "tid-log-1", NULL), 1);
    th_log_clear(&log);
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-log-2", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *v = th_emu_requests(emu, "validateRequest");
    const char *id = th_req_header(th_item(v, 1), "client-request-id");
    char *url = th_strdupf("%sScepRequestValidationFEService/ScepActions/validateRequest", emu->base_url);
    /* a warm call: exactly one line at INFO+, with activity id, transaction id, URL, status, attempts, elapsed */
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_INFO, NULL), 1);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_INFO, id, "tid-log-2", url, "200", "attempt", "ms", NULL), 1);
    if (th_log_count(&log, INTUNE_SCEP_LOG_INFO, id, NULL) != 1) th_log_dump(&log);
    /* with min_level WARNING a successful call logs nothing */
    intune_scep_client_set_log_callback(c, th_log_cb, &log, INTUNE_SCEP_LOG_WARNING);
    th_log_clear(&log);
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-log-3", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_log_count(&log, 0, NULL), 0);
    /* ... and a rejected one is a warning or an error */
    th_emu_fault_respond(emu, "validateRequest", 200, "{\"code\":\"ChallengeExpired\",\"errorDescription\":\"old\"}", 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-log-4", csr->b64, err), INTUNE_SCEP_E_REJECTED, err);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, intune_scep_error_activity_id(err), "tid-log-4", "ChallengeExpired", NULL), 1);
    /* NULL sink: nothing, no crash */
    intune_scep_client_set_log_callback(c, NULL, NULL, INTUNE_SCEP_LOG_DEBUG);
    th_log_clear(&log);
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-log-5", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_log_count(&log, 0, NULL), 0);
    /* no secret in any line */
    cJSON *toks = th_emu_seen_tokens(emu);
    const cJSON *t;
    cJSON_ArrayForEach(t, toks) CHECK_LOG_NO_SECRET(&log, t->valuestring, "an access token");
    cJSON_Delete(toks);
    free(url);
    cJSON_Delete(v);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

static void test_config_copied(void) {
    /* the client keeps its own copy: changing or freeing the config afterwards changes nothing */
    th_emu_reset(emu);
    intune_scep_config *cfg = th_emu_config(emu, NULL, NULL);
    intune_scep_client *c = NULL;
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_client_new(cfg, &c, err), INTUNE_SCEP_OK, err);
    intune_scep_config_set(cfg, "AAD_APP_KEY", "changed-after-creation");
    intune_scep_config_set(cfg, "TENANT", "other.example");
    intune_scep_config_free(cfg);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-copied", csr->b64, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* The app key from the environment through intune_scep_config_load_env, end to end. */
static void test_app_key_from_environment(void) {
    th_emu_reset(emu);
    const char *const ov[] = {"AAD_APP_KEY", NULL, NULL};
    intune_scep_config *cfg = th_emu_config(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *c = NULL;
    REQUIRE(intune_scep_config_get(cfg, "AAD_APP_KEY") == NULL);
    setenv("CALLS_TEST_AAD_APP_KEY", th_emu_cfg(emu, "AAD_APP_KEY"), 1);
    REQUIRE_STATUS(intune_scep_config_load_env(cfg, "CALLS_TEST_", err), INTUNE_SCEP_OK, err);
    unsetenv("CALLS_TEST_AAD_APP_KEY");
    REQUIRE_STATUS(intune_scep_client_new(cfg, &c, err), INTUNE_SCEP_OK, err);
    intune_scep_config_free(cfg);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-env", csr->b64, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* fork(): the parent's client is refused in the child (nothing sent), freeing it there does
   nothing, a new client works in the child, and the parent's client keeps working. */
static void test_client_after_fork(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_validate_request(c, "tid-before-fork", csr->b64, err), INTUNE_SCEP_OK, err);
    int before = th_emu_request_count(emu, "validateRequest");
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* The child: report through the exit status only. */
        int code = 0;
        intune_scep_error *e = intune_scep_error_new();
        if (intune_scep_validate_request(c, "tid-child-old", csr->b64, e) != INTUNE_SCEP_E_INVALID_ARGUMENT) code |= 1;
        if (!intune_scep_error_message(e) || !strstr(intune_scep_error_message(e), "fork()")) code |= 2;
        if (intune_scep_client_set_app_key(c, "another", e) != INTUNE_SCEP_E_INVALID_ARGUMENT) code |= 4;
        if (intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, e) != INTUNE_SCEP_E_INVALID_ARGUMENT) code |= 8;
        intune_scep_client_set_log_callback(c, NULL, NULL, INTUNE_SCEP_LOG_DEBUG);
        intune_scep_client_free(c); /* does nothing here: the parent's connection stays intact */
        intune_scep_config *cfg = th_emu_config(emu, NULL, NULL);
        intune_scep_client *fresh = NULL;
        if (intune_scep_client_new(cfg, &fresh, e) != INTUNE_SCEP_OK) code |= 16;
        else if (intune_scep_validate_request(fresh, "tid-child-new", csr->b64, e) != INTUNE_SCEP_OK) code |= 32;
        intune_scep_client_free(fresh);
        intune_scep_config_free(cfg);
        intune_scep_error_free(e);
        _exit(code);
    }
    int wstatus = 0;
    REQUIRE(waitpid(pid, &wstatus, 0) == pid);
    CHECK(WIFEXITED(wstatus));
    CHECK_INT(WEXITSTATUS(wstatus), 0);
    /* Only the child's new client reached Intune; the refused call sent nothing. */
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), before + 1);
    cJSON *reqs = th_emu_requests(emu, "validateRequest");
    const cJSON *r;
    cJSON_ArrayForEach(r, reqs) {
        const char *body = th_req_body(r);
        CHECK(body == NULL || strstr(body, "tid-child-old") == NULL);
    }
    cJSON_Delete(reqs);
    /* The parent's client still works, on its own connection: the child did not close it. */
    long connections = th_emu_connections(emu);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-after-fork", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_connections(emu), connections);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

/* Messages give the cause first, then the context: the call, its activity id, its transaction id. */
static void test_message_cause_first(void) {
    intune_scep_client *c = new_client(NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    th_emu_fault_respond(emu, "validateRequest", 200, "{\"code\":\"SubjectNameMismatch\",\"errorDescription\":\"no\"}", 1);
    CHECK_STATUS(intune_scep_validate_request(c, "tid-order", csr->b64, err), INTUNE_SCEP_E_REJECTED, err);
    const char *msg = intune_scep_error_message(err);
    REQUIRE(msg != NULL);
    CHECK(strncmp(msg, "Intune rejected the request: SubjectNameMismatch", 48) == 0);
    char tail[160];
    snprintf(tail, sizeof tail, " (validateRequest; activity id %s, transaction id tid-order)",
             intune_scep_error_activity_id(err));
    size_t n = strlen(msg), t = strlen(tail);
    CHECK(n > t && strcmp(msg + n - t, tail) == 0);
    if (!(n > t && strcmp(msg + n - t, tail) == 0)) th_note("message: %s", msg);
    const char *const ov[] = {"MAX_RETRIES", "0", NULL};
    intune_scep_client *c0 = new_client(NULL, ov); /* resets the emulator: the fault comes after */
    th_emu_fault_respond(emu, "validateRequest", 503, "", 5);
    CHECK_STATUS(intune_scep_validate_request(c0, "tid-order", csr->b64, err), INTUNE_SCEP_E_HTTP, err);
    CHECK(strncmp(intune_scep_error_message(err), "HTTP 503 from https://", 22) == 0);
    intune_scep_client_free(c0);
    intune_scep_error_free(err);
    intune_scep_client_free(c);
}

static void setup(void) {
    emu = th_emu_start(NULL);
    csr = th_emu_device_csr(emu, "CN=calls,O=Contoso");
    ca = th_ca_new("Contoso Issuing CA");
}

static void teardown(void) {
    th_ca_free(ca);
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"validate_exact_request", test_validate_exact_request},
    {"api_version_key", test_api_version_key},
    {"success_notification_exact_request", test_success_notification_exact_request},
    {"success_notification_for_cert", test_success_notification_for_cert},
    {"failure_notification_exact_request", test_failure_notification_exact_request},
    {"every_code_rejected", test_every_code_rejected},
    {"success_variants_accepted", test_success_variants_accepted},
    {"untrusted_2xx_bodies", test_untrusted_2xx_bodies},
    {"http_errors", test_http_errors},
    {"log_line_per_call", test_log_line_per_call},
    {"config_copied", test_config_copied},
    {"app_key_from_environment", test_app_key_from_environment},
    {"client_after_fork", test_client_after_fork},
    {"message_cause_first", test_message_cause_first},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
