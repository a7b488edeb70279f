/* SPDX-License-Identifier: Apache-2.0 */
/* intune_scep.c - the exported functions of the public ABI: each checks its
 * arguments (naming the one at fault, before anything is sent), gives the core
 * an error object even when the caller passed none, and forwards to core/. */
#include "certinfo.h"
#include "client.h"
#include "config.h"
#include "csrinfo.h"
#include "discovery.h"
#include "error.h"
#include "parse.h"
#include "revocation.h"
#include "scep.h"
#include "token.h"
#include "transport.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define API INTUNE_SCEP_API

API const char *intune_scep_version(void) {
    return INTUNE_SCEP_VERSION_STRING;
}

API const char *intune_scep_status_name(int status) {
    return isc_status_name(status);
}

/* ---- argument checks ------------------------------------------------------
 * isc_check_text / isc_check_optional (core/error.c) and isc_client_usable (core/client.c): the core holds
 * what it derives from an argument (a certificate's fields) to the same rules. */

/* The error object the core fills: the caller's, or a local one when the caller passed NULL. */
#define BEGIN_ERR(err)                                                                                                \
    intune_scep_error local_err_ = {0};                                                                               \
    intune_scep_error *e = (err) ? (err) : &local_err_;                                                               \
    isc_error_reset(e)
#define END_ERR(rc) end_err(&local_err_, (rc))

/* Evaluate the status first, then empty the local error object (its message would leak otherwise). */
static int end_err(intune_scep_error *local, int rc) {
    isc_error_reset(local);
    return rc;
}

/* ---- configuration ------------------------------------------------------- */

API intune_scep_config *intune_scep_config_new(void) {
    return isc_config_new();
}

API int intune_scep_config_set(intune_scep_config *cfg, const char *key, const char *value) {
    if (!cfg || !key || !*key) return INTUNE_SCEP_E_INVALID_ARGUMENT;
    if (!isc_utf8_valid(key, strlen(key)) || isc_has_control(key)) return INTUNE_SCEP_E_INVALID_ARGUMENT;
    if (value && (!isc_utf8_valid(value, strlen(value)) || isc_has_control(value))) return INTUNE_SCEP_E_INVALID_ARGUMENT;
    return isc_config_set(cfg, key, value);
}

API const char *intune_scep_config_get(const intune_scep_config *cfg, const char *key) {
    return cfg && key ? isc_config_get(cfg, key) : NULL;
}

API int intune_scep_config_load_file(intune_scep_config *cfg, const char *path, intune_scep_error *err) {
    BEGIN_ERR(err);
    if (!cfg) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cfg is required (got NULL)"));
    int rc = isc_check_text(e, "path", path, 1);
    if (rc) return END_ERR(rc);
    return END_ERR(isc_config_load_file(cfg, path, e));
}

API int intune_scep_config_load_env(intune_scep_config *cfg, const char *prefix, intune_scep_error *err) {
    BEGIN_ERR(err);
    if (!cfg) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cfg is required (got NULL)"));
    if (!prefix) prefix = INTUNE_SCEP_ENV_PREFIX;
    if (!*prefix) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument prefix must not be empty"));
    for (const char *p = prefix; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT,
                                         "argument prefix may hold only letters, digits and '_'"));
    }
    return END_ERR(isc_config_load_env(cfg, prefix, e));
}

API size_t intune_scep_config_key_count(void) {
    return isc_config_key_count();
}

API const char *intune_scep_config_key_name(size_t index) {
    return isc_config_key_name(index);
}

API int intune_scep_config_key_flags(const char *key) {
    return key ? isc_config_key_flags(key) : 0;
}

API void intune_scep_config_set_log_callback(intune_scep_config *cfg, intune_scep_log_fn fn, void *userdata,
                                             int min_level) {
    if (cfg) isc_config_set_log(cfg, fn, userdata, min_level);
}

API void intune_scep_config_set_transport(intune_scep_config *cfg, intune_scep_transport_fn fn, void *userdata) {
    if (cfg) isc_config_set_transport(cfg, fn, userdata);
}

API int intune_scep_transport_response_set_status(intune_scep_transport_response *r, long status) {
    if (!r) return INTUNE_SCEP_E_INVALID_ARGUMENT;
    return isc_transport_response_set_status(r, status);
}

