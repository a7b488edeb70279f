/* SPDX-License-Identifier: Apache-2.0 */
/* The emulator child process, its control API, client configurations and log capture. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

#ifndef TH_SOURCE_DIR
#define TH_SOURCE_DIR "."
#endif
#ifndef TH_PYTHON
#define TH_PYTHON "python3"
#endif

static void emu_fatal(const char *what, th_emu *emu) {
    th_fail(__FILE__, __LINE__, "emulator: %s", what);
    if (emu && emu->log_path) {
        char *log = th_read_file(emu->log_path, NULL);
        if (log) {
            size_t n = strlen(log);
            th_note("emulator stderr (tail): %s", n > 3000 ? log + n - 3000 : log);
            free(log);
        }
    }
    th_abort_test();
}

/* Read one line from fd within timeout_ms. */
static char *read_line(int fd, int timeout_ms) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - th_now_ms());
        if (left <= 0) break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        char c;
        ssize_t got = read(fd, &c, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (c == '\n') {
            buf[n] = 0;
            return buf;
        }
        if (n + 2 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        buf[n++] = c;
    }
    free(buf);
    return NULL;
}

static char *dup_str(const cJSON *o, const char *name) {
    const char *v = th_json_str(o, name);
    return v ? strdup(v) : NULL;
}

th_emu *th_emu_start(const char *const *extra_args) {
    static int started_count = 0;
    th_emu *emu = calloc(1, sizeof *emu);
    if (!emu) emu_fatal("out of memory", NULL);
    pthread_mutex_init(&emu->mu, NULL);
    emu->pid = -1;
    emu->stdin_fd = -1;

    const char *src = getenv("INTUNE_SCEP_SOURCE_DIR");
    if (!src || !*src) src = TH_SOURCE_DIR;
    const char *python = getenv("INTUNE_SCEP_PYTHON");
    if (!python || !*python) python = TH_PYTHON;

    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)python;
    argv[argc++] = "-m";
    argv[argc++] = "intune_scep.emulator";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--exit-on-stdin-eof";
    for (int i = 0; extra_args && extra_args[i] && argc < 62; i++) {
        argv[argc++] = (char *)extra_args[i];
        if (strcmp(extra_args[i], "--server-cert-hostname") == 0 && extra_args[i + 1]) emu->tls_name = strdup(extra_args[i + 1]);
    }
    argv[argc] = NULL;

    /* The child's environment: ours plus PYTHONPATH=<source>/python. */
    size_t nenv = 0;
    while (environ[nenv]) nenv++;
    char **envp = calloc(nenv + 2, sizeof *envp);
    char *pp = NULL;
    const char *old_pp = getenv("PYTHONPATH");
    if (old_pp && *old_pp)
        pp = th_strdupf("PYTHONPATH=%s/python:%s", src, old_pp);
    else
        pp = th_strdupf("PYTHONPATH=%s/python", src);
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++) {
        if (strncmp(environ[i], "PYTHONPATH=", 11) == 0) continue;
        /* Sanitizer and valgrind settings are for the test binary, not the emulator. */
        if (strncmp(environ[i], "LD_PRELOAD=", 11) == 0) continue;
        envp[k++] = environ[i];
    }
    envp[k++] = pp;
    envp[k] = NULL;

    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) emu_fatal("pipe failed", emu);
    emu->log_path = th_strdupf("%s/emulator-%d-%d.log", th_tmpdir(), (int)getpid(), ++started_count);
    int errfd = open(emu->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (errfd < 0) emu_fatal("cannot create the emulator log file", emu);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, python, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(pp);
    free(envp);
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(errfd);
    if (rc != 0) emu_fatal("cannot start python3", emu);
    emu->pid = pid;
    emu->stdin_fd = in_pipe[1];

    char *line = read_line(out_pipe[0], (int)(30000 * th_time_scale()));
    close(out_pipe[0]);
    if (!line) {
        th_emu_stop(emu);
        emu_fatal("no JSON line on stdout within the time allowed", NULL);
    }
    cJSON *j = cJSON_Parse(line);
    free(line);
    if (!j) emu_fatal("its first line is not JSON", emu);
    emu->base_url = dup_str(j, "base_url");
    emu->control_url = dup_str(j, "control_url");
    emu->ca_file = dup_str(j, "ca_file");
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    if (!emu->base_url || !emu->control_url || !emu->ca_file || !cJSON_IsObject(cfg)) {
        cJSON_Delete(j);
        emu_fatal("its JSON line lacks base_url, control_url, ca_file or config", emu);
    }
    emu->config = cJSON_Duplicate(cfg, 1);
    emu->managed_identity_url = dup_str(j, "managed_identity_url");
    emu->identity_header = dup_str(j, "identity_header");
    cJSON_Delete(j);
    th_register_secret(th_json_str(emu->config, "AAD_APP_KEY"));
    if (emu->identity_header) th_register_secret(emu->identity_header);

    if (emu->tls_name) {
        /* The server certificate names only tls_name: reach the control API by that name. */
        const char *port = strrchr(emu->base_url, ':');
        int p = port ? atoi(port + 1) : 0;
        emu->resolve = th_strdupf("%s:%d:127.0.0.1", emu->tls_name, p);
        free(emu->control_url);
        emu->control_url = th_strdupf("https://%s:%d/_emulator/", emu->tls_name, p);
    }
    CURL *c = curl_easy_init();
    if (!c) emu_fatal("curl_easy_init failed", emu);
    emu->curl = c;
    return emu;
}

