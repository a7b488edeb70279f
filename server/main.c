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
 *
 * main.c: the command line, the configuration, the credential reload (SIGHUP), the signals, and
 * the order of start-up and shutdown. The parts: server.c (shared state), enroll.c (one
 * enrollment), revoker.c (revocation and the CRL), http.c (the HTTP handlers), certfmt.c
 * (certificate fields as text), ca.c, db.c, db_pg.c, metrics.c, scepmsg.c.
 */
#include "ca.h"
#include "db.h"
#include "http.h"
#include "metrics.h"
#include "revoker.h"
#include "server.h"

#include "intune_scep.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/provider.h>

#ifndef INTUNE_SCEP_SERVER_VERSION
#define INTUNE_SCEP_SERVER_VERSION "0"
#endif

static volatile sig_atomic_t stop_requested = 0, reload_requested = 0, revoke_requested = 0;

static void on_signal(int sig) {
    if (sig == SIGHUP)
        reload_requested = 1;
    else if (sig == SIGUSR1)
        revoke_requested = 1;
    else
        stop_requested = 1;
}

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
    server_init(&s);
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
        if (!http_tls_supported()) {
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
    if (http_port >= 0 && (http = start_daemon(&s, bind, http_port, threads, NULL, NULL, 0)) == NULL) {
        fprintf(stderr, "intune-scep-server: cannot listen on %s:%d\n", bind, http_port);
        goto out;
    }
    if (https_port >= 0 && (https = start_daemon(&s, bind, https_port, threads, tls_cert, tls_key, 0)) == NULL) {
        fprintf(stderr, "intune-scep-server: cannot listen with TLS on %s:%d (check TLS_CERT_FILE and TLS_KEY_FILE)\n",
                bind, https_port);
        goto out;
    }
    const char *admin_bind = GET("ADMIN_BIND_ADDRESS") != NULL ? GET("ADMIN_BIND_ADDRESS") : "127.0.0.1";
    if (admin_port >= 0 && (admin = start_daemon(&s, admin_bind, admin_port, 1, NULL, NULL, 1)) == NULL) {
        fprintf(stderr, "intune-scep-server: cannot listen on %s:%d (ADMIN_PORT)\n", admin_bind, admin_port);
        goto out;
    }
    if (tls_key != NULL) OPENSSL_cleanse(tls_key, strlen(tls_key));
    if (pthread_create(&worker, NULL, worker_main, &s) != 0) {
        fprintf(stderr, "intune-scep-server: cannot start the revocation worker\n");
        goto out;
    }
    worker_started = 1;
    printf("listening http=%d https=%d admin=%d\n", http_bound_port(http), http_bound_port(https),
           http_bound_port(admin));
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
    http_quiesce(http);
    http_quiesce(https);
    long long deadline = now_ms() + (long long)stop_timeout * 1000;
    int waiting;
    do {
        pthread_mutex_lock(&s.active_lock);
        waiting = s.active;
        pthread_mutex_unlock(&s.active_lock);
        if (waiting == 0 && !http_has_connections(http) && !http_has_connections(https)) break;
        if (waiting == 0 && deadline > now_ms() + 2000) deadline = now_ms() + 2000; /* idle keep-alive connections */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    } while (now_ms() < deadline);
    log_line(&s, "stopped enrollments_in_flight=%d", waiting);
    status = 0;
out:
#undef GET
    http_stop(http);
    http_stop(https);
    http_stop(admin);
    if (worker_started) {
        worker_poke(&s, 0, 1);
        pthread_join(worker, NULL);
    }
    server_free(&s);
    free(tls_cert);
    if (tls_key != NULL) OPENSSL_cleanse(tls_key, strlen(tls_key));
    free(tls_key);
    intune_scep_error_free(err);
    intune_scep_config_free(all);
    return status;
}