API int intune_scep_transport_response_add_header(intune_scep_transport_response *r, const char *name,
                                                  const char *value) {
    if (!r || !name || !value) return INTUNE_SCEP_E_INVALID_ARGUMENT;
    return isc_transport_response_add_header(r, name, value);
}

API int intune_scep_transport_response_append_body(intune_scep_transport_response *r, const char *data,
                                                   size_t len) {
    if (!r || (!data && len)) return INTUNE_SCEP_E_INVALID_ARGUMENT;
    return isc_transport_response_append_body(r, data, len);
}

API void intune_scep_transport_response_fail(intune_scep_transport_response *r, int kind, const char *message) {
    if (!r) return;
    isc_transport_response_fail(r, kind, message);
}

API void intune_scep_config_free(intune_scep_config *cfg) {
    isc_config_free(cfg);
}

/* ---- errors -------------------------------------------------------------- */

API intune_scep_error *intune_scep_error_new(void) {
    return calloc(1, sizeof(intune_scep_error));
}

API void intune_scep_error_free(intune_scep_error *err) {
    if (!err) return;
    isc_error_reset(err);
    free(err);
}

API void intune_scep_error_clear(intune_scep_error *err) {
    isc_error_reset(err);
}

API int intune_scep_error_status(const intune_scep_error *err) {
    return err ? err->status : INTUNE_SCEP_OK;
}

API const char *intune_scep_error_message(const intune_scep_error *err) {
    if (!err) return NULL;
    return err->message ? err->message : "";
}

API const char *intune_scep_error_service_code(const intune_scep_error *err) {
    return err ? err->service_code : NULL;
}

API const char *intune_scep_error_description(const intune_scep_error *err) {
    return err ? err->description : NULL;
}

API const char *intune_scep_error_activity_id(const intune_scep_error *err) {
    return err ? err->activity_id : NULL;
}

API const char *intune_scep_error_transaction_id(const intune_scep_error *err) {
    return err ? err->transaction_id : NULL;
}

API long intune_scep_error_http_status(const intune_scep_error *err) {
    return err ? err->http_status : 0;
}

API const char *intune_scep_error_response_body(const intune_scep_error *err) {
    return err ? err->response_body : NULL;
}

API long intune_scep_error_aadsts_code(const intune_scep_error *err) {
    return err ? err->aadsts_code : 0;
}

/* ---- client -------------------------------------------------------------- */

API int intune_scep_client_new(const intune_scep_config *cfg, intune_scep_client **out, intune_scep_error *err) {
    BEGIN_ERR(err);
    if (!out) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument out is required (got NULL)"));
    *out = NULL;
    if (!cfg) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cfg is required (got NULL)"));
    return END_ERR(isc_client_new(cfg, out, e));
}

API void intune_scep_client_free(intune_scep_client *client) {
    isc_client_free(client);
}

API void intune_scep_client_set_log_callback(intune_scep_client *client, intune_scep_log_fn fn, void *userdata,
                                             int min_level) {
    if (client) isc_client_set_log(client, fn, userdata, min_level);
}

API int intune_scep_client_set_app_key(intune_scep_client *client, const char *app_key, intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc && !app_key) rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument app_key is required (got NULL)");
    if (!rc && !*app_key) rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument app_key must not be empty");
    if (rc) return END_ERR(rc);
    return END_ERR(isc_client_set_app_key(client, app_key, e));
}

API int intune_scep_client_update_credentials(intune_scep_client *client, const intune_scep_config *config,
                                              intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc && !config) rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument config is required (got NULL)");
    if (rc) return END_ERR(rc);
    return END_ERR(isc_client_update_credentials(client, config, e));
}

API int intune_scep_client_credential_kind(intune_scep_client *client) {
    return client ? isc_client_credential_kind(client) : 0;
}

API int64_t intune_scep_client_certificate_expiry(intune_scep_client *client) {
    return client ? isc_client_certificate_expiry(client) : 0;
}

