/* SPDX-License-Identifier: Apache-2.0 */
/* token.c - OAuth 2.0 client-credentials tokens from the identity platform
 * (v2.0 endpoint), one cache per resource, single flight. */
#include "token.h"
#include "assertion.h"
#include "client.h"
#include "exchange.h"
#include "parse.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

static const char *resource_name(int resource) {
    return resource == INTUNE_SCEP_RESOURCE_GRAPH ? "Microsoft Graph" : "Intune";
}

#define ISC_MAX_TOKEN_FILE (64u * 1024u)
#define ISC_MI_ANSWER_MAX (64u * 1024u)

/*
 * Read the federated token file afresh (the platform rotates it). The message
 * names the key and says whether the file is missing, unreadable or empty; it
 * never holds the file's content.
 */
static char *read_token_file(const char *path, intune_scep_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        isc_error_set(err, INTUNE_SCEP_E_AUTH, "configuration key AAD_FEDERATED_TOKEN_FILE: the token file %s is %s",
                      path, e == ENOENT ? "missing" : e == EACCES ? "not readable (permission denied)" : strerror(e));
        return NULL;
    }
    char *buf = malloc(ISC_MAX_TOKEN_FILE + 1);
    if (!buf) {
        fclose(f);
        isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
        return NULL;
    }
    size_t n = fread(buf, 1, ISC_MAX_TOKEN_FILE + 1, f);
    int bad_read = ferror(f);
    fclose(f);
    const char *why = NULL;
    if (bad_read) why = "not readable";
    else if (n > ISC_MAX_TOKEN_FILE) why = "larger than 64 KiB: not a token";
    else {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t')) n--;
        buf[n] = '\0';
        if (n == 0) why = "empty";
        else if (memchr(buf, '\0', n) || isc_has_control(buf) || strchr(buf, ' ') || !strchr(buf, '.'))
            why = "not a JWT (expected header.payload.signature)";
    }
    if (why) {
        isc_wipe(buf, ISC_MAX_TOKEN_FILE + 1);
        free(buf);
        isc_error_set(err, INTUNE_SCEP_E_AUTH, "configuration key AAD_FEDERATED_TOKEN_FILE: the token file %s is %s",
                      path, why);
        return NULL;
    }
    return buf;
}

/* The form body of a token request (holds the secret or the assertion: wipe it). */
static char *token_form(intune_scep_client *c, const isc_auth *a, int resource, intune_scep_error *err) {
    const isc_settings *s = &c->settings;
    const char *scope = resource == INTUNE_SCEP_RESOURCE_GRAPH ? s->graph_scope : s->intune_scope;
    char *credential = NULL;
    int assertion = a->kind != INTUNE_SCEP_CREDENTIAL_SECRET;
    if (a->kind == INTUNE_SCEP_CREDENTIAL_CERTIFICATE)
        credential = isc_credential_assertion(&a->cert, s->app_id, s->token_url, err);
    else if (a->kind == INTUNE_SCEP_CREDENTIAL_FEDERATED)
        credential = read_token_file(a->token_file, err);
    else if (!(credential = isc_strdup(a->app_key)))
        isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    if (!credential) return NULL;
    char *id = curl_easy_escape(NULL, s->app_id, 0);
    char *cred = curl_easy_escape(NULL, credential, 0);
    char *sc = curl_easy_escape(NULL, scope, 0);
    char *form = NULL;
    if (id && cred && sc) {
        if (assertion)
            form = isc_asprintf("grant_type=client_credentials&client_id=%s&client_assertion_type=%s"
                                "&client_assertion=%s&scope=%s",
                                id, "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer", cred, sc);
        else
            form = isc_asprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s", id, cred, sc);
    }
    curl_free(id);
    if (cred) isc_wipe(cred, strlen(cred));
    curl_free(cred);
    curl_free(sc);
    isc_free_secret(credential);
    if (!form) isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    return form;
}

/* ---- managed identity: the platform's identity endpoint (plain http on loopback/link-local) ---- */

typedef struct {
    isc_buf body;
    int oversize;
} mi_sink;

