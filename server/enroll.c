/* SPDX-License-Identifier: Apache-2.0 */
/*
 * enroll.c - one SCEP enrollment with Intune in the loop: validate with Intune (or the static
 * challenge) -> issue -> record as withheld -> success notification -> record as issued -> CertRep.
 * Only Intune's Success issues; a failed success notification withholds the certificate; an
 * issuance error after a successful validation sends a failure notification with an HRESULT.
 */
#include "enroll.h"

#include "ca.h"
#include "certfmt.h"
#include "db.h"
#include "metrics.h"
#include "scepmsg.h"
#include "server.h"

#include "intune_scep.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

/* What one enrollment did: the fields of its log line. */
struct outcome {
    const char *result;         /* issued, rejected, withheld, failed, repeated, refused */
    char detail[256];
    char subject[512];
    char activity_id[64];
    char serial[80];
};

/* The CertRep of `req` with `status` (and `fail_info`, or `cert`) into `a`; 500 when it cannot be built. */
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

/* The CSR's challengePassword into `buf`: its length, or -1 when it has none, several, or one of another type. */
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

/* Tell Intune the issuance of a validated request failed; a failed notification is added to the detail. */
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

/* One enrollment, its log line and its metrics. */
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

void enroll(struct server *s, int intune, const unsigned char *msg, size_t msg_len, struct answer *a) {
    pthread_mutex_lock(&s->active_lock);
    s->active++;
    pthread_mutex_unlock(&s->active_lock);
    enroll_one(s, intune, msg, msg_len, a);
    pthread_mutex_lock(&s->active_lock);
    s->active--;
    pthread_mutex_unlock(&s->active_lock);
}
