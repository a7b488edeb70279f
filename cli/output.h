/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.h - everything intune-scep prints goes through here: the exit codes, the
 * configuration's secrets scrubbed from every text, aligned "label  value" lines, the JSON
 * object of --json, a failure before anything was sent, the fields of a library error, and
 * the library's log lines.
 *
 * The output settings (--json, -v, the command) and the secrets are the process's one
 * output context: the tool is single-threaded.
 */
#ifndef INTUNE_SCEP_CLI_OUTPUT_H
#define INTUNE_SCEP_CLI_OUTPUT_H

#include "intune_scep.h"

#include <cjson/cJSON.h>

#include <stdio.h>

/* Exit codes: documented in the help text (help.c) and docs/onboarding.md. */
enum {
    CLI_EXIT_SUCCESS = 0,
    CLI_EXIT_INTERNAL = 1,
    CLI_EXIT_USAGE = 2,     /* usage or configuration error: nothing was sent */
    CLI_EXIT_REJECTED = 3,  /* Intune answered a code other than Success */
    CLI_EXIT_AUTH = 4,      /* the identity platform refused */
    CLI_EXIT_HTTP = 5,      /* an HTTP error from Graph or Intune, or the service not found */
    CLI_EXIT_TRANSPORT = 6, /* connect, DNS, proxy, TLS, timeout */
    CLI_EXIT_PROTOCOL = 7   /* an answer that cannot be trusted */
};

/* ---- the output context --------------------------------------------------- */

/** Print JSON (1) or text (0). */
void cli_output_set_json(int json);
/** Whether --json was given. */
int cli_output_json(void);
/** Show what -v shows (the library's debug lines, the error's message and response body). */
void cli_output_set_verbose(int verbose);
/** The command being run (its name as typed), or NULL before one was named. */
void cli_output_set_command(const char *name);

/* ---- secrets -------------------------------------------------------------- */

/** Remember a secret value (copied) to scrub from anything printed; NULL and "" are ignored. */
void cli_secret_add(const char *value);
/** Wipe and forget every remembered secret. */
void cli_secrets_wipe(void);
/** `text` with every remembered secret replaced by "***" (malloc'd; NULL for NULL). */
char *cli_scrub(const char *text);

/* ---- text ----------------------------------------------------------------- */

/** Print "label   value" indented by `indent`, scrubbed and wrapped; nothing for NULL or "". */
void cli_field_at(FILE *out, int indent, const char *label, const char *value);
/** cli_field_at with the indent of a command's result (2). */
void cli_field(FILE *out, const char *label, const char *value);
/** Every field of a failed library error as aligned text, with the fix. */
void cli_print_error_fields(FILE *out, int indent, const intune_scep_error *err, const char *fix);

/* ---- JSON ----------------------------------------------------------------- */

/** Add a string (scrubbed) or JSON null to a JSON object. */
void cli_json_str(cJSON *obj, const char *name, const char *value);
/** Print a JSON object as one line on stdout. */
void cli_json_print(cJSON *obj);
/** Every field of a library error in a JSON object, with the fix. */
void cli_json_error_fields(cJSON *o, const intune_scep_error *err, const char *fix);

/* ---- failures and exit codes ---------------------------------------------- */

/** The exit code of a library status. */
int cli_exit_code_for_status(int status);
/** Report a failure before anything was sent (text on stderr, or the JSON object); returns `code`. */
int cli_fail_early(int code, const char *status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** A usage error (exit 2, status "USAGE"); returns the exit code. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the library's log lines ---------------------------------------------- */

/** A log sink printing every line on stderr, scrubbed (-v). */
void cli_log_line(void *userdata, int level, const char *message);
/** A log sink printing warnings only (the default while a client is created). */
void cli_log_warnings_only(void *userdata, int level, const char *message);

/* ---- elapsed times and allocation ------------------------------------------- */

/** Monotonic milliseconds, for the elapsed times the commands print. */
double cli_now_ms(void);

/** malloc, or exit(CLI_EXIT_INTERNAL) with a message when out of memory. */
void *cli_xmalloc(size_t n);
/** strdup, or exit(CLI_EXIT_INTERNAL) with a message when out of memory. */
char *cli_xstrdup(const char *s);

#endif /* INTUNE_SCEP_CLI_OUTPUT_H */
