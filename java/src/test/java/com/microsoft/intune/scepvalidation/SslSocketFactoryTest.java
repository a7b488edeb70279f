// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.microsoft.intune.carequest.CARequestErrorCodes;
import com.microsoft.intune.carequest.CARevocationRequest;
import com.microsoft.intune.carequest.CARevocationResult;

/**
 * SetSslSocketFactory: every HTTPS request of the client goes through the
 * factory (its trust, its client certificate), while the native library keeps
 * tokens, discovery, retries, the deadline and the verdict.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SslSocketFactoryTest extends EmulatorTestBase {
    @TempDir
    static Path tmp;

    static SSLSocketFactory trustingEmulator() throws Exception {
        return Emulator.sslContextTrusting(emu.caFile).getSocketFactory();
    }

    private IntuneScepServiceClient factoryClient(SSLSocketFactory f, String... extra) {
        String[] all = new String[extra.length + 2];
        all[0] = "TLS_CA_FILE"; // the factory alone decides what is trusted
        all[1] = null;
        System.arraycopy(extra, 0, all, 2, extra.length);
        IntuneScepServiceClient c = client(all);
        c.SetSslSocketFactory(f);
        return c;
    }

    @Test
    void aNullFactoryIsRefused() {
        IntuneScepServiceClient c = client();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.SetSslSocketFactory(null));
        assertTrue(e.getMessage().contains("factory"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.setSslSocketFactory(null));
    }

    @Test
    void withAFactoryTrustingTheEmulatorEveryCallSucceeds() throws Exception {
        IntuneScepServiceClient c = factoryClient(trustingEmulator());
        String csr = validCsr("factory-device");
        String tid = newTransactionId();
        c.ValidateRequest(tid, csr);
        c.SendSuccessNotification(tid, csr, "0123456789ABCDEF0123456789ABCDEF01234567", "1A2B3C",
                "2027-06-11T16:11:20.000Z", "CN=Intune SCEP Tests CA");
        c.SendFailureNotification(tid, csr, 0x80004005L, "issuance failed");
        assertEquals(1, emu.requests("validateRequest").size());
        assertEquals(1, emu.requests("successNotification").size());
        assertEquals(1, emu.requests("failureNotification").size());
        // the native core still sends its headers: one activity id per call, the api-version
        Map<String, Object> h = Emulator.headers(onlyRequest("validateRequest"));
        assertNotNull(UUID.fromString(String.valueOf(h.get("client-request-id"))));
        assertTrue(String.valueOf(h.get("authorization")).startsWith("Bearer "));

        // warm calls reuse the kept-alive connection
        long before = ((Number) emu.stats().get("connections")).longValue();
        for (int i = 0; i < 10; i++) {
            c.ValidateRequest(newTransactionId(), csr);
        }
        long after = ((Number) emu.stats().get("connections")).longValue();
        assertTrue(after - before <= 1, "connections are reused: " + before + " -> " + after);

        // the revocation calls too
        try (IntuneRevocationClient r = new IntuneRevocationClient(props("TLS_CA_FILE", null))) {
            r.SetSslSocketFactory(trustingEmulator());
            emu.post("revocations", Map.of("requests", List.of(Map.of("serialNumber", "0A", "issuerName", "CN=CA"))));
            String rt = newTransactionId();
            List<CARevocationRequest> got = r.DownloadCARevocationRequests(rt, 10, null);
            assertEquals(1, got.size());
            r.UploadRevocationResults(rt, List.of(new CARevocationResult(got.get(0).requestContext, true,
                    CARequestErrorCodes.None, null)));
            assertEquals(1, emu.requests("uploadRevocationResults").size());
        }
    }

    @Test
    void withADefaultFactoryEveryCallFailsWithATlsErrorAndNothingArrives() throws Exception {
        IntuneScepServiceClient c = factoryClient((SSLSocketFactory) SSLSocketFactory.getDefault());
        String csr = validCsr("untrusted-device");
        emu.reset();
        IntuneClientException e1 = assertThrows(IntuneClientException.class,
                () -> c.ValidateRequest(newTransactionId(), csr));
        IntuneClientException e2 = assertThrows(IntuneClientException.class,
                () -> c.SendFailureNotification(newTransactionId(), csr, 1, "x"));
        IntuneClientException e3 = assertThrows(IntuneClientException.class,
                () -> c.SendSuccessNotification(newTransactionId(), csr, "00", "01", "2027-06-11T16:11:20.000Z",
                        "CN=CA"));
        for (IntuneClientException e : List.of(e1, e2, e3)) {
            assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName(), e.getMessage());
            assertTrue(e.getMessage().contains("TLS"), e.getMessage());
        }
        try (IntuneRevocationClient r = new IntuneRevocationClient(props("TLS_CA_FILE", null))) {
            r.SetSslSocketFactory((SSLSocketFactory) SSLSocketFactory.getDefault());
            IntuneClientException e4 = assertThrows(IntuneClientException.class,
                    () -> r.DownloadCARevocationRequests(newTransactionId(), 10, null));
            assertEquals("INTUNE_SCEP_E_TRANSPORT", e4.getStatusName());
        }
        assertEquals(0, emu.requests().size(), "no request got through TLS");
    }

    @Test
    void theDeadlineHoldsOnTheFactoryPathAgainstADrippingServer() throws Exception {
        IntuneScepServiceClient c = factoryClient(trustingEmulator(), "TIMEOUT_MS", "2000", "MAX_RETRIES", "0");
        String csr = validCsr("drip");
        c.ValidateRequest(newTransactionId(), csr); // warm: tokens and discovery
        // the body a byte a second; the status line and headers a byte a second; nothing at all
        for (String action : List.of("drip", "drip_head", "hang")) {
            emu.reset();
            emu.fault("endpoint", "validateRequest", "action", action, "times", 0);
            long t0 = System.nanoTime();
            IntuneClientException e = assertThrows(IntuneClientException.class,
                    () -> c.ValidateRequest(newTransactionId(), csr));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName(), e.getMessage());
            assertTrue(e.getMessage().contains("TIMEOUT_MS"), e.getMessage());
            assertTrue(ms < 2000 + 1500, action + ": took " + ms + " ms with TIMEOUT_MS 2000");
        }
    }

    @Test
    void setTrustStoreAfterTheFactoryReturnsToTheNativePath() throws Exception {
        IntuneScepServiceClient c = factoryClient((SSLSocketFactory) SSLSocketFactory.getDefault());
        c.SetTrustStore(Emulator.trustStoreOf(emu.caFile));
        c.ValidateRequest(newTransactionId(), validCsr("back-native"));
        c.SetSslSocketFactory(trustingEmulator()); // and back to the factory
        c.ValidateRequest(newTransactionId(), validCsr("back-factory"));
        assertEquals(2, emu.requests("validateRequest").size());
    }

    @Test
    void eightThreadsShareOneClientWithAFactory() throws Exception {
        IntuneScepServiceClient c = factoryClient(trustingEmulator());
        String csr = validCsr("threads");
        c.ValidateRequest(newTransactionId(), csr); // warm
        emu.reset();
        AtomicInteger ok = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            final int thread = t;
            futures.add(pool.submit(() -> {
                for (int i = 0; i < 25; i++) {
                    c.ValidateRequest("f" + thread + "-" + i, csr);
                    ok.incrementAndGet();
                }
                return null;
            }));
        }
        pool.shutdown();
        for (Future<?> f : futures) {
            f.get(150, TimeUnit.SECONDS);
        }
        assertEquals(200, ok.get());
        List<Map<String, Object>> seen = emu.requests("validateRequest");
        assertEquals(200, seen.size());
        Set<Object> ids = new HashSet<>();
        for (Map<String, Object> r : seen) {
            ids.add(Emulator.headers(r).get("client-request-id"));
        }
        assertEquals(200, ids.size(), "one activity id per call");
        long connections = ((Number) emu.stats().get("connections")).longValue();
        assertTrue(connections <= 4L * 8, "connections are reused: " + connections);
    }

    // ---- the proxy keys ---------------------------------------------------------

    /** The emulator's CONNECT proxy as a process; returns it with its port in {@code port[0]}. */
    private static Process startProxy(int[] port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("intunescep.python", "python3"), "-m",
                "intune_scep.emulator.proxy", "--exit-on-stdin-eof"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PYTHONPATH", Emulator.repo().resolve("python").toString());
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
        assertNotNull(line, "the proxy did not start");
        @SuppressWarnings("unchecked")
        Map<String, Object> info = (Map<String, Object>) Json.parse(line);
        port[0] = ((Number) info.get("port")).intValue();
        return p;
    }

    private static void stopProxy(Process p) throws Exception {
        p.getOutputStream().close();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    @Test
    void theProxyKeysApplyOnTheFactoryPath() throws Exception {
        int[] port = new int[1];
        Process open = startProxy(port);
        try {
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "PROXY_HOST", "127.0.0.1", "PROXY_PORT",
                    String.valueOf(port[0]));
            c.ValidateRequest(newTransactionId(), validCsr("proxied"));
            assertEquals(1, emu.requests("validateRequest").size());
        } finally {
            stopProxy(open);
        }
        // a proxy that wants credentials the client does not give: its 407 ends the call, nothing arrives
        Process closed = startProxy(port, "--user", "proxyuser", "--password", "proxy~pass");
        try {
            emu.reset();
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "PROXY_HOST", "127.0.0.1", "PROXY_PORT",
                    String.valueOf(port[0]), "MAX_RETRIES", "0");
            IntuneClientException e = assertThrows(IntuneClientException.class,
                    () -> c.ValidateRequest(newTransactionId(), "MIIB"));
            assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName(), e.getMessage());
            assertTrue(e.getMessage().contains("407"), e.getMessage());
            assertEquals(0, emu.requests().size());
        } finally {
            stopProxy(closed);
        }
    }

    // ---- a client certificate ------------------------------------------------

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("keytool " + args[0] + " failed: " + out);
        }
    }

    /** A PKCS#12 key store holding one self-signed key pair. */
    private static KeyStore keyPair(String name, String dname, String pass, String... ext) throws Exception {
        Path ks = tmp.resolve(name + ".p12");
        List<String> args = new ArrayList<>(List.of("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname",
                "secp256r1", "-dname", dname, "-validity", "30", "-keystore", ks.toString(), "-storetype", "PKCS12",
                "-storepass", pass));
        for (String e : ext) {
            args.add("-ext");
            args.add(e);
        }
        keytool(args.toArray(new String[0]));
        KeyStore k = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            k.load(in, pass.toCharArray());
        }
        return k;
    }

    private static KeyStore trustOnly(Certificate c) throws Exception {
        KeyStore t = KeyStore.getInstance("PKCS12");
        t.load(null, null);
        t.setCertificateEntry("trusted", c);
        return t;
    }

    private static SSLContext context(KeyStore keys, String pass, KeyStore trust) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pass.toCharArray());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    @Test
    void aFactoryPresentingAClientCertificateIsSeenByAServerThatAsksForOne() throws Exception {
        String pass = UUID.randomUUID().toString();
        KeyStore server = keyPair("server", "CN=127.0.0.1", pass, "san=ip:127.0.0.1");
        KeyStore clientKeys = keyPair("client", "CN=intune-scep test client,O=Contoso CA", pass);
        Certificate serverCert = server.getCertificate("server");
        Certificate clientCert = clientKeys.getCertificate("client");

        SSLContext serverCtx = context(server, pass, trustOnly(clientCert));
        try (SSLServerSocket ss = (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0, 8,
                InetAddress.getLoopbackAddress())) {
            ss.setNeedClientAuth(true);
            CompletableFuture<String> peer = CompletableFuture.supplyAsync(() -> {
                try (SSLSocket s = (SSLSocket) ss.accept()) {
                    s.setSoTimeout(20000);
                    s.startHandshake();
                    String who = ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal()
                            .getName();
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                            StandardCharsets.ISO_8859_1));
                    String line;
                    int length = 0;
                    while ((line = in.readLine()) != null && !line.isEmpty()) {
                        if (line.toLowerCase().startsWith("content-length:")) {
                            length = Integer.parseInt(line.substring(15).trim());
                        }
                    }
                    for (int i = 0; i < length; i++) {
                        in.read();
                    }
                    byte[] body = ("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: seen.\","
                            + "\"error_codes\":[7000215]}").getBytes(StandardCharsets.UTF_8);
                    OutputStream out = s.getOutputStream();
                    out.write(("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
                            + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.write(body);
                    out.flush();
                    return who;
                } catch (Exception e) {
                    return "failed: " + e;
                }
            });
            SSLSocketFactory f = context(clientKeys, pass, trustOnly(serverCert)).getSocketFactory();
            IntuneScepServiceClient c = factoryClient(f, "AUTH_AUTHORITY",
                    "https://127.0.0.1:" + ss.getLocalPort() + "/", "MAX_RETRIES", "0");
            IntuneClientAuthException e = assertThrows(IntuneClientAuthException.class,
                    () -> c.ValidateRequest(newTransactionId(), "MIIB"));
            assertEquals("invalid_client", e.getErrorCode(), e.getMessage());
            assertEquals(7000215L, e.getAadstsCode());
            assertEquals("CN=intune-scep test client,O=Contoso CA", peer.get(30, TimeUnit.SECONDS));
        }

        // without a client certificate the same server refuses the handshake: a TLS error
        try (SSLServerSocket ss = (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0, 8,
                InetAddress.getLoopbackAddress())) {
            ss.setNeedClientAuth(true);
            AtomicInteger refused = new AtomicInteger();
            CompletableFuture<Void> accept = CompletableFuture.runAsync(() -> {
                // the JDK may repeat the request once by itself: accept until the socket is closed
                while (!ss.isClosed()) {
                    try (SSLSocket s = (SSLSocket) ss.accept()) {
                        s.setSoTimeout(20000);
                        s.startHandshake();
                        s.getInputStream().read();
                    } catch (Exception expected) {
                        refused.incrementAndGet(); // the handshake fails: no client certificate
                    }
                }
            });
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trustOnly(serverCert));
            SSLContext noCert = SSLContext.getInstance("TLS");
            noCert.init(null, tmf.getTrustManagers(), null);
            IntuneScepServiceClient c = factoryClient(noCert.getSocketFactory(), "AUTH_AUTHORITY",
                    "https://127.0.0.1:" + ss.getLocalPort() + "/", "MAX_RETRIES", "0", "TIMEOUT_MS", "10000");
            IntuneClientException e = assertThrows(IntuneClientException.class,
                    () -> c.ValidateRequest(newTransactionId(), "MIIB"));
            assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName(), e.getMessage());
            // With TLS 1.3 the client has finished its handshake when the server refuses: the JDK reports
            // the closed connection ("Error writing to server"), not a TLS error. Either way the call fails.
            assertFalse(e instanceof IntuneClientAuthException);
            ss.close();
            accept.get(30, TimeUnit.SECONDS);
            assertTrue(refused.get() >= 1);
        }
    }

    // ---- failed connects and untrusted servers on the factory path ----------------
    // As on the libcurl path: a connection on which nothing was sent (refused, timed out, its TLS
    // handshake stalled or cut) is a failed connect, retried and followed by one rediscovery; a
    // server the factory does not trust, or whose certificate names another host, is final at once.

    /** Discovery gives {@code uri} for the SCEP service, {@code times} times (0: always). */
    private static void discoveryPointsAt(String uri, int times) throws Exception {
        String body = "{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"" + uri
                + "\"},{\"providerName\":\"PkiConnectorFEService\",\"uri\":\"" + emu.baseUrl
                + "PkiConnectorFEService\"}]}";
        emu.fault("endpoint", "discovery", "times", times, "status", 200, "body", body);
    }

    private static String serviceUri(int port) {
        return "https://127.0.0.1:" + port + "/ScepRequestValidationFEService";
    }

    /** The library's log records while {@code run} runs, formatted one a line. */
    private static List<String> logOf(ThrowingRunnable run) throws Exception {
        Logger logger = Logger.getLogger("com.microsoft.intune.scepvalidation");
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                lines.add(r.getLevel() + " " + r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Level level = logger.getLevel();
        h.setLevel(Level.ALL);
        logger.setLevel(Level.ALL);
        logger.addHandler(h);
        try {
            run.run();
        } finally {
            logger.removeHandler(h);
            logger.setLevel(level);
        }
        return new ArrayList<>(lines);
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    /**
     * A TLS server on loopback that counts the connections it accepts; it completes a handshake when the
     * client accepts its certificate, then reads until the client goes, and never answers.
     */
    private static final class CountingTlsServer implements AutoCloseable {
        final SSLServerSocket socket;
        final AtomicInteger accepted = new AtomicInteger();
        private final Thread thread;

        CountingTlsServer(SSLContext ctx) throws Exception {
            socket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 8,
                    InetAddress.getLoopbackAddress());
            thread = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (SSLSocket s = (SSLSocket) socket.accept()) {
                        accepted.incrementAndGet();
                        s.setSoTimeout(10000);
                        s.startHandshake();
                        s.getInputStream().read();
                    } catch (Exception expected) {
                        // the client refused the certificate, or the server was closed
                    }
                }
            }, "counting-tls-server");
            thread.setDaemon(true);
            thread.start();
        }

        String uri() {
            return serviceUri(socket.getLocalPort());
        }

        @Override
        public void close() throws Exception {
            socket.close();
            thread.join(15000);
        }
    }

    /** A factory trusting the emulator's CA and {@code also}. */
    private static SSLSocketFactory trustingEmulatorAnd(Certificate also) throws Exception {
        KeyStore trust = Emulator.trustStoreOf(emu.caFile);
        trust.setCertificateEntry("also", also);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx.getSocketFactory();
    }

    /** A call to a discovered service that fails its TLS check: one connection, no rediscovery, never success. */
    private void assertFinalTlsFailure(CountingTlsServer server, SSLSocketFactory factory) throws Exception {
        IntuneScepServiceClient c = factoryClient(factory, "MAX_RETRIES", "2", "TIMEOUT_MS", "10000",
                "CONNECT_TIMEOUT_MS", "2000");
        discoveryPointsAt(server.uri(), 0);
        String csr = validCsr("untrusted-service");
        IntuneClientException e = assertThrows(IntuneClientException.class,
                () -> c.ValidateRequest(newTransactionId(), csr));
        assertEquals(IntuneClientException.class, e.getClass(), e.getMessage());
        assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName(), e.getMessage());
        assertTrue(e.getMessage().contains("TLS"), e.getMessage());
        assertFalse(e.getMessage().contains("could not connect"), e.getMessage());
        assertEquals(1, server.accepted.get(), "connections to the untrusted service: " + e.getMessage());
        assertEquals(1, emu.requests("discovery").size(), "an untrusted service is not rediscovered");
        assertEquals(0, emu.requests("validateRequest").size());
    }

    @Test
    void anUntrustedServiceCertificateIsFinalOnTheFactoryPath() throws Exception {
        String pass = UUID.randomUUID().toString();
        KeyStore rogue = keyPair("rogue", "CN=127.0.0.1", pass, "san=ip:127.0.0.1");
        try (CountingTlsServer server = new CountingTlsServer(context(rogue, pass, trustOnly(
                rogue.getCertificate("rogue"))))) {
            assertFinalTlsFailure(server, trustingEmulator());
        }
        // the same server as the identity platform: one connection, a TLS failure
        try (CountingTlsServer server = new CountingTlsServer(context(rogue, pass, trustOnly(
                rogue.getCertificate("rogue"))))) {
            emu.reset();
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "AUTH_AUTHORITY",
                    "https://127.0.0.1:" + server.socket.getLocalPort() + "/", "MAX_RETRIES", "2", "TIMEOUT_MS",
                    "10000");
            IntuneClientException e = assertThrows(IntuneClientException.class,
                    () -> c.ValidateRequest(newTransactionId(), "MIIB"));
            assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName(), e.getMessage());
            assertTrue(e.getMessage().contains("TLS"), e.getMessage());
            assertEquals(1, server.accepted.get(), e.getMessage());
            assertEquals(0, emu.requests().size());
        }
    }

    @Test
    void aCertificateForAnotherHostIsFinalOnTheFactoryPath() throws Exception {
        // trusted by the factory, but issued to another name than the discovered URI's 127.0.0.1
        String pass = UUID.randomUUID().toString();
        KeyStore other = keyPair("otherhost", "CN=not-this-host.example", pass, "san=dns:not-this-host.example");
        Certificate cert = other.getCertificate("otherhost");
        try (CountingTlsServer server = new CountingTlsServer(context(other, pass, trustOnly(cert)))) {
            assertFinalTlsFailure(server, trustingEmulatorAnd(cert));
        }
    }

    @Test
    void aStalledHandshakeOnTheFactoryPathIsRediscovered() throws Exception {
        // a listener that never accepts: the TCP handshake completes, the TLS one stalls
        try (ServerSocket stalled = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "TIMEOUT_MS", "8000",
                    "CONNECT_TIMEOUT_MS", "500");
            discoveryPointsAt(serviceUri(stalled.getLocalPort()), 1);
            String csr = validCsr("stalled-factory");
            List<String> log = logOf(() -> c.ValidateRequest(newTransactionId(), csr)); // returns: it worked
            assertEquals(2, emu.requests("discovery").size());
            assertEquals(1, emu.requests("validateRequest").size());
            assertEquals(1, log.stream().filter(l -> l.contains("discovering it again")).count(),
                    String.join("\n", log));
        }
    }

    @Test
    void aStalledHandshakeOnTheFactoryPathNamesConnectTimeout() throws Exception {
        try (ServerSocket stalled = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "TIMEOUT_MS", "10000",
                    "CONNECT_TIMEOUT_MS", "300", "MAX_RETRIES", "1");
            discoveryPointsAt(serviceUri(stalled.getLocalPort()), 0);
            String csr = validCsr("stalled-factory-2");
            assertConnectTimeoutAfterRediscovery(c, csr);
        }
    }

    @Test
    void aResetInTheHandshakeOnTheFactoryPathIsRetriedAndRediscovered() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket reset = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                while (!reset.isClosed()) {
                    try (Socket s = reset.accept()) {
                        accepted.incrementAndGet();
                        s.setSoTimeout(5000);
                        s.getInputStream().read(new byte[512]); // the ClientHello
                        s.setSoLinger(true, 0); // then a reset
                    } catch (Exception stop) {
                        // closed
                    }
                }
            }, "reset-in-handshake");
            t.setDaemon(true);
            t.start();
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "TIMEOUT_MS", "10000",
                    "CONNECT_TIMEOUT_MS", "1000", "MAX_RETRIES", "2");
            discoveryPointsAt(serviceUri(reset.getLocalPort()), 0);
            String csr = validCsr("reset-factory");
            IntuneClientException e = failedTransport(c, csr);
            assertTrue(e.getMessage().contains("could not connect"), e.getMessage());
            assertEquals(2, emu.requests("discovery").size(), "one rediscovery");
            // the first attempt, its repeat on the rediscovered URI, and MAX_RETRIES retries
            assertEquals(4, accepted.get(), e.getMessage());
            reset.close();
            t.join(10000);
        }
    }

    @Test
    void aBlackHoledTcpConnectOnTheFactoryPathNamesConnectTimeout() throws Exception {
        // a listener whose backlog is full: the TCP handshake gets no answer
        try (FaultScenarios.FailedConnects ends = new FaultScenarios.FailedConnects()) {
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "TIMEOUT_MS", "10000",
                    "CONNECT_TIMEOUT_MS", "300", "MAX_RETRIES", "1");
            discoveryPointsAt(FaultScenarios.FailedConnects.uri(ends.blackhole), 0);
            String csr = validCsr("blackholed-factory");
            assertConnectTimeoutAfterRediscovery(c, csr);
        }
    }

    @Test
    void aDrippedHandshakeOnTheFactoryPathEndsAtConnectTimeout() throws Exception {
        // a server that starts a TLS record of 16 KiB and sends its body a byte every 100 ms: every
        // read of the handshake returns within the read timeout, only the connect limit ends it
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket drip = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                while (!drip.isClosed()) {
                    try (Socket s = drip.accept()) {
                        accepted.incrementAndGet();
                        OutputStream out = s.getOutputStream();
                        out.write(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00});
                        out.flush();
                        for (int i = 0; i < 200; i++) {
                            Thread.sleep(100);
                            out.write(0);
                            out.flush();
                        }
                    } catch (Exception stop) {
                        // the client went, or the server was closed
                    }
                }
            }, "drip-handshake");
            t.setDaemon(true);
            t.start();
            IntuneScepServiceClient c = factoryClient(trustingEmulator(), "TIMEOUT_MS", "10000",
                    "CONNECT_TIMEOUT_MS", "500", "MAX_RETRIES", "0");
            discoveryPointsAt(serviceUri(drip.getLocalPort()), 0);
            String csr = validCsr("dripped-factory");
            IntuneClientException e = failedTransport(c, csr);
            assertTrue(e.getMessage().contains("within 500 ms (CONNECT_TIMEOUT_MS)"), e.getMessage());
            // a failed connect: the service was rediscovered once and tried again
            assertEquals(2, emu.requests("discovery").size());
            assertEquals(2, accepted.get(), e.getMessage());
            drip.close();
            t.join(30000);
        }
    }

    /** The validate call fails with INTUNE_SCEP_E_TRANSPORT (and nothing else). */
    private static IntuneClientException failedTransport(IntuneScepServiceClient c, String csr) {
        IntuneClientException e = assertThrows(IntuneClientException.class,
                () -> c.ValidateRequest(newTransactionId(), csr));
        assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName(), e.getMessage());
        return e;
    }

    /** A failed connect that names CONNECT_TIMEOUT_MS (not the call's deadline), after one rediscovery,
     *  with nothing validated. */
    private void assertConnectTimeoutAfterRediscovery(IntuneScepServiceClient c, String csr) throws Exception {
        IntuneClientException e = failedTransport(c, csr);
        assertTrue(e.getMessage().contains("CONNECT_TIMEOUT_MS"), e.getMessage());
        assertFalse(e.getMessage().contains("(TIMEOUT_MS)"), e.getMessage());
        assertEquals(2, emu.requests("discovery").size());
        assertEquals(0, emu.requests("validateRequest").size());
    }
}
