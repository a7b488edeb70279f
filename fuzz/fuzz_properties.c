/* fuzz_properties.c - the java.util.Properties reader (isc_properties_parse):
 * bytes of a configuration file an administrator (or anyone) wrote. */
#include "fuzz_common.h"

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
