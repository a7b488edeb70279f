/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db.c - the issued-certificate database over SQLite.
 */
#include "db.h"
#include "db_pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

struct db {
    PGconn *pg; /* PostgreSQL when set, else SQLite */
    sqlite3 *conn;
    pthread_mutex_t lock;
};

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
    " cert_der BLOB NOT NULL,"
    " renews_serial TEXT,"
    " revoked_at TEXT,"
    " revocation_context TEXT);"
    "CREATE INDEX IF NOT EXISTS certificates_transaction ON certificates(transaction_id);";

/* Columns added after the first release: added to an older database when it is opened. */
static const char *const ADDED_COLUMNS[] = {"renews_serial", "revoked_at", "revocation_context"};

static void now_iso(char *buf, size_t cap) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct db *db_open(const char *path, char *msg, size_t msg_cap) {
    struct db *db = calloc(1, sizeof *db);
    if (db == NULL) {
        snprintf(msg, msg_cap, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&db->lock, NULL);
    int rc = sqlite3_open_v2(path, &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    char *e = NULL;
    if (rc == SQLITE_OK) sqlite3_busy_timeout(db->conn, 5000);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db->conn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &e);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db->conn, SCHEMA, NULL, NULL, &e);
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof ADDED_COLUMNS / sizeof ADDED_COLUMNS[0]; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT %s FROM certificates LIMIT 0", ADDED_COLUMNS[i]);
        if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(sql, sizeof sql, "ALTER TABLE certificates ADD COLUMN %s TEXT", ADDED_COLUMNS[i]);
            rc = sqlite3_exec(db->conn, sql, NULL, NULL, &e);
        }
    }
    if (rc != SQLITE_OK) {
        snprintf(msg, msg_cap, "DB_PATH: cannot open the database %s: %s", path,
                 e != NULL ? e : (db->conn != NULL ? sqlite3_errmsg(db->conn) : "out of memory"));
        sqlite3_free(e);
        db_close(db);
        return NULL;
    }
    return db;
}

struct db *db_open_postgresql(const char *conninfo, char *msg, size_t msg_cap) {
    struct db *db = calloc(1, sizeof *db);
    if (db == NULL) {
        snprintf(msg, msg_cap, "out of memory");
        return NULL;
    }
    if ((db->pg = pg_open(conninfo, msg, msg_cap)) == NULL) {
        free(db);
        return NULL;
    }
    pthread_mutex_init(&db->lock, NULL);
    return db;
}

/* The PostgreSQL backend: the same call under the connection's mutex. */
#define PG(call)                                                                                                   \
    if (db->pg != NULL) {                                                                                          \
        pthread_mutex_lock(&db->lock);                                                                             \
        int pg_rc_ = call;                                                                                         \
        pthread_mutex_unlock(&db->lock);                                                                           \
        return pg_rc_;                                                                                             \
    }

int db_claim_transaction(struct db *db, const char *transaction_id, int take) {
    PG(pg_claim_transaction(db->pg, transaction_id, take));
    return 1; /* SQLite: one process, whose in-memory table of transactions in flight is enough */
}

int db_worker_lock(struct db *db, int take) {
    PG(pg_worker_lock(db->pg, take));
    return 1; /* SQLite: one process */
}

void db_close(struct db *db) {
    if (db == NULL) return;
    pg_close(db->pg);
    sqlite3_close(db->conn);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

int db_insert(struct db *db, const char *serial, const char *transaction_id, const char *activity_id,
              const char *subject, const char *thumbprint, const char *status, const char *not_before,
              const char *not_after, const unsigned char *der, size_t der_len, const char *csr_sha256,
              const char *renews_serial) {
    PG(pg_insert(db->pg, serial, transaction_id, activity_id, subject, thumbprint, status, not_before, not_after, der,
                 der_len, csr_sha256, renews_serial));
    char now[32];
    now_iso(now, sizeof now);
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->conn,
                                "INSERT INTO certificates (serial, transaction_id, activity_id, subject, thumbprint,"
                                " status, not_before, not_after, created_at, updated_at, csr_sha256, cert_der, renews_serial)"
                                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, transaction_id, -1, SQLITE_TRANSIENT);
        if (activity_id != NULL) sqlite3_bind_text(st, 3, activity_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, subject, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, thumbprint, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, status, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 7, not_before, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, not_after, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 9, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 10, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 11, csr_sha256, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 12, der, (int)der_len, SQLITE_TRANSIENT);
        if (renews_serial != NULL) sqlite3_bind_text(st, 13, renews_serial, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return rc == SQLITE_OK ? 0 : -1;
}

int db_set_status(struct db *db, const char *serial, const char *status, const char *activity_id) {
    PG(pg_set_status(db->pg, serial, status, activity_id));
    char now[32];
    now_iso(now, sizeof now);
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->conn,
                                "UPDATE certificates SET status = ?, updated_at = ?,"
                                " activity_id = COALESCE(?, activity_id) WHERE serial = ?",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
        if (activity_id != NULL) sqlite3_bind_text(st, 3, activity_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, serial, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db->conn) == 1 ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return rc == SQLITE_OK ? 0 : -1;
}

static void copy_col(sqlite3_stmt *st, int col, char *buf, size_t cap) {
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, cap, "%s", t != NULL ? (const char *)t : "");
}

