/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c - the state the server's parts share: its life (init, free), the counted Intune
 * client reference, the claims of transactions being enrolled, the log, and the count of
 * every Intune call.
 */
#include "server.h"

#include "db.h"
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/provider.h>

void server_init(struct server *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->log_lock, NULL);
    pthread_mutex_init(&s->inflight_lock, NULL);
    pthread_mutex_init(&s->client_lock, NULL);
    pthread_mutex_init(&s->revocation_lock, NULL);
    pthread_mutex_init(&s->crl_lock, NULL);
    pthread_mutex_init(&s->crl_build_lock, NULL);
    pthread_mutex_init(&s->worker_lock, NULL);
    pthread_cond_init(&s->worker_cond, NULL);
    pthread_mutex_init(&s->active_lock, NULL);
}

void server_free(struct server *s) {
    if (s->cref != NULL) {
        intune_scep_client_free(s->cref->client);
        free(s->cref);
    }
    OPENSSL_free(s->crl_der);
    free(s->crl_path);
    free(s->crl_file);
    metrics_free(s->metrics);
    db_close(s->db);
    ca_free(&s->ca);
    OSSL_PROVIDER_unload(s->prov_legacy);
    OSSL_PROVIDER_unload(s->prov_default);
    OSSL_LIB_CTX_free(s->libctx);
    free(s->intune_path);
    free(s->static_path);
    if (s->static_challenge != NULL) OPENSSL_cleanse(s->static_challenge, strlen(s->static_challenge));
    free(s->static_challenge);
    free(s->ca_configuration);
    free(s->certificate_authority);
    pthread_mutex_destroy(&s->log_lock);
    pthread_mutex_destroy(&s->client_lock);
    pthread_mutex_destroy(&s->revocation_lock);
    pthread_mutex_destroy(&s->crl_lock);
    pthread_mutex_destroy(&s->crl_build_lock);
    pthread_mutex_destroy(&s->worker_lock);
    pthread_cond_destroy(&s->worker_cond);
    pthread_mutex_destroy(&s->active_lock);
    pthread_mutex_destroy(&s->inflight_lock);
}

int inflight_claim(struct server *s, const char *tid, struct inflight *slot) {
    pthread_mutex_lock(&s->inflight_lock);
    for (struct inflight *i = s->inflight; i != NULL; i = i->next) {
        if (strcmp(i->transaction_id, tid) == 0) {
            pthread_mutex_unlock(&s->inflight_lock);
            return 0;
        }
    }
    snprintf(slot->transaction_id, sizeof slot->transaction_id, "%s", tid);
    slot->next = s->inflight;
    s->inflight = slot;
    pthread_mutex_unlock(&s->inflight_lock);
    return 1;
}

void inflight_release(struct server *s, struct inflight *slot) {
    pthread_mutex_lock(&s->inflight_lock);
    for (struct inflight **i = &s->inflight; *i != NULL; i = &(*i)->next) {
        if (*i == slot) {
            *i = slot->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->inflight_lock);
}

struct client_ref *client_get(struct server *s) {
    pthread_mutex_lock(&s->client_lock);
    struct client_ref *r = s->cref;
    r->refs++;
    pthread_mutex_unlock(&s->client_lock);
    return r;
}

void client_put(struct server *s, struct client_ref *r) {
    if (r == NULL) return;
    pthread_mutex_lock(&s->client_lock);
    int last = --r->refs == 0 && r->retired;
    pthread_mutex_unlock(&s->client_lock);
    if (last) {
        intune_scep_client_free(r->client);
        free(r);
    }
}

int client_swap(struct server *s, intune_scep_client *c) {
    struct client_ref *r = calloc(1, sizeof *r);
    if (r == NULL) return -1;
    r->client = c;
    pthread_mutex_lock(&s->client_lock);
    struct client_ref *old = s->cref;
    s->cref = r;
    int free_old = 0;
    if (old != NULL) {
        old->retired = 1;
        free_old = old->refs == 0;
    }
    pthread_mutex_unlock(&s->client_lock);
    if (free_old) {
        intune_scep_client_free(old->client);
        free(old);
    }
    return 0;
}

void log_line(struct server *s, const char *fmt, ...) {
    char line[2048];
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->log_lock);
    fprintf(stderr, "%s %s\n", stamp, line);
    fflush(stderr);
    pthread_mutex_unlock(&s->log_lock);
}

void library_log(void *userdata, int level, const char *message) {
    struct server *s = userdata;
    log_line(s, "library level=%d %s", level, message);
}

long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void count_call(struct server *s, const char *call, int rc, intune_scep_error *err, long long start) {
    char code[64], labels[192];
    metrics_label(rc == INTUNE_SCEP_OK ? "" : intune_scep_error_service_code(err), code, sizeof code);
    snprintf(labels, sizeof labels, "call=\"%s\",status=\"%s\",code=\"%s\"", call, intune_scep_status_name(rc),
             code);
    metrics_inc(s->metrics, "intune_scep_server_intune_calls_total", labels);
    snprintf(labels, sizeof labels, "call=\"%s\"", call);
    metrics_observe(s->metrics, "intune_scep_server_intune_call_duration_seconds", labels,
                    (double)(now_ms() - start) / 1000.0);
}
