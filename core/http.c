/* SPDX-License-Identifier: Apache-2.0 */
/* http.c - libcurl: a pool of easy handles (each keeps its own connection, so
 * threads never queue on a shared connection cache, and its own DNS cache) and one
 * share for TLS sessions. Fixed options are set once per handle; a call changes only the
 * URL, headers, body and timeouts. */
#include "http.h"
#include "client.h"
#include "transport.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The system's CA bundle when TLS_CA_FILE is not set. libcurl's built-in path is
 * the one of the distribution it was built on; a copy carried inside the jar or
 * the wheel runs on others, where that file may not exist (and libcurl would then
 * refuse every connection). Returns NULL when the built-in file is readable (or
 * nothing better is found): libcurl's default stays. Otherwise the first readable
 * bundle at the usual place of a major distribution. */
static const char *system_ca_file(CURL *e) {
    static const char *const known[] = {
        "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Arch, Gentoo, Alpine */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL, CentOS, Fedora, Amazon Linux */
        "/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, Fedora (older path) */
        "/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
        "/etc/ssl/cert.pem",                                 /* Alpine, Arch */
    };
    char *builtin = NULL;
    if (curl_easy_getinfo(e, CURLINFO_CAINFO, &builtin) == CURLE_OK && builtin && access(builtin, R_OK) == 0)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (access(known[i], R_OK) == 0) return known[i];
    return NULL;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr) {
    (void)h;
    (void)access;
    intune_scep_client *c = userptr;
    pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr) {
    (void)h;
    intune_scep_client *c = userptr;
    pthread_mutex_unlock(&c->share_locks[data]);
}

int isc_http_init(intune_scep_client *c, intune_scep_error *err) {
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&c->share_locks[i], NULL);
    pthread_mutex_init(&c->pool_lock, NULL);
    c->share = curl_share_init();
    if (!c->share) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory (libcurl share)");
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    /* TLS sessions only: a new handle resumes TLS instead of a full handshake. A shared DNS
     * cache would be locked on every transfer; each handle resolves once for its connection. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    /* A header line of its own: CURLOPT_USERAGENT would be formatted again on every request. */
    snprintf(c->user_agent, sizeof c->user_agent, "User-Agent: intune-scep/%s libcurl/%s", INTUNE_SCEP_VERSION_STRING,
             v && v->version ? v->version : "?");
    return INTUNE_SCEP_OK;
}

void isc_free_headers(struct curl_slist *list) {
    for (struct curl_slist *p = list; p; p = p->next) isc_wipe(p->data, strlen(p->data));
    curl_slist_free_all(list);
}

static void handle_free(isc_handle *h) {
    if (!h) return;
    if (h->easy) curl_easy_cleanup(h->easy);
    isc_free_headers(h->headers);
    isc_cache_entry_release(h->header_auth);
    free(h->checked_url);
    isc_buf_free(&h->body);
    free(h);
}

void isc_http_cleanup(intune_scep_client *c) {
    isc_handle *h = c->pool;
    while (h) {
        isc_handle *next = h->next;
        handle_free(h);
        h = next;
    }
    c->pool = NULL;
    if (c->share) curl_share_cleanup(c->share);
    c->share = NULL;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->pool_lock);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
    isc_handle *h = userp;
    size_t n = size * nmemb;
    if (h->body.len + n > ISC_MAX_RESPONSE) {
        h->oversize = 1;
        return 0; /* abort the transfer: CURLE_WRITE_ERROR */
    }
    if (isc_buf_append(&h->body, data, n) != INTUNE_SCEP_OK) return 0;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userp) {
    isc_handle *h = userp;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        h->retry_after[0] = '\0'; /* a new response (after 100 Continue, say) */
    } else if (n > 12 && isc_has_prefix_ci(data, "retry-after:")) {
        const char *v = data + 12;
        size_t len = n - 12;
        while (len && (*v == ' ' || *v == '\t')) v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) len--;
        if (len >= sizeof h->retry_after) len = sizeof h->retry_after - 1;
        memcpy(h->retry_after, v, len);
        h->retry_after[len] = '\0';
    }
    return n;
}

