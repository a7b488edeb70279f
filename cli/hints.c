/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hints.c - the troubleshooting table of the intune-scep tool: from an error
 * (Intune's code, the identity platform's AADSTS number, an HTTP status or a
 * transport failure) to what the administrator should do. docs/onboarding.md
 * carries the same table; keep them in step.
 */
#include "hints.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

struct code_hint {
    const char *code;
    const char *fix;
};

/* Every code of protocol.md section 4, in the order Intune defines them. */
static const struct code_hint intune_codes[] = {
    {"Unknown", "Intune could not say what is wrong. Retry later; if it persists, open a support case with "
                "Microsoft quoting the activity id and the time."},
    {"Success", "Nothing to fix: Intune accepted the request."},
    {"CertificateRequestDecodingFailed", "The CSR sent is not a base64 DER PKCS#10 request. The SCEP server must "
                                         "forward the device's request unchanged (no PEM armour, no line breaks)."},
    {"ChallengePasswordMissing", "The CSR carries no challengePassword attribute. The device did not put the "
                                 "Intune challenge into its request, or the SCEP server dropped it: forward the "
                                 "original request, and check the device got the SCEP profile."},
    {"ChallengeDeserializationError", "The challenge is not one Intune issued (or it was altered). Check the SCEP "
                                      "server URL of the profile points to this server and that this app is "
                                      "registered in the same tenant as the Intune subscription."},
    {"ChallengeDecryptionError", "Intune could not decrypt the challenge: it was issued for another tenant or "
                                 "altered. Check TENANT is the tenant the devices are enrolled in."},
    {"ChallengeDecodingError", "The challenge is not in Intune's format (or it was altered in transit). Check "
                               "the device uses the challenge of its Intune SCEP profile, unchanged."},
    {"ChallengeInvalidTimestamp", "The challenge's time stamp is not valid. Check the clocks of the SCEP server "
                                  "and the devices (NTP), then let the device request again."},
    {"ChallengeExpired", "The challenge is older than its lifetime. The device must fetch a new one (it does so "
                         "at its next check-in); check clocks and that requests are not queued for long."},
    {"SubjectNameMissing", "The CSR has no subject name but the profile requires one. Check the profile's "
                           "Subject name format and the user/device attributes it uses."},
    {"SubjectNameMismatch", "The subject in the CSR differs from the one the profile set in the challenge. The "
                            "request was altered, or the profile changed after the challenge was issued: forward "
                            "the request unchanged and let the device re-sync."},
    {"SubjectAltNameMissing", "The CSR lacks the subject alternative names the profile requires. Check the "
                              "profile's Subject alternative name settings."},
    {"SubjectAltNameMismatch", "The subject alternative names of the CSR differ from the profile's. Forward the "
                               "request unchanged; re-sync the device after changing the profile."},
    {"KeyUsageMismatch", "The key usage asked for differs from the profile's Key usage setting."},
    {"KeyLengthMismatch", "The key size of the CSR differs from the profile's Key size setting."},
    {"EnhancedKeyUsageMissing", "The CSR lacks an extended key usage the profile requires."},
    {"EnhancedKeyUsageMismatch", "The extended key usages of the CSR differ from the profile's."},
    {"AadKeyIdentifierListMissing", "The request lacks the device's Entra ID key identifiers. Re-register the "
                                    "device (or re-enroll it) so its device key is known."},
    {"RegisteredKeyMismatch", "The key of the CSR is not the device's registered key. Re-enroll the device."},
    {"SigningCertThumbprintMismatch", "The certificate that signed the request is not the one Intune expects "
                                      "(e.g. a renewal signed with another certificate)."},
    {"ScepProfileNoLongerTargetedToTheClient", "The SCEP profile is no longer assigned to this user or device. "
                                               "Check the profile's assignments; refusing is then correct."},
    {"SignatureValidationFailed", "The CSR's signature does not verify, or its hash algorithm is not one the "
                                  "profile allows. Check the profile's Hash algorithm; forward the request "
                                  "unchanged."},
    {"BadCertificateRequestIdInChallenge", "The challenge belongs to another certificate request. The device "
                                           "reused a stale challenge: let it re-sync and request again."},
    {"BadDeviceIdInChallenge", "The challenge was issued to another device. Check the SCEP server does not mix "
                               "requests of different devices; let the device re-sync."},
    {"BadUserIdInChallenge", "The challenge was issued to another user. Check the profile's assignment and "
                             "that the SCEP server does not mix requests; let the device re-sync."},
};

struct aadsts_hint {
    long code;
    const char *fix;
};

