/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: every error intune_scep_client_new reports (protocol.md §1 and the
 * header), warnings for unknown and retired keys, the argument checks of the
 * configuration functions, and intune_scep_config_load_file's java.util.Properties
 * syntax. Nothing here talks to a server: creating a client sends nothing.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "Sx~9+/=kEy.Do-Not-Print-7Q"
#define PROXY_SECRET "Pr0xy~Pass+/=Never-Shown"

static const char *const base_keys[] = {
    "AAD_APP_ID", "11111111-2222-3333-4444-555555555555",
    "AAD_APP_KEY", SECRET,
    "TENANT", "contoso.onmicrosoft.com",
    "PROVIDER_NAME_AND_VERSION", "Contoso SCEP 1.0",
    NULL};

static intune_scep_config *base_config(th_log *log) {
    intune_scep_config *cfg = intune_scep_config_new();
    REQUIRE(cfg != NULL);
    for (int i = 0; base_keys[i]; i += 2) REQUIRE(intune_scep_config_set(cfg, base_keys[i], base_keys[i + 1]) == INTUNE_SCEP_OK);
    if (log) intune_scep_config_set_log_callback(cfg, th_log_cb, log, INTUNE_SCEP_LOG_DEBUG);
    return cfg;
}

/* Create a client from cfg; expect `want`; when it fails, the message names `key`. */
static void expect_client(const char *file, int line, intune_scep_config *cfg, int want, const char *key, th_log *log) {
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *client = (intune_scep_client *)(uintptr_t)1;
    int rc = intune_scep_client_new(cfg, &client, err);
    if (!th_check_status(file, line, "intune_scep_client_new", rc, want, err)) {
        intune_scep_error_free(err);
        if (rc == INTUNE_SCEP_OK) intune_scep_client_free(client);
        return;
    }
    if (want == INTUNE_SCEP_OK) {
        if (!client || client == (intune_scep_client *)(uintptr_t)1) th_fail(file, line, "client_new OK without a client");
        else intune_scep_client_free(client);
    } else {
        if (client != NULL) th_fail(file, line, "*out must be NULL after a failed intune_scep_client_new");
        if (intune_scep_error_status(err) != want) th_fail(file, line, "intune_scep_error_status differs from the returned status");
        const char *msg = intune_scep_error_message(err);
        if (key) th_check_contains(file, line, "error message", msg, key, 1);
        if (msg && strstr(msg, SECRET)) th_fail(file, line, "the error message holds the app key");
        if (msg && strstr(msg, PROXY_SECRET)) th_fail(file, line, "the error message holds the proxy password");
        if (intune_scep_error_activity_id(err) != NULL) th_fail(file, line, "a configuration error has no activity id");
    }
    if (log) {
        th_log_check_no_secret(file, line, log, SECRET, "the app key");
        th_log_check_no_secret(file, line, log, PROXY_SECRET, "the proxy password");
    }
    intune_scep_error_free(err);
}
#define EXPECT_CLIENT(cfg, want, key, log) expect_client(__FILE__, __LINE__, (cfg), (want), (key), (log))

static void with_key(const char *key, const char *value, int want, const char *named) {
    th_log log;
    th_log_init(&log);
    intune_scep_config *cfg = base_config(&log);
    REQUIRE(intune_scep_config_set(cfg, key, value) == INTUNE_SCEP_OK);
    expect_client(__FILE__, __LINE__, cfg, want, named, &log);
    if (want != INTUNE_SCEP_OK && th_log_count(&log, 0, SECRET, NULL)) th_fail(__FILE__, __LINE__, "secret logged");
    intune_scep_config_free(cfg);
    th_log_destroy(&log);
}

static void test_minimal_config_ok(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_config *cfg = base_config(&log);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, &log);
    /* Nothing logged at WARNING or above for a clean configuration. */
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, NULL), 0);
    intune_scep_config_free(cfg);
    th_log_destroy(&log);
}

static void test_required_keys(void) {
    static const char *const req[] = {"AAD_APP_ID", "AAD_APP_KEY", "TENANT", "PROVIDER_NAME_AND_VERSION"};
    for (size_t i = 0; i < 4; i++) {
        /* missing */
        intune_scep_config *cfg = base_config(NULL);
        REQUIRE(intune_scep_config_set(cfg, req[i], NULL) == INTUNE_SCEP_OK);
        CHECK(intune_scep_config_get(cfg, req[i]) == NULL);
        EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, req[i], NULL);
        intune_scep_config_free(cfg);
        /* empty (an empty value counts as not set) */
        with_key(req[i], "", INTUNE_SCEP_E_CONFIG, req[i]);
    }
    /* No key at all: the message names one of the required keys. */
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *client = NULL;
    CHECK_STATUS(intune_scep_client_new(cfg, &client, err), INTUNE_SCEP_E_CONFIG, err);
    CHECK(client == NULL);
    const char *m = intune_scep_error_message(err);
    CHECK(m && (strstr(m, "AAD_APP_ID") || strstr(m, "AAD_APP_KEY") || strstr(m, "TENANT") ||
                strstr(m, "PROVIDER_NAME_AND_VERSION")));
    intune_scep_error_free(err);
    intune_scep_config_free(cfg);
}

