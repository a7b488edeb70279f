/* SPDX-License-Identifier: Apache-2.0 */
/* certinfo.h - certificate -> thumbprint, serial, expiry, issuer; CSR -> base64 DER (certinfo.c) */
#ifndef ISC_CERTINFO_H
#define ISC_CERTINFO_H

#include "error.h"

#include <stddef.h>

struct intune_scep_cert_details {
    char *thumbprint;
    char *serial_number;
    char *expiration_date;
    char *issuing_authority;
};
int isc_cert_details(const char *data, size_t len, intune_scep_cert_details **out, intune_scep_error *err);
void isc_cert_details_free(intune_scep_cert_details *d);
int isc_csr_to_base64_der(const char *data, size_t len, char **out, intune_scep_error *err);
/* The bytes written into a memory BIO, as a NUL-terminated copy (malloc'd), or NULL. */
struct bio_st;
char *isc_bio_string(struct bio_st *bio);

#endif
