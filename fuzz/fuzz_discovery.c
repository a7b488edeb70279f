/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_discovery.c - a page of Graph's endpoints answer (isc_parse_discovery_page),
 * providerName or the retired serviceName, and @odata.nextLink. The input is
 * read as up to three pages (split at a 0xFF byte) into one map, as the client
 * does when following nextLink. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    isc_service_map map = {0};
    size_t start = 0;
    for (int page = 0; page < 3 && start <= size; page++) {
        const uint8_t *sep = memchr(data + start, 0xff, size - start);
        size_t len = sep ? (size_t)(sep - (data + start)) : size - start;
        char *body = malloc(len ? len : 1);
        FUZZ_ASSERT(body);
        if (len) memcpy(body, data + start, len);
        intune_scep_error err = {0};
        char *next = NULL;
        size_t before = map.count;
        int rc = isc_parse_discovery_page(body, len, &map, &next, &err);
        /* A page with a NUL or a duplicated member name is refused whole. */
        if (fuzz_untrusted(body, len)) FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL && map.count == before);
        if (rc == INTUNE_SCEP_OK) {
            FUZZ_ASSERT(err.message == NULL);
            FUZZ_ASSERT(!next || *next);
            FUZZ_ASSERT(map.count >= before);
        } else {
            FUZZ_ASSERT(rc == INTUNE_SCEP_E_PROTOCOL || rc == INTUNE_SCEP_E_NOMEM);
            FUZZ_ASSERT(next == NULL);
            FUZZ_ASSERT(map.count == before);
            fuzz_check_error(&err, rc);
        }
        free(next);
        isc_error_reset(&err);
        free(body);
        if (!sep) break;
        start += len + 1;
    }
    /* The map: names unique (case-insensitively), the first entry wins, no control characters. */
    for (size_t i = 0; i < map.count; i++) {
        FUZZ_ASSERT(map.items[i].name && *map.items[i].name && map.items[i].uri && *map.items[i].uri);
        FUZZ_ASSERT(!isc_has_control(map.items[i].name) && !isc_has_control(map.items[i].uri));
        FUZZ_ASSERT(isc_service_map_find(&map, map.items[i].name) == map.items[i].uri);
        for (size_t j = 0; j < i; j++) FUZZ_ASSERT(!isc_strcaseeq(map.items[i].name, map.items[j].name));
    }
    char *names = isc_service_map_names(&map);
    FUZZ_ASSERT(names);
    free(names);
    (void)isc_service_map_find(&map, "ScepRequestValidationFEService");
    isc_service_map_free(&map);
    return 0;
}
