/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials without a stored secret: workload identity federation (a token
 * file from an external issuer, sent as the client assertion) and managed
 * identity (the platform's identity endpoint, here the emulator's on loopback,
 * plain http); the one-kind rule; credential rotation on a live client under
 * load; the roles claim; the certificate's expiry.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define ISSUER "https://oidc.cluster.example/issuer"
#define SUBJECT "system:serviceaccount:pki:scep-ca"
#define AUDIENCE "api://AzureADTokenExchange"
#define USER_IDENTITY "7f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b"

static th_emu *emu;
static th_csr *csr;
static EVP_PKEY *issuer_key, *stranger_key;
static char *token_file, *imds, *app_service;

static char *b64url(const unsigned char *p, size_t n) {
    char *out = malloc(n / 3 * 4 + 8);
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=') len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

/* An RS256 JWT as an external issuer (a Kubernetes cluster) signs it. */
static char *make_jwt(EVP_PKEY *key, const char *iss, const char *sub, const char *aud, long lifetime) {
    long long now = (long long)time(NULL);
    static int serial;
    const char *head_json = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
    char *head = b64url((const unsigned char *)head_json, strlen(head_json));
    char *claims_json = th_strdupf("{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
                                   "\"jti\":\"j%d\"}",
                                   iss, sub, aud, now - 5, now - 5, now + lifetime, ++serial);
    char *claims = b64url((const unsigned char *)claims_json, strlen(claims_json));
    char *input = th_strdupf("%s.%s", head, claims);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t siglen = 0;
    REQUIRE(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1);
    REQUIRE(EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) == 1);
    unsigned char *sig = malloc(siglen);
    REQUIRE(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) == 1);
    char *s64 = b64url(sig, siglen);
    char *jwt = th_strdupf("%s.%s", input, s64);
    EVP_MD_CTX_free(md);
    free(head);
    free(claims_json);
    free(claims);
    free(input);
    free(sig);
    free(s64);
    return jwt;
}

static void write_file(const char *path, const char *text) {
    char *tmp = th_strdupf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
    REQUIRE(rename(tmp, path) == 0); /* an atomic swap, as the kubelet does */
    free(tmp);
}

static void trust_issuer(void) {
    BIO *b = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(b, issuer_key) == 1);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "federated_credentials");
    cJSON *fc = cJSON_CreateObject();
    cJSON_AddStringToObject(fc, "issuer", ISSUER);
    cJSON_AddStringToObject(fc, "subject", SUBJECT);
    cJSON_AddStringToObject(fc, "audience", AUDIENCE);
    char *pem_z = th_strdupf("%.*s", (int)n, pem);
    cJSON_AddStringToObject(fc, "public_key_pem", pem_z);
    cJSON_AddItemToArray(arr, fc);
    cJSON *ids = cJSON_AddArrayToObject(root, "managed_identities");
    cJSON_AddItemToArray(ids, cJSON_CreateString(USER_IDENTITY));
    char *json = cJSON_PrintUnformatted(root);
    th_emu_settings(emu, json);
    free(json);
    free(pem_z);
    cJSON_Delete(root);
    BIO_free(b);
}

static void reset(void) {
    th_emu_reset(emu);
    trust_issuer();
}

/* The signature part of a JWT: what must never appear in a log or message. */
static const char *sig_of(const char *jwt) { return strrchr(jwt, '.') + 1; }

/* ---- workload identity federation ---- */