static void test_proxy_port(void) {
    static const char *const bad[] = {"abc", "0", "65536", "-1", "80x", "1.5", "99999999999999999999", " "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        intune_scep_config *cfg = base_config(NULL);
        REQUIRE(intune_scep_config_set(cfg, "PROXY_HOST", "proxy.contoso.com") == INTUNE_SCEP_OK);
        REQUIRE(intune_scep_config_set(cfg, "PROXY_PORT", bad[i]) == INTUNE_SCEP_OK);
        th_note("PROXY_PORT=\"%s\"", bad[i]);
        EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, "PROXY_PORT", NULL);
        intune_scep_config_free(cfg);
    }
    /* PROXY_HOST without PROXY_PORT */
    intune_scep_config *cfg = base_config(NULL);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_HOST", "proxy.contoso.com") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, "PROXY_PORT", NULL);
    /* good ports */
    REQUIRE(intune_scep_config_set(cfg, "PROXY_PORT", "1") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, NULL);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_PORT", "65535") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, NULL);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_PORT", "3128") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, NULL);
    intune_scep_config_free(cfg);
}

static void test_proxy_auth(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_config *cfg = base_config(&log);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_HOST", "proxy.contoso.com") == INTUNE_SCEP_OK);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_PORT", "3128") == INTUNE_SCEP_OK);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_USER", "scep-svc") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, "PROXY_PASS", &log);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_PASS", "") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, "PROXY_PASS", &log);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_PASS", PROXY_SECRET) == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, &log);
    /* A bad port next to a proxy password: the error must not carry the password. */
    REQUIRE(intune_scep_config_set(cfg, "PROXY_PORT", "nope") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, "PROXY_PORT", &log);
    CHECK_LOG_NO_SECRET(&log, PROXY_SECRET, "the proxy password");
    intune_scep_config_free(cfg);
    th_log_destroy(&log);
}

static void test_numbers(void) {
    static const char *const keys[] = {"TIMEOUT_MS", "CONNECT_TIMEOUT_MS", "MAX_RETRIES"};
    static const char *const bad[] = {"abc", "-1", "12abc", "1.5", "0x10", "99999999999999999999999", "+-3"};
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            th_note("%s=\"%s\"", keys[k], bad[i]);
            with_key(keys[k], bad[i], INTUNE_SCEP_E_CONFIG, keys[k]);
        }
    }
    with_key("MAX_RETRIES", "11", INTUNE_SCEP_E_CONFIG, "MAX_RETRIES");
    with_key("MAX_RETRIES", "0", INTUNE_SCEP_OK, NULL);
    with_key("MAX_RETRIES", "10", INTUNE_SCEP_OK, NULL);
    with_key("TIMEOUT_MS", "1500", INTUNE_SCEP_OK, NULL);
    with_key("CONNECT_TIMEOUT_MS", "250", INTUNE_SCEP_OK, NULL);
    /* An optional key with an empty value counts as not set. */
    with_key("TIMEOUT_MS", "", INTUNE_SCEP_OK, NULL);
    with_key("MAX_RETRIES", "", INTUNE_SCEP_OK, NULL);
    with_key("PROXY_HOST", "", INTUNE_SCEP_OK, NULL);
}

static void test_https_only(void) {
    static const char *const keys[] = {"AUTH_AUTHORITY", "MS_GRAPH_RESOURCE_URL"};
    static const char *const bad[] = {"http://login.microsoftonline.com/", "ftp://graph.microsoft.com/", "not a url",
                                      "graph.microsoft.com/"};
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            th_note("%s=\"%s\"", keys[k], bad[i]);
            with_key(keys[k], bad[i], INTUNE_SCEP_E_CONFIG, keys[k]);
        }
        with_key(keys[k], "https://login.microsoftonline.us/", INTUNE_SCEP_OK, NULL);
    }
}

static void test_unknown_and_retired_keys_warn(void) {
    th_log log;
    th_log_init(&log);
    intune_scep_config *cfg = base_config(&log);
    REQUIRE(intune_scep_config_set(cfg, "SOME_FUTURE_KEY", "x") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, &log);
    CHECK_INT(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "SOME_FUTURE_KEY", NULL), 1);
    th_log_clear(&log);

    intune_scep_config_free(cfg);
    cfg = base_config(&log);
    REQUIRE(intune_scep_config_set(cfg, "GRAPH_RESOURCE_URL", "https://graph.windows.net/") == INTUNE_SCEP_OK);
    REQUIRE(intune_scep_config_set(cfg, "GRAPH_API_VERSION", "1.6") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, &log);
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "GRAPH_RESOURCE_URL", NULL) >= 1 ||
          th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "GRAPH_", NULL) >= 1);
    /* Keys are case-sensitive: a lower-case required key is unknown, not the key. */
    th_log_clear(&log);
    intune_scep_config_free(cfg);
    cfg = base_config(&log);
    REQUIRE(intune_scep_config_set(cfg, "TENANT", NULL) == INTUNE_SCEP_OK);
    REQUIRE(intune_scep_config_set(cfg, "tenant", "contoso.onmicrosoft.com") == INTUNE_SCEP_OK);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, "TENANT", &log);
    CHECK_LOG_NO_SECRET(&log, SECRET, "the app key");
    intune_scep_config_free(cfg);
    th_log_destroy(&log);
}

