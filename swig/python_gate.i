/* SPDX-License-Identifier: Apache-2.0 */
/*
 * python_gate.i - the Python facade's call gate (included by python.i, after the log sink
 * it uses). Helpers named by the rule at the top of intune_scep.i: intune_scep_py_gate_*
 * for the gate itself, intune_scep_<abi function>_py for the three SCEP calls through it.
 */
/* ---------------------------------------------------------------------------------------
 * The call gate: a facade client's per-call bookkeeping in one C object, so that a SCEP
 * call from Python is one crossing into the extension instead of a dozen Python-level
 * steps (about 4,000 interpreter instructions a call fewer, measured with callgrind).
 *
 * A gate owns the native client from intune_scep_py_gate_new until
 * intune_scep_py_gate_close (or until the capsule holding it is collected). It keeps:
 *   - the count of calls in progress and the closed flag (C11 atomics): a call counts
 *     itself in, then reads the flag; close() sets the flag, then waits, with the GIL
 *     released, until the count is zero, and only then frees the client. Either the
 *     call sees the flag, or close() sees the call;
 *   - up to INTUNE_SCEP_PY_SPARES spare error objects (atomic slots: a call takes one
 *     and gives it back; every ABI call empties the error object it is given first);
 *   - the log level the native client was given and where it comes from (below), read
 *     and written only with the GIL held;
 *   - the facade's three helpers it calls with the GIL held: the level reader, the
 *     exception factory (a failed call's fields -> the exception to raise) and the
 *     certificate-request converter (what is not one line of base64 already).
 * It never refers to the facade object itself, so an unclosed client is still collected.
 *
 * Fail closed: a call returns None only for INTUNE_SCEP_OK. Any other status raises what
 * the factory makes of it; a factory that fails raises its own exception, and one that
 * returns something that is not an exception raises RuntimeError.
 * ------------------------------------------------------------------------------------- */
%{
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#define INTUNE_SCEP_PY_SPARES 16
#define INTUNE_SCEP_PY_GATE "intune_scep._native.gate"

typedef struct intune_scep_py_gate {
    intune_scep_client *client;                 /* freed once closed and idle */
    atomic_int closed;
    atomic_long in_flight;
    pthread_mutex_t idle_lock;                  /* with idle: close() waits for in_flight == 0 */
    pthread_cond_t idle;
    _Atomic(intune_scep_error *) spares[INTUNE_SCEP_PY_SPARES];
    /* With the GIL held: */
    intune_scep_py_log_sink *sink;              /* owned by the facade; freed after the client */
    int follows;                                /* the level follows the logger */
    long level;                                 /* the level the native client was given */
    PyObject *level_cache;                      /* logging's per-logger dict, or NULL */
    PyObject *level_note;                       /* the key of the level noted in it */
    PyObject *read_level;                       /* () -> the logger's effective level */
    PyObject *exception_of;                     /* (status, message, ...) -> exception */
    PyObject *csr_arg;                          /* (name, value) -> one-line base64 str */
    PyObject *closed_message;                   /* "IntuneScepServiceClient is closed" */
} intune_scep_py_gate;

/* The gate inside `capsule`, or NULL with TypeError. */
static intune_scep_py_gate *intune_scep_py_gate_of(PyObject *capsule) {
    intune_scep_py_gate *g;
    if (!PyCapsule_CheckExact(capsule)) {
        PyErr_Format(PyExc_TypeError, "expected a client gate, got %s", Py_TYPE(capsule)->tp_name);
        return NULL;
    }
    g = (intune_scep_py_gate *)PyCapsule_GetPointer(capsule, INTUNE_SCEP_PY_GATE);
    if (g == NULL) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "expected a client gate, got another capsule");
    }
    return g;
}

/* Give the native client `level`, without the GIL: a line being written on another
 * thread may be waiting for it, and the client's log lock for that line. A logger's
 * level is any int: one beyond an int's range is clamped to it (nothing, or everything). */
