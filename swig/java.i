/* SPDX-License-Identifier: Apache-2.0 */
/*
 * java.i - the Java-only part of the SWIG interface (included by intune_scep.i
 * under SWIGJAVA, before the public header is wrapped).
 *
 * What it adds to the shared interface:
 *  - strings cross the boundary as real UTF-8 (not JNI's "modified UTF-8"):
 *    Java passes byte[] made by String.getBytes(UTF_8) and gets byte[] back,
 *    decoded with new String(bytes, UTF_8). A character outside the BMP
 *    (an emoji in a description) reaches the wire intact, and a string holding
 *    a NUL character is refused instead of being cut short in C. Argument
 *    copies are wiped on both sides after the call (AAD_APP_KEY passes here).
 *  - (const char *cert, size_t cert_len) and (const char *csr, size_t csr_len)
 *    are byte[] in Java.
 *  - C `long` (HTTP status, AADSTS code) is a Java long; the enums are plain
 *    int constants (they are used as ints by every function).
 *  - the log callback: a C trampoline that calls back into Java from whichever
 *    thread the library logs on, attaching that thread to the JVM when it is a
 *    native thread (see intune_scep_java_log_trampoline below).
 *  - the generated JNI class loads the native library through NativeLoader.
 */

%include <enumtypeunsafe.swg>
%javaconst(1);

%pragma(java) jniclasscode=%{
  static {
    NativeLoader.load();
  }
%}

%{
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * Wipe and free a string copy made by intune_scep_java_bytes_dup. memset at
 * memset's speed (a CSR is 1-2 KB on every call), then an empty asm that
 * claims to read the memory, so the compiler cannot drop the memset as a
 * store to memory about to be freed.
 */
static void intune_scep_java_bytes_free(char *s) {
    if (s) {
        memset(s, 0, strlen(s));
        __asm__ __volatile__("" : : "r"(s) : "memory");
        free(s);
    }
}

/*
 * A NUL-terminated copy of a Java byte[] holding UTF-8. Returns NULL with a
 * pending Java exception when the bytes hold a NUL or memory is short.
 */
static char *intune_scep_java_bytes_dup(JNIEnv *jenv, jbyteArray bytes) {
    jsize n = (*jenv)->GetArrayLength(jenv, bytes);
    char *s = (char *)malloc((size_t)n + 1);
    if (!s) {
        SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "out of memory copying a string argument");
        return NULL;
    }
    (*jenv)->GetByteArrayRegion(jenv, bytes, 0, n, (jbyte *)s);
    s[n] = 0;
    if ((*jenv)->ExceptionCheck(jenv)) {
        free(s);
        return NULL;
    }
    if (memchr(s, 0, (size_t)n) != NULL) {
        memset(s, 0, (size_t)n);
        free(s);
        SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "a string argument contains a NUL character");
        return NULL;
    }
    return s;
}

/* A new Java byte[] holding the bytes of `s` (NULL for NULL). */
static jbyteArray intune_scep_java_bytes_new(JNIEnv *jenv, const char *s) {
    jbyteArray out;
    size_t n;
    if (!s) {
        return NULL;
    }
    n = strlen(s);
    if (n > 0x7fffffff) {
        n = 0x7fffffff;
    }
    out = (*jenv)->NewByteArray(jenv, (jsize)n);
    if (out) {
        (*jenv)->SetByteArrayRegion(jenv, out, 0, (jsize)n, (const jbyte *)s);
    }
    return out;
}

/* ---- log callback ------------------------------------------------------ */

/*
 * A log sink: a global reference to a Java object with a method
 * `void log(int level, byte[] utf8Message)` (internal.LogBridge). It is
 * created and freed by the Java facade, which keeps it alive for as long as a
 * configuration or a client may log into it.
 */
typedef struct intune_scep_java_log_sink {
    JavaVM *vm;
    jobject target;   /* global reference */
    jmethodID method; /* void log(int, byte[]) */
} intune_scep_java_log_sink;

/*
 * Native threads the trampoline attached are detached when they exit (the
 * key's destructor); threads the JVM created are never detached by us.
 */
