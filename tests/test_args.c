/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Argument checks: every NULL or empty required argument of every function is
 * INTUNE_SCEP_E_INVALID_ARGUMENT with a message naming the argument, raised
 * before anything is sent (the emulator records no request and issues no token).
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static th_emu *emu;
static intune_scep_client *client;
static th_log logcap;
static th_csr *csr;
static char *cert_pem;

#define TID "tid-args-1"
#define THUMB "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
#define SERIAL "1A2B3C"
#define EXPIRY "2027-06-11T16:11:20.000Z"
#define ISSUER "CN=Contoso Issuing CA,O=Contoso"

/* The status is INVALID_ARGUMENT and the message names the argument (any of the given spellings). */
static void expect_arg(const char *file, int line, int rc, intune_scep_error *err, ...) {
    if (!th_check_status(file, line, "status", rc, INTUNE_SCEP_E_INVALID_ARGUMENT, err)) return;
    if (intune_scep_error_status(err) != INTUNE_SCEP_E_INVALID_ARGUMENT)
        th_fail(file, line, "intune_scep_error_status differs from the returned status");
    const char *msg = intune_scep_error_message(err);
    va_list ap;
    va_start(ap, err);
    const char *name, *first = NULL;
    int found = 0;
    while ((name = va_arg(ap, const char *)) != NULL) {
        if (!first) first = name;
        if (msg && strstr(msg, name)) found = 1;
    }
    va_end(ap);
    if (!found) th_fail(file, line, "the message does not name the argument %s: \"%s\"", first, msg ? msg : "NULL");
    if (intune_scep_error_activity_id(err) != NULL) th_fail(file, line, "an invalid-argument error has an activity id");
    if (intune_scep_error_http_status(err) != 0) th_fail(file, line, "an invalid-argument error has an HTTP status");
    CHECK_NO_SECRETS(emu, msg, "the error message");
}
#define EXPECT_ARG(rc, err, ...) expect_arg(__FILE__, __LINE__, (rc), (err), __VA_ARGS__, (const char *)NULL)

static void expect_nothing_sent(const char *file, int line) {
    int n = th_emu_request_count(emu, NULL);
    if (n != 0) th_fail(file, line, "the emulator recorded %d request(s); an argument error must send nothing", n);
    long g = th_emu_token_requests(emu, "graph"), i = th_emu_token_requests(emu, "intune");
    if (g != 0 || i != 0) th_fail(file, line, "token requests were made (graph %ld, intune %ld)", g, i);
}
#define EXPECT_NOTHING_SENT() expect_nothing_sent(__FILE__, __LINE__)

static void test_validate_request_args(void) {
    th_emu_reset(emu);
    intune_scep_error *err = intune_scep_error_new();
    EXPECT_ARG(intune_scep_validate_request(NULL, TID, csr->b64, err), err, "client");
    EXPECT_ARG(intune_scep_validate_request(client, NULL, csr->b64, err), err, "transaction_id", "transactionId", "transaction id");
    EXPECT_ARG(intune_scep_validate_request(client, "", csr->b64, err), err, "transaction_id", "transactionId", "transaction id");
    EXPECT_ARG(intune_scep_validate_request(client, TID, NULL, err), err, "certificate_request", "certificateRequest", "certificate request");
    EXPECT_ARG(intune_scep_validate_request(client, TID, "", err), err, "certificate_request", "certificateRequest", "certificate request");
    /* NULL error object: the status alone */
    CHECK_INT(intune_scep_validate_request(client, "", csr->b64, NULL), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_validate_request(client, TID, NULL, NULL), INTUNE_SCEP_E_INVALID_ARGUMENT);
    intune_scep_error_free(err);
    EXPECT_NOTHING_SENT();
}

