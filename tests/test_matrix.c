/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Microsoft's SCEP vendor test matrix (docs: test-matrix.md), rows 1-25, plus the
 * negative twins of rows 2-20, in C: the test plays the device (it builds the CSR a
 * device builds for the profile), the emulator plays Intune, and a minimal SCEP
 * server below plays the CA: validate, issue only on Success, notify, and hand the
 * certificate to the device only when Intune accepted the notification.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

static th_emu *emu;
static th_ca *ca;
static int issued_count;

/* ---- the SCEP server under test ---- */

/*
 * Enroll: returns the certificate handed to the device, or NULL. *vrc gets the
 * validation status, *nrc the notification status (-1 when not sent).
 */
static X509 *scep_enroll(intune_scep_client *c, const char *tid, const char *csr_b64, const th_csr *csr, int days, int *vrc,
                         int *nrc, intune_scep_error *err) {
    *nrc = -1;
    *vrc = intune_scep_validate_request(c, tid, csr_b64, err);
    if (*vrc != INTUNE_SCEP_OK) return NULL; /* fail closed: nothing is issued */
    X509 *cert = th_ca_issue(ca, csr, days);
    issued_count++;
    char *pem = th_cert_pem(cert);
    *nrc = intune_scep_send_success_notification_for_cert(c, tid, csr_b64, pem, strlen(pem), "ca01\\Contoso Test CA",
                                                          "Contoso Test CA", err);
    free(pem);
    if (*nrc != INTUNE_SCEP_OK) {
        X509_free(cert); /* Intune did not take the notification: the device does not get it */
        return NULL;
    }
    return cert;
}

/* ---- rows ---- */

typedef struct row {
    const char *name;
    const char *profile;  /* JSON, without the challenge-specific parts */
    th_csr_spec spec;     /* the device's request (challenge filled in) */
    const char *code;     /* expected Intune code; NULL = Success */
    int days;             /* validity of the issued certificate */
} row;

static char *challenge_for(const char *profile, char **profile_id) { return th_emu_challenge(emu, profile, profile_id); }

static const cJSON *find_success_notification(const cJSON *notes, const char *tid) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(notes, "success");
    const cJSON *n;
    cJSON_ArrayForEach(n, s) {
        const cJSON *inner = cJSON_GetObjectItemCaseSensitive(n, "notification");
        const cJSON *src = inner ? inner : n;
        const char *t = th_json_str(src, "transactionId");
        if (t && strcmp(t, tid) == 0) return src;
    }
    return NULL;
}

static void run_row(intune_scep_client *c, const row *r, const char *tid) {
    char *challenge = challenge_for(r->profile, NULL);
    th_csr_spec spec = r->spec;
    spec.challenge = challenge;
    th_csr *csr = th_csr_build(&spec);
    intune_scep_error *err = intune_scep_error_new();
    int vrc, nrc;
    int before = issued_count;
    X509 *cert = scep_enroll(c, tid, csr->b64, csr, r->days ? r->days : 365, &vrc, &nrc, err);
    th_note("%s: %s", r->name, r->code ? r->code : "Success");
    cJSON *notes = th_emu_notifications(emu);
    if (!r->code) {
        CHECK_STATUS(vrc, INTUNE_SCEP_OK, err);
        CHECK_STATUS(nrc, INTUNE_SCEP_OK, err);
        REQUIRE(cert != NULL);
        const cJSON *n = find_success_notification(notes, tid);
        CHECK(n != NULL);
        if (n) {
            char *sha1 = th_cert_sha1_hex(cert);
            CHECK_STR(th_json_str(n, "certificateThumbprint"), sha1);
            CHECK_STR(th_json_str(n, "certificateRequest"), csr->b64);
            CHECK_STR(th_json_str(n, "issuingCertificateAuthority"), "CN=Contoso Test CA,O=Intune SCEP Tests");
            struct tm tmv;
            char expiry[64];
            ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tmv);
            strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%S.000Z", &tmv);
            CHECK_STR(th_json_str(n, "certificateExpirationDateUtc"), expiry);
            free(sha1);
        }
    } else {
        CHECK_STATUS(vrc, INTUNE_SCEP_E_REJECTED, err);
        CHECK_STR(intune_scep_error_service_code(err), r->code);
        CHECK(intune_scep_error_description(err) != NULL);
        CHECK(cert == NULL);
        CHECK_INT(issued_count, before); /* no certificate issued */
        CHECK(find_success_notification(notes, tid) == NULL);
    }
    cJSON_Delete(notes);
    X509_free(cert);
    th_csr_free(csr);
    free(challenge);
    intune_scep_error_free(err);
}