static void test_federated_success(void) {
    reset();
    char *jwt = make_jwt(issuer_key, ISSUER, SUBJECT, AUDIENCE, 3600);
    char *text = th_strdupf("%s\n", jwt);
    write_file(token_file, text);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_FEDERATED_TOKEN_FILE", token_file, NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_INT(intune_scep_client_credential_kind(c), INTUNE_SCEP_CREDENTIAL_FEDERATED);
    CHECK_INT(intune_scep_client_certificate_expiry(c), 0);
    CHECK_STATUS(intune_scep_validate_request(c, "tx-fed", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *reqs = th_emu_requests(emu, "token");
    CHECK_INT(cJSON_GetArraySize(reqs), 2);
    char *want = th_strdupf("client_assertion=%s", jwt);
    for (int i = 0; i < cJSON_GetArraySize(reqs); i++) {
        CHECK_CONTAINS(th_req_body(th_item(reqs, i)), want);
        CHECK_NOT_CONTAINS(th_req_body(th_item(reqs, i)), "client_secret");
    }
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_DEBUG, "credential=federated token", NULL) == 1);
    CHECK_LOG_NO_SECRET(&log, sig_of(jwt), "the federated token");
    cJSON_Delete(reqs);
    free(want);
    free(text);
    free(jwt);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

static void test_federated_file_reread(void) {
    reset();
    char *first = make_jwt(issuer_key, ISSUER, SUBJECT, AUDIENCE, 3600);
    write_file(token_file, first);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_FEDERATED_TOKEN_FILE", token_file, NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    char *second = make_jwt(issuer_key, ISSUER, SUBJECT, AUDIENCE, 3600);
    write_file(token_file, second); /* the platform rotated it */
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    cJSON *reqs = th_emu_requests(emu, "token");
    REQUIRE(cJSON_GetArraySize(reqs) == 2);
    char *w1 = th_strdupf("client_assertion=%s&", first), *w2 = th_strdupf("client_assertion=%s&", second);
    CHECK_CONTAINS(th_req_body(th_item(reqs, 0)), w1);
    CHECK_CONTAINS(th_req_body(th_item(reqs, 1)), w2);
    cJSON_Delete(reqs);
    free(w1);
    free(w2);
    free(first);
    free(second);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

static void test_federated_refused(void) {
    struct {
        EVP_PKEY **key;
        const char *iss, *sub, *aud;
        long lifetime;
        long aadsts;
    } rows[] = {
        {&issuer_key, ISSUER, SUBJECT, AUDIENCE, -600, 700024},                   /* expired */
        {&issuer_key, ISSUER, SUBJECT, "api://SomethingElse", 3600, 700212},       /* wrong audience */
        {&issuer_key, ISSUER, "system:serviceaccount:x:intruder", AUDIENCE, 3600, 700213}, /* unknown subject */
        {&issuer_key, "https://elsewhere.example/", SUBJECT, AUDIENCE, 3600, 700211}, /* unknown issuer */
        {&stranger_key, ISSUER, SUBJECT, AUDIENCE, 3600, 700027},                  /* not the issuer's key */
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        th_note("row %zu", i);
        reset();
        char *jwt = make_jwt(*rows[i].key, rows[i].iss, rows[i].sub, rows[i].aud, rows[i].lifetime);
        write_file(token_file, jwt);
        th_log log;
        th_log_init(&log);
        const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_FEDERATED_TOKEN_FILE", token_file, NULL};
        intune_scep_client *c = th_emu_client(emu, &log, ov);
        intune_scep_error *err = intune_scep_error_new();
        CHECK_STATUS(intune_scep_validate_request(c, "tx-refused", csr->b64, err), INTUNE_SCEP_E_AUTH, err);
        const char *msg = intune_scep_error_message(err);
        CHECK_CONTAINS(msg, "AAD_FEDERATED_TOKEN_FILE");
        CHECK_CONTAINS(msg, "refused");
        char *code = th_strdupf("AADSTS%ld", rows[i].aadsts);
        CHECK_CONTAINS(msg, code);
        CHECK_INT(intune_scep_error_aadsts_code(err), rows[i].aadsts);
        CHECK_NOT_CONTAINS(msg, sig_of(jwt));
        CHECK_LOG_NO_SECRET(&log, sig_of(jwt), "the federated token");
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        free(code);
        free(jwt);
        intune_scep_client_free(c);
        intune_scep_error_free(err);
        th_log_destroy(&log);
    }
}

static void test_federated_file_missing_or_empty(void) {
    struct {
        const char *content, *word;
    } rows[] = {{NULL, "missing"}, {"", "empty"}, {"\n \n", "empty"}, {"no token here", "not a JWT"}};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        th_note("row %zu", i);
        reset();
        unlink(token_file);
        if (rows[i].content) write_file(token_file, rows[i].content);
        const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_FEDERATED_TOKEN_FILE", token_file, NULL};
        intune_scep_client *c = th_emu_client(emu, NULL, ov);
        intune_scep_error *err = intune_scep_error_new();
        CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_E_AUTH, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "AAD_FEDERATED_TOKEN_FILE");
        CHECK_CONTAINS(intune_scep_error_message(err), rows[i].word);
        CHECK_INT(th_emu_request_count(emu, "token"), 0); /* nothing was sent */
        intune_scep_client_free(c);
        intune_scep_error_free(err);
    }
}

