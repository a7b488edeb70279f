/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The soak: 8 threads share one client for SOAK_SECONDS (default 60; the ctest
 * default comes from SOAK_SECONDS_DEFAULT) making validateRequest and
 * failureNotification calls, while the emulator expires every token every
 * EXPIRE_MS and moves the SCEP endpoint once half-way, so token refreshes and a
 * rediscovery run under load. It asserts:
 *   - 0 failed calls (a 401 refreshes the token, a 404 rediscovers, inside each call);
 *   - exactly one Intune token fetch per expiry (single flight), counted by the
 *     emulator (stats.token_requests) and by the log;
 *   - exactly one Graph token fetch more, for the rediscovery after the move;
 *   - the discovery ran exactly twice (startup and after the move): two
 *     "discovery:" log lines, and the emulator saw those two requests plus the
 *     one its revoked Graph token earned a 401 for;
 *   - no secret in any log line.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APP_SECRET "Harden~SoakSecret+/=Qw3rTy9Zx8Lk2"
#define THREADS 8
#define EXPIRE_MS 4000

static th_emu *emu;
static th_csr *csr;
static intune_scep_client *client;
static volatile int stop_flag;

typedef struct {
    int index;
    long calls, failed;
    char first_error[512];
} worker_t;

static int stopping(void) { return __atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE); }

static void *worker(void *arg) {
    worker_t *w = arg;
    intune_scep_error *err = intune_scep_error_new();
    char tid[64];
    while (!stopping()) {
        snprintf(tid, sizeof tid, "soak-%d-%ld", w->index, w->calls);
        int rc;
        if (w->calls % 5 == 4)
            rc = intune_scep_send_failure_notification(client, tid, csr->b64, (int64_t)0x80004005u, "soak failure", err);
        else
            rc = intune_scep_validate_request(client, tid, csr->b64, err);
        w->calls++;
        if (rc != INTUNE_SCEP_OK) {
            if (!w->failed)
                snprintf(w->first_error, sizeof w->first_error, "%s: %s", intune_scep_status_name(rc),
                         intune_scep_error_message(err));
            w->failed++;
        }
        th_sleep_ms(2);
    }
    intune_scep_error_free(err);
    return NULL;
}

static long seconds_to_run(void) {
    const char *v = getenv("SOAK_SECONDS");
    if (!v || !*v) v = getenv("SOAK_SECONDS_DEFAULT");
    long s = v && *v ? strtol(v, NULL, 10) : 60;
    return s < 10 ? 10 : s;
}

/* stats.endpoints.discovery: discovery requests the emulator answered (cheap, unlike the request list). */
static long discovery_requests(void) {
    cJSON *stats = th_emu_stats(emu);
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(stats, "endpoints");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(eps, "discovery");
    long n = cJSON_IsNumber(d) ? (long)d->valuedouble : -1;
    cJSON_Delete(stats);
    return n;
}

