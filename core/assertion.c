/* SPDX-License-Identifier: Apache-2.0 */
/* assertion.c - the certificate credential: a client-assertion JWT (RS256, x5t)
 * signed with the application's private key, instead of a client secret. */
#include "assertion.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define ISC_ASSERTION_LIFETIME_S 300 /* the platform accepts at most 10 minutes */

/* base64url without padding. */
static char *b64url(const unsigned char *data, size_t len) {
    char *out = malloc(len / 3 * 4 + 8);
    if (!out) return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=') n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+') out[i] = '-';
        else if (out[i] == '/') out[i] = '_';
    }
    return out;
}

static int pem_password(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    const char *pw = u;
    if (!pw) return 0;
    size_t n = strlen(pw);
    if ((int)n > size) return -1;
    memcpy(buf, pw, n);
    return (int)n;
}

void isc_credential_free(isc_credential *cred) {
    if (!cred) return;
    EVP_PKEY_free(cred->key);
    free(cred->x5t);
    memset(cred, 0, sizeof *cred);
}

int isc_credential_load(isc_credential *cred, const char *cert_file, const char *key_file, const char *password,
                        intune_scep_error *err) {
    memset(cred, 0, sizeof *cred);
    int rc = INTUNE_SCEP_OK;
    X509 *cert = NULL;
    BIO *bio = BIO_new_file(cert_file, "rb");
    if (!bio || !(cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG,
                           "configuration key AAD_CLIENT_CERT_FILE: %s is not a readable PEM certificate", cert_file);
        goto out;
    }
    BIO_free(bio);
    bio = BIO_new_file(key_file ? key_file : cert_file, "rb");
    if (!bio || !(cred->key = PEM_read_bio_PrivateKey(bio, NULL, pem_password, (void *)password))) {
        rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG,
                           "configuration key %s: %s holds no readable PEM private key (wrong AAD_CLIENT_KEY_PASSWORD?)",
                           key_file ? "AAD_CLIENT_KEY_FILE" : "AAD_CLIENT_CERT_FILE", key_file ? key_file : cert_file);
        goto out;
    }
    if (EVP_PKEY_get_base_id(cred->key) != EVP_PKEY_RSA) {
        rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG,
                           "configuration key AAD_CLIENT_CERT_FILE: the key must be RSA (client assertions are RS256)");
        goto out;
    }
    if (X509_check_private_key(cert, cred->key) != 1) {
        rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG,
                           "configuration keys AAD_CLIENT_CERT_FILE and AAD_CLIENT_KEY_FILE: the private key does not "
                           "belong to the certificate");
        goto out;
    }
    {
        int days = 0, secs = 0; /* from now to notAfter */
        if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) == 1)
            cred->not_after = (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!X509_digest(cert, EVP_sha1(), md, &mdlen) || !(cred->x5t = b64url(md, mdlen))) {
        rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
        goto out;
    }
out:
    BIO_free(bio);
    X509_free(cert);
    if (rc != INTUNE_SCEP_OK) isc_credential_free(cred);
    return rc;
}

char *isc_credential_assertion(const isc_credential *cred, const char *app_id, const char *audience,
                               intune_scep_error *err) {
    char jti[37];
    isc_uuid4(jti);
    long long now = (long long)time(NULL);
    char *header = isc_asprintf("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"%s\"}", cred->x5t);
    /* app_id and audience were validated (no quotes or control characters) with the configuration. */
    char *claims = isc_asprintf("{\"aud\":\"%s\",\"iss\":\"%s\",\"sub\":\"%s\",\"jti\":\"%s\",\"nbf\":%lld,"
                                "\"iat\":%lld,\"exp\":%lld}",
                                audience, app_id, app_id, jti, now, now, now + ISC_ASSERTION_LIFETIME_S);
    char *h64 = header ? b64url((const unsigned char *)header, strlen(header)) : NULL;
    char *c64 = claims ? b64url((const unsigned char *)claims, strlen(claims)) : NULL;
    char *signing_input = h64 && c64 ? isc_asprintf("%s.%s", h64, c64) : NULL;
    char *jwt = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (signing_input && md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, cred->key) == 1 &&
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)signing_input, strlen(signing_input)) == 1 &&
        (sig = malloc(siglen)) &&
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)signing_input, strlen(signing_input)) == 1) {
        char *s64 = b64url(sig, siglen);
        if (s64) jwt = isc_asprintf("%s.%s", signing_input, s64);
        isc_free_secret(s64);
    }
    if (!jwt) isc_error_set(err, INTUNE_SCEP_E_INTERNAL, "the client assertion could not be signed");
    EVP_MD_CTX_free(md);
    /* Every part of the assertion is wiped: with the signature it is a credential until it expires. */
    if (sig) isc_wipe(sig, siglen);
    free(sig);
    isc_free_secret(header);
    isc_free_secret(claims);
    isc_free_secret(h64);
    isc_free_secret(c64);
    isc_free_secret(signing_input);
    return jwt;
}
