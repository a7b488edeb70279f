/* SPDX-License-Identifier: Apache-2.0 */
/*
 * args.c - the command line of intune-scep: global options (before or after the command),
 * the command, its options ("--name value" or "--name=value"), which command takes which
 * option, and the HRESULT of notify-failure.
 */
#include "args.h"

#include "output.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Command-specific options, as bits, to tell which command accepts which. */
enum {
    OPT_TRANSACTION_ID = 1 << 0,
    OPT_CSR = 1 << 1,
    OPT_CERT = 1 << 2,
    OPT_CA_CONFIGURATION = 1 << 3,
    OPT_CERTIFICATE_AUTHORITY = 1 << 4,
    OPT_HRESULT = 1 << 5,
    OPT_DESCRIPTION = 1 << 6,
    OPT_MAX = 1 << 7,
    OPT_ISSUER = 1 << 8,
    OPT_LAST = OPT_ISSUER
};

static const struct {
    const char *name;
    enum cli_command cmd;
    unsigned allowed;
    unsigned required;
} commands[] = {
    {"check", CLI_CMD_CHECK, 0, 0},
    {"validate", CLI_CMD_VALIDATE, OPT_TRANSACTION_ID | OPT_CSR, OPT_TRANSACTION_ID | OPT_CSR},
    {"notify-success", CLI_CMD_NOTIFY_SUCCESS,
     OPT_TRANSACTION_ID | OPT_CSR | OPT_CERT | OPT_CA_CONFIGURATION | OPT_CERTIFICATE_AUTHORITY,
     OPT_TRANSACTION_ID | OPT_CSR | OPT_CERT},
    {"notify-failure", CLI_CMD_NOTIFY_FAILURE, OPT_TRANSACTION_ID | OPT_CSR | OPT_HRESULT | OPT_DESCRIPTION,
     OPT_TRANSACTION_ID | OPT_CSR | OPT_HRESULT | OPT_DESCRIPTION},
    {"revocations", CLI_CMD_REVOCATIONS, OPT_MAX | OPT_ISSUER, 0},
    {"version", CLI_CMD_VERSION, 0, 0},
    {"help", CLI_CMD_HELP, 0, 0},
};

static const struct {
    const char *name;
    unsigned bit;
    size_t offset;
} value_options[] = {
    {"--transaction-id", OPT_TRANSACTION_ID, offsetof(struct cli_args, transaction_id)},
    {"--csr", OPT_CSR, offsetof(struct cli_args, csr_path)},
    {"--cert", OPT_CERT, offsetof(struct cli_args, cert_path)},
    {"--ca-configuration", OPT_CA_CONFIGURATION, offsetof(struct cli_args, ca_configuration)},
    {"--certificate-authority", OPT_CERTIFICATE_AUTHORITY, offsetof(struct cli_args, certificate_authority)},
    {"--hresult", OPT_HRESULT, offsetof(struct cli_args, hresult_text)},
    {"--description", OPT_DESCRIPTION, offsetof(struct cli_args, description)},
    {"--max", OPT_MAX, offsetof(struct cli_args, max_text)},
    {"--issuer", OPT_ISSUER, offsetof(struct cli_args, issuer)},
};

enum cli_command cli_command_named(const char *name) {
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(name, commands[k].name) == 0)
            return commands[k].cmd;
    return CLI_CMD_NONE;
}

/*
 * Match `arg` against the long option `name`, taking "--name value" or
 * "--name=value". Returns 1 and sets *value (advancing *i) on a match,
 * 0 when it is another option, -1 when the value is missing.
 */
