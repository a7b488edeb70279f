/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate helpers: intune_scep_cert_details_from_cert (PEM and DER; SHA-1
 * thumbprint in upper-case hex equal to OpenSSL's digest; serial in upper-case
 * hex without leading zeros; notAfter as ISO 8601 with ".000Z"; issuer in RFC 4514)
 * and intune_scep_csr_to_base64_der (PEM, DER, base64 with or without line breaks).
 */
#include "harness.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static th_csr *csr;

/* A certificate with a chosen serial, notAfter and issuer, signed by a throwaway key. */
static X509 *make_cert(const char *serial_hex, const char *not_after /* YYYYMMDDHHMMSSZ */,
                       const char *const *issuer_rdns /* field, value pairs, most significant first */) {
    X509 *c = X509_new();
    X509_set_version(c, 2);
    BIGNUM *bn = NULL;
    BN_hex2bn(&bn, serial_hex);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
    BN_free(bn);
    X509_NAME *iss = X509_NAME_new();
    for (int i = 0; issuer_rdns[i]; i += 2)
        X509_NAME_add_entry_by_txt(iss, issuer_rdns[i], MBSTRING_UTF8, (const unsigned char *)issuer_rdns[i + 1], -1, -1, 0);
    X509_set_issuer_name(c, iss);
    X509_NAME_free(iss);
    X509_NAME *sub = X509_NAME_new();
    X509_NAME_add_entry_by_txt(sub, "CN", MBSTRING_UTF8, (const unsigned char *)"device-1", -1, -1, 0);
    X509_set_subject_name(c, sub);
    X509_NAME_free(sub);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    ASN1_TIME *na = ASN1_TIME_new();
    REQUIRE(ASN1_TIME_set_string_X509(na, not_after) == 1);
    X509_set1_notAfter(c, na);
    ASN1_TIME_free(na);
    X509_set_pubkey(c, csr->key);
    REQUIRE(X509_sign(c, csr->key, EVP_sha256()) > 0);
    return c;
}

static void check_details(const char *file, int line, X509 *cert, const char *serial, const char *expiry, const char *issuer) {
    char *pem = th_cert_pem(cert);
    size_t der_len = 0;
    unsigned char *der = th_cert_der(cert, &der_len);
    char *sha1 = th_cert_sha1_hex(cert);
    for (int form = 0; form < 2; form++) {
        intune_scep_cert_details *d = NULL;
        intune_scep_error *err = intune_scep_error_new();
        int rc = form ? intune_scep_cert_details_from_cert((const char *)der, der_len, &d, err)
                      : intune_scep_cert_details_from_cert(pem, strlen(pem), &d, err);
        if (!th_check_status(file, line, form ? "details from DER" : "details from PEM", rc, INTUNE_SCEP_OK, err) || !d) {
            intune_scep_error_free(err);
            continue;
        }
        th_check_str(file, line, "thumbprint", intune_scep_cert_details_thumbprint(d), sha1);
        th_check_str(file, line, "serial", intune_scep_cert_details_serial_number(d), serial);
        th_check_str(file, line, "expiration", intune_scep_cert_details_expiration_date(d), expiry);
        th_check_str(file, line, "issuer", intune_scep_cert_details_issuing_authority(d), issuer);
        intune_scep_cert_details_free(d);
        intune_scep_error_free(err);
    }
    free(sha1);
    free(der);
    free(pem);
}
#define CHECK_DETAILS(cert, serial, expiry, issuer) check_details(__FILE__, __LINE__, (cert), (serial), (expiry), (issuer))

