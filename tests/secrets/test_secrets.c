/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets do not outlive their use: run under the freescan interposer (LD_PRELOAD), every
 * block the library frees or moves is searched for the test's secrets (the app key, bearer
 * tokens, a properties file's app key, a client assertion, the key file's password), and
 * the live heap is searched for a secret the library should have dropped.
 *
 * Paths: a token answer that arrives in pieces (larger than libcurl's 16 KiB buffer), a
 * properties file whose app key is over 1 KiB (ISO-8859-1) or 8 KiB (UTF-8), app key
 * rotation, the certificate credential (assertions, the key file's password).
 */
#include "harness.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#define APP_SECRET "FreeScan~AppSecret.0123456789abcdefghij"
#define KEY_PASSWORD "FreeScan~K3yPassw0rd.42"
/* base64url of {"alg":"RS256","typ":"JWT","x5t":" : the start of every client assertion */
#define JWT_START "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsIng1dCI6"

static void (*fs_watch)(const char *, const void *, size_t);
static void (*fs_clear)(void);
static long (*fs_violations)(void);
static long (*fs_live)(const void *, size_t);

static th_emu *emu;

static void watch(const char *label, const char *secret) { fs_watch(label, secret, strlen(secret)); }

/* Random-looking ASCII of n characters starting with `prefix`. */
static char *long_secret(const char *prefix, size_t n) {
    char *s = malloc(n + 1);
    REQUIRE(s != NULL);
    size_t p = strlen(prefix);
    memcpy(s, prefix, p);
    for (size_t i = p; i < n; i++) s[i] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"[(i * 7919u + 13u) % 57u];
    s[n] = '\0';
    return s;
}

static void check_clean(const char *what) {
    long v = fs_violations();
    if (v) th_fail(__FILE__, __LINE__, "%s: %ld block(s) freed by the library still held a secret (see stderr)", what, v);
}

static void test_token_answer_in_pieces(void) {
    fs_clear();
    watch("the app key", APP_SECRET);
    watch("a bearer token", "EmuTok-");
    th_emu_reset(emu);
    /* A token answer of 64 KiB arrives in several pieces: the answer buffer grows while it
     * holds the start of the token. */
    char *token = long_secret("EmuTok-", 64 * 1024);
    char *body = th_strdupf("{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"%s\"}", token);
    th_emu_fault_respond(emu, "token", 200, body, 1);
    intune_scep_client *c = th_emu_client(emu, NULL, NULL);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    intune_scep_client_free(c);
    /* and the emulator's own tokens, through a whole call */
    c = th_emu_client(emu, NULL, NULL);
    th_csr *csr = th_emu_device_csr(emu, "CN=freescan,O=Contoso");
    CHECK_STATUS(intune_scep_validate_request(c, "tid-freescan", csr->b64, err), INTUNE_SCEP_OK, err);
    th_csr_free(csr);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    check_clean("token path");
    free(body);
    free(token);
}

static void properties_case(const char *what, const char *head, size_t key_len) {
    char *key = long_secret("PropKey-", key_len);
    fs_clear();
    fs_watch("the properties file's app key", key, 64);
    char *text = th_strdupf("%sAAD_APP_KEY=%s\n", head, key);
    char *path = th_strdupf("%s/freescan.properties", th_tmpdir());
    th_write_file(path, text, strlen(text));
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_config_load_file(cfg, path, err), INTUNE_SCEP_OK, err);
    const char *got = intune_scep_config_get(cfg, "AAD_APP_KEY");
    CHECK(got && strlen(got) == key_len);
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    check_clean(what);
    /* the test's own copies */
    memset(text, 0, strlen(text));
    memset(key, 0, key_len);
    free(text);
    free(key);
    free(path);
}

static void test_properties_file(void) {
    /* UTF-8: the value grows the reader's buffer past 8 KiB */
    properties_case("properties, UTF-8, 9 KiB app key", "# UTF-8 \xc3\xa9\nTENANT=contoso.onmicrosoft.com\n", 9 * 1024);
    /* ISO-8859-1 (not valid UTF-8): converted first, past 1 KiB */
    properties_case("properties, ISO-8859-1, 2 KiB app key", "# Latin-1 \xe9\nTENANT=contoso\n", 2 * 1024);
}

static void test_rotation(void) {
    fs_clear();
    const char *const first[] = {"AAD_APP_KEY", APP_SECRET, NULL};
    watch("the first app key", APP_SECRET);
    watch("the second app key", "FreeScan~Rotated.Second.key.0001");
    watch("the third app key", "FreeScan~Rotated.Third.key.00002");
    watch("a bearer token", "EmuTok-");
    th_emu_reset(emu);
    intune_scep_client *c = th_emu_client(emu, NULL, first);
    intune_scep_error *err = intune_scep_error_new();
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_GRAPH, err), INTUNE_SCEP_OK, err);
    /* the emulator accepts the app key it was started with only: the rotated keys are refused,
     * which goes through the error paths too */
    (void)intune_scep_client_set_app_key(c, "FreeScan~Rotated.Second.key.0001", err);
    (void)intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err);
    (void)intune_scep_client_set_app_key(c, "FreeScan~Rotated.Third.key.00002", err);
    (void)intune_scep_client_set_app_key(c, APP_SECRET, err);
    CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    check_clean("rotation");
}

