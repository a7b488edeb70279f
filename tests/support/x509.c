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

/* ---- device requests: built by the emulator's device module (POST /_emulator/device/csr) ---- */

th_csr *th_emu_csr(th_emu *emu, const char *request_json, char **challenge, char **profile_id) {
    long st = 0;
    cJSON *j = th_emu_call(emu, "POST", "device/csr", request_json, &st);
    if (st != 200 || !j) {
        cJSON_Delete(j);
        th_fail(__FILE__, __LINE__, "POST device/csr %s answered %ld", request_json, st);
        th_abort_test();
    }
    const char *b64 = th_json_str(j, "csr"), *pem = th_json_str(j, "csr_pem");
    cJSON *key_item = cJSON_GetObjectItemCaseSensitive(j, "key_pem");
    X509_REQUIRE(b64 && pem && cJSON_IsString(key_item));
    th_csr *csr = calloc(1, sizeof *csr);
    X509_REQUIRE(csr != NULL);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    csr->req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bio = BIO_new_mem_buf(key_item->valuestring, -1);
    csr->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(key_item->valuestring, strlen(key_item->valuestring)); /* the device's key */
    X509_REQUIRE(csr->req != NULL && csr->key != NULL);
    int len = i2d_X509_REQ(csr->req, &csr->der);
    X509_REQUIRE(len > 0);
    csr->der_len = (size_t)len;
    csr->b64 = strdup(b64);
    csr->pem = strdup(pem);
    X509_REQUIRE(csr->b64 && csr->pem);
    if (challenge) *challenge = th_json_str(j, "challenge") ? strdup(th_json_str(j, "challenge")) : NULL;
    if (profile_id) *profile_id = th_json_str(j, "profile_id") ? strdup(th_json_str(j, "profile_id")) : NULL;
    cJSON_Delete(j);
    return csr;
}

/* th_csr_build's emulator: started on first use, stopped at exit. */
static pthread_mutex_t device_mu = PTHREAD_MUTEX_INITIALIZER;
static th_emu *device_emu;

static void stop_device_emu(void) {
    th_emu_stop(device_emu);
    device_emu = NULL;
}

static void add_strings(cJSON *o, const char *name, const char *const *v) {
    cJSON *a = cJSON_AddArrayToObject(o, name);
    for (int i = 0; i < 4 && v[i]; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

th_csr *th_csr_build(const th_csr_spec *spec) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "subject", spec->subject ? spec->subject : "");
    if (spec->challenge)
        cJSON_AddStringToObject(o, "challenge", spec->challenge);
    else
        cJSON_AddNullToObject(o, "challenge");
    add_strings(o, "san_emails", spec->san_emails);
    add_strings(o, "san_upns", spec->san_upns);
    add_strings(o, "san_dns", spec->san_dns);
    const char *ku[3] = {NULL, NULL, NULL};
    int k = 0;
    if (spec->key_usage & TH_KU_DIGITAL_SIGNATURE) ku[k++] = "digitalSignature";
    if (spec->key_usage & TH_KU_KEY_ENCIPHERMENT) ku[k++] = "keyEncipherment";
    add_strings(o, "key_usage", ku);
    add_strings(o, "ekus", spec->ekus);
    cJSON_AddNumberToObject(o, "key_size", spec->key_bits ? spec->key_bits : 2048);
    cJSON_AddStringToObject(o, "hash", spec->hash ? spec->hash : "sha256");
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    pthread_mutex_lock(&device_mu);
    if (!device_emu) {
        device_emu = th_emu_start(NULL);
        atexit(stop_device_emu);
    }
    th_emu *emu = device_emu;
    pthread_mutex_unlock(&device_mu);
    th_csr *csr = th_emu_csr(emu, body, NULL, NULL);
    free(body);
    return csr;
}

void th_csr_free(th_csr *csr) {
    if (!csr) return;
    X509_REQ_free(csr->req);
    EVP_PKEY_free(csr->key);
    OPENSSL_free(csr->der);
    free(csr->b64);
    free(csr->pem);
    free(csr);
}

th_csr *th_emu_device_csr(th_emu *emu, const char *subject) {
    cJSON *o = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(o, "profile");
    cJSON_AddStringToObject(p, "subject", subject);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    th_csr *csr = th_emu_csr(emu, body, NULL, NULL);
    free(body);
    return csr;
}

char *th_source_path(const char *relative) {
    const char *src = getenv("INTUNE_SCEP_SOURCE_DIR");
    if (!src || !*src) src = TH_SOURCE_DIR;
    return th_strdupf("%s/%s", src, relative);
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
