/* SPDX-License-Identifier: Apache-2.0 */
/* assertion.h - the certificate credential (assertion.c): the certificate and key, and the
 * signed client-assertion JWT */
#ifndef ISC_ASSERTION_H
#define ISC_ASSERTION_H

#include "error.h"

#include <stdint.h>

typedef struct evp_pkey_st EVP_PKEY;
typedef struct {
    EVP_PKEY *key; /* RSA private key, or NULL when the client uses a secret */
    char *x5t;     /* base64url SHA-1 thumbprint of the certificate */
    int64_t not_after; /* the certificate's expiry, Unix seconds */
} isc_credential;

/** Load the certificate and its private key; the message names the configuration key at fault. */
int isc_credential_load(isc_credential *cred, const char *cert_file, const char *key_file, const char *password,
                        intune_scep_error *err);
void isc_credential_free(isc_credential *cred);
/** A signed client-assertion JWT for `audience` (the token URL); NULL on failure. */
char *isc_credential_assertion(const isc_credential *cred, const char *app_id, const char *audience,
                               intune_scep_error *err);

#endif