int db_find_transaction(struct db *db, const char *transaction_id, struct db_record *rec) {
    memset(rec, 0, sizeof *rec);
    PG(pg_find_transaction(db->pg, transaction_id, rec));
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    int result = -1;
    int rc = sqlite3_prepare_v2(db->conn,
                                "SELECT serial, status, subject, csr_sha256, cert_der FROM certificates"
                                " WHERE transaction_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, transaction_id, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            result = 0;
        } else if (rc == SQLITE_ROW) {
            copy_col(st, 0, rec->serial, sizeof rec->serial);
            copy_col(st, 1, rec->status, sizeof rec->status);
            copy_col(st, 2, rec->subject, sizeof rec->subject);
            copy_col(st, 3, rec->csr_sha256, sizeof rec->csr_sha256);
            int n = sqlite3_column_bytes(st, 4);
            const void *b = sqlite3_column_blob(st, 4);
            if (n > 0 && b != NULL && (rec->cert_der = malloc((size_t)n)) != NULL) {
                memcpy(rec->cert_der, b, (size_t)n);
                rec->cert_len = (size_t)n;
                result = 1;
            }
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return result;
}

int db_revoke(struct db *db, const char *serial, const char *context) {
    PG(pg_revoke(db->pg, serial, context));
    char now[32];
    now_iso(now, sizeof now);
    pthread_mutex_lock(&db->lock);
    int result = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto out;
    if (sqlite3_prepare_v2(db->conn, "SELECT status, COALESCE(revocation_context, '') FROM certificates WHERE serial = ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = DB_REVOKE_NOT_FOUND;
    } else if (rc == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 0);
        const char *ctx = (const char *)sqlite3_column_text(st, 1);
        if (status != NULL && strcmp(status, "revoked") == 0)
            result = ctx != NULL && context != NULL && context[0] != '\0' && strcmp(ctx, context) == 0
                         ? DB_REVOKE_AGAIN
                         : DB_REVOKE_CONFLICT;
        else
            result = DB_REVOKE_DONE;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (result == DB_REVOKE_DONE) {
        if (sqlite3_prepare_v2(db->conn,
                               "UPDATE certificates SET status = 'revoked', revoked_at = ?, updated_at = ?,"
                               " revocation_context = ? WHERE serial = ?",
                               -1, &st, NULL) != SQLITE_OK)
            goto rollback;
        sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, context != NULL ? context : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, serial, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db->conn) != 1) goto rollback;
    }
    if (result < 0 || sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto rollback;
    goto out;
rollback:
    result = -1;
    sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return result;
}

int db_list_revoked(struct db *db, db_revoked_cb cb, void *ctx) {
    PG(pg_list_revoked(db->pg, cb, ctx));
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    int result = -1;
    if (sqlite3_prepare_v2(db->conn,
                           "SELECT serial, COALESCE(revoked_at, updated_at) FROM certificates"
                           " WHERE status = 'revoked' ORDER BY serial",
                           -1, &st, NULL) == SQLITE_OK) {
        int rc;
        result = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *serial = (const char *)sqlite3_column_text(st, 0);
            const char *at = (const char *)sqlite3_column_text(st, 1);
            if (cb(ctx, serial != NULL ? serial : "", at != NULL ? at : "") != 0) {
                result = -1;
                break;
            }
        }
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) result = -1;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return result;
}

int db_count_status(struct db *db, long long counts[3]) {
    static const char *const STATUS[3] = {"issued", "withheld", "revoked"};
    PG(pg_count_status(db->pg, counts));
    counts[0] = counts[1] = counts[2] = 0;
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    int result = -1;
    if (sqlite3_prepare_v2(db->conn, "SELECT status, COUNT(*) FROM certificates GROUP BY status", -1, &st, NULL) ==
        SQLITE_OK) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *status = (const char *)sqlite3_column_text(st, 0);
            for (int i = 0; i < 3; i++)
                if (status != NULL && strcmp(status, STATUS[i]) == 0) counts[i] = sqlite3_column_int64(st, 1);
        }
        if (rc == SQLITE_DONE) result = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return result;
}

int db_ping(struct db *db) {
    PG(pg_ping(db->pg));
    pthread_mutex_lock(&db->lock);
    int rc = sqlite3_exec(db->conn, "SELECT COUNT(*) FROM certificates WHERE 0", NULL, NULL, NULL);
    pthread_mutex_unlock(&db->lock);
    return rc == SQLITE_OK ? 0 : -1;
}