API int intune_scep_client_token_roles(intune_scep_client *client, int resource, char **roles_out,
                                       intune_scep_error *err) {
    BEGIN_ERR(err);
    if (roles_out) *roles_out = NULL;
    int rc = isc_client_usable(client, e);
    if (!rc && resource != INTUNE_SCEP_RESOURCE_GRAPH && resource != INTUNE_SCEP_RESOURCE_INTUNE)
        rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument resource must be INTUNE_SCEP_RESOURCE_GRAPH or "
                           "INTUNE_SCEP_RESOURCE_INTUNE (got %d)", resource);
    if (!rc && !roles_out) rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument roles_out is required (got NULL)");
    if (rc) return END_ERR(rc);
    return END_ERR(isc_client_token_roles(client, resource, roles_out, e));
}

API int intune_scep_client_fetch_token(intune_scep_client *client, int resource, intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc && resource != INTUNE_SCEP_RESOURCE_GRAPH && resource != INTUNE_SCEP_RESOURCE_INTUNE)
        rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT,
                           "argument resource must be INTUNE_SCEP_RESOURCE_GRAPH or INTUNE_SCEP_RESOURCE_INTUNE");
    if (rc) return END_ERR(rc);
    return END_ERR(isc_client_fetch_token(client, resource, e));
}

API int intune_scep_client_discover(intune_scep_client *client, const char *service_name, char **uri_out,
                                    intune_scep_error *err) {
    BEGIN_ERR(err);
    if (uri_out) *uri_out = NULL;
    int rc = isc_client_usable(client, e);
    if (!rc) rc = isc_check_text(e, "service_name", service_name, 1);
    if (!rc && !uri_out) rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument uri_out is required (got NULL)");
    if (rc) return END_ERR(rc);
    return END_ERR(isc_client_discover(client, service_name, uri_out, e));
}

API void intune_scep_string_free(char *s) {
    isc_free_secret(s);
}

/* ---- the SCEP calls ------------------------------------------------------ */

API int intune_scep_validate_request(intune_scep_client *client, const char *transaction_id,
                                     const char *certificate_request, intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc) rc = isc_check_text(e, "transaction_id", transaction_id, 1);
    if (!rc) rc = isc_check_text(e, "certificate_request", certificate_request, 1);
    if (rc) return END_ERR(rc);
    return END_ERR(isc_scep_validate(client, transaction_id, certificate_request, e));
}

API int intune_scep_send_success_notification(intune_scep_client *client, const char *transaction_id,
                                              const char *certificate_request, const char *cert_thumbprint,
                                              const char *cert_serial_number, const char *cert_expiration_date,
                                              const char *cert_issuing_authority, const char *ca_configuration,
                                              const char *certificate_authority, intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc) rc = isc_check_text(e, "transaction_id", transaction_id, 1);
    if (!rc) rc = isc_check_text(e, "certificate_request", certificate_request, 1);
    if (!rc) rc = isc_check_text(e, "cert_thumbprint", cert_thumbprint, 1);
    if (!rc) rc = isc_check_text(e, "cert_serial_number", cert_serial_number, 1);
    if (!rc) rc = isc_check_text(e, "cert_expiration_date", cert_expiration_date, 1);
    if (!rc) rc = isc_check_text(e, "cert_issuing_authority", cert_issuing_authority, 1);
    if (!rc) rc = isc_check_optional(e, "ca_configuration", ca_configuration);
    if (!rc) rc = isc_check_optional(e, "certificate_authority", certificate_authority);
    if (rc) return END_ERR(rc);
    return END_ERR(isc_scep_success(client, transaction_id, certificate_request, cert_thumbprint, cert_serial_number,
                                    cert_expiration_date, cert_issuing_authority, ca_configuration,
                                    certificate_authority, e));
}

API int intune_scep_send_failure_notification(intune_scep_client *client, const char *transaction_id,
                                              const char *certificate_request, int64_t hresult,
                                              const char *error_description, intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc) rc = isc_check_text(e, "transaction_id", transaction_id, 1);
    if (!rc) rc = isc_check_text(e, "certificate_request", certificate_request, 1);
    if (!rc) rc = isc_check_text(e, "error_description", error_description, 0);
    if (rc) return END_ERR(rc);
    return END_ERR(isc_scep_failure(client, transaction_id, certificate_request, hresult, error_description, e));
}

