/* SPDX-License-Identifier: Apache-2.0 */
/* discovery.h - where Intune's services are (discovery.c): Graph discovery and the service
 * map's cache */
#ifndef ISC_DISCOVERY_H
#define ISC_DISCOVERY_H

#include "cache.h"
#include "call.h"

/** Give a copy of the URI of `service` (case-insensitive), discovering when needed. */
int isc_service_uri(intune_scep_client *c, const char *service, isc_call *call, int force, char **uri,
                    isc_cache_stamp *stamp, intune_scep_error *err);
/** Discover afresh and give a copy of `service`'s URI (free with isc_free_secret); the call stamps its errors. */
int isc_client_discover(intune_scep_client *c, const char *service, char **uri, intune_scep_error *err);
/** Set up the cache of the service map (refreshed after its lifetime, never expires). */
void isc_discovery_cache_init(isc_cache *cache);

#endif
