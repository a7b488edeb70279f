/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db_pg.c - the issued-certificate database over PostgreSQL (libpq), for several
 * server processes sharing one database. The same table as the SQLite backend
 * (db.c) plus `seq`, a BIGSERIAL standing for SQLite's rowid (the order of inserts).
 * One connection per process behind a mutex; a broken connection is reset once per call.
 */
#include "db_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

/* Advisory lock keys (pg_advisory_lock's bigint space): the schema's creation, the revocation worker. */
#define LOCK_SCHEMA 0x696e74756e650001LL
#define LOCK_REVOCATION 0x696e74756e650002LL

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS certificates ("
    " serial TEXT PRIMARY KEY,"
    " transaction_id TEXT NOT NULL,"
    " activity_id TEXT,"
    " subject TEXT NOT NULL,"
    " thumbprint TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('issued','withheld','revoked')),"
    " not_before TEXT NOT NULL,"
    " not_after TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " csr_sha256 TEXT NOT NULL,"
    " cert_der BYTEA NOT NULL,"
    " renews_serial TEXT,"
    " revoked_at TEXT,"
    " revocation_context TEXT,"
    " seq BIGSERIAL);"
    "CREATE INDEX IF NOT EXISTS certificates_transaction ON certificates(transaction_id);";

static void now_iso(char *buf, size_t cap) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int ok_status(PGresult *r) {
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Run a statement; on a broken connection reset it and run it once more. The result or NULL. */
static PGresult *exec(PGconn *c, const char *sql, int n, const char *const *values, const int *lengths,
                      const int *formats) {
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *r = PQexecParams(c, sql, n, NULL, values, lengths, formats, 0);
        if (r != NULL && ok_status(r)) return r;
        PQclear(r);
        if (PQstatus(c) == CONNECTION_OK || attempt == 1) return NULL;
        PQreset(c);
    }
    return NULL;
}

/* A statement without parameters (several separated by ';' allowed), reset once like exec(). */
static int command(PGconn *c, const char *sql) {
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *r = PQexec(c, sql);
        int ok = r != NULL && ok_status(r);
        PQclear(r);
        if (ok) return 0;
        if (PQstatus(c) == CONNECTION_OK || attempt == 1) return -1;
        PQreset(c);
    }
    return -1;
}

PGconn *pg_open(const char *conninfo, char *msg, size_t cap) {
    PGconn *c = PQconnectdb(conninfo);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        /* libpq's message names the host and the problem, never the password */
        snprintf(msg, cap, "DB_CONNINFO: cannot connect to PostgreSQL: %s",
                 c != NULL ? PQerrorMessage(c) : "out of memory");
        for (char *p = msg; *p; p++)
            if (*p == '\n') *p = ' ';
        PQfinish(c);
        return NULL;
    }
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%lld)", LOCK_SCHEMA);
    int rc = command(c, "SET client_min_messages = warning");
    if (rc == 0) rc = command(c, lock);
    if (rc == 0) {
        rc = command(c, SCHEMA);
        if (rc != 0) snprintf(msg, cap, "DB_CONNINFO: cannot create the table: %s", PQerrorMessage(c));
        snprintf(lock, sizeof lock, "SELECT pg_advisory_unlock(%lld)", LOCK_SCHEMA);
        command(c, lock);
    } else {
        snprintf(msg, cap, "DB_CONNINFO: cannot lock the schema: %s", PQerrorMessage(c));
    }
    if (rc != 0) {
        for (char *p = msg; *p; p++)
            if (*p == '\n') *p = ' ';
        PQfinish(c);
        return NULL;
    }
    return c;
}

void pg_close(PGconn *c) { PQfinish(c); }

int pg_insert(PGconn *c, const char *serial, const char *transaction_id, const char *activity_id, const char *subject,
              const char *thumbprint, const char *status, const char *not_before, const char *not_after,
              const unsigned char *der, size_t der_len, const char *csr_sha256, const char *renews_serial) {
    char now[32];
    now_iso(now, sizeof now);
    const char *v[13] = {serial, transaction_id, activity_id, subject, thumbprint, status, not_before, not_after,
                         now, now, csr_sha256, (const char *)der, renews_serial};
    int len[13] = {0};
    int fmt[13] = {0};
    len[11] = (int)der_len;
    fmt[11] = 1;
    PGresult *r = exec(c,
                       "INSERT INTO certificates (serial, transaction_id, activity_id, subject, thumbprint, status,"
                       " not_before, not_after, created_at, updated_at, csr_sha256, cert_der, renews_serial)"
                       " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                       13, v, len, fmt);
    PQclear(r);
    return r != NULL ? 0 : -1;
}

int pg_set_status(PGconn *c, const char *serial, const char *status, const char *activity_id) {
    char now[32];
    now_iso(now, sizeof now);
    const char *v[4] = {status, now, activity_id, serial};
    PGresult *r = exec(c,
                       "UPDATE certificates SET status = $1, updated_at = $2, activity_id = COALESCE($3, activity_id)"
                       " WHERE serial = $4",
                       4, v, NULL, NULL);
    int ok = r != NULL && strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return ok ? 0 : -1;
}

int pg_find_transaction(PGconn *c, const char *transaction_id, struct db_record *rec) {
    const char *v[1] = {transaction_id};
    PGresult *r = exec(c,
                       "SELECT serial, status, subject, csr_sha256, cert_der FROM certificates"
                       " WHERE transaction_id = $1 ORDER BY seq DESC LIMIT 1",
                       1, v, NULL, NULL);
    if (r == NULL) return -1;
    int result = 0;
    if (PQntuples(r) == 1) {
        snprintf(rec->serial, sizeof rec->serial, "%s", PQgetvalue(r, 0, 0));
        snprintf(rec->status, sizeof rec->status, "%s", PQgetvalue(r, 0, 1));
        snprintf(rec->subject, sizeof rec->subject, "%s", PQgetvalue(r, 0, 2));
        snprintf(rec->csr_sha256, sizeof rec->csr_sha256, "%s", PQgetvalue(r, 0, 3));
        size_t n = 0;
        unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 4), &n);
        result = -1;
        if (b != NULL && n > 0 && (rec->cert_der = malloc(n)) != NULL) {
            memcpy(rec->cert_der, b, n);
            rec->cert_len = n;
            result = 1;
        }
        PQfreemem(b);
    }
    PQclear(r);
    return result;
}

