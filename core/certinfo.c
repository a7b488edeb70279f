/* SPDX-License-Identifier: Apache-2.0 */
/* certinfo.c - X.509 helpers (OpenSSL): the success-notification fields of an
 * issued certificate, and the one-line base64 DER form of a CSR. */
#include "certinfo.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define ISC_MAX_X509_INPUT (256u * 1024u)

static int looks_pem(const char *data, size_t len) {
    static const char marker[] = "-----BEGIN ";
    size_t m = sizeof marker - 1;
    for (size_t i = 0; i + m <= len; i++)
        if (memcmp(data + i, marker, m) == 0) return 1;
    return 0;
}

static X509 *read_cert(const char *data, size_t len) {
    if (looks_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        return x;
    }
    const unsigned char *p = (const unsigned char *)data;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != (const unsigned char *)data + len) { /* trailing bytes: not one DER certificate */
        X509_free(x);
        return NULL;
    }
    return x;
}

char *isc_bio_string(BIO *bio) {
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    /* An empty BIO (an empty subject, say) may give no pointer at all: that is "", not a failure. */
    if (n < 0) return NULL;
    return isc_strndup(n > 0 && mem ? mem : "", n > 0 && mem ? (size_t)n : 0);
}

void isc_cert_details_free(intune_scep_cert_details *d) {
    if (!d) return;
    free(d->thumbprint);
    free(d->serial_number);
    free(d->expiration_date);
    free(d->issuing_authority);
    free(d);
}

int isc_cert_details(const char *data, size_t len, intune_scep_cert_details **out, intune_scep_error *err) {
    *out = NULL;
    if (len == 0 || len > ISC_MAX_X509_INPUT || len > 0x7fffffff)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cert must be a PEM or DER certificate "
                             "of 1 byte to 256 KiB (got %zu bytes)", len);
    X509 *x = read_cert(data, len);
    if (!x) return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cert is not a PEM or DER X.509 certificate");
    int rc = INTUNE_SCEP_OK;
    intune_scep_cert_details *d = calloc(1, sizeof *d);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    BIGNUM *bn = NULL;
    char *hex = NULL;
    BIO *bio = NULL;
    struct tm tm;
    if (!d) goto nomem;
    /* Thumbprint: SHA-1 of the DER, upper-case hex. */
    if (!X509_digest(x, EVP_sha1(), md, &mdlen)) goto bad;
    if (!(d->thumbprint = malloc(mdlen * 2 + 1))) goto nomem;
    for (unsigned i = 0; i < mdlen; i++) snprintf(d->thumbprint + 2 * i, 3, "%02X", md[i]);
    /* Serial: upper-case hex without leading zeros. */
    if (!(bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) || !(hex = BN_bn2hex(bn))) goto bad;
    {
        const char *h = hex;
        int neg = *h == '-';
        if (neg) h++;
        while (h[0] == '0' && h[1]) h++;
        if (!(d->serial_number = isc_asprintf("%s%s", neg ? "-" : "", h))) goto nomem;
    }
    /* Expiration: notAfter as ISO 8601 UTC with milliseconds. */
    if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) goto bad;
    /* Four-digit years always (strftime's %Y would print "136" for the year 136). */
    if (!(d->expiration_date = isc_asprintf("%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
                                            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)))
        goto nomem;
    /* Issuer: RFC 4514 string. */
    if (!(bio = BIO_new(BIO_s_mem()))) goto nomem;
    if (X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) goto bad;
    if (!(d->issuing_authority = isc_bio_string(bio))) goto nomem;
    goto done;
nomem:
    rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    goto done;
bad:
    rc = isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cert: the certificate's fields could not be read");
done:
    BIO_free(bio);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    if (rc == INTUNE_SCEP_OK) *out = d;
    else isc_cert_details_free(d);
    return rc;
}

/* Decode base64 that may carry line breaks and blanks (OpenSSL's EVP decoder). */
static unsigned char *b64_decode(const char *data, size_t len, size_t *out_len) {
    unsigned char *out = malloc(len / 4 * 3 + 4);
    if (!out) return NULL;
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int n1 = 0, n2 = 0, ok = ctx != NULL;
    if (ok) {
        EVP_DecodeInit(ctx);
        ok = EVP_DecodeUpdate(ctx, out, &n1, (const unsigned char *)data, (int)len) >= 0 &&
             EVP_DecodeFinal(ctx, out + n1, &n2) == 1;
    }
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)(n1 + n2);
    return out;
}

int isc_csr_to_base64_der(const char *data, size_t len, char **out, intune_scep_error *err) {
    *out = NULL;
    if (len == 0 || len > ISC_MAX_X509_INPUT)
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT,
                             "argument csr must be a PEM, DER or base64 certificate request of 1 byte to 256 KiB (got %zu bytes)",
                             len);
    /* The DER bytes as the device made them (never re-encoded: the signature covers them). */
    unsigned char *der = NULL;
    size_t der_len = 0;
    if (looks_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        long n = 0;
        unsigned char *pem_der = NULL;
        if (bio && PEM_bytes_read_bio(&pem_der, &n, NULL, PEM_STRING_X509_REQ, bio, NULL, NULL) == 1 && n > 0) {
            der = malloc((size_t)n);
            if (der) memcpy(der, pem_der, (size_t)n), der_len = (size_t)n;
        }
        OPENSSL_free(pem_der);
        BIO_free(bio);
    } else if ((unsigned char)data[0] == 0x30) {
        if ((der = malloc(len))) memcpy(der, data, len), der_len = len;
    } else {
        der = b64_decode(data, len, &der_len);
    }
    int parsed = 0;
    if (der && der_len > 0) {
        const unsigned char *p = der;
        X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)der_len);
        parsed = req && p == der + der_len;
        X509_REQ_free(req);
    }
    if (!parsed) {
        free(der);
        return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT,
                             "argument csr is not a PKCS#10 certificate request (PEM, DER or base64)");
    }
    char *b64 = malloc(der_len / 3 * 4 + 8);
    if (!b64) {
        free(der);
        return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    EVP_EncodeBlock((unsigned char *)b64, der, (int)der_len);
    free(der);
    *out = b64;
    return INTUNE_SCEP_OK;
}
