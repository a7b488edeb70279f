/* SPDX-License-Identifier: Apache-2.0 */
/* The test runner: checks, redaction of secrets, timing helpers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t th_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *th_current = NULL;
static int th_current_failures = 0;
static int th_in_test = 0;
static jmp_buf th_jmp;
static pthread_t th_main_thread;

static char **th_secrets = NULL;
static size_t th_nsecrets = 0;

void th_register_secret(const char *secret) {
    if (!secret || !*secret) return;
    pthread_mutex_lock(&th_mu);
    for (size_t i = 0; i < th_nsecrets; i++) {
        if (strcmp(th_secrets[i], secret) == 0) {
            pthread_mutex_unlock(&th_mu);
            return;
        }
    }
    char **n = realloc(th_secrets, (th_nsecrets + 1) * sizeof *n);
    if (n) {
        th_secrets = n;
        th_secrets[th_nsecrets] = strdup(secret);
        if (th_secrets[th_nsecrets]) th_nsecrets++;
    }
    pthread_mutex_unlock(&th_mu);
}

static char *replace_all(char *s, const char *needle, const char *with) {
    size_t nl = strlen(needle), wl = strlen(with);
    if (nl == 0) return s;
    for (;;) {
        char *p = strstr(s, needle);
        if (!p) return s;
        size_t pre = (size_t)(p - s), rest = strlen(p + nl);
        char *o = malloc(pre + wl + rest + 1);
        if (!o) return s;
        memcpy(o, s, pre);
        memcpy(o + pre, with, wl);
        memcpy(o + pre + wl, p + nl, rest + 1);
        free(s);
        s = o;
    }
}

char *th_redact(const char *in) {
    char *s = strdup(in ? in : "(null)");
    if (!s) return NULL;
    pthread_mutex_lock(&th_mu);
    for (size_t i = 0; i < th_nsecrets; i++) s = replace_all(s, th_secrets[i], "<redacted>");
    pthread_mutex_unlock(&th_mu);
    /* Whatever follows "Bearer " is a token, registered or not. */
    size_t off = 0;
    for (;;) {
        char *p = strstr(s + off, "Bearer ");
        if (!p) break;
        p += 7;
        char *e = p;
        while (*e && *e != '"' && *e != ' ' && *e != ',' && *e != '\n' && *e != '}') e++;
        size_t pre = (size_t)(p - s);
        if (e == p) {
            off = pre;
            continue;
        }
        char *o = th_strdupf("%.*s<redacted>%s", (int)pre, s, e);
        if (!o) break;
        free(s);
        s = o;
        off = pre + 10;
    }
    return s;
}

static void th_print_redacted(const char *prefix, const char *text) {
    char *r = th_redact(text);
    pthread_mutex_lock(&th_mu);
    fprintf(stdout, "%s%s\n", prefix, r ? r : "(out of memory)");
    fflush(stdout);
    pthread_mutex_unlock(&th_mu);
    free(r);
}

void th_fail(const char *file, int line, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *full = th_strdupf("  FAIL %s:%d: %s", file, line, buf);
    th_print_redacted("", full ? full : buf);
    free(full);
    pthread_mutex_lock(&th_mu);
    th_current_failures++;
    pthread_mutex_unlock(&th_mu);
}

void th_abort_test(void) {
    if (th_in_test && pthread_equal(pthread_self(), th_main_thread)) longjmp(th_jmp, 1);
    fprintf(stdout, "  aborting: fatal failure outside a test body\n");
    fflush(stdout);
    _exit(1);
}

void th_note(const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    th_print_redacted("  note: ", buf);
}

