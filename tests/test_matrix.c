/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Microsoft's SCEP vendor test matrix: the C runner of tests/scenarios/vendor.json (the
 * Python and Java runners are python/tests/test_matrix.py and VendorMatrixTest.java; the
 * fields are described in tests/scenarios/README.md). The emulator plays Intune, the
 * device (POST device/csr builds the CSR a device builds for the profile) and the CA
 * (POST device/certificate); the runner plays the SCEP server: validate, have a
 * certificate issued only on Success, notify, and hand the certificate to the device
 * only when Intune accepted the notification.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/objects.h>

/* The number of scenarios when the table was written: a table that shrinks fails. */
#define SCENARIO_FLOOR 50

static th_emu *emu;
static intune_scep_client *client;
static th_log logcap;
static cJSON *table;

/* ---- the SCEP server under test ---- */

typedef struct enrollment {
    int vrc, nrc;   /* validation and notification status (nrc -1: not sent) */
    cJSON *issued;  /* the device/certificate answer when the CA issued, else NULL */
    int delivered;  /* the certificate was handed to the device */
} enrollment;

static int issued_count;

static int json_int(const cJSON *o, const char *name, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static void scep_enroll(intune_scep_client *c, const char *tid, const char *csr_b64, int days, enrollment *e,
                        intune_scep_error *err) {
    memset(e, 0, sizeof *e);
    e->nrc = -1;
    e->vrc = intune_scep_validate_request(c, tid, csr_b64, err);
    if (e->vrc != INTUNE_SCEP_OK) return; /* fail closed: nothing is issued */
    char *body = th_strdupf("{\"csr\":\"%s\",\"validity_days\":%d}", csr_b64, days);
    long st = 0;
    e->issued = th_emu_call(emu, "POST", "device/certificate", body, &st);
    free(body);
    REQUIRE(st == 200 && e->issued != NULL);
    issued_count++;
    const char *pem = th_json_str(e->issued, "certificate_pem");
    REQUIRE(pem != NULL);
    e->nrc = intune_scep_send_success_notification_for_cert(c, tid, csr_b64, pem, strlen(pem), "ca01\\Contoso Test CA",
                                                             "Contoso Test CA", err);
    e->delivered = e->nrc == INTUNE_SCEP_OK; /* else Intune did not take it: the device does not get it */
}

static const cJSON *find_by(const cJSON *list, const char *field, const char *value) {
    const cJSON *n;
    cJSON_ArrayForEach(n, list) {
        const cJSON *inner = cJSON_GetObjectItemCaseSensitive(n, "notification");
        const cJSON *src = inner ? inner : n;
        const char *t = th_json_str(src, field);
        if (t && strcmp(t, value) == 0) return src;
    }
    return NULL;
}

static const cJSON *success_notification(const cJSON *notes, const char *tid) {
    return find_by(cJSON_GetObjectItemCaseSensitive(notes, "success"), "transactionId", tid);
}

/* What Intune recorded for a delivered certificate: the validation, and the notification's fields. */
static void check_delivered(const char *tid, const char *csr_b64, const char *profile_id, const enrollment *e, int days) {
    CHECK_STATUS(e->vrc, INTUNE_SCEP_OK, NULL);
    CHECK_STATUS(e->nrc, INTUNE_SCEP_OK, NULL);
    CHECK(e->delivered);
    if (!e->issued) return;
    cJSON *vals = th_emu_call(emu, "GET", "validations", NULL, NULL);
    const cJSON *v = find_by(vals, "transaction_id", tid);
    CHECK(v != NULL);
    if (v) {
        CHECK_STR(th_json_str(v, "code"), "Success");
        CHECK_STR(th_json_str(v, "profile_id"), profile_id);
    }
    cJSON_Delete(vals);
    cJSON *notes = th_emu_notifications(emu);
    const cJSON *n = success_notification(notes, tid);
    CHECK(n != NULL);
    if (n) {
        static const char *const fields[] = {"certificateThumbprint", "certificateSerialNumber",
                                             "certificateExpirationDateUtc", "issuingCertificateAuthority"};
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
            CHECK_STR(th_json_str(n, fields[i]), th_json_str(e->issued, fields[i]));
        CHECK_STR(th_json_str(n, "certificateRequest"), csr_b64);
        /* the expiry is `days` ahead, as the profile's validity asks */
        const char *exp = th_json_str(n, "certificateExpirationDateUtc");
        struct tm tmv = {0};
        if (exp && strptime(exp, "%Y-%m-%dT%H:%M:%S", &tmv)) {
            double ahead = difftime(timegm(&tmv), time(NULL)) / 86400.0;
            CHECK(ahead > days - 0.1 && ahead < days + 0.1);
        } else {
            th_fail(__FILE__, __LINE__, "certificateExpirationDateUtc %s is not ISO 8601", exp ? exp : "(none)");
        }
    }
    cJSON_Delete(notes);
}

/* The device's request for the scenario (the emulator builds it), checked to hold what was asked. */
static th_csr *device_request(const cJSON *s, const cJSON *profile, int fresh_key, char **challenge, char **pid) {
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(s, "device");
    cJSON *body = dev ? cJSON_Duplicate(dev, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(body, "profile", cJSON_Duplicate(profile, 1));
    if (fresh_key) cJSON_AddTrueToObject(body, "fresh_key");
    char *json = cJSON_PrintUnformatted(body);
    th_csr *csr = th_emu_csr(emu, json, challenge, pid);
    free(json);

    const cJSON *hashes = cJSON_GetObjectItemCaseSensitive(profile, "hash_algorithms");
    const char *want_hash = th_json_str(body, "hash");
    if (!want_hash) want_hash = cJSON_IsString(th_item(hashes, 0)) ? th_item(hashes, 0)->valuestring : "sha256";
    const cJSON *bits = cJSON_GetObjectItemCaseSensitive(body, "key_size");
    if (!cJSON_IsNumber(bits)) bits = cJSON_GetObjectItemCaseSensitive(profile, "key_size");
    /* read with OpenSSL, independently of the library's own request reader */
    int md_nid = 0;
    CHECK(OBJ_find_sigid_algs(X509_REQ_get_signature_nid(csr->req), &md_nid, NULL) == 1);
    if (strcasecmp(OBJ_nid2sn(md_nid), want_hash) != 0)
        th_fail(__FILE__, __LINE__, "the request is signed with %s, not %s", OBJ_nid2sn(md_nid), want_hash);
    CHECK_INT(EVP_PKEY_get_bits(X509_REQ_get0_pubkey(csr->req)), cJSON_IsNumber(bits) ? bits->valueint : 2048);
    cJSON_Delete(body);
    return csr;
}

static void run_scenario(const cJSON *s, int index) {
    const char *name = th_json_str(s, "name");
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(s, "expect");
    const cJSON *profile = cJSON_GetObjectItemCaseSensitive(s, "profile");
    const char *want = th_json_str(expect, "validate");
    const char *code = th_json_str(expect, "code");
    if (!name || !want) {
        th_fail(__FILE__, __LINE__, "scenario %d has no name or expect.validate", index);
        return;
    }
    th_note("scenario %d: %s", index, name);
    th_emu_reset(emu); /* clears faults, requests, validations and notifications */

    int days = 365;
    const cJSON *vd = cJSON_GetObjectItemCaseSensitive(profile, "validity_days");
    if (cJSON_IsNumber(vd)) days = vd->valueint;

    th_csr *csr = NULL;
    char *challenge = NULL, *pid = NULL;
    const char *csr_b64 = th_json_str(s, "csr_b64");
    if (!csr_b64) {
        csr = device_request(s, profile, 0, &challenge, &pid);
        csr_b64 = csr->b64;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "untarget"))) {
        char *path = th_strdupf("profiles/%s/untarget", pid ? pid : "");
        long st = 0;
        cJSON_Delete(th_emu_call(emu, "POST", path, NULL, &st));
        CHECK_INT(st, 200);
        free(path);
    }
    const cJSON *fault = cJSON_GetObjectItemCaseSensitive(s, "fault");
    if (fault) {
        char *f = cJSON_PrintUnformatted(fault);
        th_emu_fault(emu, f);
        free(f);
    }

    /* the client: the common one, or one with the scenario's configuration */
    intune_scep_client *c = client;
    th_log own_log;
    th_log *log = &logcap;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(s, "client");
    const char *ov[16] = {NULL};
    if (cfg) {
        int k = 0;
        const cJSON *kv;
        cJSON_ArrayForEach(kv, cfg) {
            if (k + 2 >= 16 || !cJSON_IsString(kv)) break;
            ov[k++] = kv->string;
            ov[k++] = kv->valuestring;
            th_register_secret(kv->valuestring); /* never printed, whatever it is */
        }
        th_log_init(&own_log);
        log = &own_log;
        c = th_emu_client(emu, log, ov);
    }

    char tid[64];
    snprintf(tid, sizeof tid, "tid-vendor-%d", index);
    intune_scep_error *err = intune_scep_error_new();
    enrollment e;
    int before = issued_count;
    scep_enroll(c, tid, csr_b64, days, &e, err);

    if (strcmp(want, "ok") == 0) {
        const char *notify = th_json_str(expect, "notify");
        if (!notify || strcmp(notify, "ok") == 0) {
            check_delivered(tid, csr_b64, pid, &e, days);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "renewal"))) {
                /* before the first certificate expires, the device renews: same profile, new challenge, new key */
                cJSON *again_profile = cJSON_Duplicate(profile, 1);
                cJSON_AddStringToObject(again_profile, "profile_id", pid);
                char *ch2 = NULL, *pid2 = NULL;
                th_csr *second = device_request(s, again_profile, 1, &ch2, &pid2);
                CHECK(ch2 && challenge && strcmp(ch2, challenge) != 0);
                CHECK_STR(pid2, pid);
                CHECK(!EVP_PKEY_eq(second->key, csr->key));
                enrollment e2;
                char tid2[80];
                snprintf(tid2, sizeof tid2, "%s-renewal", tid);
                scep_enroll(c, tid2, second->b64, days, &e2, err);
                check_delivered(tid2, second->b64, pid, &e2, days);
                CHECK(e2.issued && e.issued && strcmp(th_json_str(e2.issued, "certificateSerialNumber"),
                                                      th_json_str(e.issued, "certificateSerialNumber")) != 0);
                cJSON *notes = th_emu_notifications(emu);
                CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(notes, "success")), 2);
                cJSON_Delete(notes);
                cJSON_Delete(e2.issued);
                th_csr_free(second);
                cJSON_Delete(again_profile);
                free(ch2);
                free(pid2);
            }
        } else { /* the notification fails: the CA issued, the device does not get the certificate */
            CHECK_STATUS(e.vrc, INTUNE_SCEP_OK, err);
            CHECK_STATUS(e.nrc, INTUNE_SCEP_E_HTTP, err);
            CHECK_INT(intune_scep_error_http_status(err), json_int(expect, "http_status", -1));
            CHECK(e.issued != NULL && !e.delivered);
            CHECK(th_emu_request_count(emu, "successNotification") > 0);
            cJSON *notes = th_emu_notifications(emu);
            CHECK(success_notification(notes, tid) == NULL);
            cJSON_Delete(notes);
        }
    } else {
        CHECK(e.issued == NULL && !e.delivered);
        CHECK_INT(issued_count, before); /* nothing issued */
        CHECK_INT(e.nrc, -1);
        cJSON *notes = th_emu_notifications(emu);
        CHECK(success_notification(notes, tid) == NULL);
        cJSON_Delete(notes);
        if (strcmp(want, "rejected") == 0) {
            CHECK_STATUS(e.vrc, INTUNE_SCEP_E_REJECTED, err);
            CHECK_STR(intune_scep_error_service_code(err), code);
            CHECK(intune_scep_error_description(err) != NULL);
            cJSON *vals = th_emu_call(emu, "GET", "validations", NULL, NULL);
            const cJSON *v = find_by(vals, "transaction_id", tid);
            CHECK(v != NULL);
            if (v) CHECK_STR(th_json_str(v, "code"), code);
            cJSON_Delete(vals);
        } else if (strcmp(want, "http") == 0) {
            CHECK_STATUS(e.vrc, INTUNE_SCEP_E_HTTP, err);
            CHECK_INT(intune_scep_error_http_status(err), json_int(expect, "http_status", -1));
        } else if (strcmp(want, "auth") == 0) {
            CHECK_STATUS(e.vrc, INTUNE_SCEP_E_AUTH, err);
            CHECK_STR(intune_scep_error_service_code(err), code);
            int aadsts = json_int(expect, "aadsts", -1);
            CHECK_INT(intune_scep_error_aadsts_code(err), aadsts);
            char *want_desc = th_strdupf("AADSTS%d", aadsts);
            CHECK_CONTAINS(intune_scep_error_description(err), want_desc);
            free(want_desc);
            const char *warning = th_json_str(expect, "log_warning");
            if (warning) CHECK(th_log_count(log, INTUNE_SCEP_LOG_WARNING, warning, NULL) >= 1);
        } else {
            th_fail(__FILE__, __LINE__, "scenario %s: unknown expect.validate %s", name, want);
        }
        if (th_json_str(expect, "code") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "failure_notification"))) {
            /* the CA tells Intune why it issued nothing */
            int frc = intune_scep_send_failure_notification(c, tid, csr_b64, 0x80004005, code, err);
            CHECK_STATUS(frc, INTUNE_SCEP_OK, err);
            cJSON *fn = th_emu_notifications(emu);
            const cJSON *n = find_by(cJSON_GetObjectItemCaseSensitive(fn, "failure"), "transactionId", tid);
            CHECK(n != NULL);
            if (n) CHECK_STR(th_json_str(n, "errorDescription"), code);
            cJSON_Delete(fn);
        }
    }
    const cJSON *not_sent = cJSON_GetObjectItemCaseSensitive(expect, "not_sent");
    const cJSON *endpoint;
    cJSON_ArrayForEach(endpoint, not_sent) {
        if (cJSON_IsString(endpoint)) CHECK_INT(th_emu_request_count(emu, endpoint->valuestring), 0);
    }
    if (cfg) {
        /* a configured secret never reaches a log line or the error message */
        const cJSON *kv;
        cJSON_ArrayForEach(kv, cfg) {
            if (!cJSON_IsString(kv)) continue;
            CHECK_LOG_NO_SECRET(log, kv->valuestring, kv->string);
            const char *msg = intune_scep_error_message(err);
            if (msg && strstr(msg, kv->valuestring)) th_fail(__FILE__, __LINE__, "the message holds %s", kv->string);
        }
        intune_scep_client_free(c);
        th_log_destroy(&own_log);
    }
    cJSON_Delete(e.issued);
    intune_scep_error_free(err);
    th_csr_free(csr);
    free(challenge);
    free(pid);
}

