/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scepmsg.c - reading and writing RFC 8894 SCEP messages with OpenSSL's PKCS#7.
 */
#include "scepmsg.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define OID_MESSAGE_TYPE "2.16.840.1.113733.1.9.2"
#define OID_PKI_STATUS "2.16.840.1.113733.1.9.3"
#define OID_FAIL_INFO "2.16.840.1.113733.1.9.4"
#define OID_SENDER_NONCE "2.16.840.1.113733.1.9.5"
#define OID_RECIPIENT_NONCE "2.16.840.1.113733.1.9.6"
#define OID_TRANSACTION_ID "2.16.840.1.113733.1.9.7"

/* The largest decrypted content accepted (a CSR is a few KiB). */
#define MAX_INNER (64 * 1024)

const char *scep_msg_type_name(int type) {
    switch (type) {
    case SCEP_MSG_CERTREP: return "CertRep";
    case SCEP_MSG_RENEWALREQ: return "RenewalReq";
    case SCEP_MSG_PKCSREQ: return "PKCSReq";
    case SCEP_MSG_CERTPOLL: return "CertPoll";
    case SCEP_MSG_GETCERT: return "GetCert";
    case SCEP_MSG_GETCRL: return "GetCRL";
    default: return "unknown";
    }
}

static void set_err(struct scep_read_error *err, int fail_info, const char *msg) {
    err->fail_info = fail_info;
    snprintf(err->message, sizeof err->message, "%s", msg);
}

void scep_request_clear(struct scep_request *req) {
    if (req == NULL) return;
    X509_free(req->signer);
    X509_REQ_free(req->csr);
    if (req->inner != NULL) {
        OPENSSL_cleanse(req->inner, req->inner_len);
        free(req->inner);
    }
    memset(req, 0, sizeof *req);
}

static int attr_is(X509_ATTRIBUTE *a, const char *oid) {
    char buf[64];
    int n = OBJ_obj2txt(buf, sizeof buf, X509_ATTRIBUTE_get0_object(a), 1);
    return n > 0 && (size_t)n < sizeof buf && strcmp(buf, oid) == 0;
}

/* The single value of attribute `oid`, or NULL when absent, repeated or multi-valued (*dup set). */
static ASN1_TYPE *single_attr(STACK_OF(X509_ATTRIBUTE) *attrs, const char *oid, int *dup) {
    ASN1_TYPE *found = NULL;
    int seen = 0;
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, i);
        if (!attr_is(a, oid)) continue;
        seen++;
        if (X509_ATTRIBUTE_count(a) != 1) {
            seen++;
            continue;
        }
        found = X509_ATTRIBUTE_get0_type(a, 0);
    }
    if (seen > 1) {
        *dup = 1;
        return NULL;
    }
    return found;
}

/* A printable string attribute copied into buf (NUL-terminated). 0 on success. */
static int printable_attr(ASN1_TYPE *t, char *buf, size_t cap) {
    if (t == NULL) return -1;
    if (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_IA5STRING && t->type != V_ASN1_UTF8STRING)
        return -1;
    const ASN1_STRING *s = t->value.asn1_string;
    int n = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (n <= 0 || (size_t)n >= cap) return -1;
    for (int i = 0; i < n; i++)
        if (d[i] < 0x20 || d[i] > 0x7e) return -1;
    memcpy(buf, d, (size_t)n);
    buf[n] = '\0';
    return 0;
}

