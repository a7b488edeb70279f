/* SPDX-License-Identifier: Apache-2.0 */
/*
 * enroll.h - one SCEP enrollment: the pkiMessage read, the request validated with Intune (or the
 * static challenge), the certificate issued, recorded as withheld, Intune notified, recorded as
 * issued, and the CertRep built. Any failure before the success notification succeeded is a
 * FAILURE to the device. Every enrollment is one log line and is counted in the metrics.
 */
#ifndef INTUNE_SCEP_SERVER_ENROLL_H
#define INTUNE_SCEP_SERVER_ENROLL_H

#include <stddef.h>

struct server;

/* An HTTP answer: a malloc'ed body or a static text. */
struct answer {
    unsigned int http_status;
    const char *content_type;
    unsigned char *body; /* malloc'ed, or NULL with text */
    size_t len;
    const char *text;    /* a static text body */
};

/* Enroll the pkiMessage `msg` (`intune`: 1 on the Intune path, 0 on the static path) and fill `a`
 * with the answer (a CertRep, or an HTTP error for what is not a pkiMessage). The enrollment is
 * counted in flight while it runs (SIGTERM waits for those). */
void enroll(struct server *s, int intune, const unsigned char *msg, size_t msg_len, struct answer *a);

#endif