static size_t mi_write(char *p, size_t size, size_t n, void *ud) {
    mi_sink *sink = ud;
    size_t len = size * n;
    if (sink->body.len + len > ISC_MI_ANSWER_MAX) {
        sink->oversize = 1;
        return 0;
    }
    return isc_buf_append(&sink->body, p, len) ? 0 : len;
}

/* GET a token from the managed-identity endpoint, with retries on 429/5xx inside the deadline. */
static int fetch_mi_token(intune_scep_client *c, const isc_auth *a, int resource, isc_call *sub,
                          isc_token_answer *ans, intune_scep_error *err) {
    const isc_settings *s = &c->settings;
    const char *res = resource == INTUNE_SCEP_RESOURCE_GRAPH ? s->graph_resource : s->intune_resource;
    char *r = curl_easy_escape(NULL, res, 0);
    char *url = r ? isc_asprintf("%s%sapi-version=%s&resource=%s%s%s", a->identity_endpoint,
                                 strchr(a->identity_endpoint, '?') ? "&" : "?",
                                 a->identity_app_service ? "2019-08-01" : "2018-02-01", r,
                                 a->identity ? "&client_id=" : "", a->identity ? a->identity : "")
                  : NULL;
    curl_free(r);
    char *hdr = a->identity_app_service ? isc_asprintf("X-IDENTITY-HEADER: %s", a->identity_header)
                                        : isc_strdup("Metadata: true");
    char *rid = isc_asprintf("x-ms-client-request-id: %s", sub->activity_id);
    struct curl_slist *headers = NULL, *t1 = NULL, *t2 = NULL;
    CURL *e = curl_easy_init();
    int rc = INTUNE_SCEP_OK;
    if (!url || !hdr || !rid || !e || !(t1 = curl_slist_append(NULL, hdr)) || !(t2 = curl_slist_append(t1, rid))) {
        curl_slist_free_all(t1);
        rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
        goto out;
    }
    headers = t2;
    const char *who = a->identity ? a->identity : "system";
    for (long attempt = 0;; attempt++) {
        mi_sink sink = {0};
        if (err) isc_error_reset(err); /* only the last attempt's failure is reported */
        uint64_t now = isc_now_ms();
        if (now >= sub->deadline_ms) {
            rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT, "managed identity (AAD_MANAGED_IDENTITY=%s): the identity "
                               "endpoint %s did not answer in time", who, a->identity_endpoint);
            break;
        }
        curl_easy_reset(e);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); /* the endpoint is local to the machine */
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent + strlen("User-Agent: "));
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(sub->deadline_ms - now));
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
        if (s->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mi_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
        CURLcode cc = curl_easy_perform(e);
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        sub->attempts++;
        sub->http_status = status;
        int retry = 0;
        if (cc != CURLE_OK) {
            rc = isc_error_set(err, INTUNE_SCEP_E_TRANSPORT,
                               "managed identity (AAD_MANAGED_IDENTITY=%s): the identity endpoint %s %s: %s", who,
                               a->identity_endpoint, sink.oversize ? "answered more than 64 KiB" : "could not be reached",
                               curl_easy_strerror(cc));
            retry = !sink.oversize;
        } else if (status == 200) {
            rc = isc_parse_mi_token_answer(sink.body.data, sink.body.len, (long long)time(NULL), ans, err);
        } else {
            intune_scep_error detail = {0};
            char why[160] = "";
            char *msg = NULL;
            int untrusted = sink.body.len && isc_parse_token_error(sink.body.data, sink.body.len, &detail, why,
                                                                   sizeof why) == INTUNE_SCEP_E_PROTOCOL;
            if (!untrusted && !detail.description && sink.body.len) /* App Service: {"statusCode":..,"message":..} */
                untrusted = isc_parse_message_field(sink.body.data, sink.body.len, &msg, why, sizeof why) ==
                            INTUNE_SCEP_E_PROTOCOL;
            if (untrusted) {
                rc = isc_error_set(err, INTUNE_SCEP_E_PROTOCOL,
                                   "managed identity (AAD_MANAGED_IDENTITY=%s): the identity endpoint answered HTTP %ld "
                                   "with a body that cannot be trusted: %s",
                                   who, status, why);
                if (err) err->http_status = status;
                isc_error_reset(&detail);
                retry = 0;
                isc_wipe(sink.body.data, sink.body.len);
                isc_buf_free(&sink.body);
                break;
            }
            const char *desc = detail.description ? detail.description : msg;
            rc = isc_error_set(err, INTUNE_SCEP_E_AUTH,
                               "managed identity (AAD_MANAGED_IDENTITY=%s): the identity endpoint refused a token for "
                               "%s: HTTP %ld%s%s%s%s",
                               who, resource_name(resource), status, detail.service_code ? " " : "",
                               detail.service_code ? detail.service_code : "", desc ? ": " : "", desc ? desc : "");
            if (err) {
                err->http_status = status;
                isc_error_field(&err->service_code, detail.service_code);
                isc_error_field(&err->description, desc);
                err->aadsts_code = detail.aadsts_code;
            }
            free(msg);
            isc_error_reset(&detail);
            retry = status == 429 || status == 410 || status >= 500;
        }
        isc_wipe(sink.body.data, sink.body.len);
        isc_buf_free(&sink.body);
        if (!retry || attempt >= s->max_retries) break;
        uint64_t wait = 200u << attempt;
        if (isc_now_ms() + wait >= sub->deadline_ms) break;
        isc_sleep_ms(wait);
    }
