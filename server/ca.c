/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ca.c - the server's certificate authority (OpenSSL 3).
 */
#include "ca.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* HRESULTs sent in failure notifications (winerror.h). */
#define HR_E_FAIL 0x80004005LL
#define HR_NTE_BAD_KEY 0x80090003LL                /* the request's key is refused by the policy */
#define HR_CERTSRV_E_BAD_REQUESTSUBJECT 0x80094001LL /* neither subject nor SAN */
#define HR_NTE_FAIL 0x80090020LL                   /* signing failed */

static X509 *read_cert(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static EVP_PKEY *read_key(const char *path, const char *password) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, (void *)password);
    fclose(f);
    return k;
}

static STACK_OF(X509) *read_chain(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return NULL;
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while (sk != NULL && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(sk, x)) X509_free(x);
    fclose(f);
    ERR_clear_error();
    return sk;
}

static int build_getcacert(struct ca *ca, OSSL_LIB_CTX *libctx) {
    if (ca->ra_cert == ca->cert && sk_X509_num(ca->chain) == 0) {
        unsigned char *der = NULL;
        int n = i2d_X509(ca->cert, &der);
        if (n <= 0) return -1;
        ca->getcacert = malloc((size_t)n);
        if (ca->getcacert == NULL) {
            OPENSSL_free(der);
            return -1;
        }
        memcpy(ca->getcacert, der, (size_t)n);
        OPENSSL_free(der);
        ca->getcacert_len = (size_t)n;
        ca->getcacert_type = "application/x-x509-ca-cert";
        return 0;
    }
    /* RA first, then the issuing CA, then the chain up to the root (Windows checks the root). */
    PKCS7 *p7 = PKCS7_new_ex(libctx, NULL);
    int ok = p7 != NULL && PKCS7_set_type(p7, NID_pkcs7_signed) && PKCS7_content_new(p7, NID_pkcs7_data);
    if (ok && ca->ra_cert != ca->cert) ok = PKCS7_add_certificate(p7, ca->ra_cert);
    if (ok) ok = PKCS7_add_certificate(p7, ca->cert);
    for (int i = 0; ok && i < sk_X509_num(ca->chain); i++) ok = PKCS7_add_certificate(p7, sk_X509_value(ca->chain, i));
    unsigned char *der = NULL;
    int n = ok ? i2d_PKCS7(p7, &der) : -1;
    PKCS7_free(p7);
    if (n <= 0) return -1;
    ca->getcacert = malloc((size_t)n);
    if (ca->getcacert == NULL) {
        OPENSSL_free(der);
        return -1;
    }
    memcpy(ca->getcacert, der, (size_t)n);
    OPENSSL_free(der);
    ca->getcacert_len = (size_t)n;
    ca->getcacert_type = "application/x-x509-ca-ra-cert";
    return 0;
}

int ca_load(struct ca *ca, OSSL_LIB_CTX *libctx, const char *cert_file, const char *key_file,
            const char *key_password, const char *chain_file, const char *ra_cert_file, const char *ra_key_file,
            char *msg, size_t msg_cap) {
    if ((ca->cert = read_cert(cert_file)) == NULL) {
        snprintf(msg, msg_cap, "CA_CERT_FILE: cannot read a PEM certificate from %s", cert_file);
        return -1;
    }
    if ((ca->key = read_key(key_file, key_password)) == NULL) {
        snprintf(msg, msg_cap, "CA_KEY_FILE: cannot read a PEM private key from %s", key_file);
        return -1;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        snprintf(msg, msg_cap, "CA_KEY_FILE: the key does not match CA_CERT_FILE");
        return -1;
    }
    if (!EVP_PKEY_is_a(ca->key, "RSA") && !EVP_PKEY_is_a(ca->key, "EC")) {
        snprintf(msg, msg_cap, "CA_KEY_FILE: only RSA and EC keys can issue");
        return -1;
    }
    if (chain_file != NULL && *chain_file != '\0') {
        if ((ca->chain = read_chain(chain_file)) == NULL || sk_X509_num(ca->chain) == 0) {
            snprintf(msg, msg_cap, "CA_CHAIN_FILE: no PEM certificate in %s", chain_file);
            return -1;
        }
    } else if ((ca->chain = sk_X509_new_null()) == NULL) {
        snprintf(msg, msg_cap, "out of memory");
        return -1;
    }
    if ((ra_cert_file == NULL || *ra_cert_file == '\0') != (ra_key_file == NULL || *ra_key_file == '\0')) {
        snprintf(msg, msg_cap, "RA_CERT_FILE and RA_KEY_FILE go together");
        return -1;
    }
    if (ra_cert_file != NULL && *ra_cert_file != '\0') {
        if ((ca->ra_cert = read_cert(ra_cert_file)) == NULL) {
            snprintf(msg, msg_cap, "RA_CERT_FILE: cannot read a PEM certificate from %s", ra_cert_file);
            return -1;
        }
        if ((ca->ra_key = read_key(ra_key_file, NULL)) == NULL) {
            snprintf(msg, msg_cap, "RA_KEY_FILE: cannot read a PEM private key from %s", ra_key_file);
            return -1;
        }
        if (X509_check_private_key(ca->ra_cert, ca->ra_key) != 1) {
            snprintf(msg, msg_cap, "RA_KEY_FILE: the key does not match RA_CERT_FILE");
            return -1;
        }
    } else {
        ca->ra_cert = ca->cert;
        ca->ra_key = ca->key;
    }
    if (!EVP_PKEY_is_a(ca->ra_key, "RSA")) {
        snprintf(msg, msg_cap, "%s: SCEP envelopes need an RSA key for the RA; set RA_CERT_FILE and RA_KEY_FILE",
                 ca->ra_cert == ca->cert ? "CA_KEY_FILE" : "RA_KEY_FILE");
        return -1;
    }
    if (build_getcacert(ca, libctx) != 0) {
        snprintf(msg, msg_cap, "cannot build the GetCACert answer");
        return -1;
    }
    ERR_clear_error();
    return 0;
}

