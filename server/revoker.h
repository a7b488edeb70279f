/* SPDX-License-Identifier: Apache-2.0 */
/*
 * revoker.h - revocation with Intune and the CRL: one revocation run (download Intune's requests,
 * revoke in the database, publish the CRL again, upload the results), the worker thread that runs
 * it on a timer or on demand and republishes the CRL, and the CRL itself (built from the database,
 * served from memory, written atomically to CRL_FILE).
 */
#ifndef INTUNE_SCEP_SERVER_REVOKER_H
#define INTUNE_SCEP_SERVER_REVOKER_H

#include <stddef.h>

struct server;

/* What one revocation run did (its log line, and the admin endpoint's JSON). */
struct revocation_summary {
    const char *outcome; /* ok, locked, download_failed, upload_failed, database_failed */
    int requests, revoked, again, not_found, conflict, invalid;
    char detail[256];
};

/* Build the CRL from the database's revoked certificates, serve it and write CRL_FILE; logged and
 * counted. 0 on success; on failure the CRL served stays the previous one. */
int crl_refresh(struct server *s);

/* A malloc'ed copy of the CRL served (DER) and its length in `len`; NULL when there is none yet
 * or out of memory. */
unsigned char *crl_copy(struct server *s, size_t *len);

/* One run: download (at most revocation_batch), revoke, republish the CRL, upload; one run at a
 * time in this process, and in a fleet under the database's worker lock. Fills `sum`, logs it and
 * counts it. 0 when all succeeded (or another process holds the lock), -1 otherwise. */
int revocation_run(struct server *s, struct revocation_summary *sum);

/* The worker thread (arg: the server): a run every revocation_interval seconds (the first one a
 * minute after the start, or sooner when the interval is shorter), on demand (worker_poke), and
 * the CRL published again at half its validity, every 5 minutes at least. Returns NULL after
 * worker_poke(s, 0, 1). */
void *worker_main(void *arg);

/* Wake the worker: `trigger` asks for a run now, `stop` makes it return. */
void worker_poke(struct server *s, int trigger, int stop);

#endif
