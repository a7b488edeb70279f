/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.c - everything intune-scep prints: scrubbed of the configuration's secrets (the
 * library never puts a secret into a message; this is the tool's own second line of
 * defence), as aligned text or as one JSON object on stdout.
 */
#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WRAP_COLUMNS 100

/* The process's one output context (the tool is single-threaded). */
static struct {
    int json;
    int verbose;
    const char *command; /* as typed; NULL before a command was named */
    char **secrets;      /* values to scrub, in the order of the library's key table */
    size_t nsecrets;
} out_ctx;

static void out_of_memory(void) {
    fputs("intune-scep: out of memory\n", stderr);
    exit(CLI_EXIT_INTERNAL);
}

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void *cli_xmalloc(size_t n) {
    void *p = malloc(n);
    if (p == NULL)
        out_of_memory();
    return p;
}

char *cli_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = cli_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void cli_output_set_json(int json) {
    out_ctx.json = json;
}

int cli_output_json(void) {
    return out_ctx.json;
}

void cli_output_set_verbose(int verbose) {
    out_ctx.verbose = verbose;
}

void cli_output_set_command(const char *name) {
    out_ctx.command = name;
}

/* ------------------------------------------------------------------------- */
/* Secrets                                                                   */
/* ------------------------------------------------------------------------- */

void cli_secret_add(const char *value) {
    if (value == NULL || *value == '\0')
        return;
    char **more = realloc(out_ctx.secrets, (out_ctx.nsecrets + 1) * sizeof *more);
    if (more == NULL)
        out_of_memory();
    out_ctx.secrets = more;
    out_ctx.secrets[out_ctx.nsecrets++] = cli_xstrdup(value);
}

void cli_secrets_wipe(void) {
    for (size_t i = 0; i < out_ctx.nsecrets; i++) {
        volatile char *p = out_ctx.secrets[i];
        while (*p)
            *p++ = 0;
        free(out_ctx.secrets[i]);
    }
    free(out_ctx.secrets);
    out_ctx.secrets = NULL;
    out_ctx.nsecrets = 0;
}

char *cli_scrub(const char *text) {
    if (text == NULL)
        return NULL;
    char *out = cli_xstrdup(text);
    for (size_t i = 0; i < out_ctx.nsecrets; i++) {
        const char *secret = out_ctx.secrets[i];
        size_t n = strlen(secret);
        if (n < 4)
            continue;
        char *hit;
        while ((hit = strstr(out, secret)) != NULL) {
            size_t before = (size_t)(hit - out), after = strlen(hit + n);
            char *next = malloc(before + 3 + after + 1);
            if (next == NULL) {
                free(out);
                out_of_memory();
            }
            memcpy(next, out, before);
            memcpy(next + before, "***", 3);
            memcpy(next + before + 3, hit + n, after + 1);
            free(out);
            out = next;
        }
    }
    return out;
}

/* ------------------------------------------------------------------------- */
/* Text                                                                      */
/* ------------------------------------------------------------------------- */

void cli_field_at(FILE *out, int indent, const char *label, const char *value) {
    if (value == NULL || *value == '\0')
        return;
    char *clean = cli_scrub(value);
    int lead = indent + 17, width = WRAP_COLUMNS - lead;
    if (width < 40)
        width = 40;
    fprintf(out, "%*s%-16s ", indent, "", label);
    const char *p = clean;
    int first = 1;
    while (*p) {
        size_t len = strlen(p), cut = len;
        if (len > (size_t)width) {
            cut = (size_t)width;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0) { /* one long word: break after it */
                cut = (size_t)width;
                while (p[cut] && p[cut] != ' ')
                    cut++;
            }
        }
        if (!first)
            fprintf(out, "%*s", lead, "");
        fprintf(out, "%.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
        first = 0;
    }
    free(clean);
}

void cli_field(FILE *out, const char *label, const char *value) {
    cli_field_at(out, 2, label, value);
}

void cli_print_error_fields(FILE *out, int indent, const intune_scep_error *err, const char *fix) {
    char num[32];
    cli_field_at(out, indent, "status", intune_scep_status_name(intune_scep_error_status(err)));
    cli_field_at(out, indent, "code", intune_scep_error_service_code(err));
    long aadsts = intune_scep_error_aadsts_code(err);
    if (aadsts != 0) {
        snprintf(num, sizeof num, "AADSTS%ld", aadsts);
        cli_field_at(out, indent, "AADSTS", num);
    }
    long http = intune_scep_error_http_status(err);
    if (http != 0 && (http < 200 || http > 299)) {
        snprintf(num, sizeof num, "%ld", http);
        cli_field_at(out, indent, "HTTP status", num);
    }
    const char *description = intune_scep_error_description(err);
    cli_field_at(out, indent, "description", description);
    /* The message repeats the description with context: shown when there is no description, or with -v. */
    if (out_ctx.verbose || description == NULL || *description == '\0')
        cli_field_at(out, indent, "message", intune_scep_error_message(err));
    cli_field_at(out, indent, "activity id", intune_scep_error_activity_id(err));
    if (out_ctx.verbose)
        cli_field_at(out, indent, "response body", intune_scep_error_response_body(err));
    cli_field_at(out, indent, "fix", fix);
}