static void intune_scep_py_gate_give_level(intune_scep_py_gate *g, long level) {
    intune_scep_client *client = g->client;
    intune_scep_py_log_sink *sink = g->sink;
    int min_level = level > INT_MAX ? INT_MAX : level < INT_MIN ? INT_MIN : (int)level;
    Py_BEGIN_ALLOW_THREADS
    intune_scep_client_set_log_callback(client, sink ? intune_scep_py_log_trampoline : NULL, sink, min_level);
    Py_END_ALLOW_THREADS
}

/* The level follows the logger: logging empties the logger's cache dict whenever a level
 * changes anywhere, so the note found there with the level given last means nothing
 * changed (one dict lookup). Otherwise read the effective level, note it, and pass it on
 * when it differs. 1, or 0 with an exception set. */
static int intune_scep_py_gate_follow_level(intune_scep_py_gate *g) {
    PyObject *noted = NULL, *read;
    long level;
    if (g->level_cache != NULL) {
        noted = PyDict_GetItemWithError(g->level_cache, g->level_note);
        if (noted != NULL && PyLong_CheckExact(noted)) {
            level = PyLong_AsLong(noted);
            if (level == -1 && PyErr_Occurred()) return 0;
            if (level == g->level) return 1;
        } else if (noted == NULL && PyErr_Occurred()) {
            return 0;
        }
    }
    read = PyObject_CallObject(g->read_level, NULL);
    if (read == NULL) return 0;
    level = PyLong_AsLong(read);                     /* OverflowError past a long's range */
    if ((level == -1 && PyErr_Occurred()) ||
        (g->level_cache != NULL && PyDict_SetItem(g->level_cache, g->level_note, read) < 0)) {
        Py_DECREF(read);
        return 0;
    }
    Py_DECREF(read);
    if (level != g->level) {
        g->level = level;
        intune_scep_py_gate_give_level(g, level);
    }
    return 1;
}

static void intune_scep_py_gate_leave_(intune_scep_py_gate *g) {
    if (atomic_fetch_sub(&g->in_flight, 1) == 1 && atomic_load(&g->closed)) {
        pthread_mutex_lock(&g->idle_lock);           /* close() may be waiting for this call */
        pthread_cond_broadcast(&g->idle);
        pthread_mutex_unlock(&g->idle_lock);
    }
}

/* Count a call in: 1, or 0 with ValueError once closed (or what following the level
 * raised), the call counted out again. */
static int intune_scep_py_gate_enter_(intune_scep_py_gate *g, int follow) {
    atomic_fetch_add(&g->in_flight, 1);
    if (atomic_load(&g->closed)) {
        intune_scep_py_gate_leave_(g);
        PyErr_SetObject(PyExc_ValueError, g->closed_message);
        return 0;
    }
    if (follow && g->follows && !intune_scep_py_gate_follow_level(g)) {
        intune_scep_py_gate_leave_(g);
        return 0;
    }
    return 1;
}

static intune_scep_error *intune_scep_py_gate_take_error(intune_scep_py_gate *g) {
    for (int i = 0; i < INTUNE_SCEP_PY_SPARES; i++) {
        intune_scep_error *e = atomic_exchange(&g->spares[i], NULL);
        if (e != NULL) return e;
    }
    return intune_scep_error_new();
}

static void intune_scep_py_gate_give_error(intune_scep_py_gate *g, intune_scep_error *e) {
    for (int i = 0; i < INTUNE_SCEP_PY_SPARES; i++) {
        intune_scep_error *expected = NULL;
        if (atomic_compare_exchange_strong(&g->spares[i], &expected, e)) return;
    }
    intune_scep_error_free(e);
}

