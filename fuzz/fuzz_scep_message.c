/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_scep_message.c - the SCEP message reader of intune-scep-server (server/scepmsg.c):
 * the GET query's message decoding, then the PKCS#7 SignedData of a PKCSReq / RenewalReq /
 * CertPoll with its attributes, the signature check, the EnvelopedData decryption with the
 * RA key (AES, 3DES, DES through the legacy provider) and the CSR inside; and, for every
 * message that can be answered, the signed FAILURE CertRep.
 *
 * The first input byte chooses the form: odd = the text of a GET `message` argument,
 * even = a POST body. The RA is the test key pair in fuzz/scep-ra/ (the seeds captured
 * from strongSwan's pki and micromdm's scepclient were encrypted to it). */
#include "fuzz_common.h"
#include "scepmsg.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#ifndef FUZZ_SCEP_RA_DIR
#define FUZZ_SCEP_RA_DIR "fuzz/scep-ra"
#endif

static OSSL_LIB_CTX *libctx;
static X509 *ra_cert;
static EVP_PKEY *ra_key;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    libctx = OSSL_LIB_CTX_new();
    FUZZ_ASSERT(libctx && OSSL_PROVIDER_load(libctx, "default") && OSSL_PROVIDER_load(libctx, "legacy"));
    FILE *f = fopen(FUZZ_SCEP_RA_DIR "/ra.cert.pem", "r");
    FUZZ_ASSERT(f);
    ra_cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    f = fopen(FUZZ_SCEP_RA_DIR "/ra.key.pem", "r");
    FUZZ_ASSERT(f);
    ra_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    FUZZ_ASSERT(ra_cert && ra_key);
    return 0;
}

static void read_one(const unsigned char *der, size_t len) {
    struct scep_request req;
    struct scep_read_error err;
    int rc = scep_read_request(libctx, der, len, ra_cert, ra_key, &req, &err);
    if (rc == 0) {
        FUZZ_ASSERT(req.transaction_id[0] != '\0' && req.signer != NULL && req.sender_nonce_len > 0);
        FUZZ_ASSERT(req.inner != NULL && req.inner_len > 0);
        if (req.message_type == SCEP_MSG_PKCSREQ || req.message_type == SCEP_MSG_RENEWALREQ)
            FUZZ_ASSERT(req.csr != NULL);
        FUZZ_ASSERT(err.fail_info == -1);
    } else {
        FUZZ_ASSERT(rc == -1 && err.message[0] != '\0');
        FUZZ_ASSERT(err.fail_info >= -1 && err.fail_info <= SCEP_FAIL_BADCERTID);
    }
    for (size_t i = 0; req.transaction_id[i]; i++)
        FUZZ_ASSERT(req.transaction_id[i] >= 0x20 && req.transaction_id[i] <= 0x7e);
    if (rc == 0 || err.fail_info >= 0) {
        /* what the server answers: a signed FAILURE must always be buildable */
        size_t n = 0;
        unsigned char *rep = scep_build_certrep(libctx, &req, SCEP_STATUS_FAILURE,
                                                rc == 0 ? SCEP_FAIL_BADREQUEST : err.fail_info, NULL, ra_cert, ra_key, &n);
        FUZZ_ASSERT(rep != NULL && n > 0);
        free(rep);
    }
    scep_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    if (data[0] & 1) {
        char *text = malloc(size);
        FUZZ_ASSERT(text);
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        size_t len = 0;
        unsigned char *der = scep_decode_get_message(text, &len);
        if (der != NULL) {
            FUZZ_ASSERT(len > 0 && len <= strlen(text) / 4 * 3 + 3);
            read_one(der, len);
            free(der);
        }
        free(text);
    } else {
        read_one(data + 1, size - 1);
    }
    ERR_clear_error();
    return 0;
}
