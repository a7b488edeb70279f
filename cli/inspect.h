/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inspect.h - `intune-scep inspect-csr`: what a certificate request asks for,
 * read by the library (intune_scep_csr_info_*), without configuration or network.
 */
#ifndef INTUNE_SCEP_CLI_INSPECT_H
#define INTUNE_SCEP_CLI_INSPECT_H

/** Whether the command line names the inspect-csr command (its first word that is not an option). */
int inspect_is_command(int argc, char **argv);

/**
 * Run `intune-scep [--json] inspect-csr [--json] [--show-challenge] --csr FILE|-`.
 * Returns the exit code: 0, 2 for a usage error or a file that is not a request.
 */
int inspect_csr_main(int argc, char **argv);

#endif
