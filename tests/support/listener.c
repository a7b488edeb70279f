/* SPDX-License-Identifier: Apache-2.0 */
/* Loopback listeners that never give a client what it expects: a TCP handshake that never
 * completes, a TLS handshake that stalls, a connection reset during the TLS handshake. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TH_MAX_HELD 256

struct th_listener {
    th_listen_kind kind;
    int fd;
    int port;
    int stop_pipe[2];
    int fillers[4];
    int held[TH_MAX_HELD];
    int nheld;
    atomic_long accepted;
    pthread_t thread;
    int has_thread;
};

static void reset_close(int fd) {
    struct linger lg = {1, 0}; /* close with RST */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void *serve(void *arg) {
    th_listener *l = arg;
    for (;;) {
        struct pollfd p[2] = {{l->fd, POLLIN, 0}, {l->stop_pipe[0], POLLIN, 0}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || (p[1].revents & POLLIN)) break;
        if (!(p[0].revents & POLLIN)) continue;
        int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        atomic_fetch_add(&l->accepted, 1);
        if (l->kind == TH_LISTEN_RESET) {
            /* Wait for the ClientHello, so that the reset cuts the TLS handshake. */
            struct pollfd q = {c, POLLIN, 0};
            if (poll(&q, 1, 2000) > 0) {
                char buf[512];
                (void)!read(c, buf, sizeof buf);
            }
            reset_close(c);
        } else if (l->nheld < TH_MAX_HELD) {
            l->held[l->nheld++] = c; /* kept open, never a byte back: the TLS handshake stalls */
        } else {
            close(c);
        }
    }
    return NULL;
}

th_listener *th_listener_start(th_listen_kind kind) {
    th_listener *l = calloc(1, sizeof *l);
    REQUIRE(l != NULL);
    l->kind = kind;
    for (int i = 0; i < 4; i++) l->fillers[i] = -1;
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(l->fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(l->fd, (struct sockaddr *)&a, sizeof a) == 0);
    /* A black hole: a backlog of 0 filled by connections nobody accepts; the kernel drops further SYNs. */
    REQUIRE(listen(l->fd, kind == TH_LISTEN_BLACKHOLE ? 0 : 64) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(l->fd, (struct sockaddr *)&a, &len) == 0);
    l->port = ntohs(a.sin_port);
    if (kind == TH_LISTEN_BLACKHOLE) {
        for (int i = 0; i < 4; i++) {
            int f = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            REQUIRE(f >= 0);
            (void)connect(f, (struct sockaddr *)&a, sizeof a);
            l->fillers[i] = f;
            th_sleep_ms(20);
        }
        return l;
    }
    REQUIRE(pipe2(l->stop_pipe, O_CLOEXEC) == 0);
    REQUIRE(pthread_create(&l->thread, NULL, serve, l) == 0);
    l->has_thread = 1;
    return l;
}

int th_listener_port(const th_listener *l) { return l->port; }

long th_listener_accepted(th_listener *l) { return atomic_load(&l->accepted); }

char *th_listener_uri(const th_listener *l, const char *path) {
    return th_strdupf("https://127.0.0.1:%d/%s", l->port, path ? path : "");
}

void th_listener_stop(th_listener *l) {
    if (!l) return;
    if (l->has_thread) {
        (void)!write(l->stop_pipe[1], "x", 1);
        pthread_join(l->thread, NULL);
        close(l->stop_pipe[0]);
        close(l->stop_pipe[1]);
    }
    for (int i = 0; i < l->nheld; i++) close(l->held[i]);
    for (int i = 0; i < 4; i++)
        if (l->fillers[i] >= 0) close(l->fillers[i]);
    close(l->fd);
    free(l);
}