/* ---- one credential kind ---- */

static void test_one_credential_kind(void) {
    struct {
        const char *k1, *v1, *k2, *v2, *want;
    } rows[] = {
        {"AAD_FEDERATED_TOKEN_FILE", "/tmp/t", NULL, NULL, "AAD_APP_KEY and AAD_FEDERATED_TOKEN_FILE are both set"},
        {"AAD_MANAGED_IDENTITY", "system", NULL, NULL, "AAD_APP_KEY and AAD_MANAGED_IDENTITY are both set"},
        {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "system",
         "AAD_MANAGED_IDENTITY_ENDPOINT may use plain http only"}, /* set below: a non-local http endpoint */
        {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "not-a-guid", "AAD_MANAGED_IDENTITY must be"},
        {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY_ENDPOINT", "http://127.0.0.1:1/",
         "AAD_MANAGED_IDENTITY is required"},
        {"TIMEOUT_MS", "30000", "CLOUD", "mars", "CLOUD must be public, usgov, usgovdod or china"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        th_note("row %zu", i);
        const char *const ov[] = {rows[i].k1, rows[i].v1, rows[i].k2 ? rows[i].k2 : "TIMEOUT_MS",
                                  rows[i].k2 ? rows[i].v2 : "30000", "AAD_MANAGED_IDENTITY_ENDPOINT",
                                  i == 2 ? "http://example.com/metadata/identity/oauth2/token" : NULL, NULL};
        intune_scep_config *cfg = th_emu_config(emu, NULL, ov);
        if (i == 4) { /* a secret client with an endpoint key */
            intune_scep_config_set(cfg, "AAD_APP_KEY", "x");
            intune_scep_config_set(cfg, "AAD_MANAGED_IDENTITY_ENDPOINT", "http://127.0.0.1:1/");
        }
        intune_scep_error *err = intune_scep_error_new();
        intune_scep_client *c = NULL;
        CHECK_STATUS(intune_scep_client_new(cfg, &c, err), INTUNE_SCEP_E_CONFIG, err);
        CHECK(c == NULL);
        CHECK_CONTAINS(intune_scep_error_message(err), rows[i].want);
        intune_scep_error_free(err);
        intune_scep_config_free(cfg);
    }
}

/* ---- cloud presets ---- */

static void test_cloud_presets(void) {
    struct {
        const char *cloud, *authority, *graph;
    } rows[] = {
        {"public", "authority=https://login.microsoftonline.com/", "graph=https://graph.microsoft.com/"},
        {"usgov", "authority=https://login.microsoftonline.us/", "graph=https://graph.microsoft.us/"},
        {"usgovdod", "authority=https://login.microsoftonline.us/", "graph=https://dod-graph.microsoft.us/"},
        {"china", "authority=https://login.chinacloudapi.cn/", "graph=https://microsoftgraph.chinacloudapi.cn/"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        th_note("row %zu", i);
        th_log log;
        th_log_init(&log);
        /* Creating a client sends nothing: the log line tells the URLs it will use. */
        const char *const ov[] = {"CLOUD", rows[i].cloud, "AUTH_AUTHORITY", NULL, "MS_GRAPH_RESOURCE_URL", NULL,
                                  "INTUNE_RESOURCE_URL", NULL, NULL};
        intune_scep_client *c = th_emu_client(emu, &log, ov);
        CHECK(th_log_count(&log, INTUNE_SCEP_LOG_DEBUG, "client created", rows[i].authority, rows[i].graph, NULL) == 1);
        intune_scep_client_free(c);
        th_log_destroy(&log);
    }
    /* Keys set explicitly win over the preset. */
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"CLOUD", "china", NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    char *want = th_strdupf("authority=%s", emu->base_url);
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_DEBUG, "client created", want, NULL) == 1);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
    free(want);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

/* ---- managed identity ---- */

static void test_managed_identity_imds(void) {
    reset();
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "system", "AAD_MANAGED_IDENTITY_ENDPOINT",
                              imds, NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_INT(intune_scep_client_credential_kind(c), INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY);
    CHECK_STATUS(intune_scep_validate_request(c, "tx-mi-1", csr->b64, err), INTUNE_SCEP_OK, err);
    CHECK_STATUS(intune_scep_validate_request(c, "tx-mi-2", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *reqs = th_emu_requests(emu, "managed_identity");
    CHECK_INT(cJSON_GetArraySize(reqs), 2); /* Graph and Intune once each: cached as before */
    for (int i = 0; i < cJSON_GetArraySize(reqs); i++) {
        CHECK_STR(th_req_header(th_item(reqs, i), "metadata"), "true");
        CHECK_CONTAINS(th_json_str(th_item(reqs, i), "query"), "api-version=2018-02-01");
        CHECK_NOT_CONTAINS(th_json_str(th_item(reqs, i), "query"), "client_id");
    }
    CHECK_INT(th_emu_request_count(emu, "token"), 0);
    CHECK_LOG_NO_SECRET(&log, "EmuTok-", "a bearer token");
    cJSON_Delete(reqs);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

static void test_managed_identity_user_assigned_and_unknown(void) {
    reset();
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", USER_IDENTITY,
                              "AAD_MANAGED_IDENTITY_ENDPOINT", imds, NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    cJSON *reqs = th_emu_requests(emu, "managed_identity");
    CHECK_CONTAINS(th_json_str(th_item(reqs, 0), "query"), "client_id=" USER_IDENTITY);
    cJSON_Delete(reqs);
    intune_scep_client_free(c);
    const char *const ov2[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "00000000-1111-2222-3333-444444444444",
                               "AAD_MANAGED_IDENTITY_ENDPOINT", imds, NULL};
    c = th_emu_client(emu, NULL, ov2);
    CHECK_STATUS(intune_scep_validate_request(c, "tx-mi-unknown", csr->b64, err), INTUNE_SCEP_E_AUTH, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "AAD_MANAGED_IDENTITY=00000000-1111-2222-3333-444444444444");
    CHECK_CONTAINS(intune_scep_error_message(err), "Identity not found");
    CHECK_INT(intune_scep_error_http_status(err), 400);
    CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

static void test_managed_identity_app_service(void) {
    reset();
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "system", "IDENTITY_ENDPOINT", app_service,
                              "IDENTITY_HEADER", emu->identity_header, NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_validate_request(c, "tx-appsvc", csr->b64, err), INTUNE_SCEP_OK, err);
    cJSON *reqs = th_emu_requests(emu, "managed_identity");
    CHECK_INT(cJSON_GetArraySize(reqs), 2);
    for (int i = 0; i < cJSON_GetArraySize(reqs); i++) {
        CHECK_STR(th_req_header(th_item(reqs, i), "x-identity-header"), emu->identity_header);
        CHECK_CONTAINS(th_json_str(th_item(reqs, i), "query"), "api-version=2019-08-01");
    }
    cJSON_Delete(reqs);
    CHECK_LOG_NO_SECRET(&log, emu->identity_header, "the identity header");
    intune_scep_client_free(c);
    const char *const bad[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "system", "IDENTITY_ENDPOINT", app_service,
                               "IDENTITY_HEADER", "Wrong~Header", NULL};
    c = th_emu_client(emu, &log, bad);
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_E_AUTH, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "HTTP 401");
    CHECK_NOT_CONTAINS(intune_scep_error_message(err), "Wrong~Header");
    CHECK_LOG_NO_SECRET(&log, "Wrong~Header", "the identity header");
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    th_log_destroy(&log);
}

static void test_managed_identity_retried_and_refused(void) {
    reset();
    th_emu_fault(emu, "{\"endpoint\":\"managed_identity\",\"status\":503,\"times\":1}");
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "system", "AAD_MANAGED_IDENTITY_ENDPOINT",
                              imds, NULL};
    intune_scep_client *c = th_emu_client(emu, NULL, ov);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    CHECK_INT(th_emu_request_count(emu, "managed_identity"), 2);
    /* A system identity the platform does not have; an endpoint where nothing listens. */
    th_emu_settings(emu, "{\"system_identity\":false}");
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_E_AUTH, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "AAD_MANAGED_IDENTITY=system");
    intune_scep_client_free(c);
    th_listener *l = th_listener_start(TH_LISTEN_RESET);
    char *dead = th_strdupf("http://127.0.0.1:%d/metadata/identity/oauth2/token", th_listener_port(l));
    th_listener_stop(l);
    const char *const ov2[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "system", "AAD_MANAGED_IDENTITY_ENDPOINT",
                               dead, "MAX_RETRIES", "0", NULL};
    c = th_emu_client(emu, NULL, ov2);
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_E_TRANSPORT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "could not be reached");
    intune_scep_client_free(c);
    free(dead);
    intune_scep_error_free(err);
}

