/* SPDX-License-Identifier: Apache-2.0 */
/*
 * args.h - the command line of intune-scep: the commands, their options, and what was given.
 */
#ifndef INTUNE_SCEP_CLI_ARGS_H
#define INTUNE_SCEP_CLI_ARGS_H

#include <stdint.h>

enum cli_command {
    CLI_CMD_NONE = 0,
    CLI_CMD_CHECK,
    CLI_CMD_VALIDATE,
    CLI_CMD_NOTIFY_SUCCESS,
    CLI_CMD_NOTIFY_FAILURE,
    CLI_CMD_VERSION,
    CLI_CMD_HELP,
    CLI_CMD_REVOCATIONS
};

/** What the command line gave (every string points into argv). */
struct cli_args {
    enum cli_command command;
    const char *command_name; /* as typed; NULL without a command */
    const char *config_path;  /* -c, --config */
    int json;
    int allow_insecure;
    int verbose;
    int help;
    unsigned given; /* the command-specific options seen (bits private to args.c) */
    const char *transaction_id;
    const char *csr_path;
    const char *cert_path;
    const char *ca_configuration;
    const char *certificate_authority;
    const char *hresult_text;
    const char *description;
    const char *help_topic;     /* help COMMAND */
    const char *subcommand;     /* revocations: download or upload */
    const char *file;           /* revocations upload: the results file */
    const char *max_text;       /* revocations download --max */
    const char *issuer;         /* revocations download --issuer */
    const char *candidate_path; /* check --candidate FILE: the credential to try instead */
};

/**
 * Parse argv into `a` (zeroed first), telling the output context about --json and the
 * command as soon as they are known. Returns -1 when fine, else the exit code of the usage
 * error it reported.
 */
int cli_parse_args(struct cli_args *a, int argc, char **argv);

/** Check that the options given fit the command. Returns -1 when fine, else the exit code (reported). */
int cli_check_command_options(const struct cli_args *a);

/** The command named `name`, or CLI_CMD_NONE. */
enum cli_command cli_command_named(const char *name);

/** Parse an HRESULT: decimal, negative decimal, or 0x hex up to 64 bits. 0 on success, -1 if malformed. */
int cli_parse_hresult(const char *s, int64_t *out);

#endif /* INTUNE_SCEP_CLI_ARGS_H */