static const struct aadsts_hint aadsts_codes[] = {
    {7000215, "Invalid client secret: AAD_APP_KEY is not a current secret of the app. In Entra ID > App "
              "registrations > the app > Certificates & secrets, create a new client secret and put its Value "
              "(not its Secret ID) into AAD_APP_KEY."},
    {7000222, "The client secret has expired. Create a new client secret for the app (Certificates & secrets) "
              "and update AAD_APP_KEY; plan the next rotation before it expires."},
    {7000218, "No credential was sent: AAD_APP_KEY is empty. Set it to the app's client secret."},
    {90002, "Tenant not found: check TENANT (the tenant id GUID or a verified domain such as "
            "contoso.onmicrosoft.com) and, for a national cloud, AUTH_AUTHORITY."},
    {900023, "The tenant identifier is not valid: check TENANT (the tenant id GUID or a verified domain such as "
             "contoso.onmicrosoft.com)."},
    {70011, "Invalid scope: INTUNE_RESOURCE_URL or MS_GRAPH_RESOURCE_URL is not a resource the identity platform "
            "knows. Use the values of your cloud (docs/onboarding.md, National clouds)."},
    {90072, "The application is not from this tenant and is not multi-tenant: check TENANT and AAD_APP_ID."},
    {700016, "Application not found in the tenant: check AAD_APP_ID (the Application (client) ID of the app "
             "registration) and TENANT (the tenant the app is registered in)."},
    {7000112, "The application is disabled. In Entra ID > Enterprise applications > the app > Properties, set "
              "\"Enabled for users to sign in\" to Yes."},
    {500011, "The resource principal is not in the tenant: the tenant has no Intune (or Graph) service principal "
             "for the scope asked. Check the tenant has an Intune licence and that INTUNE_RESOURCE_URL and "
             "MS_GRAPH_RESOURCE_URL match the cloud of AUTH_AUTHORITY."},
    {500014, "The resource's service principal is disabled in the tenant (Enterprise applications): enable the "
             "Microsoft Intune API service principal."},
    {65001, "Admin consent has not been granted. In the app's API permissions, select \"Grant admin consent\"."},
    {700024, "The client assertion is outside its valid time range: check the clock of this server (NTP)."},
    {700027, "The client assertion's signature did not verify: the certificate is not (or no longer) uploaded "
             "to the app's Certificates & secrets."},
    {53003, "A Conditional Access policy blocked the sign-in of the app: exclude the workload identity or "
            "adapt the policy."},
    {50049, "The authority is not valid: check AUTH_AUTHORITY (e.g. https://login.microsoftonline.com/)."},
};

const char *hint_for_intune_code(const char *code) {
    if (code == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof intune_codes / sizeof intune_codes[0]; i++)
        if (strcmp(intune_codes[i].code, code) == 0)
            return intune_codes[i].fix;
    return NULL;
}

const char *hint_for_aadsts(long aadsts) {
    for (size_t i = 0; i < sizeof aadsts_codes / sizeof aadsts_codes[0]; i++)
        if (aadsts_codes[i].code == aadsts)
            return aadsts_codes[i].fix;
    return NULL;
}

