/* SPDX-License-Identifier: Apache-2.0 */
/*
 * revoker.c - Intune's revocation requests carried out (download, revoke in the database, upload
 * the results), the worker thread that runs them, and the CRL (built, served, written).
 */
#include "revoker.h"

#include "ca.h"
#include "certfmt.h"
#include "db.h"
#include "metrics.h"
#include "server.h"

#include "intune_scep.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* The revoked certificates read from the database for one CRL. */
struct crl_list {
    struct crl_entry *e;
    size_t n, cap;
};

static int crl_collect(void *ctx, const char *serial, const char *revoked_at) {
    struct crl_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct crl_entry *e = realloc(l->e, cap * sizeof *e);
        if (e == NULL) return -1;
        l->e = e;
        l->cap = cap;
    }
    l->e[l->n].serial = strdup(serial);
    l->e[l->n].revoked_at = strdup(revoked_at);
    if (l->e[l->n].serial == NULL || l->e[l->n].revoked_at == NULL) {
        free((char *)l->e[l->n].serial);
        free((char *)l->e[l->n].revoked_at);
        return -1;
    }
    l->n++;
    return 0;
}

/* Write `len` bytes to `path` through a temporary file renamed over it (readers never see half a CRL). */
static int write_file_atomic(const char *path, const unsigned char *data, size_t len) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) return -1;
    int ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* crl_refresh under crl_build_lock. */
static int crl_refresh_locked(struct server *s);

int crl_refresh(struct server *s) {
    pthread_mutex_lock(&s->crl_build_lock);
    int rc = crl_refresh_locked(s);
    pthread_mutex_unlock(&s->crl_build_lock);
    return rc;
}

static int crl_refresh_locked(struct server *s) {
    struct crl_list l = {NULL, 0, 0};
    char msg[160] = "";
    unsigned char *der = NULL;
    size_t len = 0;
    int rc = -1;
    if (db_list_revoked(s->db, crl_collect, &l) != 0) {
        snprintf(msg, sizeof msg, "reading the revoked certificates failed");
        goto out;
    }
    time_t now = time(NULL);
    pthread_mutex_lock(&s->crl_lock);
    long long number = (long long)now > s->crl_number ? (long long)now : s->crl_number + 1;
    pthread_mutex_unlock(&s->crl_lock);
    der = ca_build_crl(&s->ca, l.e, l.n, number, now, s->crl_next_update, &len, msg, sizeof msg);
    if (der == NULL) goto out;
    if (s->crl_file != NULL && write_file_atomic(s->crl_file, der, len) != 0) {
        snprintf(msg, sizeof msg, "CRL_FILE cannot be written: %s", strerror(errno));
        goto out;
    }
    pthread_mutex_lock(&s->crl_lock);
    OPENSSL_free(s->crl_der);
    s->crl_der = der;
    s->crl_len = len;
    s->crl_this_update = now;
    s->crl_number = number;
    pthread_mutex_unlock(&s->crl_lock);
    der = NULL;
    metrics_set(s->metrics, "intune_scep_server_crl_next_update_timestamp_seconds", "",
                (double)now + (double)s->crl_next_update);
    metrics_set(s->metrics, "intune_scep_server_crl_entries", "", (double)l.n);
    log_line(s, "crl published number=%lld entries=%zu next_update_seconds=%ld", number, l.n, s->crl_next_update);
    rc = 0;
out:
    if (rc != 0) log_line(s, "crl not published: %s", msg);
    OPENSSL_free(der);
    for (size_t i = 0; i < l.n; i++) {
        free((char *)l.e[i].serial);
        free((char *)l.e[i].revoked_at);
    }
    free(l.e);
    return rc;
}

unsigned char *crl_copy(struct server *s, size_t *len) {
    pthread_mutex_lock(&s->crl_lock);
    unsigned char *der = s->crl_der != NULL ? malloc(s->crl_len) : NULL;
    if (der != NULL) {
        memcpy(der, s->crl_der, s->crl_len);
        *len = s->crl_len;
    }
    pthread_mutex_unlock(&s->crl_lock);
    return der;
}