/* A field of the error object as str, or None (as SWIG returns a char *). */
static PyObject *intune_scep_py_gate_text(const char *s) {
    if (s == NULL) Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

/* Raise what the facade makes of a failed call; always NULL. */
static PyObject *intune_scep_py_gate_raise(intune_scep_py_gate *g, int status, const intune_scep_error *err,
                                           const char *transaction_id) {
    const char *txid = intune_scep_error_transaction_id(err);
    PyObject *exc = PyObject_CallFunction(g->exception_of, "iO&O&O&O&O&lO&l", status,
        intune_scep_py_gate_text, intune_scep_error_message(err),
        intune_scep_py_gate_text, intune_scep_error_activity_id(err),
        intune_scep_py_gate_text, (txid != NULL && *txid != '\0') ? txid : transaction_id,
        intune_scep_py_gate_text, intune_scep_error_service_code(err),
        intune_scep_py_gate_text, intune_scep_error_description(err),
        intune_scep_error_http_status(err),
        intune_scep_py_gate_text, intune_scep_error_response_body(err),
        intune_scep_error_aadsts_code(err));
    if (exc == NULL) return NULL;                     /* the factory's own exception */
    if (PyExceptionInstance_Check(exc)) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    } else {
        PyErr_Format(PyExc_RuntimeError, "%s: the call failed (%s) and no exception was made for it",
                     transaction_id != NULL ? transaction_id : "-", intune_scep_status_name(status));
    }
    Py_DECREF(exc);
    return NULL;
}

typedef int (*intune_scep_py_gate_op)(intune_scep_client *client, const void *args, intune_scep_error *err);

/* One SCEP call through the gate: count in, follow the level, take an error object,
 * run `op` with the GIL released, give the object back, count out. None for
 * INTUNE_SCEP_OK, NULL with an exception for anything else. */
static PyObject *intune_scep_py_gate_run(intune_scep_py_gate *g, intune_scep_py_gate_op op, const void *args,
                                         const char *transaction_id) {
    intune_scep_client *client;
    intune_scep_error *err;
    PyObject *out;
    int status;
    if (!intune_scep_py_gate_enter_(g, 1)) return NULL;
    client = g->client;                      /* read with the GIL held, while counted in */
    err = intune_scep_py_gate_take_error(g);
    if (err == NULL) {
        intune_scep_py_gate_leave_(g);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    status = op(client, args, err);
    Py_END_ALLOW_THREADS
    if (status == INTUNE_SCEP_OK) {
        Py_INCREF(Py_None);
        out = Py_None;
    } else {
        out = intune_scep_py_gate_raise(g, status, err, transaction_id);
    }
    intune_scep_py_gate_give_error(g, err);
    intune_scep_py_gate_leave_(g);
    return out;
}

/* The certificate request of a call as UTF-8 in *out: a str of one line without PEM
 * armour or blanks goes as it is (its own UTF-8, no copy); anything else goes through
 * the facade's converter, whose result *hold keeps. 1, or 0 with an exception naming
 * the argument. */
static int intune_scep_py_gate_csr(intune_scep_py_gate *g, PyObject *value, PyObject **hold, const char **out) {
    *hold = NULL;
    if (PyUnicode_Check(value)) {
        Py_ssize_t n = 0;
        const char *s = PyUnicode_AsUTF8AndSize(value, &n);
        if (s == NULL || memchr(s, 0, (size_t)n) != NULL) {
            PyErr_Clear();
            return intune_scep_py_text(value, "certificate_request", 0, out);   /* names what is wrong */
        }
        /* four memchr passes (vectorised in libc) cost about a third of one strcspn pass */
        if (memchr(s, '-', (size_t)n) == NULL && memchr(s, '\n', (size_t)n) == NULL &&
            memchr(s, ' ', (size_t)n) == NULL && memchr(s, '\r', (size_t)n) == NULL) {
            *out = s;
            return 1;
        }
    }
    *hold = PyObject_CallFunction(g->csr_arg, "sO", "certificate_request", value);
    if (*hold == NULL) return 0;
    return intune_scep_py_text(*hold, "certificate_request", 0, out);
}

struct intune_scep_py_validate_args { const char *transaction_id, *csr; };
static int intune_scep_py_validate_op(intune_scep_client *client, const void *a, intune_scep_error *err) {
    const struct intune_scep_py_validate_args *v = (const struct intune_scep_py_validate_args *)a;
    return intune_scep_validate_request(client, v->transaction_id, v->csr, err);
}

struct intune_scep_py_success_args {
    const char *transaction_id, *csr, *thumbprint, *serial, *expiration, *issuer, *ca_configuration, *ca;
};
static int intune_scep_py_success_op(intune_scep_client *client, const void *a, intune_scep_error *err) {
    const struct intune_scep_py_success_args *v = (const struct intune_scep_py_success_args *)a;
    return intune_scep_send_success_notification(client, v->transaction_id, v->csr, v->thumbprint, v->serial,
                                                 v->expiration, v->issuer, v->ca_configuration, v->ca, err);
}

struct intune_scep_py_failure_args { const char *transaction_id, *csr, *description; int64_t hresult; };
static int intune_scep_py_failure_op(intune_scep_client *client, const void *a, intune_scep_error *err) {
    const struct intune_scep_py_failure_args *v = (const struct intune_scep_py_failure_args *)a;
    return intune_scep_send_failure_notification(client, v->transaction_id, v->csr, v->hresult, v->description, err);
}

/* Free a gate: its client when it was never closed (no call can be running: each holds a
 * reference to the facade, which holds the gate), the spares, the references it holds. */
static void intune_scep_py_gate_dispose(intune_scep_py_gate *g) {
    if (g->client != NULL) {
        intune_scep_client *client = g->client;
        g->client = NULL;
        Py_BEGIN_ALLOW_THREADS
        intune_scep_client_free(client);     /* its last lines may need the GIL */
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < INTUNE_SCEP_PY_SPARES; i++) intune_scep_error_free(atomic_exchange(&g->spares[i], NULL));
    Py_XDECREF(g->level_cache);
    Py_XDECREF(g->level_note);
    Py_XDECREF(g->read_level);
    Py_XDECREF(g->exception_of);
    Py_XDECREF(g->csr_arg);
    Py_XDECREF(g->closed_message);
    pthread_cond_destroy(&g->idle);
    pthread_mutex_destroy(&g->idle_lock);
    PyMem_RawFree(g);
}

/* The capsule's destructor. */
static void intune_scep_py_gate_destroy(PyObject *capsule) {
    intune_scep_py_gate *g = (intune_scep_py_gate *)PyCapsule_GetPointer(capsule, INTUNE_SCEP_PY_GATE);
    if (g == NULL) {
        PyErr_Clear();
        return;
    }
    intune_scep_py_gate_dispose(g);
}
%}

