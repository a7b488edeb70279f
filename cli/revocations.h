/* SPDX-License-Identifier: Apache-2.0 */
/*
 * revocations.h - `intune-scep revocations download` and `revocations upload`.
 */
#ifndef INTUNE_SCEP_CLI_REVOCATIONS_H
#define INTUNE_SCEP_CLI_REVOCATIONS_H

#include "args.h"

#include "intune_scep.h"

/** Check the subcommand and its arguments before anything is sent: -1 when fine, else the exit code (reported). */
int cli_revocations_check(const struct cli_args *a);

/** Run the subcommand with `client`; returns the exit code. */
int cli_revocations_run(intune_scep_client *client, intune_scep_error *err, const struct cli_args *a);

#endif /* INTUNE_SCEP_CLI_REVOCATIONS_H */
