/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_properties.c - the java.util.Properties reader (isc_properties_parse):
 * bytes of a configuration file an administrator (or anyone) wrote; then the
 * validation of the keys read (isc_settings_from_config), whose messages and
 * warnings must name keys and never show a secret. */
#include "fuzz_common.h"
#include "config.h"

typedef struct {
    const intune_scep_config *cfg;
} log_ctx;

/* A secret worth looking for: long, with a '~' (no fixed message text has one), and
 * not also the value (or part of the value) of another key, which a message may quote. */
static int recognisable_secret(const intune_scep_config *cfg, const char *key, const char *v) {
    if (!v || strlen(v) < 8 || !strchr(v, '~')) return 0;
    for (size_t i = 0; i < cfg->count; i++) {
        if (strcmp(cfg->items[i].key, key) == 0) continue;
        if (strstr(cfg->items[i].value, v) || strstr(cfg->items[i].key, v)) return 0;
    }
    return 1;
}

/* A key that could be a value on a line of its own (an old secret): long, with a '~' (no key name
 * has one), and not also part of another key or of a value, which a message may quote. */
static int recognisable_stray_value(const intune_scep_config *cfg, size_t idx) {
    const char *k = cfg->items[idx].key;
    if (strlen(k) < 8 || !strchr(k, '~')) return 0;
    for (size_t i = 0; i < cfg->count; i++) {
        if (strstr(cfg->items[i].value, k)) return 0;
        if (i != idx && strstr(cfg->items[i].key, k)) return 0;
    }
    return 1;
}

static void check_no_secret(const intune_scep_config *cfg, const char *text) {
    if (!text) return;
    /* Every key the library's table marks as a secret (the one list of them). */
    for (size_t k = 0; k < isc_config_key_count(); k++) {
        const char *key = isc_config_key_name(k);
        if (!(isc_config_key_flags(key) & INTUNE_SCEP_CONFIG_KEY_SECRET)) continue;
        const char *v = intune_scep_config_get(cfg, key);
        if (recognisable_secret(cfg, key, v)) FUZZ_ASSERT(strstr(text, v) == NULL);
    }
    /* A warning about an unknown key prints it only when it looks like a key name. */
    for (size_t i = 0; i < cfg->count; i++)
        if (recognisable_stray_value(cfg, i)) FUZZ_ASSERT(strstr(text, cfg->items[i].key) == NULL);
}

static void on_log(void *userdata, int level, const char *message) {
    (void)level;
    log_ctx *ctx = userdata;
    FUZZ_ASSERT(message && fuzz_one_line(message));
    check_no_secret(ctx->cfg, message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > ISC_MAX_CONFIG_FILE) return 0; /* intune_scep_config_load_file refuses these */
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_error *err = intune_scep_error_new();
    FUZZ_ASSERT(cfg && err);
    /* An exact-size copy so ASan sees any read past the end. */
    char *text = malloc(size ? size : 1);
    FUZZ_ASSERT(text);
    if (size) memcpy(text, data, size);
    int rc = isc_properties_parse(cfg, text, size, "fuzz.properties", err);
    FUZZ_ASSERT(rc == INTUNE_SCEP_OK || rc == INTUNE_SCEP_E_CONFIG || rc == INTUNE_SCEP_E_NOMEM);
    if (rc == INTUNE_SCEP_OK) {
        for (size_t i = 0; i < cfg->count; i++) {
            const char *k = cfg->items[i].key, *v = cfg->items[i].value;
            FUZZ_ASSERT(k && *k && v);
            /* Keys and values come out as UTF-8 whatever the file's encoding. */
            FUZZ_ASSERT(fuzz_utf8(k));
            FUZZ_ASSERT(fuzz_utf8(v));
            /* Later lines win: each key is stored once. */
            for (size_t j = 0; j < i; j++) FUZZ_ASSERT(strcmp(cfg->items[j].key, k) != 0);
            FUZZ_ASSERT(intune_scep_config_get(cfg, k) == v);
        }
        /* Validation: a configuration error names the key and never shows a secret. */
        log_ctx ctx = {cfg};
        isc_logger logger;
        isc_logger_init(&logger, on_log, &ctx, INTUNE_SCEP_LOG_DEBUG);
        isc_settings settings;
        intune_scep_error *verr = intune_scep_error_new();
        FUZZ_ASSERT(verr);
        int vrc = isc_settings_from_config(cfg, &settings, &logger, verr);
        FUZZ_ASSERT(vrc == INTUNE_SCEP_OK || vrc == INTUNE_SCEP_E_CONFIG || vrc == INTUNE_SCEP_E_NOMEM);
        if (vrc == INTUNE_SCEP_E_CONFIG) {
            const char *m = intune_scep_error_message(verr);
            FUZZ_ASSERT(strstr(m, "configuration key") != NULL);
            FUZZ_ASSERT(fuzz_one_line(m));
            check_no_secret(cfg, m);
        }
        if (vrc == INTUNE_SCEP_OK) {
            /* Derived URLs are https and hold no blank or control character. */
            FUZZ_ASSERT(settings.token_url && isc_has_prefix_ci(settings.token_url, "https://"));
            FUZZ_ASSERT(settings.discovery_url && isc_has_prefix_ci(settings.discovery_url, "https://"));
            FUZZ_ASSERT(!isc_has_control(settings.token_url) && !strchr(settings.token_url, ' '));
            FUZZ_ASSERT(!isc_has_control(settings.discovery_url) && !strchr(settings.discovery_url, ' '));
            FUZZ_ASSERT(settings.timeout_ms >= 1 && settings.max_retries >= 0 && settings.max_retries <= 10);
        }
        isc_settings_free(&settings);
        intune_scep_error_free(verr);
        isc_logger_destroy(&logger);
    } else {
        FUZZ_ASSERT(cfg->count == 0); /* on error nothing is set */
        const char *msg = intune_scep_error_message(err);
        FUZZ_ASSERT(strncmp(msg, "fuzz.properties", 15) == 0 || rc == INTUNE_SCEP_E_NOMEM);
        FUZZ_ASSERT(fuzz_one_line(msg));
    }
    free(text);
    intune_scep_error_free(err);
    intune_scep_config_free(cfg);
    return 0;
}