static pthread_key_t intune_scep_java_attached_key;
static int intune_scep_java_attached_key_ok;
static pthread_once_t intune_scep_java_attached_once = PTHREAD_ONCE_INIT;

static void intune_scep_java_detach(void *vm) {
    JavaVM *jvm = (JavaVM *)vm;
    (*jvm)->DetachCurrentThread(jvm);
}

static void intune_scep_java_attached_init(void) {
    intune_scep_java_attached_key_ok = pthread_key_create(&intune_scep_java_attached_key, intune_scep_java_detach) == 0;
}

/*
 * The C log callback. Runs on the thread that logs: a Java thread inside a
 * call (already attached: used as it is) or a native thread of the library
 * (attached as a daemon, so it never keeps the JVM alive, and detached when it
 * exits). It holds no lock and takes no JVM monitor; a Java exception thrown
 * by the sink is cleared here and never reaches the library, and an exception
 * already pending on entry is kept and re-thrown on the way out.
 */
static void intune_scep_java_log_trampoline(void *userdata, int level, const char *message) {
    intune_scep_java_log_sink *sink = (intune_scep_java_log_sink *)userdata;
    JNIEnv *env = NULL;
    jint rc;
    jthrowable pending;
    jbyteArray bytes;

    if (!sink || !message) {
        return;
    }
    rc = (*sink->vm)->GetEnv(sink->vm, (void **)&env, JNI_VERSION_1_6);
    if (rc == JNI_EDETACHED) {
        JavaVMAttachArgs args;
        args.version = JNI_VERSION_1_6;
        args.name = (char *)"intune-scep-native";
        args.group = NULL;
        if ((*sink->vm)->AttachCurrentThreadAsDaemon(sink->vm, (void **)&env, &args) != JNI_OK) {
            return;
        }
        pthread_once(&intune_scep_java_attached_once, intune_scep_java_attached_init);
        if (intune_scep_java_attached_key_ok) {
            (void)pthread_setspecific(intune_scep_java_attached_key, sink->vm);
        }
    } else if (rc != JNI_OK) {
        return;
    }

    /* A frame of its own: a native thread never returns to Java to drop local refs. */
    if ((*env)->PushLocalFrame(env, 4) != 0) {
        (*env)->ExceptionClear(env);
        return;
    }
    pending = (*env)->ExceptionOccurred(env);
    if (pending) {
        (*env)->ExceptionClear(env);
    }
    bytes = intune_scep_java_bytes_new(env, message);
    if (bytes) {
        (*env)->CallVoidMethod(env, sink->target, sink->method, (jint)level, bytes);
    }
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
    }
    pending = (jthrowable)(*env)->PopLocalFrame(env, pending);
    if (pending) {
        (*env)->Throw(env, pending);
        (*env)->DeleteLocalRef(env, pending);
    }
}

/* A log line delivered from a native thread (intune_scep_java_log_sink_call_from_native_thread). */
struct intune_scep_java_native_line {
    intune_scep_java_log_sink *sink;
    int level;
    const char *message;
};

static void *intune_scep_java_native_line_run(void *arg) {
    struct intune_scep_java_native_line *line = (struct intune_scep_java_native_line *)arg;
    intune_scep_java_log_trampoline(line->sink, line->level, line->message);
    return NULL;
}

/* ---- transport hook ---------------------------------------------------- */

/*
 * A transport: a global reference to a Java object with a method
 * `int exchange(byte[] method, byte[] url, byte[][] headers, byte[] body,
 * long connectTimeoutMs, long timeoutMs, long response)`
 * (internal.SocketFactoryTransport), which performs one HTTPS exchange and
 * fills `response` through intune_scep_transport_response_*. Created and freed
 * by the Java facade, which keeps it alive as long as a client uses it.
 */
typedef struct intune_scep_java_transport {
    JavaVM *vm;
    jobject target;     /* global reference */
    jmethodID method;   /* int exchange(byte[], byte[], byte[][], byte[], long, long, long) */
    jclass byte_array;  /* global reference to byte[].class */
} intune_scep_java_transport;

