/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certfmt.h - certificate fields as the server writes them in its log lines, its database and its
 * answers to Intune: serial numbers, names, digests and times as text. Pure functions.
 */
#ifndef INTUNE_SCEP_SERVER_CERTFMT_H
#define INTUNE_SCEP_SERVER_CERTFMT_H

#include <stddef.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

/* A serial number in the canonical form: upper-case hex without leading zeros ("0" for zero),
 * the form of intune_scep_cert_details_serial_number. `buf` is "" when it cannot be written. */
void serial_of(const ASN1_INTEGER *i, char *buf, size_t cap);

/* A serial from a revocation request in the canonical form: hex digits of either case, leading zeros
 * dropped, upper-cased. 0, or -1 for anything else (empty, another character, more than 40 digits). */
int serial_canonical(const char *in, char *buf, size_t cap);

/* `name` in RFC 4514 form (UTF-8), quotes and control characters replaced by '?' so that it stays
 * inside one quoted log field; "" when it cannot be printed. */
void name_rfc4514(X509_NAME *name, char *buf, size_t cap);

/* SHA-256 of `data` as 64 lower-case hex digits (a repeated request carries the same CSR digest). */
void sha256_hex(const unsigned char *data, size_t len, char out[65]);

/* An ASN.1 time as "YYYY-MM-DDTHH:MM:SSZ", or "?" when it cannot be read. */
void asn1_time_iso(const ASN1_TIME *t, char *buf, size_t cap);

#endif