static void test_config_set_get_arguments(void) {
    intune_scep_config *cfg = intune_scep_config_new();
    REQUIRE(cfg != NULL);
    CHECK_INT(intune_scep_config_set(NULL, "TENANT", "x"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_config_set(cfg, NULL, "x"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_config_set(cfg, "", "x"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_config_set(cfg, "TENANT", "a\nb"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_config_set(cfg, "TENANT", "a\x01" "b"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_config_set(cfg, "TEN\tANT", "x"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_config_set(cfg, "TENANT", "\xff\xfe"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK_INT(intune_scep_config_set(cfg, "\xc3", "x"), INTUNE_SCEP_E_INVALID_ARGUMENT);
    CHECK(intune_scep_config_get(cfg, "TENANT") == NULL);
    CHECK_INT(intune_scep_config_set(cfg, "TENANT", "contoso"), INTUNE_SCEP_OK);
    CHECK_STR(intune_scep_config_get(cfg, "TENANT"), "contoso");
    CHECK_INT(intune_scep_config_set(cfg, "TENANT", "fabrikam"), INTUNE_SCEP_OK);
    CHECK_STR(intune_scep_config_get(cfg, "TENANT"), "fabrikam");
    CHECK(intune_scep_config_get(cfg, "tenant") == NULL);
    CHECK_INT(intune_scep_config_set(cfg, "PROVIDER_NAME_AND_VERSION", "Contoso \xc3\xa9 \xe2\x82\xac 1.0"), INTUNE_SCEP_OK);
    CHECK_STR(intune_scep_config_get(cfg, "PROVIDER_NAME_AND_VERSION"), "Contoso \xc3\xa9 \xe2\x82\xac 1.0");
    CHECK_INT(intune_scep_config_set(cfg, "TENANT", NULL), INTUNE_SCEP_OK);
    CHECK(intune_scep_config_get(cfg, "TENANT") == NULL);
    CHECK(intune_scep_config_get(NULL, "TENANT") == NULL);
    CHECK(intune_scep_config_get(cfg, NULL) == NULL);
    intune_scep_config_free(cfg);
    intune_scep_config_free(NULL);

    /* intune_scep_client_new argument checks */
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *client = (intune_scep_client *)(uintptr_t)1;
    CHECK_STATUS(intune_scep_client_new(NULL, &client, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK(client == NULL);
    CHECK_CONTAINS(intune_scep_error_message(err), "cfg");
    cfg = base_config(NULL);
    CHECK_STATUS(intune_scep_client_new(cfg, NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "out");
    /* A NULL error object is allowed: the status alone tells. */
    CHECK_INT(intune_scep_client_new(NULL, &client, NULL), INTUNE_SCEP_E_INVALID_ARGUMENT);
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    intune_scep_client_free(NULL);
    intune_scep_error_free(NULL);
}

static void test_error_object(void) {
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE(err != NULL);
    CHECK_INT(intune_scep_error_status(err), INTUNE_SCEP_OK);
    CHECK_STR(intune_scep_error_message(err), "");
    CHECK(intune_scep_error_service_code(err) == NULL);
    CHECK(intune_scep_error_description(err) == NULL);
    CHECK(intune_scep_error_activity_id(err) == NULL);
    CHECK(intune_scep_error_transaction_id(err) == NULL);
    CHECK_INT(intune_scep_error_http_status(err), 0);
    CHECK(intune_scep_error_response_body(err) == NULL);
    CHECK_INT(intune_scep_error_aadsts_code(err), 0);
    /* fill it, then clear it */
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_client *client = NULL;
    CHECK_INT(intune_scep_client_new(cfg, &client, err), INTUNE_SCEP_E_CONFIG);
    CHECK_INT(intune_scep_error_status(err), INTUNE_SCEP_E_CONFIG);
    CHECK(strlen(intune_scep_error_message(err)) > 0);
    CHECK(strchr(intune_scep_error_message(err), '\n') == NULL);
    intune_scep_error_clear(err);
    CHECK_INT(intune_scep_error_status(err), INTUNE_SCEP_OK);
    CHECK_STR(intune_scep_error_message(err), "");
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);

    /* status names */
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_OK), "INTUNE_SCEP_OK");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_INVALID_ARGUMENT), "INTUNE_SCEP_E_INVALID_ARGUMENT");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_CONFIG), "INTUNE_SCEP_E_CONFIG");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_AUTH), "INTUNE_SCEP_E_AUTH");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_SERVICE_NOT_FOUND), "INTUNE_SCEP_E_SERVICE_NOT_FOUND");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_HTTP), "INTUNE_SCEP_E_HTTP");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_TRANSPORT), "INTUNE_SCEP_E_TRANSPORT");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_PROTOCOL), "INTUNE_SCEP_E_PROTOCOL");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_REJECTED), "INTUNE_SCEP_E_REJECTED");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_NOMEM), "INTUNE_SCEP_E_NOMEM");
    CHECK_STR(intune_scep_status_name(INTUNE_SCEP_E_INTERNAL), "INTUNE_SCEP_E_INTERNAL");
    CHECK_STR(intune_scep_status_name(999), "INTUNE_SCEP_E_UNKNOWN");
    CHECK_STR(intune_scep_status_name(-1), "INTUNE_SCEP_E_UNKNOWN");
    CHECK(intune_scep_version() != NULL && intune_scep_version()[0] != 0);
}

/* ---- intune_scep_config_load_file ---- */

static char *write_props(const char *name, const char *text, size_t len) {
    char *path = th_strdupf("%s/%s", th_tmpdir(), name);
    th_write_file(path, text, len ? len : strlen(text));
    return path;
}

static int load(intune_scep_config *cfg, const char *path, intune_scep_error *err) {
    return intune_scep_config_load_file(cfg, path, err);
}