static void test_cert_details(void) {
    const char *const contoso[] = {"O", "Contoso", "CN", "Contoso Issuing CA", NULL};
    X509 *c = make_cert("1A2B3C4D5E6F", "20270611161120Z", contoso);
    CHECK_DETAILS(c, "1A2B3C4D5E6F", "2027-06-11T16:11:20.000Z", "CN=Contoso Issuing CA,O=Contoso");
    X509_free(c);
    /* a leading zero nibble and a DER leading zero byte are not part of the hex */
    c = make_cert("0F01", "20300101000000Z", contoso);
    CHECK_DETAILS(c, "F01", "2030-01-01T00:00:00.000Z", "CN=Contoso Issuing CA,O=Contoso");
    X509_free(c);
    c = make_cert("80", "20301231235959Z", contoso);
    CHECK_DETAILS(c, "80", "2030-12-31T23:59:59.000Z", "CN=Contoso Issuing CA,O=Contoso");
    X509_free(c);
    /* a 20-byte serial (the maximum), lower-case input -> upper-case output */
    c = make_cert("7fffffffffffffffffffffffffffffffffffffff", "20270611161120Z", contoso);
    CHECK_DETAILS(c, "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "2027-06-11T16:11:20.000Z", "CN=Contoso Issuing CA,O=Contoso");
    X509_free(c);
    /* GeneralizedTime (2050 and later) */
    c = make_cert("01", "20510203040506Z", contoso);
    CHECK_DETAILS(c, "1", "2051-02-03T04:05:06.000Z", "CN=Contoso Issuing CA,O=Contoso");
    X509_free(c);
    /* RFC 4514 escaping and UTF-8 */
    const char *const tricky[] = {"C", "US", "O", "Contoso, Ltd.", "OU", "PKI+Ops", "CN", "Caf\xc3\xa9 CA \"2\"", NULL};
    c = make_cert("ABCDEF", "20270611161120Z", tricky);
    CHECK_DETAILS(c, "ABCDEF", "2027-06-11T16:11:20.000Z",
                  "CN=Caf\xc3\xa9 CA \\\"2\\\",OU=PKI\\+Ops,O=Contoso\\, Ltd.,C=US");
    X509_free(c);
    /* a certificate from the test CA: the thumbprint equals OpenSSL's SHA-1 of the DER */
    th_ca *ca = th_ca_new("Thumbprint CA");
    X509 *issued = th_ca_issue(ca, csr, 365);
    char *sha1 = th_cert_sha1_hex(issued);
    CHECK_INT(strlen(sha1), 40);
    for (const char *p = sha1; *p; p++) CHECK(isdigit((unsigned char)*p) || (*p >= 'A' && *p <= 'F'));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(issued), NULL);
    char *serial = BN_bn2hex(bn);
    char *serial_nz = serial;
    while (serial_nz[0] == '0' && serial_nz[1]) serial_nz++;
    struct tm tmv;
    REQUIRE(ASN1_TIME_to_tm(X509_get0_notAfter(issued), &tmv) == 1);
    char expiry[64];
    strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%S.000Z", &tmv);
    CHECK_DETAILS(issued, serial_nz, expiry, "CN=Thumbprint CA,O=Intune SCEP Tests");
    OPENSSL_free(serial);
    BN_free(bn);
    free(sha1);
    X509_free(issued);
    th_ca_free(ca);
}

