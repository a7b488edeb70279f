/* SPDX-License-Identifier: Apache-2.0 */
/* token.c - OAuth 2.0 client-credentials tokens from the identity platform
 * (v2.0 endpoint), one cache per resource, single flight. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *resource_name(int resource) {
    return resource == INTUNE_SCEP_RESOURCE_GRAPH ? "Microsoft Graph" : "Intune";
}

/* The form body of a token request (holds the secret or the assertion: wipe it). */
static char *token_form(intune_scep_client *c, int resource, intune_scep_error *err) {
    const isc_settings *s = &c->settings;
    const char *scope = resource == INTUNE_SCEP_RESOURCE_GRAPH ? s->graph_scope : s->intune_scope;
    char *credential = c->credential.key ? isc_credential_assertion(&c->credential, s->app_id, s->token_url, err)
                                         : isc_client_app_key(c);
    if (!credential) return NULL;
    char *id = curl_easy_escape(NULL, s->app_id, 0);
    char *cred = curl_easy_escape(NULL, credential, 0);
    char *sc = curl_easy_escape(NULL, scope, 0);
    char *form = NULL;
    if (id && cred && sc) {
        if (c->credential.key)
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

static int fetch_token(intune_scep_client *c, void *ctx, isc_call *call, void **value, uint64_t *lifetime_ms,
                       intune_scep_error *err) {
    int resource = *(int *)ctx;
    /* A token request carries its own client-request-id, inside the call's deadline. */
    isc_call sub;
    isc_call_begin(&sub, c, "token", NULL);
    sub.deadline_ms = call->deadline_ms;
    char *form = token_form(c, resource, err);
    if (!form) {
        isc_call_end(&sub);
        return err && err->status ? err->status : INTUNE_SCEP_E_NOMEM;
    }
    isc_auth_target target;
    isc_auth_target_init(&target, c->settings.token_url, -1);
    isc_request req = {.content_type = "application/x-www-form-urlencoded", .body = form, .body_len = strlen(form)};
    isc_handle *h = NULL;
    intune_scep_error local = {0};
    int rc = isc_exchange(c, &sub, &target.base, &req, INTUNE_SCEP_E_AUTH, &h, &local);
    isc_free_secret(form);
    isc_token_answer ans = {0};
    if (rc == INTUNE_SCEP_OK) {
        rc = isc_parse_token_answer(h->body.data, h->body.len, &ans, &local);
        isc_wipe(h->body.data, h->body.len);
        isc_http_release(c, h);
    }
    if (rc == INTUNE_SCEP_OK) {
        char *header = isc_asprintf("Authorization: Bearer %s", ans.access_token);
        isc_free_secret(ans.access_token);
        if (!header) {
            isc_call_end(&sub);
            return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
        }
        *value = header;
        *lifetime_ms = (uint64_t)ans.expires_in * 1000u;
        isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG, "token for %s acquired: expires_in=%ld s, request_id=%s, elapsed_ms=%llu",
                resource_name(resource), ans.expires_in, sub.activity_id,
                (unsigned long long)(isc_now_ms() - sub.start_ms));
        isc_call_end(&sub);
        return INTUNE_SCEP_OK;
    }
    /* Name the resource and keep the identity platform's own words for the administrator. */
    char *cause = isc_strdup(local.message);
    char why[160];
    if (local.status == INTUNE_SCEP_E_AUTH && local.http_status &&
        isc_parse_token_error(local.response_body, local.response_body ? strlen(local.response_body) : 0, &local, why,
                              sizeof why) == INTUNE_SCEP_E_PROTOCOL) {
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
        /* The cause first, then the context. */
        isc_error_set(&local, INTUNE_SCEP_E_AUTH, "HTTP %ld%s%s%s%s%s (token request for %s, request_id %s)",
                      local.http_status, local.service_code ? " " : "", local.service_code ? local.service_code : "",
                      aadsts, desc ? ": " : "", desc ? desc : "", resource_name(resource), sub.activity_id);
        free(desc);
    } else {
        isc_error_set(&local, local.status, "%s (token request for %s, request_id %s)", cause ? cause : "failed",
                      resource_name(resource), sub.activity_id);
    }
    free(cause);
    isc_log(&c->log, INTUNE_SCEP_LOG_DEBUG, "token for %s not acquired: %s", resource_name(resource), local.message);
    isc_call_end(&sub);
    isc_error_move(err, &local);
    return rc;
}

static int copy_header(const void *value, void *ctx, intune_scep_error *err) {
    char **out = ctx;
    *out = isc_strdup(value);
    return *out ? INTUNE_SCEP_OK : isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
}

int isc_token_header(intune_scep_client *c, int resource, isc_call *call, int force, char **header,
                     isc_cache_stamp *stamp, intune_scep_error *err) {
    *header = NULL;
    return isc_cache_get(c, &c->tokens[resource], call, force, fetch_token, &resource, copy_header, header, stamp,
                         err);
}

/* ---- a fixed URL with a token: the target of token and discovery requests ---- */

int isc_auth_target_token(intune_scep_client *c, isc_call *call, isc_auth_target *t, char **auth,
                          intune_scep_error *err) {
    *auth = NULL;
    if (t->resource < 0) return INTUNE_SCEP_OK;
    return isc_token_header(c, t->resource, call, 0, auth, &t->stamp, err);
}

static int auth_prepare(intune_scep_client *c, isc_call *call, isc_target *base, char **url, char **auth,
                        intune_scep_error *err) {
    isc_auth_target *t = (isc_auth_target *)base;
    if (!(*url = isc_strdup(t->url))) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    return isc_auth_target_token(c, call, t, auth, err);
}

/*
 * A 401 drops the token and repeats the call once. Once more only when the token
 * of that repeat was already cached before the first 401 arrived (another
 * thread's refresh raced the revocation): no token fetched after the refusal
 * has been tried yet then.
 */
static int auth_stale(intune_scep_client *c, isc_call *call, isc_target *base, long status, CURLcode cc,
                      int connect_failed, const char *url) {
    isc_auth_target *t = (isc_auth_target *)base;
    (void)cc;
    (void)connect_failed;
    if (status != 401 || t->resource < 0) return 0;
    if (t->refusals >= 2 || (t->refusals == 1 && t->stamp.installed_at >= t->first_refusal_at)) return 0;
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
