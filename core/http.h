/* SPDX-License-Identifier: Apache-2.0 */
/* http.h - libcurl (http.c): the pool of easy handles, the share, one perform */
#ifndef ISC_HTTP_H
#define ISC_HTTP_H

#ifdef ISC_PURE_READER
#error "a pure reader (core/parse.c, fuzz/) sees neither libcurl nor the client: see docs/architecture.md"
#endif

#include "cache.h"
#include "error.h"
#include "util.h"

#include <curl/curl.h>
#include <pthread.h>

#define ISC_MAX_RESPONSE (1024u * 1024u) /* answers above 1 MiB are refused */

/** One pooled libcurl easy handle with its own connection and answer buffer. */
typedef struct isc_handle {
    CURL *easy;
    struct isc_handle *next;
    pthread_t owner; /* the thread that used it last: it gets it back first */
    isc_buf body;
    int oversize;
    long proxy_status; /* the proxy's answer to CONNECT, 0 when none */
    int nothing_sent;  /* the last perform wrote no byte of its HTTP request to the server */
    int connect_bounded; /* the last perform's connect phase was bounded by CONNECT_TIMEOUT_MS, not the deadline */
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
    /* The request's header lines, kept between calls and rebuilt only when what they say changes (a new
     * token, another content type or api-version); each attempt rewrites its client-request-id in place.
     * They hold the Authorization line, a secret: wiped when rebuilt and when the handle is freed. */
    struct curl_slist *headers;
    char *header_id;           /* the 36 characters of the client-request-id value inside `headers` */
    isc_cache_entry *header_auth; /* a reference to the token entry whose line is inside `headers`, NULL when none */
    const char *header_ctype;  /* the Content-Type and api-version they were built with (NULL: none) */
    const char *header_api;
    int header_ua;             /* built with the UserAgent header */
    char *checked_url;         /* the last discovered service URL found usable (see service.c), a copy */
} isc_handle;

/** Set up the client's share (TLS sessions), its locks, the pool and the User-Agent line. */
int isc_http_init(intune_scep_client *c, intune_scep_error *err);
/** Free every pooled handle (their kept header lines wiped) and the share. */
void isc_http_cleanup(intune_scep_client *c);
/** A handle from the pool (the one this thread used last when it is free) or a new one; NULL with err set. */
isc_handle *isc_http_acquire(intune_scep_client *c, intune_scep_error *err);
/** Give `h` back to the pool (a large answer buffer is freed). */
void isc_http_release(intune_scep_client *c, isc_handle *h);
/** Wipe every line of a header list (one may be an Authorization line) and free it. */
void isc_free_headers(struct curl_slist *list);
/**
 * Perform one HTTP exchange on `h` before `deadline_ms`. `body` NULL means GET.
 * Returns the CURLcode; *status is the HTTP status (0 when no answer).
 */
CURLcode isc_http_perform(intune_scep_client *c, isc_handle *h, const char *url, struct curl_slist *headers,
                          const char *body, size_t body_len, uint64_t deadline_ms, long *status);

#endif
