/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db_pg.h - the PostgreSQL backend of db.h (internal to db.c): the same operations
 * on one libpq connection; the caller (db.c) serialises the calls.
 */
#ifndef INTUNE_SCEP_SERVER_DB_PG_H
#define INTUNE_SCEP_SERVER_DB_PG_H

#include "db.h"

typedef struct pg_conn PGconn;

PGconn *pg_open(const char *conninfo, char *msg, size_t cap);
void pg_close(PGconn *c);
int pg_insert(PGconn *c, const char *serial, const char *transaction_id, const char *activity_id, const char *subject,
              const char *thumbprint, const char *status, const char *not_before, const char *not_after,
              const unsigned char *der, size_t der_len, const char *csr_sha256, const char *renews_serial);
int pg_set_status(PGconn *c, const char *serial, const char *status, const char *activity_id);
int pg_find_transaction(PGconn *c, const char *transaction_id, struct db_record *rec);
int pg_revoke(PGconn *c, const char *serial, const char *context);
int pg_list_revoked(PGconn *c, db_revoked_cb cb, void *ctx);
int pg_count_status(PGconn *c, long long counts[3]);
int pg_ping(PGconn *c);
/* take=1: try to take the revocation worker's advisory lock (1 taken, 0 held elsewhere, -1 error);
 * take=0: release it. */
int pg_worker_lock(PGconn *c, int take);
/* take=1: try to take the advisory lock of `transaction_id` (1 taken, 0 held elsewhere, -1 error); 0: release. */
int pg_claim_transaction(PGconn *c, const char *transaction_id, int take);

#endif