/* These hold the GIL where they touch Python objects and release it themselves around
 * the library's calls. A NULL result means a Python exception is set. */
%nothread intune_scep_py_gate_new;
%nothread intune_scep_py_gate_enter;
%nothread intune_scep_py_gate_leave;
%nothread intune_scep_py_gate_close;
%nothread intune_scep_py_gate_closed;
%nothread intune_scep_py_gate_set_log_level;
%nothread intune_scep_py_gate_spare_errors;
%nothread intune_scep_validate_request_py;
%nothread intune_scep_send_success_notification_py;
%nothread intune_scep_send_failure_notification_py;
%define INTUNE_SCEP_PY_RAISES(NAME)
%exception NAME {
  $action
  if (result == NULL) SWIG_fail;
}
%enddef
INTUNE_SCEP_PY_RAISES(intune_scep_py_gate_new)
INTUNE_SCEP_PY_RAISES(intune_scep_py_gate_enter)
INTUNE_SCEP_PY_RAISES(intune_scep_py_gate_leave)
INTUNE_SCEP_PY_RAISES(intune_scep_py_gate_close)
INTUNE_SCEP_PY_RAISES(intune_scep_py_gate_closed)
INTUNE_SCEP_PY_RAISES(intune_scep_py_gate_set_log_level)
INTUNE_SCEP_PY_RAISES(intune_scep_py_gate_spare_errors)
INTUNE_SCEP_PY_RAISES(intune_scep_validate_request_py)
INTUNE_SCEP_PY_RAISES(intune_scep_send_success_notification_py)
INTUNE_SCEP_PY_RAISES(intune_scep_send_failure_notification_py)
/* The gate and the certificate request are passed through as Python objects. */
%typemap(in) PyObject *gate, PyObject *certificate_request_obj {
  $1 = $input;
}

