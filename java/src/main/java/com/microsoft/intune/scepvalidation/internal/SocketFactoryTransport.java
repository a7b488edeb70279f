// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Authenticator;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PasswordAuthentication;
import java.net.Proxy;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocketFactory;

/**
 * The Java side of the native transport hook: performs one HTTPS exchange
 * with {@link HttpsURLConnection} over the application's
 * {@link SSLSocketFactory} (its trust material, client certificate and JSSE
 * provider apply), and reports the answer to the native library, which keeps
 * everything around it: tokens, discovery, retries, Retry-After, the deadline,
 * the 1 MiB cap, the activity id, the verdict and the log lines.
 *
 * <p>One JDK behaviour shows through: HttpURLConnection repeats a request
 * once by itself when the connection fails before the status line arrives
 * (for POST unless the system property {@code sun.net.http.retryPost} is
 * false); the library's own retries come on top of that.
 *
 * <p>A failure is classified by the phase it happened in, as the libcurl path
 * does. The connection is made first ({@link HttpsURLConnection#connect}: the
 * TCP connect, a proxy's tunnel, the TLS handshake), bounded as a whole by the
 * connect timeout the library gives; no byte of the request is written before
 * it returns. A failure in that phase is a failed connect
 * ({@code INTUNE_SCEP_TRANSPORT_E_CONNECT}: retried, and a discovered service
 * is rediscovered) when the connection broke or did not complete in time: a
 * refused or timed-out TCP connect, a reset or EOF in the handshake, a
 * handshake that did not finish within the connect timeout. A certificate,
 * trust or host-name failure, or any other TLS failure (an alert, a protocol
 * mismatch), stays {@code E_TLS}: final, never tried again. A failure after the
 * connection was made (the request may have gone out) is a timeout, a closed
 * connection or a TLS failure as the exception says.
 *
 * <p>Connections are kept alive and reused by the JDK's keep-alive cache
 * (an answer is always read to its end and its stream closed). The proxy is
 * the client's PROXY_HOST / PROXY_PORT (with PROXY_USER / PROXY_PASS for the
 * tunnel, which the JDK allows only when {@code jdk.http.auth.tunneling.disabledSchemes}
 * does not list Basic); no system proxy setting applies. Redirects are not
 * followed. Called by the native library through JNI ({@link #exchange}).
 */
public final class SocketFactoryTransport {
    private static final int CHUNK = 16 * 1024;
    private static final Pattern PROXY_STATUS = Pattern.compile("HTTP/1\\.[01] (\\d{3})");

    private final SSLSocketFactory factory;
    private final Proxy proxy;
    /** Credentials for the proxy only; never the application's default Authenticator for a server. */
    private final Authenticator authenticator;

    private static final Authenticator NO_CREDENTIALS = new Authenticator() {
        @Override
        protected PasswordAuthentication getPasswordAuthentication() {
            return null;
        }
    };

