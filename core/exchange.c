/* SPDX-License-Identifier: Apache-2.0 */
/* exchange.c - one request of a call: the activity id on every attempt, the
 * request's header lines (kept on the pooled handle), retries with backoff and
 * jitter inside the call's deadline, Retry-After, the 1 MiB cap, refused proxies,
 * and the final error. Where each attempt goes and with which token is asked of
 * a target (exchange.h) before it; what a failed attempt answered is told to the
 * target, whose business the 401 (token.c's auth target: drop the token, repeat
 * once) and the 404 or failed connect (service.c's service target: discover
 * again, once) are. Token, discovery and service requests all go through here. */
#include "exchange.h"
#include "client.h"
#include "parse.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int add_header(struct curl_slist **list, const char *line) {
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l) return INTUNE_SCEP_E_NOMEM;
    *list = l;
    return INTUNE_SCEP_OK;
}

static int add_header_fmt(struct curl_slist **list, const char *name, const char *value) {
    size_t a = strlen(name), b = strlen(value);
    char stack[512];
    char *line = a + b + 3 <= sizeof stack ? stack : malloc(a + b + 3);
    if (!line) return INTUNE_SCEP_E_NOMEM;
    memcpy(line, name, a);
    memcpy(line + a, ": ", 2);
    memcpy(line + a + 2, value, b + 1);
    int rc = add_header(list, line);
    if (line != stack) free(line);
    return rc;
}

