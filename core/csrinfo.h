/* SPDX-License-Identifier: Apache-2.0 */
/* csrinfo.h - the certificate-request reader behind intune_scep_csr_info_* (csrinfo.c). */
#ifndef ISC_CSRINFO_H
#define ISC_CSRINFO_H

#include "intune_scep.h"

#include <stddef.h>

int isc_csr_info(const char *data, size_t len, intune_scep_csr_info **out, intune_scep_error *err);
void isc_csr_info_free(intune_scep_csr_info *info);
int isc_csr_info_to_json(const intune_scep_csr_info *info, char **out, intune_scep_error *err);
const char *isc_csr_info_challenge(const intune_scep_csr_info *i);
const char *isc_csr_info_subject(const intune_scep_csr_info *i);
size_t isc_csr_info_san_count(const intune_scep_csr_info *i);
const char *isc_csr_info_san_type(const intune_scep_csr_info *i, size_t k);
const char *isc_csr_info_san_value(const intune_scep_csr_info *i, size_t k);
const char *isc_csr_info_sid(const intune_scep_csr_info *i);
const char *isc_csr_info_key_type(const intune_scep_csr_info *i);
int isc_csr_info_key_bits(const intune_scep_csr_info *i);
const char *isc_csr_info_signature_hash(const intune_scep_csr_info *i);
int isc_csr_info_signature_valid(const intune_scep_csr_info *i);
const char *isc_csr_info_key_usage(const intune_scep_csr_info *i);
size_t isc_csr_info_eku_count(const intune_scep_csr_info *i);
const char *isc_csr_info_eku(const intune_scep_csr_info *i, size_t k);
const char *isc_csr_info_validity_period(const intune_scep_csr_info *i);
const char *isc_csr_info_validity_period_units(const intune_scep_csr_info *i);
int isc_csr_info_validity_days(const intune_scep_csr_info *i);

#endif