    /**
     * Ends an exchange at its deadline whatever the server does: a server that drips its status
     * line and headers keeps every single read within the read timeout, so the connection is
     * closed from this thread when the call's time is up. One daemon thread for all transports.
     */
    /** The connect phase of an exchange: under way, done (the request may be written), or cut at its limit. */
    private static final int CONNECTING = 0;
    private static final int CONNECTED = 1;
    private static final int CONNECT_EXPIRED = 2;

    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread t = new Thread(runnable, "intune-scep-transport-deadline");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param factory the socket factory every connection is made with
     * @param proxyHost PROXY_HOST, or null for a direct connection
     * @param proxyPort PROXY_PORT (used with proxyHost)
     * @param proxyUser PROXY_USER, or null
     * @param proxyPass PROXY_PASS (a secret; copied, never logged)
     */
    public SocketFactoryTransport(SSLSocketFactory factory, String proxyHost, int proxyPort, String proxyUser,
            String proxyPass) {
        if (factory == null) {
            throw new IllegalArgumentException("The argument 'factory' is missing");
        }
        this.factory = factory;
        if (proxyHost != null && !proxyHost.isEmpty()) {
            this.proxy = new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(proxyHost, proxyPort));
            if (proxyUser != null && !proxyUser.isEmpty()) {
                final String user = proxyUser;
                final char[] pass = proxyPass == null ? new char[0] : proxyPass.toCharArray();
                this.authenticator = new Authenticator() {
                    @Override
                    protected PasswordAuthentication getPasswordAuthentication() {
                        if (getRequestorType() != RequestorType.PROXY) {
                            return null;
                        }
                        return new PasswordAuthentication(user, pass.clone());
                    }
                };
            } else {
                this.authenticator = NO_CREDENTIALS;
            }
        } else {
            this.proxy = Proxy.NO_PROXY;
            this.authenticator = NO_CREDENTIALS;
        }
    }

    /**
     * Performs one exchange and fills the native response {@code response}.
     * Returns 0 when an HTTP answer was received, 1 on a transport failure
     * (reported with its kind). Never throws.
     */
    public int exchange(byte[] method, byte[] url, byte[][] headers, byte[] body, long connectTimeoutMs,
            long timeoutMs, long response) {
        SWIGTYPE_p_intune_scep_transport_response r = IntuneScepNative.intune_scep_java_transport_response(response);
        HttpsURLConnection conn = null;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(1, timeoutMs));
        AtomicBoolean expired = new AtomicBoolean();
        AtomicInteger phase = new AtomicInteger(CONNECTING);
        AtomicBoolean connectReturned = new AtomicBoolean();
        // The connect phase is bounded by the connect timeout when that comes before the deadline
        // (otherwise the deadline's watchdog ends it, as a timeout).
        boolean connectBounded = connectTimeoutMs > 0 && connectTimeoutMs < timeoutMs;
        ScheduledFuture<?> watchdog = null;
        ScheduledFuture<?> connectWatchdog = null;
        try {
            URL u = new URL(new String(url, StandardCharsets.UTF_8));
            if (!"https".equalsIgnoreCase(u.getProtocol())) {
                return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_OTHER, "the URL is not https");
            }
            conn = (HttpsURLConnection) u.openConnection(proxy);
            conn.setSSLSocketFactory(factory);
            final HttpsURLConnection watched = conn;
            watchdog = WATCHDOG.schedule(() -> {
                expired.set(true);
                watched.disconnect();
            }, Math.max(1, timeoutMs), TimeUnit.MILLISECONDS);
            conn.setAuthenticator(authenticator);
            conn.setInstanceFollowRedirects(false);
            conn.setUseCaches(false);
            conn.setConnectTimeout(clampTimeout(connectTimeoutMs));
            conn.setReadTimeout(clampTimeout(timeoutMs));
            conn.setRequestMethod(new String(method, StandardCharsets.US_ASCII));
            for (byte[] h : headers) {
                String line = new String(h, StandardCharsets.UTF_8);
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    continue;
                }
                conn.setRequestProperty(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
            if (body != null) {
                conn.setDoOutput(true);
            }
            // The connect phase on its own: TCP, a proxy's tunnel, the TLS handshake. Nothing of the
            // request is written before connect() returns, so a connection that breaks or stalls here
            // is a failed connect; the whole phase ends at the connect timeout (a handshake read is
            // otherwise bounded only by the read timeout, and a server can drip its handshake).
            // Until connect() returns, the connection is closed again every 50 ms past the limit: a close
            // that came while the TCP connect was under way had no socket to close yet.
            if (connectBounded) {
                connectWatchdog = WATCHDOG.scheduleWithFixedDelay(() -> {
                    phase.compareAndSet(CONNECTING, CONNECT_EXPIRED);
                    if (phase.get() == CONNECT_EXPIRED && !connectReturned.get()) {
                        watched.disconnect();
                    }
                }, connectTimeoutMs, 50, TimeUnit.MILLISECONDS);
            }
            try {
                conn.connect();
                connectReturned.set(true);
            } catch (IOException | RuntimeException e) {
                connectReturned.set(true);
                phase.compareAndSet(CONNECTING, CONNECTED); // the failure is classified below, not cut
                if (expired.get()) {
                    return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_TIMEOUT,
                            "the call's deadline passed while connecting");
                }
                return connectFailure(r, e, phase.get() == CONNECT_EXPIRED, connectTimeoutMs, connectBounded);
            }
            if (!phase.compareAndSet(CONNECTING, CONNECTED)) {
                // the connect limit passed as the connection completed: it is being closed, nothing was sent
                return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_CONNECT,
                        notConnectedWithin(connectTimeoutMs, true));
            }
            if (connectWatchdog != null) {
                connectWatchdog.cancel(false);
            }
            if (body != null) {
                // Not streaming: in streaming mode the JDK drops the body of a 401 (the identity platform's
                // error and AADSTS code). A buffered body is sent with its Content-Length all the same.
                try (OutputStream out = conn.getOutputStream()) {
                    out.write(body);
                }
            }
            int status = conn.getResponseCode();
            if (status < 100) {
                return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_OTHER,
                        "the answer has no HTTP status line");
            }
            String retryAfter = conn.getHeaderField("Retry-After");
            if (retryAfter != null) {
                IntuneScepNative.intune_scep_transport_response_add_header(r, "Retry-After", retryAfter);
            }
            InputStream in = status >= 400 ? conn.getErrorStream() : conn.getInputStream();
            // HttpURLConnection ends a body cut short of its Content-Length as if it were whole: an answer
            // that stops early (a complete {"code":"Success"} among it) is a closed connection, as with libcurl.
            long announced = status == 204 || status == 304 || status < 200 ? 0 : conn.getContentLengthLong();
            long received = 0;
            if (in != null) {
                try (InputStream s = in) {
                    byte[] buf = new byte[CHUNK];
                    int n;
                    for (;;) {
                        // the whole exchange ends at the deadline, not only each read: a server that
                        // drips its body would otherwise keep every read within the read timeout
                        long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
                        if (left <= 0) {
                            conn.disconnect();
                            conn = null;
                            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_TIMEOUT,
                                    "the call's deadline passed while the answer was being read");
                        }
                        conn.setReadTimeout(clampTimeout(left));
                        if ((n = s.read(buf)) <= 0) {
                            break;
                        }
                        received += n;
                        int st = IntuneScepNative.intune_scep_transport_response_append_body(r,
                                n == buf.length ? buf : Arrays.copyOf(buf, n));
                        if (st != intune_scep_status.INTUNE_SCEP_OK) {
                            conn.disconnect(); // over 1 MiB: stop reading, do not keep the connection
                            conn = null;
                            return 1;
                        }
                    }
                }
            }
            if (announced > 0 && received < announced) {
                conn.disconnect();
                conn = null;
                return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_CLOSED,
                        "the connection closed after " + received + " of the " + announced + " bytes announced");
            }
            IntuneScepNative.intune_scep_transport_response_set_status(r, status);
            conn = null; // read to the end and closed: the connection goes back to the keep-alive cache
            return 0;
        } catch (IOException | RuntimeException e) {
            if (expired.get()) {
                return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_TIMEOUT,
                        "the call's deadline passed while waiting for the answer");
            }
            return failure(r, e);
        } finally {
            if (watchdog != null) {
                watchdog.cancel(false);
            }
            if (connectWatchdog != null) {
                connectWatchdog.cancel(false);
            }
            if (conn != null) {
                conn.disconnect();
            }
        }
    }

    /**
     * The failure kind of an exception of the connect phase (nothing of the request was written).
     * Fail closed: a certificate, trust or host-name failure is {@code E_TLS} whatever else happened
     * (also when the connect limit passed meanwhile); only a connection that broke or did not complete
     * in time is a failed connect; anything else is classified as any failure.
     */
    private int connectFailure(SWIGTYPE_p_intune_scep_transport_response r, Exception e, boolean cut,
            long connectTimeoutMs, boolean connectBounded) {
        if (untrusted(e)) {
            Throwable tls = e instanceof SSLException ? e : tlsCause(e);
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_TLS, tls != null ? tls : e);
        }
        if (cut) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_CONNECT,
                    notConnectedWithin(connectTimeoutMs, true));
        }
        if (e instanceof UnknownHostException) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_RESOLVE, e);
        }
        if (proxy != Proxy.NO_PROXY && String.valueOf(e.getMessage()).startsWith("Unable to tunnel through proxy")) {
            return failure(r, e); // the proxy refused: its status, final (502/503/504: the core retries)
        }
        Throwable root = rootCause(e);
        if (root instanceof SocketTimeoutException) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_CONNECT,
                    notConnectedWithin(connectTimeoutMs, connectBounded) + ": " + describe(e));
        }
        if (root instanceof SocketException || root instanceof EOFException) {
            // refused, unreachable, reset or closed before the connection (and its handshake) was made
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_CONNECT, e);
        }
        return failure(r, e);
    }

    /** The message of a connect phase that did not end in time, naming the setting that bounded it. */
    private static String notConnectedWithin(long connectTimeoutMs, boolean connectBounded) {
        return connectBounded ? "could not connect within " + connectTimeoutMs + " ms (CONNECT_TIMEOUT_MS)"
                : "could not connect before the call's deadline (TIMEOUT_MS)";
    }

    /**
     * Whether a connect-phase failure is about the server's identity or trust: a certificate that does
     * not chain to a trusted anchor, names another host, or cannot be checked, or a peer not verified.
     */
    private static boolean untrusted(Throwable e) {
        for (Throwable t : chain(e)) {
            if (t instanceof CertificateException || t instanceof SSLPeerUnverifiedException
                    || t instanceof GeneralSecurityException) {
                return true;
            }
            // a HostnameVerifier set as the JDK's default refused the host (no endpoint identification)
            if (t instanceof IOException && String.valueOf(t.getMessage()).startsWith("HTTPS hostname wrong")) {
                return true;
            }
        }
        return false;
    }

    /** An exception with its causes and the causes' suppressed exceptions, without a loop. */
    private static List<Throwable> chain(Throwable e) {
        List<Throwable> out = new ArrayList<>();
        ArrayDeque<Throwable> todo = new ArrayDeque<>();
        todo.add(e);
        while (!todo.isEmpty() && out.size() < 64) {
            Throwable t = todo.poll();
            if (out.stream().anyMatch(x -> x == t)) {
                continue;
            }
            out.add(t);
            if (t.getCause() != null) {
                todo.add(t.getCause());
            }
            for (Throwable s : t.getSuppressed()) {
                todo.add(s);
            }
        }
        return out;
    }

    /** The innermost cause of an exception. */
    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        for (int i = 0; i < 64 && t.getCause() != null && t.getCause() != t; i++) {
            t = t.getCause();
        }
        return t;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    /** The failure kind of an exception of an exchange. */
    private int failure(SWIGTYPE_p_intune_scep_transport_response r, Exception thrown) {
        try {
            throw thrown;
        } catch (UnknownHostException e) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_RESOLVE, e);
        } catch (ConnectException | NoRouteToHostException e) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_CONNECT, e);
        } catch (SocketTimeoutException e) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_TIMEOUT, e);
        } catch (SSLException e) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_TLS, e);
        } catch (IOException e) {
            Throwable tls = tlsCause(e);
            if (tls != null) { // a TLS failure the JDK wrapped (e.g. TLS 1.3: a refused client certificate)
                return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_TLS, tls);
            }
            String m = String.valueOf(e.getMessage());
            if (proxy != Proxy.NO_PROXY && m.startsWith("Unable to tunnel through proxy")) {
                Matcher mm = PROXY_STATUS.matcher(m);
                if (mm.find()) {
                    IntuneScepNative.intune_scep_transport_response_set_status(r, Integer.parseInt(mm.group(1)));
                }
                return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_PROXY, e);
            }
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_CLOSED, e);
        } catch (Exception e) {
            return fail(r, intune_scep_transport_failure.INTUNE_SCEP_TRANSPORT_E_OTHER, e);
        }
    }

    private static Throwable tlsCause(Throwable e) {
        for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
            if (t instanceof SSLException) {
                return t;
            }
        }
        for (Throwable s : e.getSuppressed()) {
            if (s instanceof SSLException) {
                return s;
            }
        }
        return null;
    }

    private static int clampTimeout(long ms) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms));
    }

    private static int fail(SWIGTYPE_p_intune_scep_transport_response r, int kind, Throwable e) {
        return fail(r, kind, describe(e));
    }

    private static int fail(SWIGTYPE_p_intune_scep_transport_response r, int kind, String message) {
        IntuneScepNative.intune_scep_transport_response_fail(r, kind, message);
        return 1;
    }
}