out:
    if (e) curl_easy_cleanup(e);
    curl_slist_free_all(headers);
    free(url);
    isc_free_secret(hdr);
    free(rid);
    return rc;
}

static int fetch_token(intune_scep_client *c, void *ctx, isc_call *call, void **value, uint64_t *lifetime_ms,
                       intune_scep_error *err) {
    int resource = *(int *)ctx;
    /* A token request carries its own client-request-id, inside the call's deadline. */
    isc_call sub;
    isc_call_begin(&sub, c, "token", NULL);
    sub.deadline_ms = call->deadline_ms;
    /* The credential in use when the request starts: a rotation meanwhile does not change it under us. */
    isc_auth *a = isc_auth_acquire(c);
    int kind = a->kind;
    intune_scep_error local = {0};
    isc_token_answer ans = {0};
    int rc;
    if (kind == INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY) {
        rc = fetch_mi_token(c, a, resource, &sub, &ans, &local);
        isc_auth_release(c, a);
        if (rc != INTUNE_SCEP_OK) {
            char *cause = local.message;
            local.message = NULL;
            isc_error_set(&local, local.status, "%s (request_id %s)", cause ? cause : "", sub.activity_id);
            free(cause);
            goto failed;
        }
        goto acquired;
    }
    char *form = token_form(c, a, resource, err);
    char *token_file = kind == INTUNE_SCEP_CREDENTIAL_FEDERATED ? isc_strdup(a->token_file) : NULL;
    isc_auth_release(c, a);
    if (!form) {
        free(token_file);
        isc_call_end(&sub);
        return err && err->status ? err->status : INTUNE_SCEP_E_NOMEM;
    }
    isc_auth_target target;
    isc_auth_target_init(&target, c->settings.token_url, -1);
    isc_request req = {.content_type = "application/x-www-form-urlencoded", .body = form, .body_len = strlen(form)};
    isc_handle *h = NULL;
    rc = isc_exchange(c, &sub, &target.base, &req, INTUNE_SCEP_E_AUTH, &h, &local);
    isc_free_secret(form);
    if (rc == INTUNE_SCEP_OK) {
        rc = isc_parse_token_answer(h->body.data, h->body.len, &ans, &local);
        isc_wipe(h->body.data, h->body.len);
        isc_http_release(c, h);
    }
    if (rc == INTUNE_SCEP_OK) {
        free(token_file);
        goto acquired;
    }
    {
        /* Name the resource and keep the identity platform's own words for the administrator. */
        char *cause = isc_strdup(local.message);
        char who[600] = "";
        if (token_file)
            snprintf(who, sizeof who, "configuration key AAD_FEDERATED_TOKEN_FILE: the federated token from %.500s was "
                     "refused; ", token_file);
        free(token_file);
        char why[160];
        if (local.status == INTUNE_SCEP_E_AUTH && local.http_status &&
            isc_parse_token_error(local.response_body, local.response_body ? strlen(local.response_body) : 0, &local,
                                  why, sizeof why) == INTUNE_SCEP_E_PROTOCOL) {
            rc = isc_error_set(&local, INTUNE_SCEP_E_PROTOCOL,
                               "token request for %s failed: HTTP %ld, with a body that cannot be trusted: %s "
                               "(request_id %s)",
                               resource_name(resource), local.http_status, why, sub.activity_id);
        } else if (local.status == INTUNE_SCEP_E_AUTH && local.http_status) {
            char aadsts[32] = "";
            char *desc = local.description ? isc_one_line(local.description, 600) : NULL;
            /* The message keeps the identity platform's explanation, not its trace and correlation
               ids and timestamp (the description field keeps them all). */
            char *trace = desc ? strstr(desc, " Trace ID:") : NULL;
            if (trace) *trace = '\0';
            if (local.aadsts_code && !(desc && strncmp(desc, "AADSTS", 6) == 0))
                snprintf(aadsts, sizeof aadsts, " AADSTS%ld", local.aadsts_code);
            /* The cause first (the federated token file's key when it was refused), then the context. */
            isc_error_set(&local, INTUNE_SCEP_E_AUTH, "%sHTTP %ld%s%s%s%s%s (token request for %s, request_id %s)", who,
                          local.http_status, local.service_code ? " " : "",
                          local.service_code ? local.service_code : "", aadsts, desc ? ": " : "", desc ? desc : "",
                          resource_name(resource), sub.activity_id);
            free(desc);
        } else {
            isc_error_set(&local, local.status, "%s (token request for %s, request_id %s)", cause ? cause : "failed",
                          resource_name(resource), sub.activity_id);
        }
        free(cause);
    }
failed:
    isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG, "token for %s not acquired: %s", resource_name(resource), local.message);
    isc_call_end(&sub);
    isc_error_move(err, &local);
    return rc;
