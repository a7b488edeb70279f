/* SPDX-License-Identifier: Apache-2.0 */
/* revocation.h - the revocation calls of PkiConnectorFEService (revocation.c) and the results
 * an upload carries; the download's reader is parse.c's */
#ifndef ISC_REVOCATION_H
#define ISC_REVOCATION_H

#include "error.h"

#include <stddef.h>

typedef struct {
    char *request_context;
    int succeeded;
    char *error_code;
    char *error_message; /* may be NULL */
} isc_revocation_result;

struct intune_scep_revocation_results {
    isc_revocation_result *items;
    size_t count;
    size_t cap;
};

intune_scep_revocation_results *isc_revocation_results_new(void);
void isc_revocation_results_free(intune_scep_revocation_results *r);
int isc_revocation_results_add(intune_scep_revocation_results *r, const char *request_context, int succeeded,
                               const char *error_code, const char *error_message, intune_scep_error *err);
int isc_download_revocation_requests(intune_scep_client *c, int max_requests, const char *issuer_name,
                                     intune_scep_revocation_requests **out, intune_scep_error *err);
int isc_upload_revocation_results(intune_scep_client *c, const intune_scep_revocation_results *results,
                                  intune_scep_error *err);

#endif
