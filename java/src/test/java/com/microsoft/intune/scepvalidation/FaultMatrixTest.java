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
import java.nio.file.Files;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fault matrix of the C suite (tests/hardening/test_fault_matrix.c), a
 * representative subset of its rows run through the Java front door: each row
 * a fault the emulator plays, forever, on one step of a call (token, discovery,
 * validateRequest, successNotification, failureNotification) and the exception
 * the caller must see, with the same expectations as the C row (status, HTTP
 * status, service code, requests the emulator saw on the faulted endpoint).
 *
 * <p>Every row asserts: the call throws (never returns) an exception of exactly
 * the class the C status maps to, with that status name; its activity id is the
 * call's UUID and its transaction id the one given; it came within TIMEOUT_MS
 * plus a margin (or the row's own bound); a WARNING or SEVERE log record
 * carries the activity id; and no secret (the app key, any bearer token the
 * emulator saw, anything starting "EmuTok-") is in the exception's message,
 * getters, stack trace, or any record of the library's logger.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FaultMatrixTest {
    /** The C matrix's recognisable app secret (listed in scripts/secret-scan.sh). */
    private static final String APP_SECRET = "Harden~AppSecret+/=7Kq2vX9wLm4pRt8z";
    private static final int TIMEOUT_MS = 2000;
    private static final int MARGIN_MS = 1500;
    private static final String LOGGER = "com.microsoft.intune.scepvalidation";

    // status names of the C rows
    private static final String AUTH = "INTUNE_SCEP_E_AUTH";
    private static final String HTTP = "INTUNE_SCEP_E_HTTP";
    private static final String TRANSPORT = "INTUNE_SCEP_E_TRANSPORT";
    private static final String PROTOCOL = "INTUNE_SCEP_E_PROTOCOL";
    private static final String REJECTED = "INTUNE_SCEP_E_REJECTED";
    private static final String NOTFOUND = "INTUNE_SCEP_E_SERVICE_NOT_FOUND";

    /** Special set-ups a row may need besides its fault. */
    enum Special {
        NONE,
        /** TLS_CA_FILE holds a CA that did not sign the emulator's certificate. */
        UNTRUSTED,
    }

    /** One row: as the C table's, with the fault as a map ({HTTP_URL} substituted when run). */
    static final class Row {
        final String name;
        final String step;
        final Map<String, Object> fault;
        final Special special;
        final String status;
        final int http;       // -1: not checked
        final String code;    // service code (OAuth error, Intune code, Graph/Intune error code), null: not checked
        final long aadsts;    // AADSTS code of an identity-platform refusal, -1: not checked
        final long maxMs;     // 0: TIMEOUT_MS + MARGIN_MS
        final int requests;   // requests the emulator saw on the faulted endpoint, -1: not checked

        Row(String name, String step, Map<String, Object> fault, Special special, String status, int http,
                String code, long aadsts, long maxMs, int requests) {
            this.name = name;
            this.step = step;
            this.fault = fault;
            this.special = special;
            this.status = status;
            this.http = http;
            this.code = code;
            this.aadsts = aadsts;
            this.maxMs = maxMs;
            this.requests = requests;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static Row row(String name, String step, Map<String, Object> fault, String status, int http, String code,
            long maxMs, int requests) {
        return new Row(name, step, fault, Special.NONE, status, http, code, -1, maxMs, requests);
    }

    private static Row authRow(String name, Map<String, Object> fault, int http, String code, long aadsts) {
        return new Row(name, "token", fault, Special.NONE, AUTH, http, code, aadsts, 0, 1);
    }

    private static Map<String, Object> fault(String endpoint, Object... kv) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("endpoint", endpoint);
        f.put("times", 0);
        for (int k = 0; k + 1 < kv.length; k += 2) {
            f.put((String) kv[k], kv[k + 1]);
        }
        return f;
    }

    private static Map<String, Object> respond(String ep, int status, String body) {
        return fault(ep, "status", status, "body", body);
    }

    private static Map<String, Object> respondH(String ep, int status, String header, String value) {
        return fault(ep, "status", status, "headers", Map.of(header, value));
    }

    private static Map<String, Object> action(String ep, String act) {
        return fault(ep, "action", act);
    }

    private static Map<String, Object> redirect(String ep, int status, String location) {
        return fault(ep, "action", "redirect", "status", status, "body", location);
    }

    private static Map<String, Object> ok200(String ep, String body) {
        return fault(ep, "status", 200, "body", body);
    }

    private static String aadErr(String error, long n) {
        return "{\"error\":\"" + error + "\",\"error_description\":\"AADSTS" + n + ": refused.\",\"error_codes\":[" + n
                + "]}";
    }

    /** The rows: each is the C row of the same name, with the same expectations. */
    static Stream<Arguments> rows() {
        List<Row> r = new ArrayList<>();
        // ---- token (the identity platform) ----
        r.add(authRow("token 400 invalid_request", respond("token", 400, aadErr("invalid_request", 90002)), 400,
                "invalid_request", 90002));
        r.add(authRow("token 401 invalid_client", respond("token", 401, aadErr("invalid_client", 7000215)), 401,
                "invalid_client", 7000215));
        r.add(authRow("token 403", respond("token", 403, aadErr("access_denied", 50105)), 403, "access_denied",
                50105));
        r.add(row("token reset before the status line", "token", action("token", "reset"), TRANSPORT, 0, null, 0, 3));
        r.add(row("token no answer (deadline)", "token", action("token", "hang"), TRANSPORT, 0, null, 0, -1));
        r.add(row("token 200 JSON array", "token", ok200("token", "[1,2]"), AUTH, -1, null, 0, 1));
        r.add(row("token body over 1 MiB", "token", action("token", "oversize"), PROTOCOL, -1, null, 0, 1));
        r.add(row("token 302 to http:// not followed", "token", redirect("token", 302, "{HTTP_URL}"), AUTH, 302, null,
                0, 1));
        r.add(new Row("token untrusted certificate", "token", null, Special.UNTRUSTED, TRANSPORT, 0, null, -1, 0, 0));

        // ---- discovery (Microsoft Graph) ----
        r.add(row("discovery 403", "discovery", respond("discovery", 403,
                "{\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":\"Insufficient privileges\"}}"),
                HTTP, 403, "Authorization_RequestDenied", 0, 1));
        r.add(row("discovery 404", "discovery", respond("discovery", 404, ""), HTTP, 404, null, 0, 1));
        r.add(row("discovery 500", "discovery", respond("discovery", 500, ""), HTTP, 500, null, 0, 3));
        r.add(row("discovery reset before the status line", "discovery", action("discovery", "reset"), TRANSPORT, 0,
                null, 0, 3));
        r.add(row("discovery 200 not JSON", "discovery", ok200("discovery", "not json"), PROTOCOL, -1, null, 0, 1));
        r.add(row("discovery body over 1 MiB", "discovery", action("discovery", "oversize"), PROTOCOL, -1, null, 0, 1));
        r.add(row("discovery without the SCEP service", "discovery", ok200("discovery",
                "{\"value\":[{\"providerName\":\"PkiConnectorFEService\",\"uri\":\"https://127.0.0.1/Pki\"}]}"),
                NOTFOUND, -1, null, 0, 1));
        r.add(row("discovery 302 to http:// not followed", "discovery", redirect("discovery", 302, "{HTTP_URL}"), HTTP,
                302, null, 0, 1));

        // ---- validateRequest ----
        r.add(row("validate 429 Retry-After beyond the deadline", "validateRequest",
                respondH("validateRequest", 429, "Retry-After", "3600"), HTTP, 429, null, 1000, 1));
        r.add(row("validate 500", "validateRequest", respond("validateRequest", 500,
                "{\"code\":\"InternalError\",\"errorDescription\":\"boom\"}"), HTTP, 500, "InternalError", 0, 3));
        r.add(row("validate 503", "validateRequest", respond("validateRequest", 503, ""), HTTP, 503, null, 0, 3));
        r.add(row("validate reset before the status line", "validateRequest", action("validateRequest", "reset"),
                TRANSPORT, 0, null, 0, 3));
        r.add(row("validate no answer (deadline)", "validateRequest", action("validateRequest", "hang"), TRANSPORT, 0,
                null, 0, -1));
        r.add(row("validate body over 1 MiB", "validateRequest", action("validateRequest", "oversize"), PROTOCOL, -1,
                null, 0, 1));
        r.add(row("validate 200 not JSON", "validateRequest", ok200("validateRequest", "Success"), PROTOCOL, 200, null,
                0, 1));
        r.add(row("validate 200 JSON array", "validateRequest", ok200("validateRequest", "[{\"code\":\"Success\"}]"),
                PROTOCOL, 200, null, 0, 1));
        r.add(row("validate 200 code as a number", "validateRequest",
                ok200("validateRequest", "{\"code\":1,\"errorDescription\":\"\"}"), PROTOCOL, 200, null, 0, 1));
        r.add(row("validate 200 code success in lower case", "validateRequest",
                ok200("validateRequest", "{\"code\":\"success\"}"), REJECTED, 200, "success", 0, 1));
        r.add(row("validate 302 to http:// not followed", "validateRequest",
                redirect("validateRequest", 302, "{HTTP_URL}"), HTTP, 302, null, 0, 1));

        // ---- successNotification ----
        r.add(row("success 500", "successNotification", respond("successNotification", 500, ""), HTTP, 500, null, 0,
                3));
        r.add(row("success reset before the status line", "successNotification",
                action("successNotification", "reset"), TRANSPORT, 0, null, 0, 3));
        r.add(row("success no answer (deadline)", "successNotification", action("successNotification", "hang"),
                TRANSPORT, 0, null, 0, -1));
        r.add(row("success body over 1 MiB", "successNotification", action("successNotification", "oversize"),
                PROTOCOL, -1, null, 0, 1));
        r.add(row("success 200 code Unknown", "successNotification", ok200("successNotification",
                "{\"code\":\"Unknown\",\"errorDescription\":\"not validated\"}"), REJECTED, 200, "Unknown", 0, 1));
        r.add(row("success 200 not JSON", "successNotification", ok200("successNotification", "<ok/>"), PROTOCOL, 200,
                null, 0, 1));

        // ---- failureNotification ----
        r.add(row("failure 403", "failureNotification", respond("failureNotification", 403, ""), HTTP, 403, null, 0,
                1));
        r.add(row("failure 404 (rediscovered once)", "failureNotification", respond("failureNotification", 404, ""),
                HTTP, 404, null, 0, 2));
        r.add(row("failure 502", "failureNotification", respond("failureNotification", 502, ""), HTTP, 502, null, 0,
                3));
        r.add(row("failure 200 code as a number", "failureNotification", ok200("failureNotification", "{\"code\":0}"),
                PROTOCOL, 200, null, 0, 1));
        r.add(row("failure 200 JSON array", "failureNotification", ok200("failureNotification", "[]"), PROTOCOL, 200,
                null, 0, 1));

        // ---- answers that say two things at once: a duplicated member name, a NUL (never read) ----
        r.add(row("token 200 access_token twice", "token", ok200("token", "{\"token_type\":\"Bearer\","
                + "\"expires_in\":3599,\"access_token\":\"EmuTok-1\",\"access_token\":\"EmuTok-2\"}"), PROTOCOL, -1,
                null, 0, 1));
        r.add(row("token 200 NUL in a member name", "token", ok200("token", "{\"token_type\":\"Bearer\","
                + "\"expires_in\\u0000x\":1,\"expires_in\":3599,\"access_token\":\"EmuTok-x\"}"), PROTOCOL, -1,
                null, 0, 1));
        r.add(row("discovery 200 uri twice", "discovery", ok200("discovery",
                "{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"https://127.0.0.1:1/a\","
                + "\"uri\":\"https://127.0.0.1:1/b\"}]}"), PROTOCOL, -1, null, 0, 1));
        r.add(row("validate 200 code twice, Success first", "validateRequest",
                ok200("validateRequest", "{\"code\":\"Success\",\"code\":\"ChallengeExpired\"}"), PROTOCOL, 200, null,
                0, 1));
        r.add(row("validate 200 code twice, Success last", "validateRequest",
                ok200("validateRequest", "{\"code\":\"ChallengeExpired\",\"code\":\"Success\"}"), PROTOCOL, 200, null,
                0, 1));
        r.add(row("validate 200 NUL in code", "validateRequest",
                ok200("validateRequest", "{\"code\":\"Success\\u0000ChallengeExpired\"}"), PROTOCOL, 200, null, 0, 1));
        r.add(row("validate 200 NUL in a member name", "validateRequest",
                ok200("validateRequest", "{\"code\\u0000x\":\"Success\"}"), PROTOCOL, 200, null, 0, 1));
        r.add(row("validate 200 raw NUL byte in code", "validateRequest",
                ok200("validateRequest", "{\"code\":\"Success\u0000X\"}"), PROTOCOL, 200, null, 0, 1));
        r.add(row("validate 500 code Success never reported", "validateRequest", respond("validateRequest", 500,
                "{\"code\":\"Success\",\"errorDescription\":\"an HTTP error\"}"), HTTP, 500, null, 0, 3));
        r.add(row("success 200 code twice", "successNotification",
                ok200("successNotification", "{\"code\":\"Success\",\"code\":\"Unknown\"}"), PROTOCOL, 200, null, 0,
                1));
        r.add(row("failure 200 NUL in code", "failureNotification",
                ok200("failureNotification", "{\"code\":\"Success\\u0000Unknown\"}"), PROTOCOL, 200, null, 0, 1));
        List<Arguments> out = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) {
            out.add(Arguments.of(i, r.get(i)));
        }
        return out.stream();
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
    private IntuneScepServiceClient client;

    @BeforeAll
    static void start() throws Exception {
        emu = Emulator.start("--app-secret", APP_SECRET);
        // A valid request of a device (faults answer before any check, but a SCEP server sends real ones).
        String challenge = emu.challenge("CN=matrix-device,O=Contoso");
        csr = new Csr().cn("matrix-device").o("Contoso").challenge(challenge).base64();
        httpListener = ServerSocketChannel.open();
        httpListener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        httpListener.configureBlocking(false);
        httpPort = ((InetSocketAddress) httpListener.getLocalAddress()).getPort();
        otherCaFile = makeOtherCa();
        // Load the native library before any row is timed.
        new IntuneScepServiceClient(emu.properties()).close();
    }

    /** "Some Other CA", made by keytool: a CA certificate that did not sign the emulator's. */
    private static String makeOtherCa() throws Exception {
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Path ks = tmp.resolve("other-ca.p12");
        Path pem = tmp.resolve("other-ca.pem");
        String pass = UUID.randomUUID().toString();
        run(keytool, "-genkeypair", "-alias", "other", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=Some Other CA", "-ext", "bc:c", "-validity", "30", "-keystore", ks.toString(), "-storetype",
                "PKCS12", "-storepass", pass);
        run(keytool, "-exportcert", "-rfc", "-alias", "other", "-keystore", ks.toString(), "-storetype", "PKCS12",
                "-storepass", pass, "-file", pem.toString());
        assertTrue(Files.readString(pem).contains("-----BEGIN CERTIFICATE-----"));
        assertFalse(Emulator.readCertificates(pem.toString()).get(0)
                .equals(Emulator.readCertificates(emu.caFile).get(0)));
        return pem.toString();
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(cmd[0] + " " + cmd[1] + " failed: " + out);
        }
    }

    @AfterAll
    static void stop() throws Exception {
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

    private static Object substitute(Object v) {
        if (v instanceof String) {
            String s = (String) v;
            SimpleDateFormat f = new SimpleDateFormat("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);
            f.setTimeZone(TimeZone.getTimeZone("UTC"));
            return s.replace("{HTTP_URL}", "http://127.0.0.1:" + httpPort + "/ScepRequestValidationFEService")
                    .replace("{DATE+1}", f.format(new Date(System.currentTimeMillis() + 1000)))
                    .replace("{BASE}", emu.baseUrl);
        }
        if (v instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                out.put((String) e.getKey(), substitute(e.getValue()));
            }
            return out;
        }
        return v;
    }

    private void call(String step, String tid) throws Exception {
        switch (step) {
            case "successNotification":
                client.SendSuccessNotification(tid, csr, "0123456789ABCDEF0123456789ABCDEF01234567", "1A2B3C",
                        "2027-06-11T16:11:20.000Z", "CN=Intune SCEP Tests CA,O=Intune SCEP Tests");
                break;
            case "failureNotification":
                client.SendFailureNotification(tid, csr, 0x80004005L, "issuance failed");
                break;
            default:
                client.ValidateRequest(tid, csr);
                break;
        }
    }

    /** The client a row runs on (FaultMatrixSocketFactoryTest: the same rows over an SSLSocketFactory). */
    IntuneScepServiceClient newClient(Row r, String[] extra) throws Exception {
        return new IntuneScepServiceClient(emu.properties(extra));
    }

    /** The requests a row expects on its step ({@code r.requests}; a subclass may say otherwise). */
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
    private static Set<String> seenTokens() throws Exception {
        Set<String> out = new LinkedHashSet<>();
        for (Map<String, Object> r : emu.requests()) {
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
        String[] extra = {"TIMEOUT_MS", String.valueOf(TIMEOUT_MS), "CONNECT_TIMEOUT_MS", "1000", "MAX_RETRIES", "2",
            "TLS_CA_FILE", r.special == Special.UNTRUSTED ? otherCaFile : emu.caFile};
        client = newClient(r, extra);
        if (r.fault != null) {
            emu.post("faults", substitute(r.fault));
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
        long limit = r.maxMs != 0 ? r.maxMs : TIMEOUT_MS + MARGIN_MS;
        assertTrue(elapsed <= limit, "row \"" + r.name + "\": took " + elapsed + " ms, allowed " + limit
                + " ms (TIMEOUT_MS " + TIMEOUT_MS + ")");

        if (r.fault != null && "redirect".equals(r.fault.get("action"))
                && String.valueOf(r.fault.get("body")).contains("{HTTP_URL}")) {
            assertEquals(0, listenerConnections(), "row \"" + r.name + "\": the redirect to http:// was followed");
        }
        List<Map<String, Object>> seen = emu.requests(r.step);
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
        Set<String> secrets = new LinkedHashSet<>(seenTokens());
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

    /**
     * The revocation upload verdict: the Java package has no revocation client, so the row runs through the
     * package's native binding (the same JNI layer and the same status-to-exception mapping the facade uses).
     */
    @ParameterizedTest(name = "upload verdict {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"{\"value\":true,\"value\":false}",
        "{\"value\":false,\"value\":true}", "{\"value\\u0000x\":false,\"value\":true}"})
    void uploadVerdictThatSaysTwoThings(String body) throws Exception {
        emu.post("faults", fault("uploadRevocationResults", "status", 200, "body", body));
        com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_config cfg =
                com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_config_new();
        com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error err = NativeErrors.newError();
        com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_client c = null;
        com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_revocation_results res = null;
        try {
            java.util.Properties p = emu.properties("TIMEOUT_MS", String.valueOf(TIMEOUT_MS), "TLS_CA_FILE", emu.caFile);
            for (String k : p.stringPropertyNames()) {
                assertEquals(0, com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_config_set(cfg,
                        k, p.getProperty(k)));
            }
            c = com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_client_new_ret(cfg, err);
            assertNotNull(c, IntuneScepNativeMessage(err));
            res = com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_revocation_results_new();
            assertEquals(0, com.microsoft.intune.scepvalidation.internal.IntuneScepNative
                    .intune_scep_revocation_results_add(res, "ctx-1", 1, null, null, err));
            int st = com.microsoft.intune.scepvalidation.internal.IntuneScepNative
                    .intune_scep_upload_revocation_results(c, res, err);
            Exception ex = NativeErrors.toException(st, err, null);
            assertEquals(IntuneClientException.class, ex.getClass(), "upload verdict " + body + ": " + ex);
            assertEquals(PROTOCOL, ((IntuneClientException) ex).getStatusName(), ex.getMessage());
            assertTrue(ex.getMessage().contains("cannot be trusted"), ex.getMessage());
            assertEquals(1, emu.requests("uploadRevocationResults").size());
        } finally {
            if (res != null) {
                com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_revocation_results_free(res);
            }
            if (c != null) {
                com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_client_free(c);
            }
            com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_error_free(err);
            com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_config_free(cfg);
        }
    }

    private static String IntuneScepNativeMessage(com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_error err) {
        return com.microsoft.intune.scepvalidation.internal.IntuneScepNative.intune_scep_error_message(err);
    }

    /** The subset covers every step with several rows, and every class the C table has. */
    @Test
    void theTableCoversEveryStepAndClass() {
        List<Row> all = new ArrayList<>();
        rows().forEach(a -> all.add((Row) a.get()[1]));
        assertTrue(all.size() >= 15, "rows: " + all.size());
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
            client = new IntuneScepServiceClient(emu.properties("TIMEOUT_MS", "8000", "CONNECT_TIMEOUT_MS", "500"));
            discoveryPointsAt("https://127.0.0.1:" + stalled.getLocalPort() + "/ScepRequestValidationFEService", 1);
            String cn = "stalled-" + UUID.randomUUID();
            String valid = new Csr().cn(cn).challenge(emu.challenge("CN=" + cn)).base64();
            client.ValidateRequest(UUID.randomUUID().toString(), valid); // returns: the call worked
            assertEquals(2, emu.requests("discovery").size());
            assertEquals(1, emu.requests("validateRequest").size());
            assertEquals(1, logLines().stream().filter(l -> l.contains("discovering it again")).count(),
                    String.join("\n", logLines()));
        }
    }

    @Test
    void stalledConnectAlwaysNamesConnectTimeout() throws Exception {
        try (java.net.ServerSocket stalled = stalledEndpoint()) {
            client = new IntuneScepServiceClient(emu.properties("TIMEOUT_MS", "10000", "CONNECT_TIMEOUT_MS", "300",
                    "MAX_RETRIES", "1"));
            discoveryPointsAt("https://127.0.0.1:" + stalled.getLocalPort() + "/ScepRequestValidationFEService", 0);
            try {
                client.ValidateRequest(UUID.randomUUID().toString(), csr);
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
