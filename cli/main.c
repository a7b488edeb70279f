/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intune-scep - the administrator's command-line tool for intune-scep.
 *
 * It does what a SCEP server does (validate a request, notify Intune of a
 * success or a failure) and checks a configuration step by step (Graph token,
 * service discovery, Intune token), saying which step fails and how to fix it.
 * It is written over the public C ABI (intune_scep.h) only.
 *
 * Output: short aligned text by default, one JSON object on stdout with --json.
 * It never prints a secret: the values of the configuration's secret keys (the
 * library's table says which) are never echoed, and every text that comes from
 * the library is scrubbed of them once more before it is printed.
 */
#include "cli.h"
#include "hints.h"
#include "inspect.h"
#include "intune_scep.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

extern char **environ;

/* Exit codes: documented in the help text and docs/onboarding.md. */
enum {
    EXIT_SUCCESS_ = 0,
    EXIT_INTERNAL = 1,
    EXIT_USAGE = 2,     /* usage or configuration error: nothing was sent */
    EXIT_REJECTED = 3,  /* Intune answered a code other than Success */
    EXIT_AUTH = 4,      /* the identity platform refused */
    EXIT_HTTP = 5,      /* an HTTP error from Graph or Intune, or the service not found */
    EXIT_TRANSPORT = 6, /* connect, DNS, proxy, TLS, timeout */
    EXIT_PROTOCOL = 7   /* an answer that cannot be trusted */
};

#define ENV_PREFIX "INTUNE_SCEP_"

#define MAX_INPUT_FILE (1024 * 1024)

enum command {
    CMD_NONE = 0,
    CMD_CHECK,
    CMD_VALIDATE,
    CMD_NOTIFY_SUCCESS,
    CMD_NOTIFY_FAILURE,
    CMD_VERSION,
    CMD_HELP,
    CMD_REVOCATIONS
};

/* Command-specific options, as bits, to tell which command accepts which. */
enum {
    OPT_TRANSACTION_ID = 1 << 0,
    OPT_CSR = 1 << 1,
    OPT_CERT = 1 << 2,
    OPT_CA_CONFIGURATION = 1 << 3,
    OPT_CERTIFICATE_AUTHORITY = 1 << 4,
    OPT_HRESULT = 1 << 5,
    OPT_DESCRIPTION = 1 << 6,
    OPT_MAX = 1 << 7,
    OPT_ISSUER = 1 << 8,
    OPT_LAST = OPT_ISSUER
};

struct cli {
    enum command command;
    const char *command_name;
    const char *config_path;
    int json;
    int allow_insecure;
    int verbose;
    int help;
    unsigned given; /* OPT_* bits seen */
    const char *transaction_id;
    const char *csr_path;
    const char *cert_path;
    const char *ca_configuration;
    const char *certificate_authority;
    const char *hresult_text;
    const char *description;
    const char *help_topic;
    struct cli_revocations_args revocations; /* revocations: subcommand, file; --max and --issuer below */
    const char *max_text;
    const char *issuer;
    const char *candidate_path; /* check --candidate FILE: the credential to try instead */
    /* Secret values of the configuration (the keys the library's table flags as secret), to
       scrub from anything printed. */
    char **secrets;
    size_t nsecrets;
};

static struct cli g;

/* ------------------------------------------------------------------------- */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (p == NULL) {
        fputs("intune-scep: out of memory\n", stderr);
        exit(EXIT_INTERNAL);
    }
    return p;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p == NULL) {
        fputs("intune-scep: out of memory\n", stderr);
        exit(EXIT_INTERNAL);
    }
    memcpy(p, s, n);
    return p;
}

/*
 * A copy of `text` with every configured secret value replaced by "***".
 * The library never puts a secret into a message; this is the tool's own
 * second line of defence. Returns NULL for NULL; free the result.
 */
static char *scrub(const char *text) {
    if (text == NULL)
        return NULL;
    char *out = xstrdup(text);
    for (size_t i = 0; i < g.nsecrets; i++) {
        const char *secret = g.secrets[i];
        size_t n = secret ? strlen(secret) : 0;
        if (n < 4)
            continue;
        char *hit;
        while ((hit = strstr(out, secret)) != NULL) {
            size_t before = (size_t)(hit - out), after = strlen(hit + n);
            char *next = malloc(before + 3 + after + 1);
            if (next == NULL) {
                free(out);
                fputs("intune-scep: out of memory\n", stderr);
                exit(EXIT_INTERNAL);
            }
            memcpy(next, out, before);
            memcpy(next + before, "***", 3);
            memcpy(next + before + 3, hit + n, after + 1);
            free(out);
            out = next;
        }
    }
    return out;
}

static void wipe_secrets(void) {
    for (size_t i = 0; i < g.nsecrets; i++) {
        volatile char *p = g.secrets[i];
        while (*p)
            *p++ = 0;
        free(g.secrets[i]);
    }
    free(g.secrets);
    g.secrets = NULL;
    g.nsecrets = 0;
}

#define WRAP_COLUMNS 100

/*
 * Print "label   value" indented by `indent`, labels aligned, the value scrubbed
 * and wrapped at spaces to WRAP_COLUMNS with continuation lines under the value.
 */
static void field_at(FILE *out, int indent, const char *label, const char *value) {
    if (value == NULL || *value == '\0')
        return;
    char *clean = scrub(value);
    int lead = indent + 17, width = WRAP_COLUMNS - lead;
    if (width < 40)
        width = 40;
    fprintf(out, "%*s%-16s ", indent, "", label);
    const char *p = clean;
    int first = 1;
    while (*p) {
        size_t len = strlen(p), cut = len;
        if (len > (size_t)width) {
            cut = (size_t)width;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0) { /* one long word: break after it */
                cut = (size_t)width;
                while (p[cut] && p[cut] != ' ')
                    cut++;
            }
        }
        if (!first)
            fprintf(out, "%*s", lead, "");
        fprintf(out, "%.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
        first = 0;
    }
    free(clean);
}

static void field(FILE *out, const char *label, const char *value) {
    field_at(out, 2, label, value);
}

/* Add a string (scrubbed) or JSON null to a JSON object. */
static void json_str(cJSON *obj, const char *name, const char *value) {
    if (value == NULL) {
        cJSON_AddNullToObject(obj, name);
        return;
    }
    char *clean = scrub(value);
    cJSON_AddStringToObject(obj, name, clean);
    free(clean);
}