void th_emu_stop(th_emu *emu) {
    if (!emu) return;
    if (emu->curl) curl_easy_cleanup(emu->curl);
    if (emu->stdin_fd >= 0) close(emu->stdin_fd);
    if (emu->pid > 0) {
        int status;
        int64_t deadline = th_now_ms() + 5000;
        pid_t r = 0;
        while ((r = waitpid(emu->pid, &status, WNOHANG)) == 0 && th_now_ms() < deadline) th_sleep_ms(20);
        if (r == 0) {
            kill(emu->pid, SIGTERM);
            deadline = th_now_ms() + 3000;
            while ((r = waitpid(emu->pid, &status, WNOHANG)) == 0 && th_now_ms() < deadline) th_sleep_ms(20);
            if (r == 0) {
                kill(emu->pid, SIGKILL);
                waitpid(emu->pid, &status, 0);
            }
        }
    }
    free(emu->base_url);
    free(emu->control_url);
    free(emu->managed_identity_url);
    free(emu->identity_header);
    free(emu->ca_file);
    free(emu->log_path);
    free(emu->tls_name);
    free(emu->resolve);
    cJSON_Delete(emu->config);
    pthread_mutex_destroy(&emu->mu);
    free(emu);
}

struct buf {
    char *p;
    size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud) {
    struct buf *b = ud;
    size_t add = size * nmemb;
    char *np = realloc(b->p, b->n + add + 1);
    if (!np) return 0;
    b->p = np;
    memcpy(b->p + b->n, ptr, add);
    b->n += add;
    b->p[b->n] = 0;
    return add;
}

cJSON *th_emu_call(th_emu *emu, const char *method, const char *path, const char *json_body, long *status) {
    pthread_mutex_lock(&emu->mu);
    CURL *c = emu->curl;
    curl_easy_reset(c);
    char *url = th_strdupf("%s%s", emu->control_url, path);
    struct buf b = {NULL, 0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *resolve = emu->resolve ? curl_slist_append(NULL, emu->resolve) : NULL;
    if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, emu->ca_file);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(20000 * th_time_scale()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never a *_proxy variable: the emulator is on loopback */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (json_body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_SEND_ERROR || rc == CURLE_SSL_CONNECT_ERROR) {
        /* The request did not get out (a kept connection the emulator had just closed, or a
           handshake cut short on a loaded machine): send it once more on a new connection. */
        th_note("control call %s %s: %s; once more on a new connection", method, path, curl_easy_strerror(rc));
        free(b.p);
        b.p = NULL;
        b.n = 0;
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        rc = curl_easy_perform(c);
    }
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(h);
    curl_slist_free_all(resolve);
    pthread_mutex_unlock(&emu->mu);
    if (status) *status = rc == CURLE_OK ? st : -1;
    cJSON *j = NULL;
    if (rc != CURLE_OK) {
        th_note("control call %s %s failed: %s", method, path, curl_easy_strerror(rc));
    } else {
        j = b.p ? cJSON_Parse(b.p) : NULL;
        if (st < 200 || st > 299) th_note("control call %s %s answered %ld: %s", method, path, st, b.p ? b.p : "");
    }
    free(b.p);
    free(url);
    return j;
}

static cJSON *call_ok(th_emu *emu, const char *method, const char *path, const char *body, const char *file, int line) {
    long st = 0;
    cJSON *j = th_emu_call(emu, method, path, body, &st);
    if (st < 200 || st > 299 || !j) {
        th_fail(file, line, "control call %s %s failed (status %ld)", method, path, st);
        cJSON_Delete(j);
        th_abort_test();
    }
    return j;
}
#define CALL_OK(emu, m, p, b) call_ok((emu), (m), (p), (b), __FILE__, __LINE__)

void th_emu_reset(th_emu *emu) { cJSON_Delete(CALL_OK(emu, "POST", "reset", NULL)); }

cJSON *th_emu_requests(th_emu *emu, const char *endpoint) {
    cJSON *all = CALL_OK(emu, "GET", "requests", NULL);
    cJSON *out = cJSON_CreateArray();
    cJSON *it;
    cJSON_ArrayForEach(it, all) {
        const char *ep = th_json_str(it, "endpoint");
        if (endpoint == NULL || (ep && strcmp(ep, endpoint) == 0)) cJSON_AddItemToArray(out, cJSON_Duplicate(it, 1));
    }
    cJSON_Delete(all);
    return out;
}

int th_emu_request_count(th_emu *emu, const char *endpoint) {
    cJSON *r = th_emu_requests(emu, endpoint);
    int n = cJSON_GetArraySize(r);
    cJSON_Delete(r);
    return n;
}

cJSON *th_emu_stats(th_emu *emu) { return CALL_OK(emu, "GET", "stats", NULL); }

long th_emu_token_requests(th_emu *emu, const char *resource) {
    cJSON *s = th_emu_stats(emu);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "token_requests");
    cJSON *v = cJSON_GetObjectItemCaseSensitive(t, resource);
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(s);
    return n;
}

