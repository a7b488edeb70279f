// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TimeZone;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.microsoft.intune.carequest.CARequestErrorCodes;
import com.microsoft.intune.carequest.CARevocationResult;
import com.microsoft.intune.scepvalidation.FaultScenarios.Row;

/**
 * The fault matrix, Java runner: the rows of tests/scenarios/faults.json (shared with
 * the C and Python runners; fields in tests/scenarios/README.md), each a fault the
 * emulator plays, forever, on one step of a call (token, discovery, validateRequest,
 * successNotification, failureNotification, uploadRevocationResults) and the exception
 * the caller must see (status, HTTP status, service code, AADSTS number, requests the
 * emulator saw on the faulted endpoint). {@link FaultMatrixSocketFactoryTest} runs the
 * same rows through SetSslSocketFactory.
 *
 * <p>Every row asserts: the call throws (never returns) an exception of exactly
 * the class the status maps to, with that status name; its activity id is the
 * call's UUID and its transaction id the one given; it came within TIMEOUT_MS
 * plus a margin (or the row's own bound); a WARNING or SEVERE log record
 * carries the activity id; and no secret (the app key, any bearer token the
 * emulator saw, anything starting "EmuTok-") is in the exception's message,
 * getters, stack trace, or any record of the library's logger.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultMatrixTest {
    /** The C matrix's recognisable app secret (listed in scripts/secret-scan.sh). */
    private static final String APP_SECRET = "Harden~AppSecret+/=7Kq2vX9wLm4pRt8z";
    /** The table may grow, never shrink: the rows Java ran when the table became data. */
    private static final int ROW_FLOOR = 126;
    private static final String LOGGER = "com.microsoft.intune.scepvalidation";
    private static final String WRONG_HOST = "not-this-host.example";

    private static final String AUTH = "INTUNE_SCEP_E_AUTH";
    private static final String HTTP = "INTUNE_SCEP_E_HTTP";
    private static final String TRANSPORT = "INTUNE_SCEP_E_TRANSPORT";
    private static final String PROTOCOL = "INTUNE_SCEP_E_PROTOCOL";
    private static final String REJECTED = "INTUNE_SCEP_E_REJECTED";
    private static final String NOTFOUND = "INTUNE_SCEP_E_SERVICE_NOT_FOUND";

    /** The rows of the table, with their index. */
    static Stream<Arguments> rows() throws Exception {
        return FaultScenarios.rows().stream().map(r -> Arguments.of(r.index, r));
    }

    /** The runner's name in a row's "skip" / "only" (FaultMatrixSocketFactoryTest: "java-socket-factory"). */
    String runner() {
        return "java";
    }

    // ---- plumbing ------------------------------------------------------------

    @TempDir
    static Path tmp;

    static Emulator emu;
    private static String csr;
    static String otherCaFile;
    /** A loopback port that must never see a connection (the http:// redirect target). */
    private static ServerSocketChannel httpListener;
    private static int httpPort;
    private static FaultScenarios.FailedConnects failedConnects;
    private int rowsRun;
    private int rowsSkipped;

    private final Logger logger = Logger.getLogger(LOGGER);
    private final List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private Level previousLevel;
    private boolean previousUseParent;
    private AutoCloseable client;

    @BeforeAll
    void start() throws Exception {
        emu = Emulator.start("--app-secret", APP_SECRET);
        // A valid request of a device (faults answer before any check, but a SCEP server sends real ones).
        String challenge = emu.challenge("CN=matrix-device,O=Contoso");
        csr = new Csr().cn("matrix-device").o("Contoso").challenge(challenge).base64();
        httpListener = ServerSocketChannel.open();
        httpListener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        httpListener.configureBlocking(false);
        httpPort = ((InetSocketAddress) httpListener.getLocalAddress()).getPort();
        failedConnects = new FaultScenarios.FailedConnects();
        otherCaFile = FaultScenarios.otherCaFile(emu, tmp);
        // Load the native library before any row is timed.
        new IntuneScepServiceClient(emu.properties()).close();
    }

    @AfterAll
    void stop() throws Exception {
        System.out.printf("fault matrix (%s): %d scenarios run, %d skipped, %d in %s%n", runner(), rowsRun,
                rowsSkipped, FaultScenarios.rows().size(), FaultScenarios.FILE.getFileName());
        if (failedConnects != null) {
            failedConnects.close();
            failedConnects = null;
        }
        if (httpListener != null) {
            httpListener.close();
        }
        if (emu != null) {
            emu.close();
            emu = null;
        }
    }

    @BeforeEach
    void capture() throws Exception {
        emu.reset();
        records.clear();
        previousLevel = logger.getLevel();
        previousUseParent = logger.getUseParentHandlers();
        logger.setLevel(Level.ALL);
        logger.setUseParentHandlers(false);
        handler.setLevel(Level.ALL);
        logger.addHandler(handler);
    }

    @AfterEach
    void release() throws Exception {
        logger.removeHandler(handler);
        logger.setLevel(previousLevel);
        logger.setUseParentHandlers(previousUseParent);
        if (client != null) {
            client.close();
            client = null;
        }
        emu.reset();
    }

    /** Connections the never-followed listener accepted since the last call. */
    private static int listenerConnections() throws Exception {
        int n = 0;
        for (SocketChannel c; (c = httpListener.accept()) != null;) {
            c.close();
            n++;
        }
        return n;
    }

    /** The values of the table's placeholders (tests/scenarios/README.md) for a row run now. */
    private static Map<String, String> placeholders(Emulator target) throws Exception {
        SimpleDateFormat f = new SimpleDateFormat("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);
        f.setTimeZone(TimeZone.getTimeZone("UTC"));
        int closed = closedPort();
        Map<String, String> v = new LinkedHashMap<>();
        v.put("{HTTP_URL}", "http://127.0.0.1:" + httpPort + "/ScepRequestValidationFEService");
        v.put("{DATE+1}", f.format(new Date(System.currentTimeMillis() + 1000)));
        v.put("{CLOSED_URI}", "https://127.0.0.1:" + closed + "/ScepRequestValidationFEService");
        v.put("{BASE}", target.baseUrl);
        v.put("{STALL_URI}", FaultScenarios.FailedConnects.uri(failedConnects.stall));
        v.put("{BLACKHOLE_URI}", FaultScenarios.FailedConnects.uri(failedConnects.blackhole));
        v.put("{RESET_URI}", FaultScenarios.FailedConnects.uri(failedConnects.reset));
        v.put("{NUL}", "\u0000");
        return v;
    }

    /** A loopback port nothing listens on: bound once, then closed. */
    private static int closedPort() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void call(String step, String tid) throws Exception {
        switch (step) {
            case "successNotification":
                ((IntuneScepServiceClient) client).SendSuccessNotification(tid, csr,
                        "0123456789ABCDEF0123456789ABCDEF01234567", "1A2B3C", "2027-06-11T16:11:20.000Z",
                        "CN=Intune SCEP Tests CA,O=Intune SCEP Tests");
                break;
            case "failureNotification":
                ((IntuneScepServiceClient) client).SendFailureNotification(tid, csr, 0x80004005L, "issuance failed");
                break;
            case "uploadRevocationResults":
                ((IntuneRevocationClient) client).UploadRevocationResults(tid, List.of(
                        new CARevocationResult("ctx-1", true, CARequestErrorCodes.None, null)));
                break;
            default: // token, discovery and validateRequest rows run a validation
                ((IntuneScepServiceClient) client).ValidateRequest(tid, csr);
                break;
        }
    }

    /**
     * The client a row runs on: a revocation client for the upload rows, a SCEP client for the others
     * (FaultMatrixSocketFactoryTest: the same over an SSLSocketFactory trusting {@code trusted}).
     */
    AutoCloseable newClient(Row r, Properties p, String trusted) throws Exception {
        return r.step.equals("uploadRevocationResults") ? new IntuneRevocationClient(p)
                : new IntuneScepServiceClient(p);
    }

    /** The requests a row expects on its step (FaultMatrixSocketFactoryTest: its "via_socket_factory" value). */
    int expectedRequests(Row r) {
        return r.requests;
    }

    private static Class<? extends IntuneClientException> classOf(String status) {
        switch (status) {
            case AUTH:
                return IntuneClientAuthException.class;
            case HTTP:
                return IntuneClientHttpErrorException.class;
            case REJECTED:
                return IntuneScepServiceException.class;
            case NOTFOUND:
                return IntuneServiceNotFoundException.class;
            default: // TRANSPORT, PROTOCOL
                return IntuneClientException.class;
        }
    }

    /** The bearer tokens the emulator saw on any endpoint. */
    private static Set<String> seenTokens(List<Map<String, Object>> recorded) {
        Set<String> out = new LinkedHashSet<>();
        for (Map<String, Object> r : recorded) {
            Object a = Emulator.headers(r).get("authorization");
            if (a instanceof String && ((String) a).startsWith("Bearer ") && ((String) a).length() > 7) {
                out.add(((String) a).substring(7));
            }
        }
        return out;
    }

    /** Everything the exception says: message, each getter, the whole stack trace with causes. */
    private static Map<String, String> texts(IntuneClientException e) {
        Map<String, String> t = new LinkedHashMap<>();
        t.put("message", e.getMessage());
        t.put("toString", e.toString());
        t.put("getResponseBody", e.getResponseBody());
        t.put("getStatusName", e.getStatusName());
        t.put("getTransactionId", e.getTransactionId());
        if (e instanceof IntuneClientHttpErrorException) {
            t.put("getResponse", ((IntuneClientHttpErrorException) e).getResponse());
        }
        if (e instanceof IntuneClientAuthException) {
            t.put("getErrorCode", ((IntuneClientAuthException) e).getErrorCode());
            t.put("getErrorDescription", ((IntuneClientAuthException) e).getErrorDescription());
        }
        if (e instanceof IntuneScepServiceException) {
            t.put("getOriginalErrorCode", ((IntuneScepServiceException) e).getOriginalErrorCode());
            t.put("getErrorDescription", ((IntuneScepServiceException) e).getErrorDescription());
        }
        if (e instanceof IntuneServiceNotFoundException) {
            t.put("getServiceName", ((IntuneServiceNotFoundException) e).getServiceName());
        }
        StringWriter sw = new StringWriter();
        e.printStackTrace(new PrintWriter(sw));
        t.put("stack trace", sw.toString());
        return t;
    }

    private List<String> logLines() {
        SimpleFormatter f = new SimpleFormatter();
        List<String> out = new ArrayList<>();
        synchronized (records) {
            for (LogRecord r : records) {
                out.add(r.getLevel() + " " + f.format(r));
            }
        }
        return out;
    }

    // ---- the table -----------------------------------------------------------

    @ParameterizedTest(name = "{1}")
    @MethodSource("rows")
    void row(int index, Row r) throws Exception {
        String skipped = r.skippedBy(runner());
        if (skipped != null) {
            rowsSkipped++;
        }
        Assumptions.assumeTrue(skipped == null, skipped);
        Emulator target = emu;
        Emulator wrongHost = null;
        try {
            if ("wrong_host".equals(r.setup)) {
                wrongHost = Emulator.start("--app-secret", APP_SECRET, "--server-cert-hostname", WRONG_HOST);
                target = wrongHost;
            }
            runRow(index, r, target, wrongHost != null);
        } finally {
            if (wrongHost != null) {
                wrongHost.close();
            }
        }
        rowsRun++;
    }

    private void runRow(int index, Row r, Emulator target, boolean wrongHost) throws Exception {
        List<String> extra = new ArrayList<>();
        for (Map.Entry<String, Object> kv : FaultScenarios.client().entrySet()) {
            extra.add(kv.getKey());
            extra.add(String.valueOf(kv.getValue()));
        }
        String trusted = "untrusted".equals(r.setup) ? otherCaFile : target.caFile;
        extra.addAll(List.of("TLS_CA_FILE", trusted));
        if ("refused_authority".equals(r.setup)) {
            extra.addAll(List.of("AUTH_AUTHORITY", "https://127.0.0.1:" + closedPort() + "/"));
        }
        client = newClient(r, target.properties(extra.toArray(new String[0])), trusted);
        if (r.fault != null) {
            target.post("faults", FaultScenarios.substitute(r.fault, placeholders(target)));
        }
        listenerConnections();
        String tid = String.format("matrix-%02d-%d", index, System.currentTimeMillis());

        long t0 = System.nanoTime();
        Exception thrown = null;
        try {
            call(r.step, tid);
        } catch (Exception e) {
            thrown = e;
        }
        long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        List<Map<String, Object>> recorded = wrongHost ? FaultScenarios.requestsOf(target, WRONG_HOST)
                : target.requests();

        if (thrown == null) {
            fail("row \"" + r.name + "\": the call returned normally (Intune's Success) after " + elapsed + " ms");
        }
        Class<? extends IntuneClientException> want = classOf(r.status);
        if (thrown.getClass() != want) {
            throw new AssertionError("row \"" + r.name + "\": threw " + thrown.getClass().getName() + ", want "
                    + want.getName(), thrown);
        }
        IntuneClientException e = (IntuneClientException) thrown;
        assertEquals(r.status, e.getStatusName(), () -> "row \"" + r.name + "\": message: " + e.getMessage());
        if (r.http >= 0) {
            assertEquals(r.http, e.getHttpStatus(), "row \"" + r.name + "\": HTTP status");
            if (e instanceof IntuneClientHttpErrorException) {
                assertEquals(r.http, ((IntuneClientHttpErrorException) e).getStatusCode(),
                        "row \"" + r.name + "\": getStatusCode");
            }
        }
        if (r.code != null) {
            if (e instanceof IntuneClientAuthException) {
                assertEquals(r.code, ((IntuneClientAuthException) e).getErrorCode(), "row \"" + r.name + "\"");
            } else if (e instanceof IntuneScepServiceException) {
                assertEquals(r.code, ((IntuneScepServiceException) e).getOriginalErrorCode(), "row \"" + r.name + "\"");
            } else {
                assertEquals(r.code, ((IntuneClientHttpErrorException) e).getServiceCode(), "row \"" + r.name + "\"");
                // The code is also in the body it carries, and the call's log record names it.
                assertNotNull(e.getResponseBody(), "row \"" + r.name + "\": no response body");
                assertTrue(e.getResponseBody().contains("\"" + r.code + "\""),
                        "row \"" + r.name + "\": body " + e.getResponseBody());
                String activityId = String.valueOf(e.getActivityId());
                assertTrue(logLines().stream().anyMatch(l -> l.startsWith("SEVERE") && l.contains("code=" + r.code + " ")
                        && l.contains(activityId)), "row \"" + r.name + "\": no SEVERE record with code=" + r.code);
            }
        }
        if (r.aadsts >= 0) {
            IntuneClientAuthException a = (IntuneClientAuthException) e;
            assertEquals(r.aadsts, a.getAadstsCode(), "row \"" + r.name + "\": AADSTS code");
            assertNotNull(a.getErrorDescription(), "row \"" + r.name + "\": error description");
            assertTrue(a.getErrorDescription().contains("AADSTS" + r.aadsts), a.getErrorDescription());
        }
        // A failure never reports the service code Success (a rejection keeps its code, never exactly Success),
        // and no log record of it says code=Success.
        String code = e instanceof IntuneClientHttpErrorException ? ((IntuneClientHttpErrorException) e).getServiceCode()
                : e instanceof IntuneClientAuthException ? ((IntuneClientAuthException) e).getErrorCode()
                : e instanceof IntuneScepServiceException ? ((IntuneScepServiceException) e).getOriginalErrorCode()
                : null;
        if (e instanceof IntuneScepServiceException) {
            assertFalse("Success".equals(code), "row \"" + r.name + "\": a rejection with the code Success");
        } else {
            assertFalse(code != null && code.equalsIgnoreCase("Success"),
                    "row \"" + r.name + "\": a failure reports the service code " + code);
        }
        assertFalse(logLines().stream().anyMatch(l -> l.contains("code=Success")),
                "row \"" + r.name + "\": a log record says code=Success");
        UUID activity = e.getActivityId();
        assertNotNull(activity, "row \"" + r.name + "\": no activity id; message: " + e.getMessage());
        assertEquals(activity.toString(), UUID.fromString(activity.toString()).toString());
        assertTrue(e.getMessage().contains(activity.toString()),
                "row \"" + r.name + "\": the message does not carry the activity id: " + e.getMessage());
        assertEquals(tid, e.getTransactionId(), "row \"" + r.name + "\": transaction id");
        assertFalse(e.getMessage().isEmpty() || e.getMessage().contains("\n"),
                "row \"" + r.name + "\": the message is not one line: " + e.getMessage());
        long timeoutMs = Long.parseLong(String.valueOf(FaultScenarios.client().get("TIMEOUT_MS")));
        long limit = r.maxMs != 0 ? r.maxMs : timeoutMs + FaultScenarios.marginMs();
        assertTrue(elapsed <= limit, "row \"" + r.name + "\": took " + elapsed + " ms, allowed " + limit
                + " ms (TIMEOUT_MS " + timeoutMs + ")");

        if (r.fault != null && "redirect".equals(r.fault.get("action"))
                && String.valueOf(r.fault.get("body")).contains("{HTTP_URL}")) {
            assertEquals(0, listenerConnections(), "row \"" + r.name + "\": the redirect to http:// was followed");
        }
        List<Map<String, Object>> seen = new ArrayList<>();
        for (Map<String, Object> req : recorded) {
            if (r.step.equals(req.get("endpoint"))) {
                seen.add(req);
            }
        }
        if (expectedRequests(r) >= 0) {
            assertEquals(expectedRequests(r), seen.size(), "row \"" + r.name + "\": requests the emulator saw on "
                    + r.step);
        }
        // Every attempt of a SCEP call carries the call's activity id (token and discovery
        // requests carry their own fresh client-request-id).
        boolean scepStep = !r.step.equals("token") && !r.step.equals("discovery");
        for (Map<String, Object> req : scepStep ? seen : List.<Map<String, Object>>of()) {
            assertEquals(activity.toString(), Emulator.headers(req).get("client-request-id"),
                    "row \"" + r.name + "\": client-request-id of a " + r.step + " request");
        }

        List<String> lines = logLines();
        assertTrue(lines.stream().anyMatch(l -> (l.startsWith("WARNING") || l.startsWith("SEVERE"))
                && l.contains(activity.toString())),
                "row \"" + r.name + "\": no WARNING/SEVERE log record carries the activity id: " + lines);

        // No secret anywhere the caller or an operator sees.
        Set<String> secrets = new LinkedHashSet<>(seenTokens(recorded));
        secrets.add(APP_SECRET);
        secrets.add(URLEncoder.encode(APP_SECRET, StandardCharsets.UTF_8));
        secrets.add("EmuTok-");
        for (Map.Entry<String, String> t : texts(e).entrySet()) {
            for (String s : secrets) {
                if (t.getValue() != null && t.getValue().contains(s)) {
                    fail("row \"" + r.name + "\": the exception's " + t.getKey() + " holds a secret"
                            + (s.startsWith("EmuTok-") ? " (a bearer token)" : ""));
                }
            }
        }
        for (int i = 0; i < lines.size(); i++) {
            for (String s : secrets) {
                if (lines.get(i).contains(s)) {
                    fail("row \"" + r.name + "\": log record " + i + " holds a secret"
                            + (s.startsWith("EmuTok-") ? " (a bearer token)" : ""));
                }
            }
        }
        System.out.printf("%-48s %-31s http=%3d requests=%d %5d ms%n", r.name, e.getStatusName(), e.getHttpStatus(),
                seen.size(), elapsed);
    }

    /** Every row is readable here; the table keeps its floor, covers every step and every class. */
    @Test
    void theTableIsWhole() throws Exception {
        List<Row> all = FaultScenarios.rows();
        long runnable = all.stream().filter(x -> x.skippedBy(runner()) == null).count();
        assertTrue(runnable >= ROW_FLOOR, "rows for " + runner() + ": " + runnable + ", fewer than " + ROW_FLOOR);
        for (String step : List.of("token", "discovery", "validateRequest", "successNotification",
                "failureNotification")) {
            long n = all.stream().filter(x -> x.step.equals(step)).count();
            assertTrue(n >= 5, step + " has " + n + " rows");
        }
        for (String status : List.of(AUTH, HTTP, TRANSPORT, PROTOCOL, REJECTED, NOTFOUND)) {
            assertTrue(all.stream().anyMatch(x -> x.status.equals(status)), "no row for " + status);
        }
        Set<String> names = new LinkedHashSet<>();
        for (Row x : all) {
            assertTrue(names.add(x.name), "two rows named " + x.name);
        }
    }

    // ---- failed connects: a TLS handshake that stalls (nothing sent) -----------
    // A connection on which nothing was sent is a failed connect: retried, and followed by one
    // rediscovery, like a refused connection; its message names CONNECT_TIMEOUT_MS.

    /** Discovery gives {@code uri} for the SCEP service, {@code times} times (0: always). */
    private static void discoveryPointsAt(String uri, int times) throws Exception {
        String body = "{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"" + uri
                + "\"},{\"providerName\":\"PkiConnectorFEService\",\"uri\":\"" + emu.baseUrl
                + "PkiConnectorFEService\"}]}";
        emu.fault("endpoint", "discovery", "times", times, "status", 200, "body", body);
    }

    /** A loopback listener that never accepts: the TCP handshake completes, the TLS one stalls. */
    private static java.net.ServerSocket stalledEndpoint() throws Exception {
        return new java.net.ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    }

    @Test
    void stalledConnectRediscovers() throws Exception {
        try (java.net.ServerSocket stalled = stalledEndpoint()) {
            IntuneScepServiceClient c = new IntuneScepServiceClient(emu.properties("TIMEOUT_MS", "8000",
                    "CONNECT_TIMEOUT_MS", "500"));
            client = c;
            discoveryPointsAt("https://127.0.0.1:" + stalled.getLocalPort() + "/ScepRequestValidationFEService", 1);
            String cn = "stalled-" + UUID.randomUUID();
            String valid = new Csr().cn(cn).challenge(emu.challenge("CN=" + cn)).base64();
            c.ValidateRequest(UUID.randomUUID().toString(), valid); // returns: the call worked
            assertEquals(2, emu.requests("discovery").size());
            assertEquals(1, emu.requests("validateRequest").size());
            assertEquals(1, logLines().stream().filter(l -> l.contains("discovering it again")).count(),
                    String.join("\n", logLines()));
        }
    }

    @Test
    void stalledConnectAlwaysNamesConnectTimeout() throws Exception {
        try (java.net.ServerSocket stalled = stalledEndpoint()) {
            IntuneScepServiceClient c = new IntuneScepServiceClient(emu.properties("TIMEOUT_MS", "10000",
                    "CONNECT_TIMEOUT_MS", "300", "MAX_RETRIES", "1"));
            client = c;
            discoveryPointsAt("https://127.0.0.1:" + stalled.getLocalPort() + "/ScepRequestValidationFEService", 0);
            try {
                c.ValidateRequest(UUID.randomUUID().toString(), csr);
                fail("a call to an endpoint that never completes the TLS handshake returned");
            } catch (IntuneClientException e) {
                assertEquals(TRANSPORT, e.getStatusName());
                assertTrue(e.getMessage().contains("CONNECT_TIMEOUT_MS"), e.getMessage());
                assertFalse(e.getMessage().contains("(TIMEOUT_MS)"), e.getMessage());
            }
            assertEquals(2, emu.requests("discovery").size());
            assertEquals(0, emu.requests("validateRequest").size());
        }
    }
}
