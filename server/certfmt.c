/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certfmt.c - certificate fields as text (serial numbers, names, digests, times).
 */
#include "certfmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

void serial_of(const ASN1_INTEGER *i, char *buf, size_t cap) {
    buf[0] = '\0';
    BIGNUM *bn = ASN1_INTEGER_to_BN(i, NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex != NULL) {
        const char *p = hex;
        while (*p == '0' && p[1] != '\0') p++;
        snprintf(buf, cap, "%s", p);
    }
    OPENSSL_free(hex);
    BN_free(bn);
}

int serial_canonical(const char *in, char *buf, size_t cap) {
    if (in == NULL) return -1;
    while (*in == '0' && in[1] != '\0') in++;
    size_t n = strlen(in);
    if (n == 0 || n > 40 || n + 1 > cap) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'f') c = (char)(c - 'a' + 'A');
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return -1;
        buf[i] = c;
    }
    buf[n] = '\0';
    return 0;
}

void name_rfc4514(X509_NAME *name, char *buf, size_t cap) {
    buf[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL) return;
    if (X509_NAME_print_ex(b, name, 0, (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT) >= 0) {
        char *d = NULL;
        long n = BIO_get_mem_data(b, &d);
        if (n > 0) snprintf(buf, cap, "%.*s", (int)n, d);
    }
    BIO_free(b);
    for (char *p = buf; *p; p++) /* keep the log line one line with balanced quotes */
        if (*p == '"' || (unsigned char)*p < 0x20) *p = '?';
}

void sha256_hex(const unsigned char *data, size_t len, char out[65]) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void asn1_time_iso(const ASN1_TIME *t, char *buf, size_t cap) {
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, cap, "?");
}