/* A managed-identity answer that says two things at once is PROTOCOL, never a token. */
static void test_managed_identity_untrusted_answers(void) {
    static const struct {
        int status;
        const char *body;
    } rows[] = {
        {200, "{\"access_token\":\"FakeTok-a\",\"access_token\":\"FakeTok-b\",\"expires_in\":\"3600\",\"token_type\":\"Bearer\"}"},
        {200, "{\"access_token\":\"FakeTok-a\",\"expires_in\":\"3600\",\"expires_in\":\"1\",\"token_type\":\"Bearer\"}"},
        {200, "{\"access_token\":\"FakeTok-a\\u0000x\",\"expires_in\":\"3600\",\"token_type\":\"Bearer\"}"},
        {200, "{\"access_token\\u0000x\":\"FakeTok-a\",\"access_token\":\"FakeTok-b\",\"expires_in\":3600}"},
        {400, "{\"error\":\"invalid_request\",\"error\":\"Success\",\"error_description\":\"no\"}"},
        {400, "{\"statusCode\":400,\"message\":\"a\",\"message\":\"b\"}"},
    };
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_MANAGED_IDENTITY", "system", "AAD_MANAGED_IDENTITY_ENDPOINT",
                              imds, "MAX_RETRIES", "0", NULL};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        reset();
        th_log log;
        th_log_init(&log);
        th_emu_fault_respond(emu, "managed_identity", rows[i].status, rows[i].body, 0);
        intune_scep_client *c = th_emu_client(emu, &log, ov);
        intune_scep_error *err = intune_scep_error_new();
        th_note("row %zu: %s", i, rows[i].body);
        CHECK_STATUS(intune_scep_validate_request(c, "tx-mi-untrusted", csr->b64, err), INTUNE_SCEP_E_PROTOCOL, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "cannot be trusted");
        CHECK(intune_scep_error_service_code(err) == NULL ||
              strcmp(intune_scep_error_service_code(err), "Success") != 0);
        CHECK_INT(th_emu_request_count(emu, "validateRequest"), 0);
        CHECK_NOT_CONTAINS(intune_scep_error_message(err), "FakeTok-");
        CHECK_LOG_NO_SECRET(&log, "FakeTok-", "a bearer token");
        intune_scep_client_free(c);
        intune_scep_error_free(err);
        th_log_destroy(&log);
    }
}

