/* SPDX-License-Identifier: Apache-2.0 */
/*
 * python.i - the Python-specific part of the SWIG interface (included by
 * intune_scep.i under SWIGPYTHON). It adds:
 *   - text arguments of the calls (transaction_id, certificate_request, ...):
 *     a str passed as its own UTF-8 without a copy, checked and named (below);
 *   - binary input: (const char *cert, size_t cert_len) and
 *     (const char *csr, size_t csr_len) take bytes, bytearray, memoryview (any
 *     contiguous buffer) or str (encoded as UTF-8);
 *   - the log callback: a C trampoline that takes the GIL and calls a Python
 *     callable, held by a small "log sink" object that owns a strong reference;
 *   - the call gate (python_gate.i, included at the end): a facade client's per-call
 *     bookkeeping in C, so that a SCEP call is one crossing into the extension;
 *   - GIL handling: the module is generated with -threads, so every wrapped
 *     call runs with the GIL released (the network calls above all); the few
 *     helpers that touch Python objects are %nothread, and so are the trivial
 *     accessors, which only read memory and would gain nothing from it.
 */

/* Binary input. The buffer (or the str's cached UTF-8 form) stays valid for
 * the whole call: the argument tuple holds the object, and a buffer export
 * keeps a bytearray from being resized while the GIL is released. */
%define INTUNE_SCEP_PY_BINARY_INPUT(PTR, LEN)
%typemap(in) (const char *PTR, size_t LEN) (Py_buffer view, int have_view = 0) {
  if (PyUnicode_Check($input)) {
    Py_ssize_t n = 0;
    const char *s = PyUnicode_AsUTF8AndSize($input, &n);
    if (!s) SWIG_fail;
    $1 = (char *)s;
    $2 = (size_t)n;
  } else if (PyObject_CheckBuffer($input)) {
    if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0) SWIG_fail;
    have_view = 1;
    $1 = (char *)view.buf;
    $2 = (size_t)view.len;
  } else {
    PyErr_Format(PyExc_TypeError, "%s: expected bytes or str, got %s", #PTR, Py_TYPE($input)->tp_name);
    SWIG_fail;
  }
}
%typemap(freearg) (const char *PTR, size_t LEN) {
  if (have_view$argnum) PyBuffer_Release(&view$argnum);
}
%typemap(typecheck, precedence=SWIG_TYPECHECK_STRING) (const char *PTR, size_t LEN) {
  $1 = PyUnicode_Check($input) || PyObject_CheckBuffer($input);
}
%enddef
INTUNE_SCEP_PY_BINARY_INPUT(cert, cert_len)
INTUNE_SCEP_PY_BINARY_INPUT(csr, csr_len)

/* Text arguments of the calls (the transaction id, the CSR, the certificate fields...):
 * a str, passed as its UTF-8 form without a copy. PyUnicode_AsUTF8AndSize gives the
 * str's own bytes for ASCII text and a UTF-8 form cached inside the str otherwise;
 * either lives as long as the str, which the argument tuple holds for the whole call,
 * also while the GIL is released. (SWIG's default encodes into a new bytes object and
 * copies that into a malloc'd buffer, for every argument of every call.) The errors
 * name the argument: TypeError for another type (None only where the argument is
 * optional), ValueError for a NUL character (C would cut the string there) or text
 * that has no UTF-8 form (a lone surrogate). What C refuses beyond that (empty, not
 * one line) it refuses naming the argument, before anything is sent. Secrets
 * (configuration values, the app key) take this path too (below). */
