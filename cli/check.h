/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check.h - `intune-scep check`.
 */
#ifndef INTUNE_SCEP_CLI_CHECK_H
#define INTUNE_SCEP_CLI_CHECK_H

#include "args.h"

#include "intune_scep.h"

/** Run the three steps with `client` (made from `cfg`), report them; returns the exit code. */
int cli_check_run(intune_scep_client *client, const intune_scep_config *cfg, const struct cli_args *a,
                  intune_scep_error *err);

#endif /* INTUNE_SCEP_CLI_CHECK_H */