void ca_free(struct ca *ca) {
    if (ca->ra_cert != ca->cert) X509_free(ca->ra_cert);
    if (ca->ra_key != ca->key) EVP_PKEY_free(ca->ra_key);
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    sk_X509_pop_free(ca->chain, X509_free);
    free(ca->getcacert);
    memset(ca, 0, sizeof *ca);
}

int ca_issued_by_us(const struct ca *ca, X509 *cert) {
    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca->cert)) != 0) return 0;
    int ok = X509_verify(cert, X509_get0_pubkey(ca->cert)) == 1;
    ERR_clear_error();
    return ok;
}

static void fail(struct ca_issue_error *err, long long hr, const char *msg) {
    err->hresult = hr;
    snprintf(err->message, sizeof err->message, "%s", msg);
}

static int random_serial(X509 *x) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return -1;
    b[0] &= 0x7f; /* positive */
    b[0] |= 0x40; /* always 16 bytes long, never zero */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    if (bn == NULL) return -1;
    ASN1_INTEGER *s = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    int ok = s != NULL && X509_set_serialNumber(x, s);
    ASN1_INTEGER_free(s);
    return ok ? 0 : -1;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (e == NULL) return -1;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

X509 *ca_issue(const struct ca *ca, X509_REQ *csr, int validity_days, struct ca_issue_error *err) {
    X509 *x = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);

    if (pub == NULL) {
        fail(err, HR_NTE_BAD_KEY, "the request has no usable public key");
        goto bad;
    }
    int is_rsa = EVP_PKEY_is_a(pub, "RSA");
    if (!is_rsa && !EVP_PKEY_is_a(pub, "EC")) {
        fail(err, HR_NTE_BAD_KEY, "the request's key is neither RSA nor EC");
        goto bad;
    }
    if (is_rsa && EVP_PKEY_get_bits(pub) < ca->min_rsa_bits) {
        snprintf(err->message, sizeof err->message, "the request's RSA key has %d bits, the policy needs %d",
                 EVP_PKEY_get_bits(pub), ca->min_rsa_bits);
        err->hresult = HR_NTE_BAD_KEY;
        goto bad;
    }
    exts = X509_REQ_get_extensions(csr);
    int has_san = 0, has_ku = 0, has_eku = 0;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i)));
        has_san |= nid == NID_subject_alt_name;
        has_ku |= nid == NID_key_usage;
        has_eku |= nid == NID_ext_key_usage;
    }
    if (X509_NAME_entry_count(X509_REQ_get_subject_name(csr)) == 0 && !has_san) {
        fail(err, HR_CERTSRV_E_BAD_REQUESTSUBJECT, "the request has neither a subject nor a subjectAltName");
        goto bad;
    }
    if ((x = X509_new()) == NULL || !X509_set_version(x, 2) || random_serial(x) != 0 ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
        !X509_set_subject_name(x, X509_REQ_get_subject_name(csr)) || !X509_set_pubkey(x, pub)) {
        fail(err, HR_E_FAIL, "cannot build the certificate");
        goto bad;
    }
    if (validity_days <= 0) validity_days = ca->default_validity_days;
    if (validity_days > ca->max_validity_days) validity_days = ca->max_validity_days;
    time_t now = time(NULL);
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), validity_days, 0, &now)) {
        fail(err, HR_E_FAIL, "cannot set the validity");
        goto bad;
    }
    /* never beyond the CA's own notAfter */
    if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca->cert)) > 0 &&
        !X509_set1_notAfter(x, X509_get0_notAfter(ca->cert))) {
        fail(err, HR_E_FAIL, "cannot set the validity");
        goto bad;
    }
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        if (nid != NID_subject_alt_name && nid != NID_key_usage && nid != NID_ext_key_usage) continue;
        if (!X509_add_ext(x, e, -1)) {
            fail(err, HR_E_FAIL, "cannot copy an extension of the request");
            goto bad;
        }
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0 ||
        (!has_ku && add_ext(x, &ctx, NID_key_usage,
                            is_rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature") != 0) ||
        (!has_eku && add_ext(x, &ctx, NID_ext_key_usage, "clientAuth") != 0)) {
        fail(err, HR_E_FAIL, "cannot add the certificate's extensions");
        goto bad;
    }
    const EVP_MD *md = EVP_PKEY_is_a(ca->key, "EC") && EVP_PKEY_get_bits(ca->key) > 256 ? EVP_sha384() : EVP_sha256();
    if (X509_sign(x, ca->key, md) <= 0) {
        fail(err, HR_NTE_FAIL, "signing the certificate failed");
        goto bad;
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ERR_clear_error();
    return x;
bad:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_free(x);
    ERR_clear_error();
    return NULL;
}

void ca_issuer_name(const struct ca *ca, char *buf, size_t cap) {
    buf[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL) return;
    if (X509_NAME_print_ex(b, X509_get_subject_name(ca->cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *d = NULL;
        long n = BIO_get_mem_data(b, &d);
        if (n > 0) snprintf(buf, cap, "%.*s", (int)n, d);
    }
    BIO_free(b);
}

/* "2026-11-30T00:45:00Z" -> ASN1_TIME; NULL when not of that form. */
static ASN1_TIME *iso_time(const char *iso) {
    char compact[16];
    size_t j = 0;
    for (const char *p = iso; *p != '\0' && j + 1 < sizeof compact; p++)
        if (*p != '-' && *p != ':' && *p != 'T') compact[j++] = *p;
    compact[j] = '\0';
    ASN1_TIME *t = ASN1_TIME_new();
    if (t != NULL && (j != 15 || ASN1_TIME_set_string_X509(t, compact) != 1)) {
        ASN1_TIME_free(t);
        t = NULL;
    }
    return t;
}

unsigned char *ca_build_crl(const struct ca *ca, const struct crl_entry *entries, size_t n, long long number,
                            time_t this_update, long next_update_seconds, size_t *len, char *msg, size_t cap) {
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = NULL, *next = NULL;
    ASN1_INTEGER *num = NULL;
    BIGNUM *bn = NULL;
    unsigned char *der = NULL;
    const char *why = "out of memory";
    if (crl == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
        (last = ASN1_TIME_set(NULL, this_update)) == NULL ||
        (next = ASN1_TIME_adj(NULL, this_update, 0, next_update_seconds)) == NULL ||
        !X509_CRL_set1_lastUpdate(crl, last) || !X509_CRL_set1_nextUpdate(crl, next))
        goto bad;
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *serial = NULL;
        ASN1_TIME *at = iso_time(entries[i].revoked_at);
        int ok = r != NULL && at != NULL && BN_hex2bn(&bn, entries[i].serial) > 0 &&
                 (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_REVOKED_set_serialNumber(r, serial) &&
                 X509_REVOKED_set_revocationDate(r, at) && X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(serial);
        ASN1_TIME_free(at);
        if (!ok) {
            if (r != NULL && !ok) X509_REVOKED_free(r);
            why = "a revoked certificate's serial or date is unreadable";
            goto bad;
        }
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
    X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    int ok = aki != NULL && X509_CRL_add_ext(crl, aki, -1);
    X509_EXTENSION_free(aki);
    if (!ok || (num = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set_int64(num, number) ||
        !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0)) {
        why = "cannot add the CRL's extensions";
        goto bad;
    }
    X509_CRL_sort(crl);
    const EVP_MD *md = EVP_PKEY_is_a(ca->key, "EC") && EVP_PKEY_get_bits(ca->key) > 256 ? EVP_sha384() : EVP_sha256();
    if (X509_CRL_sign(crl, ca->key, md) <= 0) {
        why = "signing the CRL failed";
        goto bad;
    }
    int l = i2d_X509_CRL(crl, &der);
    if (l <= 0) goto bad;
    *len = (size_t)l;
    goto out;
bad:
    snprintf(msg, cap, "%s", why);
    OPENSSL_free(der);
    der = NULL;
out:
    BN_free(bn);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    ERR_clear_error();
    return der;
}