int th_check_str(const char *file, int line, const char *expr, const char *got, const char *want) {
    if (got == NULL && want == NULL) return 1;
    if (got != NULL && want != NULL && strcmp(got, want) == 0) return 1;
    th_fail(file, line, "%s: got %s%s%s, want %s%s%s", expr, got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
            want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
    return 0;
}

int th_check_contains(const char *file, int line, const char *expr, const char *hay, const char *needle, int want) {
    int has = hay != NULL && strstr(hay, needle) != NULL;
    if (has == want) return 1;
    th_fail(file, line, "%s %s \"%s\": it is %s%s%s", expr, want ? "should contain" : "should not contain", needle,
            hay ? "\"" : "", hay ? hay : "NULL", hay ? "\"" : "");
    return 0;
}

int th_check_status(const char *file, int line, const char *expr, int got, int want, const intune_scep_error *err) {
    if (got == want) return 1;
    th_fail(file, line, "%s: got %s, want %s; message: %s", expr, intune_scep_status_name(got),
            intune_scep_status_name(want), err ? intune_scep_error_message(err) : "(no error object)");
    return 0;
}

double th_time_scale(void) {
    const char *s = getenv("TH_TIME_SCALE");
    double v = s ? atof(s) : 1.0;
    return v >= 1.0 ? v : 1.0;
}

int64_t th_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void th_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

char *th_strdupf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

static char th_tmp[256];

const char *th_tmpdir(void) {
    if (!th_tmp[0]) {
        snprintf(th_tmp, sizeof th_tmp, "%s/intune-scep-ctest-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(th_tmp)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return th_tmp;
}

static void th_rmtree_tmp(void) {
    if (!th_tmp[0]) return;
    char *cmd = th_strdupf("rm -rf '%s'", th_tmp);
    if (cmd && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", th_tmp);
    free(cmd);
}

static void run_one(void (*fn)(void)) {
    th_in_test = 1;
    if (setjmp(th_jmp) == 0) fn();
    th_in_test = 0;
}

int th_run(int argc, char **argv, const th_test *tests, size_t count, void (*setup)(void), void (*teardown)(void)) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    th_main_thread = pthread_self();
    int selected_any = 0;
    for (int a = 1; a < argc; a++) {
        int found = 0;
        for (size_t i = 0; i < count; i++)
            if (strcmp(tests[i].name, argv[a]) == 0) found = 1;
        if (!found) {
            fprintf(stdout, "no test named %s\n", argv[a]);
            return 2;
        }
        selected_any = 1;
    }
    int failed = 0, passed = 0;
    if (setup) {
        th_current = "setup";
        th_current_failures = 0;
        setup();
        if (th_current_failures) {
            fprintf(stdout, "[ FAIL ] setup\n");
            return 1;
        }
    }
    int64_t t0 = th_now_ms();
    for (size_t i = 0; i < count; i++) {
        if (selected_any) {
            int want = 0;
            for (int a = 1; a < argc; a++)
                if (strcmp(tests[i].name, argv[a]) == 0) want = 1;
            if (!want) continue;
        }
        th_current = tests[i].name;
        th_current_failures = 0;
        int64_t start = th_now_ms();
        fprintf(stdout, "[ RUN  ] %s\n", th_current);
        run_one(tests[i].fn);
        long el = (long)(th_now_ms() - start);
        if (th_current_failures) {
            failed++;
            fprintf(stdout, "[ FAIL ] %s (%d failed check%s, %ld ms)\n", th_current, th_current_failures,
                    th_current_failures == 1 ? "" : "s", el);
        } else {
            passed++;
            fprintf(stdout, "[  OK  ] %s (%ld ms)\n", th_current, el);
        }
    }
    th_current = "teardown";
    th_current_failures = 0;
    if (teardown) teardown();
    if (th_current_failures) {
        fprintf(stdout, "[ FAIL ] teardown\n");
        failed++;
    }
    th_current = NULL;
    th_rmtree_tmp();
    pthread_mutex_lock(&th_mu);
    for (size_t i = 0; i < th_nsecrets; i++) free(th_secrets[i]);
    free(th_secrets);
    th_secrets = NULL;
    th_nsecrets = 0;
    pthread_mutex_unlock(&th_mu);
    fprintf(stdout, "%d passed, %d failed (%ld ms)\n", passed, failed, (long)(th_now_ms() - t0));
    return failed ? 1 : 0;
}
