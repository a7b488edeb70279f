/* SPDX-License-Identifier: Apache-2.0 */
/* csrinfo.c - what a certificate request asks for: the challengePassword, the subject,
 * the SANs (with the strong-mapping SID URI), the key, the signature hash, the requested
 * key usage and EKUs, and Intune's ValidityPeriod / ValidityPeriodUnits name-value pairs.
 * A pure reader of outside bytes (fuzzed by fuzz_csr_info). */
#include "csrinfo.h"
#include "certinfo.h"
#include "error.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define UPN_OID "1.3.6.1.4.1.311.20.2.3"
#define NAME_VALUE_PAIR_OID "1.3.6.1.4.1.311.13.2.1"
#define SID_URI_PREFIX "tag:microsoft.com,2022-09-14:sid:"
#define MAX_SANS 256
#define MAX_EKUS 64

struct intune_scep_csr_info {
    char *challenge;
    char *subject;
    size_t san_count;
    char *san_type[MAX_SANS];
    char *san_value[MAX_SANS];
    char *sid;
    char *key_type;
    int key_bits;
    char *signature_hash;
    int signature_valid;
    char *key_usage;        /* NULL: no keyUsage extension */
    size_t eku_count;
    char *eku[MAX_EKUS];
    char *validity_period;  /* NULL when absent */
    char *validity_units;
    int validity_days;
};

void isc_csr_info_free(intune_scep_csr_info *info) {
    if (!info) return;
    if (info->challenge) {
        OPENSSL_cleanse(info->challenge, strlen(info->challenge));
        free(info->challenge);
    }
    free(info->subject);
    for (size_t i = 0; i < info->san_count; i++) {
        free(info->san_type[i]);
        free(info->san_value[i]);
    }
    free(info->sid);
    free(info->key_type);
    free(info->signature_hash);
    free(info->key_usage);
    for (size_t i = 0; i < info->eku_count; i++) free(info->eku[i]);
    free(info->validity_period);
    free(info->validity_units);
    free(info);
}

/* A string-typed ASN1_TYPE as UTF-8 (malloc'ed), or NULL. */
static char *type_utf8(const ASN1_TYPE *t) {
    if (!t) return NULL;
    switch (t->type) {
    case V_ASN1_PRINTABLESTRING: case V_ASN1_UTF8STRING: case V_ASN1_IA5STRING: case V_ASN1_T61STRING:
    case V_ASN1_BMPSTRING: case V_ASN1_UNIVERSALSTRING: case V_ASN1_VISIBLESTRING:
        break;
    default:
        return NULL;
    }
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, t->value.asn1_string);
    if (n < 0) return NULL;
    char *s = isc_strndup((const char *)u, (size_t)n);
    OPENSSL_free(u);
    if (s && strlen(s) != (size_t)n) { /* an embedded NUL: not a text */
        free(s);
        return NULL;
    }
    return s;
}

static int add_san(intune_scep_csr_info *info, const char *type, char *value) {
    if (!value) return -1;
    if (info->san_count >= MAX_SANS) {
        free(value);
        return 0;
    }
    char *t = isc_strdup(type);
    if (!t) {
        free(value);
        return -1;
    }
    info->san_type[info->san_count] = t;
    info->san_value[info->san_count] = value;
    info->san_count++;
    return 0;
}

static char *ia5_copy(const ASN1_IA5STRING *s) {
    int n = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    for (int i = 0; i < n; i++)
        if (d[i] == 0) return isc_strdup("");
    return isc_strndup((const char *)d, (size_t)n);
}

