/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_capi.c - the C ABI front door: one intune_scep_client shared by every
 * thread, making intune_scep_validate_request calls (INTUNE_SCEP_OK only when
 * Intune answered "Success").
 *
 * usage: intune-scep-bench-c throughput --properties FILE --csr FILE [--threads 1,2,4,8]
 *            [--warmup S] [--seconds S] [--rounds N] [--status-url URL]
 *        intune-scep-bench-c cold --properties FILE --csr FILE
 *            one process start to first validated request: prints the moment
 *            (CLOCK_MONOTONIC) the first validate returned OK, and its phases
 *        intune-scep-bench-c memory --properties FILE --csr FILE [--threads 8]
 *            [--calls 100000] [--checkpoint 10000]
 */
#include "bench_util.h"

#include <intune_scep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRANSACTION_ID "bench-transaction-0001"

typedef struct {
    intune_scep_client *client;
    const char *csr;
} shared_state;

static void *thread_init(void *shared, int index)
{
    (void)shared;
    (void)index;
    intune_scep_error *err = intune_scep_error_new();
    if (!err) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return err;
}

static int call(void *shared, void *state, char *errbuf, size_t errlen)
{
    shared_state *s = shared;
    intune_scep_error *err = state;
    int rc = intune_scep_validate_request(s->client, TRANSACTION_ID, s->csr, err);
    if (rc != INTUNE_SCEP_OK) {
        snprintf(errbuf, errlen, "%s: %s", intune_scep_status_name(rc), intune_scep_error_message(err));
        return -1;
    }
    return 0;
}

static void thread_fini(void *shared, void *state)
{
    (void)shared;
    intune_scep_error_free(state);
}

/* Load the properties file and create the client; prints the reason and returns NULL on failure. */
static intune_scep_client *make_client(const char *properties)
{
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *client = NULL;
    if (!cfg || !err) {
        fprintf(stderr, "out of memory\n");
    } else if (intune_scep_config_load_file(cfg, properties, err) != INTUNE_SCEP_OK) {
        fprintf(stderr, "%s\n", intune_scep_error_message(err));
    } else if (intune_scep_client_new(cfg, &client, err) != INTUNE_SCEP_OK) {
        fprintf(stderr, "%s\n", intune_scep_error_message(err));
        client = NULL;
    }
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    return client;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *properties = bench_opt(argc, argv, 2, "--properties", NULL);
    const char *csr_file = bench_opt(argc, argv, 2, "--csr", NULL);
    if ((strcmp(mode, "throughput") && strcmp(mode, "cold") && strcmp(mode, "memory")) || !properties ||
        !csr_file) {
        fprintf(stderr, "usage: %s throughput|cold|memory --properties FILE --csr FILE [options]\n", argv[0]);
        return 2;
    }
    double t_start = bench_now();
    char *csr = bench_read_file(csr_file);
    if (!csr) {
        fprintf(stderr, "cannot read %s\n", csr_file);
        return 2;
    }

    if (strcmp(mode, "cold") == 0) {
        intune_scep_client *client = make_client(properties);
        if (!client)
            return 1;
        double t_client = bench_now();
        intune_scep_error *err = intune_scep_error_new();
        int rc = intune_scep_validate_request(client, TRANSACTION_ID, csr, err);
        double t_ok = bench_now();
        if (rc != INTUNE_SCEP_OK) {
            fprintf(stderr, "first validate failed: %s: %s\n", intune_scep_status_name(rc),
                    intune_scep_error_message(err));
            return 1;
        }
        printf("{\"figure\":\"cold\",\"front_door\":\"c\",\"first_ok_monotonic\":%.6f,"
               "\"client_new_s\":%.6f,\"first_call_s\":%.6f}\n",
               t_ok, t_client - t_start, t_ok - t_client);
        intune_scep_error_free(err);
        intune_scep_client_free(client);
        free(csr);
        return 0;
    }

    shared_state s = {.client = make_client(properties), .csr = csr};
    if (!s.client)
        return 1;
    bench_ops ops = {.thread_init = thread_init, .call = call, .thread_fini = thread_fini, .shared = &s};
    int rc = 0;
    if (strcmp(mode, "throughput") == 0) {
        int threads[16];
        int n = bench_parse_threads(bench_opt(argc, argv, 2, "--threads", "1,2,4,8"), threads, 16);
        if (n < 0) {
            fprintf(stderr, "bad --threads\n");
            return 2;
        }
        bench_timing timing;
        bench_timing_from_args(&timing, argc, argv, 2);
        for (int i = 0; i < n && rc == 0; i++)
            rc = bench_throughput("c", &ops, threads[i], &timing);
    } else {
        int threads = atoi(bench_opt(argc, argv, 2, "--threads", "8"));
        long calls = atol(bench_opt(argc, argv, 2, "--calls", "100000"));
        long checkpoint = atol(bench_opt(argc, argv, 2, "--checkpoint", "10000"));
        rc = bench_memory("c", &ops, threads, calls, checkpoint);
    }
    intune_scep_client_free(s.client);
    free(csr);
    return rc == 0 ? 0 : 1;
}