/* ---- roles ---- */

static void test_token_roles(void) {
    reset();
    intune_scep_client *c = th_emu_client(emu, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    char *roles = NULL;
    CHECK_STATUS(intune_scep_client_token_roles(c, INTUNE_SCEP_RESOURCE_INTUNE, &roles, err), INTUNE_SCEP_OK, err);
    CHECK_STR(roles, "scep_challenge_provider");
    intune_scep_string_free(roles);
    CHECK_STATUS(intune_scep_client_token_roles(c, INTUNE_SCEP_RESOURCE_GRAPH, &roles, err), INTUNE_SCEP_OK, err);
    CHECK_STR(roles, "Application.Read.All");
    intune_scep_string_free(roles);
    th_emu_settings(emu, "{\"roles\":{\"intune\":[\"other\",\"more\"]}}");
    CHECK_STATUS(intune_scep_client_token_roles(c, INTUNE_SCEP_RESOURCE_INTUNE, &roles, err), INTUNE_SCEP_OK, err);
    CHECK_STR(roles, "other,more");
    intune_scep_string_free(roles);
    /* A role that holds the separator cannot pose as the permission it names. */
    th_emu_settings(emu, "{\"roles\":{\"intune\":[\"x,scep_challenge_provider\",\"bad\\nrole\"]}}");
    CHECK_STATUS(intune_scep_client_token_roles(c, INTUNE_SCEP_RESOURCE_INTUNE, &roles, err), INTUNE_SCEP_OK, err);
    CHECK_STR(roles, "");
    intune_scep_string_free(roles);
    /* A payload that states "roles" twice cannot be trusted: no roles, whichever member comes first. */
    th_emu_settings(emu, "{\"roles\":{\"intune\":[\"other\"]},"
                         "\"token_payload_extra\":\"\\\"roles\\\":[\\\"scep_challenge_provider\\\"]\"}");
    CHECK_STATUS(intune_scep_client_token_roles(c, INTUNE_SCEP_RESOURCE_INTUNE, &roles, err), INTUNE_SCEP_OK, err);
    CHECK_STR(roles, "");
    intune_scep_string_free(roles);
    /* An empty role is left out, not joined as an empty item. */
    th_emu_settings(emu, "{\"roles\":{\"intune\":[\"a\",\"\",\"b\"]},\"token_payload_extra\":\"\"}");
    CHECK_STATUS(intune_scep_client_token_roles(c, INTUNE_SCEP_RESOURCE_INTUNE, &roles, err), INTUNE_SCEP_OK, err);
    CHECK_STR(roles, "a,b");
    intune_scep_string_free(roles);
    CHECK_STATUS(intune_scep_client_token_roles(c, 7, &roles, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
}

/* ---- rotation ---- */

typedef struct {
    intune_scep_client *c;
    atomic_int *stop;
    int failures, calls, index;
} worker_arg;

static void *worker(void *p) {
    worker_arg *w = p;
    intune_scep_error *err = intune_scep_error_new();
    while (!atomic_load(w->stop)) {
        char tx[64];
        snprintf(tx, sizeof tx, "tx-rot-%d-%d", w->index, w->calls);
        if (intune_scep_validate_request(w->c, tx, csr->b64, err) != INTUNE_SCEP_OK) {
            if (w->failures++ == 0) th_note("thread %d: %s", w->index, intune_scep_error_message(err));
        }
        w->calls++;
    }
    intune_scep_error_free(err);
    return NULL;
}

static void rotate(intune_scep_client *c, const char *k1, const char *v1, const char *k2, const char *v2) {
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_config_set(cfg, k1, v1);
    if (k2) intune_scep_config_set(cfg, k2, v2);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_update_credentials(c, cfg, err), INTUNE_SCEP_OK, err);
    intune_scep_error_free(err);
    intune_scep_config_free(cfg);
}

/* How many requests the emulator has answered on `endpoint` since it started (never trimmed). */
static long endpoint_count(const char *endpoint) {
    cJSON *s = th_emu_stats(emu);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "endpoints"), endpoint);
    long n = cJSON_IsNumber(e) ? (long)e->valuedouble : 0;
    cJSON_Delete(s);
    return n;
}

