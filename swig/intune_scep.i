/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intune_scep.i - the one SWIG interface of intune-scep, shared by every language.
 *
 * It wraps the public header as it is: every ABI function keeps its C name, and so
 * do the enums and the string macros (INTUNE_SCEP_OK..., INTUNE_SCEP_SERVICE_VALIDATION,
 * INTUNE_SCEP_SERVICE_REVOCATION, INTUNE_SCEP_ENV_PREFIX), which the facades read
 * instead of repeating them. The ABI functions that do not wrap well as they are
 * (an out-parameter, a C callback) are %ignored and replaced by helpers.
 *
 * Naming rule for the helpers (here, in python.i and in java.i), so that a search
 * for an ABI function's name finds every wrapper of it:
 *
 *   A helper that calls an ABI function in another shape is named after that
 *   function, plus one suffix saying how the shape differs:
 *     _ret     the out-parameter is the return value (NULL on failure: see err)
 *     _json    the out-object is returned as its JSON text (NULL on failure: see err)
 *     _py      the C callback (function and userdata), or the client handle, is
 *     _java    replaced by an object of that language's file: a log sink, a
 *              transport, Python's call gate (made by the helpers there)
 *   e.g. intune_scep_client_new -> intune_scep_client_new_ret,
 *        intune_scep_config_set_log_callback -> intune_scep_config_set_log_callback_py.
 *
 *   What a language's file adds that wraps no ABI function (the log sink,
 *   transport and call-gate objects themselves, a diagnostic) is named intune_scep_py_* or
 *   intune_scep_java_*, so it is never mistaken for a part of the C ABI.
 *
 * This file holds the helpers every language shares; python.i and java.i add each
 * language's typemaps (strings, binary input, C long), its callback trampolines
 * (log sink; Java: the transport hook) and its thread handling (GIL, JNI attach).
 */
#if defined(SWIGPYTHON)
%module(package="intune_scep") _native
#elif defined(SWIGJAVA)
%module IntuneScepNative
#else
%module intune_scep
#endif

%{
#include "intune_scep.h"
%}

%include <stdint.i>

/* Out-parameter forms are replaced by the helpers below. */
%ignore intune_scep_client_new;
%ignore intune_scep_client_discover;
%ignore intune_scep_client_token_roles;
%ignore intune_scep_cert_details_from_cert;
%ignore intune_scep_csr_to_base64_der;
%ignore intune_scep_string_free;
%ignore intune_scep_download_revocation_requests;
%ignore intune_scep_csr_info_parse;
%ignore intune_scep_csr_info_to_json;
/* Log callbacks are wired by each language's file. */
%ignore intune_scep_config_set_log_callback;
%ignore intune_scep_client_set_log_callback;
/* The transport hook takes a C function: wired by a language's file (java.i); the
   response setters are wrapped only where a language implements a transport. */
%ignore intune_scep_config_set_transport;
#if !defined(SWIGJAVA)
%ignore intune_scep_transport_response_set_status;
%ignore intune_scep_transport_response_add_header;
%ignore intune_scep_transport_response_append_body;
%ignore intune_scep_transport_response_fail;
#endif

%newobject intune_scep_client_discover_ret;
%newobject intune_scep_client_token_roles_ret;
%newobject intune_scep_csr_to_base64_der_ret;
%newobject intune_scep_csr_info_parse_json;
%typemap(newfree) char * "intune_scep_string_free($1);";

#if defined(SWIGPYTHON)
/* It reads the environment with getenv(): keep the GIL, so that no Python thread changes
   os.environ (putenv) meanwhile. */
%nothread intune_scep_config_load_env;
%include "python.i"
#elif defined(SWIGJAVA)
%include "java.i"
#endif

%include "intune_scep.h"

%inline %{
/* intune_scep_client_new as a function returning the client (NULL on failure: see err). */
intune_scep_client *intune_scep_client_new_ret(const intune_scep_config *cfg, intune_scep_error *err) {
    intune_scep_client *client = NULL;
    (void)intune_scep_client_new(cfg, &client, err);
    return client;
}
/* intune_scep_client_discover returning the URI (NULL on failure: see err). */
char *intune_scep_client_discover_ret(intune_scep_client *client, const char *service_name, intune_scep_error *err) {
    char *uri = NULL;
    (void)intune_scep_client_discover(client, service_name, &uri, err);
    return uri;
}
/* intune_scep_client_token_roles returning the comma-separated roles (NULL on failure: see err). */
char *intune_scep_client_token_roles_ret(intune_scep_client *client, int resource, intune_scep_error *err) {
    char *roles = NULL;
    (void)intune_scep_client_token_roles(client, resource, &roles, err);
    return roles;
}
/* intune_scep_cert_details_from_cert returning the details (NULL on failure: see err). */
intune_scep_cert_details *intune_scep_cert_details_from_cert_ret(const char *cert, size_t cert_len, intune_scep_error *err) {
    intune_scep_cert_details *d = NULL;
    (void)intune_scep_cert_details_from_cert(cert, cert_len, &d, err);
    return d;
}
/* intune_scep_csr_to_base64_der returning the base64 DER (NULL on failure: see err). */
char *intune_scep_csr_to_base64_der_ret(const char *csr, size_t csr_len, intune_scep_error *err) {
    char *out = NULL;
    (void)intune_scep_csr_to_base64_der(csr, csr_len, &out, err);
    return out;
}
/* intune_scep_download_revocation_requests returning the list (NULL on failure: see err). */
intune_scep_revocation_requests *intune_scep_download_revocation_requests_ret(intune_scep_client *client,
        int max_requests, const char *issuer_name, intune_scep_error *err) {
    intune_scep_revocation_requests *r = NULL;
    (void)intune_scep_download_revocation_requests(client, max_requests, issuer_name, &r, err);
    return r;
}
/* intune_scep_csr_info_parse + intune_scep_csr_info_to_json: what a certificate request asks
 * for, as one JSON object (NULL on failure: see err). */
char *intune_scep_csr_info_parse_json(const char *csr, size_t csr_len, intune_scep_error *err) {
    intune_scep_csr_info *info = NULL;
    char *out = NULL;
    if (intune_scep_csr_info_parse(csr, csr_len, &info, err) == INTUNE_SCEP_OK)
        (void)intune_scep_csr_info_to_json(info, &out, err);
    intune_scep_csr_info_free(info);
    return out;
}
%}