/* The result of one revocation request; returns the error code uploaded ("0" on success). */
static const char *revoke_one(struct server *s, const intune_scep_revocation_requests *reqs, size_t i,
                              struct revocation_summary *sum, const char **message) {
    const char *issuer = intune_scep_revocation_requests_issuer_name(reqs, i);
    char serial[64];
    if (serial_canonical(intune_scep_revocation_requests_serial_number(reqs, i), serial, sizeof serial) != 0) {
        sum->invalid++;
        *message = "serial number is not hex";
        return "4002"; /* ParameterDataInvalidError */
    }
    if (issuer != NULL && issuer[0] != '\0' && strcmp(issuer, s->issuer_name) != 0) {
        sum->not_found++;
        *message = "issuer is not this CA";
        return "4004"; /* CertificateNotFoundError */
    }
    switch (db_revoke(s->db, serial, intune_scep_revocation_requests_request_context(reqs, i))) {
    case DB_REVOKE_DONE:
        sum->revoked++;
        log_line(s, "revoked serial=%s", serial);
        return "0";
    case DB_REVOKE_AGAIN:
        sum->again++;
        return "0";
    case DB_REVOKE_NOT_FOUND:
        sum->not_found++;
        *message = "no certificate with this serial number was issued by this CA";
        return "4004";
    case DB_REVOKE_CONFLICT:
        sum->conflict++;
        *message = "the certificate is already revoked";
        return "4005"; /* ConflictError */
    default:
        *message = "the CA's database failed";
        return "4100"; /* RetryableServiceException: Intune hands the request out again */
    }
}

int revocation_run(struct server *s, struct revocation_summary *sum) {
    memset(sum, 0, sizeof *sum);
    pthread_mutex_lock(&s->revocation_lock);
    struct client_ref *cref = client_get(s);
    int locked = db_worker_lock(s->db, 1);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_revocation_requests *reqs = NULL;
    intune_scep_revocation_results *results = intune_scep_revocation_results_new();
    sum->outcome = "download_failed";
    if (locked != 1) {
        /* another process of the fleet runs the worker now (or the database does not answer) */
        sum->outcome = locked == 0 ? "locked" : "database_failed";
        goto out;
    }
    if (err == NULL || results == NULL) {
        snprintf(sum->detail, sizeof sum->detail, "out of memory");
        goto out;
    }
    long long t0 = now_ms();
    int rc = intune_scep_download_revocation_requests(cref->client, s->revocation_batch, s->issuer_name, &reqs, err);
    count_call(s, "download_revocation_requests", rc, err, t0);
    if (rc != INTUNE_SCEP_OK) {
        const char *act = intune_scep_error_activity_id(err);
        snprintf(sum->detail, sizeof sum->detail, "download %s http=%ld activity_id=%s", intune_scep_status_name(rc),
                 intune_scep_error_http_status(err), act != NULL ? act : "");
        goto out;
    }
    sum->requests = (int)intune_scep_revocation_requests_count(reqs);
    int failed = 0;
    for (size_t i = 0; i < (size_t)sum->requests; i++) {
        const char *message = NULL;
        const char *code = revoke_one(s, reqs, i, sum, &message);
        char label[48];
        snprintf(label, sizeof label, "code=\"%s\"", code);
        metrics_inc(s->metrics, "intune_scep_server_revocation_results_total", label);
        if (strcmp(code, "4100") == 0) failed = 1;
        if (intune_scep_revocation_results_add(results, intune_scep_revocation_requests_request_context(reqs, i),
                                               strcmp(code, "0") == 0, code, message, err) != INTUNE_SCEP_OK) {
            failed = 1;
            snprintf(sum->detail, sizeof sum->detail, "a result cannot be added: %s", intune_scep_error_message(err));
        }
    }
    crl_refresh(s); /* also what other processes of a fleet revoked */
    if (intune_scep_revocation_results_count(results) > 0) {
        t0 = now_ms();
        rc = intune_scep_upload_revocation_results(cref->client, results, err);
        count_call(s, "upload_revocation_results", rc, err, t0);
        if (rc != INTUNE_SCEP_OK) {
            const char *act = intune_scep_error_activity_id(err);
            snprintf(sum->detail, sizeof sum->detail, "upload %s http=%ld activity_id=%s", intune_scep_status_name(rc),
                     intune_scep_error_http_status(err), act != NULL ? act : "");
            sum->outcome = "upload_failed";
            goto out;
        }
    }
    sum->outcome = failed ? "database_failed" : "ok";
    if (!failed)
        metrics_set(s->metrics, "intune_scep_server_last_revocation_success_timestamp_seconds", "",
                    (double)time(NULL));
out:
    {
        char label[48];
        snprintf(label, sizeof label, "outcome=\"%s\"", sum->outcome);
        metrics_inc(s->metrics, "intune_scep_server_revocation_runs_total", label);
    }
    for (char *p = sum->detail; *p; p++)
        if (*p == '"' || (unsigned char)*p < 0x20) *p = '?';
    log_line(s,
             "revocation run outcome=%s requests=%d revoked=%d again=%d not_found=%d conflict=%d invalid=%d "
             "detail=\"%s\"",
             sum->outcome, sum->requests, sum->revoked, sum->again, sum->not_found, sum->conflict, sum->invalid,
             sum->detail);
    intune_scep_revocation_requests_free(reqs);
    intune_scep_revocation_results_free(results);
    intune_scep_error_free(err);
    client_put(s, cref);
    if (locked == 1) db_worker_lock(s->db, 0);
    pthread_mutex_unlock(&s->revocation_lock);
    return strcmp(sum->outcome, "ok") == 0 || strcmp(sum->outcome, "locked") == 0 ? 0 : -1;
}