static void test_cert_details_pem_variants(void) {
    const char *const contoso[] = {"O", "Contoso", "CN", "Contoso Issuing CA", NULL};
    X509 *c = make_cert("1234", "20270611161120Z", contoso);
    char *pem = th_cert_pem(c);
    /* text before the armour (as `openssl x509 -text` writes), CRLF line ends, and a chain */
    char *with_text = th_strdupf("Certificate:\n    Data: ...\n%s", pem);
    char *crlf = malloc(strlen(pem) * 2 + 1);
    size_t k = 0;
    for (const char *p = pem; *p; p++) {
        if (*p == '\n') crlf[k++] = '\r';
        crlf[k++] = *p;
    }
    crlf[k] = 0;
    th_ca *ca = th_ca_new("Chain CA");
    char *ca_pem = th_cert_pem(ca->cert);
    char *chain = th_strdupf("%s%s", pem, ca_pem);
    const char *inputs[] = {with_text, crlf, chain};
    for (int i = 0; i < 3; i++) {
        intune_scep_cert_details *d = NULL;
        intune_scep_error *err = intune_scep_error_new();
        th_note("PEM variant %d", i);
        CHECK_STATUS(intune_scep_cert_details_from_cert(inputs[i], strlen(inputs[i]), &d, err), INTUNE_SCEP_OK, err);
        if (d) CHECK_STR(intune_scep_cert_details_serial_number(d), "1234"); /* the first certificate */
        intune_scep_cert_details_free(d);
        intune_scep_error_free(err);
    }
    /* not certificates */
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_cert_details *d = NULL;
    CHECK_STATUS(intune_scep_cert_details_from_cert(csr->pem, strlen(csr->pem), &d, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK(d == NULL);
    CHECK_STATUS(intune_scep_cert_details_from_cert((const char *)csr->der, csr->der_len, &d, err),
                 INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    size_t der_len;
    unsigned char *der = th_cert_der(c, &der_len);
    CHECK_STATUS(intune_scep_cert_details_from_cert((const char *)der, der_len - 1, &d, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    /* trailing bytes after the DER */
    unsigned char *der2 = malloc(der_len + 4);
    memcpy(der2, der, der_len);
    memcpy(der2 + der_len, "junk", 4);
    int rc = intune_scep_cert_details_from_cert((const char *)der2, der_len + 4, &d, err);
    CHECK(rc == INTUNE_SCEP_E_INVALID_ARGUMENT || rc == INTUNE_SCEP_OK);
    intune_scep_cert_details_free(d);
    d = NULL;
    char *broken = strdup(pem);
    broken[strlen(broken) / 2] = '*';
    CHECK_STATUS(intune_scep_cert_details_from_cert(broken, strlen(broken), &d, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK(d == NULL);
    free(broken);
    free(der2);
    free(der);
    intune_scep_error_free(err);
    free(chain);
    free(ca_pem);
    th_ca_free(ca);
    free(with_text);
    free(crlf);
    free(pem);
    X509_free(c);
}

static char *wrap(const char *b64, size_t width, const char *eol) {
    size_t n = strlen(b64);
    char *o = malloc(n + (n / width + 2) * strlen(eol) + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i += width) {
        size_t len = n - i < width ? n - i : width;
        memcpy(o + k, b64 + i, len);
        k += len;
        memcpy(o + k, eol, strlen(eol));
        k += strlen(eol);
    }
    o[k] = 0;
    return o;
}

static void expect_b64(const char *file, int line, const char *what, const char *in, size_t len, const char *want) {
    char *out = NULL;
    intune_scep_error *err = intune_scep_error_new();
    int rc = intune_scep_csr_to_base64_der(in, len, &out, err);
    th_note("%s", what);
    if (th_check_status(file, line, what, rc, INTUNE_SCEP_OK, err)) th_check_str(file, line, what, out, want);
    intune_scep_string_free(out);
    intune_scep_error_free(err);
}
#define EXPECT_B64(what, in, len) expect_b64(__FILE__, __LINE__, (what), (in), (len), csr->b64)

static void test_csr_to_base64_der(void) {
    EXPECT_B64("PEM", csr->pem, strlen(csr->pem));
    char *body = strstr(csr->pem, "\n") + 1;
    char *end = strstr(body, "-----END");
    char *inner = strndup(body, (size_t)(end - body));
    char *newpem = th_strdupf("-----BEGIN NEW CERTIFICATE REQUEST-----\n%s-----END NEW CERTIFICATE REQUEST-----\n", inner);
    EXPECT_B64("NEW CERTIFICATE REQUEST PEM", newpem, strlen(newpem));
    EXPECT_B64("DER", (const char *)csr->der, csr->der_len);
    EXPECT_B64("one-line base64", csr->b64, strlen(csr->b64));
    char *lf = wrap(csr->b64, 64, "\n");
    EXPECT_B64("base64 with LF every 64", lf, strlen(lf));
    char *crlf = wrap(csr->b64, 76, "\r\n");
    EXPECT_B64("base64 with CRLF every 76", crlf, strlen(crlf));
    /* not NUL-terminated: only len bytes are read */
    char *padded = malloc(csr->der_len + 16);
    memcpy(padded, csr->der, csr->der_len);
    memset(padded + csr->der_len, 0x30, 16);
    expect_b64(__FILE__, __LINE__, "DER followed by unrelated bytes beyond len", padded, csr->der_len, csr->b64);
    /* the result really is the CSR: decode and parse it */
    char *out = NULL;
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_csr_to_base64_der(lf, strlen(lf), &out, err), INTUNE_SCEP_OK, err);
    CHECK(strchr(out, '\n') == NULL && strchr(out, '\r') == NULL && strchr(out, ' ') == NULL);
    intune_scep_string_free(out);

    /* garbage */
    static const char *const bad[] = {"garbage!", "AAAA", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                                      "   ", "TUlJQ"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        out = (char *)"untouched";
        th_note("garbage %zu", i);
        CHECK_STATUS(intune_scep_csr_to_base64_der(bad[i], strlen(bad[i]), &out, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
        CHECK(out == NULL);
    }
    /* a certificate is not a certificate request */
    th_ca *ca = th_ca_new("Not a CSR CA");
    char *cpem = th_cert_pem(ca->cert);
    out = NULL;
    CHECK_STATUS(intune_scep_csr_to_base64_der(cpem, strlen(cpem), &out, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK(out == NULL);
    /* a truncated DER */
    CHECK_STATUS(intune_scep_csr_to_base64_der((const char *)csr->der, csr->der_len - 10, &out, err),
                 INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK(out == NULL);
    free(cpem);
    th_ca_free(ca);
    intune_scep_error_free(err);
    free(padded);
    free(lf);
    free(crlf);
    free(newpem);
    free(inner);
}

static void setup(void) {
    th_csr_spec spec = {0};
    spec.subject = "CN=certs,O=Contoso";
    spec.challenge = "EMU1.challenge.value";
    spec.san_upns[0] = "certs@contoso.com";
    spec.key_usage = TH_KU_DIGITAL_SIGNATURE;
    csr = th_csr_build(&spec);
}

static void teardown(void) { th_csr_free(csr); }

static const th_test tests[] = {
    {"cert_details", test_cert_details},
    {"cert_details_pem_variants", test_cert_details_pem_variants},
    {"csr_to_base64_der", test_csr_to_base64_der},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
