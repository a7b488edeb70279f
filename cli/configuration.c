/* SPDX-License-Identifier: Apache-2.0 */
/*
 * configuration.c - the configuration intune-scep runs with. The configuration keys and
 * which of them are secrets come from the library (intune_scep_config_key_*): the tool
 * keeps no list of its own.
 */
#include "configuration.h"

#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

extern char **environ;

/* -v: name the configuration keys the environment set (never their values). Other
   INTUNE_SCEP_* variables belong to build and test tooling and are left alone. */
static void report_environment_keys(void) {
    size_t prefix = strlen(CLI_ENV_PREFIX);
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, CLI_ENV_PREFIX, prefix) != 0 || eq == NULL || (size_t)(eq - *e) - prefix >= 64)
            continue;
        char key[64];
        memcpy(key, *e + prefix, (size_t)(eq - *e) - prefix);
        key[(size_t)(eq - *e) - prefix] = '\0';
        if (intune_scep_config_key_flags(key) & INTUNE_SCEP_CONFIG_KEY_KNOWN)
            fprintf(stderr, "intune-scep: [debug] %s set from the environment (%s%s)\n", key, CLI_ENV_PREFIX, key);
    }
}

int cli_load_config(intune_scep_config *cfg, const struct cli_args *a, intune_scep_error *err) {
    if (a->config_path != NULL) {
        struct stat st;
        if (stat(a->config_path, &st) != 0)
            return cli_fail_early(CLI_EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                                  "config file %s: %s", a->config_path, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return cli_fail_early(CLI_EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                                  "config file %s: not a regular file", a->config_path);
        if (st.st_mode & 077) {
            if (!a->allow_insecure)
                return cli_fail_early(CLI_EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                                      "config file %s is accessible to group or others (mode %03o) and holds "
                                      "secrets: run 'chmod 600 %s', or pass --allow-insecure-config-permissions",
                                      a->config_path, (unsigned)(st.st_mode & 0777), a->config_path);
            fprintf(stderr,
                    "intune-scep: warning: config file %s is accessible to group or others (mode %03o); "
                    "it holds secrets: chmod 600 it\n",
                    a->config_path, (unsigned)(st.st_mode & 0777));
        }
        if (intune_scep_config_load_file(cfg, a->config_path, err) != INTUNE_SCEP_OK)
            return cli_fail_early(CLI_EXIT_USAGE, intune_scep_status_name(intune_scep_error_status(err)), "%s",
                                  intune_scep_error_message(err));
    }
    /* The INTUNE_SCEP_<KEY> overrides, through the library's own call (only configuration keys). */
    if (intune_scep_config_load_env(cfg, CLI_ENV_PREFIX, err) != INTUNE_SCEP_OK)
        return cli_fail_early(CLI_EXIT_USAGE, intune_scep_status_name(intune_scep_error_status(err)), "%s",
                              intune_scep_error_message(err));
    if (a->verbose)
        report_environment_keys();
    /* Remember the secrets (the library's table says which keys hold one), to scrub them from
       anything printed. */
    for (size_t i = 0; i < intune_scep_config_key_count(); i++) {
        const char *key = intune_scep_config_key_name(i);
        if (intune_scep_config_key_flags(key) & INTUNE_SCEP_CONFIG_KEY_SECRET)
            cli_secret_add(intune_scep_config_get(cfg, key));
    }
    /* The private key of a certificate credential is a secret file too: its own file, or the
       certificate file when the key is inside it. */
    const char *key_file = intune_scep_config_get(cfg, "AAD_CLIENT_KEY_FILE");
    if (key_file == NULL || *key_file == '\0')
        key_file = intune_scep_config_get(cfg, "AAD_CLIENT_CERT_FILE");
    if (key_file != NULL && *key_file != '\0') {
        struct stat st;
        if (stat(key_file, &st) == 0 && (st.st_mode & 077)) {
            if (!a->allow_insecure)
                return cli_fail_early(CLI_EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                                      "private key file %s is accessible to group or others (mode %03o): run "
                                      "'chmod 600 %s', or pass --allow-insecure-config-permissions",
                                      key_file, (unsigned)(st.st_mode & 0777), key_file);
            fprintf(stderr,
                    "intune-scep: warning: private key file %s is accessible to group or others (mode %03o); "
                    "chmod 600 it\n",
                    key_file, (unsigned)(st.st_mode & 0777));
        }
    }
    if (a->verbose)
        intune_scep_config_set_log_callback(cfg, cli_log_line, NULL, INTUNE_SCEP_LOG_DEBUG);
    else
        intune_scep_config_set_log_callback(cfg, cli_log_warnings_only, NULL, INTUNE_SCEP_LOG_WARNING);
    return -1;
}

int cli_use_candidate(intune_scep_client *client, const struct cli_args *a, intune_scep_error *err) {
    if (a->candidate_path == NULL)
        return -1;
    /* A candidate credential, tried on this client as a rotation would install it. */
    intune_scep_config *cand = intune_scep_config_new();
    int rc = cand ? intune_scep_config_load_file(cand, a->candidate_path, err) : INTUNE_SCEP_E_NOMEM;
    if (rc == INTUNE_SCEP_OK)
        rc = intune_scep_client_update_credentials(client, cand, err);
    intune_scep_config_free(cand);
    if (rc != INTUNE_SCEP_OK)
        return cli_fail_early(cli_exit_code_for_status(rc), intune_scep_status_name(rc), "--candidate %s: %s",
                              a->candidate_path,
                              rc == INTUNE_SCEP_E_NOMEM ? "out of memory" : intune_scep_error_message(err));
    return -1;
}