/* Rotate, then wait (bounded) until a call fetched a token with the new credential on `endpoint`:
 * on a slow machine (valgrind) a fixed pause can pass before any call starts after a rotation. */
static void rotate_and_wait(intune_scep_client *c, const char *endpoint, const char *k1, const char *v1,
                            const char *k2, const char *v2) {
    long before = endpoint_count(endpoint);
    rotate(c, k1, v1, k2, v2);
    int rounds = (int)(600 * th_time_scale());
    for (int i = 0; i < rounds && endpoint_count(endpoint) <= before; i++) th_sleep_ms(50);
    CHECK(endpoint_count(endpoint) > before);
    th_sleep_ms(100);
}

static void test_rotation_under_8_threads(void) {
    reset();
    char *jwt = make_jwt(issuer_key, ISSUER, SUBJECT, AUDIENCE, 3600);
    write_file(token_file, jwt);
    th_log log;
    th_log_init(&log);
    intune_scep_client *c = th_emu_client(emu, &log, NULL);
    atomic_int stop = 0;
    pthread_t t[8];
    worker_arg w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker_arg){.c = c, .stop = &stop, .index = i};
        REQUIRE(pthread_create(&t[i], NULL, worker, &w[i]) == 0);
    }
    th_sleep_ms(300);
    rotate_and_wait(c, "token", "AAD_FEDERATED_TOKEN_FILE", token_file, NULL, NULL);
    rotate_and_wait(c, "managed_identity", "AAD_MANAGED_IDENTITY", "system", "AAD_MANAGED_IDENTITY_ENDPOINT", imds);
    rotate_and_wait(c, "token", "AAD_APP_KEY", th_emu_cfg(emu, "AAD_APP_KEY"), NULL, NULL);
    rotate_and_wait(c, "token", "AAD_FEDERATED_TOKEN_FILE", token_file, NULL, NULL);
    atomic_store(&stop, 1);
    int failures = 0, calls = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
        calls += w[i].calls;
        CHECK(w[i].calls > 0);
    }
    th_note("%d calls on 8 threads across 4 rotations", calls);
    CHECK_INT(failures, 0);
    /* The new credential is in use afterwards. */
    CHECK_INT(intune_scep_client_credential_kind(c), INTUNE_SCEP_CREDENTIAL_FEDERATED);
    cJSON *reqs = th_emu_requests(emu, "token");
    int n = cJSON_GetArraySize(reqs);
    REQUIRE(n >= 3);
    char *want = th_strdupf("client_assertion=%s&", jwt);
    CHECK_CONTAINS(th_req_body(th_item(reqs, n - 1)), want);
    CHECK(th_emu_request_count(emu, "managed_identity") >= 1);
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_INFO, "the credential was replaced (now a federated token)", NULL) == 2);
    CHECK_LOG_NO_SECRET(&log, sig_of(jwt), "the federated token");
    /* A refused candidate leaves the client as it was. */
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_config_set(cfg, "AAD_APP_KEY", "x");
    intune_scep_config_set(cfg, "AAD_MANAGED_IDENTITY", "system");
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_update_credentials(c, cfg, err), INTUNE_SCEP_E_CONFIG, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "both set");
    CHECK_INT(intune_scep_client_credential_kind(c), INTUNE_SCEP_CREDENTIAL_FEDERATED);
    CHECK_STATUS(intune_scep_client_update_credentials(c, NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    cJSON_Delete(reqs);
    free(want);
    free(jwt);
    intune_scep_client_free(c);
    th_log_destroy(&log);
}

/* ---- the certificate's expiry ---- */

static void test_certificate_expiry_warning(void) {
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, (const unsigned char *)"short", -1,
                               -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_gmtime_adj(X509_getm_notBefore(cert), -86400);
    X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 86400);
    X509_set_pubkey(cert, key);
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    char *path = th_strdupf("%s/short.pem", th_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    PEM_write_X509(f, cert);
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    th_log log;
    th_log_init(&log);
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_CLIENT_CERT_FILE", path, NULL};
    intune_scep_client *c = th_emu_client(emu, &log, ov);
    CHECK_INT(intune_scep_client_credential_kind(c), INTUNE_SCEP_CREDENTIAL_CERTIFICATE);
    int64_t left = intune_scep_client_certificate_expiry(c) - (int64_t)time(NULL);
    CHECK(left > 9 * 86400 && left <= 10 * 86400);
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "AAD_CLIENT_CERT_FILE", "expires within 30 days", NULL) == 1);
    intune_scep_client_free(c);
    th_log_destroy(&log);
    X509_free(cert);
    EVP_PKEY_free(key);
    free(path);
}