static CURL *new_easy(intune_scep_client *c, isc_handle *h) {
    const isc_settings *s = &c->settings;
    CURL *e = curl_easy_init();
    if (!e) return NULL;
    int bad = 0;
#define SET(opt, val) bad |= curl_easy_setopt(e, opt, val) != CURLE_OK
    SET(CURLOPT_SHARE, c->share);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, h);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, h);
    SET(CURLOPT_ERRORBUFFER, h->errbuf);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ISC_MAX_RESPONSE);
    if (s->ca_file) {
        /* Only these CAs: no CA directory, nothing from the environment. */
        SET(CURLOPT_CAINFO, s->ca_file);
        SET(CURLOPT_CAPATH, NULL);
    } else {
        const char *system_bundle = system_ca_file(e);
        if (system_bundle) SET(CURLOPT_CAINFO, system_bundle);
    }
    /* The proxy comes from the configuration only, never from *_proxy variables; and an empty
     * no-proxy list keeps NO_PROXY / no_proxy from sending requests around a configured proxy. */
    SET(CURLOPT_PROXY, s->proxy_url ? s->proxy_url : "");
    SET(CURLOPT_NOPROXY, "");
    if (s->proxy_url) {
        SET(CURLOPT_PROXYTYPE, (long)CURLPROXY_HTTP);
        SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
        if (s->proxy_user) {
            SET(CURLOPT_PROXYUSERNAME, s->proxy_user);
            SET(CURLOPT_PROXYPASSWORD, s->proxy_pass);
            SET(CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
        }
    }
#undef SET
    if (bad) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

isc_handle *isc_http_acquire(intune_scep_client *c, intune_scep_error *err) {
    /* A thread gets back the handle it used last when it is free: its connection, and
     * memory from this thread's malloc arena, so threads do not contend over either. */
    pthread_t self = pthread_self();
    pthread_mutex_lock(&c->pool_lock);
    isc_handle **link = &c->pool;
    while (*link && !pthread_equal((*link)->owner, self)) link = &(*link)->next;
    if (!*link) link = &c->pool;
    isc_handle *h = *link;
    if (h) *link = h->next;
    pthread_mutex_unlock(&c->pool_lock);
    if (h) {
        h->next = NULL;
        h->owner = self;
        return h;
    }
    h = calloc(1, sizeof *h);
    if (h) h->owner = self;
    if (!h || !(h->easy = new_easy(c, h))) {
        free(h);
        isc_error_set(err, INTUNE_SCEP_E_INTERNAL, "could not set up a libcurl handle");
        return NULL;
    }
    return h;
}

void isc_http_release(intune_scep_client *c, isc_handle *h) {
    if (!h) return;
    /* Do not keep a large answer around; do keep the buffer of a small one. */
    if (h->body.cap > 64 * 1024) isc_buf_free(&h->body);
    else isc_buf_reset(&h->body);
    pthread_mutex_lock(&c->pool_lock);
    h->next = c->pool;
    c->pool = h;
    pthread_mutex_unlock(&c->pool_lock);
}

CURLcode isc_http_perform(intune_scep_client *c, isc_handle *h, const char *url, struct curl_slist *headers,
                          const char *body, size_t body_len, uint64_t deadline_ms, long *status) {
    if (c->transport_fn) return isc_transport_perform(c, h, url, headers, body, body_len, deadline_ms, status);
    CURL *e = h->easy;
    uint64_t now = isc_now_ms();
    long remaining = deadline_ms > now ? (long)(deadline_ms - now) : 1;
    long connect = c->settings.connect_timeout_ms < remaining ? c->settings.connect_timeout_ms : remaining;
    isc_buf_reset(&h->body);
    h->oversize = 0;
    h->proxy_status = 0;
    h->nothing_sent = 0;
    h->connect_bounded = connect < remaining;
    h->retry_after[0] = '\0';
    h->errbuf[0] = '\0';
    *status = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, remaining);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    if (rc != CURLE_OK) {
        /* Nothing reached the server when no request byte was written, or when this perform opened a
         * new connection whose TLS handshake never completed (a proxy's CONNECT counts as request
         * bytes; HTTPS sends nothing before the handshake). A reused connection reports no handshake
         * time, but its request size then counts what was sent on it. */
        long req = 1, fresh = 0;
        curl_off_t appconnect = 1;
        if (curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req) != CURLE_OK) req = 1;
        if (curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &fresh) != CURLE_OK) fresh = 0;
        if (curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &appconnect) != CURLE_OK) appconnect = 1;
        h->nothing_sent = req == 0 || (fresh > 0 && appconnect == 0);
    }
    if (c->settings.proxy_url) curl_easy_getinfo(e, CURLINFO_HTTP_CONNECTCODE, &h->proxy_status);
    /* The body may hold a secret (the form with the client secret): forget the pointer. */
    if (body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    return rc;
}
