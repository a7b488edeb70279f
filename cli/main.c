/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intune-scep - the administrator's command-line tool for intune-scep.
 *
 * It does what a SCEP server does (validate a request, notify Intune of a
 * success or a failure, download revocation requests and upload their results)
 * and checks a configuration step by step (Graph token, service discovery,
 * Intune token), saying which step fails and how to fix it. It is written over
 * the public C ABI (intune_scep.h) only.
 *
 * Output: short aligned text by default, one JSON object on stdout with --json.
 * It never prints a secret: the values of the configuration's secret keys (the
 * library's table says which) are never echoed, and every text that comes from
 * the library is scrubbed of them once more before it is printed (output.c).
 *
 * The files, one concern each: args.c (the command line), help.c (help texts),
 * output.c (text, JSON, exit codes, scrubbing), configuration.c (file,
 * environment, candidate credential), files.c (input files), and the commands:
 * check.c, scep_calls.c (validate, notify-success, notify-failure),
 * revocations.c, inspect.c (inspect-csr); hints.c says what to fix.
 */
#include "args.h"
#include "check.h"
#include "configuration.h"
#include "help.h"
#include "inspect.h"
#include "output.h"
#include "revocations.h"
#include "scep_calls.h"

#include "intune_scep.h"

#include <cjson/cJSON.h>

#include <stdio.h>

static int cmd_version(const struct cli_args *a) {
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_str(o, "command", "version");
        cJSON_AddBoolToObject(o, "ok", 1);
        cli_json_str(o, "status", intune_scep_status_name(INTUNE_SCEP_OK));
        cli_json_str(o, "cli_version", INTUNE_SCEP_CLI_VERSION);
        cli_json_str(o, "library_version", intune_scep_version());
        cJSON_AddNumberToObject(o, "abi_version", INTUNE_SCEP_ABI_VERSION);
        cJSON_AddNumberToObject(o, "exit_code", 0);
        cli_json_print(o);
        cJSON_Delete(o);
    } else {
        printf("intune-scep %s (libintunescep %s, ABI %d)\n", INTUNE_SCEP_CLI_VERSION, intune_scep_version(),
               INTUNE_SCEP_ABI_VERSION);
    }
    return CLI_EXIT_SUCCESS;
}

/* The commands that talk to Intune: configuration, client, then the command. */
static int run(const struct cli_args *a) {
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_client *client = NULL;
    int code;
    if (err == NULL || cfg == NULL) {
        code = cli_fail_early(CLI_EXIT_INTERNAL, "INTUNE_SCEP_E_NOMEM", "out of memory");
        goto done;
    }
    code = cli_load_config(cfg, a, err);
    if (code >= 0)
        goto done;
    int rc = intune_scep_client_new(cfg, &client, err);
    if (rc != INTUNE_SCEP_OK) {
        const char *hint = a->config_path ? "" : " (no -c FILE given)";
        code = cli_fail_early(cli_exit_code_for_status(rc), intune_scep_status_name(rc), "configuration: %s%s",
                              intune_scep_error_message(err), hint);
        goto done;
    }
    /* Without -v the configuration's warnings (unknown or retired keys) were shown while the
       client was created; the per-call lines would only repeat what the tool reports itself. */
    if (!a->verbose)
        intune_scep_client_set_log_callback(client, NULL, NULL, INTUNE_SCEP_LOG_ERROR);
    code = cli_use_candidate(client, a, err);
    if (code >= 0)
        goto done;
    if (a->command == CLI_CMD_CHECK)
        code = cli_check_run(client, cfg, a, err);
    else if (a->command == CLI_CMD_REVOCATIONS)
        code = cli_revocations_run(client, err, a);
    else
        code = cli_scep_run(client, a, err);
done:
    intune_scep_client_free(client);
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    return code;
}

int main(int argc, char **argv) {
    if (inspect_is_command(argc, argv))
        return inspect_csr_main(argc, argv);
    struct cli_args a;
    int code = cli_parse_args(&a, argc, argv);
    if (code >= 0)
        return code;
    cli_output_set_verbose(a.verbose);
    if (a.command == CLI_CMD_HELP) {
        enum cli_command topic = CLI_CMD_NONE;
        if (a.help_topic != NULL) {
            topic = cli_command_named(a.help_topic);
            if (topic == CLI_CMD_NONE)
                return cli_usage_error("no help for '%s'", a.help_topic);
        }
        cli_help_command(stdout, topic);
        return CLI_EXIT_SUCCESS;
    }
    if (a.help) {
        cli_help_command(stdout, a.command);
        return CLI_EXIT_SUCCESS;
    }
    if (a.command == CLI_CMD_NONE) {
        if (a.json)
            return cli_fail_early(CLI_EXIT_USAGE, "USAGE", "no command given");
        cli_help_main(stderr);
        return CLI_EXIT_USAGE;
    }
    code = cli_check_command_options(&a);
    if (code >= 0)
        return code;
    if (a.command == CLI_CMD_VERSION)
        return cmd_version(&a);
    if (a.command == CLI_CMD_REVOCATIONS) {
        code = cli_revocations_check(&a);
        if (code >= 0)
            return code;
    }
    code = run(&a);
    cli_secrets_wipe();
    fflush(stdout);
    return code;
}
