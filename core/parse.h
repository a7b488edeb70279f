/* SPDX-License-Identifier: Apache-2.0 */
/* parse.h - pure readers of the bytes the identity platform, Graph and Intune send
 * (parse.c): no I/O, no client, no libcurl; each fuzzed on its own */
#ifndef ISC_PARSE_H
#define ISC_PARSE_H

#include "error.h"

#include <stddef.h>

#define ISC_MAX_ERROR_BODY 4096u /* copied into an error object */

typedef struct {
    char *access_token; /* secret */
    long expires_in;    /* seconds */
} isc_token_answer;

/*
 * Every reader below refuses an answer that holds a NUL (a byte, or a \u0000
 * escape in any member name or string value) or the same member name twice in
 * one object, at any depth: INTUNE_SCEP_E_PROTOCOL, and nothing is read from it.
 */

/**
 * Read a 200 answer of the token endpoint. Returns INTUNE_SCEP_OK with `out`
 * filled, INTUNE_SCEP_E_PROTOCOL for an answer that cannot be trusted (see
 * above), or INTUNE_SCEP_E_AUTH with a message (never the token).
 */
int isc_parse_token_answer(const char *body, size_t len, isc_token_answer *out, intune_scep_error *err);
/**
 * Read a failed answer of the token endpoint into err's service code ("error",
 * never "Success"), description ("error_description") and AADSTS code
 * ("error_codes"[0]). Leaves the fields empty when the body is not such JSON.
 * Returns INTUNE_SCEP_E_PROTOCOL (fields left alone, `why` says why; may be NULL)
 * for a body that cannot be trusted, else INTUNE_SCEP_OK.
 */
int isc_parse_token_error(const char *body, size_t len, intune_scep_error *err, char *why, size_t why_len);
/* A managed-identity endpoint's 200 answer: access_token with expires_in (IMDS) or expires_on
 * (App Service, Unix seconds, read against `now_unix`). PROTOCOL for an answer with a NUL or a
 * member name twice; AUTH when no usable token is in it. The parse tree is wiped. */
int isc_parse_mi_token_answer(const char *body, size_t len, long long now_unix, isc_token_answer *out,
                              intune_scep_error *err);
/* The "message" member of an error answer (App Service's {"statusCode":..,"message":..}), one
 * line (malloc'd) or NULL; PROTOCOL (with `why`) for an answer that cannot be trusted. */
int isc_parse_message_field(const char *body, size_t len, char **message, char *why, size_t why_len);

/**
 * The "roles" claim of a token's decoded payload (JSON), for diagnostics: the
 * roles that are non-empty strings without a control character or a comma, joined with
 * commas into *roles (malloc'd; "" when there are none or the payload is not a
 * JSON object). INTUNE_SCEP_E_PROTOCOL (and *roles NULL) for a payload that
 * cannot be trusted (see above); INTUNE_SCEP_E_NOMEM. The parse tree is wiped.
 */
int isc_parse_token_roles(const char *payload, size_t len, char **roles);

typedef struct {
    char *name; /* providerName or serviceName */
    char *uri;
} isc_service;

typedef struct {
    isc_service *items;
    size_t count;
    size_t cap;
} isc_service_map;

/**
 * Read one page of a discovery answer, appending its entries to `map` (first
 * entry of a name wins) and giving the @odata.nextLink in *next_link (or NULL).
 * INTUNE_SCEP_E_PROTOCOL when the body is not a JSON object with a "value" array.
 */
int isc_parse_discovery_page(const char *body, size_t len, isc_service_map *map, char **next_link,
                             intune_scep_error *err);
const char *isc_service_map_find(const isc_service_map *map, const char *name);
void isc_service_map_free(isc_service_map *map);
/** A comma-separated list of the names in the map (for messages). */
char *isc_service_map_names(const isc_service_map *map);

/**
 * Read a 2xx answer of a SCEP call. INTUNE_SCEP_OK only for a JSON object whose
 * "code" is the string "Success"; INTUNE_SCEP_E_REJECTED for any other string
 * code (service code and description set); INTUNE_SCEP_E_PROTOCOL otherwise.
 */
int isc_parse_scep_answer(const char *body, size_t len, intune_scep_error *err);
/**
 * Keep what a non-2xx answer says: the body, capped and on printable
 * characters, as the error's response body, and a JSON "code"/"errorDescription"
 * or Graph-style {"error":{"code","message"}} as service code (never "Success",
 * in any case) and description. Returns INTUNE_SCEP_E_PROTOCOL when the body is
 * JSON that cannot be trusted (then only the body copy is kept and `why`, may be
 * NULL, says why), else INTUNE_SCEP_OK. err may be NULL.
 */
int isc_capture_error_body(const char *body, size_t len, intune_scep_error *err, char *why, size_t why_len);

/* ---- revocation answers ---- */

typedef struct {
    char *request_context;
    char *serial_number;
    char *issuer_name;
    char *ca_configuration; /* may be NULL */
} isc_revocation_request;

struct intune_scep_revocation_requests {
    isc_revocation_request *items;
    size_t count;
};

/** Read a downloadRevocationRequests answer (entries without a requestContext or serial are refused). */
int isc_parse_revocation_requests(const char *body, size_t len, intune_scep_revocation_requests *out,
                                  intune_scep_error *err);
/** Read an uploadRevocationResults answer: OK only for {"value": true}. */
int isc_parse_revocation_upload(const char *body, size_t len, intune_scep_error *err);
void isc_revocation_requests_free(intune_scep_revocation_requests *r);

#endif