static void setup(void) {
    issuer_key = EVP_RSA_gen(2048);
    stranger_key = EVP_RSA_gen(2048);
    REQUIRE(issuer_key && stranger_key);
    emu = th_emu_start(NULL);
    REQUIRE(emu->managed_identity_url && emu->identity_header);
    imds = th_strdupf("%smetadata/identity/oauth2/token", emu->managed_identity_url);
    app_service = th_strdupf("%smsi/token", emu->managed_identity_url);
    token_file = th_strdupf("%s/federated-token", th_tmpdir());
    csr = th_emu_device_csr(emu, "CN=workload,O=Contoso");
}

static void teardown(void) {
    th_csr_free(csr);
    th_emu_stop(emu);
    EVP_PKEY_free(issuer_key);
    EVP_PKEY_free(stranger_key);
    free(imds);
    free(app_service);
    free(token_file);
}

static const th_test tests[] = {
    {"federated_success", test_federated_success},
    {"federated_file_reread", test_federated_file_reread},
    {"federated_refused", test_federated_refused},
    {"federated_file_missing_or_empty", test_federated_file_missing_or_empty},
    {"one_credential_kind", test_one_credential_kind},
    {"cloud_presets", test_cloud_presets},
    {"managed_identity_imds", test_managed_identity_imds},
    {"managed_identity_user_assigned_and_unknown", test_managed_identity_user_assigned_and_unknown},
    {"managed_identity_app_service", test_managed_identity_app_service},
    {"managed_identity_retried_and_refused", test_managed_identity_retried_and_refused},
    {"managed_identity_untrusted_answers", test_managed_identity_untrusted_answers},
    {"token_roles", test_token_roles},
    {"rotation_under_8_threads", test_rotation_under_8_threads},
    {"certificate_expiry_warning", test_certificate_expiry_warning},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
