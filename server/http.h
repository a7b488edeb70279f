/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - the server's HTTP surface (libmicrohttpd): the SCEP ports (GetCACaps, GetCACert,
 * PKIOperation on the Intune and static paths; the CRL and /health) and the admin port
 * (/health, /metrics, POST /revocations/run).
 */
#ifndef INTUNE_SCEP_SERVER_HTTP_H
#define INTUNE_SCEP_SERVER_HTTP_H

struct server;
struct MHD_Daemon;

/* Start a daemon with `threads` threads listening on the IPv4 address `bind`, port `port` (0 picks
 * one), serving the SCEP ports (`admin` 0; HTTPS with the PEM `tls_cert` and `tls_key` when
 * `tls_cert` is not NULL) or the admin port (`admin` 1). NULL when it cannot start (a `bind` that
 * is not an IPv4 address is said on stderr). */
struct MHD_Daemon *start_daemon(struct server *s, const char *bind, int port, int threads, const char *tls_cert,
                                const char *tls_key, int admin);

/* 1 when this libmicrohttpd can serve HTTPS. */
int http_tls_supported(void);

/* The port `d` listens on; -1 for NULL or when libmicrohttpd cannot tell. */
int http_bound_port(struct MHD_Daemon *d);

/* Stop accepting connections on `d` (NULL: nothing); the connections it has go on. */
void http_quiesce(struct MHD_Daemon *d);

/* 1 when `d` still has connections open; 0 for NULL, none, or when libmicrohttpd cannot tell. */
int http_has_connections(struct MHD_Daemon *d);

/* Stop `d` and its threads (NULL: nothing). */
void http_stop(struct MHD_Daemon *d);

#endif