static int allowed_digest(int nid) {
    return nid == NID_sha1 || nid == NID_sha224 || nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

static int allowed_cipher(int nid) {
    return nid == NID_des_cbc || nid == NID_des_ede3_cbc || nid == NID_aes_128_cbc || nid == NID_aes_192_cbc ||
           nid == NID_aes_256_cbc;
}

/* Copy a memory BIO's contents into a malloc'ed buffer. */
static unsigned char *bio_take(BIO *b, size_t *len) {
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    if (n < 0) return NULL;
    unsigned char *out = malloc(n > 0 ? (size_t)n : 1);
    if (out == NULL) return NULL;
    if (n > 0) memcpy(out, data, (size_t)n);
    *len = (size_t)n;
    return out;
}

int scep_read_request(OSSL_LIB_CTX *libctx, const unsigned char *der, size_t len, X509 *ra_cert,
                      EVP_PKEY *ra_key, struct scep_request *req, struct scep_read_error *err) {
    int rc = -1;
    PKCS7 *p7 = NULL, *env = NULL;
    BIO *content = NULL, *plain = NULL;
    STACK_OF(X509) *signers = NULL;
    unsigned char *env_der = NULL;
    size_t env_len = 0;

    memset(req, 0, sizeof *req);
    set_err(err, -1, "not a SCEP message");
    if (der == NULL || len == 0 || len > 1024 * 1024) goto out;

    p7 = PKCS7_new_ex(libctx, NULL);
    if (p7 == NULL) goto out;
    const unsigned char *p = der;
    PKCS7 *parsed = d2i_PKCS7(&p7, &p, (long)len);
    if (parsed == NULL) {
        p7 = NULL;
        set_err(err, -1, "not a DER PKCS#7 structure");
        goto out;
    }
    if (p != der + len) {
        set_err(err, -1, "trailing bytes after the PKCS#7 structure");
        goto out;
    }
    if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL || p7->d.sign->contents == NULL) {
        set_err(err, -1, "not a PKCS#7 SignedData");
        goto out;
    }
    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
    if (sis == NULL || sk_PKCS7_SIGNER_INFO_num(sis) != 1) {
        set_err(err, -1, "a pkiMessage has exactly one signer");
        goto out;
    }
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
    STACK_OF(X509_ATTRIBUTE) *attrs = PKCS7_get_signed_attributes(si);
    if (attrs == NULL || sk_X509_ATTRIBUTE_num(attrs) == 0) {
        set_err(err, -1, "the signer has no signed attributes");
        goto out;
    }
    signers = PKCS7_get0_signers(p7, NULL, 0);
    if (signers == NULL || sk_X509_num(signers) != 1) {
        set_err(err, -1, "the signer's certificate is not in the message");
        goto out;
    }
    req->signer = sk_X509_value(signers, 0);
    X509_up_ref(req->signer);

    /* The attributes first: with them a FAILURE can be answered to most later errors. */
    int dup = 0;
    char buf[SCEP_MAX_TRANSACTION_ID + 1];
    if (printable_attr(single_attr(attrs, OID_TRANSACTION_ID, &dup), req->transaction_id,
                       sizeof req->transaction_id) != 0 || dup) {
        set_err(err, -1, "transactionID missing or malformed");
        goto out;
    }
    ASN1_TYPE *nonce = single_attr(attrs, OID_SENDER_NONCE, &dup);
    if (dup || nonce == NULL || nonce->type != V_ASN1_OCTET_STRING ||
        ASN1_STRING_length(nonce->value.octet_string) <= 0 ||
        ASN1_STRING_length(nonce->value.octet_string) > SCEP_MAX_NONCE) {
        set_err(err, -1, "senderNonce missing or malformed");
        goto out;
    }
    req->sender_nonce_len = (size_t)ASN1_STRING_length(nonce->value.octet_string);
    memcpy(req->sender_nonce, ASN1_STRING_get0_data(nonce->value.octet_string), req->sender_nonce_len);
    if (printable_attr(single_attr(attrs, OID_MESSAGE_TYPE, &dup), buf, sizeof buf) != 0 || dup) {
        set_err(err, -1, "messageType missing or malformed");
        goto out;
    }
    char *end = NULL;
    long mt = strtol(buf, &end, 10);
    if (end == buf || *end != '\0' || mt < 0 || mt > 99) {
        set_err(err, -1, "messageType is not a number");
        goto out;
    }
    req->message_type = (int)mt;
    req->digest_nid = OBJ_obj2nid(si->digest_alg->algorithm);
    if (!allowed_digest(req->digest_nid)) {
        req->digest_nid = NID_sha256; /* for the answer */
        set_err(err, SCEP_FAIL_BADALG, "unsupported digest algorithm");
        goto out;
    }

    /* The signature over the signed attributes and the content. */
    content = BIO_new(BIO_s_mem());
    if (content == NULL) goto out;
    ERR_set_mark();
    int ok = PKCS7_verify(p7, NULL, NULL, NULL, content, PKCS7_NOVERIFY | PKCS7_BINARY | PKCS7_NOCRL);
    ERR_pop_to_mark();
    if (ok != 1) {
        set_err(err, SCEP_FAIL_BADMESSAGECHECK, "the message's signature does not verify");
        goto out;
    }
    if (req->message_type != SCEP_MSG_PKCSREQ && req->message_type != SCEP_MSG_RENEWALREQ &&
        req->message_type != SCEP_MSG_CERTPOLL) {
        set_err(err, SCEP_FAIL_BADREQUEST, "message type not supported");
        goto out;
    }

    env_der = bio_take(content, &env_len);
    if (env_der == NULL || env_len == 0) {
        set_err(err, SCEP_FAIL_BADREQUEST, "the message has no envelope");
        goto out;
    }
    env = PKCS7_new_ex(libctx, NULL);
    if (env == NULL) goto out;
    p = env_der;
    parsed = d2i_PKCS7(&env, &p, (long)env_len);
    if (parsed == NULL) {
        env = NULL;
        set_err(err, SCEP_FAIL_BADREQUEST, "the content is not a PKCS#7 structure");
        goto out;
    }
    if (!PKCS7_type_is_enveloped(env) || env->d.enveloped == NULL || env->d.enveloped->enc_data == NULL ||
        env->d.enveloped->enc_data->algorithm == NULL) {
        set_err(err, SCEP_FAIL_BADREQUEST, "the content is not an EnvelopedData");
        goto out;
    }
    req->cipher_nid = OBJ_obj2nid(env->d.enveloped->enc_data->algorithm->algorithm);
    if (!allowed_cipher(req->cipher_nid)) {
        req->cipher_nid = NID_aes_128_cbc;
        set_err(err, SCEP_FAIL_BADALG, "unsupported envelope cipher");
        goto out;
    }
    plain = BIO_new(BIO_s_mem());
    if (plain == NULL) goto out;
    ERR_set_mark();
    ok = PKCS7_decrypt(env, ra_key, ra_cert, plain, 0);
    ERR_pop_to_mark();
    if (ok != 1) {
        set_err(err, SCEP_FAIL_BADMESSAGECHECK, "the envelope cannot be decrypted with the RA key");
        goto out;
    }
    req->inner = bio_take(plain, &req->inner_len);
    if (req->inner == NULL || req->inner_len == 0 || req->inner_len > MAX_INNER) {
        set_err(err, SCEP_FAIL_BADREQUEST, "the envelope is empty or too large");
        goto out;
    }
    if (req->message_type == SCEP_MSG_PKCSREQ || req->message_type == SCEP_MSG_RENEWALREQ) {
        const unsigned char *q = req->inner;
        req->csr = d2i_X509_REQ(NULL, &q, (long)req->inner_len);
        if (req->csr == NULL || q != req->inner + req->inner_len) {
            set_err(err, SCEP_FAIL_BADREQUEST, "the envelope does not hold a PKCS#10 request");
            goto out;
        }
        EVP_PKEY *pub = X509_REQ_get0_pubkey(req->csr);
        ERR_set_mark();
        ok = pub != NULL && X509_REQ_verify(req->csr, pub) == 1;
        ERR_pop_to_mark();
        if (!ok) {
            set_err(err, SCEP_FAIL_BADMESSAGECHECK, "the request's self-signature does not verify");
            goto out;
        }
    }
    set_err(err, -1, "");
    rc = 0;
out:
    if (rc != 0 && (req->cipher_nid == 0)) req->cipher_nid = NID_aes_128_cbc;
    if (rc != 0 && (req->digest_nid == 0)) req->digest_nid = NID_sha256;
    if (env_der != NULL) {
        OPENSSL_cleanse(env_der, env_len);
        free(env_der);
    }
    sk_X509_free(signers);
    BIO_free(content);
    BIO_free(plain);
    PKCS7_free(env);
    PKCS7_free(p7);
    ERR_clear_error();
    return rc;
}

