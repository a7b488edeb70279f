/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.h - the files a command is given (a CSR, a certificate, revocation results).
 */
#ifndef INTUNE_SCEP_CLI_FILES_H
#define INTUNE_SCEP_CLI_FILES_H

#include <stddef.h>

/** The largest input file read. */
#define CLI_MAX_INPUT_FILE (1024 * 1024)

/** A whole file of at most 1 MiB (malloc'd, NUL-terminated; *len without the NUL), or NULL with *why set. */
char *cli_read_file(const char *path, size_t *len, const char **why);

#endif /* INTUNE_SCEP_CLI_FILES_H */
