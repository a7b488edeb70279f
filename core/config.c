/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - the configuration store, the java.util.Properties reader, and the
 * validation of every key into a client's settings. */
#include "config.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h> /* its URL parser checks the URLs of the configuration */

/* ---- the store ---------------------------------------------------------- */

static isc_kv *find_item(const intune_scep_config *cfg, const char *key) {
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->items[i].key, key) == 0) return &cfg->items[i];
    return NULL;
}

int isc_config_set(intune_scep_config *cfg, const char *key, const char *value) {
    return isc_config_set_line(cfg, key, value, 0);
}

int isc_config_set_line(intune_scep_config *cfg, const char *key, const char *value, long line) {
    isc_kv *it = find_item(cfg, key);
    if (!value) {
        if (it) {
            free(it->key);
            isc_free_secret(it->value);
            size_t idx = (size_t)(it - cfg->items);
            memmove(it, it + 1, (cfg->count - idx - 1) * sizeof *it);
            cfg->count--;
        }
        return INTUNE_SCEP_OK;
    }
    char *v = isc_strdup(value);
    if (!v) return INTUNE_SCEP_E_NOMEM;
    if (it) {
        isc_free_secret(it->value);
        it->value = v;
        it->line = line;
        return INTUNE_SCEP_OK;
    }
    if (cfg->count == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 16;
        isc_kv *items = realloc(cfg->items, cap * sizeof *items);
        if (!items) {
            isc_free_secret(v);
            return INTUNE_SCEP_E_NOMEM;
        }
        cfg->items = items;
        cfg->cap = cap;
    }
    char *k = isc_strdup(key);
    if (!k) {
        isc_free_secret(v);
        return INTUNE_SCEP_E_NOMEM;
    }
    cfg->items[cfg->count].key = k;
    cfg->items[cfg->count].value = v;
    cfg->items[cfg->count].line = line;
    cfg->count++;
    return INTUNE_SCEP_OK;
}

const char *isc_config_get(const intune_scep_config *cfg, const char *key) {
    const isc_kv *it = find_item(cfg, key);
    return it ? it->value : NULL;
}

intune_scep_config *isc_config_new(void) {
    intune_scep_config *cfg = calloc(1, sizeof *cfg);
    if (cfg) cfg->log_min_level = INTUNE_SCEP_LOG_INFO;
    return cfg;
}

void isc_config_clear(intune_scep_config *cfg) {
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->items[i].key);
        isc_free_secret(cfg->items[i].value);
    }
    free(cfg->items);
    cfg->items = NULL;
    cfg->count = cfg->cap = 0;
}

void isc_config_free(intune_scep_config *cfg) {
    if (!cfg) return;
    isc_config_clear(cfg);
    free(cfg);
}

void isc_config_set_log(intune_scep_config *cfg, intune_scep_log_fn fn, void *userdata, int min_level) {
    cfg->log_fn = fn;
    cfg->log_userdata = userdata;
    cfg->log_min_level = min_level;
}

void isc_config_set_transport(intune_scep_config *cfg, intune_scep_transport_fn fn, void *userdata) {
    cfg->transport_fn = fn;
    cfg->transport_userdata = fn ? userdata : NULL;
}

int isc_config_load_file(intune_scep_config *cfg, const char *path, intune_scep_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return isc_error_set(err, INTUNE_SCEP_E_CONFIG, "%s: cannot be opened", path);
    /* Unbuffered: stdio's own buffer would hold the file (an app key) and be freed unwiped. */
    setvbuf(f, NULL, _IONBF, 0);
    isc_buf b = {0};
    char chunk[4096];
    size_t n;
    int rc = INTUNE_SCEP_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > ISC_MAX_CONFIG_FILE) {
            rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, "%s: larger than 1 MiB; not a properties file", path);
            break;
        }
        if (isc_buf_append(&b, chunk, n)) {
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
            break;
        }
    }
    if (!rc && ferror(f)) rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, "%s: cannot be read", path);
    fclose(f);
    isc_wipe(chunk, sizeof chunk);
    if (!rc) rc = isc_properties_parse(cfg, b.data ? b.data : "", b.len, path, err);
    isc_buf_free(&b);
    return rc;
}

