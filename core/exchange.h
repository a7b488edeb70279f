/* SPDX-License-Identifier: Apache-2.0 */
/* exchange.h - one request with retries inside the call's deadline (exchange.c), sent where
 * a target says before each attempt */
#ifndef ISC_EXCHANGE_H
#define ISC_EXCHANGE_H

#ifdef ISC_PURE_READER
#error "a pure reader (core/parse.c, fuzz/) sees neither libcurl nor the client: see docs/architecture.md"
#endif

#include "cache.h"
#include "call.h"
#include "http.h"

#include <curl/curl.h>

/**
 * Where a request goes and with which token, decided afresh before each attempt:
 * token.c gives a fixed URL with an optional token (isc_auth_target), service.c
 * a path under a discovered service's URI with a token.
 */
typedef struct isc_target isc_target;
struct isc_target {
    /**
     * Give the URL (owned) and a reference to the token cache's entry whose value is the Authorization line
     * (NULL for none; isc_exchange releases it) of the next attempt.
     */
    int (*prepare)(intune_scep_client *c, isc_call *call, isc_target *t, char **url, isc_cache_entry **auth,
                   intune_scep_error *err);
    /**
     * May be NULL. Once the attempt has its pooled handle `h`: whether `url` may be sent to (a status other than
     * INTUNE_SCEP_OK ends the request with that error). Runs after prepare, so prepare holds no handle.
     */
    int (*check)(intune_scep_client *c, isc_call *call, isc_target *t, isc_handle *h, const char *url,
                 intune_scep_error *err);
    /**
     * After an HTTP answer `status` (0: none) or a transport failure `cc` from `url`: 1 when the target
     * dropped something stale (a refused token, a moved endpoint) and the attempt is to be repeated at once,
     * on top of the retries. `connect_failed` is 1 when nothing was sent (see isc_failed_connect).
     */
    int (*stale)(intune_scep_client *c, isc_call *call, isc_target *t, long status, CURLcode cc, int connect_failed,
                 const char *url);
};

/** 1 for a failure to reach the host at all (connect, DNS): nothing was sent. */
int isc_connect_failure(CURLcode cc);
/**
 * 1 when the last perform on `h` failed with `cc` before anything was sent: a refused or
 * unresolvable host, a TCP handshake or proxy tunnel that did not complete in time, a TLS
 * handshake that stalled or was cut. Such a failure is retried and rediscovers like a refused
 * connection; a failure after the request went out is not a failed connect.
 */
int isc_failed_connect(const isc_handle *h, CURLcode cc);
/** A one-line cause of a transport failure. */
const char *isc_transport_cause(CURLcode cc);

typedef struct {
    const char *api_version;  /* NULL: no api-version header */
    const char *content_type; /* NULL for GET */
    const char *body;         /* NULL for GET */
    size_t body_len;
    int send_user_agent_header; /* the reference's "UserAgent" header */
} isc_request;

/**
 * Send `req` to `target` with the call's activity id, retrying per the protocol
 * inside the call's deadline. On INTUNE_SCEP_OK, *handle holds the answer (status 2xx, body
 * in (*handle)->body): release it with isc_http_release. Non-2xx final answers
 * give INTUNE_SCEP_E_HTTP (or `non2xx_status` when the caller wants another
 * status, e.g. INTUNE_SCEP_E_AUTH for the token endpoint) with the body captured.
 */
int isc_exchange(intune_scep_client *c, isc_call *call, isc_target *target, const isc_request *req,
                 int non2xx_status, isc_handle **handle, intune_scep_error *err);

#endif
