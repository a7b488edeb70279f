/* SPDX-License-Identifier: Apache-2.0 */
/* scep.c - the three SCEP calls: their JSON bodies and the verdict (only
 * "Success" passes); the call itself (target, exchange, log line) is service.c's. */
#include "scep.h"
#include "certinfo.h"
#include "client.h"
#include "parse.h"
#include "service.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The request bodies: {"<wrapper>":{"<name>":<value>,...}} written directly, byte for byte what
 * cJSON_PrintUnformatted prints for the same tree (fuzz_json_writer compares the two and parses the
 * result back), without building and printing a tree on every call. String values are escaped per
 * RFC 8259 as cJSON does ('"', '\\', \b \f \n \r \t, other controls as \u00xx; everything else as
 * it is) and must be valid UTF-8: anything else gives NULL and nothing is sent. */
typedef struct {
    const char *name; /* a constant ASCII member name: written as it is */
    const char *value; /* NULL or "": JSON null */
    int raw; /* value is a JSON number, written as it is */
    size_t len; /* filled by measure_field */
    size_t out; /* the bytes its value takes in the body */
    int plain; /* nothing to escape: copied as it is */
} json_field;

static int measure_field(json_field *f) {
    if (!f->value || !*f->value) {
        f->out = 4; /* null */
        return 0;
    }
    f->len = strlen(f->value);
    if (f->raw) {
        f->out = f->len;
        return 0;
    }
    size_t span = isc_json_plain_span(f->value, f->len);
    f->plain = span == f->len;
    if (f->plain) {
        f->out = f->len + 2;
        return 0;
    }
    if (!isc_utf8_valid(f->value, f->len)) return -1;
    size_t out = 2 + span;
    for (size_t i = span; i < f->len; i++) {
        unsigned char ch = (unsigned char)f->value[i];
        if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' || ch == '\t') out += 2;
        else if (ch < 0x20) out += 6;
        else out += 1;
    }
    f->out = out;
    return 0;
}

static char *write_field(char *o, const json_field *f) {
    if (!f->value || !*f->value) {
        memcpy(o, "null", 4);
        return o + 4;
    }
    if (f->raw) {
        memcpy(o, f->value, f->len);
        return o + f->len;
    }
    *o++ = '"';
    if (f->plain) {
        memcpy(o, f->value, f->len);
        o += f->len;
    } else {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < f->len; i++) {
            unsigned char ch = (unsigned char)f->value[i];
            char e = 0;
            switch (ch) {
            case '"': e = '"'; break;
            case '\\': e = '\\'; break;
            case '\b': e = 'b'; break;
            case '\f': e = 'f'; break;
            case '\n': e = 'n'; break;
            case '\r': e = 'r'; break;
            case '\t': e = 't'; break;
            default: break;
            }
            if (e) {
                *o++ = '\\';
                *o++ = e;
            } else if (ch < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[ch >> 4];
                o[5] = hex[ch & 15];
                o += 6;
            } else {
                *o++ = (char)ch;
            }
        }
    }
    *o++ = '"';
    return o;
}

static char *write_body(const char *wrapper, json_field *fields, size_t count) {
    size_t wlen = strlen(wrapper);
    size_t total = wlen + 8; /* {"wrapper":{ and }} and the NUL */
    for (size_t i = 0; i < count; i++) {
        if (measure_field(&fields[i]) != 0) return NULL;
        total += strlen(fields[i].name) + 3 + fields[i].out + (i ? 1 : 0); /* "name": value , */
    }
    char *body = malloc(total);
    if (!body) return NULL;
    char *o = body;
    *o++ = '{';
    *o++ = '"';
    memcpy(o, wrapper, wlen);
    o += wlen;
    memcpy(o, "\":{", 3);
    o += 3;
    for (size_t i = 0; i < count; i++) {
        if (i) *o++ = ',';
        size_t nlen = strlen(fields[i].name);
        *o++ = '"';
        memcpy(o, fields[i].name, nlen);
        o += nlen;
        *o++ = '"';
        *o++ = ':';
        o = write_field(o, &fields[i]);
    }
    *o++ = '}';
    *o++ = '}';
    *o = '\0';
    return body;
}

char *isc_body_validate(const char *transaction_id, const char *csr, const char *provider) {
    json_field f[] = {{.name = "transactionId", .value = transaction_id},
                      {.name = "certificateRequest", .value = csr},
                      {.name = "callerInfo", .value = provider}};
    return write_body("request", f, sizeof f / sizeof f[0]);
}