void *worker_main(void *arg) {
    struct server *s = arg;
    time_t start = time(NULL);
    time_t next_run = s->revocation_interval > 0
                          ? start + (s->revocation_interval < 60 ? s->revocation_interval : 60)
                          : 0;
    /* at half the CRL's validity, and every 5 minutes at least: in a fleet, another process may
     * have revoked certificates */
    long refresh = s->crl_next_update / 2 < 300 ? s->crl_next_update / 2 : 300;
    time_t next_crl = start + refresh;
    pthread_mutex_lock(&s->worker_lock);
    while (!s->worker_stop) {
        time_t now = time(NULL);
        int run = s->worker_trigger || (next_run != 0 && now >= next_run);
        int crl = now >= next_crl;
        if (!run && !crl) {
            time_t wake = next_crl;
            if (next_run != 0 && next_run < wake) wake = next_run;
            struct timespec ts = {wake, 0};
            pthread_cond_timedwait(&s->worker_cond, &s->worker_lock, &ts);
            continue;
        }
        s->worker_trigger = 0;
        pthread_mutex_unlock(&s->worker_lock);
        if (run) {
            struct revocation_summary sum;
            revocation_run(s, &sum);
            if (s->revocation_interval > 0) next_run = time(NULL) + s->revocation_interval;
        }
        if (crl) {
            crl_refresh(s);
            next_crl = time(NULL) + refresh;
        }
        pthread_mutex_lock(&s->worker_lock);
    }
    pthread_mutex_unlock(&s->worker_lock);
    return NULL;
}

void worker_poke(struct server *s, int trigger, int stop) {
    pthread_mutex_lock(&s->worker_lock);
    if (trigger) s->worker_trigger = 1;
    if (stop) s->worker_stop = 1;
    pthread_cond_signal(&s->worker_cond);
    pthread_mutex_unlock(&s->worker_lock);
}