/* Zero a Java byte[] (request headers and body hold secrets). */
static void intune_scep_java_bytes_zero(JNIEnv *env, jbyteArray a) {
    jsize n;
    jbyte zeros[256];
    jsize off = 0;
    if (!a) {
        return;
    }
    memset(zeros, 0, sizeof zeros);
    n = (*env)->GetArrayLength(env, a);
    while (off < n) {
        jsize k = n - off < (jsize)sizeof zeros ? n - off : (jsize)sizeof zeros;
        (*env)->SetByteArrayRegion(env, a, off, k, zeros);
        off += k;
    }
}

static jbyteArray intune_scep_java_bytes_of(JNIEnv *env, const char *p, size_t n) {
    jbyteArray a;
    if (n > 0x7fffffff) {
        return NULL;
    }
    a = (*env)->NewByteArray(env, (jsize)n);
    if (a && n) {
        (*env)->SetByteArrayRegion(env, a, 0, (jsize)n, (const jbyte *)p);
    }
    return a;
}

/*
 * The C transport callback. Runs on the thread that made the call: a Java
 * thread inside a native method, so the JNI environment is at hand. A Java
 * exception thrown by exchange() is cleared here and reported as a transport
 * failure; the request's header and body arrays are zeroed after the call.
 */
static int intune_scep_java_transport_trampoline(void *userdata, const char *method, const char *url,
                                                 const char *const *headers, size_t header_count, const char *body,
                                                 size_t body_len, long connect_timeout_ms, long timeout_ms,
                                                 intune_scep_transport_response *response) {
    intune_scep_java_transport *t = (intune_scep_java_transport *)userdata;
    JNIEnv *env = NULL;
    jthrowable pending;
    jbyteArray jmethod, jurl, jbody = NULL;
    jobjectArray jheaders;
    jint rc = 1;
    size_t i;

    if (!t || (*t->vm)->GetEnv(t->vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK) {
        intune_scep_transport_response_fail(response, INTUNE_SCEP_TRANSPORT_E_OTHER,
                                            "the Java transport was called on a thread outside the JVM");
        return 1;
    }
    if ((*env)->PushLocalFrame(env, (jint)header_count + 16) != 0) {
        (*env)->ExceptionClear(env);
        intune_scep_transport_response_fail(response, INTUNE_SCEP_TRANSPORT_E_OTHER, "out of JVM memory");
        return 1;
    }
    pending = (*env)->ExceptionOccurred(env);
    if (pending) {
        (*env)->ExceptionClear(env);
    }
    jmethod = intune_scep_java_bytes_of(env, method, strlen(method));
    jurl = intune_scep_java_bytes_of(env, url, strlen(url));
    jheaders = (*env)->NewObjectArray(env, (jsize)header_count, t->byte_array, NULL);
    for (i = 0; jheaders && i < header_count; i++) {
        jbyteArray h = intune_scep_java_bytes_of(env, headers[i], strlen(headers[i]));
        if (!h) {
            jheaders = NULL;
            break;
        }
        (*env)->SetObjectArrayElement(env, jheaders, (jsize)i, h);
        (*env)->DeleteLocalRef(env, h);
    }
    if (body) {
        jbody = intune_scep_java_bytes_of(env, body, body_len);
    }
    if (!jmethod || !jurl || !jheaders || (body && !jbody) || (*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        intune_scep_transport_response_fail(response, INTUNE_SCEP_TRANSPORT_E_OTHER, "out of JVM memory");
    } else {
        rc = (*env)->CallIntMethod(env, t->target, t->method, jmethod, jurl, jheaders, jbody,
                                   (jlong)connect_timeout_ms, (jlong)timeout_ms,
                                   (jlong)(intptr_t)response);
        if ((*env)->ExceptionCheck(env)) {
            (*env)->ExceptionClear(env);
            intune_scep_transport_response_fail(response, INTUNE_SCEP_TRANSPORT_E_OTHER,
                                                "the Java transport threw an exception");
            rc = 1;
        }
    }
    /* The Authorization line and a token request's form are secrets. */
    for (i = 0; jheaders && i < header_count; i++) {
        jbyteArray h = (jbyteArray)(*env)->GetObjectArrayElement(env, jheaders, (jsize)i);
        intune_scep_java_bytes_zero(env, h);
        (*env)->DeleteLocalRef(env, h);
    }
    intune_scep_java_bytes_zero(env, jbody);
    (*env)->ExceptionClear(env);
    pending = (jthrowable)(*env)->PopLocalFrame(env, pending);
    if (pending) {
        (*env)->Throw(env, pending);
        (*env)->DeleteLocalRef(env, pending);
    }
    return rc == 0 ? 0 : 1;
}
%}

/* ---- typemaps ----------------------------------------------------------- */

/* Strings: UTF-8 byte[] across JNI, String in Java. */
%typemap(jni) const char *, char * "jbyteArray"
%typemap(jtype) const char *, char * "byte[]"
%typemap(jstype) const char *, char * "String"
%typemap(javain, pre="    byte[] temp$javainput = Utf8.encode($javainput);",
         post="      Utf8.wipe(temp$javainput);") const char *, char * "temp$javainput"
%typemap(javaout) const char *, char * {
    return Utf8.decode($jnicall);
  }
%typemap(in, noblock=1) const char *, char * {
  $1 = NULL;
  if ($input) {
    $1 = ($1_ltype)intune_scep_java_bytes_dup(jenv, $input);
    if (!$1) return $null;
  }
}
%typemap(freearg, noblock=1) const char *, char * {
  intune_scep_java_bytes_free((char *)$1);
}
%typemap(out, noblock=1) const char *, char * {
  $result = intune_scep_java_bytes_new(jenv, (const char *)$1);
}

/* Binary input (certificates, CSRs): byte[]. */
%apply (char *STRING, size_t LENGTH) { (const char *cert, size_t cert_len), (const char *csr, size_t csr_len) }
/* A transport's answer body: byte[]. */
%apply (char *STRING, size_t LENGTH) { (const char *data, size_t len) }

/* C long (HTTP status, AADSTS code) is a Java long, whatever the platform's long. */
%apply long long { long };

/* The JNI environment, passed to the helpers below without a Java argument. */
%typemap(in, numinputs=0) JNIEnv *jenv "$1 = jenv;"

/* ---- log sink helpers ---------------------------------------------------- */

%inline %{
/*
 * A new log sink over the Java object `target`, which must have a method
 * `void log(int level, byte[] utf8Message)`. Returns NULL with a pending Java
 * exception when it has none or memory is short. Free with
 * intune_scep_java_log_sink_free once no configuration or client uses it.
 */
intune_scep_java_log_sink *intune_scep_java_log_sink_new(JNIEnv *jenv, jobject target) {
    intune_scep_java_log_sink *sink;
    jclass cls;
    jmethodID method;

    if (!target) {
        SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, "log sink target is null");
        return NULL;
    }
    cls = (*jenv)->GetObjectClass(jenv, target);
    method = (*jenv)->GetMethodID(jenv, cls, "log", "(I[B)V");
    (*jenv)->DeleteLocalRef(jenv, cls);
    if (!method) {
        return NULL; /* NoSuchMethodError pending */
    }
    sink = (intune_scep_java_log_sink *)calloc(1, sizeof *sink);
    if (!sink) {
        SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "out of memory creating the log sink");
        return NULL;
    }
    if ((*jenv)->GetJavaVM(jenv, &sink->vm) != JNI_OK) {
        free(sink);
        SWIG_JavaThrowException(jenv, SWIG_JavaRuntimeException, "GetJavaVM failed");
        return NULL;
    }
    sink->target = (*jenv)->NewGlobalRef(jenv, target);
    if (!sink->target) {
        free(sink);
        SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "out of memory creating the log sink");
        return NULL;
    }
    sink->method = method;
    return sink;
}