#define CLIENT_AUTH "1.3.6.1.5.5.7.3.2"
#define IPSEC_TUNNEL "1.3.6.1.5.5.7.3.6"

static const row rows[] = {
    {"row 2 subject CN", "{\"subject\":\"CN=alice\"}", {.subject = "CN=alice"}, NULL, 0},
    {"row 3 subject CN and E", "{\"subject\":\"CN=alice,E=alice@contoso.com\"}", {.subject = "CN=alice,E=alice@contoso.com"}, NULL, 0},
    {"row 4 subject CN as email", "{\"subject\":\"CN=alice@contoso.com\"}", {.subject = "CN=alice@contoso.com"}, NULL, 0},
    {"row 5 subject IMEI", "{\"subject\":\"CN=356938035643809\"}", {.subject = "CN=356938035643809"}, NULL, 0},
    {"row 6 subject serial number", "{\"subject\":\"CN=F2LX1234ABCD,SERIALNUMBER=F2LX1234ABCD\"}",
     {.subject = "CN=F2LX1234ABCD,SERIALNUMBER=F2LX1234ABCD"}, NULL, 0},
    {"row 7 subject custom", "{\"subject\":\"CN=alice,OU=Engineering,O=Contoso,L=Redmond,ST=WA,C=US\"}",
     {.subject = "CN=alice,OU=Engineering,O=Contoso,L=Redmond,ST=WA,C=US"}, NULL, 0},
    {"row 8 SAN email", "{\"subject\":\"CN=alice\",\"san_emails\":[\"alice@contoso.com\"]}",
     {.subject = "CN=alice", .san_emails = {"alice@contoso.com"}}, NULL, 0},
    {"row 9 SAN UPN", "{\"subject\":\"CN=alice\",\"san_upns\":[\"alice@contoso.onmicrosoft.com\"]}",
     {.subject = "CN=alice", .san_upns = {"alice@contoso.onmicrosoft.com"}}, NULL, 0},
    {"row 10 SAN email and UPN", "{\"subject\":\"CN=alice\",\"san_emails\":[\"alice@contoso.com\"],\"san_upns\":[\"alice@contoso.onmicrosoft.com\"]}",
     {.subject = "CN=alice", .san_emails = {"alice@contoso.com"}, .san_upns = {"alice@contoso.onmicrosoft.com"}}, NULL, 0},
    {"row 11 KU digitalSignature", "{\"subject\":\"CN=alice\",\"key_usage\":[\"digitalSignature\"]}",
     {.subject = "CN=alice", .key_usage = TH_KU_DIGITAL_SIGNATURE}, NULL, 0},
    {"row 12 KU keyEncipherment", "{\"subject\":\"CN=alice\",\"key_usage\":[\"keyEncipherment\"]}",
     {.subject = "CN=alice", .key_usage = TH_KU_KEY_ENCIPHERMENT}, NULL, 0},
    {"row 13 KU both", "{\"subject\":\"CN=alice\",\"key_usage\":[\"digitalSignature\",\"keyEncipherment\"]}",
     {.subject = "CN=alice", .key_usage = TH_KU_DIGITAL_SIGNATURE | TH_KU_KEY_ENCIPHERMENT}, NULL, 0},
    {"row 14 key size 1024", "{\"subject\":\"CN=alice\",\"key_size\":1024}", {.subject = "CN=alice", .key_bits = 1024}, NULL, 0},
    {"row 15 key size 2048", "{\"subject\":\"CN=alice\",\"key_size\":2048}", {.subject = "CN=alice", .key_bits = 2048}, NULL, 0},
    {"row 16 hash SHA-1", "{\"subject\":\"CN=alice\",\"hash_algorithms\":[\"sha1\"]}", {.subject = "CN=alice", .hash = "sha1"}, NULL, 0},
    {"row 17 hash SHA-2", "{\"subject\":\"CN=alice\",\"hash_algorithms\":[\"sha256\"]}", {.subject = "CN=alice", .hash = "sha256"}, NULL, 0},
    {"row 18 hash SHA-1 of SHA-1/SHA-2", "{\"subject\":\"CN=alice\",\"hash_algorithms\":[\"sha1\",\"sha256\"]}",
     {.subject = "CN=alice", .hash = "sha1"}, NULL, 0},
    {"row 18 hash SHA-2 of SHA-1/SHA-2", "{\"subject\":\"CN=alice\",\"hash_algorithms\":[\"sha1\",\"sha256\"]}",
     {.subject = "CN=alice", .hash = "sha256"}, NULL, 0},
    {"row 19 EKU client authentication", "{\"subject\":\"CN=alice\",\"ekus\":[\"" CLIENT_AUTH "\"]}",
     {.subject = "CN=alice", .ekus = {CLIENT_AUTH}}, NULL, 0},
    {"row 20 EKU IPsec tunnel", "{\"subject\":\"CN=alice\",\"ekus\":[\"" IPSEC_TUNNEL "\"]}",
     {.subject = "CN=alice", .ekus = {IPSEC_TUNNEL}}, NULL, 0},
    {"full profile", "{\"subject\":\"CN=alice,O=Contoso\",\"san_emails\":[\"alice@contoso.com\"],\"san_upns\":[\"alice@contoso.com\"],"
                     "\"san_dns\":[\"alice-pc.contoso.com\"],\"key_usage\":[\"digitalSignature\",\"keyEncipherment\"],\"key_size\":2048,"
                     "\"hash_algorithms\":[\"sha256\"],\"ekus\":[\"" CLIENT_AUTH "\"],\"validity_days\":365,\"device_id\":\"device-1\"}",
     {.subject = "CN=alice,O=Contoso", .san_emails = {"alice@contoso.com"}, .san_upns = {"alice@contoso.com"},
      .san_dns = {"alice-pc.contoso.com"}, .key_usage = TH_KU_DIGITAL_SIGNATURE | TH_KU_KEY_ENCIPHERMENT, .key_bits = 2048,
      .hash = "sha256", .ekus = {CLIENT_AUTH}},
     NULL, 365},
    /* negative twins */
    {"twin 2 wrong subject", "{\"subject\":\"CN=alice\"}", {.subject = "CN=mallory"}, "SubjectNameMismatch", 0},
    {"twin 7 subject RDNs reordered", "{\"subject\":\"CN=alice,O=Contoso\"}", {.subject = "O=Contoso,CN=alice"}, "SubjectNameMismatch", 0},
    {"twin subject missing", "{\"subject\":\"CN=alice\"}", {.subject = NULL}, "SubjectNameMissing", 0},
    {"twin 8 SAN missing", "{\"subject\":\"CN=alice\",\"san_emails\":[\"alice@contoso.com\"]}", {.subject = "CN=alice"},
     "SubjectAltNameMissing", 0},
    {"twin 8 SAN email wrong", "{\"subject\":\"CN=alice\",\"san_emails\":[\"alice@contoso.com\"]}",
     {.subject = "CN=alice", .san_emails = {"mallory@contoso.com"}}, "SubjectAltNameMismatch", 0},
    {"twin 9 SAN UPN wrong", "{\"subject\":\"CN=alice\",\"san_upns\":[\"alice@contoso.com\"]}",
     {.subject = "CN=alice", .san_upns = {"mallory@contoso.com"}}, "SubjectAltNameMismatch", 0},
    {"twin 10 SAN UPN missing of both", "{\"subject\":\"CN=alice\",\"san_emails\":[\"alice@contoso.com\"],\"san_upns\":[\"alice@contoso.com\"]}",
     {.subject = "CN=alice", .san_emails = {"alice@contoso.com"}}, "SubjectAltNameMismatch", 0},
    {"twin 11 KU wrong", "{\"subject\":\"CN=alice\",\"key_usage\":[\"digitalSignature\"]}",
     {.subject = "CN=alice", .key_usage = TH_KU_KEY_ENCIPHERMENT}, "KeyUsageMismatch", 0},
    {"twin 13 KU missing", "{\"subject\":\"CN=alice\",\"key_usage\":[\"digitalSignature\",\"keyEncipherment\"]}",
     {.subject = "CN=alice"}, "KeyUsageMismatch", 0},
    {"twin 15 short key", "{\"subject\":\"CN=alice\",\"key_size\":2048}", {.subject = "CN=alice", .key_bits = 1024},
     "KeyLengthMismatch", 0},
    {"twin 17 SHA-1 where SHA-2 is required", "{\"subject\":\"CN=alice\",\"hash_algorithms\":[\"sha256\"]}",
     {.subject = "CN=alice", .hash = "sha1"}, "SignatureValidationFailed", 0},
    {"twin 19 EKU missing", "{\"subject\":\"CN=alice\",\"ekus\":[\"" CLIENT_AUTH "\"]}", {.subject = "CN=alice"},
     "EnhancedKeyUsageMissing", 0},
    {"twin 20 EKU wrong", "{\"subject\":\"CN=alice\",\"ekus\":[\"" IPSEC_TUNNEL "\"]}",
     {.subject = "CN=alice", .ekus = {CLIENT_AUTH}}, "EnhancedKeyUsageMismatch", 0},
    {"twin expired challenge", "{\"subject\":\"CN=alice\",\"expires_in\":-60}", {.subject = "CN=alice"}, "ChallengeExpired", 0},
};

