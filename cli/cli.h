/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - what the commands kept in their own files (revocations.c) share with
 * main.c: the argument set of a command, and main.c's output helpers (every
 * text printed goes through them, so secrets are scrubbed in one place).
 */
#ifndef INTUNE_SCEP_CLI_H
#define INTUNE_SCEP_CLI_H

#include "intune_scep.h"

#include <cjson/cJSON.h>

#include <stdio.h>

/* Exit codes (main.c's help text and docs/onboarding.md). */
#define CLI_EXIT_INTERNAL 1
#define CLI_EXIT_USAGE 2

/* ---- main.c's helpers ---------------------------------------------------- */

/** `text` with the configuration's secrets replaced (malloc'd). */
char *cli_scrub(const char *text);
/** One aligned "label: value" line (scrubbed; nothing for NULL). */
void cli_field(FILE *out, const char *label, const char *value);
/** Add a string (scrubbed) or JSON null to a JSON object. */
void cli_json_str(cJSON *obj, const char *name, const char *value);
/** Print a JSON object as one line on stdout. */
void cli_json_print(cJSON *obj);
/** The exit code of a library status. */
int cli_exit_code_for_status(int status);
/** Report a failure before anything was sent (text on stderr, or the JSON object); returns `code`. */
int cli_fail_early(int code, const char *status, const char *message);
/** Every field of a library error in a JSON object, with the fix. */
void cli_json_error_fields(cJSON *o, const intune_scep_error *err, const char *fix);
/** Every field of a failed library error as aligned text, with the fix. */
void cli_print_error_fields(FILE *out, int indent, const intune_scep_error *err, const char *fix);
/** A whole file of at most 1 MiB (malloc'd, NUL-terminated), or NULL with *why set. */
char *cli_read_file(const char *path, size_t *len, const char **why);

/* ---- revocations.c --------------------------------------------------------- */

/** The arguments of `intune-scep revocations ...`. */
struct cli_revocations_args {
    int json;
    int verbose;
    const char *subcommand; /* "download" or "upload" */
    const char *file;       /* upload: the results file */
    const char *max_text;   /* download: --max, NULL for the default */
    const char *issuer;     /* download: --issuer, NULL for any */
};

/** Check the arguments before anything is sent: -1 when fine, else the exit code (reported). */
int cli_revocations_check(const struct cli_revocations_args *a);
/** Run the subcommand on `client`; returns the exit code. */
int cli_revocations_run(intune_scep_client *client, intune_scep_error *err, const struct cli_revocations_args *a);
/** The help text of `intune-scep revocations`. */
void cli_revocations_help(FILE *out);

#endif /* INTUNE_SCEP_CLI_H */
