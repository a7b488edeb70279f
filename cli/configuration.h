/* SPDX-License-Identifier: Apache-2.0 */
/*
 * configuration.h - the configuration intune-scep runs with: the file (-c), the
 * INTUNE_SCEP_<KEY> environment overrides, the check --candidate credential.
 */
#ifndef INTUNE_SCEP_CLI_CONFIGURATION_H
#define INTUNE_SCEP_CLI_CONFIGURATION_H

#include "args.h"

#include "intune_scep.h"

/** The prefix of the environment variables that override configuration keys. */
#define CLI_ENV_PREFIX INTUNE_SCEP_ENV_PREFIX

/**
 * Build `cfg`: the file of -c (refused when group or others may read or write it, unless
 * --allow-insecure-config-permissions), then the INTUNE_SCEP_<KEY> overrides. Remembers the
 * values of the library's secret keys for scrubbing, checks the private key file's mode,
 * and sets the log sink (-v: every line; else warnings). Returns -1 when fine, else the
 * exit code of the failure it reported.
 */
int cli_load_config(intune_scep_config *cfg, const struct cli_args *a, intune_scep_error *err);

/**
 * check --candidate FILE: install the credential of FILE on `client` as a rotation would.
 * Returns -1 when fine (or no candidate), else the exit code of the failure it reported.
 */
int cli_use_candidate(intune_scep_client *client, const struct cli_args *a, intune_scep_error *err);

#endif /* INTUNE_SCEP_CLI_CONFIGURATION_H */