static intune_scep_client *client;
static th_log logcap;

static void test_rows(void) {
    th_emu_reset(emu);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char tid[64];
        snprintf(tid, sizeof tid, "tid-matrix-%zu", i);
        run_row(client, &rows[i], tid);
    }
}

static void test_row1_validity(void) {
    th_emu_reset(emu);
    row r = {"row 1 validity 30 days", "{\"subject\":\"CN=alice\",\"validity_days\":30}", {.subject = "CN=alice"}, NULL, 30};
    run_row(client, &r, "tid-row1");
    cJSON *notes = th_emu_notifications(emu);
    const cJSON *n = find_success_notification(notes, "tid-row1");
    REQUIRE(n != NULL);
    const char *exp = th_json_str(n, "certificateExpirationDateUtc");
    REQUIRE(exp != NULL);
    struct tm tmv = {0};
    REQUIRE(strptime(exp, "%Y-%m-%dT%H:%M:%S", &tmv) != NULL);
    double days = difftime(timegm(&tmv), time(NULL)) / 86400.0;
    th_note("the notification's expiry is %.2f days ahead", days);
    CHECK(days > 29.9 && days < 30.1);
    cJSON_Delete(notes);
}

static void test_row21_renewal(void) {
    th_emu_reset(emu);
    const char *profile = "{\"subject\":\"CN=alice\",\"key_usage\":[\"digitalSignature\"]}";
    char *pid = NULL;
    char *ch1 = th_emu_challenge(emu, profile, &pid);
    REQUIRE(pid != NULL);
    char *renew_profile = th_strdupf("{\"subject\":\"CN=alice\",\"key_usage\":[\"digitalSignature\"],\"profile_id\":\"%s\"}", pid);
    intune_scep_error *err = intune_scep_error_new();
    th_csr_spec spec = {.subject = "CN=alice", .key_usage = TH_KU_DIGITAL_SIGNATURE, .challenge = ch1};
    th_csr *first = th_csr_build(&spec);
    int vrc, nrc;
    X509 *c1 = scep_enroll(client, "tid-renew-1", first->b64, first, 30, &vrc, &nrc, err);
    CHECK(c1 != NULL);
    /* before the first certificate expires, the device renews with a new challenge */
    char *ch2 = th_emu_challenge(emu, renew_profile, NULL);
    CHECK(strcmp(ch1, ch2) != 0);
    spec.challenge = ch2;
    spec.key_bits = 1024; /* a new key */
    th_csr *second = th_csr_build(&spec);
    X509 *c2 = scep_enroll(client, "tid-renew-2", second->b64, second, 30, &vrc, &nrc, err);
    CHECK(c2 != NULL);
    cJSON *notes = th_emu_notifications(emu);
    CHECK(find_success_notification(notes, "tid-renew-1") != NULL);
    CHECK(find_success_notification(notes, "tid-renew-2") != NULL);
    cJSON_Delete(notes);
    X509_free(c1);
    X509_free(c2);
    th_csr_free(first);
    th_csr_free(second);
    free(ch1);
    free(ch2);
    free(pid);
    free(renew_profile);
    intune_scep_error_free(err);
}