/* Case-insensitive substring test over ASCII. */
static int contains_ci(const char *haystack, const char *needle) {
    if (haystack == NULL)
        return 0;
    size_t n = strlen(needle);
    for (const char *p = haystack; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static const char *transport_hint(const char *message) {
    if (contains_ci(message, "proxy"))
        return "The proxy refused or could not be reached: check PROXY_HOST, PROXY_PORT, PROXY_USER and "
               "PROXY_PASS, and that the proxy allows CONNECT to the Microsoft hosts.";
    if (contains_ci(message, "certificate") || contains_ci(message, "ssl") || contains_ci(message, "tls") ||
        contains_ci(message, "verify") || contains_ci(message, "issuer"))
        return "TLS trust failed: the server's certificate is not trusted. Behind a TLS-inspecting proxy, or "
               "with a private PKI, put that CA's PEM certificate into the file named by TLS_CA_FILE (it is "
               "trusted instead of the system store); otherwise check the system CA store and the clock.";
    if (contains_ci(message, "resolve") || contains_ci(message, "dns") || contains_ci(message, "host name"))
        return "The host name could not be resolved: check DNS on this server, the spelling of AUTH_AUTHORITY "
               "and MS_GRAPH_RESOURCE_URL, and whether a proxy (PROXY_HOST) is required.";
    if (contains_ci(message, "timed out") || contains_ci(message, "timeout") || contains_ci(message, "deadline"))
        return "The call ran out of time: check the network path or proxy to the Microsoft hosts; raise "
               "TIMEOUT_MS / CONNECT_TIMEOUT_MS only if the path is known to be slow.";
    if (contains_ci(message, "connect") || contains_ci(message, "refused") || contains_ci(message, "reset"))
        return "The connection failed: check the firewall lets this server reach the Microsoft hosts on port "
               "443 (directly or through PROXY_HOST), and the URLs in the configuration.";
    return "The service could not be reached: check the network, DNS, the firewall, the proxy settings "
           "(PROXY_HOST, PROXY_PORT) and TLS trust (TLS_CA_FILE).";
}

const char *hint_for_error(hint_step step, const intune_scep_error *err) {
    if (err == NULL)
        return NULL;
    int status = intune_scep_error_status(err);
    long http = intune_scep_error_http_status(err);
    const char *message = intune_scep_error_message(err);
    switch (status) {
    case INTUNE_SCEP_OK:
        return NULL;
    case INTUNE_SCEP_E_INVALID_ARGUMENT:
        return "An argument is missing or malformed (the message names it); nothing was sent.";
    case INTUNE_SCEP_E_CONFIG:
        return "Fix the configuration key named in the message (see docs/onboarding.md for every key).";
    case INTUNE_SCEP_E_AUTH: {
        const char *fix = hint_for_aadsts(intune_scep_error_aadsts_code(err));
        if (fix != NULL)
            return fix;
        if (http >= 500)
            return "The identity platform failed (HTTP 5xx): retry later; check the Azure status page.";
        return "The identity platform refused the app's credentials: check AAD_APP_ID, AAD_APP_KEY, TENANT "
               "and AUTH_AUTHORITY (the description above says which).";
    }
    case INTUNE_SCEP_E_SERVICE_NOT_FOUND:
        return "Discovery does not list the SCEP service (the message lists the names found): check the tenant "
               "has an active Intune subscription, that INTUNE_APP_ID is Intune's application id "
               "(0000000a-0000-0000-c000-000000000000), and that MS_GRAPH_RESOURCE_URL is the Graph of your "
               "cloud.";
    case INTUNE_SCEP_E_HTTP:
        if (step == HINT_STEP_DISCOVERY || step == HINT_STEP_GRAPH_TOKEN) {
            if (http == 403)
                return "Microsoft Graph refused discovery: the app lacks the Microsoft Graph application "
                       "permission Application.Read.All, or admin consent was not granted. In the app's API "
                       "permissions add it (Application permissions) and select \"Grant admin consent\".";
            if (http == 401)
                return "Microsoft Graph refused the token: check MS_GRAPH_RESOURCE_URL is the Graph of the "
                       "cloud of AUTH_AUTHORITY, and that Application.Read.All has admin consent.";
            if (http == 404)
                return "Graph has no such service principal: check INTUNE_APP_ID "
                       "(0000000a-0000-0000-c000-000000000000), MS_GRAPH_API_VERSION and that the tenant has "
                       "Intune.";
            if (http == 429 || http >= 500)
                return "Microsoft Graph is throttling or failing: retry later.";
            return "Microsoft Graph answered with an HTTP error: check MS_GRAPH_RESOURCE_URL and "
                   "MS_GRAPH_API_VERSION.";
        }
        if (http == 401 || http == 403)
            return "Intune refused the app: it lacks the Intune API application permission \"SCEP challenge "
                   "validation\" (scep_challenge_provider), or admin consent was not granted. In the app's API "
                   "permissions add Intune > Application permissions > scep_challenge_provider and select "
                   "\"Grant admin consent\".";
        if (http == 404)
            return "Intune does not know this endpoint: check ScepRequestValidationFEServiceVersion and "
                   "INTUNE_RESOURCE_URL; the service may have moved (run it again).";
        if (http == 429 || http >= 500)
            return "Intune is throttling or failing: retry later; if it persists, open a support case quoting "
                   "the activity id.";
        return "Intune answered with an HTTP error: see the message and the response body.";
    case INTUNE_SCEP_E_TRANSPORT:
        return transport_hint(message);
    case INTUNE_SCEP_E_PROTOCOL:
        return "The answer could not be trusted (not JSON, no code, or too large): a proxy or captive portal "
               "may be answering instead of Microsoft; check the proxy and the URLs in the configuration.";
    case INTUNE_SCEP_E_REJECTED: {
        const char *fix = hint_for_intune_code(intune_scep_error_service_code(err));
        if (fix != NULL)
            return fix;
        return "Intune answered with a code this tool does not know: do not issue the certificate; see the "
               "description and quote the activity id to Microsoft support.";
    }
    case INTUNE_SCEP_E_NOMEM:
        return "Out of memory.";
    default:
        (void)step;
        return "An unexpected failure: run again with -v and report the output.";
    }
}
