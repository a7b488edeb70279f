/* SPDX-License-Identifier: Apache-2.0 */
/* transport.h - the opt-in transport hook (transport.c): one exchange through the application's
 * callback instead of libcurl */
#ifndef ISC_TRANSPORT_H
#define ISC_TRANSPORT_H

#ifdef ISC_PURE_READER
#error "a pure reader (core/parse.c, fuzz/) sees neither libcurl nor the client: see docs/architecture.md"
#endif

#include "http.h"

/* The setters behind intune_scep_transport_response_* (the ABI checks the arguments first):
 * the status (100-599), a header (only Retry-After is kept), a piece of the body (refused past
 * the 1 MiB cap), or a failure of the exchange (an intune_scep_transport_failure). */
int isc_transport_response_set_status(intune_scep_transport_response *r, long status);
int isc_transport_response_add_header(intune_scep_transport_response *r, const char *name, const char *value);
int isc_transport_response_append_body(intune_scep_transport_response *r, const char *data, size_t len);
void isc_transport_response_fail(intune_scep_transport_response *r, int kind, const char *message);
/**
 * isc_http_perform through the client's transport callback instead of libcurl:
 * the same contract (CURLcode, *status, h->body, h->retry_after, h->oversize,
 * h->proxy_status, h->errbuf), so exchange.c treats both alike.
 */
CURLcode isc_transport_perform(intune_scep_client *c, isc_handle *h, const char *url, struct curl_slist *headers,
                               const char *body, size_t body_len, uint64_t deadline_ms, long *status);

#endif
