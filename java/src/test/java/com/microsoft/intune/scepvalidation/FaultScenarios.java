// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The fault matrix's rows, read from tests/scenarios/faults.json (shared with the C and
 * Python runners; fields in tests/scenarios/README.md), and the loopback endpoints some
 * rows point a discovered URI at.
 */
final class FaultScenarios {
    static final Set<String> STEPS = Set.of("token", "discovery", "validateRequest", "successNotification",
            "failureNotification", "uploadRevocationResults");
    static final Set<String> SETUPS = Set.of("refused_authority", "untrusted", "wrong_host");
    static final Set<String> STATUSES = Set.of("AUTH", "HTTP", "TRANSPORT", "PROTOCOL", "REJECTED",
            "SERVICE_NOT_FOUND");
    static final Set<String> FIELDS = Set.of("name", "step", "setup", "fault", "status", "http", "code", "aadsts",
            "requests", "max_ms", "via_socket_factory", "skip", "only");

    /** One row as the file has it; absent numbers are -1 (not checked), an absent max_ms 0. */
    static final class Row {
        final int index;
        final String name;
        final String step;
        final Map<String, Object> fault; // null: none
        final String setup;              // null: none
        final String status;             // "INTUNE_SCEP_E_" + the file's name
        final int http;
        final String code;
        final long aadsts;
        final long maxMs;
        final int requests;
        final Map<String, Object> viaSocketFactory; // fields that differ through SetSslSocketFactory, or empty
        final Map<String, Object> skip;
        final List<Object> only;

        @SuppressWarnings("unchecked")
        Row(int index, Map<String, Object> r) {
            for (String k : r.keySet()) {
                if (!FIELDS.contains(k)) {
                    throw new IllegalArgumentException("row " + r.get("name") + ": unknown field " + k);
                }
            }
            this.index = index;
            this.name = (String) r.get("name");
            this.step = (String) r.get("step");
            this.fault = (Map<String, Object>) r.get("fault");
            this.setup = (String) r.get("setup");
            this.status = "INTUNE_SCEP_E_" + r.get("status");
            this.http = (int) num(r, "http", -1);
            this.code = (String) r.get("code");
            this.aadsts = num(r, "aadsts", -1);
            this.maxMs = num(r, "max_ms", 0);
            this.requests = (int) num(r, "requests", -1);
            this.viaSocketFactory = r.containsKey("via_socket_factory")
                    ? (Map<String, Object>) r.get("via_socket_factory") : Map.of();
            this.skip = r.containsKey("skip") ? (Map<String, Object>) r.get("skip") : Map.of();
            this.only = (List<Object>) r.get("only");
            if (name == null || !STEPS.contains(step) || !STATUSES.contains(String.valueOf(r.get("status")))
                    || (setup != null && !SETUPS.contains(setup)) || (fault == null && setup == null)
                    || (fault != null && !(fault.get("endpoint") instanceof String))) {
                throw new IllegalArgumentException("row " + index + " cannot be read: " + r);
            }
        }

        private static long num(Map<String, Object> r, String key, long absent) {
            Object v = r.get(key);
            return v == null ? absent : ((Number) v).longValue();
        }