static void test_success_notification_args(void) {
    th_emu_reset(emu);
    intune_scep_error *err = intune_scep_error_new();
    const char *good[6] = {TID, csr->b64, THUMB, SERIAL, EXPIRY, ISSUER};
    static const char *const names[6][3] = {
        {"transaction_id", "transactionId", "transaction id"},
        {"certificate_request", "certificateRequest", "certificate request"},
        {"cert_thumbprint", "certificateThumbprint", "thumbprint"},
        {"cert_serial_number", "certificateSerialNumber", "serial"},
        {"cert_expiration_date", "certificateExpirationDateUtc", "expiration"},
        {"cert_issuing_authority", "issuingCertificateAuthority", "issuing"},
    };
    EXPECT_ARG(intune_scep_send_success_notification(NULL, TID, csr->b64, THUMB, SERIAL, EXPIRY, ISSUER, NULL, NULL, err),
               err, "client");
    for (int k = 0; k < 6; k++) {
        for (int empty = 0; empty < 2; empty++) {
            const char *a[6];
            memcpy(a, good, sizeof a);
            a[k] = empty ? "" : NULL;
            th_note("argument %s %s", names[k][0], empty ? "empty" : "NULL");
            int rc = intune_scep_send_success_notification(client, a[0], a[1], a[2], a[3], a[4], a[5], "ca-config",
                                                           "ca-name", err);
            EXPECT_ARG(rc, err, names[k][0], names[k][1], names[k][2]);
            CHECK_INT(intune_scep_send_success_notification(client, a[0], a[1], a[2], a[3], a[4], a[5], NULL, NULL, NULL),
                      INTUNE_SCEP_E_INVALID_ARGUMENT);
        }
    }
    intune_scep_error_free(err);
    EXPECT_NOTHING_SENT();
}

static void test_success_notification_for_cert_args(void) {
    th_emu_reset(emu);
    intune_scep_error *err = intune_scep_error_new();
    size_t len = strlen(cert_pem);
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(NULL, TID, csr->b64, cert_pem, len, NULL, NULL, err), err,
               "client");
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, NULL, csr->b64, cert_pem, len, NULL, NULL, err), err,
               "transaction_id", "transactionId", "transaction id");
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, "", csr->b64, cert_pem, len, NULL, NULL, err), err,
               "transaction_id", "transactionId", "transaction id");
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, TID, NULL, cert_pem, len, NULL, NULL, err), err,
               "certificate_request", "certificateRequest", "certificate request");
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, TID, "", cert_pem, len, NULL, NULL, err), err,
               "certificate_request", "certificateRequest", "certificate request");
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, TID, csr->b64, NULL, len, NULL, NULL, err), err,
               "cert");
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, TID, csr->b64, cert_pem, 0, NULL, NULL, err), err,
               "cert");
    static const char garbage[] = "this is not a certificate";
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, TID, csr->b64, garbage, sizeof garbage - 1, NULL,
                                                              NULL, err),
               err, "cert");
    /* a truncated certificate */
    EXPECT_ARG(intune_scep_send_success_notification_for_cert(client, TID, csr->b64, cert_pem, len / 2, NULL, NULL, err),
               err, "cert");
    intune_scep_error_free(err);
    EXPECT_NOTHING_SENT();
}

static void test_failure_notification_args(void) {
    th_emu_reset(emu);
    intune_scep_error *err = intune_scep_error_new();
    const int64_t h = 0x80004005LL;
    EXPECT_ARG(intune_scep_send_failure_notification(NULL, TID, csr->b64, h, "boom", err), err, "client");
    EXPECT_ARG(intune_scep_send_failure_notification(client, NULL, csr->b64, h, "boom", err), err, "transaction_id",
               "transactionId", "transaction id");
    EXPECT_ARG(intune_scep_send_failure_notification(client, "", csr->b64, h, "boom", err), err, "transaction_id",
               "transactionId", "transaction id");
    EXPECT_ARG(intune_scep_send_failure_notification(client, TID, NULL, h, "boom", err), err, "certificate_request",
               "certificateRequest", "certificate request");
    EXPECT_ARG(intune_scep_send_failure_notification(client, TID, "", h, "boom", err), err, "certificate_request",
               "certificateRequest", "certificate request");
    EXPECT_ARG(intune_scep_send_failure_notification(client, TID, csr->b64, h, NULL, err), err, "error_description",
               "errorDescription", "error description");
    EXPECT_ARG(intune_scep_send_failure_notification(client, TID, csr->b64, h, "", err), err, "error_description",
               "errorDescription", "error description");
    CHECK_INT(intune_scep_send_failure_notification(client, TID, csr->b64, h, "", NULL), INTUNE_SCEP_E_INVALID_ARGUMENT);
    intune_scep_error_free(err);
    EXPECT_NOTHING_SENT();
}

