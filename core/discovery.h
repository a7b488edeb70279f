/* SPDX-License-Identifier: Apache-2.0 */
/* discovery.h - where Intune's services are (discovery.c): Graph discovery and the service
 * map's cache */
#ifndef ISC_DISCOVERY_H
#define ISC_DISCOVERY_H

#include "cache.h"
#include "call.h"

/**
 * The URI of `service` (case-insensitive) in *uri, borrowed from the service map that *map holds a
 * reference to (release with isc_cache_entry_release), discovering when needed. A fresh map is had
 * without a lock and the URI without a copy. A map without the service is dropped (SERVICE_NOT_FOUND).
 */
int isc_service_uri(intune_scep_client *c, const char *service, isc_call *call, int force, isc_cache_entry **map,
                    const char **uri, intune_scep_error *err);
/** Discover afresh and give a copy of `service`'s URI (free with isc_free_secret); the call stamps its errors. */
int isc_client_discover(intune_scep_client *c, const char *service, char **uri, intune_scep_error *err);

#endif
