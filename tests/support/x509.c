/* SPDX-License-Identifier: Apache-2.0 */
/* A device (certificate requests) and a certificate authority, with OpenSSL 3. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define X509_REQUIRE(cond)                                                                  \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            th_fail(__FILE__, __LINE__, "OpenSSL: %s failed (%s)", #cond,                   \
                    ERR_error_string(ERR_get_error(), NULL));                               \
            th_abort_test();                                                                \
        }                                                                                   \
    } while (0)

static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY *key_cache[2];   /* 1024, 2048 */

#ifndef TH_SOURCE_DIR
#define TH_SOURCE_DIR "."
#endif

/* tests/fixtures/test-rsa-BITS.key.pem (generating RSA keys under valgrind takes minutes), else a new key. */
static EVP_PKEY *load_fixture_key(int bits) {
    const char *src = getenv("INTUNE_SCEP_SOURCE_DIR");
    if (!src || !*src) src = TH_SOURCE_DIR;
    char *path = th_strdupf("%s/tests/fixtures/test-rsa-%d.key.pem", src, bits);
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f) return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k && EVP_PKEY_get_bits(k) != bits) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

static EVP_PKEY *rsa_key(int bits) {
    int slot = bits == 1024 ? 0 : 1;
    pthread_mutex_lock(&key_mu);
    if (!key_cache[slot]) key_cache[slot] = load_fixture_key(bits);
    if (!key_cache[slot]) key_cache[slot] = EVP_RSA_gen((unsigned)bits);
    EVP_PKEY *k = key_cache[slot];
    if (k) EVP_PKEY_up_ref(k);
    pthread_mutex_unlock(&key_mu);
    return k;
}

/* Free the cached keys at exit so leak checkers see a clean process. */
__attribute__((destructor)) static void free_key_cache(void) {
    for (int i = 0; i < 2; i++) {
        EVP_PKEY_free(key_cache[i]);
        key_cache[i] = NULL;
    }
}

/*
 * An RFC 4514 string ("CN=alice,O=Contoso": the most significant RDN last) ->
 * X509_NAME (whose first RDN is the most significant), as Python's
 * x509.Name.from_rfc4514_string reads it. No escapes, no multi-valued RDNs.
 */
static X509_NAME *parse_name(const char *s) {
    X509_NAME *n = X509_NAME_new();
    char *copy = strdup(s);
    char *save = NULL;
    for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        while (*part == ' ') part++;
        char *eq = strchr(part, '=');
        if (!eq) continue;
        *eq = 0;
        const char *field = part;
        if (strcmp(field, "E") == 0 || strcmp(field, "EMAIL") == 0) field = "emailAddress";
        if (strcmp(field, "SERIALNUMBER") == 0) field = "serialNumber";
        if (!X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)(eq + 1), -1, 0, 0)) {
            free(copy);
            X509_NAME_free(n);
            return NULL;
        }
    }
    free(copy);
    return n;
}

static GENERAL_NAME *upn_name(const char *upn) {
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_TYPE *val = ASN1_TYPE_new();
    ASN1_UTF8STRING *u = ASN1_UTF8STRING_new();
    ASN1_STRING_set(u, upn, -1);
    ASN1_TYPE_set(val, V_ASN1_UTF8STRING, u);
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1);
    GENERAL_NAME_set0_othername(gn, oid, val);
    return gn;
}

static GENERAL_NAME *ia5_name(int type, const char *v) {
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, v, -1);
    GENERAL_NAME_set0_value(gn, type, s);
    return gn;
}

static void b64_one_line(const unsigned char *der, size_t len, char **out) {
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *s = malloc(cap);
    int n = EVP_EncodeBlock((unsigned char *)s, der, (int)len);
    s[n] = 0;
    *out = s;
}

th_csr *th_csr_build(const th_csr_spec *spec) {
    th_csr *csr = calloc(1, sizeof *csr);
    X509_REQUIRE(csr != NULL);
    int bits = spec->key_bits ? spec->key_bits : 2048;
    csr->key = rsa_key(bits);
    X509_REQUIRE(csr->key != NULL);
    X509_REQ *req = X509_REQ_new();
    csr->req = req;
    X509_REQUIRE(X509_REQ_set_version(req, 0));
    if (spec->subject) {
        X509_NAME *n = parse_name(spec->subject);
        X509_REQUIRE(n != NULL);
        X509_REQUIRE(X509_REQ_set_subject_name(req, n));
        X509_NAME_free(n);
    }
    X509_REQUIRE(X509_REQ_set_pubkey(req, csr->key));
    if (spec->challenge) {
        X509_REQUIRE(X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_UTF8,
                                               (const unsigned char *)spec->challenge, -1));
    }
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    for (int i = 0; i < 4 && spec->san_emails[i]; i++) sk_GENERAL_NAME_push(gens, ia5_name(GEN_EMAIL, spec->san_emails[i]));
    for (int i = 0; i < 4 && spec->san_upns[i]; i++) sk_GENERAL_NAME_push(gens, upn_name(spec->san_upns[i]));
    for (int i = 0; i < 4 && spec->san_dns[i]; i++) sk_GENERAL_NAME_push(gens, ia5_name(GEN_DNS, spec->san_dns[i]));
    if (sk_GENERAL_NAME_num(gens) > 0) {
        X509_EXTENSION *e = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
        X509_REQUIRE(e != NULL);
        sk_X509_EXTENSION_push(exts, e);
    }
    GENERAL_NAMES_free(gens);
    if (spec->key_usage) {
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
        if (spec->key_usage & TH_KU_DIGITAL_SIGNATURE) ASN1_BIT_STRING_set_bit(ku, 0, 1);
        if (spec->key_usage & TH_KU_KEY_ENCIPHERMENT) ASN1_BIT_STRING_set_bit(ku, 2, 1);
        X509_EXTENSION *e = X509V3_EXT_i2d(NID_key_usage, 1, ku);
        ASN1_BIT_STRING_free(ku);
        X509_REQUIRE(e != NULL);
        sk_X509_EXTENSION_push(exts, e);
    }
    if (spec->ekus[0]) {
        EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
        for (int i = 0; i < 4 && spec->ekus[i]; i++) sk_ASN1_OBJECT_push(eku, OBJ_txt2obj(spec->ekus[i], 1));
        X509_EXTENSION *e = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku);
        sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
        X509_REQUIRE(e != NULL);
        sk_X509_EXTENSION_push(exts, e);
    }
    if (sk_X509_EXTENSION_num(exts) > 0) X509_REQUIRE(X509_REQ_add_extensions(req, exts));
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

    const EVP_MD *md = (spec->hash && strcmp(spec->hash, "sha1") == 0) ? EVP_sha1() : EVP_sha256();
    X509_REQUIRE(X509_REQ_sign(req, csr->key, md) > 0);

    int len = i2d_X509_REQ(req, NULL);
    X509_REQUIRE(len > 0);
    csr->der = malloc((size_t)len);
    unsigned char *p = csr->der;
    i2d_X509_REQ(req, &p);
    csr->der_len = (size_t)len;
    b64_one_line(csr->der, csr->der_len, &csr->b64);

    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(bio, req);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    csr->pem = malloc((size_t)n + 1);
    memcpy(csr->pem, data, (size_t)n);
    csr->pem[n] = 0;
    BIO_free(bio);
    return csr;
}