static int read_sans(intune_scep_csr_info *info, X509_EXTENSION *ext) {
    GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
    if (!names) return 0; /* unreadable SAN extension: none reported */
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        switch (g->type) {
        case GEN_EMAIL: rc = add_san(info, "email", ia5_copy(g->d.rfc822Name)); break;
        case GEN_DNS: rc = add_san(info, "dns", ia5_copy(g->d.dNSName)); break;
        case GEN_URI: {
            char *v = ia5_copy(g->d.uniformResourceIdentifier);
            if (v && !info->sid && strncasecmp(v, SID_URI_PREFIX, strlen(SID_URI_PREFIX)) == 0 &&
                v[strlen(SID_URI_PREFIX)] != '\0')
                info->sid = isc_strdup(v + strlen(SID_URI_PREFIX));
            rc = add_san(info, "uri", v);
            break;
        }
        case GEN_IPADD: {
            const ASN1_OCTET_STRING *ip = g->d.iPAddress;
            char buf[64] = "";
            const unsigned char *d = ASN1_STRING_get0_data(ip);
            if (ASN1_STRING_length(ip) == 4) {
                snprintf(buf, sizeof buf, "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
            } else if (ASN1_STRING_length(ip) == 16) {
                for (int k = 0; k < 16; k += 2)
                    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%x", k ? ":" : "", (d[k] << 8) | d[k + 1]);
            }
            rc = add_san(info, "ip", isc_strdup(buf));
            break;
        }
        case GEN_OTHERNAME: {
            char oid[80];
            int n = OBJ_obj2txt(oid, sizeof oid, g->d.otherName->type_id, 1);
            if (n > 0 && (size_t)n < sizeof oid && strcmp(oid, UPN_OID) == 0) {
                char *v = type_utf8(g->d.otherName->value);
                rc = add_san(info, "upn", v ? v : isc_strdup(""));
            } else {
                rc = add_san(info, "other", isc_strdup(n > 0 && (size_t)n < sizeof oid ? oid : "?"));
            }
            break;
        }
        case GEN_DIRNAME: {
            BIO *b = BIO_new(BIO_s_mem());
            char *v = NULL;
            if (b && X509_NAME_print_ex(b, g->d.directoryName, 0, XN_FLAG_RFC2253) >= 0) v = isc_bio_string(b);
            BIO_free(b);
            rc = add_san(info, "dirname", v ? v : isc_strdup(""));
            break;
        }
        default:
            rc = add_san(info, "other", isc_strdup(""));
        }
    }
    GENERAL_NAMES_free(names);
    return rc;
}

static int read_key_usage(intune_scep_csr_info *info, X509_EXTENSION *ext) {
    static const char *const names[] = {"digitalSignature", "nonRepudiation", "keyEncipherment",
                                        "dataEncipherment", "keyAgreement",   "keyCertSign",
                                        "cRLSign",          "encipherOnly",   "decipherOnly"};
    ASN1_BIT_STRING *bits = X509V3_EXT_d2i(ext);
    if (!bits) return 0;
    char buf[256] = "";
    for (int i = 0; i < 9; i++)
        if (ASN1_BIT_STRING_get_bit(bits, i))
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", buf[0] ? "," : "", names[i]);
    ASN1_BIT_STRING_free(bits);
    free(info->key_usage);
    info->key_usage = isc_strdup(buf);
    return info->key_usage ? 0 : -1;
}

static int read_ekus(intune_scep_csr_info *info, X509_EXTENSION *ext) {
    EXTENDED_KEY_USAGE *eku = X509V3_EXT_d2i(ext);
    if (!eku) return 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_ASN1_OBJECT_num(eku) && info->eku_count < MAX_EKUS; i++) {
        char oid[80];
        int n = OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(eku, i), 1);
        if (n <= 0 || (size_t)n >= sizeof oid) continue;
        if (!(info->eku[info->eku_count] = isc_strdup(oid))) rc = -1;
        else info->eku_count++;
    }
    EXTENDED_KEY_USAGE_free(eku);
    return rc;
}

/* One EnrollmentNameValuePair ::= SEQUENCE { name BMPString, value BMPString }. */
static int read_pair(intune_scep_csr_info *info, const ASN1_TYPE *t) {
    if (!t || t->type != V_ASN1_SEQUENCE) return 0;
    const unsigned char *p = ASN1_STRING_get0_data(t->value.sequence);
    long len = ASN1_STRING_length(t->value.sequence);
    STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    if (!seq) return 0;
    int rc = 0;
    if (sk_ASN1_TYPE_num(seq) == 2) {
        char *name = type_utf8(sk_ASN1_TYPE_value(seq, 0));
        char *value = type_utf8(sk_ASN1_TYPE_value(seq, 1));
        if (name && value && strcasecmp(name, "ValidityPeriod") == 0 && !info->validity_period) {
            info->validity_period = value;
            value = NULL;
        } else if (name && value && strcasecmp(name, "ValidityPeriodUnits") == 0 && !info->validity_units) {
            info->validity_units = value;
            value = NULL;
        }
        free(name);
        free(value);
    }
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return rc;
}

static void compute_validity(intune_scep_csr_info *info) {
    info->validity_days = 0;
    if (!info->validity_period || !info->validity_units) return;
    const char *u = info->validity_units;
    long long n = 0;
    if (!*u) return;
    for (; *u; u++) {
        if (!isdigit((unsigned char)*u) || n > 1000000) return;
        n = n * 10 + (*u - '0');
    }
    long long per = 0;
    if (strcasecmp(info->validity_period, "Days") == 0) per = 1;
    else if (strcasecmp(info->validity_period, "Weeks") == 0) per = 7;
    else if (strcasecmp(info->validity_period, "Months") == 0) per = 30;
    else if (strcasecmp(info->validity_period, "Years") == 0) per = 365;
    else if (strcasecmp(info->validity_period, "Hours") == 0) {
        info->validity_days = n > 0 ? (int)((n + 23) / 24) : 0;
        return;
    }
    if (per == 0 || n <= 0 || n * per > INT_MAX) return;
    info->validity_days = (int)(n * per);
}