%{
#include <string.h>

/* 1 with *out set, or 0 with a Python exception set. */
static int intune_scep_py_text(PyObject *obj, const char *name, int optional, const char **out) {
    if (PyUnicode_Check(obj)) {
        Py_ssize_t n = 0;
        const char *s = PyUnicode_AsUTF8AndSize(obj, &n);
        if (s == NULL) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "%s: has no UTF-8 form (a lone surrogate)", name);
            }
            return 0;
        }
        if (memchr(s, 0, (size_t)n) != NULL) {
            PyErr_Format(PyExc_ValueError, "%s: must not contain a NUL character", name);
            return 0;
        }
        *out = s;
        return 1;
    }
    if (optional && obj == Py_None) {
        *out = NULL;
        return 1;
    }
    PyErr_Format(PyExc_TypeError, "%s: expected str, got %s", name, Py_TYPE(obj)->tp_name);
    return 0;
}
%}
%typemap(in, noblock=1) const char *transaction_id, const char *certificate_request, const char *cert_thumbprint,
    const char *cert_serial_number, const char *cert_expiration_date, const char *cert_issuing_authority,
    const char *error_description, const char *request_context {
  {
    const char *text_ = NULL;
    if (!intune_scep_py_text($input, "$1_name", 0, &text_)) SWIG_fail;
    $1 = ($1_ltype)text_;
  }
}
%typemap(in, noblock=1) const char *ca_configuration, const char *certificate_authority, const char *issuer_name,
    const char *error_code, const char *error_message {
  {
    const char *text_ = NULL;
    if (!intune_scep_py_text($input, "$1_name", 1, &text_)) SWIG_fail;
    $1 = ($1_ltype)text_;
  }
}
%typemap(freearg) const char *transaction_id, const char *certificate_request, const char *cert_thumbprint,
    const char *cert_serial_number, const char *cert_expiration_date, const char *cert_issuing_authority,
    const char *error_description, const char *request_context, const char *ca_configuration,
    const char *certificate_authority, const char *issuer_name, const char *error_code, const char *error_message ""

/* The facade frees the revocation list itself (intune_scep_revocation_requests_free):
 * the pointer object must not claim an ownership it has no destructor for (SWIG
 * would print a leak warning when it is collected). */
%typemap(out) intune_scep_revocation_requests *intune_scep_download_revocation_requests_ret
  "$result = SWIG_NewPointerObj(SWIG_as_voidptr($1), $descriptor, 0);";

/* Secrets passed as str (a configuration value: AAD_APP_KEY, PROXY_PASS, ...; a rotated
 * app key) take the same path as the text arguments: the str's own UTF-8, no copy. SWIG's
 * default would encode each into a temporary bytes object and a malloc'd copy, and the bytes
 * object goes back to Python's allocator unwiped. The library keeps its own copy and wipes
 * it; the str belongs to Python and cannot be wiped from here. `value` None removes a key. */
%typemap(in, noblock=1) const char *value {
  {
    const char *text_ = NULL;
    if (!intune_scep_py_text($input, "value", 1, &text_)) SWIG_fail;
    $1 = ($1_ltype)text_;
  }
}
%typemap(in, noblock=1) const char *app_key {
  {
    const char *text_ = NULL;
    if (!intune_scep_py_text($input, "app_key", 0, &text_)) SWIG_fail;
    $1 = ($1_ltype)text_;
  }
}
%typemap(freearg) const char *value, const char *app_key ""

/* A Python callable passed through as it is (the log sink's constructor). */
%typemap(in) PyObject *callable {
  $1 = $input;
}

/* Trivial accessors: pure reads of memory; no need to drop the GIL. */
%nothread intune_scep_version;
%nothread intune_scep_status_name;
%nothread intune_scep_config_new;
%nothread intune_scep_config_set;
%nothread intune_scep_config_get;
%nothread intune_scep_config_free;
%nothread intune_scep_error_new;
%nothread intune_scep_error_free;
%nothread intune_scep_error_clear;
%nothread intune_scep_error_status;
%nothread intune_scep_error_message;
%nothread intune_scep_error_service_code;
%nothread intune_scep_error_description;
%nothread intune_scep_error_activity_id;
%nothread intune_scep_error_transaction_id;
%nothread intune_scep_error_http_status;
%nothread intune_scep_error_response_body;
%nothread intune_scep_error_aadsts_code;
%nothread intune_scep_cert_details_thumbprint;
%nothread intune_scep_cert_details_serial_number;
%nothread intune_scep_cert_details_expiration_date;
%nothread intune_scep_cert_details_issuing_authority;
%nothread intune_scep_cert_details_free;
/* These take or drop a reference to a Python object: they need the GIL. */
%nothread intune_scep_py_log_sink_new;
%nothread intune_scep_py_log_sink_free;