/* Free a log sink (drops its global reference). NULL is fine. */
void intune_scep_java_log_sink_free(JNIEnv *jenv, intune_scep_java_log_sink *sink) {
    if (sink) {
        (*jenv)->DeleteGlobalRef(jenv, sink->target);
        free(sink);
    }
}

/* Route the log lines of clients created from `cfg` to `sink` (NULL: none). */
void intune_scep_config_set_log_callback_java(intune_scep_config *cfg, intune_scep_java_log_sink *sink, int min_level) {
    intune_scep_config_set_log_callback(cfg, sink ? intune_scep_java_log_trampoline : NULL, sink, min_level);
}

/*
 * Diagnostic: deliver `message` to `sink` from a new native thread (attached to
 * the JVM by the trampoline as a daemon and detached when it exits), and wait
 * for it. Returns 0, or the pthread error number. Used by the tests of the
 * native-thread path; the library itself logs on the calling thread today.
 */
int intune_scep_java_log_sink_call_from_native_thread(intune_scep_java_log_sink *sink, int level, const char *message) {
    struct intune_scep_java_native_line line;
    pthread_t thread;
    int rc;
    line.sink = sink;
    line.level = level;
    line.message = message;
    rc = pthread_create(&thread, NULL, intune_scep_java_native_line_run, &line);
    if (rc != 0) {
        return rc;
    }
    return pthread_join(thread, NULL);
}

