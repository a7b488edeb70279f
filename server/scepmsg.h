/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scepmsg.h - reading and writing RFC 8894 SCEP messages (pkiMessage, CertRep).
 *
 * A pure module: bytes in, structures out, no I/O and no global state. Every
 * OpenSSL object that needs an algorithm is fetched from the library context the
 * caller gives (the server's own, with the default and legacy providers loaded,
 * so DES envelopes from micromdm's client can be read without touching the
 * process-wide configuration).
 */
#ifndef INTUNE_SCEP_SERVER_SCEPMSG_H
#define INTUNE_SCEP_SERVER_SCEPMSG_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* messageType values (PrintableString decimal numbers in the message). */
enum scep_msg_type {
    SCEP_MSG_CERTREP = 3,
    SCEP_MSG_RENEWALREQ = 17,
    SCEP_MSG_PKCSREQ = 19,
    SCEP_MSG_CERTPOLL = 20,
    SCEP_MSG_GETCERT = 21,
    SCEP_MSG_GETCRL = 22
};

/* failInfo values. */
enum scep_fail_info {
    SCEP_FAIL_BADALG = 0,
    SCEP_FAIL_BADMESSAGECHECK = 1,
    SCEP_FAIL_BADREQUEST = 2,
    SCEP_FAIL_BADTIME = 3,
    SCEP_FAIL_BADCERTID = 4
};

enum scep_pki_status { SCEP_STATUS_SUCCESS = 0, SCEP_STATUS_FAILURE = 2, SCEP_STATUS_PENDING = 3 };

#define SCEP_MAX_TRANSACTION_ID 128
#define SCEP_MAX_NONCE 64

/* What a request carried. Everything is owned by the structure (scep_request_clear). */
struct scep_request {
    int message_type;                              /* enum scep_msg_type */
    char transaction_id[SCEP_MAX_TRANSACTION_ID + 1]; /* printable, as sent */
    unsigned char sender_nonce[SCEP_MAX_NONCE];
    size_t sender_nonce_len;
    X509 *signer;          /* the certificate that signed the message (self-signed or the one renewed) */
    int digest_nid;        /* the signer's digest algorithm, reused for the answer */
    int cipher_nid;        /* the envelope's content encryption algorithm, reused for the answer */
    unsigned char *inner;  /* the decrypted envelope content (a DER CSR for PKCSReq/RenewalReq) */
    size_t inner_len;
    X509_REQ *csr;         /* parsed from inner for PKCSReq / RenewalReq */
};

/* Why a request could not be read; the failInfo to answer when the answer can still be signed. */
struct scep_read_error {
    int fail_info;         /* -1: not even a SCEP message (answer HTTP 400) */
    char message[160];
};

/*
 * Read a pkiMessage (DER SignedData): check its signature with the certificate
 * inside it, read the SCEP attributes, decrypt the envelope with the RA's key and
 * parse the CSR. Returns 0 on success. On failure returns -1 and fills `err`;
 * when err->fail_info >= 0 the transaction id, nonce, signer and algorithms are
 * set in `req` so that a signed FAILURE can still be answered.
 */
int scep_read_request(OSSL_LIB_CTX *libctx, const unsigned char *der, size_t len, X509 *ra_cert,
                      EVP_PKEY *ra_key, struct scep_request *req, struct scep_read_error *err);

/* Free what a request holds and zero it. */
void scep_request_clear(struct scep_request *req);

/*
 * Decode the `message` argument of a GET PKIOperation: base64 (standard or URL
 * alphabet), spaces read as '+' (a '+' that was not percent-encoded arrives as a
 * space), line breaks ignored, padding optional. Percent-decoding is done by the
 * HTTP server before. Returns a malloc'ed buffer and its length, or NULL.
 */
unsigned char *scep_decode_get_message(const char *text, size_t *out_len);

/*
 * Build a CertRep signed by the RA. status SCEP_STATUS_SUCCESS needs `issued`
 * (put in a certs-only SignedData, encrypted to the request's signer with the
 * request's cipher); SCEP_STATUS_FAILURE carries `fail_info`. Returns the DER
 * (malloc'ed) and its length, or NULL.
 */
unsigned char *scep_build_certrep(OSSL_LIB_CTX *libctx, const struct scep_request *req, int status,
                                  int fail_info, X509 *issued, X509 *ra_cert, EVP_PKEY *ra_key,
                                  size_t *out_len);

/* The name of a message type ("PKCSReq"...), "unknown" otherwise. */
const char *scep_msg_type_name(int type);

#endif