static void json_print(cJSON *obj) {
    char *text = cJSON_PrintUnformatted(obj);
    if (text == NULL) {
        fputs("intune-scep: out of memory\n", stderr);
        exit(EXIT_INTERNAL);
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    cJSON_free(text);
}

static int exit_code_for_status(int status) {
    switch (status) {
    case INTUNE_SCEP_OK:
        return EXIT_SUCCESS_;
    case INTUNE_SCEP_E_INVALID_ARGUMENT:
    case INTUNE_SCEP_E_CONFIG:
        return EXIT_USAGE;
    case INTUNE_SCEP_E_REJECTED:
        return EXIT_REJECTED;
    case INTUNE_SCEP_E_AUTH:
        return EXIT_AUTH;
    case INTUNE_SCEP_E_HTTP:
    case INTUNE_SCEP_E_SERVICE_NOT_FOUND:
        return EXIT_HTTP;
    case INTUNE_SCEP_E_TRANSPORT:
        return EXIT_TRANSPORT;
    case INTUNE_SCEP_E_PROTOCOL:
        return EXIT_PROTOCOL;
    default:
        return EXIT_INTERNAL;
    }
}

/* ------------------------------------------------------------------------- */
/* Help                                                                      */
/* ------------------------------------------------------------------------- */

static const char exit_codes_help[] =
    "Exit status:\n"
    "  0  success: Intune answered Success (check: every step passed)\n"
    "  1  internal error\n"
    "  2  usage or configuration error (invalid argument, bad or unsafe config file); nothing was sent\n"
    "  3  rejected by Intune: a code other than Success (do not issue the certificate)\n"
    "  4  authentication failed: the identity platform refused (see the AADSTS code)\n"
    "  5  HTTP error from Microsoft Graph or Intune, or the SCEP service not found by discovery\n"
    "  6  transport failure: connect, DNS, proxy, TLS, timeout\n"
    "  7  protocol error: an answer that cannot be trusted (not JSON, no code, too large)\n";

static const char global_options_help[] =
    "Global options (before or after the command):\n"
    "  -c, --config FILE   the configuration, a .properties file (java.util.Properties syntax);\n"
    "                      it must not be readable or writable by group or others (chmod 600 FILE)\n"
    "      --json          print one JSON object on stdout instead of text\n"
    "      --allow-insecure-config-permissions\n"
    "                      accept a config file (or AAD_CLIENT_KEY_FILE) that group or others\n"
    "                      may read or write (warns)\n"
    "  -v, --verbose       print the library's log lines (debug level) on stderr\n"
    "  -h, --help          show help (also: intune-scep COMMAND --help)\n"
    "\n"
    "Configuration: the keys of the file (AAD_APP_ID, AAD_APP_KEY or AAD_CLIENT_CERT_FILE,\n"
    "TENANT, PROVIDER_NAME_AND_VERSION, TLS_CA_FILE, PROXY_HOST, ...). For each configuration\n"
    "key, an environment variable INTUNE_SCEP_<KEY> overrides KEY, e.g. INTUNE_SCEP_AAD_APP_KEY,\n"
    "so a secret can come from the environment instead of the file.\n";

static void print_main_help(FILE *out) {
    fprintf(out,
            "Usage: intune-scep [-c FILE] [--json] [-v] COMMAND [OPTIONS]\n"
            "\n"
            "Talk to Microsoft Intune's SCEP validation service as a SCEP server does,\n"
            "and check that a configuration works.\n"
            "\n"
            "Commands:\n"
            "  check            get the Graph token, discover the SCEP service, get the Intune token;\n"
            "                   report each step, and on failure what to fix\n"
            "  validate         ask Intune whether a CSR and its challenge are genuine\n"
            "  notify-success   tell Intune a certificate was issued\n"
            "  notify-failure   tell Intune issuing a certificate failed\n"
            "  inspect-csr      show what a certificate request asks for (no configuration needed)\n"
            "  revocations      download Intune's revocation requests, upload their results\n"
            "  version          print the versions of the tool and the library\n"
            "  help [COMMAND]   this text, or a command's\n"
            "\n"
            "%s\n%s",
            global_options_help, exit_codes_help);
}

static void print_command_help(FILE *out, enum command cmd) {
    switch (cmd) {
    case CMD_CHECK:
        fprintf(out, "Usage: intune-scep -c FILE check [--candidate FILE] [--json] [-v]\n"
                     "\n"
                     "Check a configuration against Entra ID, Microsoft Graph and Intune, step by step:\n"
                     "  1. acquire a token for Microsoft Graph (MS_GRAPH_RESOURCE_URL) and read its roles:\n"
                     "     the application permission Application.Read.All must have been granted\n"
                     "  2. discover ScepRequestValidationFEService through Graph (needs Application.Read.All)\n"
                     "  3. acquire a token for Intune (INTUNE_RESOURCE_URL) and read its roles:\n"
                     "     the Intune application permission scep_challenge_provider must have been granted\n"
                     "The roles are read from the tokens without verifying them (diagnostics only).\n"
                     "Each step is reported with its time. On failure: the step, the AADSTS code or the\n"
                     "HTTP status, the activity id, and the likely fix. Nothing is sent to the SCEP\n"
                     "service itself. The credential kind is reported, and a certificate's expiry.\n"
                     "\n"
                     "  --candidate FILE  check with the credential keys of FILE (a properties file:\n"
                     "                    AAD_APP_KEY, AAD_CLIENT_CERT_FILE..., AAD_FEDERATED_TOKEN_FILE or\n"
                     "                    AAD_MANAGED_IDENTITY) instead of those of -c FILE, before rotating\n");
        break;
    case CMD_VALIDATE:
        fprintf(out, "Usage: intune-scep -c FILE validate --transaction-id ID --csr FILE\n"
                     "\n"
                     "Ask Intune whether the certificate request and the challenge inside it are genuine.\n"
                     "Exit 0 only when Intune answered Success; issue the certificate then, never otherwise.\n"
                     "\n"
                     "  --transaction-id ID   the SCEP transaction id\n"
                     "  --csr FILE            the PKCS#10 request: PEM, DER or base64\n");
        break;
    case CMD_NOTIFY_SUCCESS:
        fprintf(out, "Usage: intune-scep -c FILE notify-success --transaction-id ID --csr FILE --cert FILE\n"
                     "                          [--ca-configuration S] [--certificate-authority S]\n"
                     "\n"
                     "Tell Intune the certificate was issued. Thumbprint, serial number, expiry and issuer\n"
                     "are derived from the certificate.\n"
                     "\n"
                     "  --transaction-id ID        the SCEP transaction id\n"
                     "  --csr FILE                 the PKCS#10 request: PEM, DER or base64\n"
                     "  --cert FILE                the issued certificate: PEM or DER\n"
                     "  --ca-configuration S       optional, e.g. \"ca01.contoso.com\\Contoso Issuing CA\"\n"
                     "  --certificate-authority S  optional\n");
        break;
    case CMD_NOTIFY_FAILURE:
        fprintf(out, "Usage: intune-scep -c FILE notify-failure --transaction-id ID --csr FILE\n"
                     "                          --hresult HRESULT --description TEXT\n"
                     "\n"
                     "Tell Intune that issuing the certificate failed.\n"
                     "\n"
                     "  --transaction-id ID   the SCEP transaction id\n"
                     "  --csr FILE            the PKCS#10 request: PEM, DER or base64\n"
                     "  --hresult HRESULT     decimal (2147500037), negative decimal (-2147467259) or hex\n"
                     "                        up to 64 bits (0x80004005, sent as 2147500037); exact\n"
                     "  --description TEXT    why it failed (not empty)\n");
        break;
    case CMD_REVOCATIONS:
        cli_revocations_help(out);
        break;
    case CMD_VERSION:
        fprintf(out, "Usage: intune-scep version [--json]\n\nPrint the versions of the tool and the library.\n");
        return;
    default:
        print_main_help(out);
        return;
    }
    fprintf(out, "\n%s\n%s", global_options_help, exit_codes_help);
}

/* ------------------------------------------------------------------------- */
/* Failing before anything is sent: usage and configuration                  */
/* ------------------------------------------------------------------------- */

/* Report a usage or configuration problem and return the exit code. */
__attribute__((format(printf, 3, 4))) static int fail_early(int code, const char *status, const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *clean = scrub(buf);
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        json_str(o, "command", g.command_name);
        cJSON_AddBoolToObject(o, "ok", 0);
        json_str(o, "status", status);
        json_str(o, "message", clean);
        cJSON_AddNumberToObject(o, "exit_code", code);
        json_print(o);
        cJSON_Delete(o);
    } else {
        fprintf(stderr, "intune-scep: %s\n", clean);
        if (code == EXIT_USAGE && strcmp(status, "USAGE") == 0)
            fprintf(stderr, "Run 'intune-scep %s%s--help' for usage.\n",
                    g.command != CMD_NONE ? g.command_name : "", g.command != CMD_NONE ? " " : "");
    }
    free(clean);
    return code;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return fail_early(EXIT_USAGE, "USAGE", "%s", buf);
}