static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == ' ' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

unsigned char *scep_decode_get_message(const char *text, size_t *out_len) {
    if (text == NULL || out_len == NULL) return NULL;
    size_t n = strlen(text);
    if (n == 0 || n > 2 * 1024 * 1024) return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 3);
    if (out == NULL) return NULL;
    unsigned int acc = 0;
    int bits = 0, pad = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r' || c == '\n') continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad > 0) { /* a stranger, or data after the padding */
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* 6 leftover bits cannot be a byte; leftover bits must be zero; padding at most 2 */
    if (bits >= 6 || acc != 0 || pad > 2 || o == 0) {
        free(out);
        return NULL;
    }
    *out_len = o;
    return out;
}

static int add_printable(PKCS7_SIGNER_INFO *si, const char *oid, const char *value) {
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL) return -1;
    int ok = X509at_add1_attr_by_OBJ(&si->auth_attr, obj, V_ASN1_PRINTABLESTRING, (const unsigned char *)value,
                                     (int)strlen(value)) != NULL;
    ASN1_OBJECT_free(obj);
    return ok ? 0 : -1;
}

static int add_octets(PKCS7_SIGNER_INFO *si, const char *oid, const unsigned char *value, size_t len) {
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL) return -1;
    int ok = X509at_add1_attr_by_OBJ(&si->auth_attr, obj, V_ASN1_OCTET_STRING, value, (int)len) != NULL;
    ASN1_OBJECT_free(obj);
    return ok ? 0 : -1;
}