static void test_load_file_syntax(void) {
    const char *text =
        "# a comment\n"
        "! another comment\n"
        "   # an indented comment\n"
        "\n"
        "   \t\n"
        "AAD_APP_ID=11111111-2222-3333-4444-555555555555\n"
        "TENANT : contoso.onmicrosoft.com\n"
        "PROVIDER_NAME_AND_VERSION   Contoso SCEP 1.0\n"
        "  INDENTED_KEY =  value with trailing space \n"
        "COLON_KEY:v1\n"
        "EQUALS_IN_VALUE=a=b:c\n"
        "my\\:key\\=x=escaped separators\n"
        "key\\ with\\ spaces=spaced\n"
        "EMPTY_KEY=\n"
        "BARE_KEY\n"
        "CONTINUED=abc\\\n"
        "      def\\\n"
        "\tghi\n"
        "NOT_CONTINUED=ends with two backslashes\\\\\n"
        "AFTER=after\n"
        "ESCAPES=tab\\there\\nnl\\\\bs\\rcr\\fff\n"
        "UNICODE=caf\\u00e9 \\u20AC\n"
        "SURROGATE=smile \\ud83d\\ude00!\n"
        "OTHER_ESCAPE=\\q\\z\n"
        "DUP=first\n"
        "DUP=second\n"
        "HASH_IN_VALUE=a # not a comment\n";
    char *path = write_props("syntax.properties", text, 0);
    intune_scep_config *cfg = intune_scep_config_new();
    REQUIRE(intune_scep_config_set(cfg, "PRESET", "kept") == INTUNE_SCEP_OK);
    REQUIRE(intune_scep_config_set(cfg, "DUP", "overwritten") == INTUNE_SCEP_OK);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(load(cfg, path, err), INTUNE_SCEP_OK, err);
    CHECK_STR(intune_scep_config_get(cfg, "AAD_APP_ID"), "11111111-2222-3333-4444-555555555555");
    CHECK_STR(intune_scep_config_get(cfg, "TENANT"), "contoso.onmicrosoft.com");
    CHECK_STR(intune_scep_config_get(cfg, "PROVIDER_NAME_AND_VERSION"), "Contoso SCEP 1.0");
    CHECK_STR(intune_scep_config_get(cfg, "INDENTED_KEY"), "value with trailing space ");
    CHECK_STR(intune_scep_config_get(cfg, "COLON_KEY"), "v1");
    CHECK_STR(intune_scep_config_get(cfg, "EQUALS_IN_VALUE"), "a=b:c");
    CHECK_STR(intune_scep_config_get(cfg, "my:key=x"), "escaped separators");
    CHECK_STR(intune_scep_config_get(cfg, "key with spaces"), "spaced");
    const char *e = intune_scep_config_get(cfg, "EMPTY_KEY");
    CHECK(e == NULL || e[0] == 0);
    const char *b = intune_scep_config_get(cfg, "BARE_KEY");
    CHECK(b == NULL || b[0] == 0);
    CHECK_STR(intune_scep_config_get(cfg, "CONTINUED"), "abcdefghi");
    CHECK_STR(intune_scep_config_get(cfg, "NOT_CONTINUED"), "ends with two backslashes\\");
    CHECK_STR(intune_scep_config_get(cfg, "AFTER"), "after");
    /* the escapes \t \n \r \f \\ of java.util.Properties */
    const char *esc = intune_scep_config_get(cfg, "ESCAPES");
    CHECK(esc != NULL);
    if (esc) CHECK_STR(esc, "tab\there\nnl\\bs\rcr\fff");
    CHECK_STR(intune_scep_config_get(cfg, "UNICODE"), "caf\xc3\xa9 \xe2\x82\xac");
    CHECK_STR(intune_scep_config_get(cfg, "SURROGATE"), "smile \xf0\x9f\x98\x80!");
    CHECK_STR(intune_scep_config_get(cfg, "OTHER_ESCAPE"), "qz");
    CHECK_STR(intune_scep_config_get(cfg, "DUP"), "second");
    CHECK_STR(intune_scep_config_get(cfg, "HASH_IN_VALUE"), "a # not a comment");
    CHECK_STR(intune_scep_config_get(cfg, "PRESET"), "kept");
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    free(path);
}

static void test_load_file_line_endings_and_latin1(void) {
    const char text[] = "A=one\r\nB=two\\\r\n   three\r\nC=caf\xe9\r\n";
    char *path = write_props("crlf-latin1.properties", text, sizeof text - 1);
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(load(cfg, path, err), INTUNE_SCEP_OK, err);
    CHECK_STR(intune_scep_config_get(cfg, "A"), "one");
    CHECK_STR(intune_scep_config_get(cfg, "B"), "twothree");
    /* not valid UTF-8 -> read as ISO-8859-1: 0xE9 is é */
    CHECK_STR(intune_scep_config_get(cfg, "C"), "caf\xc3\xa9");
    intune_scep_config_free(cfg);
    free(path);

    /* valid UTF-8 stays UTF-8 */
    const char utf8[] = "D=caf\xc3\xa9\n";
    path = write_props("utf8.properties", utf8, sizeof utf8 - 1);
    cfg = intune_scep_config_new();
    REQUIRE_STATUS(load(cfg, path, err), INTUNE_SCEP_OK, err);
    CHECK_STR(intune_scep_config_get(cfg, "D"), "caf\xc3\xa9");
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    free(path);
}

static int mentions_line(const char *msg, int line) {
    if (!msg) return 0;
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "line %d", line);
    snprintf(b, sizeof b, ":%d:", line);
    snprintf(c, sizeof c, ":%d ", line);
    return strstr(msg, a) || strstr(msg, b) || strstr(msg, c);
}