/* ---- java.util.Properties ------------------------------------------------ */

typedef struct {
    const char *p;
    const char *end;
    long line; /* line number of the current position, 1-based */
} reader;

static int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\f';
}

static int is_eol(char c) {
    return c == '\n' || c == '\r';
}

static void skip_eol(reader *r) {
    if (r->p < r->end && *r->p == '\r') {
        r->p++;
        if (r->p < r->end && *r->p == '\n') r->p++;
    } else if (r->p < r->end && *r->p == '\n') {
        r->p++;
    }
    r->line++;
}

/* Append code point `cp` as UTF-8. */
static int put_utf8(isc_buf *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return isc_buf_append(b, u, n);
}

static int read_hex4(reader *r, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (r->p >= r->end) return 0;
        char c = *r->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/*
 * Read one key (stop_at_sep) or value of the current logical line into `out`,
 * handling escapes and continuations. Returns 0, or -1 with *bad set to a reason.
 */
static int read_token(reader *r, isc_buf *out, int stop_at_sep, const char **bad) {
    while (r->p < r->end && !is_eol(*r->p)) {
        char c = *r->p;
        if (stop_at_sep && (c == '=' || c == ':' || is_ws(c))) return 0;
        if (c != '\\') {
            if (isc_buf_append(out, &c, 1)) return *bad = "out of memory", -1;
            r->p++;
            continue;
        }
        r->p++; /* the backslash */
        if (r->p >= r->end) return 0; /* a lone backslash at end of file is dropped, as in Java */
        c = *r->p;
        if (is_eol(c)) { /* continuation: skip the line break and the next line's leading blanks */
            skip_eol(r);
            while (r->p < r->end && is_ws(*r->p)) r->p++;
            continue;
        }
        r->p++;
        uint32_t cp;
        switch (c) {
        case 't': cp = '\t'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 'f': cp = '\f'; break;
        case 'u':
            if (!read_hex4(r, &cp)) return *bad = "malformed \\uxxxx escape", -1;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
                    return *bad = "\\u escape of a high surrogate without its low surrogate", -1;
                r->p += 2;
                if (!read_hex4(r, &lo)) return *bad = "malformed \\uxxxx escape", -1;
                if (lo < 0xdc00 || lo > 0xdfff) return *bad = "\\u escape of a high surrogate without its low surrogate", -1;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return *bad = "\\u escape of a lone low surrogate", -1;
            } else if (cp == 0) {
                return *bad = "\\u0000 (NUL) is not allowed", -1;
            }
            break;
        default:
            /* "\x" is x; a non-ASCII character's first byte is kept as it is, its other bytes follow. */
            if (isc_buf_append(out, &c, 1)) return *bad = "out of memory", -1;
            continue;
        }
        if (cp < 0x80) {
            char ch = (char)cp;
            if (isc_buf_append(out, &ch, 1)) return *bad = "out of memory", -1;
        } else if (put_utf8(out, cp)) {
            return *bad = "out of memory", -1;
        }
    }
    return 0;
}

/* Latin-1 to UTF-8, for files that are not valid UTF-8 (java.util.Properties' own encoding). */
static char *latin1_to_utf8(const char *s, size_t n, size_t *out_len) {
    isc_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (put_utf8(&b, (unsigned char)s[i])) {
            isc_buf_free(&b);
            return NULL;
        }
    }
    if (isc_buf_append(&b, "", 0)) {
        isc_buf_free(&b);
        return NULL;
    }
    *out_len = b.len;
    return b.data;
}

