/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One client shared by 8 threads x 200 validateRequest calls while its Intune
 * token expires in the middle of the run (short token lifetime, and every token
 * revoked once mid-run) and the app key is re-set: every call succeeds, tokens and
 * discovery are fetched single-flight, every call has its own activity id, one log
 * line per call.
 */
#include "harness.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define CALLS 200
#define LIFETIME_S 1 /* the emulator's --token-lifetime */
#define ROTATIONS 3

static th_emu *emu;
static th_csr *csr;
static intune_scep_client *client;
static atomic_int done_calls;
static atomic_int failures;
static pthread_mutex_t first_mu = PTHREAD_MUTEX_INITIALIZER;
static char first_failure[1024];

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    intune_scep_error *err = intune_scep_error_new();
    for (int i = 0; i < CALLS; i++) {
        char tid[64];
        snprintf(tid, sizeof tid, "tid-thr-%d-%d", id, i);
        int rc = intune_scep_validate_request(client, tid, csr->b64, err);
        if (rc != INTUNE_SCEP_OK) {
            if (atomic_fetch_add(&failures, 1) == 0) {
                pthread_mutex_lock(&first_mu);
                snprintf(first_failure, sizeof first_failure, "%s: %s", intune_scep_status_name(rc), intune_scep_error_message(err));
                pthread_mutex_unlock(&first_mu);
            }
        }
        atomic_fetch_add(&done_calls, 1);
    }
    intune_scep_error_free(err);
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_shared_client(void) {
    th_emu_reset(emu);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"TIMEOUT_MS", "60000", NULL};
    intune_scep_config *cfg = th_emu_config(emu, NULL, ov);
    intune_scep_config_set_log_callback(cfg, th_log_cb, &log, INTUNE_SCEP_LOG_INFO);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_client_new(cfg, &client, err), INTUNE_SCEP_OK, err);
    intune_scep_config_free(cfg);

    pthread_t th[THREADS];
    int64_t t0 = th_now_ms();
    for (int i = 0; i < THREADS; i++) REQUIRE(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    /* revoke every token once, in the middle of the run */
    while (atomic_load(&done_calls) < THREADS * CALLS / 2 && th_now_ms() - t0 < 120000) th_sleep_ms(5);
    th_emu_expire_tokens(emu);
    th_note("every token revoked after %d calls", atomic_load(&done_calls));
    /* meanwhile the administrator re-enters the (same) app key and the log sink is replaced
     * (by the same sink): both are safe while calls run */
    for (int i = 0; i < ROTATIONS; i++) {
        while (atomic_load(&done_calls) < THREADS * CALLS * (5 + i) / 8 && th_now_ms() - t0 < 120000) th_sleep_ms(2);
        CHECK_STATUS(intune_scep_client_set_app_key(client, th_emu_cfg(emu, "AAD_APP_KEY"), err), INTUNE_SCEP_OK, err);
        intune_scep_client_set_log_callback(client, th_log_cb, &log, INTUNE_SCEP_LOG_INFO);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    long elapsed = (long)(th_now_ms() - t0);

    long intune = th_emu_token_requests(emu, "intune"), graph = th_emu_token_requests(emu, "graph");
    th_note("%d calls in %ld ms; token requests: intune %ld, graph %ld", THREADS * CALLS, elapsed, intune, graph);
    if (atomic_load(&failures)) th_fail(__FILE__, __LINE__, "%d of %d calls failed; first: %s", atomic_load(&failures),
                                        THREADS * CALLS, first_failure);
    /* Single flight: one token per refresh (about one per half lifetime, plus the revocation), not one per thread. */
    long bound = elapsed / (LIFETIME_S * 1000 / 2) + 6 + ROTATIONS;
    if (intune < 2 || intune > bound) th_fail(__FILE__, __LINE__, "%ld Intune token requests, want 2..%ld", intune, bound);
    CHECK_INT(graph, 1);
    CHECK_INT(th_emu_request_count(emu, "discovery"), 1);

    /* every call had its own activity id; a repeated one belongs to one call's attempts */
    cJSON *v = th_emu_requests(emu, "validateRequest");
    int n = cJSON_GetArraySize(v);
    CHECK(n >= THREADS * CALLS);
    char **ids = calloc((size_t)n, sizeof *ids);
    int k = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, v) {
        const char *id = th_req_header(r, "client-request-id");
        if (th_is_uuid(id)) ids[k++] = strdup(id);
    }
    CHECK_INT(k, n);
    qsort(ids, (size_t)k, sizeof *ids, cmp_str);
    int distinct = k ? 1 : 0;
    for (int i = 1; i < k; i++)
        if (strcmp(ids[i], ids[i - 1]) != 0) distinct++;
    CHECK_INT(distinct, THREADS * CALLS);
    for (int i = 0; i < k; i++) free(ids[i]);
    free(ids);
    cJSON_Delete(v);

    /* one line per call, each with its own transaction id */
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_INFO, "tid-thr-", NULL), THREADS * CALLS);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_INFO, "tid-thr-3-117", NULL), 1);
    CHECK_LOG_NO_SECRET(&log, th_emu_cfg(emu, "AAD_APP_KEY"), "the app key");
    /* the connections stay few: one per thread (or pool handle), plus reconnections */
    long conns = th_emu_connections(emu);
    th_note("%ld connections for %d calls", conns, THREADS * CALLS);
    CHECK(conns <= 4 * THREADS);
    intune_scep_client_free(client);
    client = NULL;
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

static void setup(void) {
    char lifetime[16];
    snprintf(lifetime, sizeof lifetime, "%d", LIFETIME_S);
    const char *const args[] = {"--token-lifetime", lifetime, NULL};
    emu = th_emu_start(args);
    csr = th_emu_device_csr(emu, "CN=threads,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
}

static const th_test tests[] = {
    {"shared_client_8x200", test_shared_client},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