char *isc_body_success(const char *transaction_id, const char *csr, const char *thumbprint, const char *serial,
                       const char *expiration, const char *issuer, const char *provider, const char *ca_configuration,
                       const char *certificate_authority) {
    json_field f[] = {{.name = "transactionId", .value = transaction_id},
                      {.name = "certificateRequest", .value = csr},
                      {.name = "certificateThumbprint", .value = thumbprint},
                      {.name = "certificateSerialNumber", .value = serial},
                      {.name = "certificateExpirationDateUtc", .value = expiration},
                      {.name = "issuingCertificateAuthority", .value = issuer},
                      {.name = "callerInfo", .value = provider},
                      /* Optional: JSON null when not given, as the C# reference sends. */
                      {.name = "caConfiguration", .value = ca_configuration},
                      {.name = "certificateAuthority", .value = certificate_authority}};
    return write_body("notification", f, sizeof f / sizeof f[0]);
}

char *isc_body_failure(const char *transaction_id, const char *csr, int64_t hresult, const char *description,
                       const char *provider) {
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, hresult); /* exact: a double would round 64-bit values */
    json_field f[] = {{.name = "transactionId", .value = transaction_id},
                      {.name = "certificateRequest", .value = csr},
                      {.name = "hResult", .value = num, .raw = 1},
                      {.name = "errorDescription", .value = description},
                      {.name = "callerInfo", .value = provider}};
    return write_body("notification", f, sizeof f / sizeof f[0]);
}

static int read_scep_answer(const char *body, size_t len, void *ctx, intune_scep_error *err) {
    (void)ctx;
    return isc_parse_scep_answer(body, len, err);
}

/* Send `body` (taken over and freed) to ScepActions/`action`; one log line. */
static int isc_scep_call(intune_scep_client *c, const char *action, const char *transaction_id, char *body,
                  intune_scep_error *err) {
    char path[96];
    snprintf(path, sizeof path, "ScepActions/%s", action);
    isc_service_op op = {action, INTUNE_SCEP_SERVICE_VALIDATION, path, c->settings.scep_api_version};
    return isc_service_call(c, &op, transaction_id, body, read_scep_answer, NULL, err);
}

int isc_scep_validate(intune_scep_client *c, const char *transaction_id, const char *csr, intune_scep_error *err) {
    char *body = isc_body_validate(transaction_id, csr, c->settings.provider);
    return isc_scep_call(c, "validateRequest", transaction_id, body, err);
}

int isc_scep_success(intune_scep_client *c, const char *transaction_id, const char *csr, const char *thumbprint,
                     const char *serial, const char *expiration, const char *issuer, const char *ca_configuration,
                     const char *certificate_authority, intune_scep_error *err) {
    char *body = isc_body_success(transaction_id, csr, thumbprint, serial, expiration, issuer, c->settings.provider,
                                  ca_configuration, certificate_authority);
    return isc_scep_call(c, "successNotification", transaction_id, body, err);
}

int isc_scep_success_for_cert(intune_scep_client *c, const char *transaction_id, const char *csr, const char *cert,
                              size_t cert_len, const char *ca_configuration, const char *certificate_authority,
                              intune_scep_error *err) {
    intune_scep_cert_details *d = NULL;
    int rc = isc_cert_details(cert, cert_len, &d, err);
    if (rc) return rc;
    /* What the certificate gives is held to the rules of the arguments it stands for. */
    if (!rc) rc = isc_check_text(err, "cert_thumbprint", d->thumbprint, 1);
    if (!rc) rc = isc_check_text(err, "cert_serial_number", d->serial_number, 1);
    if (!rc) rc = isc_check_text(err, "cert_expiration_date", d->expiration_date, 1);
    if (!rc) rc = isc_check_text(err, "cert_issuing_authority", d->issuing_authority, 1);
    if (!rc)
        rc = isc_scep_success(c, transaction_id, csr, d->thumbprint, d->serial_number, d->expiration_date,
                              d->issuing_authority, ca_configuration, certificate_authority, err);
    isc_cert_details_free(d);
    return rc;
}

int isc_scep_failure(intune_scep_client *c, const char *transaction_id, const char *csr, int64_t hresult,
                     const char *description, intune_scep_error *err) {
    char *body = isc_body_failure(transaction_id, csr, hresult, description, c->settings.provider);
    return isc_scep_call(c, "failureNotification", transaction_id, body, err);
}
