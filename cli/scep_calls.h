/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scep_calls.h - `intune-scep validate`, `notify-success`, `notify-failure`.
 */
#ifndef INTUNE_SCEP_CLI_SCEP_CALLS_H
#define INTUNE_SCEP_CLI_SCEP_CALLS_H

#include "args.h"

#include "intune_scep.h"

/** Read the command's files, make its call with `client`, report it; returns the exit code. */
int cli_scep_run(intune_scep_client *client, const struct cli_args *a, intune_scep_error *err);

#endif /* INTUNE_SCEP_CLI_SCEP_CALLS_H */
