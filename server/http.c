/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - the HTTP handlers (libmicrohttpd): SCEP's operations on the Intune and static paths,
 * the CRL and /health on every port, and the admin port's /health, /metrics and
 * POST /revocations/run.
 */
#include "http.h"

#include "ca.h"
#include "db.h"
#include "enroll.h"
#include "metrics.h"
#include "revoker.h"
#include "scepmsg.h"
#include "server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#define MAX_BODY (256 * 1024)

/* Every digest the reader accepts is listed. strongSwan 5.9.8's pki tests its capability bits with
 * the wrong masks (AES is read from the SHA-384 bit, SHA-256 from DES3), so the full list is also
 * what lets it enroll with its defaults. */
static const char CA_CAPS[] =
    "AES\nDES3\nPOSTPKIOperation\nRenewal\nSCEPStandard\nSHA-1\nSHA-224\nSHA-256\nSHA-384\nSHA-512\n";

/* A request body being received (POST PKIOperation). */
struct upload {
    unsigned char *data;
    size_t len;
    int too_large;
};

/* Queue `a` as the answer of `conn` (its body, if any, handed to libmicrohttpd). */
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
    if ((a.body = crl_copy(s, &a.len)) != NULL) {
        a.http_status = 200;
        a.content_type = "application/pkix-crl";
    }
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

/* The SCEP ports: GetCACaps, GetCACert and PKIOperation (POST or GET) on INTUNE_PATH and STATIC_PATH. */
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

/* A request ended: free its upload. */
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

struct MHD_Daemon *start_daemon(struct server *s, const char *bind, int port, int threads, const char *tls_cert,
                                const char *tls_key, int admin) {
    MHD_AccessHandlerCallback handler = admin ? handle_admin : handle;
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
        {!admin ? MHD_OPTION_NOTIFY_COMPLETED : MHD_OPTION_CONNECTION_TIMEOUT,
         !admin ? (intptr_t)completed : 60, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
        {tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)tls_cert},
        {tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

int http_tls_supported(void) { return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES; }

int http_bound_port(struct MHD_Daemon *d) {
    const union MHD_DaemonInfo *i = d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return i != NULL ? (int)i->port : -1;
}

void http_quiesce(struct MHD_Daemon *d) {
    MHD_socket ls;
    if (d != NULL && (ls = MHD_quiesce_daemon(d)) != MHD_INVALID_SOCKET) close(ls);
}

int http_has_connections(struct MHD_Daemon *d) {
    const union MHD_DaemonInfo *i = d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;
    return i != NULL && i->num_connections != 0;
}

void http_stop(struct MHD_Daemon *d) {
    if (d != NULL) MHD_stop_daemon(d);
}
