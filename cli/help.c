/* SPDX-License-Identifier: Apache-2.0 */
/*
 * help.c - the help texts of intune-scep: the tool's, each command's, the global options
 * and the exit codes (docs/onboarding.md documents the same codes).
 */
#include "help.h"

#include "intune_scep.h"

#include <stdio.h>

/* `intune-scep revocations`: Microsoft's guidance is kept in the defaults (revocations.c) and here. */
static void revocations_help(FILE *out) {
    fprintf(out,
            "Usage: intune-scep -c FILE revocations download [--max N] [--issuer NAME] [--json]\n"
            "       intune-scep -c FILE revocations upload RESULTS.json [--json]\n"
            "\n"
            "The revocation task of a CA (Intune's " INTUNE_SCEP_SERVICE_REVOCATION "):\n"
            "  download   fetch the revocation requests Intune queued for this CA and print them\n"
            "             (with --json: {\"requests\": [{\"requestContext\", \"serialNumber\",\n"
            "             \"issuerName\", \"caConfiguration\"}...]})\n"
            "  upload     report what became of them: the JSON of download (or a list of results)\n"
            "             with each request's outcome added: \"succeeded\" (true/false), \"errorCode\"\n"
            "             (\"0\" for a success; for a failure 4000-4007 non-retryable, e.g. \"4004\"\n"
            "             CertificateNotFoundError, \"4005\" ConflictError, or 4100-4103 retryable)\n"
            "             and an optional \"errorMessage\". Exit 0 only when Intune took them.\n"
            "\n"
            "  --max N        requests per download, 1-500 (default 100; Microsoft recommends at most 100)\n"
            "  --issuer NAME  only requests of this issuer: the issuing authority sent in the success\n"
            "                 notifications (at most 256 characters); default: every issuer\n"
            "\n"
            "Microsoft's guidance: download once an hour or less often, and upload the results of a\n"
            "download before the next one.\n");
}

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

void cli_help_main(FILE *out) {
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

void cli_help_command(FILE *out, enum cli_command cmd) {
    switch (cmd) {
    case CLI_CMD_CHECK:
        fprintf(out, "Usage: intune-scep -c FILE check [--candidate FILE] [--json] [-v]\n"
                     "\n"
                     "Check a configuration against Entra ID, Microsoft Graph and Intune, step by step:\n"
                     "  1. acquire a token for Microsoft Graph (MS_GRAPH_RESOURCE_URL) and read its roles:\n"
                     "     the application permission Application.Read.All must have been granted\n"
                     "  2. discover " INTUNE_SCEP_SERVICE_VALIDATION " through Graph (needs Application.Read.All)\n"
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
    case CLI_CMD_VALIDATE:
        fprintf(out, "Usage: intune-scep -c FILE validate --transaction-id ID --csr FILE\n"
                     "\n"
                     "Ask Intune whether the certificate request and the challenge inside it are genuine.\n"
                     "Exit 0 only when Intune answered Success; issue the certificate then, never otherwise.\n"
                     "\n"
                     "  --transaction-id ID   the SCEP transaction id\n"
                     "  --csr FILE            the PKCS#10 request: PEM, DER or base64\n");
        break;
    case CLI_CMD_NOTIFY_SUCCESS:
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
    case CLI_CMD_NOTIFY_FAILURE:
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
    case CLI_CMD_REVOCATIONS:
        revocations_help(out);
        break;
    case CLI_CMD_VERSION:
        fprintf(out, "Usage: intune-scep version [--json]\n\nPrint the versions of the tool and the library.\n");
        return;
    default:
        cli_help_main(out);
        return;
    }
    fprintf(out, "\n%s\n%s", global_options_help, exit_codes_help);
}
