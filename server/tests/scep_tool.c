/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scep_tool - a minimal SCEP client for the server's tests, for what the real clients
 * cannot express: a chosen CSR (e.g. with Intune's ValidityPeriod pairs), a chosen
 * transaction id, a chosen cipher and digest.
 *
 *   scep_tool request CSR.der KEY.pem RA.pem TRANSACTION_ID CIPHER DIGEST > message.der
 *       a PKCSReq signed with a self-signed certificate of KEY, the CSR encrypted to RA
 *   scep_tool reply REPLY.der KEY.pem
 *       reads a CertRep encrypted to the same self-signed certificate (made again from KEY
 *       with the same fixed serial and name) and prints "status=N failinfo=N" and, on
 *       SUCCESS, the issued certificate in PEM
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

static unsigned char *read_file(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = buf ? (long)fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static EVP_PKEY *read_key(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

/* The same self-signed certificate every time for one key (serial 1, CN=scep_tool). */
static X509 *self_signed(EVP_PKEY *key) {
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"scep_tool", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    return x;
}

static void add_attr(PKCS7_SIGNER_INFO *si, const char *oid, int type, const void *v, int len) {
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    X509at_add1_attr_by_OBJ(&si->auth_attr, o, type, v, len);
    ASN1_OBJECT_free(o);
}

static int request(OSSL_LIB_CTX *ctx, char **argv) {
    long csr_len = 0;
    unsigned char *csr = read_file(argv[2], &csr_len);
    EVP_PKEY *key = read_key(argv[3]);
    FILE *f = fopen(argv[4], "r");
    X509 *ra = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f) fclose(f);
    if (!csr || !key || !ra) return 2;
    X509 *me = self_signed(key);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(ctx, argv[6], NULL);
    const EVP_MD *md = EVP_get_digestbyname(argv[7]);
    if (!cipher || !md) return 2;
    STACK_OF(X509) *rcpt = sk_X509_new_null();
    sk_X509_push(rcpt, ra);
    BIO *in = BIO_new_mem_buf(csr, (int)csr_len);
    PKCS7 *env = PKCS7_encrypt_ex(rcpt, in, cipher, PKCS7_BINARY, ctx, NULL);
    unsigned char *env_der = NULL;
    int env_len = env ? i2d_PKCS7(env, &env_der) : -1;
    if (env_len <= 0) return 3;
    PKCS7 *p7 = PKCS7_sign_ex(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY, ctx, NULL);
    PKCS7_SIGNER_INFO *si = PKCS7_sign_add_signer(p7, me, key, md, PKCS7_NOSMIMECAP);
    if (!si) return 3;
    add_attr(si, "2.16.840.1.113733.1.9.2", V_ASN1_PRINTABLESTRING, "19", 2);
    add_attr(si, "2.16.840.1.113733.1.9.7", V_ASN1_PRINTABLESTRING, argv[5], (int)strlen(argv[5]));
    unsigned char nonce[16];
    RAND_bytes(nonce, sizeof nonce);
    add_attr(si, "2.16.840.1.113733.1.9.5", V_ASN1_OCTET_STRING, nonce, sizeof nonce);
    BIO *content = BIO_new_mem_buf(env_der, env_len);
    if (PKCS7_final(p7, content, PKCS7_BINARY) != 1) return 3;
    i2d_PKCS7_fp(stdout, p7);
    return 0;
}

static const char *attr_text(PKCS7_SIGNER_INFO *si, const char *oid, char *buf, size_t cap) {
    STACK_OF(X509_ATTRIBUTE) *attrs = PKCS7_get_signed_attributes(si);
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    buf[0] = '\0';
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, i);
        if (OBJ_cmp(X509_ATTRIBUTE_get0_object(a), o) != 0) continue;
        ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
        if (t && t->type == V_ASN1_PRINTABLESTRING)
            snprintf(buf, cap, "%.*s", ASN1_STRING_length(t->value.asn1_string),
                     (const char *)ASN1_STRING_get0_data(t->value.asn1_string));
    }
    ASN1_OBJECT_free(o);
    return buf;
}

static int reply(OSSL_LIB_CTX *ctx, char **argv) {
    long len = 0;
    unsigned char *der = read_file(argv[2], &len);
    EVP_PKEY *key = read_key(argv[3]);
    if (!der || !key) return 2;
    PKCS7 *p7 = PKCS7_new_ex(ctx, NULL);
    const unsigned char *p = der;
    if (!d2i_PKCS7(&p7, &p, len)) return 3;
    BIO *content = BIO_new(BIO_s_mem());
    if (PKCS7_verify(p7, NULL, NULL, NULL, content, PKCS7_NOVERIFY | PKCS7_BINARY) != 1) return 4;
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
    char status[16], fail[16], tid[160];
    printf("status=%s failinfo=%s transaction_id=%s\n", attr_text(si, "2.16.840.1.113733.1.9.3", status, sizeof status),
           attr_text(si, "2.16.840.1.113733.1.9.4", fail, sizeof fail),
           attr_text(si, "2.16.840.1.113733.1.9.7", tid, sizeof tid));
    if (strcmp(status, "0") != 0) return 0;
    char *env_der = NULL;
    long env_len = BIO_get_mem_data(content, &env_der);
    PKCS7 *env = PKCS7_new_ex(ctx, NULL);
    p = (const unsigned char *)env_der;
    if (!d2i_PKCS7(&env, &p, env_len)) return 5;
    X509 *me = self_signed(key);
    BIO *plain = BIO_new(BIO_s_mem());
    if (PKCS7_decrypt(env, key, me, plain, 0) != 1) return 6;
    char *deg_der = NULL;
    long deg_len = BIO_get_mem_data(plain, &deg_der);
    PKCS7 *deg = NULL;
    p = (const unsigned char *)deg_der;
    if (!(deg = d2i_PKCS7(NULL, &p, deg_len)) || !PKCS7_type_is_signed(deg)) return 7;
    STACK_OF(X509) *certs = deg->d.sign->cert;
    for (int i = 0; i < sk_X509_num(certs); i++) PEM_write_X509(stdout, sk_X509_value(certs, i));
    return 0;
}

int main(int argc, char **argv) {
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    OSSL_PROVIDER_load(ctx, "default");
    OSSL_PROVIDER_load(ctx, "legacy");
    int rc = 2;
    if (argc == 8 && strcmp(argv[1], "request") == 0) rc = request(ctx, argv);
    else if (argc == 4 && strcmp(argv[1], "reply") == 0) rc = reply(ctx, argv);
    else fprintf(stderr, "usage: scep_tool request CSR KEY RA TID CIPHER DIGEST | scep_tool reply REPLY KEY\n");
    if (rc != 0) ERR_print_errors_fp(stderr);
    return rc;
}
