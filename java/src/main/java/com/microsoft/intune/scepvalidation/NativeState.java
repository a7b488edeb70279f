// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_client;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_config;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_java_log_sink;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_java_transport;

/**
 * The native objects behind one {@link IntuneScepServiceClient}, and their
 * lifetimes. It never refers to the client object itself, so that the
 * client's {@link java.lang.ref.Cleaner} can run {@link #close()}.
 *
 * <p>Calls never lock: each call takes a reference on the current
 * {@link Handle} (an atomic counter), makes the native call, and drops it.
 * Replacing the handle (SetTrustStore) or closing only drops the owner's
 * reference; the native client is freed by whoever drops the last one, so a
 * call in flight always finishes on a live client. The configuration and the
 * log sink ({@link Shared}) live until the last handle is freed.
 */
final class NativeState implements Runnable {
    /** A reference count whose last release frees the resource. */
    abstract static class RefCounted {
        private final AtomicInteger refs = new AtomicInteger(1);

        /** Take a reference; false when the resource is already being freed. */
        final boolean acquire() {
            for (;;) {
                int r = refs.get();
                if (r <= 0) {
                    return false;
                }
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
        }

        /** Drop a reference; the last one frees. */
        final void release() {
            if (refs.decrementAndGet() == 0) {
                free();
            }
        }

        abstract void free();
    }

    /** The configuration (keeps the client secret, wiped natively when freed) and the log sink. */
    static final class Shared extends RefCounted {
        final SWIGTYPE_p_intune_scep_config config;
        final SWIGTYPE_p_intune_scep_java_log_sink sink;

        Shared(SWIGTYPE_p_intune_scep_config config, SWIGTYPE_p_intune_scep_java_log_sink sink) {
            this.config = config;
            this.sink = sink;
        }

        @Override
        void free() {
            IntuneScepNative.intune_scep_config_free(config);
            IntuneScepNative.intune_scep_java_log_sink_free(sink);
        }
    }

    /**
     * One native client, the private CA file it was created with (if any), and
     * the Java transport its HTTPS goes through (SetSslSocketFactory; null: native).
     */
    static final class Handle extends RefCounted {
        /** Spare error objects kept per handle (a power of two: the thread's id picks the first slot). */
        static final int ERROR_SLOTS = 16;

        final SWIGTYPE_p_intune_scep_client client;
        final Shared shared;
        final Path privateCaFile;
        final SWIGTYPE_p_intune_scep_java_transport transport;
        volatile int logLevel;
        /**
         * Native error objects for calls on this handle to reuse, so that a call
         * neither makes nor frees one (two JNI crossings and a malloc). The ABI
         * empties an error object at the start of every call, so a reused one
         * reports only its own call.
         */
        private final AtomicReferenceArray<SWIGTYPE_p_intune_scep_error> spareErrors =
                new AtomicReferenceArray<>(ERROR_SLOTS);

        Handle(SWIGTYPE_p_intune_scep_client client, Shared shared, Path privateCaFile, int logLevel) {
            this(client, shared, privateCaFile, logLevel, null);
        }

        Handle(SWIGTYPE_p_intune_scep_client client, Shared shared, Path privateCaFile, int logLevel,
                SWIGTYPE_p_intune_scep_java_transport transport) {
            this.client = client;
            this.shared = shared;
            this.privateCaFile = privateCaFile;
            this.logLevel = logLevel;
            this.transport = transport;
        }

        /** An error object for one call: a spare one, or a new one. Give it back with {@link #giveBack}. */
        SWIGTYPE_p_intune_scep_error takeError() {
            int first = slotOf(Thread.currentThread());
            for (int i = 0; i < ERROR_SLOTS; i++) {
                int k = (first + i) & (ERROR_SLOTS - 1);
                SWIGTYPE_p_intune_scep_error e = spareErrors.get(k);
                if (e != null && spareErrors.compareAndSet(k, e, null)) {
                    return e;
                }
            }
            return NativeErrors.newError();
        }

        /** Keep {@code e} for a later call, or free it when every slot is taken. Call before {@link #release()}. */
        void giveBack(SWIGTYPE_p_intune_scep_error e) {
            int first = slotOf(Thread.currentThread());
            for (int i = 0; i < ERROR_SLOTS; i++) {
                int k = (first + i) & (ERROR_SLOTS - 1);
                if (spareErrors.get(k) == null && spareErrors.compareAndSet(k, null, e)) {
                    return;
                }
            }
            IntuneScepNative.intune_scep_error_free(e);
        }

        /** The number of spare error objects held now (for tests). */
        int spareErrorCount() {
            int n = 0;
            for (int i = 0; i < ERROR_SLOTS; i++) {
                if (spareErrors.get(i) != null) {
                    n++;
                }
            }
            return n;
        }

        private static int slotOf(Thread t) {
            return System.identityHashCode(t) & (ERROR_SLOTS - 1);
        }

        @Override
        void free() {
            for (int i = 0; i < ERROR_SLOTS; i++) {
                IntuneScepNative.intune_scep_error_free(spareErrors.getAndSet(i, null));
            }
            IntuneScepNative.intune_scep_client_free(client);
            IntuneScepNative.intune_scep_java_transport_free(transport); // after the client: it calls into it
            deletePrivateFile(privateCaFile);
            shared.release();
        }
    }

    final Shared shared;
    private final AtomicReference<Handle> current = new AtomicReference<>();

    NativeState(Shared shared) {
        this.shared = shared;
    }

    /** Install the first handle (the state then owns it). */
    void init(Handle h) {
        current.set(h);
    }

    /**
     * The current handle with a reference taken (release it after the call).
     *
     * @throws IllegalStateException when the client is closed
     */
    Handle acquire() {
        for (;;) {
            Handle h = current.get();
            if (h == null) {
                throw new IllegalStateException("The IntuneScepServiceClient is closed");
            }
            if (h.acquire()) {
                return h;
            }
            // replaced concurrently and already freed: read the new one
        }
    }

    /**
     * Make {@code h} the handle of new calls and drop the owner's reference on
     * the previous one. Returns false (and frees {@code h}) when closed meanwhile.
     */
    boolean replace(Handle h) {
        for (;;) {
            Handle old = current.get();
            if (old == null) {
                h.release();
                return false;
            }
            if (current.compareAndSet(old, h)) {
                old.release();
                return true;
            }
        }
    }

    /** Close: new calls fail; the native objects are freed once no call uses them. Idempotent. */
    void close() {
        Handle h = current.getAndSet(null);
        if (h != null) {
            h.release();
            shared.release();
        }
    }

    /** The Cleaner's action (runs once: on close() or when the client became unreachable). */
    @Override
    public void run() {
        close();
    }

    static void deletePrivateFile(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
            Path dir = file.getParent();
            if (dir != null) {
                Files.deleteIfExists(dir);
            }
        } catch (IOException | RuntimeException e) {
            file.toFile().deleteOnExit();
        }
    }
}