static void reject_case(const char *what, const char *csr_b64, const th_csr *csr, const char *code) {
    intune_scep_error *err = intune_scep_error_new();
    int vrc, nrc, before = issued_count;
    th_note("%s: %s", what, code);
    X509 *cert = scep_enroll(client, "tid-challenge-twin", csr_b64, csr, 30, &vrc, &nrc, err);
    CHECK(cert == NULL);
    CHECK_STATUS(vrc, INTUNE_SCEP_E_REJECTED, err);
    CHECK_STR(intune_scep_error_service_code(err), code);
    CHECK_INT(issued_count, before);
    X509_free(cert);
    intune_scep_error_free(err);
}

static void test_challenge_twins(void) {
    th_emu_reset(emu);
    const char *profile = "{\"subject\":\"CN=alice\"}";
    /* no challenge */
    th_csr_spec spec = {.subject = "CN=alice"};
    th_csr *csr = th_csr_build(&spec);
    reject_case("no challengePassword", csr->b64, csr, "ChallengePasswordMissing");
    th_csr_free(csr);
    /* not a challenge of this service */
    spec.challenge = "not-a-challenge";
    csr = th_csr_build(&spec);
    reject_case("foreign challenge", csr->b64, csr, "ChallengeDecodingError");
    th_csr_free(csr);
    /* a tampered challenge (its MAC no longer matches) */
    char *ch = th_emu_challenge(emu, profile, NULL);
    char *mac = strrchr(ch, '.');
    REQUIRE(mac && strlen(mac) > 10);
    mac[5] = mac[5] == 'A' ? 'B' : 'A';
    spec.challenge = ch;
    csr = th_csr_build(&spec);
    reject_case("tampered challenge", csr->b64, csr, "ChallengeDeserializationError");
    th_csr_free(csr);
    free(ch);
    /* a profile no longer targeted to the device */
    char *pid = NULL;
    ch = th_emu_challenge(emu, profile, &pid);
    char *path = th_strdupf("profiles/%s/untarget", pid);
    long st = 0;
    cJSON_Delete(th_emu_call(emu, "POST", path, NULL, &st));
    CHECK_INT(st, 200);
    spec.challenge = ch;
    csr = th_csr_build(&spec);
    reject_case("untargeted profile", csr->b64, csr, "ScepProfileNoLongerTargetedToTheClient");
    /* the CSR's signature broken */
    unsigned char *der = malloc(csr->der_len);
    memcpy(der, csr->der, csr->der_len);
    der[csr->der_len - 5] ^= 0x55;
    char *b64 = malloc(csr->der_len * 2 + 4);
    int n = EVP_EncodeBlock((unsigned char *)b64, der, (int)csr->der_len);
    b64[n] = 0;
    reject_case("bad CSR signature", b64, csr, "SignatureValidationFailed");
    /* not a CSR */
    reject_case("not a CSR", "bm90IGEgY3NyIGF0IGFsbA==", csr, "CertificateRequestDecodingFailed");
    free(b64);
    free(der);
    th_csr_free(csr);
    free(ch);
    free(path);
    free(pid);
}

