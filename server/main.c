/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intune-scep-server - a SCEP server (RFC 8894) with Intune in the loop.
 *
 * Devices enroll with SCEP over HTTP or HTTPS (libmicrohttpd, a thread pool).
 * A request on the Intune path is validated with Intune before anything is
 * issued (intune_scep_validate_request); only Intune's Success issues a
 * certificate; Intune is told of the issued certificate
 * (intune_scep_send_success_notification) before the device gets it, and when
 * that notification fails the certificate is withheld. An issuance error after
 * a successful validation sends a failure notification with an HRESULT. Every
 * certificate is recorded in an SQLite database; every enrollment is one log line.
 *
 * An application over the library's public C ABI (intune_scep.h), like the CLI.
 */
#include "ca.h"
#include "db.h"
#include "metrics.h"
#include "scepmsg.h"

#include "intune_scep.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#ifndef INTUNE_SCEP_SERVER_VERSION
#define INTUNE_SCEP_SERVER_VERSION "0"
#endif

#define MAX_BODY (256 * 1024)

/* The Intune client in use, counted: SIGHUP swaps in a new one while calls finish on the old. */
struct client_ref {
    intune_scep_client *client;
    int refs;
    int retired;
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

/* A transaction being enrolled: the same id arriving meanwhile is answered PENDING. */
struct inflight {
    char transaction_id[SCEP_MAX_TRANSACTION_ID + 1];
    struct inflight *next;
};

/* Claim `tid`: 1 when this thread enrolls it, 0 when another thread already does. */
static int inflight_claim(struct server *s, const char *tid, struct inflight *slot) {
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

static void inflight_release(struct server *s, struct inflight *slot) {
    pthread_mutex_lock(&s->inflight_lock);
    for (struct inflight **i = &s->inflight; *i != NULL; i = &(*i)->next) {
        if (*i == slot) {
            *i = slot->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->inflight_lock);
}

static volatile sig_atomic_t stop_requested = 0, reload_requested = 0, revoke_requested = 0;

static void on_signal(int sig) {
    if (sig == SIGHUP)
        reload_requested = 1;
    else if (sig == SIGUSR1)
        revoke_requested = 1;
    else
        stop_requested = 1;
}

static struct client_ref *client_get(struct server *s) {
    pthread_mutex_lock(&s->client_lock);
    struct client_ref *r = s->cref;
    r->refs++;
    pthread_mutex_unlock(&s->client_lock);
    return r;
}

static void client_put(struct server *s, struct client_ref *r) {
    if (r == NULL) return;
    pthread_mutex_lock(&s->client_lock);
    int last = --r->refs == 0 && r->retired;
    pthread_mutex_unlock(&s->client_lock);
    if (last) {
        intune_scep_client_free(r->client);
        free(r);
    }
}

/* Make `c` the client of every new call; the old one is freed after its last call. */
static int client_swap(struct server *s, intune_scep_client *c) {
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

/* A serial number in the canonical form: upper-case hex without leading zeros ("0" for zero),
 * the form of intune_scep_cert_details_serial_number. */
static void serial_of(const ASN1_INTEGER *i, char *buf, size_t cap) {
    buf[0] = '\0';
    BIGNUM *bn = ASN1_INTEGER_to_BN(i, NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex != NULL) {
        const char *p = hex;
        while (*p == '0' && p[1] != '\0') p++;
        snprintf(buf, cap, "%s", p);
    }
    OPENSSL_free(hex);
    BN_free(bn);
}

/* A serial from a revocation request in the canonical form: hex digits of either case, leading zeros
 * dropped, upper-cased. -1 for anything else (empty, another character, more than 40 digits). */
static int serial_canonical(const char *in, char *buf, size_t cap) {
    if (in == NULL) return -1;
    while (*in == '0' && in[1] != '\0') in++;
    size_t n = strlen(in);
    if (n == 0 || n > 40 || n + 1 > cap) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'f') c = (char)(c - 'a' + 'A');
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return -1;
        buf[i] = c;
    }
    buf[n] = '\0';
    return 0;
}

__attribute__((format(printf, 2, 3))) static void log_line(struct server *s, const char *fmt, ...) {
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

static void library_log(void *userdata, int level, const char *message) {
    struct server *s = userdata;
    log_line(s, "library level=%d %s", level, message);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Count one Intune call: its status, Intune's code and its time. */
static void count_call(struct server *s, const char *call, int rc, intune_scep_error *err, long long start) {
    char code[64], labels[192];
    metrics_label(rc == INTUNE_SCEP_OK ? "" : intune_scep_error_service_code(err), code, sizeof code);
    snprintf(labels, sizeof labels, "call=\"%s\",status=\"%s\",code=\"%s\"", call, intune_scep_status_name(rc),
             code);
    metrics_inc(s->metrics, "intune_scep_server_intune_calls_total", labels);
    snprintf(labels, sizeof labels, "call=\"%s\"", call);
    metrics_observe(s->metrics, "intune_scep_server_intune_call_duration_seconds", labels,
                    (double)(now_ms() - start) / 1000.0);
}

/* ------------------------------------------------------------------------- */
/* One enrollment                                                             */
/* ------------------------------------------------------------------------- */

struct answer {
    unsigned int http_status;
    const char *content_type;
    unsigned char *body; /* malloc'ed, or NULL with text */
    size_t len;
    const char *text;    /* a static text body */
};

/* What one enrollment did: the fields of its log line. */
struct outcome {
    const char *result;         /* issued, rejected, withheld, failed, repeated, refused */
    char detail[256];
    char subject[512];
    char activity_id[64];
    char serial[80];
};

static void name_rfc4514(X509_NAME *name, char *buf, size_t cap) {
    buf[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL) return;
    if (X509_NAME_print_ex(b, name, 0, (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT) >= 0) {
        char *d = NULL;
        long n = BIO_get_mem_data(b, &d);
        if (n > 0) snprintf(buf, cap, "%.*s", (int)n, d);
    }
    BIO_free(b);
    for (char *p = buf; *p; p++) /* keep the log line one line with balanced quotes */
        if (*p == '"' || (unsigned char)*p < 0x20) *p = '?';
}

/* SHA-256 of the request's DER CSR: a repeated message carries the same one. */
static void sha256_hex(const unsigned char *data, size_t len, char out[65]) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void asn1_time_iso(const ASN1_TIME *t, char *buf, size_t cap) {
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, cap, "?");
}

static void certrep(struct server *s, const struct scep_request *req, int status, int fail_info, X509 *cert,
                    struct answer *a) {
    size_t len = 0;
    unsigned char *der =
        scep_build_certrep(s->libctx, req, status, fail_info, cert, s->ca.ra_cert, s->ca.ra_key, &len);
    if (der == NULL) {
        a->http_status = 500;
        a->text = "cannot build the CertRep\n";
        return;
    }
    a->http_status = 200;
    a->content_type = "application/x-pki-message";
    a->body = der;
    a->len = len;
}

static int read_challenge(X509_REQ *csr, char *buf, size_t cap) {
    int i = X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, -1);
    if (i < 0) return -1;
    X509_ATTRIBUTE *a = X509_REQ_get_attr(csr, i);
    if (X509_ATTRIBUTE_count(a) != 1) return -1;
    ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
    if (t == NULL || (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_UTF8STRING &&
                      t->type != V_ASN1_IA5STRING && t->type != V_ASN1_T61STRING))
        return -1;
    int n = ASN1_STRING_length(t->value.asn1_string);
    if (n <= 0 || (size_t)n >= cap) return -1;
    memcpy(buf, ASN1_STRING_get0_data(t->value.asn1_string), (size_t)n);
    buf[n] = '\0';
    return n;
}

/* Validity asked by the CSR through Intune's ValidityPeriod / ValidityPeriodUnits pairs, in days; 0 when none. */
static int csr_validity_days(const unsigned char *der, size_t len) {
    intune_scep_csr_info *info = NULL;
    if (intune_scep_csr_info_parse((const char *)der, len, &info, NULL) != INTUNE_SCEP_OK) return 0;
    int days = intune_scep_csr_info_validity_days(info);
    intune_scep_csr_info_free(info);
    return days;
}

static void notify_failure(struct server *s, intune_scep_client *client, const struct scep_request *req,
                           const char *csr_b64, long long hresult, const char *description, struct outcome *o) {
    intune_scep_error *err = intune_scep_error_new();
    long long t0 = now_ms();
    int rc = intune_scep_send_failure_notification(client, req->transaction_id, csr_b64, hresult, description, err);
    count_call(s, "failure_notification", rc, err, t0);
    if (rc != INTUNE_SCEP_OK) {
        size_t used = strlen(o->detail);
        snprintf(o->detail + used, sizeof o->detail - used, "; failure notification failed: %s",
                 intune_scep_status_name(rc));
    }
    intune_scep_error_free(err);
}

static void enroll_one(struct server *s, int intune, const unsigned char *msg, size_t msg_len, struct answer *a) {
    long long start = now_ms();
    struct scep_request req;
    struct scep_read_error rerr;
    struct outcome o;
    memset(&o, 0, sizeof o);
    char *csr_b64 = NULL;
    X509 *cert = NULL;
    intune_scep_error *err = NULL;
    intune_scep_cert_details *details = NULL;
    unsigned char *cert_der = NULL;
    struct db_record rec;
    memset(&rec, 0, sizeof rec);
    struct inflight slot;
    int claimed = 0;
    struct client_ref *cref = NULL;
    char renews[80] = "";
    int fleet_claimed = 0;

    if (scep_read_request(s->libctx, msg, msg_len, s->ca.ra_cert, s->ca.ra_key, &req, &rerr) != 0) {
        snprintf(o.detail, sizeof o.detail, "%s", rerr.message);
        if (rerr.fail_info < 0) {
            a->http_status = 400;
            a->text = "not a SCEP pkiMessage\n";
            o.result = "refused";
        } else {
            certrep(s, &req, SCEP_STATUS_FAILURE, rerr.fail_info, NULL, a);
            o.result = "rejected";
        }
        goto done;
    }
    if (req.csr != NULL) name_rfc4514(X509_REQ_get_subject_name(req.csr), o.subject, sizeof o.subject);

    /* One enrollment per transaction at a time: a copy arriving meanwhile (a client retrying
     * while Intune is slow) is told PENDING and polls or retries; it then gets the result. */
    if (!inflight_claim(s, req.transaction_id, &slot)) {
        snprintf(o.detail, sizeof o.detail, "the same transaction is being enrolled");
        certrep(s, &req, SCEP_STATUS_PENDING, 0, NULL, a);
        o.result = "pending";
        goto done;
    }
    claimed = 1;
    /* and across the processes of a fleet (PostgreSQL): the same transaction being enrolled by
     * another process is PENDING too */
    int fleet = db_claim_transaction(s->db, req.transaction_id, 1);
    if (fleet != 1) {
        snprintf(o.detail, sizeof o.detail, fleet == 0 ? "the same transaction is being enrolled by another process"
                                                       : "database lookup failed");
        certrep(s, &req, fleet == 0 ? SCEP_STATUS_PENDING : SCEP_STATUS_FAILURE, fleet == 0 ? 0 : SCEP_FAIL_BADREQUEST,
                NULL, a);
        o.result = fleet == 0 ? "pending" : "failed";
        goto done;
    }
    fleet_claimed = 1;
    cref = client_get(s);

    /* A transaction id seen before with the same request gets the same answer (a client repeating
     * its message or polling); the same id with another request is a new enrollment (a client that
     * derives its transaction id from its key, renewing with that key). */
    char csr_hash[65] = "";
    if (req.csr != NULL) sha256_hex(req.inner, req.inner_len, csr_hash);
    int found = db_find_transaction(s->db, req.transaction_id, &rec);
    if (found < 0) {
        snprintf(o.detail, sizeof o.detail, "database lookup failed");
        certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
        o.result = "failed";
        goto done;
    }
    if (found == 1 && req.csr != NULL && strcmp(csr_hash, rec.csr_sha256) != 0) found = 0;
    if (req.message_type == SCEP_MSG_CERTPOLL || found == 1) {
        o.result = "repeated";
        snprintf(o.serial, sizeof o.serial, "%s", rec.serial);
        if (found == 0) {
            snprintf(o.detail, sizeof o.detail, "poll for an unknown transaction");
            certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADCERTID, NULL, a);
        } else if (strcmp(rec.status, "issued") != 0) {
            snprintf(o.detail, sizeof o.detail, "transaction's certificate is %s", rec.status);
            certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
        } else {
            const unsigned char *p = rec.cert_der;
            cert = d2i_X509(NULL, &p, (long)rec.cert_len);
            if (cert == NULL) {
                snprintf(o.detail, sizeof o.detail, "stored certificate unreadable");
                certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
            } else {
                snprintf(o.detail, sizeof o.detail, "certificate of this transaction sent again");
                certrep(s, &req, SCEP_STATUS_SUCCESS, 0, cert, a);
            }
        }
        goto done;
    }

    if (req.message_type == SCEP_MSG_RENEWALREQ) {
        /* a renewal is signed with the certificate it renews: one of ours, still valid */
        if (!ca_issued_by_us(&s->ca, req.signer) || X509_cmp_current_time(X509_get0_notAfter(req.signer)) <= 0) {
            snprintf(o.detail, sizeof o.detail, "renewal not signed by a valid certificate of this CA");
            certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADMESSAGECHECK, NULL, a);
            o.result = "rejected";
            goto done;
        }
        serial_of(X509_get0_serialNumber(req.signer), renews, sizeof renews);
    }

    err = intune_scep_error_new();
    if (err == NULL || intune_scep_csr_to_base64_der((const char *)req.inner, req.inner_len, &csr_b64, err) != 0) {
        snprintf(o.detail, sizeof o.detail, "the request cannot be encoded");
        certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
        o.result = "rejected";
        goto done;
    }

    if (intune) {
        long long t0 = now_ms();
        int rc = intune_scep_validate_request(cref->client, req.transaction_id, csr_b64, err);
        count_call(s, "validate_request", rc, err, t0);
        const char *act = intune_scep_error_activity_id(err);
        snprintf(o.activity_id, sizeof o.activity_id, "%s", act != NULL ? act : "");
        if (rc != INTUNE_SCEP_OK) {
            const char *code = intune_scep_error_service_code(err);
            long http = intune_scep_error_http_status(err);
            long aadsts = intune_scep_error_aadsts_code(err);
            char sts[32] = "";
            if (aadsts != 0) snprintf(sts, sizeof sts, " aadsts=%ld", aadsts);
            snprintf(o.detail, sizeof o.detail, "validation %s%s%s%s http=%ld", intune_scep_status_name(rc),
                     code != NULL ? " code=" : "", code != NULL ? code : "", sts, http);
            certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
            o.result = "rejected";
            goto done;
        }
    } else {
        char challenge[256];
        int n = read_challenge(req.csr, challenge, sizeof challenge);
        size_t want = strlen(s->static_challenge);
        int ok = n > 0 && (size_t)n == want && CRYPTO_memcmp(challenge, s->static_challenge, want) == 0;
        OPENSSL_cleanse(challenge, sizeof challenge);
        /* renewals too: a certificate of this CA (maybe one Intune approved) is no licence to ask,
         * without Intune and without the challenge, for whatever a new request holds */
        if (!ok) {
            snprintf(o.detail, sizeof o.detail, "static challenge missing or wrong");
            certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
            o.result = "rejected";
            goto done;
        }
    }

    /* Validated: issue. */
    struct ca_issue_error ierr;
    memset(&ierr, 0, sizeof ierr);
    cert = ca_issue(&s->ca, req.csr, csr_validity_days(req.inner, req.inner_len), &ierr);
    int cert_len = 0;
    if (cert != NULL && ((cert_len = i2d_X509(cert, &cert_der)) <= 0 ||
                         intune_scep_cert_details_from_cert((const char *)cert_der, (size_t)cert_len, &details,
                                                            err) != INTUNE_SCEP_OK)) {
        ierr.hresult = 0x80004005LL;
        snprintf(ierr.message, sizeof ierr.message, "cannot encode the issued certificate");
        X509_free(cert);
        cert = NULL;
    }
    if (cert == NULL) {
        snprintf(o.detail, sizeof o.detail, "issuance failed: %s (hresult 0x%llX)", ierr.message,
                 (unsigned long long)ierr.hresult);
        if (intune) notify_failure(s, cref->client, &req, csr_b64, ierr.hresult, ierr.message, &o);
        certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
        o.result = "failed";
        goto done;
    }
    snprintf(o.serial, sizeof o.serial, "%s", intune_scep_cert_details_serial_number(details));
    char not_before[32], not_after[32];
    asn1_time_iso(X509_get0_notBefore(cert), not_before, sizeof not_before);
    asn1_time_iso(X509_get0_notAfter(cert), not_after, sizeof not_after);
    /* Recorded as withheld until the device may have it. */
    if (db_insert(s->db, o.serial, req.transaction_id, o.activity_id[0] ? o.activity_id : NULL, o.subject,
                  intune_scep_cert_details_thumbprint(details), "withheld", not_before, not_after, cert_der,
                  (size_t)cert_len, csr_hash, renews[0] ? renews : NULL) != 0) {
        snprintf(o.detail, sizeof o.detail, "recording the certificate failed");
        if (intune) notify_failure(s, cref->client, &req, csr_b64, 0x80004005LL, "the CA could not record the certificate", &o);
        certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
        o.result = "failed";
        goto done;
    }
    if (intune) {
        long long t0 = now_ms();
        int rc = intune_scep_send_success_notification(
            cref->client, req.transaction_id, csr_b64, intune_scep_cert_details_thumbprint(details),
            intune_scep_cert_details_serial_number(details), intune_scep_cert_details_expiration_date(details),
            intune_scep_cert_details_issuing_authority(details), s->ca_configuration, s->certificate_authority, err);
        count_call(s, "success_notification", rc, err, t0);
        const char *act = intune_scep_error_activity_id(err);
        if (rc != INTUNE_SCEP_OK) {
            const char *code = intune_scep_error_service_code(err);
            snprintf(o.detail, sizeof o.detail, "success notification %s%s%s http=%ld notify_activity_id=%s",
                     intune_scep_status_name(rc), code != NULL ? " code=" : "", code != NULL ? code : "",
                     intune_scep_error_http_status(err), act != NULL ? act : "");
            certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
            o.result = "withheld";
            goto done;
        }
        snprintf(o.detail, sizeof o.detail, "notify_activity_id=%s", act != NULL ? act : "");
    }
    if (db_set_status(s->db, o.serial, "issued", NULL) != 0) {
        snprintf(o.detail, sizeof o.detail, "recording the certificate as issued failed");
        certrep(s, &req, SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST, NULL, a);
        o.result = "withheld";
        goto done;
    }
    certrep(s, &req, SCEP_STATUS_SUCCESS, 0, cert, a);
    o.result = a->http_status == 200 ? "issued" : "failed";

done:
    /* one line, space-separated fields: nothing from the request may add a field or a line */
    for (char *p = req.transaction_id; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '\\') *p = '?';
    for (char *p = o.detail; *p; p++)
        if (*p == '"' || (unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) *p = '?';
    log_line(s,
             "enrollment path=%s type=%s transaction_id=%s activity_id=%s subject=\"%s\" outcome=%s serial=%s "
             "ms=%lld detail=\"%s\"",
             intune ? "intune" : "static", scep_msg_type_name(req.message_type),
             req.transaction_id[0] ? req.transaction_id : "-", o.activity_id[0] ? o.activity_id : "-", o.subject,
             o.result, o.serial[0] ? o.serial : "-", now_ms() - start, o.detail);
    {
        char labels[96];
        snprintf(labels, sizeof labels, "path=\"%s\",outcome=\"%s\"", intune ? "intune" : "static", o.result);
        metrics_inc(s->metrics, "intune_scep_server_enrollments_total", labels);
        metrics_observe(s->metrics, "intune_scep_server_enrollment_duration_seconds", "",
                        (double)(now_ms() - start) / 1000.0);
    }
    client_put(s, cref);
    if (fleet_claimed) db_claim_transaction(s->db, req.transaction_id, 0);
    if (claimed) inflight_release(s, &slot);
    free(rec.cert_der);
    OPENSSL_free(cert_der);
    intune_scep_cert_details_free(details);
    intune_scep_string_free(csr_b64);
    intune_scep_error_free(err);
    X509_free(cert);
    scep_request_clear(&req);
}

/* One enrollment, counted in flight (SIGTERM waits for those). */
static void enroll(struct server *s, int intune, const unsigned char *msg, size_t msg_len, struct answer *a) {
    pthread_mutex_lock(&s->active_lock);
    s->active++;
    pthread_mutex_unlock(&s->active_lock);
    enroll_one(s, intune, msg, msg_len, a);
    pthread_mutex_lock(&s->active_lock);
    s->active--;
    pthread_mutex_unlock(&s->active_lock);
}

/* ------------------------------------------------------------------------- */
/* The CRL and the revocation worker                                          */
/* ------------------------------------------------------------------------- */

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

/* Build the CRL from the database's revoked certificates, serve it and write CRL_FILE. 0 on success. */
static int crl_refresh_locked(struct server *s);

static int crl_refresh(struct server *s) {
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

struct revocation_summary {
    const char *outcome; /* ok, download_failed, upload_failed, database_failed */
    int requests, revoked, again, not_found, conflict, invalid;
    char detail[256];
};

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

/* One run: download (at most revocation_batch), revoke, republish the CRL, upload. 0 when all succeeded. */
static int revocation_run(struct server *s, struct revocation_summary *sum) {
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

/* The worker: a run every revocation_interval seconds (the first one a minute after the start, or
 * sooner when the interval is shorter), on demand (SIGUSR1, the admin endpoint), and the CRL
 * published again at half its validity. */
static void *worker_main(void *arg) {
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

static void worker_poke(struct server *s, int trigger, int stop) {
    pthread_mutex_lock(&s->worker_lock);
    if (trigger) s->worker_trigger = 1;
    if (stop) s->worker_stop = 1;
    pthread_cond_signal(&s->worker_cond);
    pthread_mutex_unlock(&s->worker_lock);
}

/* ------------------------------------------------------------------------- */
/* HTTP                                                                       */
/* ------------------------------------------------------------------------- */

/* Every digest the reader accepts is listed. strongSwan 5.9.8's pki tests its capability bits with
 * the wrong masks (AES is read from the SHA-384 bit, SHA-256 from DES3), so the full list is also
 * what lets it enroll with its defaults. */
static const char CA_CAPS[] =
    "AES\nDES3\nPOSTPKIOperation\nRenewal\nSCEPStandard\nSHA-1\nSHA-224\nSHA-256\nSHA-384\nSHA-512\n";

struct upload {
    unsigned char *data;
    size_t len;
    int too_large;
};

static enum MHD_Result send_answer(struct MHD_Connection *conn, struct answer *a) {
    struct MHD_Response *r;
    if (a->body != NULL) {
        r = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
        a->body = NULL;
    } else {
        const char *t = a->text != NULL ? a->text : "";
        r = MHD_create_response_from_buffer(strlen(t), (void *)t, MHD_RESPMEM_PERSISTENT);
        if (a->content_type == NULL) a->content_type = "text/plain";
    }
    if (r == NULL) return MHD_NO;
    if (a->content_type != NULL) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    enum MHD_Result ret = MHD_queue_response(conn, a->http_status, r);
    MHD_destroy_response(r);
    return ret;
}

/* 1 when the server can issue: the CA key is loaded and the database answers. */
static int ready(struct server *s) {
    pthread_mutex_lock(&s->active_lock);
    int draining = s->draining;
    pthread_mutex_unlock(&s->active_lock);
    int ok = !draining && s->ca.key != NULL && db_ping(s->db) == 0;
    metrics_set(s->metrics, "intune_scep_server_ready", "", ok);
    return ok;
}

/* GET of the CRL (DER, application/pkix-crl) or /health, on every port. */
static enum MHD_Result serve_common(struct server *s, struct MHD_Connection *conn, const char *url) {
    struct answer a = {503, NULL, NULL, 0, "not ready\n"};
    if (strcmp(url, "/health") == 0) {
        if (ready(s)) {
            a.http_status = 200;
            a.text = "ready\n";
        }
        return send_answer(conn, &a);
    }
    pthread_mutex_lock(&s->crl_lock);
    if (s->crl_der != NULL && (a.body = malloc(s->crl_len)) != NULL) {
        memcpy(a.body, s->crl_der, s->crl_len);
        a.len = s->crl_len;
        a.http_status = 200;
        a.content_type = "application/pkix-crl";
    }
    pthread_mutex_unlock(&s->crl_lock);
    if (a.body == NULL) a.text = "no CRL\n";
    return send_answer(conn, &a);
}

/* The admin port: /health, /metrics, POST /revocations/run (one run now, its summary as JSON). */
static enum MHD_Result handle_admin(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                    const char *version, const char *upload_data, size_t *upload_data_size,
                                    void **con_cls) {
    (void)version;
    (void)upload_data;
    struct server *s = cls;
    if (*con_cls == NULL) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    *con_cls = NULL;
    struct answer a = {404, NULL, NULL, 0, "not found\n"};
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0, post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (get && strcmp(url, "/health") == 0) return serve_common(s, conn, url);
    if (get && strcmp(url, "/metrics") == 0) {
        long long counts[3];
        static const char *const STATUS[3] = {"issued", "withheld", "revoked"};
        if (db_count_status(s->db, counts) == 0) {
            for (int i = 0; i < 3; i++) {
                char label[32];
                snprintf(label, sizeof label, "status=\"%s\"", STATUS[i]);
                metrics_set(s->metrics, "intune_scep_server_certificates", label, (double)counts[i]);
            }
        }
        ready(s);
        char *text = metrics_render(s->metrics, &a.len);
        if (text == NULL) return MHD_NO;
        a.body = (unsigned char *)text;
        a.http_status = 200;
        a.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return send_answer(conn, &a);
    }
    if (post && strcmp(url, "/revocations/run") == 0) {
        struct revocation_summary sum;
        int rc = revocation_run(s, &sum);
        char *json = malloc(512);
        if (json == NULL) return MHD_NO;
        snprintf(json, 512,
                 "{\"outcome\":\"%s\",\"requests\":%d,\"revoked\":%d,\"again\":%d,\"not_found\":%d,"
                 "\"conflict\":%d,\"invalid\":%d}\n",
                 sum.outcome, sum.requests, sum.revoked, sum.again, sum.not_found, sum.conflict, sum.invalid);
        a.body = (unsigned char *)json;
        a.len = strlen(json);
        a.http_status = rc == 0 ? 200 : 502;
        a.content_type = "application/json";
        return send_answer(conn, &a);
    }
    if ((get || post) && (strcmp(url, "/revocations/run") == 0 || strcmp(url, "/metrics") == 0)) {
        a.http_status = 405;
        a.text = "method not allowed\n";
    }
    return send_answer(conn, &a);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls) {
    (void)version;
    struct server *s = cls;
    int is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (*con_cls == NULL) {
        struct upload *u = calloc(1, sizeof *u);
        if (u == NULL) return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    struct upload *u = *con_cls;
    if (*upload_data_size > 0) {
        if (!is_post) { /* a body on another method is read and dropped (the answer is 405) */
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (u->len + *upload_data_size > MAX_BODY) {
            u->too_large = 1;
        } else if (!u->too_large) {
            unsigned char *n = realloc(u->data, u->len + *upload_data_size);
            if (n == NULL) return MHD_NO;
            memcpy(n + u->len, upload_data, *upload_data_size);
            u->data = n;
            u->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    struct answer a = {404, NULL, NULL, 0, "not found\n"};
    int intune = strcmp(url, s->intune_path) == 0;
    int is_static = s->static_path != NULL && strcmp(url, s->static_path) == 0;
    if (!intune && !is_static && strcmp(method, MHD_HTTP_METHOD_GET) == 0 &&
        (strcmp(url, s->crl_path) == 0 || strcmp(url, "/health") == 0))
        return serve_common(s, conn, url);
    if (!intune && !is_static) return send_answer(conn, &a);
    if (!is_post && strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        a.http_status = 405;
        a.text = "method not allowed\n";
        return send_answer(conn, &a);
    }
    const char *op = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "operation");
    if (op == NULL) {
        a.http_status = 400;
        a.text = "operation missing\n";
    } else if (strcmp(op, "GetCACaps") == 0) {
        a.http_status = 200;
        a.text = CA_CAPS;
        a.content_type = "text/plain";
    } else if (strcmp(op, "GetCACert") == 0) {
        a.http_status = 200;
        a.content_type = s->ca.getcacert_type;
        a.body = malloc(s->ca.getcacert_len);
        if (a.body == NULL) return MHD_NO;
        memcpy(a.body, s->ca.getcacert, s->ca.getcacert_len);
        a.len = s->ca.getcacert_len;
    } else if (strcmp(op, "PKIOperation") == 0) {
        if (is_post) {
            if (u->too_large) {
                a.http_status = 413;
                a.text = "message too large\n";
            } else {
                enroll(s, intune, u->data, u->len, &a);
            }
        } else {
            const char *m = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "message");
            size_t len = 0;
            unsigned char *der = m != NULL ? scep_decode_get_message(m, &len) : NULL;
            if (der == NULL) {
                a.http_status = 400;
                a.text = "message missing or not base64\n";
            } else {
                enroll(s, intune, der, len, &a);
                free(der);
            }
        }
    } else {
        a.http_status = 400;
        a.text = "unknown operation\n";
    }
    return send_answer(conn, &a);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    struct upload *u = *con_cls;
    if (u != NULL) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------------- */
/* Configuration and start                                                    */
/* ------------------------------------------------------------------------- */

/* A new Intune client from the library's keys of `all`; on failure `msg` says why. A key whose
 * value the library refuses fails the whole client: leaving it unset could fall back to a default
 * (TLS_CA_FILE unset means the system's trust store). */
static int new_client(struct server *s, intune_scep_config *all, intune_scep_client **out, intune_scep_error *err,
                      char *msg, size_t msglen) {
    intune_scep_config *lib = intune_scep_config_new();
    if (lib == NULL) {
        snprintf(msg, msglen, "out of memory");
        return INTUNE_SCEP_E_NOMEM;
    }
    /* The library's keys, from its own table (intune_scep_config_key_name). */
    for (size_t i = 0; i < intune_scep_config_key_count(); i++) {
        const char *key = intune_scep_config_key_name(i);
        const char *v = intune_scep_config_get(all, key);
        int rc = v != NULL ? intune_scep_config_set(lib, key, v) : INTUNE_SCEP_OK;
        if (rc != INTUNE_SCEP_OK) {
            snprintf(msg, msglen, "configuration key %s: the library refused its value (%s)", key,
                     rc == INTUNE_SCEP_E_NOMEM ? "out of memory" : "not valid UTF-8, or it holds a control character");
            intune_scep_config_free(lib);
            return rc;
        }
    }
    intune_scep_config_set_log_callback(lib, library_log, s, INTUNE_SCEP_LOG_WARNING);
    int rc = intune_scep_client_new(lib, out, err);
    if (rc != INTUNE_SCEP_OK) snprintf(msg, msglen, "%s", intune_scep_error_message(err));
    intune_scep_config_free(lib);
    return rc;
}

/* SIGHUP: read the configuration file again and use its credential (and the library's other keys)
 * for every new Intune call; calls in progress finish with the old client. On an error the old
 * client stays. */
static void reload_credential(struct server *s) {
    intune_scep_config *all = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *c = NULL;
    const char *outcome = "failed";
    char detail[300] = "";
    if (all == NULL || err == NULL) {
        snprintf(detail, sizeof detail, "out of memory");
    } else if (intune_scep_config_load_file(all, s->config_path, err) != INTUNE_SCEP_OK) {
        snprintf(detail, sizeof detail, "%s", intune_scep_error_message(err));
    } else if (new_client(s, all, &c, err, detail, sizeof detail) != INTUNE_SCEP_OK) {
        /* detail says why */
    } else if (client_swap(s, c) != 0) {
        intune_scep_client_free(c);
        snprintf(detail, sizeof detail, "out of memory");
    } else {
        outcome = "ok";
    }
    for (char *p = detail; *p; p++)
        if (*p == '"' || (unsigned char)*p < 0x20) *p = '?';
    char label[32];
    snprintf(label, sizeof label, "outcome=\"%s\"", outcome);
    metrics_inc(s->metrics, "intune_scep_server_credential_reloads_total", label);
    log_line(s, "credential reload outcome=%s detail=\"%s\"", outcome, detail);
    intune_scep_error_free(err);
    intune_scep_config_free(all);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: intune-scep-server --config FILE [--http-port N] [--https-port N] [--exit-on-stdin-eof]\n"
            "       intune-scep-server --help | --version\n"
            "\n"
            "A SCEP server (RFC 8894) that validates every request on its Intune path with Microsoft\n"
            "Intune before issuing, notifies Intune of what it issued, and withholds a certificate when\n"
            "that notification fails. The configuration is a java.util.Properties file: the library's keys\n"
            "(AAD_APP_ID, AAD_APP_KEY, TENANT, PROVIDER_NAME_AND_VERSION, TLS_CA_FILE, ...) and these:\n"
            "\n"
            "  CA_CERT_FILE, CA_KEY_FILE   the issuing CA (PEM; RSA or EC)   [required]\n"
            "  CA_KEY_PASSWORD             password of CA_KEY_FILE when encrypted\n"
            "  CA_CHAIN_FILE               certificates above the issuing CA, up to the root (PEM)\n"
            "  RA_CERT_FILE, RA_KEY_FILE   the RA certificate and RSA key (default: the CA itself, if RSA)\n"
            "  DB_BACKEND                  sqlite (default) or postgresql\n"
            "  DB_PATH                     the SQLite database of issued certificates   [required with sqlite]\n"
            "  DB_CONNINFO                 libpq connection string   [required with postgresql]\n"
            "  HTTP_PORT, HTTPS_PORT       ports to listen on (0 picks one; at least one of them)\n"
            "  BIND_ADDRESS                IPv4 address to listen on (default 0.0.0.0)\n"
            "  TLS_CERT_FILE, TLS_KEY_FILE the HTTPS server's certificate chain and key (PEM)\n"
            "  THREADS                     the thread pool's size (default 4)\n"
            "  INTUNE_PATH                 the path where every request is Intune's (default /scep)\n"
            "  STATIC_PATH, STATIC_CHALLENGE  optional second path with a fixed challenge (no Intune)\n"
            "  MAX_VALIDITY_DAYS           cap of every certificate's validity (default 365)\n"
            "  DEFAULT_VALIDITY_DAYS       validity when the CSR asks none (default MAX_VALIDITY_DAYS)\n"
            "  MIN_RSA_BITS                smallest RSA key issued (default 2048)\n"
            "  CA_CONFIGURATION, CERTIFICATE_AUTHORITY  names sent in success notifications\n"
            "  REVOCATION_INTERVAL_SECONDS seconds between revocation downloads (default 3600; 0: on demand only)\n"
            "  REVOCATION_BATCH            requests per download (1-100, default 100)\n"
            "  CRL_PATH, CRL_FILE          where the CRL is served (default /crl) and written (optional)\n"
            "  CRL_NEXT_UPDATE_HOURS       the CRL's nextUpdate after its thisUpdate (default 24)\n"
            "  ADMIN_PORT, ADMIN_BIND_ADDRESS  /health, /metrics, POST /revocations/run (default 127.0.0.1)\n"
            "  STOP_TIMEOUT_SECONDS        how long SIGTERM waits for enrollments in flight (default 60)\n"
            "\n"
            "It prints one line \"listening http=PORT https=PORT\" on stdout when ready, then one log\n"
            "line per enrollment on stderr. SIGTERM or SIGINT stop it after the enrollments in flight (and\n"
            "stdin's end with --exit-on-stdin-eof); SIGHUP reloads the credential; SIGUSR1 runs the\n"
            "revocation worker now. Exit status: 0 after a stop, 2 for a usage or configuration error.\n");
}

static int parse_int(const char *v, const char *key, int lo, int hi, int *out) {
    if (v == NULL || *v == '\0') return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi) {
        fprintf(stderr, "intune-scep-server: %s must be a number from %d to %d\n", key, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static char *read_text_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = malloc(1024 * 1024 + 1);
    size_t n = buf != NULL ? fread(buf, 1, 1024 * 1024, f) : 0;
    fclose(f);
    if (buf == NULL || n == 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static char *dup_or_null(const char *v) { return v != NULL && *v != '\0' ? strdup(v) : NULL; }

static struct MHD_Daemon *start_daemon(struct server *s, const char *bind, int port, int threads, const char *tls_cert,
                                       const char *tls_key, MHD_AccessHandlerCallback handler) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind, &addr.sin_addr) != 1) {
        fprintf(stderr, "intune-scep-server: BIND_ADDRESS: not an IPv4 address: %s\n", bind);
        return NULL;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (tls_cert != NULL) flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {handler == handle ? MHD_OPTION_NOTIFY_COMPLETED : MHD_OPTION_CONNECTION_TIMEOUT,
         handler == handle ? (intptr_t)completed : 60, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
        {tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)tls_cert},
        {tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    const char *http_port_arg = NULL, *https_port_arg = NULL;
    int exit_on_eof = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("intune-scep-server %s (library %s)\n", INTUNE_SCEP_SERVER_VERSION, intune_scep_version());
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--http-port") == 0 && i + 1 < argc) {
            http_port_arg = argv[++i];
        } else if (strcmp(argv[i], "--https-port") == 0 && i + 1 < argc) {
            https_port_arg = argv[++i];
        } else if (strcmp(argv[i], "--exit-on-stdin-eof") == 0) {
            exit_on_eof = 1;
        } else {
            fprintf(stderr, "intune-scep-server: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL) {
        fprintf(stderr, "intune-scep-server: --config FILE is required\n");
        usage(stderr);
        return 2;
    }

    struct server s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.log_lock, NULL);
    pthread_mutex_init(&s.inflight_lock, NULL);
    pthread_mutex_init(&s.client_lock, NULL);
    pthread_mutex_init(&s.revocation_lock, NULL);
    pthread_mutex_init(&s.crl_lock, NULL);
    pthread_mutex_init(&s.crl_build_lock, NULL);
    pthread_mutex_init(&s.worker_lock, NULL);
    pthread_cond_init(&s.worker_cond, NULL);
    pthread_mutex_init(&s.active_lock, NULL);
    s.config_path = config_path;
    int status = 2;
    intune_scep_config *all = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    struct MHD_Daemon *http = NULL, *https = NULL, *admin = NULL;
    char *tls_cert = NULL, *tls_key = NULL;
    pthread_t worker;
    int worker_started = 0;
    intune_scep_client *client = NULL;
    s.metrics = metrics_new();
    if (all == NULL || err == NULL || s.metrics == NULL) goto out;
    if (intune_scep_config_load_file(all, config_path, err) != INTUNE_SCEP_OK) {
        fprintf(stderr, "intune-scep-server: %s\n", intune_scep_error_message(err));
        goto out;
    }
    if (http_port_arg != NULL) intune_scep_config_set(all, "HTTP_PORT", http_port_arg);
    if (https_port_arg != NULL) intune_scep_config_set(all, "HTTPS_PORT", https_port_arg);
#define GET(k) intune_scep_config_get(all, (k))
    int http_port = -1, https_port = -1, threads = 4, admin_port = -1, crl_hours = 24, stop_timeout = 60;
    s.revocation_interval = 3600;
    s.revocation_batch = 100;
    s.ca.max_validity_days = 365;
    s.ca.min_rsa_bits = 2048;
    if (parse_int(GET("HTTP_PORT"), "HTTP_PORT", 0, 65535, &http_port) != 0 ||
        parse_int(GET("HTTPS_PORT"), "HTTPS_PORT", 0, 65535, &https_port) != 0 ||
        parse_int(GET("THREADS"), "THREADS", 1, 256, &threads) != 0 ||
        parse_int(GET("MAX_VALIDITY_DAYS"), "MAX_VALIDITY_DAYS", 1, 3650, &s.ca.max_validity_days) != 0 ||
        parse_int(GET("MIN_RSA_BITS"), "MIN_RSA_BITS", 512, 16384, &s.ca.min_rsa_bits) != 0 ||
        parse_int(GET("ADMIN_PORT"), "ADMIN_PORT", 0, 65535, &admin_port) != 0 ||
        parse_int(GET("REVOCATION_INTERVAL_SECONDS"), "REVOCATION_INTERVAL_SECONDS", 0, 7 * 86400,
                  &s.revocation_interval) != 0 ||
        parse_int(GET("REVOCATION_BATCH"), "REVOCATION_BATCH", 1, 100, &s.revocation_batch) != 0 ||
        parse_int(GET("CRL_NEXT_UPDATE_HOURS"), "CRL_NEXT_UPDATE_HOURS", 1, 24 * 366, &crl_hours) != 0 ||
        parse_int(GET("STOP_TIMEOUT_SECONDS"), "STOP_TIMEOUT_SECONDS", 0, 3600, &stop_timeout) != 0)
        goto out;
    s.crl_next_update = (long)crl_hours * 3600;
    s.ca.default_validity_days = s.ca.max_validity_days;
    if (parse_int(GET("DEFAULT_VALIDITY_DAYS"), "DEFAULT_VALIDITY_DAYS", 1, s.ca.max_validity_days,
                  &s.ca.default_validity_days) != 0)
        goto out;
    if (http_port < 0 && https_port < 0) {
        fprintf(stderr, "intune-scep-server: HTTP_PORT or HTTPS_PORT is required\n");
        goto out;
    }
    if (GET("CA_CERT_FILE") == NULL || GET("CA_KEY_FILE") == NULL) {
        fprintf(stderr, "intune-scep-server: %s is required\n", GET("CA_CERT_FILE") == NULL ? "CA_CERT_FILE" : "CA_KEY_FILE");
        goto out;
    }
    const char *backend = GET("DB_BACKEND") != NULL ? GET("DB_BACKEND") : "sqlite";
    int use_pg = strcmp(backend, "postgresql") == 0;
    if (!use_pg && strcmp(backend, "sqlite") != 0) {
        fprintf(stderr, "intune-scep-server: DB_BACKEND must be sqlite or postgresql\n");
        goto out;
    }
    if (!use_pg && GET("DB_PATH") == NULL) {
        fprintf(stderr, "intune-scep-server: DB_PATH is required\n");
        goto out;
    }
    if (use_pg && GET("DB_CONNINFO") == NULL) {
        fprintf(stderr, "intune-scep-server: DB_CONNINFO is required with DB_BACKEND=postgresql\n");
        goto out;
    }
    if (https_port >= 0) {
        if (GET("TLS_CERT_FILE") == NULL || GET("TLS_KEY_FILE") == NULL) {
            fprintf(stderr, "intune-scep-server: HTTPS_PORT needs TLS_CERT_FILE and TLS_KEY_FILE\n");
            goto out;
        }
        if ((tls_cert = read_text_file(GET("TLS_CERT_FILE"))) == NULL ||
            (tls_key = read_text_file(GET("TLS_KEY_FILE"))) == NULL) {
            fprintf(stderr, "intune-scep-server: %s cannot be read\n", tls_cert == NULL ? "TLS_CERT_FILE" : "TLS_KEY_FILE");
            goto out;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fprintf(stderr, "intune-scep-server: this libmicrohttpd has no TLS support\n");
            goto out;
        }
    }
    s.intune_path = strdup(GET("INTUNE_PATH") != NULL ? GET("INTUNE_PATH") : "/scep");
    s.static_path = dup_or_null(GET("STATIC_PATH"));
    s.static_challenge = dup_or_null(GET("STATIC_CHALLENGE"));
    s.ca_configuration = dup_or_null(GET("CA_CONFIGURATION"));
    s.certificate_authority = dup_or_null(GET("CERTIFICATE_AUTHORITY"));
    s.crl_path = strdup(GET("CRL_PATH") != NULL ? GET("CRL_PATH") : "/crl");
    s.crl_file = dup_or_null(GET("CRL_FILE"));
    if (s.crl_path == NULL || s.crl_path[0] != '/' || strcmp(s.crl_path, s.intune_path) == 0 ||
        strcmp(s.crl_path, "/health") == 0 || (s.static_path != NULL && strcmp(s.crl_path, s.static_path) == 0)) {
        fprintf(stderr, "intune-scep-server: CRL_PATH must start with / and differ from INTUNE_PATH, STATIC_PATH "
                        "and /health\n");
        goto out;
    }
    if ((s.static_path == NULL) != (s.static_challenge == NULL)) {
        fprintf(stderr, "intune-scep-server: STATIC_PATH and STATIC_CHALLENGE go together\n");
        goto out;
    }
    if (s.intune_path[0] != '/' || (s.static_path != NULL && (s.static_path[0] != '/' ||
                                                              strcmp(s.static_path, s.intune_path) == 0))) {
        fprintf(stderr, "intune-scep-server: INTUNE_PATH and STATIC_PATH must be different paths starting with /\n");
        goto out;
    }

    /* The server's own library context: default provider plus legacy (DES) for envelopes. */
    s.libctx = OSSL_LIB_CTX_new();
    if (s.libctx == NULL || (s.prov_default = OSSL_PROVIDER_load(s.libctx, "default")) == NULL ||
        (s.prov_legacy = OSSL_PROVIDER_load(s.libctx, "legacy")) == NULL) {
        fprintf(stderr, "intune-scep-server: cannot load OpenSSL's default and legacy providers\n");
        goto out;
    }
    char msg[512];
    if (ca_load(&s.ca, s.libctx, GET("CA_CERT_FILE"), GET("CA_KEY_FILE"), GET("CA_KEY_PASSWORD"), GET("CA_CHAIN_FILE"),
                GET("RA_CERT_FILE"), GET("RA_KEY_FILE"), msg, sizeof msg) != 0) {
        fprintf(stderr, "intune-scep-server: %s\n", msg);
        goto out;
    }
    if ((s.db = use_pg ? db_open_postgresql(GET("DB_CONNINFO"), msg, sizeof msg)
                       : db_open(GET("DB_PATH"), msg, sizeof msg)) == NULL) {
        fprintf(stderr, "intune-scep-server: %s\n", msg);
        goto out;
    }
    if (new_client(&s, all, &client, err, msg, sizeof msg) != INTUNE_SCEP_OK) {
        fprintf(stderr, "intune-scep-server: %s\n", msg);
        goto out;
    }
    if (client_swap(&s, client) != 0) {
        intune_scep_client_free(client);
        goto out;
    }
    ca_issuer_name(&s.ca, s.issuer_name, sizeof s.issuer_name);
    if (crl_refresh(&s) != 0) {
        fprintf(stderr, "intune-scep-server: the first CRL cannot be published (CRL_FILE, DB_PATH)\n");
        goto out;
    }
    const char *bind = GET("BIND_ADDRESS") != NULL ? GET("BIND_ADDRESS") : "0.0.0.0";
    signal(SIGPIPE, SIG_IGN);
    if (http_port >= 0 && (http = start_daemon(&s, bind, http_port, threads, NULL, NULL, handle)) == NULL) {
        fprintf(stderr, "intune-scep-server: cannot listen on %s:%d\n", bind, http_port);
        goto out;
    }
    if (https_port >= 0 && (https = start_daemon(&s, bind, https_port, threads, tls_cert, tls_key, handle)) == NULL) {
        fprintf(stderr, "intune-scep-server: cannot listen with TLS on %s:%d (check TLS_CERT_FILE and TLS_KEY_FILE)\n",
                bind, https_port);
        goto out;
    }
    const char *admin_bind = GET("ADMIN_BIND_ADDRESS") != NULL ? GET("ADMIN_BIND_ADDRESS") : "127.0.0.1";
    if (admin_port >= 0 && (admin = start_daemon(&s, admin_bind, admin_port, 1, NULL, NULL, handle_admin)) == NULL) {
        fprintf(stderr, "intune-scep-server: cannot listen on %s:%d (ADMIN_PORT)\n", admin_bind, admin_port);
        goto out;
    }
    if (tls_key != NULL) OPENSSL_cleanse(tls_key, strlen(tls_key));
    if (pthread_create(&worker, NULL, worker_main, &s) != 0) {
        fprintf(stderr, "intune-scep-server: cannot start the revocation worker\n");
        goto out;
    }
    worker_started = 1;
    const union MHD_DaemonInfo *ai = admin != NULL ? MHD_get_daemon_info(admin, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    const union MHD_DaemonInfo *hi = http != NULL ? MHD_get_daemon_info(http, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    const union MHD_DaemonInfo *si = https != NULL ? MHD_get_daemon_info(https, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    printf("listening http=%d https=%d admin=%d\n", hi != NULL ? (int)hi->port : -1, si != NULL ? (int)si->port : -1,
           ai != NULL ? (int)ai->port : -1);
    fflush(stdout);
    log_line(&s, "started intune_path=%s static_path=%s threads=%d issuer=\"%s\" revocation_interval=%d", s.intune_path,
             s.static_path != NULL ? s.static_path : "-", threads, s.issuer_name, s.revocation_interval);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    while (!stop_requested) {
        if (reload_requested) {
            reload_requested = 0;
            reload_credential(&s);
        }
        if (revoke_requested) {
            revoke_requested = 0;
            worker_poke(&s, 1, 0);
        }
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        int n = poll(&pfd, exit_on_eof ? 1 : 0, 500);
        if (n > 0 && exit_on_eof) {
            char c;
            ssize_t r = read(STDIN_FILENO, &c, 1);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) break;
        }
    }
    /* Stop accepting; let the enrollments in flight finish and their answers go out. */
    log_line(&s, "stopping");
    pthread_mutex_lock(&s.active_lock);
    s.draining = 1;
    pthread_mutex_unlock(&s.active_lock);
    MHD_socket ls;
    if (http != NULL && (ls = MHD_quiesce_daemon(http)) != MHD_INVALID_SOCKET) close(ls);
    if (https != NULL && (ls = MHD_quiesce_daemon(https)) != MHD_INVALID_SOCKET) close(ls);
    long long deadline = now_ms() + (long long)stop_timeout * 1000;
    int waiting;
    do {
        pthread_mutex_lock(&s.active_lock);
        waiting = s.active;
        pthread_mutex_unlock(&s.active_lock);
        const union MHD_DaemonInfo *c1 = http != NULL ? MHD_get_daemon_info(http, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;
        const union MHD_DaemonInfo *c2 = https != NULL ? MHD_get_daemon_info(https, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;
        if (waiting == 0 && (c1 == NULL || c1->num_connections == 0) && (c2 == NULL || c2->num_connections == 0)) break;
        if (waiting == 0 && deadline > now_ms() + 2000) deadline = now_ms() + 2000; /* idle keep-alive connections */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    } while (now_ms() < deadline);
    log_line(&s, "stopped enrollments_in_flight=%d", waiting);
    status = 0;
out:
#undef GET
    if (http != NULL) MHD_stop_daemon(http);
    if (https != NULL) MHD_stop_daemon(https);
    if (admin != NULL) MHD_stop_daemon(admin);
    if (worker_started) {
        worker_poke(&s, 0, 1);
        pthread_join(worker, NULL);
    }
    if (s.cref != NULL) {
        intune_scep_client_free(s.cref->client);
        free(s.cref);
    }
    OPENSSL_free(s.crl_der);
    free(s.crl_path);
    free(s.crl_file);
    metrics_free(s.metrics);
    db_close(s.db);
    ca_free(&s.ca);
    OSSL_PROVIDER_unload(s.prov_legacy);
    OSSL_PROVIDER_unload(s.prov_default);
    OSSL_LIB_CTX_free(s.libctx);
    free(s.intune_path);
    free(s.static_path);
    if (s.static_challenge != NULL) OPENSSL_cleanse(s.static_challenge, strlen(s.static_challenge));
    free(s.static_challenge);
    free(s.ca_configuration);
    free(s.certificate_authority);
    free(tls_cert);
    if (tls_key != NULL) OPENSSL_cleanse(tls_key, strlen(tls_key));
    free(tls_key);
    intune_scep_error_free(err);
    intune_scep_config_free(all);
    pthread_mutex_destroy(&s.log_lock);
    pthread_mutex_destroy(&s.client_lock);
    pthread_mutex_destroy(&s.revocation_lock);
    pthread_mutex_destroy(&s.crl_lock);
    pthread_mutex_destroy(&s.crl_build_lock);
    pthread_mutex_destroy(&s.worker_lock);
    pthread_cond_destroy(&s.worker_cond);
    pthread_mutex_destroy(&s.active_lock);
    pthread_mutex_destroy(&s.inflight_lock);
    return status;
}