static void test_soak(void) {
    long seconds = seconds_to_run();
    th_log log;
    th_log_init(&log);
    th_emu_reset(emu);
    const char *ov[] = {"TIMEOUT_MS", "15000", "MAX_RETRIES", "2", NULL};
    client = th_emu_client(emu, &log, ov);

    /* Warm up: one call fetches both tokens and discovers. */
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_validate_request(client, "soak-warmup", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_token_requests(emu, "intune"), 1);
    CHECK_INT(th_emu_token_requests(emu, "graph"), 1);

    worker_t w[THREADS];
    pthread_t th[THREADS];
    __atomic_store_n(&stop_flag, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        REQUIRE(pthread_create(&th[i], NULL, worker, &w[i]) == 0);
    }
    int64_t start = th_now_ms(), end = start + seconds * 1000;
    int64_t next_expire = start + EXPIRE_MS;
    /* The move lands half-way between two expiries, half-way through the run. */
    int64_t move_at = start + (seconds * 1000 / 2 / EXPIRE_MS) * EXPIRE_MS + EXPIRE_MS / 2;
    int expiries = 0, expiries_before_move = 0, moved = 0;
    char *new_uri = NULL;
    /* The last expiry leaves at least 2 s of calls after it, so its refresh is counted. */
    while (th_now_ms() < end) {
        int64_t now = th_now_ms();
        if (!moved && now >= move_at) {
            new_uri = th_emu_move_endpoint(emu, "ScepRequestValidationFEService");
            moved = 1;
            expiries_before_move = expiries;
            th_note("moved the SCEP endpoint to %s after %d expiries", new_uri, expiries);
        } else if (now >= next_expire && now + 2000 < end) {
            th_emu_expire_tokens(emu);
            expiries++;
            next_expire += EXPIRE_MS;
        }
        th_sleep_ms(20);
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
    long calls = 0, failed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        calls += w[i].calls;
        failed += w[i].failed;
        if (w[i].failed) th_note("thread %d: %ld of %ld calls failed; first: %s", i, w[i].failed, w[i].calls, w[i].first_error);
    }
    long intune_tokens = th_emu_token_requests(emu, "intune");
    long graph_tokens = th_emu_token_requests(emu, "graph");
    long discoveries = discovery_requests();
    size_t discovery_lines = th_log_count(&log, INTUNE_SCEP_LOG_DEBUG, "discovery: ", "services in", NULL);
    size_t intune_token_lines = th_log_count(&log, INTUNE_SCEP_LOG_DEBUG, "token for Intune acquired", NULL);
    size_t moved_lines = th_log_count(&log, INTUNE_SCEP_LOG_INFO, "discovering it again", NULL);
    th_note("%ld calls on %d threads in %ld s (%.0f/s): %ld failed; %d expiries, %d before the move; token fetches: "
            "intune %ld, graph %ld; discovery requests %ld (successful in the log: %zu); calls that saw the move: %zu",
            calls, THREADS, seconds, calls * 1000.0 / (double)(th_now_ms() - start), failed, expiries,
            expiries_before_move, intune_tokens, graph_tokens, discoveries, discovery_lines, moved_lines);

    CHECK(moved);
    CHECK(expiries >= 2);
    CHECK(calls >= THREADS * 10);
    CHECK_INT(failed, 0);
    /* Single flight: one fetch per expiry, plus the first. */
    CHECK_INT(intune_tokens, 1 + expiries);
    CHECK_INT(intune_token_lines, 1 + expiries);
    CHECK_INT(graph_tokens, 1 + (expiries_before_move > 0 ? 1 : 0));
    /* One rediscovery, whatever the number of calls that saw the old endpoint answer 404: two successful
     * discoveries, plus the one answered 401 when the Graph token had been revoked before the move. */
    CHECK_INT(discovery_lines, 2);
    CHECK_INT(discoveries, 2 + (expiries_before_move > 0 ? 1 : 0));
    CHECK(moved_lines >= 1);
    /* After the run the client still works on the new endpoint. */
    CHECK_STATUS(intune_scep_validate_request(client, "soak-after", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_LOG_NO_SECRET(&log, APP_SECRET, "the app key");
    /* The emulator's bearer tokens all start with this prefix. */
    CHECK_LOG_NO_SECRET(&log, "EmuTok-", "a bearer token (EmuTok-...)");
    if (th_log_count(&log, INTUNE_SCEP_LOG_ERROR, "", NULL)) th_note("error lines were logged (see above)");
    free(new_uri);
    intune_scep_error_free(err);
    intune_scep_client_free(client);
    client = NULL;
    th_log_destroy(&log);
}

static void setup(void) {
    th_register_secret(APP_SECRET);
    const char *args[] = {"--app-secret", APP_SECRET, NULL};
    emu = th_emu_start(args);
    csr = th_emu_device_csr(emu, "CN=soak-device,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {{"soak", test_soak}};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
