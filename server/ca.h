/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ca.h - the server's certificate authority: keys and certificates from files,
 * and the issuing policy (what of a validated CSR goes into the certificate).
 */
#ifndef INTUNE_SCEP_SERVER_CA_H
#define INTUNE_SCEP_SERVER_CA_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct ca {
    X509 *cert;                 /* the issuing CA */
    EVP_PKEY *key;
    X509 *ra_cert;              /* the RA (decrypts requests, signs CertReps); the CA itself when not set */
    EVP_PKEY *ra_key;
    STACK_OF(X509) *chain;      /* certificates above the issuing CA, up to the root */
    unsigned char *getcacert;   /* the GetCACert answer, built once */
    size_t getcacert_len;
    const char *getcacert_type; /* its Content-Type */
    /* policy */
    int max_validity_days;      /* the cap of every certificate's validity */
    int default_validity_days;  /* when the CSR carries no ValidityPeriod pairs */
    int min_rsa_bits;           /* smaller RSA keys are refused at issuance */
};

/*
 * Load the CA from files (PEM): cert_file/key_file the issuing CA (RSA or EC),
 * chain_file (optional) the certificates above it, ra_cert_file/ra_key_file
 * (optional; RSA) the RA. Fills `msg` and returns -1 on error (naming the file).
 */
int ca_load(struct ca *ca, OSSL_LIB_CTX *libctx, const char *cert_file, const char *key_file,
            const char *key_password, const char *chain_file, const char *ra_cert_file, const char *ra_key_file,
            char *msg, size_t msg_cap);

void ca_free(struct ca *ca);

/* Why issuing failed, for the failure notification (an HRESULT and a description). */
struct ca_issue_error {
    long long hresult;
    char message[160];
};

/*
 * Issue a certificate for `csr` (already validated): its subject, and of its
 * extensions only subjectAltName, keyUsage and extendedKeyUsage (defaults when
 * absent: digitalSignature+keyEncipherment for RSA keys, digitalSignature for EC;
 * clientAuth); basicConstraints CA:FALSE, subject and authority key identifiers;
 * a random 16-byte serial (126 random bits); validity `validity_days` (capped by the policy and by
 * the CA's own notAfter). Returns the certificate or NULL with `err` filled.
 */
X509 *ca_issue(const struct ca *ca, X509_REQ *csr, int validity_days, struct ca_issue_error *err);

/* Whether `cert` was issued by this CA (signature and issuer name). */
int ca_issued_by_us(const struct ca *ca, X509 *cert);

/* The CA's name as the success notifications send it as the issuer (RFC 4514, the library's
 * intune_scep_cert_details_issuing_authority form): the issuer name of revocation downloads. */
void ca_issuer_name(const struct ca *ca, char *buf, size_t cap);

/* One revoked certificate: serial in hex, revocation time "YYYY-MM-DDTHH:MM:SSZ". */
struct crl_entry {
    const char *serial;
    const char *revoked_at;
};

/*
 * A CRL (v2) of `n` entries signed by the CA: thisUpdate `this_update`, nextUpdate
 * `next_update_seconds` later, cRLNumber `number`, authorityKeyIdentifier. The DER
 * (OPENSSL_free it) and its length, or NULL with `msg` filled.
 */
unsigned char *ca_build_crl(const struct ca *ca, const struct crl_entry *entries, size_t n, long long number,
                            time_t this_update, long next_update_seconds, size_t *len, char *msg, size_t cap);

#endif