API int intune_scep_send_success_notification_for_cert(intune_scep_client *client, const char *transaction_id,
                                                       const char *certificate_request, const char *cert,
                                                       size_t cert_len, const char *ca_configuration,
                                                       const char *certificate_authority, intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc) rc = isc_check_text(e, "transaction_id", transaction_id, 1);
    if (!rc) rc = isc_check_text(e, "certificate_request", certificate_request, 1);
    if (!rc && !cert) rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cert is required (got NULL)");
    if (!rc) rc = isc_check_optional(e, "ca_configuration", ca_configuration);
    if (!rc) rc = isc_check_optional(e, "certificate_authority", certificate_authority);
    if (rc) return END_ERR(rc);
    return END_ERR(isc_scep_success_for_cert(client, transaction_id, certificate_request, cert, cert_len,
                                             ca_configuration, certificate_authority, e));
}

/* ---- certificate helpers ------------------------------------------------- */

API int intune_scep_cert_details_from_cert(const char *cert, size_t len, intune_scep_cert_details **out,
                                           intune_scep_error *err) {
    BEGIN_ERR(err);
    if (out) *out = NULL;
    if (!out) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument out is required (got NULL)"));
    if (!cert) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument cert is required (got NULL)"));
    return END_ERR(isc_cert_details(cert, len, out, e));
}

API const char *intune_scep_cert_details_thumbprint(const intune_scep_cert_details *d) {
    return d ? d->thumbprint : NULL;
}

API const char *intune_scep_cert_details_serial_number(const intune_scep_cert_details *d) {
    return d ? d->serial_number : NULL;
}

API const char *intune_scep_cert_details_expiration_date(const intune_scep_cert_details *d) {
    return d ? d->expiration_date : NULL;
}

API const char *intune_scep_cert_details_issuing_authority(const intune_scep_cert_details *d) {
    return d ? d->issuing_authority : NULL;
}

API void intune_scep_cert_details_free(intune_scep_cert_details *d) {
    isc_cert_details_free(d);
}

API int intune_scep_csr_to_base64_der(const char *csr, size_t len, char **out, intune_scep_error *err) {
    BEGIN_ERR(err);
    if (out) *out = NULL;
    if (!out) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument out is required (got NULL)"));
    if (!csr) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument csr is required (got NULL)"));
    return END_ERR(isc_csr_to_base64_der(csr, len, out, e));
}

/* ---- certificate request inspection -------------------------------------- */

API int intune_scep_csr_info_parse(const char *csr, size_t len, intune_scep_csr_info **out, intune_scep_error *err) {
    BEGIN_ERR(err);
    if (out) *out = NULL;
    if (!out) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument out is required (got NULL)"));
    if (!csr) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument csr is required (got NULL)"));
    return END_ERR(isc_csr_info(csr, len, out, e));
}

