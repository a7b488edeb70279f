/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h - the state every part of intune-scep-server shares: its configuration, the CA, the
 * database, the metrics, the counted Intune client reference (SIGHUP swaps it), the transactions
 * being enrolled, the CRL served and the revocation worker's wake-up, and the log.
 *
 * Every mutable field is behind the lock named next to it; the rest is set at start-up, before
 * any thread but the main one runs, and only read afterwards.
 */
#ifndef INTUNE_SCEP_SERVER_SERVER_H
#define INTUNE_SCEP_SERVER_SERVER_H

#include "ca.h"
#include "scepmsg.h"

#include "intune_scep.h"

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <openssl/types.h>

struct db;
struct metrics;

/* The Intune client in use, counted: SIGHUP swaps in a new one while calls finish on the old. */
struct client_ref {
    intune_scep_client *client;
    int refs;
    int retired;
};

/* A transaction being enrolled: the same id arriving meanwhile is answered PENDING. */
struct inflight {
    char transaction_id[SCEP_MAX_TRANSACTION_ID + 1];
    struct inflight *next;
};

struct server {
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *prov_default, *prov_legacy;
    struct ca ca;
    struct db *db;
    pthread_mutex_t client_lock;
    struct client_ref *cref;
    const char *config_path;  /* re-read on SIGHUP for the credential */
    struct metrics *metrics;
    char issuer_name[512];    /* the CA's name as success notifications send it */
    /* revocation and the CRL */
    int revocation_interval;  /* seconds between runs; 0: only on demand */
    int revocation_batch;     /* requests per download (1-100) */
    long crl_next_update;     /* seconds from thisUpdate to nextUpdate */
    char *crl_path;           /* HTTP path of the CRL */
    char *crl_file;           /* optional file the CRL is written to */
    pthread_mutex_t revocation_lock; /* one run at a time in this process */
    pthread_mutex_t crl_build_lock; /* one CRL built and written at a time */
    pthread_mutex_t crl_lock;       /* the CRL served */
    unsigned char *crl_der;
    size_t crl_len;
    time_t crl_this_update;
    long long crl_number;
    pthread_mutex_t worker_lock;
    pthread_cond_t worker_cond;
    int worker_stop, worker_trigger;
    /* enrollments in flight (SIGTERM waits for them) */
    pthread_mutex_t active_lock;
    int active;
    int draining; /* SIGTERM came: /health says 503 so load balancers stop sending (under active_lock) */
    char *intune_path;       /* every request here is Intune's */
    char *static_path;       /* optional: a static challenge for devices outside Intune */
    char *static_challenge;
    char *ca_configuration;  /* optional, sent in success notifications */
    char *certificate_authority;
    pthread_mutex_t log_lock;
    pthread_mutex_t inflight_lock; /* transactions being enrolled right now */
    struct inflight *inflight;
};

/* Zero `s` and initialise its locks and condition variable. */
void server_init(struct server *s);

/* Free what `s` holds (the Intune client, the CRL, the configured strings, the metrics, the
 * database, the CA, the OpenSSL context) and destroy its locks. Every thread but the caller has
 * stopped. */
void server_free(struct server *s);

/* Claim `tid` with `slot` (the caller's, kept until inflight_release): 1 when this thread enrolls
 * it, 0 when another thread already does. */
int inflight_claim(struct server *s, const char *tid, struct inflight *slot);

/* Release a claim inflight_claim made with `slot`. */
void inflight_release(struct server *s, struct inflight *slot);

/* The Intune client for one call, counted; give it back with client_put. */
struct client_ref *client_get(struct server *s);

/* Give back a client client_get handed out (NULL: nothing); a retired client is freed after its last call. */
void client_put(struct server *s, struct client_ref *r);

/* Make `c` the client of every new call; the old one is freed after its last call. 0, or -1 when
 * out of memory (then `c` stays the caller's). */
int client_swap(struct server *s, intune_scep_client *c);

/* One log line on stderr: a UTC timestamp, then the formatted text. Lines never interleave. */
__attribute__((format(printf, 2, 3))) void log_line(struct server *s, const char *fmt, ...);

/* The library's log callback (userdata: the server): its messages as "library level=N" log lines. */
void library_log(void *userdata, int level, const char *message);

/* Milliseconds of the monotonic clock. */
long long now_ms(void);

/* Count one Intune call in the metrics: its status, Intune's code and its time since `start` (now_ms). */
void count_call(struct server *s, const char *call, int rc, intune_scep_error *err, long long start);

#endif