static void test_scenario_count(void) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(table, "scenarios");
    int n = cJSON_GetArraySize(list);
    printf("vendor matrix: %d scenarios\n", n);
    CHECK(n >= SCENARIO_FLOOR);
    /* every name once */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const char *a = th_json_str(th_item(list, i), "name"), *b = th_json_str(th_item(list, j), "name");
            if (!a || !b || strcmp(a, b) == 0) th_fail(__FILE__, __LINE__, "scenarios %d and %d: a name missing or twice", i, j);
        }
}

static void test_scenarios(void) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(table, "scenarios");
    REQUIRE(cJSON_IsArray(list));
    int i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, list) run_scenario(s, i++);
}

static void setup(void) {
    char *path = th_source_path("tests/scenarios/vendor.json");
    char *text = th_read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    table = cJSON_Parse(text);
    free(text);
    free(path);
    if (!table) {
        fprintf(stderr, "tests/scenarios/vendor.json is not JSON\n");
        exit(1);
    }
    emu = th_emu_start(NULL);
    th_log_init(&logcap);
    client = th_emu_client(emu, &logcap, NULL);
}

static void teardown(void) {
    CHECK_LOG_NO_SECRET(&logcap, th_emu_cfg(emu, "AAD_APP_KEY"), "the app key");
    intune_scep_client_free(client);
    th_log_destroy(&logcap);
    th_emu_stop(emu);
    cJSON_Delete(table);
}

static const th_test tests[] = {
    {"scenario_count", test_scenario_count},
    {"scenarios", test_scenarios},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
