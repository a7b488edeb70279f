/* SPDX-License-Identifier: Apache-2.0 */
/* transport.c - the opt-in transport hook: one HTTP exchange performed by a
 * callback of the application (a binding's TLS stack) instead of libcurl.
 * Its outcome is put into the pooled handle exactly as http.c puts libcurl's,
 * so exchange.c keeps retries, Retry-After, the deadline, the 1 MiB cap and the
 * verdict for both paths. */
#include "transport.h"
#include "client.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct intune_scep_transport_response {
    isc_handle *h;
    long status;
    int failure; /* an intune_scep_transport_failure, 0 when none was reported */
};

int isc_transport_response_set_status(intune_scep_transport_response *r, long status) {
    if (status < 100 || status > 599) {
        r->failure = INTUNE_SCEP_TRANSPORT_E_OTHER;
        snprintf(r->h->errbuf, sizeof r->h->errbuf, "the transport reported HTTP status %ld, not 100-599", status);
        return INTUNE_SCEP_E_INVALID_ARGUMENT;
    }
    r->status = status;
    return INTUNE_SCEP_OK;
}

int isc_transport_response_add_header(intune_scep_transport_response *r, const char *name, const char *value) {
    size_t n = strlen(name);
    if (n != 11 || !isc_has_prefix_ci(name, "retry-after")) return INTUNE_SCEP_OK;
    while (*value == ' ' || *value == '\t') value++;
    size_t len = strlen(value);
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r' ||
                   value[len - 1] == '\n'))
        len--;
    if (len >= sizeof r->h->retry_after) len = sizeof r->h->retry_after - 1;
    memcpy(r->h->retry_after, value, len);
    r->h->retry_after[len] = '\0';
    return INTUNE_SCEP_OK;
}

int isc_transport_response_append_body(intune_scep_transport_response *r, const char *data, size_t len) {
    isc_handle *h = r->h;
    if (h->oversize || len > ISC_MAX_RESPONSE - h->body.len) {
        h->oversize = 1;
        return INTUNE_SCEP_E_PROTOCOL;
    }
    if (!len) return INTUNE_SCEP_OK;
    return isc_buf_append(&h->body, data, len);
}

void isc_transport_response_fail(intune_scep_transport_response *r, int kind, const char *message) {
    r->failure = kind >= INTUNE_SCEP_TRANSPORT_E_OTHER && kind <= INTUNE_SCEP_TRANSPORT_E_PROXY
                     ? kind
                     : INTUNE_SCEP_TRANSPORT_E_OTHER;
    char *one = message ? isc_one_line(message, sizeof r->h->errbuf - 1) : NULL;
    snprintf(r->h->errbuf, sizeof r->h->errbuf, "%s", one ? one : "");
    free(one);
}

/* The libcurl code whose handling in exchange.c fits a reported failure. */
static CURLcode failure_code(int kind) {
    switch (kind) {
    case INTUNE_SCEP_TRANSPORT_E_RESOLVE: return CURLE_COULDNT_RESOLVE_HOST;
    case INTUNE_SCEP_TRANSPORT_E_CONNECT: return CURLE_COULDNT_CONNECT;
    case INTUNE_SCEP_TRANSPORT_E_TLS: return CURLE_SSL_CONNECT_ERROR;
    case INTUNE_SCEP_TRANSPORT_E_TIMEOUT: return CURLE_OPERATION_TIMEDOUT;
    case INTUNE_SCEP_TRANSPORT_E_CLOSED: return CURLE_RECV_ERROR;
    default: return CURLE_ABORTED_BY_CALLBACK;
    }
}

CURLcode isc_transport_perform(intune_scep_client *c, isc_handle *h, const char *url, struct curl_slist *headers,
                               const char *body, size_t body_len, uint64_t deadline_ms, long *status) {
    uint64_t now = isc_now_ms();
    long remaining = deadline_ms > now ? (long)(deadline_ms - now) : 1;
    long connect = c->settings.connect_timeout_ms < remaining ? c->settings.connect_timeout_ms : remaining;
    isc_buf_reset(&h->body);
    h->oversize = 0;
    h->proxy_status = 0;
    h->retry_after[0] = '\0';
    h->errbuf[0] = '\0';
    *status = 0;
    /* HTTPS only, as on the libcurl path (CURLOPT_PROTOCOLS_STR "https"): never hand the
       callback a URL it could fetch in the clear. */
    if (!isc_has_prefix_ci(url, "https://")) {
        snprintf(h->errbuf, sizeof h->errbuf, "not sent: only https:// URLs are fetched");
        return CURLE_UNSUPPORTED_PROTOCOL;
    }

    /* The header lines as an array; "Name:" without a value is libcurl's way to drop a header. */
    size_t n = 0;
    for (struct curl_slist *p = headers; p; p = p->next) n++;
    const char *stack[16];
    const char **lines = n <= 16 ? stack : malloc(n * sizeof *lines);
    if (!lines) {
        snprintf(h->errbuf, sizeof h->errbuf, "out of memory");
        return CURLE_OUT_OF_MEMORY;
    }
    size_t count = 0;
    for (struct curl_slist *p = headers; p; p = p->next) {
        const char *colon = strchr(p->data, ':');
        if (colon && colon[1] == '\0') continue;
        lines[count++] = p->data;
    }
    intune_scep_transport_response r = {h, 0, 0};
    int rc = c->transport_fn(c->transport_userdata, body ? "POST" : "GET", url, lines, count, body,
                             body ? body_len : 0, connect, remaining, &r);
    if (lines != stack) free(lines);

    if (h->oversize) return CURLE_WRITE_ERROR; /* refused as over 1 MiB by exchange.c */
    if (isc_now_ms() > deadline_ms) {
        isc_buf_reset(&h->body);
        return CURLE_OPERATION_TIMEDOUT; /* an answer after the deadline is no answer */
    }
    if (rc != 0 || r.failure) {
        if (!r.failure) r.failure = INTUNE_SCEP_TRANSPORT_E_OTHER;
        if (!h->errbuf[0]) snprintf(h->errbuf, sizeof h->errbuf, "the transport callback failed");
        if (r.failure == INTUNE_SCEP_TRANSPORT_E_PROXY && c->settings.proxy_url) {
            h->proxy_status = r.status >= 300 ? r.status : 502;
            return CURLE_COULDNT_CONNECT;
        }
        return failure_code(r.failure);
    }
    if (!r.status) {
        snprintf(h->errbuf, sizeof h->errbuf, "the transport callback reported no HTTP status");
        return CURLE_GOT_NOTHING;
    }
    *status = r.status;
    return CURLE_OK;
}