acquired: {
    isc_error_reset(&local); /* a failed attempt before the good one */
    char *header = isc_asprintf("Authorization: Bearer %s", ans.access_token);
    isc_free_secret(ans.access_token);
    if (!header) {
        isc_call_end(&sub);
        return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    *value = header;
    *lifetime_ms = (uint64_t)ans.expires_in * 1000u;
    isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG,
            "token for %s acquired (%s): expires_in=%ld s, request_id=%s, elapsed_ms=%llu", resource_name(resource),
            isc_credential_kind_name(kind), ans.expires_in, sub.activity_id,
            (unsigned long long)(isc_now_ms() - sub.start_ms));
    isc_call_end(&sub);
    return INTUNE_SCEP_OK;
}
}

static void free_header(void *p) {
    isc_free_secret(p);
}

/* The token cache holds the Authorization line of a token (wiped when its last reference goes). */
static const isc_cache_kind TOKEN_LINE = {"token request", fetch_token, free_header, 0};

int isc_token_header(intune_scep_client *c, int resource, isc_call *call, int force, isc_cache_entry **header,
                     intune_scep_error *err) {
    return isc_cache_get(c, &c->tokens[resource], call, force, &TOKEN_LINE, &resource, header, err);
}

int isc_client_fetch_token(intune_scep_client *c, int resource, intune_scep_error *err) {
    isc_call call;
    isc_call_begin(&call, c, "fetchToken", NULL);
    isc_cache_entry *header = NULL;
    int rc = isc_token_header(c, resource, &call, 1, &header, err);
    isc_cache_entry_release(header);
    if (rc) isc_call_stamp(&call, err);
    isc_call_end(&call);
    return rc;
}

/* ---- a fixed URL with a token: the target of token and discovery requests ---- */

int isc_auth_target_token(intune_scep_client *c, isc_call *call, isc_auth_target *t, isc_cache_entry **auth,
                          intune_scep_error *err) {
    *auth = NULL;
    if (t->resource < 0) return INTUNE_SCEP_OK;
    int rc = isc_token_header(c, t->resource, call, 0, auth, err);
    if (rc == INTUNE_SCEP_OK) t->stamp = isc_cache_entry_stamp(*auth);
    return rc;
}