/* The certs-only SignedData holding the issued certificate, encrypted to the requester. */
static unsigned char *enveloped_cert(OSSL_LIB_CTX *libctx, const struct scep_request *req, X509 *issued,
                                     size_t *out_len) {
    unsigned char *result = NULL, *deg_der = NULL;
    PKCS7 *deg = NULL, *env = NULL;
    BIO *in = NULL;
    STACK_OF(X509) *recips = NULL;
    EVP_CIPHER *cipher = NULL;

    deg = PKCS7_new_ex(libctx, NULL);
    if (deg == NULL || !PKCS7_set_type(deg, NID_pkcs7_signed) || !PKCS7_content_new(deg, NID_pkcs7_data) ||
        !PKCS7_add_certificate(deg, issued))
        goto out;
    int deg_len = i2d_PKCS7(deg, &deg_der);
    if (deg_len <= 0) goto out;
    in = BIO_new_mem_buf(deg_der, deg_len);
    recips = sk_X509_new_null();
    cipher = EVP_CIPHER_fetch(libctx, OBJ_nid2sn(req->cipher_nid), NULL);
    if (in == NULL || recips == NULL || cipher == NULL || !sk_X509_push(recips, req->signer)) goto out;
    env = PKCS7_encrypt_ex(recips, in, cipher, PKCS7_BINARY, libctx, NULL);
    if (env == NULL) goto out;
    unsigned char *der = NULL;
    int len = i2d_PKCS7(env, &der);
    if (len <= 0) goto out;
    result = malloc((size_t)len);
    if (result != NULL) {
        memcpy(result, der, (size_t)len);
        *out_len = (size_t)len;
    }
    OPENSSL_free(der);
out:
    OPENSSL_free(deg_der);
    PKCS7_free(deg);
    PKCS7_free(env);
    BIO_free(in);
    sk_X509_free(recips);
    EVP_CIPHER_free(cipher);
    return result;
}

unsigned char *scep_build_certrep(OSSL_LIB_CTX *libctx, const struct scep_request *req, int status,
                                  int fail_info, X509 *issued, X509 *ra_cert, EVP_PKEY *ra_key,
                                  size_t *out_len) {
    unsigned char *result = NULL, *inner = NULL;
    size_t inner_len = 0;
    PKCS7 *p7 = NULL;
    BIO *in = NULL;
    char num[16];

    if (status == SCEP_STATUS_SUCCESS) {
        if (issued == NULL || req->signer == NULL) return NULL;
        inner = enveloped_cert(libctx, req, issued, &inner_len);
        if (inner == NULL) return NULL;
    }
    const EVP_MD *md = EVP_get_digestbynid(req->digest_nid ? req->digest_nid : NID_sha256);
    if (md == NULL) md = EVP_sha256();
    p7 = PKCS7_sign_ex(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY, libctx, NULL);
    if (p7 == NULL) goto out;
    PKCS7_SIGNER_INFO *si = PKCS7_sign_add_signer(p7, ra_cert, ra_key, md, PKCS7_NOSMIMECAP);
    if (si == NULL) goto out;
    snprintf(num, sizeof num, "%d", SCEP_MSG_CERTREP);
    if (add_printable(si, OID_MESSAGE_TYPE, num) != 0) goto out;
    snprintf(num, sizeof num, "%d", status);
    if (add_printable(si, OID_PKI_STATUS, num) != 0) goto out;
    if (status == SCEP_STATUS_FAILURE) {
        snprintf(num, sizeof num, "%d", fail_info);
        if (add_printable(si, OID_FAIL_INFO, num) != 0) goto out;
    }
    if (add_printable(si, OID_TRANSACTION_ID, req->transaction_id) != 0) goto out;
    unsigned char nonce[16];
    if (RAND_bytes_ex(libctx, nonce, sizeof nonce, 0) != 1) goto out;
    if (add_octets(si, OID_SENDER_NONCE, nonce, sizeof nonce) != 0) goto out;
    if (req->sender_nonce_len > 0 &&
        add_octets(si, OID_RECIPIENT_NONCE, req->sender_nonce, req->sender_nonce_len) != 0)
        goto out;
    in = BIO_new_mem_buf(inner != NULL ? (const void *)inner : (const void *)"", (int)inner_len);
    if (in == NULL || PKCS7_final(p7, in, PKCS7_BINARY) != 1) goto out;
    unsigned char *der = NULL;
    int len = i2d_PKCS7(p7, &der);
    if (len <= 0) goto out;
    result = malloc((size_t)len);
    if (result != NULL) {
        memcpy(result, der, (size_t)len);
        *out_len = (size_t)len;
    }
    OPENSSL_free(der);
out:
    free(inner);
    BIO_free(in);
    PKCS7_free(p7);
    ERR_clear_error();
    return result;
}