void th_csr_free(th_csr *csr) {
    if (!csr) return;
    X509_REQ_free(csr->req);
    EVP_PKEY_free(csr->key);
    free(csr->der);
    free(csr->b64);
    free(csr->pem);
    free(csr);
}

th_csr *th_emu_device_csr(th_emu *emu, const char *subject) {
    char *profile = th_strdupf("{\"subject\":\"%s\"}", subject);
    char *challenge = th_emu_challenge(emu, profile, NULL);
    th_csr_spec spec = {0};
    spec.subject = subject;
    spec.challenge = challenge;
    th_csr *csr = th_csr_build(&spec);
    free(challenge);
    free(profile);
    return csr;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    X509_REQUIRE(e != NULL);
    X509_add_ext(cert, e, -1);
    X509_EXTENSION_free(e);
}

static void random_serial(X509 *cert) {
    unsigned char b[16];
    RAND_bytes(b, sizeof b);
    b[0] &= 0x7f;
    b[0] |= 0x10; /* positive, no leading zero byte */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
}

th_ca *th_ca_new(const char *cn) {
    th_ca *ca = calloc(1, sizeof *ca);
    ca->key = rsa_key(2048);
    X509_REQUIRE(ca->key != NULL);
    X509 *c = X509_new();
    ca->cert = c;
    X509_set_version(c, 2);
    random_serial(c);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"Intune SCEP Tests", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(c, n);
    X509_set_issuer_name(c, n);
    X509_NAME_free(n);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 3650L * 86400);
    X509_set_pubkey(c, ca->key);
    add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(c, c, NID_subject_key_identifier, "hash");
    X509_REQUIRE(X509_sign(c, ca->key, EVP_sha256()) > 0);
    return ca;
}

void th_ca_free(th_ca *ca) {
    if (!ca) return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca);
}

X509 *th_ca_issue(th_ca *ca, const th_csr *csr, int days) {
    X509 *c = X509_new();
    X509_set_version(c, 2);
    random_serial(c);
    X509_set_subject_name(c, X509_REQ_get_subject_name(csr->req));
    X509_set_issuer_name(c, X509_get_subject_name(ca->cert));
    X509_gmtime_adj(X509_getm_notBefore(c), -300);
    X509_gmtime_adj(X509_getm_notAfter(c), (long)days * 86400);
    EVP_PKEY *pub = X509_REQ_get_pubkey(csr->req);
    X509_set_pubkey(c, pub);
    EVP_PKEY_free(pub);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr->req);
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) X509_add_ext(c, sk_X509_EXTENSION_value(exts, i), -1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    add_ext(c, ca->cert, NID_authority_key_identifier, "keyid:always");
    X509_REQUIRE(X509_sign(c, ca->key, EVP_sha256()) > 0);
    return c;
}

char *th_cert_pem(X509 *cert) {
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *s = malloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = 0;
    BIO_free(bio);
    return s;
}

unsigned char *th_cert_der(X509 *cert, size_t *len) {
    int n = i2d_X509(cert, NULL);
    unsigned char *d = malloc((size_t)n), *p = d;
    i2d_X509(cert, &p);
    *len = (size_t)n;
    return d;
}

char *th_cert_sha1_hex(X509 *cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha1(), md, &n);
    char *s = malloc(n * 2 + 1);
    for (unsigned i = 0; i < n; i++) snprintf(s + 2 * i, 3, "%02X", md[i]);
    s[2 * n] = 0;
    return s;
}

void th_write_pem_bundle(const char *path, X509 *const *certs) {
    FILE *f = fopen(path, "w");
    if (!f) {
        th_fail(__FILE__, __LINE__, "cannot write %s", path);
        th_abort_test();
    }
    for (int i = 0; certs[i]; i++) PEM_write_X509(f, certs[i]);
    fclose(f);
}

char *th_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

void th_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        th_fail(__FILE__, __LINE__, "cannot write %s", path);
        if (f) fclose(f);
        th_abort_test();
    }
    fclose(f);
}
