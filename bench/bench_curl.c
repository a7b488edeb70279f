/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_curl.c - the limit: a plain libcurl loop sending the same validateRequest
 * a client of this library sends (same URL, headers and ~1.5 KB body, a fresh
 * client-request-id per call) on one easy handle, so one reused connection, per
 * thread, and checking every answer is HTTP 200 with "code":"Success".
 * Nothing that does this work can do it in less.
 *
 * usage: intune-scep-bench-curl --url URL --token TOKEN --ca CA_FILE --csr CSR_FILE
 *            [--transaction-id T] [--provider P] [--threads 1,2,4,8]
 *            [--warmup S] [--seconds S] [--rounds N] [--status-url URL]
 *        ... --calls N [--checkpoint N]: a fixed number of calls on the first
 *            thread count instead (for profilers), printed as the memory figure
 */
#include "bench_util.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *url;
    const char *ca;
    char *body;
    char auth[4096];
    char api_version[64];
    char user_agent_p[512];
    char user_agent[128];
} shared_cfg;

typedef struct {
    CURL *h;
    struct curl_slist *headers;
    char *request_id; /* the client-request-id header line, rewritten in place per call */
    char resp[4096];
    size_t resp_len;
    int resp_overflow;
    uint64_t rng;
} thread_state;

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    thread_state *t = userdata;
    size_t len = size * n;
    if (len > sizeof t->resp - 1 - t->resp_len) {
        t->resp_overflow = 1;
        return 0;
    }
    memcpy(t->resp + t->resp_len, data, len);
    t->resp_len += len;
    return len;
}

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Write a random (version 4) UUID, 36 characters, into out. */
static void uuid4(uint64_t *rng, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t a = next_rand(rng), c = next_rand(rng);
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        out[j++] = hex[b[i] >> 4];
        out[j++] = hex[b[i] & 15];
    }
}

static void *thread_init(void *shared, int index)
{
    shared_cfg *cfg = shared;
    thread_state *t = calloc(1, sizeof *t);
    if (!t || !(t->h = curl_easy_init())) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    t->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)t ^ (uint64_t)(index + 1);
    if (!t->rng)
        t->rng = 1;
    char idline[80] = "client-request-id: 00000000-0000-4000-8000-000000000000";
    struct curl_slist *l = NULL;
    l = curl_slist_append(l, cfg->auth);
    l = curl_slist_append(l, "Content-Type: application/json");
    l = curl_slist_append(l, idline);
    struct curl_slist *idnode = l;
    while (idnode->next)
        idnode = idnode->next;
    l = curl_slist_append(l, cfg->api_version);
    l = curl_slist_append(l, cfg->user_agent_p);
    l = curl_slist_append(l, cfg->user_agent);
    l = curl_slist_append(l, "Accept: application/json");
    l = curl_slist_append(l, "Expect:");
    if (!l) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    t->headers = l;
    t->request_id = idnode->data + strlen("client-request-id: ");

    CURL *h = t->h;
    curl_easy_setopt(h, CURLOPT_URL, cfg->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, cfg->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(cfg->body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    return t;
}

static int call(void *shared, void *state, char *err, size_t errlen)
{
    (void)shared;
    thread_state *t = state;
    uuid4(&t->rng, t->request_id);
    t->resp_len = 0;
    t->resp_overflow = 0;
    CURLcode rc = curl_easy_perform(t->h);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "curl: %s", curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
    t->resp[t->resp_len] = '\0';
    if (status != 200) {
        snprintf(err, errlen, "HTTP %ld: %.200s", status, t->resp);
        return -1;
    }
    cJSON *j = cJSON_ParseWithLength(t->resp, t->resp_len);
    const cJSON *code = j ? cJSON_GetObjectItemCaseSensitive(j, "code") : NULL;
    int ok = cJSON_IsString(code) && strcmp(code->valuestring, "Success") == 0;
    cJSON_Delete(j);
    if (!ok) {
        snprintf(err, errlen, "answer is not code Success: %.200s", t->resp);
        return -1;
    }
    return 0;
}

static void thread_fini(void *shared, void *state)
{
    (void)shared;
    thread_state *t = state;
    curl_easy_cleanup(t->h);
    curl_slist_free_all(t->headers);
    free(t);
}

int main(int argc, char **argv)
{
    const char *url = bench_opt(argc, argv, 1, "--url", NULL);
    const char *token = bench_opt(argc, argv, 1, "--token", NULL);
    const char *ca = bench_opt(argc, argv, 1, "--ca", NULL);
    const char *csr_file = bench_opt(argc, argv, 1, "--csr", NULL);
    const char *txid = bench_opt(argc, argv, 1, "--transaction-id", "bench-transaction-0001");
    const char *provider = bench_opt(argc, argv, 1, "--provider", "intune-scep-bench/1.0");
    const char *user_agent = bench_opt(argc, argv, 1, "--user-agent", "intune-scep/1.0.0 libcurl/" LIBCURL_VERSION);
    int threads[16];
    int nthreads = bench_parse_threads(bench_opt(argc, argv, 1, "--threads", "1,2,4,8"), threads, 16);
    if (!url || !token || !ca || !csr_file || nthreads < 0) {
        fprintf(stderr, "usage: %s --url URL --token TOKEN --ca CA_FILE --csr CSR_FILE [--threads 1,2,4,8]\n"
                        "       [--warmup S] [--seconds S] [--rounds N] [--status-url URL]\n", argv[0]);
        return 2;
    }
    bench_timing timing;
    bench_timing_from_args(&timing, argc, argv, 1);

    char *csr = bench_read_file(csr_file);
    if (!csr) {
        fprintf(stderr, "cannot read %s\n", csr_file);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 2;

    shared_cfg cfg = {.url = url, .ca = ca};
    /* The body a client of this library sends for validateRequest. */
    cJSON *root = cJSON_CreateObject();
    cJSON *req = cJSON_AddObjectToObject(root, "request");
    cJSON_AddStringToObject(req, "transactionId", txid);
    cJSON_AddStringToObject(req, "certificateRequest", csr);
    cJSON_AddStringToObject(req, "callerInfo", provider);
    cfg.body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    snprintf(cfg.auth, sizeof cfg.auth, "Authorization: Bearer %s", token);
    snprintf(cfg.api_version, sizeof cfg.api_version, "api-version: 2018-02-20");
    snprintf(cfg.user_agent_p, sizeof cfg.user_agent_p, "UserAgent: %s", provider);
    snprintf(cfg.user_agent, sizeof cfg.user_agent, "User-Agent: %s", user_agent);

    bench_ops ops = {.thread_init = thread_init, .call = call, .thread_fini = thread_fini, .shared = &cfg};
    int rc = 0;
    long calls = atol(bench_opt(argc, argv, 1, "--calls", "0"));
    if (calls > 0) {
        /* A fixed number of calls on the first thread count (for profilers): the memory figure. */
        rc = bench_memory("curl", &ops, threads[0], calls, atol(bench_opt(argc, argv, 1, "--checkpoint", "1")));
    } else {
        for (int i = 0; i < nthreads && rc == 0; i++)
            rc = bench_throughput("curl", &ops, threads[i], &timing);
    }

    cJSON_free(cfg.body);
    free(csr);
    curl_global_cleanup();
    return rc == 0 ? 0 : 1;
}