%inline %{
/* A gate owning `client` (a capsule; the facade keeps it for the client's life). On
 * success the gate owns the client; NULL, with an exception, leaves it to the caller.
 * `level`: the level the client was made with; `level_cache`: the logger's cache dict,
 * or None; the callables as described above; `closed_message`: what a call after close()
 * raises as ValueError. */
PyObject *intune_scep_py_gate_new(intune_scep_client *client, intune_scep_py_log_sink *sink, long level,
                                  PyObject *level_cache, PyObject *level_note, PyObject *read_level,
                                  PyObject *exception_of, PyObject *csr_arg, PyObject *closed_message) {
    intune_scep_py_gate *g;
    PyObject *capsule;
    if (client == NULL) {
        PyErr_SetString(PyExc_ValueError, "client: must not be None");
        return NULL;
    }
    if ((level_cache != Py_None && !PyDict_Check(level_cache)) || !PyCallable_Check(read_level) ||
        !PyCallable_Check(exception_of) || !PyCallable_Check(csr_arg) || !PyUnicode_Check(closed_message)) {
        PyErr_SetString(PyExc_TypeError, "intune_scep_py_gate_new: a dict or None, three callables and a str");
        return NULL;
    }
    g = (intune_scep_py_gate *)PyMem_RawCalloc(1, sizeof *g);
    if (g == NULL) return PyErr_NoMemory();
    if (pthread_mutex_init(&g->idle_lock, NULL) != 0) {
        PyMem_RawFree(g);
        return PyErr_NoMemory();
    }
    if (pthread_cond_init(&g->idle, NULL) != 0) {
        pthread_mutex_destroy(&g->idle_lock);
        PyMem_RawFree(g);
        return PyErr_NoMemory();
    }
    atomic_init(&g->closed, 0);
    atomic_init(&g->in_flight, 0);
    for (int i = 0; i < INTUNE_SCEP_PY_SPARES; i++) atomic_init(&g->spares[i], NULL);
    g->sink = sink;
    g->follows = 1;
    g->level = level;
    g->level_cache = level_cache != Py_None ? level_cache : NULL;
    Py_XINCREF(g->level_cache);
    Py_INCREF(level_note);
    g->level_note = level_note;
    Py_INCREF(read_level);
    g->read_level = read_level;
    Py_INCREF(exception_of);
    g->exception_of = exception_of;
    Py_INCREF(csr_arg);
    g->csr_arg = csr_arg;
    Py_INCREF(closed_message);
    g->closed_message = closed_message;
    capsule = PyCapsule_New(g, INTUNE_SCEP_PY_GATE, intune_scep_py_gate_destroy);
    if (capsule == NULL) {
        intune_scep_py_gate_dispose(g);   /* g->client is still NULL: the caller keeps the client */
        return NULL;
    }
    g->client = client;
    return capsule;
}

/* Count a call in and return the client for it (a call that is not one of the three
 * below: set_app_key, fetch_token, ...); intune_scep_py_gate_leave counts it out.
 * NULL with ValueError once closed. */
intune_scep_client *intune_scep_py_gate_enter(PyObject *gate) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    if (g == NULL || !intune_scep_py_gate_enter_(g, 1)) return NULL;
    return g->client;
}

/* Count out a call counted in by intune_scep_py_gate_enter: True. */
PyObject *intune_scep_py_gate_leave(PyObject *gate) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    if (g == NULL) return NULL;
    if (atomic_load(&g->in_flight) <= 0) {
        PyErr_SetString(PyExc_RuntimeError, "intune_scep_py_gate_leave: no call to count out");
        return NULL;
    }
    intune_scep_py_gate_leave_(g);
    Py_RETURN_TRUE;
}

/* Close: later calls raise ValueError; wait, with the GIL released, for the calls in
 * progress to end; free the client and the spare error objects. True when this call
 * closed it, False when it was closed already. The facade frees the log sink after. */
PyObject *intune_scep_py_gate_close(PyObject *gate) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    if (g == NULL) return NULL;
    if (atomic_exchange(&g->closed, 1)) Py_RETURN_FALSE;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&g->idle_lock);
    while (atomic_load(&g->in_flight) > 0) pthread_cond_wait(&g->idle, &g->idle_lock);
    pthread_mutex_unlock(&g->idle_lock);
    /* No call reads the client any more: the ones counted in have ended, and a call counted
     * in from now on sees the flag and never reads it. */
    intune_scep_client_free(g->client);
    g->client = NULL;
    for (int i = 0; i < INTUNE_SCEP_PY_SPARES; i++) intune_scep_error_free(atomic_exchange(&g->spares[i], NULL));
    Py_END_ALLOW_THREADS
    Py_RETURN_TRUE;
}

