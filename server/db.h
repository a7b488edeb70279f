/*
 * db.h - the issued-certificate database (SQLite, WAL).
 *
 * One table, `certificates`: serial (hex, primary key), transaction id, activity
 * id, subject, thumbprint, status (issued, withheld, revoked), not_before,
 * not_after, created/updated times, the certificate (DER) and the SHA-256 of the
 * requester's public key (to answer a repeated transaction id consistently).
 * One connection guarded by a mutex: safe under the server's thread pool.
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
void db_close(struct db *db);

/* Record a certificate with `status`. 0 on success. */
int db_insert(struct db *db, const char *serial, const char *transaction_id, const char *activity_id,
              const char *subject, const char *thumbprint, const char *status, const char *not_before,
              const char *not_after, const unsigned char *der, size_t der_len, const char *csr_sha256);

/* Change the status (and the activity id when not NULL) of `serial`. 0 on success. */
int db_set_status(struct db *db, const char *serial, const char *status, const char *activity_id);

/* The newest record of `transaction_id`: 1 found (rec filled; free rec->cert_der), 0 none, -1 error. */
int db_find_transaction(struct db *db, const char *transaction_id, struct db_record *rec);

#endif