int isc_properties_parse(intune_scep_config *cfg, const char *text, size_t len, const char *origin,
                         intune_scep_error *err) {
    char *converted = NULL;
    if (memchr(text, '\0', len))
        return isc_error_set(err, INTUNE_SCEP_E_CONFIG, "%s: holds a NUL byte; not a properties file", origin);
    if (!isc_utf8_valid(text, len)) {
        converted = latin1_to_utf8(text, len, &len);
        if (!converted) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
        text = converted;
    }
    intune_scep_config staged = {0};
    reader r = {text, text + len, 1};
    isc_buf key = {0}, value = {0};
    int rc = INTUNE_SCEP_OK;
    /* Skip a UTF-8 byte order mark. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) r.p += 3;
    while (r.p < r.end && rc == INTUNE_SCEP_OK) {
        while (r.p < r.end && is_ws(*r.p)) r.p++;
        if (r.p >= r.end) break;
        if (is_eol(*r.p)) {
            skip_eol(&r);
            continue;
        }
        if (*r.p == '#' || *r.p == '!') {
            while (r.p < r.end && !is_eol(*r.p)) r.p++;
            continue;
        }
        long line = r.line;
        const char *bad = NULL;
        isc_buf_reset(&key);
        isc_buf_reset(&value);
        if (read_token(&r, &key, 1, &bad) == 0) {
            while (r.p < r.end && is_ws(*r.p)) r.p++;
            if (r.p < r.end && (*r.p == '=' || *r.p == ':')) r.p++;
            while (r.p < r.end && is_ws(*r.p)) r.p++;
            read_token(&r, &value, 0, &bad);
        }
        if (bad) {
            rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, "%s:%ld: %s", origin, line, bad);
            break;
        }
        if (isc_buf_append(&key, "", 0) || isc_buf_append(&value, "", 0)) {
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
            break;
        }
        if (key.len == 0) {
            rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, "%s:%ld: a value without a key", origin, line);
            break;
        }
        if (isc_config_set_line(&staged, key.data, value.data, line) != INTUNE_SCEP_OK)
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    isc_buf_free(&key);
    isc_buf_free(&value);
    if (rc == INTUNE_SCEP_OK) {
        for (size_t i = 0; i < staged.count && rc == INTUNE_SCEP_OK; i++)
            if (isc_config_set_line(cfg, staged.items[i].key, staged.items[i].value, staged.items[i].line) !=
                INTUNE_SCEP_OK)
                rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    isc_config_clear(&staged);
    if (converted) isc_free_secret(converted);
    return rc;
}

/* ---- validation ---------------------------------------------------------- */

/*
 * The configuration keys this library reads, and what each one is: the one table of them
 * (intune_scep_config_key_* give it to applications, the CLI and the server among them; the
 * docs' key tables are checked against it by tests/test_config.c). A secret's value is never
 * echoed by a tool; a retired key is accepted, unused and warned about.
 */
#define SECRET INTUNE_SCEP_CONFIG_KEY_SECRET
#define RETIRED INTUNE_SCEP_CONFIG_KEY_RETIRED
static const struct {
    const char *name;
    int flags;
} KEYS[] = {
    {"AAD_APP_ID", 0}, {"AAD_APP_KEY", SECRET}, {"TENANT", 0}, {"PROVIDER_NAME_AND_VERSION", 0},
    {"PROXY_HOST", 0}, {"PROXY_PORT", 0}, {"PROXY_USER", 0}, {"PROXY_PASS", SECRET}, {"AUTH_AUTHORITY", 0},
    {"INTUNE_APP_ID", 0}, {"INTUNE_RESOURCE_URL", 0}, {"MS_GRAPH_RESOURCE_URL", 0}, {"MS_GRAPH_API_VERSION", 0},
    {"GRAPH_RESOURCE_URL", RETIRED}, {"GRAPH_API_VERSION", RETIRED}, {"ScepRequestValidationFEServiceVersion", 0},
    {"PkiConnectorFEServiceVersion", 0}, {"TLS_CA_FILE", 0}, {"TIMEOUT_MS", 0}, {"CONNECT_TIMEOUT_MS", 0},
    {"MAX_RETRIES", 0}, {"SERVICE_MAP_LIFETIME_MS", 0}, {"AAD_CLIENT_CERT_FILE", 0}, {"AAD_CLIENT_KEY_FILE", 0},
    {"AAD_CLIENT_KEY_PASSWORD", SECRET}, {"AAD_FEDERATED_TOKEN_FILE", 0}, {"AAD_MANAGED_IDENTITY", 0},
    {"AAD_MANAGED_IDENTITY_ENDPOINT", 0}, {"IDENTITY_ENDPOINT", 0}, {"IDENTITY_HEADER", SECRET}, {"CLOUD", 0},
};
#undef SECRET
#undef RETIRED

size_t isc_config_key_count(void) {
    return sizeof KEYS / sizeof *KEYS;
}

const char *isc_config_key_name(size_t index) {
    return index < sizeof KEYS / sizeof *KEYS ? KEYS[index].name : NULL;
}

int isc_config_key_flags(const char *key) {
    for (size_t i = 0; key && i < sizeof KEYS / sizeof *KEYS; i++)
        if (strcmp(key, KEYS[i].name) == 0) return INTUNE_SCEP_CONFIG_KEY_KNOWN | KEYS[i].flags;
    return 0;
}

/* ---- the environment ---------------------------------------------------- */

int isc_config_load_env(intune_scep_config *cfg, const char *prefix, intune_scep_error *err) {
    size_t plen = strlen(prefix);
    intune_scep_config staged = {0};
    int rc = INTUNE_SCEP_OK;
    char name[128];
    for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS && rc == INTUNE_SCEP_OK; i++) {
        size_t klen = strlen(KEYS[i].name);
        if (plen + klen >= sizeof name) {
            rc = isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument prefix is too long (%zu bytes)", plen);
            break;
        }
        memcpy(name, prefix, plen);
        memcpy(name + plen, KEYS[i].name, klen + 1);
        const char *value = getenv(name);
        if (!value) continue;
        /* The value may be a secret: the message names the variable only. */
        if (!isc_utf8_valid(value, strlen(value)))
            rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, "environment variable %s: the value is not valid UTF-8",
                               name);
        else if (isc_has_control(value))
            rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG,
                               "environment variable %s: the value holds a control character", name);
        else if (isc_config_set(&staged, KEYS[i].name, value) != INTUNE_SCEP_OK)
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < staged.count && rc == INTUNE_SCEP_OK; i++)
        if (isc_config_set(cfg, staged.items[i].key, staged.items[i].value) != INTUNE_SCEP_OK)
            rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < staged.count; i++) {
        free(staged.items[i].key);
        isc_free_secret(staged.items[i].value);
    }
    free(staged.items);
    return rc;
}