long th_emu_connections(th_emu *emu) {
    cJSON *s = th_emu_stats(emu);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "connections");
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(s);
    return n;
}

void th_emu_fault(th_emu *emu, const char *fault_json) { cJSON_Delete(CALL_OK(emu, "POST", "faults", fault_json)); }

void th_emu_fault_respond(th_emu *emu, const char *endpoint, int status, const char *body, int times) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "endpoint", endpoint);
    cJSON_AddNumberToObject(f, "status", status);
    cJSON_AddStringToObject(f, "body", body);
    cJSON_AddStringToObject(f, "content_type", "application/json");
    cJSON_AddNumberToObject(f, "times", times);
    char *s = cJSON_PrintUnformatted(f);
    th_emu_fault(emu, s);
    free(s);
    cJSON_Delete(f);
}

void th_emu_settings(th_emu *emu, const char *json) { cJSON_Delete(CALL_OK(emu, "POST", "settings", json)); }

void th_emu_expire_tokens(th_emu *emu) { cJSON_Delete(CALL_OK(emu, "POST", "tokens/expire", NULL)); }

char *th_emu_move_endpoint(th_emu *emu, const char *service) {
    char *body = th_strdupf("{\"service\":\"%s\"}", service ? service : "ScepRequestValidationFEService");
    cJSON *j = CALL_OK(emu, "POST", "move_endpoint", body);
    free(body);
    char *uri = dup_str(j, "uri");
    cJSON_Delete(j);
    return uri;
}

char *th_emu_challenge(th_emu *emu, const char *profile_json, char **profile_id) {
    cJSON *j = CALL_OK(emu, "POST", "challenges", profile_json);
    char *c = dup_str(j, "challenge");
    if (profile_id) *profile_id = dup_str(j, "profile_id");
    cJSON_Delete(j);
    if (!c) {
        th_fail(__FILE__, __LINE__, "no challenge in the emulator's answer");
        th_abort_test();
    }
    return c;
}

cJSON *th_emu_notifications(th_emu *emu) { return CALL_OK(emu, "GET", "notifications", NULL); }

const char *th_emu_cfg(th_emu *emu, const char *key) { return th_json_str(emu->config, key); }

const char *th_req_header(const cJSON *req, const char *name) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(req, "headers");
    const cJSON *it;
    cJSON_ArrayForEach(it, h) {
        if (it->string && strcasecmp(it->string, name) == 0 && cJSON_IsString(it)) return it->valuestring;
    }
    return NULL;
}

const char *th_req_body(const cJSON *req) { return th_json_str(req, "body"); }

const cJSON *th_item(const cJSON *arr, int i) { return cJSON_GetArrayItem(arr, i); }

const char *th_json_str(const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- log capture ---- */

void th_log_init(th_log *log) {
    memset(log, 0, sizeof *log);
    pthread_mutex_init(&log->mu, NULL);
}

void th_log_clear(th_log *log) {
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < log->n; i++) free(log->lines[i]);
    log->n = 0;
    pthread_mutex_unlock(&log->mu);
}

void th_log_destroy(th_log *log) {
    th_log_clear(log);
    free(log->lines);
    free(log->levels);
    pthread_mutex_destroy(&log->mu);
}

void th_log_cb(void *userdata, int level, const char *message) {
    th_log *log = userdata;
    pthread_mutex_lock(&log->mu);
    if (log->n == log->cap) {
        size_t nc = log->cap ? log->cap * 2 : 64;
        char **nl = realloc(log->lines, nc * sizeof *nl);
        if (nl) log->lines = nl;
        int *nv = realloc(log->levels, nc * sizeof *nv);
        if (nv) log->levels = nv;
        if (nl && nv) log->cap = nc;
    }
    if (log->n < log->cap) {
        log->lines[log->n] = strdup(message ? message : "(null)");
        log->levels[log->n] = level;
        if (log->lines[log->n]) log->n++;
    }
    pthread_mutex_unlock(&log->mu);
}