/* True once intune_scep_py_gate_close was called. */
PyObject *intune_scep_py_gate_closed(PyObject *gate) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    if (g == NULL) return NULL;
    return PyBool_FromLong(atomic_load(&g->closed));
}

/* Give the client `level`; `follows` nonzero: from now on it follows the logger again
 * (`level` being its effective level now), zero: it stays at `level`. */
PyObject *intune_scep_py_gate_set_log_level(PyObject *gate, long level, int follows) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    if (g == NULL || !intune_scep_py_gate_enter_(g, 0)) return NULL;
    g->follows = follows != 0;
    g->level = level;
    intune_scep_py_gate_give_level(g, level);
    intune_scep_py_gate_leave_(g);
    Py_RETURN_NONE;
}

/* How many spare error objects the gate holds (for tests: 0 after close). */
PyObject *intune_scep_py_gate_spare_errors(PyObject *gate) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    long n = 0;
    if (g == NULL) return NULL;
    for (int i = 0; i < INTUNE_SCEP_PY_SPARES; i++) n += atomic_load(&g->spares[i]) != NULL;
    return PyLong_FromLong(n);
}

/* intune_scep_validate_request through the gate: None only for INTUNE_SCEP_OK. */
PyObject *intune_scep_validate_request_py(PyObject *gate, const char *transaction_id,
                                          PyObject *certificate_request_obj) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    struct intune_scep_py_validate_args a;
    PyObject *hold = NULL, *out;
    if (g == NULL || !intune_scep_py_gate_csr(g, certificate_request_obj, &hold, &a.csr)) {
        Py_XDECREF(hold);
        return NULL;
    }
    a.transaction_id = transaction_id;
    out = intune_scep_py_gate_run(g, intune_scep_py_validate_op, &a, transaction_id);
    Py_XDECREF(hold);
    return out;
}

/* intune_scep_send_success_notification through the gate: None only for INTUNE_SCEP_OK. */
PyObject *intune_scep_send_success_notification_py(PyObject *gate, const char *transaction_id,
        PyObject *certificate_request_obj, const char *cert_thumbprint, const char *cert_serial_number,
        const char *cert_expiration_date, const char *cert_issuing_authority, const char *ca_configuration,
        const char *certificate_authority) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    struct intune_scep_py_success_args a;
    PyObject *hold = NULL, *out;
    if (g == NULL || !intune_scep_py_gate_csr(g, certificate_request_obj, &hold, &a.csr)) {
        Py_XDECREF(hold);
        return NULL;
    }
    a.transaction_id = transaction_id;
    a.thumbprint = cert_thumbprint;
    a.serial = cert_serial_number;
    a.expiration = cert_expiration_date;
    a.issuer = cert_issuing_authority;
    a.ca_configuration = ca_configuration;
    a.ca = certificate_authority;
    out = intune_scep_py_gate_run(g, intune_scep_py_success_op, &a, transaction_id);
    Py_XDECREF(hold);
    return out;
}

/* intune_scep_send_failure_notification through the gate: None only for INTUNE_SCEP_OK. */
PyObject *intune_scep_send_failure_notification_py(PyObject *gate, const char *transaction_id,
        PyObject *certificate_request_obj, int64_t hresult, const char *error_description) {
    intune_scep_py_gate *g = intune_scep_py_gate_of(gate);
    struct intune_scep_py_failure_args a;
    PyObject *hold = NULL, *out;
    if (g == NULL || !intune_scep_py_gate_csr(g, certificate_request_obj, &hold, &a.csr)) {
        Py_XDECREF(hold);
        return NULL;
    }
    a.transaction_id = transaction_id;
    a.hresult = hresult;
    a.description = error_description;
    out = intune_scep_py_gate_run(g, intune_scep_py_failure_op, &a, transaction_id);
    Py_XDECREF(hold);
    return out;
}
%}