        /** Why the runner named {@code runner} ("java", "java-socket-factory") does not run this row, or null. */
        String skippedBy(String runner) {
            Object why = skip.containsKey(runner) ? skip.get(runner) : skip.get("java");
            if (why != null) {
                return String.valueOf(why);
            }
            if (only != null && !only.contains("java") && !only.contains(runner)) {
                return "only for " + only;
            }
            return null;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** The table; -Dintunescep.fault.scenarios=FILE reads another one. */
    static final Path FILE = System.getProperty("intunescep.fault.scenarios") != null
            ? Path.of(System.getProperty("intunescep.fault.scenarios"))
            : Emulator.repo().resolve("tests").resolve("scenarios").resolve("faults.json");
    private static Map<String, Object> table;

    static synchronized Map<String, Object> table() throws Exception {
        if (table == null) {
            table = Json.object(Files.readString(FILE, StandardCharsets.UTF_8));
        }
        return table;
    }

    /** The client keys every row sets (TIMEOUT_MS, CONNECT_TIMEOUT_MS, MAX_RETRIES). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> client() throws Exception {
        return (Map<String, Object>) table().get("client");
    }

    static long marginMs() throws Exception {
        return ((Number) table().get("margin_ms")).longValue();
    }

    @SuppressWarnings("unchecked")
    static List<Row> rows() throws Exception {
        List<Row> out = new ArrayList<>();
        List<Object> all = (List<Object>) table().get("rows");
        for (int i = 0; i < all.size(); i++) {
            out.add(new Row(i, (Map<String, Object>) all.get(i)));
        }
        return Collections.unmodifiableList(out);
    }

    /** The requests an emulator recorded, asked without checking its certificate's host name against 127.0.0.1. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> requestsOf(Emulator e, String certHostName) throws Exception {
        return (List<Map<String, Object>>) Json.parse(e.controlFor(certHostName).get("requests"));
    }

    /**
     * A PEM file in {@code dir} holding only a CA that did not sign {@code e}'s server certificate:
     * the CA of the emulator's device module (the issuer of {@code POST device/certificate}),
     * asked for with a request the device module built.
     */
    @SuppressWarnings("unchecked")
    static String otherCaFile(Emulator e, Path dir) throws Exception {
        Map<String, Object> csr = (Map<String, Object>) e.post("device/csr", new LinkedHashMap<String, Object>());
        Map<String, Object> issued = (Map<String, Object>) e.post("device/certificate",
                Map.of("csr", csr.get("csr"), "validity_days", 30));
        Path pem = dir.resolve("other-ca.pem");
        Files.writeString(pem, (String) issued.get("ca_pem"), StandardCharsets.US_ASCII);
        X509Certificate other = Emulator.readCertificates(pem.toString()).get(0);
        for (X509Certificate c : Emulator.readCertificates(e.caFile)) {
            if (c.getSubjectX500Principal().equals(other.getSubjectX500Principal())
                    || c.getPublicKey().equals(other.getPublicKey())) {
                throw new IllegalStateException("the device module's CA is the emulator's TLS CA");
            }
        }
        return pem.toString();
    }

    /**
     * Loopback endpoints on which a connection never carries a request: a TLS handshake that stalls
     * (never accepted: the kernel completes the TCP handshake, nobody answers the ClientHello), a TCP
     * handshake that never completes (a backlog filled by connections nobody accepts: further SYNs
     * are dropped), and a reset in the TLS handshake (the ClientHello read, then an RST).
     */
    static final class FailedConnects implements AutoCloseable {
        final ServerSocket stall;
        final ServerSocket blackhole;
        final ServerSocket reset;
        private final List<SocketChannel> fillers = new ArrayList<>();
        private final Thread resetter;
        private volatile boolean stopped;

        FailedConnects() throws Exception {
            InetAddress lo = InetAddress.getLoopbackAddress();
            stall = new ServerSocket(0, 64, lo);
            blackhole = new ServerSocket(0, 1, lo); // 0 would mean "the default" to Java
            for (int i = 0; i < 4; i++) {
                SocketChannel f = SocketChannel.open();
                f.configureBlocking(false);
                f.connect(new InetSocketAddress(lo, blackhole.getLocalPort()));
                fillers.add(f);
                Thread.sleep(20);
            }
            reset = new ServerSocket(0, 64, lo);
            reset.setSoTimeout(200);
            resetter = new Thread(this::serveReset, "matrix-reset");
            resetter.setDaemon(true);
            resetter.start();
        }

        private void serveReset() {
            while (!stopped) {
                try (Socket s = reset.accept()) {
                    s.setSoTimeout(2000);
                    try {
                        s.getInputStream().read(new byte[512]);
                    } catch (SocketTimeoutException e) {
                        // no ClientHello: reset anyway
                    }
                    s.setSoLinger(true, 0);
                } catch (SocketTimeoutException e) {
                    // poll the stop flag
                } catch (Exception e) {
                    if (stopped) {
                        return;
                    }
                }
            }
        }

        static String uri(ServerSocket s) {
            return "https://127.0.0.1:" + s.getLocalPort() + "/ScepRequestValidationFEService";
        }

        @Override
        public void close() throws Exception {
            stopped = true;
            resetter.join(5000);
            for (SocketChannel f : fillers) {
                f.close();
            }
            stall.close();
            blackhole.close();
            reset.close();
        }
    }

    /** A copy of the fault with every placeholder string filled in. */
    static Object substitute(Object v, Map<String, String> values) {
        if (v instanceof String) {
            String s = (String) v;
            for (Map.Entry<String, String> e : values.entrySet()) {
                s = s.replace(e.getKey(), e.getValue());
            }
            return s;
        }
        if (v instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                out.put((String) e.getKey(), substitute(e.getValue(), values));
            }
            return out;
        }
        return v;
    }

    private FaultScenarios() {
    }
}
