/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db.h - the issued-certificate database (SQLite, WAL).
 *
 * One table, `certificates`: serial (hex, primary key), transaction id, activity
 * id, subject, thumbprint, status (issued, withheld, revoked), not_before,
 * not_after, created/updated times, the certificate (DER) and the SHA-256 of the
 * requester's public key (to answer a repeated transaction id consistently).
 * SQLite or PostgreSQL (db_pg.c), chosen by DB_BACKEND.
 * One connection guarded by a mutex: safe under the server's thread pool.
 * Later columns: renews_serial (the certificate a RenewalReq was signed with),
 * revoked_at and revocation_context (Intune's requestContext that revoked it).
 */
#ifndef INTUNE_SCEP_SERVER_DB_H
#define INTUNE_SCEP_SERVER_DB_H

#include <stddef.h>

struct db;

struct db_record {
    char serial[80];
    char status[16];
    char subject[512];
    char csr_sha256[65];
    unsigned char *cert_der; /* malloc'ed */
    size_t cert_len;
};

/* Open (creating) the database at `path`. NULL with `msg` filled on error. */
struct db *db_open(const char *path, char *msg, size_t msg_cap);
/* Connect to PostgreSQL with a libpq connection string (creating the table when missing). NULL with
 * `msg` filled on error (never the password). */
struct db *db_open_postgresql(const char *conninfo, char *msg, size_t msg_cap);
void db_close(struct db *db);

/* The revocation worker's lock across processes sharing the database (a PostgreSQL advisory lock):
 * take=1 tries to take it (1 taken, 0 held by another process, -1 error); take=0 releases it.
 * SQLite: always 1. */
int db_worker_lock(struct db *db, int take);

/* A transaction being enrolled, across the processes sharing the database: a PostgreSQL
 * advisory lock on hashtext() of the id (32 bits: a rare collision is a spurious PENDING).
 * take=1 claims it (1 claimed, 0 another process enrolls it now, -1 error); take=0 releases it.
 * SQLite: always 1. */
int db_claim_transaction(struct db *db, const char *transaction_id, int take);

/* Record a certificate with `status`. 0 on success. */
int db_insert(struct db *db, const char *serial, const char *transaction_id, const char *activity_id,
              const char *subject, const char *thumbprint, const char *status, const char *not_before,
              const char *not_after, const unsigned char *der, size_t der_len, const char *csr_sha256,
              const char *renews_serial);

/* Change the status (and the activity id when not NULL) of `serial`. 0 on success. */
int db_set_status(struct db *db, const char *serial, const char *status, const char *activity_id);

/* The newest record of `transaction_id`: 1 found (rec filled; free rec->cert_der), 0 none, -1 error. */
int db_find_transaction(struct db *db, const char *transaction_id, struct db_record *rec);

/* What db_revoke did. */
enum {
    DB_REVOKE_DONE = 0,      /* the certificate is now revoked */
    DB_REVOKE_NOT_FOUND = 1, /* no certificate with this serial */
    DB_REVOKE_CONFLICT = 2,  /* already revoked (by another request) */
    DB_REVOKE_AGAIN = 3,     /* already revoked by this same request context (a retried upload) */
};

/* Revoke `serial` (canonical form) for Intune's request `context`, in one transaction:
 * DB_REVOKE_* or -1 on a database error. */
int db_revoke(struct db *db, const char *serial, const char *context);

/* Called per revoked certificate with its serial and revocation time (ISO 8601 UTC); non-zero stops. */
typedef int (*db_revoked_cb)(void *ctx, const char *serial, const char *revoked_at);
/* Every revoked certificate, by serial: 0, or -1 on error. */
int db_list_revoked(struct db *db, db_revoked_cb cb, void *ctx);

/* How many certificates are issued, withheld, revoked (in that order): 0, or -1 on error. */
int db_count_status(struct db *db, long long counts[3]);

/* Whether the database answers: 0 yes, -1 no. */
int db_ping(struct db *db);

#endif