/* Route the log lines of a live client to `sink` (NULL: none), from `min_level` up. */
void intune_scep_client_set_log_callback_java(intune_scep_client *client, intune_scep_java_log_sink *sink, int min_level) {
    intune_scep_client_set_log_callback(client, sink ? intune_scep_java_log_trampoline : NULL, sink, min_level);
}
%}

/* ---- transport helpers --------------------------------------------------- */

%inline %{
/*
 * A new transport over the Java object `target`, which must have a method
 * `int exchange(byte[], byte[], byte[][], byte[], long, long, long)`. Returns
 * NULL with a pending Java exception when it has none or memory is short.
 * Free with intune_scep_java_transport_free once no client uses it.
 */
intune_scep_java_transport *intune_scep_java_transport_new(JNIEnv *jenv, jobject target) {
    intune_scep_java_transport *t;
    jclass cls;
    jmethodID method;
    jclass ba;

    if (!target) {
        SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, "transport target is null");
        return NULL;
    }
    cls = (*jenv)->GetObjectClass(jenv, target);
    method = (*jenv)->GetMethodID(jenv, cls, "exchange", "([B[B[[B[BJJJ)I");
    (*jenv)->DeleteLocalRef(jenv, cls);
    if (!method) {
        return NULL; /* NoSuchMethodError pending */
    }
    ba = (*jenv)->FindClass(jenv, "[B");
    if (!ba) {
        return NULL;
    }
    t = (intune_scep_java_transport *)calloc(1, sizeof *t);
    if (!t) {
        SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "out of memory creating the transport");
        return NULL;
    }
    if ((*jenv)->GetJavaVM(jenv, &t->vm) != JNI_OK) {
        free(t);
        SWIG_JavaThrowException(jenv, SWIG_JavaRuntimeException, "GetJavaVM failed");
        return NULL;
    }
    t->target = (*jenv)->NewGlobalRef(jenv, target);
    t->byte_array = (jclass)(*jenv)->NewGlobalRef(jenv, ba);
    (*jenv)->DeleteLocalRef(jenv, ba);
    if (!t->target || !t->byte_array) {
        if (t->target) (*jenv)->DeleteGlobalRef(jenv, t->target);
        if (t->byte_array) (*jenv)->DeleteGlobalRef(jenv, t->byte_array);
        free(t);
        SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "out of memory creating the transport");
        return NULL;
    }
    t->method = method;
    return t;
}

/* Free a transport (drops its global references). NULL is fine. */
void intune_scep_java_transport_free(JNIEnv *jenv, intune_scep_java_transport *t) {
    if (t) {
        (*jenv)->DeleteGlobalRef(jenv, t->target);
        (*jenv)->DeleteGlobalRef(jenv, t->byte_array);
        free(t);
    }
}

/* Make clients created from `cfg` use `t` for their HTTPS exchanges (NULL: libcurl). */
void intune_scep_config_set_transport_java(intune_scep_config *cfg, intune_scep_java_transport *t) {
    intune_scep_config_set_transport(cfg, t ? intune_scep_java_transport_trampoline : NULL, t);
}

/* The transport response behind the handle a Java transport was given (see exchange()). */
intune_scep_transport_response *intune_scep_java_transport_response(long long handle) {
    return (intune_scep_transport_response *)(intptr_t)handle;
}
%}
