/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate request inspection: intune_scep_csr_info_parse and its accessors
 * (challenge, subject, SANs, key, signature hash and validity, key usage, EKUs,
 * the JSON form), the argument checks, and refusals of what is not a request.
 * Intune's ValidityPeriod pairs and the SID URI are covered by cli/tests/test_inspect_csr.py.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_everything(void) {
    th_csr_spec spec = {0};
    spec.subject = "CN=alice,O=Contoso";
    spec.challenge = "EMU1.challenge.value";
    spec.san_emails[0] = "alice@contoso.com";
    spec.san_upns[0] = "alice@contoso.com";
    spec.san_dns[0] = "alice.contoso.com";
    spec.key_usage = TH_KU_DIGITAL_SIGNATURE | TH_KU_KEY_ENCIPHERMENT;
    spec.ekus[0] = "1.3.6.1.5.5.7.3.2";
    spec.ekus[1] = "1.3.6.1.5.5.7.3.6";
    spec.hash = "sha1";
    th_csr *csr = th_csr_build(&spec);
    intune_scep_error *err = intune_scep_error_new();
    const char *forms[] = {(const char *)csr->der, csr->pem, csr->b64};
    size_t lens[] = {csr->der_len, strlen(csr->pem), strlen(csr->b64)};
    for (int f = 0; f < 3; f++) {
        intune_scep_csr_info *info = NULL;
        REQUIRE_STATUS(intune_scep_csr_info_parse(forms[f], lens[f], &info, err), INTUNE_SCEP_OK, err);
        CHECK_STR(intune_scep_csr_info_subject(info), "CN=alice,O=Contoso");
        CHECK_STR(intune_scep_csr_info_challenge_password(info), "EMU1.challenge.value");
        CHECK_INT(intune_scep_csr_info_san_count(info), 3);
        CHECK_STR(intune_scep_csr_info_san_type(info, 0), "email");
        CHECK_STR(intune_scep_csr_info_san_value(info, 0), "alice@contoso.com");
        CHECK_STR(intune_scep_csr_info_san_type(info, 1), "upn");
        CHECK_STR(intune_scep_csr_info_san_value(info, 1), "alice@contoso.com");
        CHECK_STR(intune_scep_csr_info_san_type(info, 2), "dns");
        CHECK(intune_scep_csr_info_san_type(info, 3) == NULL);
        CHECK(intune_scep_csr_info_san_value(info, 99) == NULL);
        CHECK(intune_scep_csr_info_sid(info) == NULL);
        CHECK_STR(intune_scep_csr_info_key_type(info), "RSA");
        CHECK_INT(intune_scep_csr_info_key_bits(info), 2048);
        CHECK_STR(intune_scep_csr_info_signature_hash(info), "sha1");
        CHECK_INT(intune_scep_csr_info_signature_valid(info), 1);
        CHECK_STR(intune_scep_csr_info_key_usage(info), "digitalSignature,keyEncipherment");
        CHECK_INT(intune_scep_csr_info_eku_count(info), 2);
        CHECK_STR(intune_scep_csr_info_eku(info, 1), "1.3.6.1.5.5.7.3.6");
        CHECK(intune_scep_csr_info_eku(info, 2) == NULL);
        CHECK(intune_scep_csr_info_validity_period(info) == NULL);
        CHECK_INT(intune_scep_csr_info_validity_days(info), 0);
        char *json = NULL;
        REQUIRE_STATUS(intune_scep_csr_info_to_json(info, &json, err), INTUNE_SCEP_OK, err);
        CHECK_CONTAINS(json, "\"subject\":\"CN=alice,O=Contoso\"");
        CHECK_CONTAINS(json, "{\"type\":\"upn\",\"value\":\"alice@contoso.com\"}");
        CHECK_CONTAINS(json, "\"key_usage\":\"digitalSignature,keyEncipherment\"");
        CHECK_CONTAINS(json, "\"validity_period\":null");
        intune_scep_string_free(json);
        intune_scep_csr_info_free(info);
    }
    intune_scep_error_free(err);
    th_csr_free(csr);
}

static void test_absent_parts(void) {
    th_csr_spec spec = {0};
    spec.subject = "CN=bob";
    th_csr *csr = th_csr_build(&spec);
    intune_scep_csr_info *info = NULL;
    REQUIRE_STATUS(intune_scep_csr_info_parse((const char *)csr->der, csr->der_len, &info, NULL), INTUNE_SCEP_OK, NULL);
    CHECK(intune_scep_csr_info_challenge_password(info) == NULL);
    CHECK(intune_scep_csr_info_key_usage(info) == NULL);
    CHECK_INT(intune_scep_csr_info_san_count(info), 0);
    CHECK_INT(intune_scep_csr_info_eku_count(info), 0);
    intune_scep_csr_info_free(info);
    th_csr_free(csr);
    /* NULL handles are answered, never dereferenced */
    CHECK(intune_scep_csr_info_subject(NULL) == NULL);
    CHECK_INT(intune_scep_csr_info_san_count(NULL), 0);
    CHECK_INT(intune_scep_csr_info_validity_days(NULL), 0);
    intune_scep_csr_info_free(NULL);
}

static void test_empty_subject(void) {
    /* A request with an empty subject (a device that names itself only in its SANs) is read,
     * and its subject is "", not an out-of-memory failure. */
    th_csr_spec spec = {0};
    spec.subject = "";
    spec.challenge = "chal-empty";
    spec.san_dns[0] = "device.contoso.com";
    th_csr *csr = th_csr_build(&spec);
    intune_scep_csr_info *info = NULL;
    REQUIRE_STATUS(intune_scep_csr_info_parse((const char *)csr->der, csr->der_len, &info, NULL), INTUNE_SCEP_OK, NULL);
    CHECK_STR(intune_scep_csr_info_subject(info), "");
    CHECK_STR(intune_scep_csr_info_challenge_password(info), "chal-empty");
    CHECK_INT(intune_scep_csr_info_san_count(info), 1);
    intune_scep_csr_info_free(info);
    th_csr_free(csr);
}

static void test_refusals(void) {
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_csr_info *info = (intune_scep_csr_info *)err; /* must be reset to NULL */
    CHECK_STATUS(intune_scep_csr_info_parse("not a csr", 9, &info, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK(info == NULL);
    CHECK_CONTAINS(intune_scep_error_message(err), "csr");
    CHECK_STATUS(intune_scep_csr_info_parse(NULL, 4, &info, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "argument csr");
    CHECK_STATUS(intune_scep_csr_info_parse("abcd", 4, NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "argument out");
    CHECK_STATUS(intune_scep_csr_info_parse("abcd", 0, &info, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    char *json = NULL;
    CHECK_STATUS(intune_scep_csr_info_to_json(NULL, &json, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK(json == NULL);
    intune_scep_error_free(err);
}

static const th_test tests[] = {
    {"everything", test_everything},
    {"absent_parts", test_absent_parts},
    {"empty_subject", test_empty_subject},
    {"refusals", test_refusals},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, NULL, NULL); }