static char *write_key(EVP_PKEY *key, const char *name, const char *password) {
    char *path = th_strdupf("%s/%s", th_tmpdir(), name);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    REQUIRE(PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)password) == 1);
    fclose(f);
    return path;
}

static void test_certificate_credential(void) {
    th_ca *app = th_ca_new("FreeScan connector");
    char *cert = th_strdupf("%s/freescan-app.pem", th_tmpdir());
    X509 *certs[] = {app->cert, NULL};
    th_write_pem_bundle(cert, certs);
    char *key = write_key(app->key, "freescan-app.key", KEY_PASSWORD);
    const char *const args[] = {"--client-cert-file", cert, NULL};
    th_emu *cemu = th_emu_start(args);
    fs_clear();
    watch("a client assertion", JWT_START);
    watch("the key file's password", KEY_PASSWORD);
    watch("a bearer token", "EmuTok-");
    const char *const ov[] = {"AAD_APP_KEY", NULL, "AAD_CLIENT_CERT_FILE", cert, "AAD_CLIENT_KEY_FILE", key,
                              "AAD_CLIENT_KEY_PASSWORD", KEY_PASSWORD, NULL};
    intune_scep_config *cfg = th_emu_config(cemu, NULL, ov);
    intune_scep_client *c = NULL;
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(intune_scep_client_new(cfg, &c, err), INTUNE_SCEP_OK, err);
    intune_scep_config_free(cfg);
    /* Loaded: the password is needed no more, and nothing on the heap holds it. */
    CHECK_INT(fs_live(KEY_PASSWORD, strlen(KEY_PASSWORD)), 0);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(intune_scep_client_fetch_token(c, INTUNE_SCEP_RESOURCE_INTUNE, err), INTUNE_SCEP_OK, err);
    CHECK_INT(fs_live(KEY_PASSWORD, strlen(KEY_PASSWORD)), 0);
    intune_scep_client_free(c);
    intune_scep_error_free(err);
    check_clean("certificate credential");
    th_emu_stop(cemu);
    th_ca_free(app);
    free(cert);
    free(key);
}

/* The scanner itself: a block the library frees with a secret in it is seen (an error object
 * holding the watched text, freed by intune_scep_error_free, which need not wipe it). */
static void test_scanner_sees_a_block(void) {
    fs_clear();
    long before = fs_violations();
    fs_watch("a marker", "FreeScan-Marker-Not-A-Secret", 28);
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    /* a config key name is not a secret and is freed as it is: the marker in a key name */
    CHECK_INT(intune_scep_config_set(cfg, "FreeScan-Marker-Not-A-Secret", "x"), INTUNE_SCEP_OK);
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    CHECK_INT(fs_violations() - before, 1);
    th_note("the scanner counted the marker's block freed by the library");
    fs_clear();
}

static void setup(void) {
    fs_watch = (void (*)(const char *, const void *, size_t))dlsym(RTLD_DEFAULT, "freescan_watch");
    fs_clear = (void (*)(void))dlsym(RTLD_DEFAULT, "freescan_clear");
    fs_violations = (long (*)(void))dlsym(RTLD_DEFAULT, "freescan_violations");
    fs_live = (long (*)(const void *, size_t))dlsym(RTLD_DEFAULT, "freescan_live");
    if (!fs_watch || !fs_clear || !fs_violations || !fs_live) {
        fprintf(stderr, "test_secrets: run it with LD_PRELOAD=libfreescan.so (the freescan interposer)\n");
        exit(2);
    }
    /* This process only: the emulator and other children run on the plain allocator. */
    unsetenv("LD_PRELOAD");
    const char *args[] = {"--app-secret", APP_SECRET, NULL};
    emu = th_emu_start(args);
}

static void teardown(void) { th_emu_stop(emu); }

static const th_test tests[] = {
    {"scanner_sees_a_block", test_scanner_sees_a_block},
    {"token_answer_in_pieces", test_token_answer_in_pieces},
    {"properties_file", test_properties_file},
    {"rotation", test_rotation},
    {"certificate_credential", test_certificate_credential},
};

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, teardown); }