static char *lower_dup(const char *s) {
    char *d = isc_strdup(s);
    if (d)
        for (char *p = d; *p; p++) *p = (char)tolower((unsigned char)*p);
    return d;
}

int isc_csr_info(const char *data, size_t len, intune_scep_csr_info **out, intune_scep_error *err) {
    *out = NULL;
    char *b64 = NULL;
    int rc = isc_csr_to_base64_der(data, len, &b64, err);
    if (rc) return rc;
    size_t blen = strlen(b64);
    unsigned char *der = malloc(blen / 4 * 3 + 3);
    int n = der ? EVP_DecodeBlock(der, (const unsigned char *)b64, (int)blen) : -1;
    if (n > 0) {
        if (blen >= 1 && b64[blen - 1] == '=') n--;
        if (blen >= 2 && b64[blen - 2] == '=') n--;
    }
    free(b64);
    X509_REQ *req = NULL;
    if (n > 0) {
        const unsigned char *p = der;
        req = d2i_X509_REQ(NULL, &p, n);
    }
    free(der);
    if (!req) return isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument csr is not a PKCS#10 certificate request");

    intune_scep_csr_info *info = calloc(1, sizeof *info);
    STACK_OF(X509_EXTENSION) *exts = NULL;
    BIO *b = NULL;
    if (!info) goto nomem;

    /* subject, RFC 4514 */
    if (!(b = BIO_new(BIO_s_mem()))) goto nomem;
    if (X509_NAME_print_ex(b, X509_REQ_get_subject_name(req), 0,
                           (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT) < 0)
        goto bad;
    if (!(info->subject = isc_bio_string(b))) goto nomem;

    /* challengePassword */
    int idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
    if (idx >= 0) {
        X509_ATTRIBUTE *a = X509_REQ_get_attr(req, idx);
        if (X509_ATTRIBUTE_count(a) == 1) info->challenge = type_utf8(X509_ATTRIBUTE_get0_type(a, 0));
    }

    /* key */
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    if (pub) {
        const char *kt = EVP_PKEY_is_a(pub, "RSA") ? "RSA" : EVP_PKEY_is_a(pub, "RSA-PSS") ? "RSA-PSS"
                         : EVP_PKEY_is_a(pub, "EC") ? "EC" : EVP_PKEY_is_a(pub, "ED25519") ? "Ed25519"
                         : EVP_PKEY_is_a(pub, "ED448") ? "Ed448" : EVP_PKEY_is_a(pub, "DSA") ? "DSA" : "unknown";
        if (!(info->key_type = isc_strdup(kt))) goto nomem;
        info->key_bits = EVP_PKEY_get_bits(pub);
        ERR_set_mark();
        info->signature_valid = X509_REQ_verify(req, pub) == 1;
        ERR_pop_to_mark();
    } else if (!(info->key_type = isc_strdup("unknown"))) {
        goto nomem;
    }

    /* signature hash */
    int md_nid = NID_undef, pk_nid = NID_undef;
    const char *hash = "unknown";
    if (OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req), &md_nid, &pk_nid) && md_nid != NID_undef) {
        const char *sn = OBJ_nid2sn(md_nid);
        if (sn) hash = sn;
    }
    if (!(info->signature_hash = lower_dup(hash))) goto nomem;

    /* extensions */
    exts = X509_REQ_get_extensions(req);
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        int r = 0;
        if (nid == NID_subject_alt_name) r = read_sans(info, e);
        else if (nid == NID_key_usage) r = read_key_usage(info, e);
        else if (nid == NID_ext_key_usage) r = read_ekus(info, e);
        if (r) goto nomem;
    }

    /* Intune's name-value pairs */
    ASN1_OBJECT *pair_oid = OBJ_txt2obj(NAME_VALUE_PAIR_OID, 1);
    if (!pair_oid) goto nomem;
    for (int i = 0; i < X509_REQ_get_attr_count(req); i++) {
        X509_ATTRIBUTE *a = X509_REQ_get_attr(req, i);
        if (OBJ_cmp(X509_ATTRIBUTE_get0_object(a), pair_oid) != 0) continue;
        for (int k = 0; k < X509_ATTRIBUTE_count(a); k++) read_pair(info, X509_ATTRIBUTE_get0_type(a, k));
    }
    ASN1_OBJECT_free(pair_oid);
    compute_validity(info);

    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    BIO_free(b);
    X509_REQ_free(req);
    ERR_clear_error();
    *out = info;
    return INTUNE_SCEP_OK;