/* The sovereign clouds (protocol section 6): authority, Graph, Intune resource. */
static const struct {
    const char *name, *authority, *graph, *intune;
} CLOUDS[] = {
    {"public", "https://login.microsoftonline.com/", "https://graph.microsoft.com/", "https://api.manage.microsoft.com/"},
    {"usgov", "https://login.microsoftonline.us/", "https://graph.microsoft.us/", "https://api.manage.microsoft.us/"},
    {"usgovdod", "https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/",
     "https://api.manage.microsoft.us/"},
    {"china", "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/",
     "https://api.manage.microsoftonline.cn/"},
};

#define ISC_IMDS_ENDPOINT "http://169.254.169.254/metadata/identity/oauth2/token"

/* 1 for a loopback or link-local host (a literal address or "localhost"): where plain http is allowed. */
static int local_host(const char *host) {
    if (strcasecmp(host, "localhost") == 0) return 1;
    unsigned char a[16];
    char buf[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        host = buf;
    }
    if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127 || (a[0] == 169 && a[1] == 254);
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char loop6[16] = {[15] = 1};
        return memcmp(a, loop6, 16) == 0 || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
    }
    return 0;
}

/*
 * A managed-identity endpoint: https anywhere, plain http only on a loopback or
 * link-local address (where the platform serves it). 0 when acceptable, else a reason.
 */
static const char *identity_endpoint_problem(const char *url) {
    if (strpbrk(url, " \"#") || isc_has_control(url)) return "is not a URL";
    CURLU *u = curl_url();
    if (!u) return "could not be read (out of memory)";
    char *scheme = NULL, *host = NULL;
    const char *why = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        why = "is not a URL";
    else if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)
        why = "must be an http:// or https:// URL";
    else if (strcasecmp(scheme, "http") == 0 && !local_host(host))
        why = "may use plain http only on a loopback or link-local address; use https";
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return why;
}