int pg_revoke(PGconn *c, const char *serial, const char *context) {
    char now[32];
    now_iso(now, sizeof now);
    if (command(c, "BEGIN") != 0) return -1;
    const char *v[1] = {serial};
    PGresult *r = exec(c,
                       "SELECT status, COALESCE(revocation_context, '') FROM certificates WHERE serial = $1 FOR UPDATE",
                       1, v, NULL, NULL);
    int result = -1;
    if (r != NULL) {
        if (PQntuples(r) == 0) {
            result = DB_REVOKE_NOT_FOUND;
        } else if (strcmp(PQgetvalue(r, 0, 0), "revoked") == 0) {
            result = context != NULL && context[0] != '\0' && strcmp(PQgetvalue(r, 0, 1), context) == 0
                         ? DB_REVOKE_AGAIN
                         : DB_REVOKE_CONFLICT;
        } else {
            result = DB_REVOKE_DONE;
        }
    }
    PQclear(r);
    if (result == DB_REVOKE_DONE) {
        const char *u[4] = {now, now, context != NULL ? context : "", serial};
        r = exec(c,
                 "UPDATE certificates SET status = 'revoked', revoked_at = $1, updated_at = $2,"
                 " revocation_context = $3 WHERE serial = $4",
                 4, u, NULL, NULL);
        if (r == NULL || strcmp(PQcmdTuples(r), "1") != 0) result = -1;
        PQclear(r);
    }
    if (result < 0 || command(c, "COMMIT") != 0) {
        command(c, "ROLLBACK");
        return -1;
    }
    return result;
}

int pg_list_revoked(PGconn *c, db_revoked_cb cb, void *ctx) {
    PGresult *r = exec(c,
                       "SELECT serial, COALESCE(revoked_at, updated_at) FROM certificates WHERE status = 'revoked'"
                       " ORDER BY serial",
                       0, NULL, NULL, NULL);
    if (r == NULL) return -1;
    int result = 0;
    for (int i = 0; i < PQntuples(r) && result == 0; i++)
        if (cb(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)) != 0) result = -1;
    PQclear(r);
    return result;
}

int pg_count_status(PGconn *c, long long counts[3]) {
    static const char *const STATUS[3] = {"issued", "withheld", "revoked"};
    counts[0] = counts[1] = counts[2] = 0;
    PGresult *r = exec(c, "SELECT status, COUNT(*) FROM certificates GROUP BY status", 0, NULL, NULL, NULL);
    if (r == NULL) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        for (int j = 0; j < 3; j++)
            if (strcmp(PQgetvalue(r, i, 0), STATUS[j]) == 0) counts[j] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    PQclear(r);
    return 0;
}

int pg_ping(PGconn *c) { return command(c, "SELECT 1 FROM certificates WHERE false"); }

int pg_worker_lock(PGconn *c, int take) {
    char sql[96];
    snprintf(sql, sizeof sql, take ? "SELECT pg_try_advisory_lock(%lld)" : "SELECT pg_advisory_unlock(%lld)",
             LOCK_REVOCATION);
    PGresult *r = exec(c, sql, 0, NULL, NULL, NULL);
    int got = r != NULL && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return r == NULL ? -1 : got;
}

int pg_claim_transaction(PGconn *c, const char *transaction_id, int take) {
    /* the second key space of advisory locks (two int4), class 0x5343 ('SC'), apart from the
     * bigint keys above; the id hashed by PostgreSQL */
    const char *v[1] = {transaction_id};
    PGresult *r = exec(c,
                       take ? "SELECT pg_try_advisory_lock(21315, hashtext($1))"
                            : "SELECT pg_advisory_unlock(21315, hashtext($1))",
                       1, v, NULL, NULL);
    int got = r != NULL && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return r == NULL ? -1 : got;
}
