/* SPDX-License-Identifier: Apache-2.0 */
/* scep.h - the three SCEP calls (scep.c): their JSON bodies and the verdict */
#ifndef ISC_SCEP_H
#define ISC_SCEP_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

/** The JSON bodies of the three calls (NULL when out of memory, or when a value is not valid UTF-8: the ABI refuses
 * such arguments before); optional strings NULL or "" give JSON null. */
char *isc_body_validate(const char *transaction_id, const char *csr, const char *provider);
char *isc_body_success(const char *transaction_id, const char *csr, const char *thumbprint, const char *serial,
                       const char *expiration, const char *issuer, const char *provider, const char *ca_configuration,
                       const char *certificate_authority);
char *isc_body_failure(const char *transaction_id, const char *csr, int64_t hresult, const char *description,
                       const char *provider);
/* The three SCEP calls, their arguments checked by the ABI (bindings/intune_scep.c). */
int isc_scep_validate(intune_scep_client *c, const char *transaction_id, const char *csr, intune_scep_error *err);
int isc_scep_success(intune_scep_client *c, const char *transaction_id, const char *csr, const char *thumbprint,
                     const char *serial, const char *expiration, const char *issuer, const char *ca_configuration,
                     const char *certificate_authority, intune_scep_error *err);
/** isc_scep_success with what the certificate `cert` (PEM or DER, `cert_len` bytes) gives; INVALID_ARGUMENT naming
 * "cert" when it cannot be read. */
int isc_scep_success_for_cert(intune_scep_client *c, const char *transaction_id, const char *csr, const char *cert,
                              size_t cert_len, const char *ca_configuration, const char *certificate_authority,
                              intune_scep_error *err);
int isc_scep_failure(intune_scep_client *c, const char *transaction_id, const char *csr, int64_t hresult,
                     const char *description, intune_scep_error *err);

#endif