static void test_rows22_to_25(void) {
    th_emu_reset(emu);
    const char *profile = "{\"subject\":\"CN=alice\"}";
    intune_scep_error *err = intune_scep_error_new();
    int vrc, nrc;

    /* 22: the request does not match its challenge: validation fails, nothing issued, no notification needed */
    char *ch = th_emu_challenge(emu, profile, NULL);
    th_csr_spec spec = {.subject = "CN=mallory", .challenge = ch};
    th_csr *bad = th_csr_build(&spec);
    int before = issued_count;
    X509 *cert = scep_enroll(client, "tid-row22", bad->b64, bad, 30, &vrc, &nrc, err);
    CHECK(cert == NULL);
    CHECK_STATUS(vrc, INTUNE_SCEP_E_REJECTED, err);
    CHECK_STR(intune_scep_error_service_code(err), "SubjectNameMismatch");
    CHECK_INT(issued_count, before);
    cJSON *vals = th_emu_call(emu, "GET", "validations", NULL, NULL);
    const cJSON *last = th_item(vals, cJSON_GetArraySize(vals) - 1);
    CHECK_STR(th_json_str(last, "transaction_id"), "tid-row22");
    CHECK_STR(th_json_str(last, "code"), "SubjectNameMismatch");
    cJSON_Delete(vals);
    th_csr_free(bad);

    /* 23: validation answers HTTP 500 (every attempt): nothing issued */
    spec.subject = "CN=alice";
    th_csr *good = th_csr_build(&spec);
    th_emu_fault_respond(emu, "validateRequest", 500, "{\"error\":\"internal\"}", 0);
    cert = scep_enroll(client, "tid-row23", good->b64, good, 30, &vrc, &nrc, err);
    CHECK(cert == NULL);
    CHECK_STATUS(vrc, INTUNE_SCEP_E_HTTP, err);
    CHECK_INT(intune_scep_error_http_status(err), 500);
    CHECK_INT(issued_count, before);
    cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));

    /* 24: the success notification answers HTTP 500: the certificate is not handed to the device */
    th_emu_fault_respond(emu, "successNotification", 500, "{\"error\":\"internal\"}", 0);
    cert = scep_enroll(client, "tid-row24", good->b64, good, 30, &vrc, &nrc, err);
    CHECK_STATUS(vrc, INTUNE_SCEP_OK, err);
    CHECK_STATUS(nrc, INTUNE_SCEP_E_HTTP, err);
    CHECK(cert == NULL);
    cJSON_Delete(th_emu_call(emu, "DELETE", "faults", NULL, NULL));
    th_csr_free(good);
    free(ch);

    /* 25: wrong AAD_APP_KEY: the token request fails with AADSTS detail, nothing issued, a clear log line */
    static const char wrong[] = "definitely-not-the-key~+/=";
    th_register_secret(wrong);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"AAD_APP_KEY", wrong, NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    ch = th_emu_challenge(emu, profile, NULL);
    spec.challenge = ch;
    good = th_csr_build(&spec);
    before = issued_count;
    cert = scep_enroll(c, "tid-row25", good->b64, good, 30, &vrc, &nrc, err);
    CHECK(cert == NULL);
    CHECK_STATUS(vrc, INTUNE_SCEP_E_AUTH, err);
    CHECK_STR(intune_scep_error_service_code(err), "invalid_client");
    CHECK_INT(intune_scep_error_aadsts_code(err), 7000215);
    CHECK_CONTAINS(intune_scep_error_description(err), "AADSTS7000215");
    CHECK_INT(issued_count, before);
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "7000215", NULL) >= 1);
    CHECK_LOG_NO_SECRET(&log, wrong, "the wrong app key");
    if (strstr(intune_scep_error_message(err), wrong)) th_fail(__FILE__, __LINE__, "the message holds the app key");
    intune_scep_client_free(c);
    th_log_destroy(&log);
    th_csr_free(good);
    free(ch);
    intune_scep_error_free(err);
}

static void setup(void) {
    emu = th_emu_start(NULL);
    ca = th_ca_new("Contoso Test CA");
    th_log_init(&logcap);
    client = th_emu_client(emu, &logcap, NULL);
}

static void teardown(void) {
    CHECK_LOG_NO_SECRET(&logcap, th_emu_cfg(emu, "AAD_APP_KEY"), "the app key");
    intune_scep_client_free(client);
    th_log_destroy(&logcap);
    th_ca_free(ca);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"rows_2_to_20_and_twins", test_rows},
    {"row_1_validity", test_row1_validity},
    {"row_21_renewal", test_row21_renewal},
    {"challenge_twins", test_challenge_twins},
    {"rows_22_to_25", test_rows22_to_25},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