API void intune_scep_csr_info_free(intune_scep_csr_info *info) { isc_csr_info_free(info); }
API const char *intune_scep_csr_info_challenge_password(const intune_scep_csr_info *info) {
    return isc_csr_info_challenge(info);
}
API const char *intune_scep_csr_info_subject(const intune_scep_csr_info *info) { return isc_csr_info_subject(info); }
API size_t intune_scep_csr_info_san_count(const intune_scep_csr_info *info) { return isc_csr_info_san_count(info); }
API const char *intune_scep_csr_info_san_type(const intune_scep_csr_info *info, size_t i) {
    return isc_csr_info_san_type(info, i);
}
API const char *intune_scep_csr_info_san_value(const intune_scep_csr_info *info, size_t i) {
    return isc_csr_info_san_value(info, i);
}
API const char *intune_scep_csr_info_sid(const intune_scep_csr_info *info) { return isc_csr_info_sid(info); }
API const char *intune_scep_csr_info_key_type(const intune_scep_csr_info *info) { return isc_csr_info_key_type(info); }
API int intune_scep_csr_info_key_bits(const intune_scep_csr_info *info) { return isc_csr_info_key_bits(info); }
API const char *intune_scep_csr_info_signature_hash(const intune_scep_csr_info *info) {
    return isc_csr_info_signature_hash(info);
}
API int intune_scep_csr_info_signature_valid(const intune_scep_csr_info *info) {
    return isc_csr_info_signature_valid(info);
}
API const char *intune_scep_csr_info_key_usage(const intune_scep_csr_info *info) { return isc_csr_info_key_usage(info); }
API size_t intune_scep_csr_info_eku_count(const intune_scep_csr_info *info) { return isc_csr_info_eku_count(info); }
API const char *intune_scep_csr_info_eku(const intune_scep_csr_info *info, size_t i) { return isc_csr_info_eku(info, i); }
API const char *intune_scep_csr_info_validity_period(const intune_scep_csr_info *info) {
    return isc_csr_info_validity_period(info);
}
API const char *intune_scep_csr_info_validity_period_units(const intune_scep_csr_info *info) {
    return isc_csr_info_validity_period_units(info);
}
API int intune_scep_csr_info_validity_days(const intune_scep_csr_info *info) {
    return isc_csr_info_validity_days(info);
}
API int intune_scep_csr_info_to_json(const intune_scep_csr_info *info, char **out, intune_scep_error *err) {
    BEGIN_ERR(err);
    if (out) *out = NULL;
    if (!out) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument out is required (got NULL)"));
    if (!info) return END_ERR(isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument info is required (got NULL)"));
    return END_ERR(isc_csr_info_to_json(info, out, e));
}

/* ---- revocation ---------------------------------------------------------- */

API int intune_scep_download_revocation_requests(intune_scep_client *client, int max_requests,
                                                 const char *issuer_name, intune_scep_revocation_requests **out,
                                                 intune_scep_error *err) {
    BEGIN_ERR(err);
    if (out) *out = NULL;
    int rc = isc_client_usable(client, e);
    if (!rc && (max_requests < 1 || max_requests > 500))
        rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument max_requests must be from 1 to 500 (got %d)",
                           max_requests);
    if (!rc) rc = isc_check_optional(e, "issuer_name", issuer_name);
    if (!rc && !out) rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument out is required (got NULL)");
    if (rc) return END_ERR(rc);
    return END_ERR(isc_download_revocation_requests(client, max_requests, issuer_name, out, e));
}

API size_t intune_scep_revocation_requests_count(const intune_scep_revocation_requests *r) {
    return r ? r->count : 0;
}

API const char *intune_scep_revocation_requests_request_context(const intune_scep_revocation_requests *r, size_t i) {
    return r && i < r->count ? r->items[i].request_context : NULL;
}

API const char *intune_scep_revocation_requests_serial_number(const intune_scep_revocation_requests *r, size_t i) {
    return r && i < r->count ? r->items[i].serial_number : NULL;
}

API const char *intune_scep_revocation_requests_issuer_name(const intune_scep_revocation_requests *r, size_t i) {
    return r && i < r->count ? r->items[i].issuer_name : NULL;
}

API const char *intune_scep_revocation_requests_ca_configuration(const intune_scep_revocation_requests *r, size_t i) {
    return r && i < r->count ? r->items[i].ca_configuration : NULL;
}

API void intune_scep_revocation_requests_free(intune_scep_revocation_requests *r) {
    isc_revocation_requests_free(r);
}

API intune_scep_revocation_results *intune_scep_revocation_results_new(void) {
    return isc_revocation_results_new();
}

API int intune_scep_revocation_results_add(intune_scep_revocation_results *r, const char *request_context,
                                           int succeeded, const char *error_code, const char *error_message,
                                           intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = r ? INTUNE_SCEP_OK : isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument results is required (got NULL)");
    if (!rc) rc = isc_check_text(e, "request_context", request_context, 1);
    if (!rc && error_message && *error_message) rc = isc_check_text(e, "error_message", error_message, 0);
    if (rc) return END_ERR(rc);
    return END_ERR(isc_revocation_results_add(r, request_context, succeeded, error_code, error_message, e));
}

API size_t intune_scep_revocation_results_count(const intune_scep_revocation_results *r) {
    return r ? r->count : 0;
}

API void intune_scep_revocation_results_free(intune_scep_revocation_results *r) {
    isc_revocation_results_free(r);
}

API int intune_scep_upload_revocation_results(intune_scep_client *client,
                                              const intune_scep_revocation_results *results, intune_scep_error *err) {
    BEGIN_ERR(err);
    int rc = isc_client_usable(client, e);
    if (!rc && (!results || results->count == 0))
        rc = isc_error_set(e, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument results must hold at least one result");
    if (rc) return END_ERR(rc);
    return END_ERR(isc_upload_revocation_results(client, results, e));
}