/* A managed identity is "system" or a user-assigned identity's client id (a GUID). */
static int guid_like(const char *s) {
    size_t n = strlen(s);
    if (n != 36) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

/* An optional key with an empty value counts as not set. */
static const char *opt(const intune_scep_config *cfg, const char *key, const char *dflt) {
    const char *v = isc_config_get(cfg, key);
    return (v && *v) ? v : dflt;
}

static int parse_long(const char *s, long min, long max, long *out) {
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return 0;
    *out = v;
    return 1;
}

/* Characters allowed in a value that becomes part of a URL path. */
static int path_safe(const char *s) {
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* An https URL with a host; returned with exactly one trailing '/'. */
static char *https_base(const char *v) {
    if (!isc_has_prefix_ci(v, "https://") || strlen(v) <= 8 || v[8] == '/' || strpbrk(v, " ?#\\\"")) return NULL;
    size_t n = strlen(v);
    while (n > 8 && v[n - 1] == '/') n--;
    char *s = malloc(n + 2);
    if (!s) return NULL;
    memcpy(s, v, n);
    s[n] = '/';
    s[n + 1] = '\0';
    return s;
}

/*
 * A key as messages name it. A line that holds only a value (an old secret left on a line of its
 * own) is read as a key: so a key is printed only when it looks like one (a short ASCII identifier),
 * otherwise only where it came from.
 */
static int looks_like_key(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > 40) return 0;
    if (!((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_')) return 0;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static char *named_key(const isc_kv *it) {
    if (looks_like_key(it->key)) return isc_asprintf("configuration key %s", it->key);
    if (it->line > 0)
        return isc_asprintf("the configuration key on line %ld (not shown: it does not look like a key name)",
                            it->line);
    return isc_strdup("a configuration key that does not look like a key name (not shown)");
}

#define FAIL(...)                                                                                                     \
    do {                                                                                                              \
        rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, __VA_ARGS__);                                                   \
        goto out;                                                                                                     \
    } while (0)
#define DUP(dst, src)                                                                                                 \
    do {                                                                                                              \
        if (!((dst) = isc_strdup(src))) goto nomem;                                                                   \
    } while (0)

int isc_settings_from_config(const intune_scep_config *cfg, isc_settings *s, isc_logger *log, intune_scep_error *err) {
    int rc = INTUNE_SCEP_OK;
    memset(s, 0, sizeof *s);
    static const char *const required[] = {"AAD_APP_ID", "TENANT", "PROVIDER_NAME_AND_VERSION"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        const char *v = isc_config_get(cfg, required[i]);
        if (!v || !*v) FAIL("configuration key %s is required and %s", required[i], v ? "is empty" : "is not set");
    }
    const char *cert_file = opt(cfg, "AAD_CLIENT_CERT_FILE", NULL);
    const char *app_key = isc_config_get(cfg, "AAD_APP_KEY");
    const char *token_file = opt(cfg, "AAD_FEDERATED_TOKEN_FILE", NULL);
    const char *identity = opt(cfg, "AAD_MANAGED_IDENTITY", NULL);
    {
        /* Exactly one credential kind. */
        const char *kinds[4] = {0};
        size_t nk = 0;
        if (app_key && *app_key) kinds[nk++] = "AAD_APP_KEY";
        if (cert_file) kinds[nk++] = "AAD_CLIENT_CERT_FILE";
        if (token_file) kinds[nk++] = "AAD_FEDERATED_TOKEN_FILE";
        if (identity) kinds[nk++] = "AAD_MANAGED_IDENTITY";
        if (nk > 1)
            FAIL("configuration keys %s and %s are both set; give one credential (a client secret, a certificate, "
                 "a federated token file or a managed identity)",
                 kinds[0], kinds[1]);
        if (nk == 0)
            FAIL("configuration key AAD_APP_KEY is required (unless AAD_CLIENT_CERT_FILE, AAD_FEDERATED_TOKEN_FILE or "
                 "AAD_MANAGED_IDENTITY is set) and %s",
                 app_key ? "is empty" : "is not set");
    }
    if (!cert_file && (opt(cfg, "AAD_CLIENT_KEY_FILE", NULL) || opt(cfg, "AAD_CLIENT_KEY_PASSWORD", NULL)))
        FAIL("configuration key AAD_CLIENT_CERT_FILE is required when AAD_CLIENT_KEY_FILE or AAD_CLIENT_KEY_PASSWORD is set");
    if (!identity && (opt(cfg, "AAD_MANAGED_IDENTITY_ENDPOINT", NULL) || opt(cfg, "IDENTITY_ENDPOINT", NULL) ||
                      opt(cfg, "IDENTITY_HEADER", NULL)))
        FAIL("configuration key AAD_MANAGED_IDENTITY is required when AAD_MANAGED_IDENTITY_ENDPOINT, IDENTITY_ENDPOINT "
             "or IDENTITY_HEADER is set");
    for (size_t i = 0; i < cfg->count; i++) {
        const isc_kv *it = &cfg->items[i];
        if (isc_has_control(it->value) && !(isc_config_key_flags(it->key) & INTUNE_SCEP_CONFIG_KEY_SECRET)) {
            char *shown = named_key(it);
            rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, "%s holds a control character",
                               shown ? shown : "a configuration key");
            free(shown);
            goto out;
        }
    }
    const char *tenant = isc_config_get(cfg, "TENANT");
    if (!path_safe(tenant)) FAIL("configuration key TENANT must be a tenant id or domain (letters, digits, '-', '.')");
    const char *intune_app_id = opt(cfg, "INTUNE_APP_ID", "0000000a-0000-0000-c000-000000000000");
    if (!path_safe(intune_app_id)) FAIL("configuration key INTUNE_APP_ID must be an application id (a GUID)");

    if (!path_safe(isc_config_get(cfg, "AAD_APP_ID")))
        FAIL("configuration key AAD_APP_ID must be an application (client) id, a GUID");
    DUP(s->app_id, isc_config_get(cfg, "AAD_APP_ID"));
    if (cert_file) {
        DUP(s->client_cert_file, cert_file);
        const char *kf = opt(cfg, "AAD_CLIENT_KEY_FILE", NULL), *kp = opt(cfg, "AAD_CLIENT_KEY_PASSWORD", NULL);
        if (kf) DUP(s->client_key_file, kf);
        if (kp) DUP(s->client_key_password, kp);
        s->credential_kind = INTUNE_SCEP_CREDENTIAL_CERTIFICATE;
    } else if (token_file) {
        DUP(s->federated_token_file, token_file);
        s->credential_kind = INTUNE_SCEP_CREDENTIAL_FEDERATED;
    } else if (identity) {
        s->credential_kind = INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY;
        if (strcasecmp(identity, "system") != 0) {
            if (!guid_like(identity))
                FAIL("configuration key AAD_MANAGED_IDENTITY must be \"system\" or a user-assigned identity's client "
                     "id (a GUID)");
            DUP(s->managed_identity, identity);
        }
        /* App Service / Functions give IDENTITY_ENDPOINT and IDENTITY_HEADER in the environment. */
        const char *ie = opt(cfg, "IDENTITY_ENDPOINT", NULL), *ih = opt(cfg, "IDENTITY_HEADER", NULL);
        const char *override = opt(cfg, "AAD_MANAGED_IDENTITY_ENDPOINT", NULL);
        if (!ie && !override) {
            const char *env_ep = getenv("IDENTITY_ENDPOINT"), *env_h = getenv("IDENTITY_HEADER");
            if (env_ep && *env_ep && env_h && *env_h) {
                ie = env_ep;
                if (!ih) ih = env_h;
            }
        }
        if (ie && !ih) FAIL("configuration key IDENTITY_HEADER is required when IDENTITY_ENDPOINT is set");
        if (ih && !ie && !override)
            FAIL("configuration key IDENTITY_ENDPOINT is required when IDENTITY_HEADER is set");
        const char *key = override ? "AAD_MANAGED_IDENTITY_ENDPOINT" : "IDENTITY_ENDPOINT";
        const char *ep = override ? override : ie ? ie : ISC_IMDS_ENDPOINT;
        const char *why = identity_endpoint_problem(ep);
        if (why) FAIL("configuration key %s %s", key, why);
        DUP(s->identity_endpoint, ep);
        if (ih) {
            DUP(s->identity_header, ih);
            s->identity_app_service = 1;
        }
    } else {
        DUP(s->app_key, app_key);
        s->credential_kind = INTUNE_SCEP_CREDENTIAL_SECRET;
    }
    DUP(s->tenant, tenant);
    DUP(s->provider, isc_config_get(cfg, "PROVIDER_NAME_AND_VERSION"));
    DUP(s->intune_app_id, intune_app_id);

    const char *cloud = opt(cfg, "CLOUD", "public");
    size_t ci = 0;
    while (ci < sizeof CLOUDS / sizeof *CLOUDS && strcasecmp(CLOUDS[ci].name, cloud) != 0) ci++;
    if (ci == sizeof CLOUDS / sizeof *CLOUDS)
        FAIL("configuration key CLOUD must be public, usgov, usgovdod or china");
    const char *authority = opt(cfg, "AUTH_AUTHORITY", CLOUDS[ci].authority);
    if (!(s->authority = https_base(authority)))
        FAIL("configuration key AUTH_AUTHORITY must be an https:// URL (got a value of %zu characters)",
             strlen(authority));
    const char *graph = opt(cfg, "MS_GRAPH_RESOURCE_URL", CLOUDS[ci].graph);
    if (!(s->graph_resource = https_base(graph))) FAIL("configuration key MS_GRAPH_RESOURCE_URL must be an https:// URL");
    const char *intune = opt(cfg, "INTUNE_RESOURCE_URL", CLOUDS[ci].intune);
    if (!isc_has_prefix_ci(intune, "https://") || strpbrk(intune, " ?#"))
        FAIL("configuration key INTUNE_RESOURCE_URL must be an https:// URL");
    DUP(s->intune_resource, intune);

    const char *gv = opt(cfg, "MS_GRAPH_API_VERSION", "1.0");
    if (!path_safe(gv)) FAIL("configuration key MS_GRAPH_API_VERSION must be a version such as 1.0");
    if (gv[0] == 'v' || gv[0] == 'V' || strcmp(gv, "beta") == 0) DUP(s->graph_version, gv);
    else if (!(s->graph_version = isc_asprintf("v%s", gv))) goto nomem;

    const char *sv = opt(cfg, "ScepRequestValidationFEServiceVersion", "2018-02-20");
    if (!path_safe(sv)) FAIL("configuration key ScepRequestValidationFEServiceVersion must be a version such as 2018-02-20");
    DUP(s->scep_api_version, sv);
    const char *pv = opt(cfg, "PkiConnectorFEServiceVersion", "5019-05-05");
    if (!path_safe(pv)) FAIL("configuration key PkiConnectorFEServiceVersion must be a version such as 5019-05-05");
    DUP(s->pki_api_version, pv);

    const char *ph = opt(cfg, "PROXY_HOST", NULL);
    const char *pp = opt(cfg, "PROXY_PORT", NULL);
    if (ph) {
        if (strpbrk(ph, "/@ ") || strstr(ph, "://")) FAIL("configuration key PROXY_HOST must be a host name or address");
        if (!pp) FAIL("configuration key PROXY_PORT is required when PROXY_HOST is set");
        if (!parse_long(pp, 1, 65535, &s->proxy_port)) goto bad_port;
        DUP(s->proxy_host, ph);
        int v6 = strchr(ph, ':') != NULL;
        if (!(s->proxy_url = isc_asprintf("http://%s%s%s:%ld", v6 ? "[" : "", ph, v6 ? "]" : "", s->proxy_port)))
            goto nomem;
    } else if (pp && !parse_long(pp, 0, 65535, &s->proxy_port)) {
        goto bad_port;
    }
    const char *pu = opt(cfg, "PROXY_USER", NULL);
    const char *pw = opt(cfg, "PROXY_PASS", NULL);
    if (pu) {
        if (!pw) FAIL("configuration key PROXY_PASS is required when PROXY_USER is set");
        DUP(s->proxy_user, pu);
        DUP(s->proxy_pass, pw);
    }

    const char *ca = opt(cfg, "TLS_CA_FILE", NULL);
    if (ca) DUP(s->ca_file, ca);

    if (!parse_long(opt(cfg, "TIMEOUT_MS", "30000"), 1, 86400000L, &s->timeout_ms))
        FAIL("configuration key TIMEOUT_MS must be an integer from 1 to 86400000 (milliseconds)");
    if (!parse_long(opt(cfg, "CONNECT_TIMEOUT_MS", "10000"), 1, 86400000L, &s->connect_timeout_ms))
        FAIL("configuration key CONNECT_TIMEOUT_MS must be an integer from 1 to 86400000 (milliseconds)");
    if (!parse_long(opt(cfg, "MAX_RETRIES", "2"), 0, 10, &s->max_retries))
        FAIL("configuration key MAX_RETRIES must be an integer from 0 to 10");
    if (!parse_long(opt(cfg, "SERVICE_MAP_LIFETIME_MS", "3600000"), 1000, 86400000L, &s->service_map_lifetime_ms))
        FAIL("configuration key SERVICE_MAP_LIFETIME_MS must be an integer from 1000 to 86400000 (milliseconds)");

    if (!(s->token_url = isc_asprintf("%s%s/oauth2/v2.0/token", s->authority, s->tenant))) goto nomem;
    if (!(s->discovery_url = isc_asprintf("%s%s/servicePrincipals/appId=%s/endpoints", s->graph_resource,
                                          s->graph_version, s->intune_app_id)))
        goto nomem;
    if (!(s->graph_scope = isc_asprintf("%s.default", s->graph_resource))) goto nomem;
    if (!(s->intune_scope = isc_asprintf("%s/.default", s->intune_resource))) goto nomem;

    /* Warnings: retired and unknown keys. */
    for (size_t i = 0; i < cfg->count; i++) {
        const char *k = cfg->items[i].key;
        int flags = isc_config_key_flags(k);
        if (flags & INTUNE_SCEP_CONFIG_KEY_RETIRED) {
            isc_log(log, INTUNE_SCEP_LOG_WARNING,
                    "configuration key %s (Azure AD Graph) is retired and not used; discovery uses MS_GRAPH_RESOURCE_URL",
                    k);
            continue;
        }
        if (!flags) {
            char *shown = named_key(&cfg->items[i]);
            isc_log(log, INTUNE_SCEP_LOG_WARNING, "%s is not known to this library and is ignored",
                    shown ? shown : "a configuration key");
            free(shown);
        }
    }
out:
    if (rc != INTUNE_SCEP_OK) isc_settings_free(s);
    return rc;
bad_port: {
    char *shown = isc_one_line(pp, 32); /* cut at a character boundary */
    rc = isc_error_set(err, INTUNE_SCEP_E_CONFIG, "configuration key PROXY_PORT must be an integer from %d to 65535 "
                       "(got \"%s\")", ph ? 1 : 0, shown ? shown : "?");
    free(shown);
    goto out;
}
nomem:
    rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    goto out;
}

void isc_settings_free(isc_settings *s) {
    free(s->app_id);
    isc_free_secret(s->app_key);
    free(s->tenant);
    free(s->provider);
    free(s->authority);
    free(s->intune_app_id);
    free(s->intune_resource);
    free(s->graph_resource);
    free(s->graph_version);
    free(s->scep_api_version);
    free(s->pki_api_version);
    free(s->proxy_host);
    free(s->proxy_user);
    isc_free_secret(s->proxy_pass);
    free(s->ca_file);
    free(s->client_cert_file);
    free(s->client_key_file);
    isc_free_secret(s->client_key_password);
    free(s->federated_token_file);
    free(s->managed_identity);
    free(s->identity_endpoint);
    isc_free_secret(s->identity_header);
    free(s->token_url);
    free(s->discovery_url);
    free(s->graph_scope);
    free(s->intune_scope);
    free(s->proxy_url);
    memset(s, 0, sizeof *s);
}