static void test_client_function_args(void) {
    th_emu_reset(emu);
    intune_scep_error *err = intune_scep_error_new();
    EXPECT_ARG(intune_scep_client_set_app_key(NULL, "k", err), err, "client");
    EXPECT_ARG(intune_scep_client_set_app_key(client, NULL, err), err, "app_key", "AAD_APP_KEY", "app key");
    EXPECT_ARG(intune_scep_client_set_app_key(client, "", err), err, "app_key", "AAD_APP_KEY", "app key");

    EXPECT_ARG(intune_scep_client_fetch_token(NULL, INTUNE_SCEP_RESOURCE_INTUNE, err), err, "client");
    EXPECT_ARG(intune_scep_client_fetch_token(client, 2, err), err, "resource");
    EXPECT_ARG(intune_scep_client_fetch_token(client, -1, err), err, "resource");

    char *uri = (char *)"untouched";
    EXPECT_ARG(intune_scep_client_discover(NULL, "ScepRequestValidationFEService", &uri, err), err, "client");
    EXPECT_ARG(intune_scep_client_discover(client, NULL, &uri, err), err, "service_name", "service name");
    EXPECT_ARG(intune_scep_client_discover(client, "", &uri, err), err, "service_name", "service name");
    EXPECT_ARG(intune_scep_client_discover(client, "ScepRequestValidationFEService", NULL, err), err, "uri_out", "uri");
    intune_scep_error_free(err);
    intune_scep_string_free(NULL);
    EXPECT_NOTHING_SENT();
    /* The client still works afterwards: the app key was not replaced by a bad call. */
    err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(client, TID, csr->b64, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
}

static void test_helper_args(void) {
    th_emu_reset(emu);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_cert_details *d = (intune_scep_cert_details *)(uintptr_t)1;
    size_t len = strlen(cert_pem);
    EXPECT_ARG(intune_scep_cert_details_from_cert(NULL, len, &d, err), err, "cert");
    CHECK(d == NULL);
    d = (intune_scep_cert_details *)(uintptr_t)1;
    EXPECT_ARG(intune_scep_cert_details_from_cert(cert_pem, 0, &d, err), err, "cert");
    CHECK(d == NULL);
    EXPECT_ARG(intune_scep_cert_details_from_cert(cert_pem, len, NULL, err), err, "out");
    d = (intune_scep_cert_details *)(uintptr_t)1;
    EXPECT_ARG(intune_scep_cert_details_from_cert("garbage", 7, &d, err), err, "cert");
    CHECK(d == NULL);
    intune_scep_cert_details_free(NULL);

    char *out = (char *)"untouched";
    EXPECT_ARG(intune_scep_csr_to_base64_der(NULL, 10, &out, err), err, "csr");
    CHECK(out == NULL);
    out = (char *)"untouched";
    EXPECT_ARG(intune_scep_csr_to_base64_der(csr->pem, 0, &out, err), err, "csr");
    CHECK(out == NULL);
    EXPECT_ARG(intune_scep_csr_to_base64_der(csr->pem, strlen(csr->pem), NULL, err), err, "out");
    out = (char *)"untouched";
    EXPECT_ARG(intune_scep_csr_to_base64_der("garbage!", 8, &out, err), err, "csr");
    CHECK(out == NULL);
    intune_scep_error_free(err);

    /* accessors on NULL */
    CHECK(intune_scep_config_get(NULL, "TENANT") == NULL);
    EXPECT_NOTHING_SENT();
}

static void test_revocation_args(void) {
    th_emu_reset(emu);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_revocation_requests *list = (intune_scep_revocation_requests *)(uintptr_t)1;
    EXPECT_ARG(intune_scep_download_revocation_requests(NULL, 10, NULL, &list, err), err, "client");
    list = (intune_scep_revocation_requests *)(uintptr_t)1;
    EXPECT_ARG(intune_scep_download_revocation_requests(client, 0, NULL, &list, err), err, "max_requests", "maxRequests");
    CHECK(list == NULL);
    EXPECT_ARG(intune_scep_download_revocation_requests(client, 501, NULL, &list, err), err, "max_requests", "maxRequests");
    EXPECT_ARG(intune_scep_download_revocation_requests(client, -1, NULL, &list, err), err, "max_requests", "maxRequests");
    EXPECT_ARG(intune_scep_download_revocation_requests(client, 10, NULL, NULL, err), err, "out");

    intune_scep_revocation_results *res = intune_scep_revocation_results_new();
    REQUIRE(res != NULL);
    EXPECT_ARG(intune_scep_revocation_results_add(NULL, "ctx", 1, "0", NULL, err), err, "results", "r");
    EXPECT_ARG(intune_scep_revocation_results_add(res, NULL, 1, "0", NULL, err), err, "request_context", "requestContext");
    EXPECT_ARG(intune_scep_revocation_results_add(res, "", 1, "0", NULL, err), err, "request_context", "requestContext");
    /* a success carries "0"; a failure one of the contract's codes, never "0" */
    EXPECT_ARG(intune_scep_revocation_results_add(res, "ctx", 1, "4004", NULL, err), err, "error_code", "errorCode");
    EXPECT_ARG(intune_scep_revocation_results_add(res, "ctx", 0, "0", "m", err), err, "error_code", "errorCode");
    EXPECT_ARG(intune_scep_revocation_results_add(res, "ctx", 0, NULL, "m", err), err, "error_code", "errorCode");
    EXPECT_ARG(intune_scep_revocation_results_add(res, "ctx", 0, "9999", "m", err), err, "error_code", "errorCode");
    EXPECT_ARG(intune_scep_revocation_results_add(res, "ctx", 0, "", "m", err), err, "error_code", "errorCode");
    CHECK_INT(intune_scep_revocation_results_count(res), 0);
    intune_scep_revocation_results_free(res); /* a fresh set, whatever was wrongly added above */
    res = intune_scep_revocation_results_new();
    /* nothing to upload, or no client */
    EXPECT_ARG(intune_scep_upload_revocation_results(client, res, err), err, "results");
    EXPECT_ARG(intune_scep_upload_revocation_results(client, NULL, err), err, "results");
    CHECK_STATUS(intune_scep_revocation_results_add(res, "ctx", 1, NULL, NULL, err), INTUNE_SCEP_OK, err);
    CHECK_STATUS(intune_scep_revocation_results_add(res, "ctx-2", 0, "4004", "not found", err), INTUNE_SCEP_OK, err);
    CHECK_INT(intune_scep_revocation_results_count(res), 2);
    EXPECT_ARG(intune_scep_upload_revocation_results(NULL, res, err), err, "client");
    intune_scep_revocation_results_free(res);
    intune_scep_revocation_results_free(NULL);
    intune_scep_revocation_requests_free(NULL);
    intune_scep_error_free(err);
    EXPECT_NOTHING_SENT();
}

static void setup(void) {
    emu = th_emu_start(NULL);
    th_log_init(&logcap);
    client = th_emu_client(emu, &logcap, NULL);
    csr = th_emu_device_csr(emu, "CN=args,O=Contoso");
    th_ca *ca = th_ca_new("Args CA");
    X509 *cert = th_ca_issue(ca, csr, 30);
    cert_pem = th_cert_pem(cert);
    X509_free(cert);
    th_ca_free(ca);
    th_emu_reset(emu);
}

static void teardown(void) {
    CHECK_LOG_NO_SECRET(&logcap, th_emu_cfg(emu, "AAD_APP_KEY"), "the app key");
    intune_scep_client_free(client);
    th_csr_free(csr);
    free(cert_pem);
    th_log_destroy(&logcap);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"validate_request_args", test_validate_request_args},
    {"success_notification_args", test_success_notification_args},
    {"success_notification_for_cert_args", test_success_notification_for_cert_args},
    {"failure_notification_args", test_failure_notification_args},
    {"helper_args", test_helper_args},
    {"revocation_args", test_revocation_args},
    {"client_function_args", test_client_function_args},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