static void test_load_file_errors(void) {
    static const char *const bad_escapes[] = {"\\u12G4", "\\u12", "\\u", "\\uZZZZ"};
    intune_scep_error *err = intune_scep_error_new();
    for (size_t i = 0; i < sizeof bad_escapes / sizeof *bad_escapes; i++) {
        char *text = th_strdupf("# header\nGOOD=1\n\nBAD=x%sy\nLATER=2\n", bad_escapes[i]);
        char *path = write_props("bad.properties", text, 0);
        intune_scep_config *cfg = intune_scep_config_new();
        REQUIRE(intune_scep_config_set(cfg, "PRESET", "kept") == INTUNE_SCEP_OK);
        th_note("escape %s", bad_escapes[i]);
        CHECK_STATUS(load(cfg, path, err), INTUNE_SCEP_E_CONFIG, err);
        CHECK_INT(intune_scep_error_status(err), INTUNE_SCEP_E_CONFIG);
        const char *msg = intune_scep_error_message(err);
        CHECK_CONTAINS(msg, path);
        if (!mentions_line(msg, 4)) th_fail(__FILE__, __LINE__, "message does not give line 4: %s", msg ? msg : "NULL");
        /* cfg unchanged: neither the lines before the error nor after it were applied */
        CHECK(intune_scep_config_get(cfg, "GOOD") == NULL);
        CHECK(intune_scep_config_get(cfg, "LATER") == NULL);
        CHECK_STR(intune_scep_config_get(cfg, "PRESET"), "kept");
        intune_scep_config_free(cfg);
        free(path);
        free(text);
    }
    /* a malformed escape after a continuation: the line number is still reported (5 or 6) */
    {
        char *path = write_props("bad2.properties", "A=1\nB=2\nC=3\nD=4\nE=start\\\n   more\\uXYZW\n", 0);
        intune_scep_config *cfg = intune_scep_config_new();
        CHECK_STATUS(load(cfg, path, err), INTUNE_SCEP_E_CONFIG, err);
        const char *msg = intune_scep_error_message(err);
        if (!mentions_line(msg, 5) && !mentions_line(msg, 6))
            th_fail(__FILE__, __LINE__, "message does not give line 5 or 6: %s", msg ? msg : "NULL");
        intune_scep_config_free(cfg);
        free(path);
    }
    /* missing file */
    {
        char *path = th_strdupf("%s/does-not-exist.properties", th_tmpdir());
        intune_scep_config *cfg = intune_scep_config_new();
        CHECK_STATUS(load(cfg, path, err), INTUNE_SCEP_E_CONFIG, err);
        CHECK_CONTAINS(intune_scep_error_message(err), path);
        intune_scep_config_free(cfg);
        free(path);
    }
    /* a directory is not a file */
    {
        intune_scep_config *cfg = intune_scep_config_new();
        CHECK_STATUS(load(cfg, th_tmpdir(), err), INTUNE_SCEP_E_CONFIG, err);
        intune_scep_config_free(cfg);
    }
    /* over 1 MiB */
    {
        size_t n = 1100 * 1024;
        char *big = malloc(n + 1);
        for (size_t i = 0; i < n; i++) big[i] = (i % 64 == 63) ? '\n' : '#';
        big[n] = 0;
        char *path = write_props("big.properties", big, n);
        intune_scep_config *cfg = intune_scep_config_new();
        CHECK_STATUS(load(cfg, path, err), INTUNE_SCEP_E_CONFIG, err);
        intune_scep_config_free(cfg);
        free(path);
        free(big);
    }
    /* argument checks */
    {
        char *path = write_props("ok.properties", "A=1\n", 0);
        intune_scep_config *cfg = intune_scep_config_new();
        CHECK_STATUS(load(NULL, path, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "cfg");
        CHECK_STATUS(load(cfg, NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "path");
        CHECK_STATUS(load(cfg, "", err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
        CHECK_CONTAINS(intune_scep_error_message(err), "path");
        CHECK_INT(load(cfg, path, NULL), INTUNE_SCEP_OK);
        CHECK_STR(intune_scep_config_get(cfg, "A"), "1");
        intune_scep_config_free(cfg);
        free(path);
    }
    intune_scep_error_free(err);
}

static void test_load_file_then_client(void) {
    /* A reference-style properties file (with the retired Azure AD Graph keys) makes a client. */
    const char *text =
        "# Intune-Resource-Access style\n"
        "AAD_APP_ID=11111111-2222-3333-4444-555555555555\n"
        "AAD_APP_KEY=" SECRET "\n"
        "TENANT=contoso.onmicrosoft.com\n"
        "PROVIDER_NAME_AND_VERSION=Contoso SCEP 1.0\n"
        "GRAPH_RESOURCE_URL=https://graph.windows.net/\n"
        "GRAPH_API_VERSION=1.6\n"
        "TIMEOUT_MS=\n";
    char *path = write_props("reference.properties", text, 0);
    th_log log;
    th_log_init(&log);
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_config_set_log_callback(cfg, th_log_cb, &log, INTUNE_SCEP_LOG_DEBUG);
    intune_scep_error *err = intune_scep_error_new();
    REQUIRE_STATUS(load(cfg, path, err), INTUNE_SCEP_OK, err);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, &log);
    CHECK(th_log_count(&log, INTUNE_SCEP_LOG_WARNING, "GRAPH_", NULL) >= 1);
    CHECK_LOG_NO_SECRET(&log, SECRET, "the app key");
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    th_log_destroy(&log);
    free(path);
}

/* intune_scep_config_load_env: only known keys, the prefix, all or nothing, never a value in a message. */
static void test_load_env(void) {
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_config *cfg = intune_scep_config_new();
    REQUIRE(cfg != NULL);
    /* Nothing reads the environment behind the caller's back: without the call, the key is missing. */
    setenv("INTUNE_SCEP_AAD_APP_KEY", SECRET, 1);
    for (int i = 0; base_keys[i]; i += 2)
        if (strcmp(base_keys[i], "AAD_APP_KEY") != 0) REQUIRE(intune_scep_config_set(cfg, base_keys[i], base_keys[i + 1]) == 0);
    EXPECT_CLIENT(cfg, INTUNE_SCEP_E_CONFIG, "AAD_APP_KEY", NULL);
    CHECK(intune_scep_config_get(cfg, "AAD_APP_KEY") == NULL);

    /* The default prefix (NULL): the key is set, the client can be made. */
    setenv("INTUNE_SCEP_TENANT", "fabrikam.onmicrosoft.com", 1);
    setenv("INTUNE_SCEP_ARTIFACTS", "/not/a/configuration/key", 1);
    REQUIRE_STATUS(intune_scep_config_load_env(cfg, NULL, err), INTUNE_SCEP_OK, err);
    CHECK_STR(intune_scep_config_get(cfg, "AAD_APP_KEY"), SECRET);
    CHECK_STR(intune_scep_config_get(cfg, "TENANT"), "fabrikam.onmicrosoft.com"); /* the environment wins */
    CHECK(intune_scep_config_get(cfg, "ARTIFACTS") == NULL);                       /* only known keys */
    CHECK_STR(intune_scep_config_get(cfg, "AAD_APP_ID"), base_keys[1]);            /* others kept */
    EXPECT_CLIENT(cfg, INTUNE_SCEP_OK, NULL, NULL);
    unsetenv("INTUNE_SCEP_AAD_APP_KEY");
    unsetenv("INTUNE_SCEP_TENANT");
    unsetenv("INTUNE_SCEP_ARTIFACTS");

    /* Another prefix; a key set to "" is set to "". Case matters (keys are case-sensitive). */
    setenv("MYCA_PROXY_HOST", "", 1);
    setenv("MYCA_ScepRequestValidationFEServiceVersion", "2019-01-01", 1);
    setenv("MYCA_scepRequestValidationFEServiceVersion", "1999-01-01", 1);
    REQUIRE(intune_scep_config_set(cfg, "PROXY_HOST", "proxy.example") == 0);
    REQUIRE_STATUS(intune_scep_config_load_env(cfg, "MYCA_", err), INTUNE_SCEP_OK, err);
    CHECK_STR(intune_scep_config_get(cfg, "PROXY_HOST"), "");
    CHECK_STR(intune_scep_config_get(cfg, "ScepRequestValidationFEServiceVersion"), "2019-01-01");
    CHECK(intune_scep_config_get(cfg, "scepRequestValidationFEServiceVersion") == NULL);
    unsetenv("MYCA_PROXY_HOST");
    unsetenv("MYCA_ScepRequestValidationFEServiceVersion");
    unsetenv("MYCA_scepRequestValidationFEServiceVersion");

    /* All or nothing: a control character in one value sets none, and the message names the
       variable, never a value. */
    setenv("MYCA_AAD_APP_ID", "aaaaaaaa-0000-0000-0000-000000000000", 1);
    setenv("MYCA_PROXY_PASS", PROXY_SECRET "\n", 1);
    CHECK_STATUS(intune_scep_config_load_env(cfg, "MYCA_", err), INTUNE_SCEP_E_CONFIG, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "MYCA_PROXY_PASS");
    CHECK_CONTAINS(intune_scep_error_message(err), "control character");
    CHECK_NOT_CONTAINS(intune_scep_error_message(err), PROXY_SECRET);
    CHECK_STR(intune_scep_config_get(cfg, "AAD_APP_ID"), base_keys[1]);
    CHECK(intune_scep_config_get(cfg, "PROXY_PASS") == NULL);
    setenv("MYCA_PROXY_PASS", "\xff\xfe", 1);
    CHECK_STATUS(intune_scep_config_load_env(cfg, "MYCA_", err), INTUNE_SCEP_E_CONFIG, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "not valid UTF-8");
    unsetenv("MYCA_PROXY_PASS");
    unsetenv("MYCA_AAD_APP_ID");

    /* Arguments. */
    CHECK_STATUS(intune_scep_config_load_env(NULL, NULL, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "cfg");
    CHECK_STATUS(intune_scep_config_load_env(cfg, "", err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "prefix");
    CHECK_STATUS(intune_scep_config_load_env(cfg, "MY=CA", err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "prefix");
    char longp[200];
    memset(longp, 'P', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    CHECK_STATUS(intune_scep_config_load_env(cfg, longp, err), INTUNE_SCEP_E_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(intune_scep_error_message(err), "prefix");
    CHECK_INT(intune_scep_config_load_env(cfg, NULL, NULL), INTUNE_SCEP_OK); /* err is optional */
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
}

/* The key table (intune_scep_config_key_*): every key once, the secrets and the retired keys
   exactly, nothing else known, and the environment read by the same table. */
static void test_key_table(void) {
    static const char *const secrets[] = {"AAD_APP_KEY", "PROXY_PASS", "AAD_CLIENT_KEY_PASSWORD", "IDENTITY_HEADER"};
    static const char *const retired[] = {"GRAPH_RESOURCE_URL", "GRAPH_API_VERSION"};
    size_t n = intune_scep_config_key_count();
    CHECK(n >= 31);
    size_t nsecret = 0, nretired = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = intune_scep_config_key_name(i);
        REQUIRE(k != NULL && *k);
        int flags = intune_scep_config_key_flags(k);
        if (!(flags & INTUNE_SCEP_CONFIG_KEY_KNOWN)) th_fail(__FILE__, __LINE__, "key %s of the table is not known", k);
        if (flags & ~(INTUNE_SCEP_CONFIG_KEY_KNOWN | INTUNE_SCEP_CONFIG_KEY_SECRET | INTUNE_SCEP_CONFIG_KEY_RETIRED))
            th_fail(__FILE__, __LINE__, "key %s has undocumented flags %d", k, flags);
        if (flags & INTUNE_SCEP_CONFIG_KEY_SECRET) nsecret++;
        if (flags & INTUNE_SCEP_CONFIG_KEY_RETIRED) nretired++;
        for (size_t j = 0; j < i; j++)
            if (strcmp(k, intune_scep_config_key_name(j)) == 0) th_fail(__FILE__, __LINE__, "key %s listed twice", k);
        CHECK(intune_scep_config_key_name(i) == k); /* static storage: the same string each time */
    }
    CHECK(intune_scep_config_key_name(n) == NULL);
    CHECK(intune_scep_config_key_name((size_t)-1) == NULL);
    /* The secrets are exactly these: a new secret key must be added here, to the tools' redaction
       (through this table) and to the docs on purpose. */
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        CHECK_INT(intune_scep_config_key_flags(secrets[i]), INTUNE_SCEP_CONFIG_KEY_KNOWN | INTUNE_SCEP_CONFIG_KEY_SECRET);
    CHECK_INT(nsecret, sizeof secrets / sizeof *secrets);
    for (size_t i = 0; i < sizeof retired / sizeof *retired; i++)
        CHECK_INT(intune_scep_config_key_flags(retired[i]), INTUNE_SCEP_CONFIG_KEY_KNOWN | INTUNE_SCEP_CONFIG_KEY_RETIRED);
    CHECK_INT(nretired, sizeof retired / sizeof *retired);
    CHECK_INT(intune_scep_config_key_flags("TENANT"), INTUNE_SCEP_CONFIG_KEY_KNOWN);
    CHECK_INT(intune_scep_config_key_flags("AAD_CLIENT_KEY_FILE"), INTUNE_SCEP_CONFIG_KEY_KNOWN); /* a path, not a secret */
    /* Unknown: NULL, empty, another case, a prefix, a longer name, blanks, a secret's name with a NUL cut. */
    static const char *const unknown[] = {"", "tenant", "aad_app_key", "TENAN", "TENANTS", "TENANT ", " TENANT",
                                          "AAD_APP_KEY\t", "SOME_FUTURE_KEY", "INTUNE_SCEP_AAD_APP_KEY", "ARTIFACTS"};
    CHECK_INT(intune_scep_config_key_flags(NULL), 0);
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        if (intune_scep_config_key_flags(unknown[i]) != 0)
            th_fail(__FILE__, __LINE__, "\"%s\" is not a key, yet has flags", unknown[i]);

    /* intune_scep_config_load_env reads exactly the keys of the table. */
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_config *cfg = intune_scep_config_new();
    REQUIRE(cfg != NULL);
    char name[128];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "KTAB_%s", intune_scep_config_key_name(i));
        setenv(name, "v", 1);
    }
    REQUIRE_STATUS(intune_scep_config_load_env(cfg, "KTAB_", err), INTUNE_SCEP_OK, err);
    for (size_t i = 0; i < n; i++) {
        const char *k = intune_scep_config_key_name(i);
        if (!intune_scep_config_get(cfg, k)) th_fail(__FILE__, __LINE__, "KTAB_%s was not read", k);
        snprintf(name, sizeof name, "KTAB_%s", k);
        unsetenv(name);
    }
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
}

/* A whole file of the source tree (INTUNE_SCEP_SOURCE_DIR, set by CTest), NUL-terminated. */
static char *source_file(const char *rel) {
    const char *dir = getenv("INTUNE_SCEP_SOURCE_DIR");
    if (!dir || !*dir) {
        th_fail(__FILE__, __LINE__, "INTUNE_SCEP_SOURCE_DIR is not set (CTest sets it)");
        th_abort_test();
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        th_fail(__FILE__, __LINE__, "cannot open %s", path);
        th_abort_test();
    }
    size_t cap = 1 << 16, len = 0, got;
    char *text = malloc(cap + 1);
    REQUIRE(text != NULL);
    while ((got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *bigger = realloc(text, 2 * cap + 1);
            REQUIRE(bigger != NULL);
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    text[len] = '\0';
    return text;
}

/*
 * The configuration table of a Markdown document (the one whose header row starts "| key |
 * required |") against the library's table: each key of the library has a row, each `name`
 * in a row's first cell is a key of the library, and a secret's row says it is a secret.
 */
static void check_doc_table(const char *rel) {
    char *doc = source_file(rel);
    size_t n = intune_scep_config_key_count();
    char *seen = calloc(n, 1);
    REQUIRE(seen != NULL);
    const char *p = strstr(doc, "\n| key | required |");
    if (!p) {
        th_fail(__FILE__, __LINE__, "%s: no configuration table (a header row \"| key | required | ...\")", rel);
    } else {
        p = strchr(p + 1, '\n'); /* the header row */
        p = p ? strchr(p + 1, '\n') : NULL; /* the |---| row */
        size_t rows = 0;
        while (p && p[1] == '|') {
            const char *row = p + 1, *end = strchr(row, '\n');
            size_t rowlen = end ? (size_t)(end - row) : strlen(row);
            const char *cell_end = memchr(row + 1, '|', rowlen - 1);
            size_t cell = cell_end ? (size_t)(cell_end - row) : rowlen;
            char line[2048];
            snprintf(line, sizeof line, "%.*s", (int)(rowlen < sizeof line ? rowlen : sizeof line - 1), row);
            for (const char *q = memchr(row, '`', cell); q && q < row + cell;) {
                const char *close = memchr(q + 1, '`', (size_t)(row + cell - q - 1));
                if (!close) break;
                char key[128];
                snprintf(key, sizeof key, "%.*s", (int)(close - q - 1), q + 1);
                int flags = intune_scep_config_key_flags(key);
                if (!flags) {
                    th_fail(__FILE__, __LINE__, "%s lists `%s`, which the library does not know", rel, key);
                } else {
                    for (size_t i = 0; i < n; i++)
                        if (strcmp(intune_scep_config_key_name(i), key) == 0) seen[i] = 1;
                    if ((flags & INTUNE_SCEP_CONFIG_KEY_SECRET) && !strstr(line, "secret"))
                        th_fail(__FILE__, __LINE__, "%s: the row of `%s` does not say it is a secret", rel, key);
                    if ((flags & INTUNE_SCEP_CONFIG_KEY_RETIRED) && !strstr(line, "retired"))
                        th_fail(__FILE__, __LINE__, "%s: the row of `%s` does not say it is retired", rel, key);
                }
                q = memchr(close + 1, '`', (size_t)(row + cell - close - 1));
            }
            rows++;
            p = end;
        }
        CHECK(rows > 0);
        for (size_t i = 0; i < n; i++)
            if (!seen[i])
                th_fail(__FILE__, __LINE__, "%s: the configuration table has no row for %s", rel,
                        intune_scep_config_key_name(i));
    }
    free(seen);
    free(doc);
}

/* Each key of the library appears as a word in text [from, to). */
static void check_words(const char *what, const char *from, const char *to) {
    for (size_t i = 0; i < intune_scep_config_key_count(); i++) {
        const char *k = intune_scep_config_key_name(i);
        size_t kl = strlen(k);
        int found = 0;
        for (const char *q = from; !found && (q = strstr(q, k)) != NULL && q + kl <= to; q += kl) {
            char before = q > from ? q[-1] : ' ', after = q[kl];
            int word = !((before >= 'A' && before <= 'Z') || (before >= 'a' && before <= 'z') ||
                         (before >= '0' && before <= '9') || before == '_') &&
                       !((after >= 'A' && after <= 'Z') || (after >= 'a' && after <= 'z') ||
                         (after >= '0' && after <= '9') || after == '_');
            found = word;
        }
        if (!found) th_fail(__FILE__, __LINE__, "%s does not name the key %s", what, k);
    }
}

/*
 * The keys a passage of prose names (every `UPPER_CASE` word in backquotes between the
 * markers `from` and `to` of the file `rel`; a `PREFIX_*` family counts when a key has the
 * prefix) are keys of the library: a renamed or retired key cannot stay in the docs.
 */
static void check_named_keys(const char *rel, const char *from_marker, const char *to_marker) {
    char *doc = source_file(rel);
    const char *from = strstr(doc, from_marker);
    const char *to = from ? strstr(from, to_marker) : NULL;
    if (!from || !to) {
        th_fail(__FILE__, __LINE__, "%s: the passage from \"%s\" to \"%s\" is not found", rel, from_marker, to_marker);
        free(doc);
        return;
    }
    int named = 0;
    for (const char *q = memchr(from, '`', (size_t)(to - from)); q && q < to;) {
        const char *close = memchr(q + 1, '`', (size_t)(to - q - 1));
        if (!close) break;
        char word[128];
        snprintf(word, sizeof word, "%.*s", (int)(close - q - 1 < 127 ? close - q - 1 : 127), q + 1);
        size_t wl = strlen(word);
        int upper = wl > 2;
        for (size_t i = 0; i < wl; i++)
            if (!((word[i] >= 'A' && word[i] <= 'Z') || (word[i] >= '0' && word[i] <= '9') || word[i] == '_' ||
                  (word[i] == '*' && i == wl - 1)))
                upper = 0;
        if (upper) {
            named++;
            int known = 0;
            if (word[wl - 1] == '*') {
                for (size_t i = 0; i < intune_scep_config_key_count(); i++)
                    if (strncmp(intune_scep_config_key_name(i), word, wl - 1) == 0) known = 1;
            } else {
                known = intune_scep_config_key_flags(word) != 0;
            }
            if (!known) th_fail(__FILE__, __LINE__, "%s names `%s`, which the library does not know", rel, word);
        }
        q = memchr(close + 1, '`', (size_t)(to - close - 1));
    }
    if (named < 4) th_fail(__FILE__, __LINE__, "%s: only %d keys found in the passage (is the marker right?)", rel, named);
    free(doc);
}

/* The documented key lists and the library's table agree (README, onboarding, the header). */
static void test_docs_list_every_key(void) {
    check_doc_table("README.md");
    check_doc_table("docs/onboarding.md");
    char *h = source_file("bindings/include/intune_scep.h");
    const char *from = strstr(h, "Keys (case-sensitive");
    const char *to = from ? strstr(from, "*/") : NULL;
    if (!from || !to) th_fail(__FILE__, __LINE__, "intune_scep.h: the key list at intune_scep_config_new is not found");
    else check_words("intune_scep.h's key list at intune_scep_config_new", from, to);
    free(h);
    /* Passages that name some keys and send the reader to the full list. */
    check_named_keys("python/README.md", "Configuration keys are those", "## Exceptions");
    check_named_keys("docs/scep-server.md", "The library's keys (", "the server's own keys are");
}

static const th_test tests[] = {
    {"minimal_config_ok", test_minimal_config_ok},
    {"required_keys", test_required_keys},
    {"proxy_port", test_proxy_port},
    {"proxy_auth", test_proxy_auth},
    {"numbers", test_numbers},
    {"https_only", test_https_only},
    {"unknown_and_retired_keys_warn", test_unknown_and_retired_keys_warn},
    {"config_set_get_arguments", test_config_set_get_arguments},
    {"error_object", test_error_object},
    {"load_file_syntax", test_load_file_syntax},
    {"load_file_line_endings_and_latin1", test_load_file_line_endings_and_latin1},
    {"load_file_errors", test_load_file_errors},
    {"load_file_then_client", test_load_file_then_client},
    {"load_env", test_load_env},
    {"key_table", test_key_table},
    {"docs_list_every_key", test_docs_list_every_key},
};

static void setup(void) {
    th_register_secret(SECRET);
    th_register_secret(PROXY_SECRET);
}

int main(int argc, char **argv) { return th_run(argc, argv, tests, sizeof tests / sizeof *tests, setup, NULL); }