size_t th_log_count(th_log *log, int min_level, ...) {
    const char *subs[16];
    int ns = 0;
    va_list ap;
    va_start(ap, min_level);
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL && ns < 16) subs[ns++] = s;
    va_end(ap);
    size_t count = 0;
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < log->n; i++) {
        if (log->levels[i] < min_level) continue;
        int all = 1;
        for (int k = 0; k < ns; k++)
            if (!strstr(log->lines[i], subs[k])) all = 0;
        if (all) count++;
    }
    pthread_mutex_unlock(&log->mu);
    return count;
}

void th_log_check_no_secret(const char *file, int line, th_log *log, const char *secret, const char *what) {
    if (!secret || !*secret) return;
    pthread_mutex_lock(&log->mu);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < log->n; i++)
        if (strstr(log->lines[i], secret)) {
            if (!bad) first = i;
            bad++;
        }
    pthread_mutex_unlock(&log->mu);
    if (bad) th_fail(file, line, "%zu log line(s) contain %s (first: line %zu)", bad, what, first);
}

void th_log_dump(th_log *log) {
    pthread_mutex_lock(&log->mu);
    size_t n = log->n;
    pthread_mutex_unlock(&log->mu);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&log->mu);
        char *l = strdup(log->lines[i]);
        int lv = log->levels[i];
        pthread_mutex_unlock(&log->mu);
        th_note("log[%d] %s", lv, l ? l : "");
        free(l);
    }
}

/* ---- configuration ---- */

intune_scep_config *th_emu_config(th_emu *emu, th_log *log, const char *const *overrides) {
    intune_scep_config *cfg = intune_scep_config_new();
    if (!cfg) {
        th_fail(__FILE__, __LINE__, "intune_scep_config_new returned NULL");
        th_abort_test();
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, emu->config) {
        if (!cJSON_IsString(it)) continue;
        if (intune_scep_config_set(cfg, it->string, it->valuestring) != INTUNE_SCEP_OK) {
            th_fail(__FILE__, __LINE__, "intune_scep_config_set(%s) failed", it->string);
            th_abort_test();
        }
    }
    for (int i = 0; overrides && overrides[i]; i += 2) {
        if (intune_scep_config_set(cfg, overrides[i], overrides[i + 1]) != INTUNE_SCEP_OK) {
            th_fail(__FILE__, __LINE__, "intune_scep_config_set(%s) failed", overrides[i]);
            th_abort_test();
        }
    }
    if (log) intune_scep_config_set_log_callback(cfg, th_log_cb, log, INTUNE_SCEP_LOG_DEBUG);
    return cfg;
}

intune_scep_client *th_emu_client(th_emu *emu, th_log *log, const char *const *overrides) {
    intune_scep_config *cfg = th_emu_config(emu, log, overrides);
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_client *client = NULL;
    int rc = intune_scep_client_new(cfg, &client, err);
    intune_scep_config_free(cfg);
    if (!th_check_status(__FILE__, __LINE__, "intune_scep_client_new", rc, INTUNE_SCEP_OK, err) || !client) {
        intune_scep_error_free(err);
        th_abort_test();
    }
    intune_scep_error_free(err);
    return client;
}

cJSON *th_emu_seen_tokens(th_emu *emu) {
    cJSON *reqs = th_emu_requests(emu, NULL);
    cJSON *out = cJSON_CreateArray();
    const cJSON *r;
    cJSON_ArrayForEach(r, reqs) {
        const char *a = th_req_header(r, "authorization");
        if (!a || strncmp(a, "Bearer ", 7) != 0 || !a[7]) continue;
        int dup = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, out) if (strcmp(t->valuestring, a + 7) == 0) dup = 1;
        if (!dup) {
            cJSON_AddItemToArray(out, cJSON_CreateString(a + 7));
            th_register_secret(a + 7);
        }
    }
    cJSON_Delete(reqs);
    return out;
}

void th_check_no_secrets_in(const char *file, int line, th_emu *emu, const char *text, const char *what) {
    if (!text) return;
    const char *key = th_emu_cfg(emu, "AAD_APP_KEY");
    if (key && *key && strstr(text, key)) th_fail(file, line, "%s contains the app key", what);
    cJSON *toks = th_emu_seen_tokens(emu);
    const cJSON *t;
    cJSON_ArrayForEach(t, toks) {
        if (strstr(text, t->valuestring)) th_fail(file, line, "%s contains an access token", what);
    }
    cJSON_Delete(toks);
}

int th_is_uuid(const char *s) {
    if (!s || strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}