static int take_value(const char *name, int argc, char **argv, int *i, const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

static const char *option_name(unsigned bit) {
    for (size_t k = 0; k < sizeof value_options / sizeof value_options[0]; k++)
        if (value_options[k].bit == bit)
            return value_options[k].name;
    return "?";
}

int cli_parse_args(struct cli_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    /* --json first, so even an early usage error comes out as JSON. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
    }
    cli_output_set_json(a->json);
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        int r;
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--") == 0) {
                options_done = 1;
                continue;
            }
            if (strcmp(arg, "--json") == 0)
                continue;
            if (strcmp(arg, "--allow-insecure-config-permissions") == 0) {
                a->allow_insecure = 1;
                continue;
            }
            if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
                a->verbose = 1;
                continue;
            }
            if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
                a->help = 1;
                continue;
            }
            if (strcmp(arg, "-c") == 0) {
                if (i + 1 >= argc)
                    return cli_usage_error("option %s needs a FILE", arg);
                a->config_path = argv[++i];
                continue;
            }
            r = take_value("--candidate", argc, argv, &i, &value);
            if (r < 0)
                return cli_usage_error("option %s needs a FILE", "--candidate");
            if (r > 0) {
                a->candidate_path = value;
                continue;
            }
            r = take_value("--config", argc, argv, &i, &value);
            if (r < 0)
                return cli_usage_error("option %s needs a FILE", "--config");
            if (r > 0) {
                a->config_path = value;
                continue;
            }
            int matched = 0;
            for (size_t k = 0; k < sizeof value_options / sizeof value_options[0]; k++) {
                r = take_value(value_options[k].name, argc, argv, &i, &value);
                if (r < 0)
                    return cli_usage_error("option %s needs a value", value_options[k].name);
                if (r > 0) {
                    if (a->given & value_options[k].bit)
                        return cli_usage_error("option %s given twice", value_options[k].name);
                    a->given |= value_options[k].bit;
                    *(const char **)((char *)a + value_options[k].offset) = value;
                    matched = 1;
                    break;
                }
            }
            if (matched)
                continue;
            return cli_usage_error("unknown option %s", arg);
        }
        if (a->command == CLI_CMD_NONE) {
            for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
                if (strcmp(arg, commands[k].name) == 0) {
                    a->command = commands[k].cmd;
                    a->command_name = commands[k].name;
                    cli_output_set_command(a->command_name);
                }
            }
            if (a->command == CLI_CMD_NONE)
                return cli_usage_error("unknown command '%s' (commands: check, validate, notify-success, "
                                       "notify-failure, revocations, version, help)",
                                       arg);
            continue;
        }
        if (a->command == CLI_CMD_HELP && a->help_topic == NULL) {
            a->help_topic = arg;
            continue;
        }
        if (a->command == CLI_CMD_REVOCATIONS && a->subcommand == NULL) {
            a->subcommand = arg;
            continue;
        }
        if (a->command == CLI_CMD_REVOCATIONS && a->file == NULL) {
            a->file = arg;
            continue;
        }
        return cli_usage_error("unexpected argument '%s'", arg);
    }
    return -1;
}

int cli_check_command_options(const struct cli_args *a) {
    if (a->candidate_path && a->command != CLI_CMD_CHECK)
        return cli_fail_early(CLI_EXIT_USAGE, "USAGE", "option --candidate applies to 'check' only");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (commands[k].cmd != a->command)
            continue;
        unsigned extra = a->given & ~commands[k].allowed;
        for (unsigned bit = 1; bit <= OPT_LAST; bit <<= 1) {
            if (extra & bit) {
                char buf[256];
                snprintf(buf, sizeof buf, "option %s does not apply to '%s'", option_name(bit), commands[k].name);
                return cli_fail_early(CLI_EXIT_USAGE, "USAGE", "%s", buf);
            }
        }
        unsigned missing = commands[k].required & ~a->given;
        for (unsigned bit = 1; bit <= OPT_LAST; bit <<= 1) {
            if (missing & bit) {
                char buf[256];
                snprintf(buf, sizeof buf, "'%s' needs %s", commands[k].name, option_name(bit));
                return cli_fail_early(CLI_EXIT_USAGE, "USAGE", "%s", buf);
            }
        }
    }
    return -1;
}

int cli_parse_hresult(const char *s, int64_t *out) {
    if (s == NULL || *s == '\0')
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        const char *p = s + 2;
        if (*p == '\0')
            return -1;
        while (*p == '0' && p[1] != '\0')
            p++;
        if (strlen(p) > 16)
            return -1;
        uint64_t v = 0;
        for (; *p; p++) {
            int d;
            if (*p >= '0' && *p <= '9')
                d = *p - '0';
            else if (*p >= 'a' && *p <= 'f')
                d = *p - 'a' + 10;
            else if (*p >= 'A' && *p <= 'F')
                d = *p - 'A' + 10;
            else
                return -1;
            v = (v << 4) | (uint64_t)d;
        }
        /* The 64-bit pattern as a signed value (two's complement), defined behaviour. */
        *out = v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(UINT64_MAX - v) - 1;
        return 0;
    }
    const char *p = s;
    int negative = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (*p == '\0')
        return -1;
    uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (negative)
        *out = v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}