/* Parse an HRESULT: decimal, negative decimal, or 0x hex up to 64 bits. 0 on success. */
static int parse_hresult(const char *s, int64_t *out) {
    if (s == NULL || *s == '\0')
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        const char *p = s + 2;
        if (*p == '\0')
            return -1;
        while (*p == '0' && p[1] != '\0')
            p++;
        if (strlen(p) > 16)
            return -1;
        uint64_t v = 0;
        for (; *p; p++) {
            int d;
            if (*p >= '0' && *p <= '9')
                d = *p - '0';
            else if (*p >= 'a' && *p <= 'f')
                d = *p - 'a' + 10;
            else if (*p >= 'A' && *p <= 'F')
                d = *p - 'A' + 10;
            else
                return -1;
            v = (v << 4) | (uint64_t)d;
        }
        /* The 64-bit pattern as a signed value (two's complement), defined behaviour. */
        *out = v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(UINT64_MAX - v) - 1;
        return 0;
    }
    const char *p = s;
    int negative = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (*p == '\0')
        return -1;
    uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (negative)
        *out = v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}

/* Read a whole file (at most MAX_INPUT_FILE bytes). Returns NULL and sets *why on failure. */
static char *read_file(const char *path, size_t *len, const char **why) {
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
            if (cap >= MAX_INPUT_FILE) {
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
    if (n > MAX_INPUT_FILE) {
        free(buf);
        *why = "larger than 1 MiB";
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ------------------------------------------------------------------------- */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    enum command cmd;
    unsigned allowed;
    unsigned required;
} commands[] = {
    {"check", CMD_CHECK, 0, 0},
    {"validate", CMD_VALIDATE, OPT_TRANSACTION_ID | OPT_CSR, OPT_TRANSACTION_ID | OPT_CSR},
    {"notify-success", CMD_NOTIFY_SUCCESS,
     OPT_TRANSACTION_ID | OPT_CSR | OPT_CERT | OPT_CA_CONFIGURATION | OPT_CERTIFICATE_AUTHORITY,
     OPT_TRANSACTION_ID | OPT_CSR | OPT_CERT},
    {"notify-failure", CMD_NOTIFY_FAILURE, OPT_TRANSACTION_ID | OPT_CSR | OPT_HRESULT | OPT_DESCRIPTION,
     OPT_TRANSACTION_ID | OPT_CSR | OPT_HRESULT | OPT_DESCRIPTION},
    {"revocations", CMD_REVOCATIONS, OPT_MAX | OPT_ISSUER, 0},
    {"version", CMD_VERSION, 0, 0},
    {"help", CMD_HELP, 0, 0},
};

static const struct {
    const char *name;
    unsigned bit;
    size_t offset;
} value_options[] = {
    {"--transaction-id", OPT_TRANSACTION_ID, offsetof(struct cli, transaction_id)},
    {"--csr", OPT_CSR, offsetof(struct cli, csr_path)},
    {"--cert", OPT_CERT, offsetof(struct cli, cert_path)},
    {"--ca-configuration", OPT_CA_CONFIGURATION, offsetof(struct cli, ca_configuration)},
    {"--certificate-authority", OPT_CERTIFICATE_AUTHORITY, offsetof(struct cli, certificate_authority)},
    {"--hresult", OPT_HRESULT, offsetof(struct cli, hresult_text)},
    {"--description", OPT_DESCRIPTION, offsetof(struct cli, description)},
    {"--max", OPT_MAX, offsetof(struct cli, max_text)},
    {"--issuer", OPT_ISSUER, offsetof(struct cli, issuer)},
};

/*
 * Match `arg` against the long option `name`, taking "--name value" or
 * "--name=value". Returns 1 and sets *value (advancing *i) on a match,
 * 0 when it is another option, -1 when the value is missing.
 */
static int take_value(const char *name, int argc, char **argv, int *i, const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

static const char *option_name(unsigned bit) {
    for (size_t k = 0; k < sizeof value_options / sizeof value_options[0]; k++)
        if (value_options[k].bit == bit)
            return value_options[k].name;
    return "?";
}

/* Parse argv into g. Returns -1 when fine, else the exit code to leave with. */
static int parse_args(int argc, char **argv) {
    /* --json first, so even an early usage error comes out as JSON. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--json") == 0)
            g.json = 1;
    }
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        int r;
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--") == 0) {
                options_done = 1;
                continue;
            }
            if (strcmp(arg, "--json") == 0)
                continue;
            if (strcmp(arg, "--allow-insecure-config-permissions") == 0) {
                g.allow_insecure = 1;
                continue;
            }
            if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
                g.verbose = 1;
                continue;
            }
            if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
                g.help = 1;
                continue;
            }
            if (strcmp(arg, "-c") == 0) {
                if (i + 1 >= argc)
                    return usage_error("option %s needs a FILE", arg);
                g.config_path = argv[++i];
                continue;
            }
            r = take_value("--candidate", argc, argv, &i, &value);
            if (r < 0)
                return usage_error("option %s needs a FILE", "--candidate");
            if (r > 0) {
                g.candidate_path = value;
                continue;
            }
            r = take_value("--config", argc, argv, &i, &value);
            if (r < 0)
                return usage_error("option %s needs a FILE", "--config");
            if (r > 0) {
                g.config_path = value;
                continue;
            }
            int matched = 0;
            for (size_t k = 0; k < sizeof value_options / sizeof value_options[0]; k++) {
                r = take_value(value_options[k].name, argc, argv, &i, &value);
                if (r < 0)
                    return usage_error("option %s needs a value", value_options[k].name);
                if (r > 0) {
                    if (g.given & value_options[k].bit)
                        return usage_error("option %s given twice", value_options[k].name);
                    g.given |= value_options[k].bit;
                    *(const char **)((char *)&g + value_options[k].offset) = value;
                    matched = 1;
                    break;
                }
            }
            if (matched)
                continue;
            return usage_error("unknown option %s", arg);
        }
        if (g.command == CMD_NONE) {
            for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
                if (strcmp(arg, commands[k].name) == 0) {
                    g.command = commands[k].cmd;
                    g.command_name = commands[k].name;
                }
            }
            if (g.command == CMD_NONE)
                return usage_error("unknown command '%s' (commands: check, validate, notify-success, "
                                   "notify-failure, revocations, version, help)",
                                   arg);
            continue;
        }
        if (g.command == CMD_HELP && g.help_topic == NULL) {
            g.help_topic = arg;
            continue;
        }
        if (g.command == CMD_REVOCATIONS && g.revocations.subcommand == NULL) {
            g.revocations.subcommand = arg;
            continue;
        }
        if (g.command == CMD_REVOCATIONS && g.revocations.file == NULL) {
            g.revocations.file = arg;
            continue;
        }
        return usage_error("unexpected argument '%s'", arg);
    }
    return -1;
}

/* Check the options given fit the command. Returns -1 when fine, else the exit code. */
static int check_command_options(void) {
    if (g.candidate_path && g.command != CMD_CHECK)
        return fail_early(EXIT_USAGE, "USAGE", "option --candidate applies to 'check' only");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (commands[k].cmd != g.command)
            continue;
        unsigned extra = g.given & ~commands[k].allowed;
        for (unsigned bit = 1; bit <= OPT_LAST; bit <<= 1) {
            if (extra & bit) {
                char buf[256];
                snprintf(buf, sizeof buf, "option %s does not apply to '%s'", option_name(bit), commands[k].name);
                return fail_early(EXIT_USAGE, "USAGE", "%s", buf);
            }
        }
        unsigned missing = commands[k].required & ~g.given;
        for (unsigned bit = 1; bit <= OPT_LAST; bit <<= 1) {
            if (missing & bit) {
                char buf[256];
                snprintf(buf, sizeof buf, "'%s' needs %s", commands[k].name, option_name(bit));
                return fail_early(EXIT_USAGE, "USAGE", "%s", buf);
            }
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Configuration and client                                                  */
/* ------------------------------------------------------------------------- */

static void log_line(void *userdata, int level, const char *message) {
    (void)userdata;
    const char *name = level >= INTUNE_SCEP_LOG_ERROR     ? "error"
                       : level >= INTUNE_SCEP_LOG_WARNING ? "warning"
                       : level >= INTUNE_SCEP_LOG_INFO    ? "info"
                                                          : "debug";
    char *clean = scrub(message);
    fprintf(stderr, "intune-scep: [%s] %s\n", name, clean);
    free(clean);
}

/* Quiet by default: warnings only (errors are reported by the tool itself), and only while the
   client is created (see run()). */
static void log_warnings_only(void *userdata, int level, const char *message) {
    if (level >= INTUNE_SCEP_LOG_WARNING && level < INTUNE_SCEP_LOG_ERROR)
        log_line(userdata, level, message);
}

/*
 * Build the configuration: the file (-c), then the INTUNE_SCEP_<KEY>
 * environment overrides. Returns -1 when fine, else the exit code.
 */
static int load_config(intune_scep_config *cfg, intune_scep_error *err) {
    if (g.config_path != NULL) {
        struct stat st;
        if (stat(g.config_path, &st) != 0)
            return fail_early(EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                              "config file %s: %s", g.config_path, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return fail_early(EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                              "config file %s: not a regular file", g.config_path);
        if (st.st_mode & 077) {
            if (!g.allow_insecure)
                return fail_early(EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                                  "config file %s is accessible to group or others (mode %03o) and holds "
                                  "secrets: run 'chmod 600 %s', or pass --allow-insecure-config-permissions",
                                  g.config_path, (unsigned)(st.st_mode & 0777), g.config_path);
            fprintf(stderr,
                    "intune-scep: warning: config file %s is accessible to group or others (mode %03o); "
                    "it holds secrets: chmod 600 it\n",
                    g.config_path, (unsigned)(st.st_mode & 0777));
        }
        if (intune_scep_config_load_file(cfg, g.config_path, err) != INTUNE_SCEP_OK)
            return fail_early(EXIT_USAGE, intune_scep_status_name(intune_scep_error_status(err)), "%s",
                              intune_scep_error_message(err));
    }
    /* The INTUNE_SCEP_<KEY> overrides, through the library's own call (only configuration keys;
       other INTUNE_SCEP_* variables belong to build and test tooling and are left alone). */
    if (intune_scep_config_load_env(cfg, ENV_PREFIX, err) != INTUNE_SCEP_OK)
        return fail_early(EXIT_USAGE, intune_scep_status_name(intune_scep_error_status(err)), "%s",
                          intune_scep_error_message(err));
    if (g.verbose) {
        size_t prefix = strlen(ENV_PREFIX);
        for (char **e = environ; e != NULL && *e != NULL; e++) {
            const char *eq = strchr(*e, '=');
            if (strncmp(*e, ENV_PREFIX, prefix) != 0 || eq == NULL || (size_t)(eq - *e) - prefix >= 64)
                continue;
            char key[64];
            memcpy(key, *e + prefix, (size_t)(eq - *e) - prefix);
            key[(size_t)(eq - *e) - prefix] = '\0';
            if (intune_scep_config_key_flags(key) & INTUNE_SCEP_CONFIG_KEY_KNOWN)
                fprintf(stderr, "intune-scep: [debug] %s set from the environment (%s%s)\n", key, ENV_PREFIX, key);
        }
    }
    /* Remember the secrets (the library's table says which keys hold one), to scrub them from
       anything printed. */
    size_t nkeys = intune_scep_config_key_count();
    g.secrets = xmalloc(nkeys * sizeof *g.secrets);
    for (size_t i = 0; i < nkeys; i++) {
        const char *key = intune_scep_config_key_name(i);
        const char *v = intune_scep_config_get(cfg, key);
        if (v != NULL && *v != '\0' && (intune_scep_config_key_flags(key) & INTUNE_SCEP_CONFIG_KEY_SECRET))
            g.secrets[g.nsecrets++] = xstrdup(v);
    }
    /* The private key of a certificate credential is a secret file too: its own file, or the
       certificate file when the key is inside it. */
    const char *key_file = intune_scep_config_get(cfg, "AAD_CLIENT_KEY_FILE");
    if (key_file == NULL || *key_file == '\0')
        key_file = intune_scep_config_get(cfg, "AAD_CLIENT_CERT_FILE");
    if (key_file != NULL && *key_file != '\0') {
        struct stat st;
        if (stat(key_file, &st) == 0 && (st.st_mode & 077)) {
            if (!g.allow_insecure)
                return fail_early(EXIT_USAGE, intune_scep_status_name(INTUNE_SCEP_E_CONFIG),
                                  "private key file %s is accessible to group or others (mode %03o): run "
                                  "'chmod 600 %s', or pass --allow-insecure-config-permissions",
                                  key_file, (unsigned)(st.st_mode & 0777), key_file);
            fprintf(stderr,
                    "intune-scep: warning: private key file %s is accessible to group or others (mode %03o); "
                    "chmod 600 it\n",
                    key_file, (unsigned)(st.st_mode & 0777));
        }
    }
    if (g.verbose)
        intune_scep_config_set_log_callback(cfg, log_line, NULL, INTUNE_SCEP_LOG_DEBUG);
    else
        intune_scep_config_set_log_callback(cfg, log_warnings_only, NULL, INTUNE_SCEP_LOG_WARNING);
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Reporting a library error                                                 */
/* ------------------------------------------------------------------------- */

/* Add every field of `err` to a JSON object (no secrets: the library keeps them out; scrubbed again). */
static void json_error_fields(cJSON *o, const intune_scep_error *err, const char *fix) {
    int status = intune_scep_error_status(err);
    json_str(o, "status", intune_scep_status_name(status));
    json_str(o, "message", status == INTUNE_SCEP_OK ? NULL : intune_scep_error_message(err));
    json_str(o, "activity_id", intune_scep_error_activity_id(err));
    json_str(o, "service_code", intune_scep_error_service_code(err));
    json_str(o, "description", intune_scep_error_description(err));
    cJSON_AddNumberToObject(o, "http_status", (double)intune_scep_error_http_status(err));
    cJSON_AddNumberToObject(o, "aadsts_code", (double)intune_scep_error_aadsts_code(err));
    json_str(o, "response_body", intune_scep_error_response_body(err));
    json_str(o, "fix", fix);
}

/* Print the fields of a failed error object as aligned text. */
static void print_error_fields(FILE *out, int indent, const intune_scep_error *err, const char *fix) {
    char num[32];
    field_at(out, indent, "status", intune_scep_status_name(intune_scep_error_status(err)));
    field_at(out, indent, "code", intune_scep_error_service_code(err));
    long aadsts = intune_scep_error_aadsts_code(err);
    if (aadsts != 0) {
        snprintf(num, sizeof num, "AADSTS%ld", aadsts);
        field_at(out, indent, "AADSTS", num);
    }
    long http = intune_scep_error_http_status(err);
    if (http != 0 && (http < 200 || http > 299)) {
        snprintf(num, sizeof num, "%ld", http);
        field_at(out, indent, "HTTP status", num);
    }
    const char *description = intune_scep_error_description(err);
    field_at(out, indent, "description", description);
    /* The message repeats the description with context: shown when there is no description, or with -v. */
    if (g.verbose || description == NULL || *description == '\0')
        field_at(out, indent, "message", intune_scep_error_message(err));
    field_at(out, indent, "activity id", intune_scep_error_activity_id(err));
    if (g.verbose)
        field_at(out, indent, "response body", intune_scep_error_response_body(err));
    field_at(out, indent, "fix", fix);
}

/* ------------------------------------------------------------------------- */
/* Commands                                                                  */
/* ------------------------------------------------------------------------- */

static int cmd_version(void) {
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        json_str(o, "command", "version");
        cJSON_AddBoolToObject(o, "ok", 1);
        json_str(o, "status", intune_scep_status_name(INTUNE_SCEP_OK));
        json_str(o, "cli_version", INTUNE_SCEP_CLI_VERSION);
        json_str(o, "library_version", intune_scep_version());
        cJSON_AddNumberToObject(o, "abi_version", INTUNE_SCEP_ABI_VERSION);
        cJSON_AddNumberToObject(o, "exit_code", 0);
        json_print(o);
        cJSON_Delete(o);
    } else {
        printf("intune-scep %s (libintunescep %s, ABI %d)\n", INTUNE_SCEP_CLI_VERSION, intune_scep_version(),
               INTUNE_SCEP_ABI_VERSION);
    }
    return EXIT_SUCCESS_;
}

struct step {
    const char *name;  /* for JSON */
    const char *title; /* for people */
    hint_step hint;
    int done;
    int status;
    double elapsed_ms;
    char *detail; /* the discovered URI */
};

/* 1 when the comma-separated `roles` hold one of the NULL-terminated `wanted`. */
static int has_role(const char *roles, const char *const *wanted) {
    for (; *wanted; wanted++) {
        size_t n = strlen(*wanted);
        for (const char *p = roles; p && *p;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len == n && strncmp(p, *wanted, n) == 0)
                return 1;
            p = end ? end + 1 : NULL;
        }
    }
    return 0;
}

static const char *const GRAPH_ROLES[] = {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All",
                                          "Directory.ReadWrite.All", NULL};
static const char *const INTUNE_ROLES[] = {"scep_challenge_provider", NULL};

static const char *credential_kind_name(int kind) {
    switch (kind) {
    case INTUNE_SCEP_CREDENTIAL_SECRET: return "client secret (AAD_APP_KEY)";
    case INTUNE_SCEP_CREDENTIAL_CERTIFICATE: return "certificate (AAD_CLIENT_CERT_FILE)";
    case INTUNE_SCEP_CREDENTIAL_FEDERATED: return "federated token (AAD_FEDERATED_TOKEN_FILE)";
    case INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY: return "managed identity (AAD_MANAGED_IDENTITY)";
    default: return "unknown";
    }
}

static int cmd_check(intune_scep_client *client, const intune_scep_config *cfg, intune_scep_error *err) {
    struct step steps[3] = {
        {"graph_token", "Graph token", HINT_STEP_GRAPH_TOKEN, 0, 0, 0, NULL},
        {"discovery", "Service discovery", HINT_STEP_DISCOVERY, 0, 0, 0, NULL},
        {"intune_token", "Intune token", HINT_STEP_INTUNE_TOKEN, 0, 0, 0, NULL},
    };
    int failed = -1;
    char *roles[3] = {NULL, NULL, NULL};
    const char *missing = NULL; /* a permission the token does not carry */
    for (int i = 0; i < 3 && failed < 0; i++) {
        double t0 = now_ms();
        int rc;
        if (i == 1) {
            char *uri = NULL;
            rc = intune_scep_client_discover(client, INTUNE_SCEP_SERVICE_VALIDATION, &uri, err);
            if (rc == INTUNE_SCEP_OK && uri != NULL)
                steps[1].detail = xstrdup(uri);
            intune_scep_string_free(uri);
        } else {
            /* A fresh token, and the permissions it carries (its roles claim, read but not verified). */
            int resource = i == 0 ? INTUNE_SCEP_RESOURCE_GRAPH : INTUNE_SCEP_RESOURCE_INTUNE;
            rc = intune_scep_client_token_roles(client, resource, &roles[i], err);
            if (rc == INTUNE_SCEP_OK) {
                const char *const *wanted = i == 0 ? GRAPH_ROLES : INTUNE_ROLES;
                size_t n = strlen(roles[i]) + 16;
                steps[i].detail = xmalloc(n);
                snprintf(steps[i].detail, n, "roles: %s", *roles[i] ? roles[i] : "(none)");
                if (!has_role(roles[i], wanted)) {
                    missing = wanted[0];
                    rc = INTUNE_SCEP_E_AUTH;
                }
            }
        }
        steps[i].elapsed_ms = now_ms() - t0;
        steps[i].done = 1;
        steps[i].status = rc;
        if (rc != INTUNE_SCEP_OK)
            failed = i;
    }
    char permission_msg[512] = "", permission_fix[512] = "";
    if (missing) {
        int graph = strcmp(missing, "Application.Read.All") == 0;
        snprintf(permission_msg, sizeof permission_msg,
                 "the %s token does not carry the application permission %s (roles: %s)", graph ? "Graph" : "Intune",
                 missing, roles[failed] && *roles[failed] ? roles[failed] : "none");
        snprintf(permission_fix, sizeof permission_fix,
                 "add the %s application permission %s to the app registration (Entra admin center > App "
                 "registrations > your app > API permissions > Add a permission > %s > Application permissions), "
                 "then 'Grant admin consent' for the tenant; a new token carries it",
                 graph ? "Microsoft Graph" : "Intune", missing, graph ? "Microsoft Graph" : "APIs my organization uses > Microsoft Intune API");
    }
    const char *fix = missing ? permission_fix : failed >= 0 ? hint_for_error(steps[failed].hint, err) : NULL;
    int code = failed >= 0 ? exit_code_for_status(steps[failed].status) : EXIT_SUCCESS_;
    const char *tenant = intune_scep_config_get(cfg, "TENANT");
    const char *app_id = intune_scep_config_get(cfg, "AAD_APP_ID");
    int kind = intune_scep_client_credential_kind(client);
    int64_t expiry = intune_scep_client_certificate_expiry(client);
    char expires[64] = "";
    if (expiry > 0) {
        time_t t = (time_t)expiry;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    long days_left = expiry > 0 ? (long)((expiry - (int64_t)time(NULL)) / 86400) : 0;

    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        json_str(o, "command", "check");
        cJSON_AddBoolToObject(o, "ok", failed < 0);
        json_str(o, "tenant", tenant);
        json_str(o, "app_id", app_id);
        json_str(o, "transaction_id", NULL); /* no SCEP transaction: same fields as the other commands */
        json_str(o, "credential", credential_kind_name(kind));
        json_str(o, "certificate_expires", expiry > 0 ? expires : NULL);
        if (g.candidate_path)
            json_str(o, "candidate", g.candidate_path);
        if (failed >= 0) {
            json_error_fields(o, err, fix);
            json_str(o, "failed_step", steps[failed].name);
            if (missing) {
                cJSON_ReplaceItemInObject(o, "status", cJSON_CreateString("INTUNE_SCEP_E_AUTH"));
                cJSON_ReplaceItemInObject(o, "message", cJSON_CreateString(permission_msg));
                json_str(o, "missing_permission", missing);
            }
        } else {
            json_error_fields(o, err, NULL); /* every field present, empty */
            cJSON_ReplaceItemInObject(o, "message", cJSON_CreateString("every step passed"));
        }
        cJSON *arr = cJSON_AddArrayToObject(o, "steps");
        for (int i = 0; i < 3; i++) {
            cJSON *s = cJSON_CreateObject();
            json_str(s, "name", steps[i].name);
            json_str(s, "title", steps[i].title);
            if (!steps[i].done) {
                json_str(s, "result", "skipped");
                cJSON_AddBoolToObject(s, "ok", 0);
            } else {
                json_str(s, "result", steps[i].status == INTUNE_SCEP_OK ? "ok" : "failed");
                cJSON_AddBoolToObject(s, "ok", steps[i].status == INTUNE_SCEP_OK);
                cJSON_AddNumberToObject(s, "elapsed_ms", (double)(long)(steps[i].elapsed_ms + 0.5));
                if (i == 1 && steps[i].detail)
                    json_str(s, "uri", steps[i].detail);
                if (roles[i]) {
                    cJSON *ra = cJSON_AddArrayToObject(s, "roles");
                    for (const char *p = roles[i]; *p;) {
                        const char *end = strchr(p, ',');
                        size_t len = end ? (size_t)(end - p) : strlen(p);
                        char *one = xmalloc(len + 1);
                        memcpy(one, p, len);
                        one[len] = '\0';
                        cJSON_AddItemToArray(ra, cJSON_CreateString(one));
                        free(one);
                        p = end ? end + 1 : p + len;
                    }
                }
                if (i == failed && missing) {
                    json_str(s, "status", "INTUNE_SCEP_E_AUTH");
                    json_str(s, "message", permission_msg);
                    json_str(s, "missing_permission", missing);
                    json_str(s, "fix", fix);
                } else if (i == failed) {
                    json_error_fields(s, err, fix);
                }
            }
            cJSON_AddItemToArray(arr, s);
        }
        cJSON_AddNumberToObject(o, "exit_code", code);
        json_print(o);
        cJSON_Delete(o);
    } else {
        char *t = scrub(tenant ? tenant : "?"), *a = scrub(app_id ? app_id : "?");
        printf("Checking tenant %s, app %s\n", t, a);
        free(t);
        free(a);
        for (int i = 0; i < 3; i++) {
            if (!steps[i].done) {
                printf("  %-5s %-18s %8s\n", "skip", steps[i].title, "-");
                continue;
            }
            char *detail = scrub(steps[i].detail ? steps[i].detail : "");
            printf("  %-5s %-18s %5ld ms%s%s\n", steps[i].status == INTUNE_SCEP_OK ? "ok" : "FAIL", steps[i].title,
                   (long)(steps[i].elapsed_ms + 0.5), *detail ? "  " : "", detail);
            free(detail);
            if (i == failed && missing) {
                field_at(stdout, 8, "status", "INTUNE_SCEP_E_AUTH");
                field_at(stdout, 8, "missing", missing);
                field_at(stdout, 8, "message", permission_msg);
                field_at(stdout, 8, "fix", fix);
            } else if (i == failed) {
                print_error_fields(stdout, 8, err, fix);
            }
        }
        if (failed < 0)
            printf("Result: OK - every step passed; this configuration can reach Intune.\n");
        else
            printf("Result: FAILED at step %d (%s), exit %d\n", failed + 1, steps[failed].title, code);
        char *cand = g.candidate_path ? scrub(g.candidate_path) : NULL;
        if (expiry > 0)
            printf("Credential: %s%s%s, certificate expires %s (%s%ld days)\n", credential_kind_name(kind),
                   cand ? " from candidate " : "", cand ? cand : "", expires, days_left < 0 ? "expired " : "in ",
                   days_left < 0 ? -days_left : days_left);
        else
            printf("Credential: %s%s%s\n", credential_kind_name(kind), cand ? " from candidate " : "",
                   cand ? cand : "");
        free(cand);
    }
    for (int i = 0; i < 3; i++) {
        free(steps[i].detail);
        intune_scep_string_free(roles[i]);
    }
    return code;
}

/* Read --csr and turn it into one-line base64 DER. Returns -1 when fine, else the exit code. */
static int load_csr(char **b64, intune_scep_error *err) {
    size_t len = 0;
    const char *why = NULL;
    char *raw = read_file(g.csr_path, &len, &why);
    if (raw == NULL)
        return fail_early(EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "--csr %s: %s", g.csr_path, why);
    int rc = intune_scep_csr_to_base64_der(raw, len, b64, err);
    free(raw);
    if (rc != INTUNE_SCEP_OK)
        return fail_early(exit_code_for_status(rc), intune_scep_status_name(rc), "--csr %s: %s", g.csr_path,
                          intune_scep_error_message(err));
    return -1;
}

/* Report the outcome of one SCEP call; returns the exit code. */
static int report_call(const char *command, int rc, double elapsed_ms, intune_scep_error *err,
                       const intune_scep_cert_details *details, int64_t hresult) {
    const char *fix = rc == INTUNE_SCEP_OK ? NULL : hint_for_error(HINT_STEP_SCEP_CALL, err);
    int code = exit_code_for_status(rc);
    char ms[32], hr[64];
    snprintf(ms, sizeof ms, "%ld ms", (long)(elapsed_ms + 0.5));
    snprintf(hr, sizeof hr, "%" PRId64 " (0x%" PRIX64 ")", hresult, (uint64_t)hresult);
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        json_str(o, "command", command);
        cJSON_AddBoolToObject(o, "ok", rc == INTUNE_SCEP_OK);
        json_str(o, "transaction_id", g.transaction_id);
        json_error_fields(o, err, fix);
        if (rc == INTUNE_SCEP_OK) {
            /* Intune's own word for it: only "Success" ever gets here. */
            cJSON_ReplaceItemInObject(o, "service_code", cJSON_CreateString("Success"));
            cJSON_ReplaceItemInObject(o, "message", cJSON_CreateString("Intune answered Success"));
        }
        if (details != NULL) {
            json_str(o, "certificate_thumbprint", intune_scep_cert_details_thumbprint(details));
            json_str(o, "certificate_serial_number", intune_scep_cert_details_serial_number(details));
            json_str(o, "certificate_expiration_date", intune_scep_cert_details_expiration_date(details));
            json_str(o, "issuing_certificate_authority", intune_scep_cert_details_issuing_authority(details));
            json_str(o, "ca_configuration", g.ca_configuration);
            json_str(o, "certificate_authority", g.certificate_authority);
        }
        if (g.command == CMD_NOTIFY_FAILURE) {
            cJSON_AddNumberToObject(o, "hresult", (double)hresult); /* exact up to 2^53 */
            char exact[32];
            snprintf(exact, sizeof exact, "%" PRId64, hresult);
            json_str(o, "hresult_exact", exact);
            json_str(o, "error_description", g.description);
        }
        cJSON_AddNumberToObject(o, "elapsed_ms", (double)(long)(elapsed_ms + 0.5));
        cJSON_AddNumberToObject(o, "exit_code", code);
        json_print(o);
        cJSON_Delete(o);
        return code;
    }
    if (rc == INTUNE_SCEP_OK) {
        const char *what = g.command == CMD_VALIDATE         ? "Intune accepted the request: the certificate may be issued"
                           : g.command == CMD_NOTIFY_SUCCESS ? "Intune recorded the issued certificate"
                                                             : "Intune recorded the failure";
        printf("%s: Success - %s\n", command, what);
    } else if (rc == INTUNE_SCEP_E_REJECTED) {
        const char *sc = intune_scep_error_service_code(err);
        char *clean = scrub(sc ? sc : "(no code)");
        printf("%s: REJECTED by Intune: %s (exit %d)\n", command, clean, code);
        free(clean);
    } else {
        printf("%s: FAILED: %s (exit %d)\n", command, intune_scep_status_name(rc), code);
    }
    field(stdout, "transaction id", g.transaction_id);
    if (details != NULL) {
        field(stdout, "thumbprint", intune_scep_cert_details_thumbprint(details));
        field(stdout, "serial number", intune_scep_cert_details_serial_number(details));
        field(stdout, "expires", intune_scep_cert_details_expiration_date(details));
        field(stdout, "issuer", intune_scep_cert_details_issuing_authority(details));
        field(stdout, "CA configuration", g.ca_configuration);
        field(stdout, "CA", g.certificate_authority);
    }
    if (g.command == CMD_NOTIFY_FAILURE) {
        field(stdout, "hresult", hr);
        field(stdout, "description", g.description);
    }
    if (rc != INTUNE_SCEP_OK) {
        print_error_fields(stdout, 2, err, fix);
        if (g.command == CMD_VALIDATE)
            printf("  Do not issue the certificate.\n");
        else if (g.command == CMD_NOTIFY_SUCCESS)
            printf("  Intune did not record the certificate: do not hand it to the device.\n");
    } else {
        field(stdout, "activity id", intune_scep_error_activity_id(err));
    }
    field(stdout, "elapsed", ms);
    return code;
}

static int cmd_scep(intune_scep_client *client, intune_scep_error *err) {
    char *csr = NULL;
    int early = load_csr(&csr, err);
    if (early >= 0)
        return early;
    int64_t hresult = 0;
    intune_scep_cert_details *details = NULL;
    char *cert = NULL;
    size_t cert_len = 0;
    int rc;
    double t0;
    if (g.command == CMD_NOTIFY_FAILURE) {
        if (parse_hresult(g.hresult_text, &hresult) != 0) {
            intune_scep_string_free(csr);
            return usage_error("--hresult '%s' is not a decimal or 0x hexadecimal 64-bit integer", g.hresult_text);
        }
        if (g.description[0] == '\0') {
            intune_scep_string_free(csr);
            return fail_early(EXIT_USAGE, "USAGE", "--description must not be empty");
        }
    }
    if (g.command == CMD_NOTIFY_SUCCESS) {
        const char *why = NULL;
        cert = read_file(g.cert_path, &cert_len, &why);
        if (cert == NULL) {
            intune_scep_string_free(csr);
            return fail_early(EXIT_USAGE, "INTUNE_SCEP_E_INVALID_ARGUMENT", "--cert %s: %s", g.cert_path, why);
        }
        rc = intune_scep_cert_details_from_cert(cert, cert_len, &details, err);
        if (rc != INTUNE_SCEP_OK) {
            int code = fail_early(exit_code_for_status(rc), intune_scep_status_name(rc), "--cert %s: %s",
                                  g.cert_path, intune_scep_error_message(err));
            free(cert);
            intune_scep_string_free(csr);
            return code;
        }
    }
    t0 = now_ms();
    switch (g.command) {
    case CMD_VALIDATE:
        rc = intune_scep_validate_request(client, g.transaction_id, csr, err);
        break;
    case CMD_NOTIFY_SUCCESS:
        rc = intune_scep_send_success_notification_for_cert(client, g.transaction_id, csr, cert, cert_len,
                                                            g.ca_configuration, g.certificate_authority, err);
        break;
    default:
        rc = intune_scep_send_failure_notification(client, g.transaction_id, csr, hresult, g.description, err);
        break;
    }
    int code = report_call(g.command_name, rc, now_ms() - t0, err, details, hresult);
    intune_scep_cert_details_free(details);
    free(cert);
    intune_scep_string_free(csr);
    return code;
}

static int run(void) {
    intune_scep_error *err = intune_scep_error_new();
    intune_scep_config *cfg = intune_scep_config_new();
    intune_scep_client *client = NULL;
    int code;
    if (err == NULL || cfg == NULL) {
        code = fail_early(EXIT_INTERNAL, "INTUNE_SCEP_E_NOMEM", "out of memory");
        goto done;
    }
    code = load_config(cfg, err);
    if (code >= 0)
        goto done;
    int rc = intune_scep_client_new(cfg, &client, err);
    if (rc != INTUNE_SCEP_OK) {
        const char *hint = g.config_path ? "" : " (no -c FILE given)";
        code = fail_early(exit_code_for_status(rc), intune_scep_status_name(rc), "configuration: %s%s",
                          intune_scep_error_message(err), hint);
        goto done;
    }
    /* Without -v the configuration's warnings (unknown or retired keys) were shown while the
       client was created; the per-call lines would only repeat what the tool reports itself. */
    if (!g.verbose)
        intune_scep_client_set_log_callback(client, NULL, NULL, INTUNE_SCEP_LOG_ERROR);
    if (g.candidate_path) {
        /* A candidate credential, tried on this client as a rotation would install it. */
        intune_scep_config *cand = intune_scep_config_new();
        rc = cand ? intune_scep_config_load_file(cand, g.candidate_path, err) : INTUNE_SCEP_E_NOMEM;
        if (rc == INTUNE_SCEP_OK)
            rc = intune_scep_client_update_credentials(client, cand, err);
        intune_scep_config_free(cand);
        if (rc != INTUNE_SCEP_OK) {
            code = fail_early(exit_code_for_status(rc), intune_scep_status_name(rc), "--candidate %s: %s",
                              g.candidate_path, rc == INTUNE_SCEP_E_NOMEM ? "out of memory" : intune_scep_error_message(err));
            goto done;
        }
    }
    if (g.command == CMD_CHECK)
        code = cmd_check(client, cfg, err);
    else if (g.command == CMD_REVOCATIONS)
        code = cli_revocations_run(client, err, &g.revocations);
    else
        code = cmd_scep(client, err);
done:
    intune_scep_client_free(client);
    intune_scep_config_free(cfg);
    intune_scep_error_free(err);
    return code;
}

int main(int argc, char **argv) {
    if (inspect_is_command(argc, argv)) return inspect_csr_main(argc, argv);
    int code = parse_args(argc, argv);
    if (code >= 0)
        return code;
    if (g.command == CMD_HELP) {
        enum command topic = CMD_NONE;
        if (g.help_topic != NULL) {
            for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
                if (strcmp(g.help_topic, commands[k].name) == 0)
                    topic = commands[k].cmd;
            if (topic == CMD_NONE)
                return usage_error("no help for '%s'", g.help_topic);
        }
        print_command_help(stdout, topic);
        return EXIT_SUCCESS_;
    }
    if (g.help) {
        print_command_help(stdout, g.command);
        return EXIT_SUCCESS_;
    }
    if (g.command == CMD_NONE) {
        if (g.json)
            return fail_early(EXIT_USAGE, "USAGE", "no command given");
        print_main_help(stderr);
        return EXIT_USAGE;
    }
    code = check_command_options();
    if (code >= 0)
        return code;
    if (g.command == CMD_VERSION)
        return cmd_version();
    if (g.command == CMD_REVOCATIONS) {
        g.revocations.json = g.json;
        g.revocations.verbose = g.verbose;
        g.revocations.max_text = g.max_text;
        g.revocations.issuer = g.issuer;
        code = cli_revocations_check(&g.revocations);
        if (code >= 0)
            return code;
    }
    code = run();
    wipe_secrets();
    fflush(stdout);
    return code;
}

/* ------------------------------------------------------------------------- */
/* For the commands in their own files (cli.h)                               */
/* ------------------------------------------------------------------------- */

char *cli_scrub(const char *text) { return scrub(text); }
void cli_field(FILE *out, const char *label, const char *value) { field(out, label, value); }
void cli_json_str(cJSON *obj, const char *name, const char *value) { json_str(obj, name, value); }
void cli_json_print(cJSON *obj) { json_print(obj); }
int cli_exit_code_for_status(int status) { return exit_code_for_status(status); }
int cli_fail_early(int code, const char *status, const char *message) {
    return fail_early(code, status, "%s", message);
}
void cli_json_error_fields(cJSON *o, const intune_scep_error *err, const char *fix) {
    json_error_fields(o, err, fix);
}
void cli_print_error_fields(FILE *out, int indent, const intune_scep_error *err, const char *fix) {
    print_error_fields(out, indent, err, fix);
}
char *cli_read_file(const char *path, size_t *len, const char **why) { return read_file(path, len, why); }