static int same_text(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The attempt's header lines: the handle's own list when it says the same (then only the
 * client-request-id is rewritten, in place), otherwise a new one. NULL when out of memory. */
static struct curl_slist *request_headers(intune_scep_client *c, isc_handle *h, const isc_request *req,
                                          isc_cache_entry *auth, const char *activity_id) {
    const char *ua = req->send_user_agent_header ? c->settings.provider : NULL;
    /* The same token is the same entry: the handle holds a reference to the one its lines were built with. */
    if (h->headers && h->header_id && auth == h->header_auth && same_text(req->content_type, h->header_ctype) &&
        same_text(req->api_version, h->header_api) && h->header_ua == (ua != NULL) && strlen(activity_id) == 36) {
        memcpy(h->header_id, activity_id, 36);
        return h->headers;
    }
    isc_free_headers(h->headers);
    h->headers = NULL;
    h->header_id = NULL;
    isc_cache_entry_release(h->header_auth);
    h->header_auth = NULL;
    struct curl_slist *headers = NULL;
    int hrc = INTUNE_SCEP_OK;
    if (auth) hrc |= add_header(&headers, auth->value);
    if (req->content_type) hrc |= add_header_fmt(&headers, "Content-Type", req->content_type);
    hrc |= add_header(&headers, "Accept: application/json");
    hrc |= add_header(&headers, c->user_agent);
    hrc |= add_header_fmt(&headers, "client-request-id", activity_id);
    if (req->api_version) hrc |= add_header_fmt(&headers, "api-version", req->api_version);
    if (ua) hrc |= add_header_fmt(&headers, "UserAgent", ua);
    hrc |= add_header(&headers, "Expect:");
    if (hrc != INTUNE_SCEP_OK) {
        isc_free_headers(headers);
        return NULL;
    }
    for (struct curl_slist *p = headers; p; p = p->next) {
        if (strncmp(p->data, "client-request-id: ", 19) == 0 && strlen(p->data + 19) == 36) h->header_id = p->data + 19;
    }
    h->headers = headers; /* without a client-request-id to rewrite in place (header_id NULL), used once */
    h->header_auth = isc_cache_entry_ref(auth);
    h->header_ctype = req->content_type;
    h->header_api = req->api_version;
    h->header_ua = ua != NULL;
    return headers;
}

static int retryable_status(long status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

int isc_connect_failure(CURLcode cc) {
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
}

/* The proxy answered CONNECT with 502, 503 or 504: it could not reach the host. */
static int proxy_unreachable(const isc_handle *h) {
    return h->proxy_status == 502 || h->proxy_status == 503 || h->proxy_status == 504;
}

int isc_failed_connect(const isc_handle *h, CURLcode cc) {
    if (isc_connect_failure(cc)) return 1;
    if (proxy_unreachable(h)) return 1; /* the proxy could not reach the host: nothing was sent to it */
    if (h->proxy_status >= 300) return 0; /* the proxy refused (407, 403...): final, not a failed connect */
    if (!h->nothing_sent) return 0; /* the request went out: not a failed connect */
    /* Nothing sent: the TCP handshake or the proxy's tunnel timed out, the TLS handshake stalled
     * or was cut (reset, closed). A refused proxy or an untrusted certificate are not in here. */
    return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SEND_ERROR ||
           cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING;
}

/* A connection cut before the whole answer arrived, or never made. */
static int retryable_transport(CURLcode cc) {
    return isc_connect_failure(cc) || cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
           cc == CURLE_PARTIAL_FILE;
}

/* The wait a Retry-After value asks for, in ms; -1 when absent or unreadable. */
static int64_t retry_after_ms(const char *v) {
    if (!v || !*v) return -1;
    if (strspn(v, "0123456789") == strlen(v)) {
        if (strlen(v) > 7) return INT64_MAX / 2; /* beyond any deadline */
        return (int64_t)strtol(v, NULL, 10) * 1000;
    }
    time_t when = curl_getdate(v, NULL);
    if (when == (time_t)-1) return -1;
    time_t now = time(NULL);
    if (when <= now) return 0;
    /* Any date curl can read (its years reach far beyond 9999): beyond a day is beyond any deadline
     * (TIMEOUT_MS is at most 86400000), and the product below cannot overflow. */
    if (when - now > 86400) return INT64_MAX / 2;
    return (int64_t)(when - now) * 1000;
}

static uint64_t backoff_ms(int retry) {
    uint64_t base = 100u << (retry < 5 ? retry : 5);
    if (base > 2000u) base = 2000u;
    return base / 2 + isc_random_below(base / 2 + 1);
}

/* The cause of a failed attempt, naming the setting that expired when it timed out. */
static const char *attempt_cause(const isc_handle *h, CURLcode cc, int connect_failed) {
    if (proxy_unreachable(h)) return "the proxy could not reach the host";
    if (cc == CURLE_OPERATION_TIMEDOUT && connect_failed && h->connect_bounded)
        return "could not connect within CONNECT_TIMEOUT_MS";
    return isc_transport_cause(cc);
}

const char *isc_transport_cause(CURLcode cc) {
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST: return "could not resolve the host name";
    case CURLE_COULDNT_RESOLVE_PROXY: return "could not resolve the proxy's host name";
    case CURLE_COULDNT_CONNECT: return "could not connect";
    case CURLE_OPERATION_TIMEDOUT: return "the call's deadline (TIMEOUT_MS) passed";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "TLS: the server's certificate is not trusted or does not match the host name (see TLS_CA_FILE)";
    case CURLE_SSL_CONNECT_ERROR: return "TLS handshake failed";
    case CURLE_SSL_CACERT_BADFILE: return "TLS: the CA file (TLS_CA_FILE) could not be read";
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: return "the connection was closed before an answer arrived";
    case CURLE_SEND_ERROR: return "the connection failed while sending";
    case CURLE_PARTIAL_FILE: return "the connection was closed before the whole answer arrived";
    case CURLE_UNSUPPORTED_PROTOCOL: return "the URL is not https";
    default: return curl_easy_strerror(cc);
    }
}

int isc_exchange(intune_scep_client *c, isc_call *call, isc_target *target, const isc_request *req,
                 int non2xx_status, isc_handle **handle, intune_scep_error *err) {
    const isc_settings *s = &c->settings;
    /* The pooled handle is taken once the first attempt is prepared: a token fetch or a discovery that
     * preparing needs runs its own exchange first, so a thread holds one handle at a time. */
    isc_handle *h = NULL;
    int rc = INTUNE_SCEP_OK, retries = 0, url_kept = 0;
    char *url = NULL;
    isc_cache_entry *auth = NULL;
    *handle = NULL;
    for (;;) {
        if (!url_kept) free(url);
        url = NULL;
        url_kept = 0;
        isc_cache_entry_release(auth);
        auth = NULL;
        if (isc_now_ms() >= call->deadline_ms) {
            rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT, "the call's deadline of %ld ms (TIMEOUT_MS) passed",
                               s->timeout_ms);
            break;
        }
        if ((rc = target->prepare(c, call, target, &url, &auth, err)) != INTUNE_SCEP_OK) break;
        if (!h && !(h = isc_http_acquire(c, err))) {
            rc = INTUNE_SCEP_E_INTERNAL;
            break;
        }
        if (target->check && (rc = target->check(c, call, target, h, url, err)) != INTUNE_SCEP_OK) break;

        struct curl_slist *headers = request_headers(c, h, req, auth, call->activity_id);
        if (!headers) {
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
            break;
        }
        call->attempts++;
        free(call->url);
        call->url = url; /* the call keeps the URL it tried (for its log line); url still points at it */
        url_kept = 1;
        long status = 0;
        CURLcode cc = isc_http_perform(c, h, url, headers, req->body, req->body_len, call->deadline_ms, &status);
        call->http_status = status;

        const char *why = NULL; /* set when this attempt may be repeated */
        int connect_failed = 0;
        int64_t wait = -1;
        if (cc == CURLE_OK && status >= 200 && status < 300) {
            *handle = h;
            h = NULL;
            rc = INTUNE_SCEP_OK;
            break;
        }
        if (cc == CURLE_OK) {
            if (target->stale(c, call, target, status, cc, 0, url)) continue;
            if (retryable_status(status)) {
                why = "HTTP status";
                wait = retry_after_ms(h->retry_after);
            }
        } else {
            if (h->proxy_status >= 300 && !proxy_unreachable(h)) {
                rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT, "the proxy %s refused to connect to %s: HTTP %ld%s",
                                   s->proxy_url, url, h->proxy_status,
                                   h->proxy_status == 407 ? " (check PROXY_USER and PROXY_PASS)" : "");
                break;
            }
            if (h->oversize || cc == CURLE_FILESIZE_EXCEEDED) {
                rc = isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "the answer from %s is larger than 1 MiB; refused",
                                   url);
                break;
            }
            connect_failed = isc_failed_connect(h, cc);
            if (target->stale(c, call, target, 0, cc, connect_failed, url)) continue;
            if (connect_failed || retryable_transport(cc)) why = attempt_cause(h, cc, connect_failed);
        }
        if (why && retries < s->max_retries) {
            if (wait < 0) wait = (int64_t)backoff_ms(retries);
            uint64_t now = isc_now_ms();
            if (now + (uint64_t)wait < call->deadline_ms) {
                retries++;
                char reason[160];
                if (cc == CURLE_OK) snprintf(reason, sizeof reason, "HTTP %ld", status);
                else snprintf(reason, sizeof reason, "%s", why);
                isc_log(&c->log, INTUNE_SCEP_LOG_INFO, "%s activity_id=%s: attempt %d failed (%s), retrying in %lld ms",
                        call->op, call->activity_id, call->attempts, reason, (long long)wait);
                isc_sleep_ms((uint64_t)wait);
                continue;
            }
        }
        /* Final failure of this request. */
        if (cc == CURLE_OK) {
            rc = isc_error_set(err, non2xx_status, "HTTP %ld from %s", status, url);
            if (err) err->http_status = status;
            char untrusted[160];
            if (isc_capture_error_body(h->body.data, h->body.len, err, untrusted, sizeof untrusted) ==
                INTUNE_SCEP_E_PROTOCOL)
                rc = isc_error_set(err, INTUNE_SCEP_E_PROTOCOL, "HTTP %ld from %s, with a body that cannot be trusted: %s",
                                   status, url, untrusted);
        } else {
            const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc);
            char *one = isc_one_line(detail, 256);
            if (proxy_unreachable(h))
                rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT, "the proxy %s could not reach %s: HTTP %ld",
                                   s->proxy_url, url, h->proxy_status);
            else if (cc == CURLE_OPERATION_TIMEDOUT && connect_failed && h->connect_bounded)
                rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT, "%s: could not connect within %ld ms "
                                   "(CONNECT_TIMEOUT_MS)", url, s->connect_timeout_ms);
            else if (cc == CURLE_OPERATION_TIMEDOUT)
                rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT, "the call's deadline of %ld ms (TIMEOUT_MS) passed "
                                   "waiting for %s", s->timeout_ms, url);
            else
                rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT, "%s (%s) at %s", isc_transport_cause(cc),
                                   one ? one : "", url);
            free(one);
        }
        break;
    }
    if (!url_kept) free(url);
    isc_cache_entry_release(auth);
    if (h) isc_http_release(c, h);
    return rc;
}
