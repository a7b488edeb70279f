/* SPDX-License-Identifier: Apache-2.0 */
/* files.c - reading the files a command is given, whole and bounded. */
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read a whole file (at most CLI_MAX_INPUT_FILE bytes). Returns NULL and sets *why on failure. */
char *cli_read_file(const char *path, size_t *len, const char **why) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = strerror(errno);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        fclose(f);
        *why = "out of memory";
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= CLI_MAX_INPUT_FILE) {
                free(buf);
                fclose(f);
                *why = "larger than 1 MiB";
                return NULL;
            }
            cap *= 2;
            char *next = realloc(buf, cap + 1);
            if (next == NULL) {
                free(buf);
                fclose(f);
                *why = "out of memory";
                return NULL;
            }
            buf = next;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                fclose(f);
                *why = "read error";
                return NULL;
            }
            break;
        }
    }
    fclose(f);
    if (n > CLI_MAX_INPUT_FILE) {
        free(buf);
        *why = "larger than 1 MiB";
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
