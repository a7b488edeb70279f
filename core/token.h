/* SPDX-License-Identifier: Apache-2.0 */
/* token.h - tokens from the identity platform for every credential kind, one cache per
 * resource (token.c), and the auth target: a fixed URL with a token */
#ifndef ISC_TOKEN_H
#define ISC_TOKEN_H

#include "cache.h"
#include "call.h"
#include "exchange.h"

/**
 * A reference to the cache entry whose value is the "Authorization: Bearer ..." header line for
 * `resource` (release with isc_cache_entry_release; the line is wiped when the last reference goes),
 * fetching a token when needed. A fresh token is had without a lock and without a copy.
 */
int isc_token_header(intune_scep_client *c, int resource, isc_call *call, int force, isc_cache_entry **header,
                     intune_scep_error *err);

/** A fixed URL with a token for `resource` (-1: none); a 401 drops the token and repeats once. */
typedef struct {
    isc_target base;
    const char *url;
    int resource;
    isc_cache_stamp stamp;
    int refusals;
    uint64_t first_refusal_at;
} isc_auth_target;
void isc_auth_target_init(isc_auth_target *t, const char *url, int resource);
/** The Authorization line's entry for `t`'s resource, NULL for none (the token part of isc_auth_target's prepare). */
int isc_auth_target_token(intune_scep_client *c, isc_call *call, isc_auth_target *t, isc_cache_entry **auth,
                          intune_scep_error *err);
/** Fetch a fresh token for `resource` now (the cached one is replaced); the call stamps its errors. */
int isc_client_fetch_token(intune_scep_client *c, int resource, intune_scep_error *err);
/** The `roles` claim of the token for `resource` (decoded, not verified), comma-separated. */
int isc_client_token_roles(intune_scep_client *c, int resource, char **roles, intune_scep_error *err);

#endif