static int auth_prepare(intune_scep_client *c, isc_call *call, isc_target *base, char **url, isc_cache_entry **auth,
                        intune_scep_error *err) {
    isc_auth_target *t = (isc_auth_target *)base;
    if (!(*url = isc_strdup(t->url))) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    return isc_auth_target_token(c, call, t, auth, err);
}

/*
 * A 401 drops the token and repeats the call once. Once more only when the token
 * of that repeat was asked for before the first 401 arrived (another thread's
 * refresh raced the revocation, even one whose answer came in after the refusal):
 * no token requested after the refusal has been tried yet then.
 */
static int auth_stale(intune_scep_client *c, isc_call *call, isc_target *base, long status, CURLcode cc,
                      int connect_failed, const char *url) {
    isc_auth_target *t = (isc_auth_target *)base;
    (void)cc;
    (void)connect_failed;
    if (status != 401 || t->resource < 0) return 0;
    if (t->refusals >= 2 || (t->refusals == 1 && t->stamp.requested_at >= t->first_refusal_at)) return 0;
    isc_log(&c->log, INTUNE_SCEP_LOG_INFO,
            "%s activity_id=%s: HTTP 401 from %s; dropping the cached token and trying once more", call->op,
            call->activity_id, url);
    if (t->refusals == 0) t->first_refusal_at = isc_now_ms();
    isc_cache_invalidate(&c->tokens[t->resource], t->stamp.generation);
    t->refusals++;
    return 1;
}

void isc_auth_target_init(isc_auth_target *t, const char *url, int resource) {
    memset(t, 0, sizeof *t);
    t->base.prepare = auth_prepare;
    t->base.stale = auth_stale;
    t->url = url;
    t->resource = resource;
}

/* ---- the roles claim, for diagnostics ---- */

int isc_client_token_roles(intune_scep_client *c, int resource, char **roles, intune_scep_error *err) {
    *roles = NULL;
    isc_call call;
    isc_call_begin(&call, c, "fetchToken", NULL);
    isc_cache_entry *entry = NULL;
    int rc = isc_token_header(c, resource, &call, 1, &entry, err);
    if (rc) isc_call_stamp(&call, err);
    isc_call_end(&call);
    if (rc != INTUNE_SCEP_OK) return rc;
    /* "Authorization: Bearer <header>.<payload>.<signature>": only the payload is decoded, never verified. */
    const char *header = entry->value;
    const char *tok = strchr(header, ' ');
    tok = tok ? strchr(tok + 1, ' ') : NULL;
    const char *p1 = tok ? strchr(tok + 1, '.') : NULL;
    const char *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
    char *found = NULL;
    int prc = INTUNE_SCEP_OK;
    if (p1 && p2 && p2 - p1 - 1 > 0 && p2 - p1 - 1 < 65536) {
        size_t n = (size_t)(p2 - p1 - 1);
        char *b64 = malloc(n + 4);
        unsigned char *json = malloc(n + 4);
        if (b64 && json) {
            for (size_t i = 0; i < n; i++) b64[i] = p1[1 + i] == '-' ? '+' : p1[1 + i] == '_' ? '/' : p1[1 + i];
            size_t m = n;
            while (m % 4) b64[m++] = '=';
            b64[m] = '\0';
            int len = EVP_DecodeBlock(json, (const unsigned char *)b64, (int)m);
            if (len > 0) {
                while (len > 0 && json[len - 1] == '\0') len--; /* padding gives trailing zero bytes */
                /* The checked reader: a payload with a NUL or a member twice gives no roles (""). */
                prc = isc_parse_token_roles((const char *)json, (size_t)len, &found);
            }
        }
        /* Pieces of a bearer token: wiped before they are freed. */
        if (b64) isc_wipe(b64, n + 4);
        if (json) isc_wipe(json, n + 4);
        free(b64);
        free(json);
    }
    isc_cache_entry_release(entry);
    if (prc == INTUNE_SCEP_E_NOMEM || (!found && !(found = isc_strdup(""))))
        return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    *roles = found;
    return INTUNE_SCEP_OK;
}