/* ------------------------------------------------------------------------- */
/* JSON                                                                      */
/* ------------------------------------------------------------------------- */

void cli_json_str(cJSON *obj, const char *name, const char *value) {
    if (value == NULL) {
        cJSON_AddNullToObject(obj, name);
        return;
    }
    char *clean = cli_scrub(value);
    cJSON_AddStringToObject(obj, name, clean);
    free(clean);
}

void cli_json_print(cJSON *obj) {
    char *text = cJSON_PrintUnformatted(obj);
    if (text == NULL)
        out_of_memory();
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    cJSON_free(text);
}

/* Every field of `err` (no secrets: the library keeps them out; scrubbed again). */
void cli_json_error_fields(cJSON *o, const intune_scep_error *err, const char *fix) {
    int status = intune_scep_error_status(err);
    cli_json_str(o, "status", intune_scep_status_name(status));
    cli_json_str(o, "message", status == INTUNE_SCEP_OK ? NULL : intune_scep_error_message(err));
    cli_json_str(o, "activity_id", intune_scep_error_activity_id(err));
    cli_json_str(o, "service_code", intune_scep_error_service_code(err));
    cli_json_str(o, "description", intune_scep_error_description(err));
    cJSON_AddNumberToObject(o, "http_status", (double)intune_scep_error_http_status(err));
    cJSON_AddNumberToObject(o, "aadsts_code", (double)intune_scep_error_aadsts_code(err));
    cli_json_str(o, "response_body", intune_scep_error_response_body(err));
    cli_json_str(o, "fix", fix);
}

/* ------------------------------------------------------------------------- */
/* Failures and exit codes                                                   */
/* ------------------------------------------------------------------------- */

int cli_exit_code_for_status(int status) {
    switch (status) {
    case INTUNE_SCEP_OK:
        return CLI_EXIT_SUCCESS;
    case INTUNE_SCEP_E_INVALID_ARGUMENT:
    case INTUNE_SCEP_E_CONFIG:
        return CLI_EXIT_USAGE;
    case INTUNE_SCEP_E_REJECTED:
        return CLI_EXIT_REJECTED;
    case INTUNE_SCEP_E_AUTH:
        return CLI_EXIT_AUTH;
    case INTUNE_SCEP_E_HTTP:
    case INTUNE_SCEP_E_SERVICE_NOT_FOUND:
        return CLI_EXIT_HTTP;
    case INTUNE_SCEP_E_TRANSPORT:
        return CLI_EXIT_TRANSPORT;
    case INTUNE_SCEP_E_PROTOCOL:
        return CLI_EXIT_PROTOCOL;
    default:
        return CLI_EXIT_INTERNAL;
    }
}

int cli_fail_early(int code, const char *status, const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *clean = cli_scrub(buf);
    if (out_ctx.json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_str(o, "command", out_ctx.command);
        cJSON_AddBoolToObject(o, "ok", 0);
        cli_json_str(o, "status", status);
        cli_json_str(o, "message", clean);
        cJSON_AddNumberToObject(o, "exit_code", code);
        cli_json_print(o);
        cJSON_Delete(o);
    } else {
        fprintf(stderr, "intune-scep: %s\n", clean);
        if (code == CLI_EXIT_USAGE && strcmp(status, "USAGE") == 0)
            fprintf(stderr, "Run 'intune-scep %s%s--help' for usage.\n", out_ctx.command ? out_ctx.command : "",
                    out_ctx.command ? " " : "");
    }
    free(clean);
    return code;
}

int cli_usage_error(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return cli_fail_early(CLI_EXIT_USAGE, "USAGE", "%s", buf);
}

/* ------------------------------------------------------------------------- */
/* The library's log lines                                                   */
/* ------------------------------------------------------------------------- */

void cli_log_line(void *userdata, int level, const char *message) {
    (void)userdata;
    const char *name = level >= INTUNE_SCEP_LOG_ERROR     ? "error"
                       : level >= INTUNE_SCEP_LOG_WARNING ? "warning"
                       : level >= INTUNE_SCEP_LOG_INFO    ? "info"
                                                          : "debug";
    char *clean = cli_scrub(message);
    fprintf(stderr, "intune-scep: [%s] %s\n", name, clean);
    free(clean);
}

void cli_log_warnings_only(void *userdata, int level, const char *message) {
    if (level >= INTUNE_SCEP_LOG_WARNING && level < INTUNE_SCEP_LOG_ERROR)
        cli_log_line(userdata, level, message);
}