nomem:
    rc = isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    goto fail;
bad:
    rc = isc_error_set(err, INTUNE_SCEP_E_INVALID_ARGUMENT, "argument csr has a subject that cannot be printed");
fail:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    BIO_free(b);
    X509_REQ_free(req);
    isc_csr_info_free(info);
    ERR_clear_error();
    return rc;
}

const char *isc_csr_info_challenge(const intune_scep_csr_info *i) { return i ? i->challenge : NULL; }
const char *isc_csr_info_subject(const intune_scep_csr_info *i) { return i ? i->subject : NULL; }
size_t isc_csr_info_san_count(const intune_scep_csr_info *i) { return i ? i->san_count : 0; }
const char *isc_csr_info_san_type(const intune_scep_csr_info *i, size_t k) {
    return i && k < i->san_count ? i->san_type[k] : NULL;
}
const char *isc_csr_info_san_value(const intune_scep_csr_info *i, size_t k) {
    return i && k < i->san_count ? i->san_value[k] : NULL;
}
const char *isc_csr_info_sid(const intune_scep_csr_info *i) { return i ? i->sid : NULL; }
const char *isc_csr_info_key_type(const intune_scep_csr_info *i) { return i ? i->key_type : NULL; }
int isc_csr_info_key_bits(const intune_scep_csr_info *i) { return i ? i->key_bits : 0; }
const char *isc_csr_info_signature_hash(const intune_scep_csr_info *i) { return i ? i->signature_hash : NULL; }
int isc_csr_info_signature_valid(const intune_scep_csr_info *i) { return i ? i->signature_valid : 0; }
const char *isc_csr_info_key_usage(const intune_scep_csr_info *i) { return i ? i->key_usage : NULL; }
size_t isc_csr_info_eku_count(const intune_scep_csr_info *i) { return i ? i->eku_count : 0; }
const char *isc_csr_info_eku(const intune_scep_csr_info *i, size_t k) {
    return i && k < i->eku_count ? i->eku[k] : NULL;
}
const char *isc_csr_info_validity_period(const intune_scep_csr_info *i) { return i ? i->validity_period : NULL; }
const char *isc_csr_info_validity_period_units(const intune_scep_csr_info *i) { return i ? i->validity_units : NULL; }
int isc_csr_info_validity_days(const intune_scep_csr_info *i) { return i ? i->validity_days : 0; }

static cJSON *str_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

int isc_csr_info_to_json(const intune_scep_csr_info *info, char **out, intune_scep_error *err) {
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *sans = cJSON_CreateArray(), *ekus = cJSON_CreateArray();
    int ok = o && sans && ekus;
    for (size_t i = 0; ok && i < info->san_count; i++) {
        cJSON *s = cJSON_CreateObject();
        ok = s && cJSON_AddStringToObject(s, "type", info->san_type[i]) &&
             cJSON_AddStringToObject(s, "value", info->san_value[i]);
        if (s) cJSON_AddItemToArray(sans, s);
    }
    for (size_t i = 0; ok && i < info->eku_count; i++) {
        cJSON *s = cJSON_CreateString(info->eku[i]);
        ok = s != NULL;
        if (s) cJSON_AddItemToArray(ekus, s);
    }
    if (ok) {
        cJSON_AddItemToObject(o, "subject", str_or_null(info->subject));
        cJSON_AddItemToObject(o, "challenge_password", str_or_null(info->challenge));
        cJSON_AddItemToObject(o, "sans", sans);
        sans = NULL;
        cJSON_AddItemToObject(o, "sid", str_or_null(info->sid));
        cJSON_AddItemToObject(o, "key_type", str_or_null(info->key_type));
        cJSON_AddNumberToObject(o, "key_bits", info->key_bits);
        cJSON_AddItemToObject(o, "signature_hash", str_or_null(info->signature_hash));
        cJSON_AddBoolToObject(o, "signature_valid", info->signature_valid);
        cJSON_AddItemToObject(o, "key_usage", str_or_null(info->key_usage));
        cJSON_AddItemToObject(o, "ekus", ekus);
        ekus = NULL;
        cJSON_AddItemToObject(o, "validity_period", str_or_null(info->validity_period));
        cJSON_AddItemToObject(o, "validity_period_units", str_or_null(info->validity_units));
        cJSON_AddNumberToObject(o, "validity_days", info->validity_days);
        *out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(sans);
    cJSON_Delete(ekus);
    cJSON_Delete(o);
    if (!*out) return isc_error_set(err, INTUNE_SCEP_E_NOMEM, "out of memory");
    return INTUNE_SCEP_OK;
}
