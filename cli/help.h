/* SPDX-License-Identifier: Apache-2.0 */
/*
 * help.h - the help texts of intune-scep.
 */
#ifndef INTUNE_SCEP_CLI_HELP_H
#define INTUNE_SCEP_CLI_HELP_H

#include "args.h"

#include <stdio.h>

/** The tool's help: usage, commands, global options, exit status. */
void cli_help_main(FILE *out);

/** The help of command `cmd` with the global options and exit status; the tool's help for CLI_CMD_NONE. */
void cli_help_command(FILE *out, enum cli_command cmd);

#endif /* INTUNE_SCEP_CLI_HELP_H */
