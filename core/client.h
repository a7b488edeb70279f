/* SPDX-License-Identifier: Apache-2.0 */
/* client.h - the client object (client.c): settings, credential, caches, connection pool,
 * log sink */
#ifndef ISC_CLIENT_H
#define ISC_CLIENT_H

#ifdef ISC_PURE_READER
#error "a pure reader (core/parse.c, fuzz/) sees neither libcurl nor the client: see docs/architecture.md"
#endif

#include "assertion.h"
#include "cache.h"
#include "call.h"
#include "config.h"
#include "log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * The credential of a client: one kind, swapped whole by a rotation. Token
 * requests hold a reference, so a request in flight finishes with the
 * credential it started with.
 */
typedef struct isc_auth {
    int refs; /* guarded by the client's key_lock */
    int kind; /* an intune_scep_credential_kind */
    char *app_key;    /* secret */
    isc_credential cert;
    char *token_file;
    char *identity;   /* NULL: system-assigned */
    char *identity_endpoint;
    char *identity_header; /* secret */
    int identity_app_service;
} isc_auth;

/** Build a credential from validated settings (taking over its secrets); the message names the key at fault. */
int isc_auth_from_settings(isc_settings *s, isc_auth **out, isc_logger *log, intune_scep_error *err);
/** The client's current credential, with a reference (release with isc_auth_release). */
isc_auth *isc_auth_acquire(intune_scep_client *c);
void isc_auth_release(intune_scep_client *c, isc_auth *a);
/** A human name of a credential kind ("client secret", ...). */
const char *isc_credential_kind_name(int kind);

struct intune_scep_client {
    isc_settings settings;
    pthread_mutex_t key_lock; /* guards auth and its reference counts */
    isc_auth *auth;
    isc_logger log;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    struct isc_handle *pool; /* http.h */
    isc_cache tokens[2]; /* by intune_scep_resource */
    isc_cache services;
    char user_agent[160]; /* the whole "User-Agent: ..." header line */
    pid_t owner_pid;      /* the process that created it (for the message) */
    unsigned owner_fork_generation; /* isc_fork_generation() then: a child after fork() may not use it */
    intune_scep_transport_fn transport_fn; /* the opt-in transport hook; NULL: libcurl */
    void *transport_userdata;
};

/** Nonzero when `c` was created by another process (this is a child after fork()). */
int isc_client_in_other_process(const intune_scep_client *c);

int isc_client_new(const intune_scep_config *cfg, intune_scep_client **out, intune_scep_error *err);
void isc_client_free(intune_scep_client *c);
/** The argument check of a client: present, and created by this process (not a parent before fork()). */
int isc_client_usable(const intune_scep_client *c, intune_scep_error *err);
/** Replace the log sink (nothing in a child after fork()). */
void isc_client_set_log(intune_scep_client *c, intune_scep_log_fn fn, void *userdata, int min_level);
/** The kind of the credential in use (an intune_scep_credential_kind). */
int isc_client_credential_kind(intune_scep_client *c);
/** The certificate credential's expiry (Unix seconds), 0 for another kind. */
int64_t isc_client_certificate_expiry(intune_scep_client *c);
int isc_client_set_app_key(intune_scep_client *c, const char *key, intune_scep_error *err);
/** Swap the whole credential for the one `cfg` describes; cached tokens are dropped. */
int isc_client_update_credentials(intune_scep_client *c, const intune_scep_config *cfg, intune_scep_error *err);

#endif