%{
/* A log sink: owns a strong reference to a Python callable taking
 * (level: int, message: str). Created and freed with the GIL held; used from
 * any thread, with or without the GIL, through the trampoline below. */
typedef struct intune_scep_py_log_sink {
    PyObject *callable;
} intune_scep_py_log_sink;

/* The intune_scep_log_fn given to the library. The library calls it from any
 * of its callers' threads, several at once, always without the GIL (every
 * call into the library drops it): take the GIL, call, give it back. An
 * exception raised by the callable is reported as unraisable and never
 * reaches the library. */
static void intune_scep_py_log_trampoline(void *userdata, int level, const char *message) {
    intune_scep_py_log_sink *sink = (intune_scep_py_log_sink *)userdata;
    PyGILState_STATE gil;
    PyObject *result;
    if (sink == NULL || message == NULL || !Py_IsInitialized()) return;
    /* A thread still in a call while the interpreter shuts down drops the line:
     * taking the GIL then would never return. */
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_IsFinalizing()) return;
#else
    if (_Py_IsFinalizing()) return;
#endif
    gil = PyGILState_Ensure();
    result = PyObject_CallFunction(sink->callable, "is", level, message);
    if (result == NULL) {
        PyErr_WriteUnraisable(sink->callable);
    } else {
        Py_DECREF(result);
    }
    PyGILState_Release(gil);
}
%}

/* A NULL sink from the constructor means a Python exception is set. */
%exception intune_scep_py_log_sink_new {
  $action
  if (result == NULL) SWIG_fail;
}

%inline %{
/* A new log sink holding `callable` (a strong reference is taken); NULL with a
 * Python exception set when it is not callable or memory runs out. */
intune_scep_py_log_sink *intune_scep_py_log_sink_new(PyObject *callable) {
    intune_scep_py_log_sink *sink;
    if (callable == NULL || !PyCallable_Check(callable)) {
        PyErr_SetString(PyExc_TypeError, "log callback: expected a callable");
        return NULL;
    }
    sink = (intune_scep_py_log_sink *)PyMem_RawMalloc(sizeof *sink);
    if (sink == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    Py_INCREF(callable);
    sink->callable = callable;
    return sink;
}

/* Drop the sink's reference and free it. Only after every configuration and
 * client it was set on has been freed or given another sink. NULL is fine. */
void intune_scep_py_log_sink_free(intune_scep_py_log_sink *sink) {
    if (sink == NULL) return;
    Py_CLEAR(sink->callable);
    PyMem_RawFree(sink);
}

/* intune_scep_config_set_log_callback with a sink (NULL: no logging). */
void intune_scep_config_set_log_callback_py(intune_scep_config *cfg, intune_scep_py_log_sink *sink, int min_level) {
    intune_scep_config_set_log_callback(cfg, sink ? intune_scep_py_log_trampoline : NULL, sink, min_level);
}

/* intune_scep_client_set_log_callback with a sink (NULL: no logging). Runs
 * without the GIL: lines being written by other threads may need it. */
void intune_scep_client_set_log_callback_py(intune_scep_client *client, intune_scep_py_log_sink *sink, int min_level) {
    intune_scep_client_set_log_callback(client, sink ? intune_scep_py_log_trampoline : NULL, sink, min_level);
}
%}

/* The call gate: a facade client's per-call bookkeeping in C (python_gate.i). */
%include "python_gate.i"
