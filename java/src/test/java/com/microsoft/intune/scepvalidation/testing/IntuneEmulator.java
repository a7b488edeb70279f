// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.testing;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;

/**
 * A running Intune emulator (the {@code intune-scep-emulator} command, or
 * {@code python3 -m intune_scep.emulator}) for a test: its client configuration, a device's
 * requests and a CA's certificates from the emulator's device module, and its control API
 * over HTTPS trusting only the emulator's CA ({@link ControlClient}). Normally made by {@link IntuneEmulatorExtension}.
 *
 * <p>Which command runs: the system property {@code intunescep.emulator.command} or the
 * environment variable {@code INTUNE_SCEP_EMULATOR} (a command line split on spaces),
 * else {@code intune-scep-emulator} when it is on the PATH, else
 * {@code python3 -m intune_scep.emulator} (with {@code <intunescep.repo>/python} on the
 * PYTHONPATH when that system property is set).
 */
public final class IntuneEmulator implements AutoCloseable {
    private static final String INSTALL_HINT = "install it with 'pip install intune-scep-emulator' (or the "
            + "intune-scep package), or name the command with -Dintunescep.emulator.command";
    private final Process process;
    private final Path dir;
    private final Path propertiesFile;
    private final Properties properties;
    private final ControlClient control;

    private IntuneEmulator(Process process, Path dir, Path propertiesFile) throws Exception {
        this.process = process;
        this.dir = dir;
        this.propertiesFile = propertiesFile;
        this.properties = new Properties();
        try (Reader r = Files.newBufferedReader(propertiesFile, StandardCharsets.ISO_8859_1)) {
            properties.load(r);
        }
        String base = properties.getProperty("AUTH_AUTHORITY");
        this.control = new ControlClient((base.endsWith("/") ? base : base + "/") + "_emulator/",
                Path.of(properties.getProperty("TLS_CA_FILE")));
    }

    /** The command that runs the emulator (see the class comment). */
    public static List<String> emulatorCommand() {
        String configured = System.getProperty("intunescep.emulator.command", System.getenv("INTUNE_SCEP_EMULATOR"));
        if (configured != null && !configured.isBlank()) {
            return Arrays.asList(configured.trim().split("\\s+"));
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(File.pathSeparator)) {
                if (!d.isEmpty() && Files.isExecutable(Path.of(d, "intune-scep-emulator"))) {
                    return List.of(Path.of(d, "intune-scep-emulator").toString());
                }
            }
        }
        return List.of("python3", "-m", "intune_scep.emulator");
    }

    /**
     * Start an emulator with {@code extraArgs} (e.g. {@code --single-use-challenges});
     * its configuration is ready within 60 seconds or this fails.
     */
    public static IntuneEmulator start(String... extraArgs) throws Exception {
        List<String> base = emulatorCommand();
        Path dir = Files.createTempDirectory("intune-emulator-");
        Path props = dir.resolve("emulator.properties");
        List<String> cmd = new ArrayList<>(base);
        cmd.addAll(List.of("--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof", "--properties-out",
                props.toString()));
        cmd.addAll(List.of(extraArgs));
        Process p;
        try {
            p = processBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("stderr.log")
                    .toFile())).start();
        } catch (IOException e) {
            throw new IllegalStateException("the Intune emulator did not start (" + String.join(" ", cmd) + "): "
                    + e.getMessage() + "; " + INSTALL_HINT, e);
        }
        CompletableFuture<Integer> firstLine = CompletableFuture.supplyAsync(() -> {
            try {
                InputStream in = p.getInputStream();
                int c;
                while ((c = in.read()) != -1 && c != '\n') {
                    // the JSON line: the properties file says the same
                }
                return c;
            } catch (IOException e) {
                return -1;
            }
        });
        Integer end;
        try {
            end = firstLine.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            end = -1;
        }
        if (end == null || end != '\n' || !Files.exists(props)) {
            p.destroyForcibly();
            String err = Files.exists(dir.resolve("stderr.log"))
                    ? Files.readString(dir.resolve("stderr.log"), StandardCharsets.UTF_8) : "";
            throw new IllegalStateException("the Intune emulator did not start (" + String.join(" ", cmd) + "): "
                    + err.strip() + "; " + INSTALL_HINT);
        }
        return new IntuneEmulator(p, dir, props);
    }

    private static ProcessBuilder processBuilder(List<String> cmd) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        String repo = System.getProperty("intunescep.repo");
        if (repo != null && cmd.size() > 2 && cmd.get(1).equals("-m")) {
            String py = Path.of(repo, "python").toAbsolutePath().normalize().toString();
            String existing = System.getenv("PYTHONPATH");
            pb.environment().put("PYTHONPATH", existing == null || existing.isEmpty() ? py
                    : py + File.pathSeparator + existing);
        }
        return pb;
    }

    /** A copy of the complete client configuration (AAD_APP_ID, AAD_APP_KEY, TENANT, ...). */
    public Properties properties() {
        Properties copy = new Properties();
        for (String k : properties.stringPropertyNames()) {
            copy.setProperty(k, properties.getProperty(k));
        }
        return copy;
    }

    /** The same configuration as a java.util.Properties file (mode 0600). */
    public Path propertiesFile() {
        return propertiesFile;
    }

    /** The emulator's base URL, e.g. {@code https://127.0.0.1:40123/}. */
    public String baseUrl() {
        return properties.getProperty("AUTH_AUTHORITY");
    }

    /** The PEM file of the CA the emulator's server certificate chains to. */
    public Path caFile() {
        return Path.of(properties.getProperty("TLS_CA_FILE"));
    }

    /** The control API's URL ({@code <baseUrl>_emulator/}). */
    public String controlUrl() {
        return control.url();
    }

    /** The client of this emulator's control API (for calls {@link #get} and {@link #post} do not cover). */
    public ControlClient control() {
        return control;
    }

    /**
     * A device's certificate request holding a fresh challenge for a profile with
     * {@code subject} (and optional SANs, e.g. {@code "--san-upn", "alice@contoso.com"}):
     * the one-line base64 DER the SCEP calls take. The emulator's device module builds it
     * ({@code POST device/csr}, docs/emulator.md) with a new key each time. {@code extraArgs}
     * are those of the emulator's {@code make-csr} command: {@code --san-upn}, {@code --san-email},
     * {@code --san-dns} (each repeatable), {@code --csr-subject NAME} (the request asks for
     * another subject than the profile's), {@code --key-size N} and {@code --key-out FILE}
     * (the device's private key, PEM, mode 0600); any other is refused.
     */
    public String makeCsr(String subject, String... extraArgs) throws Exception {
        return ControlClient.stringField(deviceCsr(subject, extraArgs), "csr");
    }

    /** The same request as {@link #makeCsr}, in PEM. */
    public String makeCsrPem(String subject, String... extraArgs) throws Exception {
        return ControlClient.stringField(deviceCsr(subject, extraArgs), "csr_pem");
    }

    private String deviceCsr(String subject, String... extraArgs) throws Exception {
        if (subject == null) {
            throw new IllegalArgumentException("makeCsr: subject is required");
        }
        List<String> upns = new ArrayList<>();
        List<String> emails = new ArrayList<>();
        List<String> dns = new ArrayList<>();
        String csrSubject = null;
        String keySize = null;
        Path keyOut = null;
        for (int k = 0; k < extraArgs.length; k += 2) {
            String opt = extraArgs[k];
            if (k + 1 >= extraArgs.length || extraArgs[k + 1] == null) {
                throw new IllegalArgumentException("makeCsr: " + opt + " needs a value");
            }
            String v = extraArgs[k + 1];
            switch (opt) {
                case "--san-upn": upns.add(v); break;
                case "--san-email": emails.add(v); break;
                case "--san-dns": dns.add(v); break;
                case "--csr-subject": csrSubject = v; break;
                case "--key-size":
                    if (!v.matches("[0-9]{1,5}")) {
                        throw new IllegalArgumentException("makeCsr: --key-size must be a number: " + v);
                    }
                    keySize = v;
                    break;
                case "--key-out": keyOut = Path.of(v); break;
                default:
                    throw new IllegalArgumentException("makeCsr: unknown argument " + opt
                            + " (known: --san-upn, --san-email, --san-dns, --csr-subject, --key-size, --key-out)");
            }
        }
        StringBuilder body = new StringBuilder("{\"profile\": {\"subject\": ").append(ControlClient.quote(subject));
        appendList(body, "san_upns", upns);
        appendList(body, "san_emails", emails);
        appendList(body, "san_dns", dns);
        body.append("}, \"fresh_key\": true");
        if (csrSubject != null) {
            body.append(", \"subject\": ").append(ControlClient.quote(csrSubject));
        }
        if (keySize != null) {
            body.append(", \"key_size\": ").append(keySize);
        }
        String answer = control.post("device/csr", body.append('}').toString());
        if (keyOut != null) {
            Files.deleteIfExists(keyOut);
            Files.createFile(keyOut, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(keyOut, ControlClient.stringField(answer, "key_pem"), StandardCharsets.US_ASCII);
        }
        return answer;
    }

    private static void appendList(StringBuilder b, String name, List<String> values) {
        if (values.isEmpty()) {
            return;
        }
        b.append(", \"").append(name).append("\": [");
        for (int i = 0; i < values.size(); i++) {
            b.append(i == 0 ? "" : ", ").append(ControlClient.quote(values.get(i)));
        }
        b.append(']');
    }

    /**
     * A certificate for {@code csr} (PEM or base64 DER) from the emulator's test CA
     * ({@code POST device/certificate}), as a CA would issue it; every certificate of this
     * emulator has the same issuer.
     */
    public X509Certificate sign(String csr) throws Exception {
        if (csr == null || csr.isBlank()) {
            throw new IllegalArgumentException("sign: csr is required");
        }
        String answer = control.post("device/certificate", "{\"csr\": " + ControlClient.quote(csr) + "}");
        byte[] der = Base64.getDecoder().decode(ControlClient.stringField(answer, "certificate"));
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    /** GET a control API path (e.g. {@code "validations"}, {@code "notifications"}); the JSON answer. */
    public String get(String path) throws Exception {
        return control.get(path);
    }

    /** POST a JSON body to a control API path (e.g. {@code "faults"}); the JSON answer. */
    public String post(String path, String json) throws Exception {
        return control.post(path, json);
    }

    /** Clear faults, recorded requests, validations and notifications (issued tokens stay valid). */
    public void reset() throws Exception {
        control.post("reset", "{}");
    }

    /** Stop the emulator (closing its stdin) and remove its files. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // already closed
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(dir)) {
            files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }

    /**
     * A client of an emulator's control API ({@code <baseUrl>_emulator/}, docs/emulator.md) over
     * HTTPS, trusting only the emulator's CA: every Java test talks to the emulator through it.
     * Answers are the JSON text; an answer other than 2xx is an {@link IllegalStateException}
     * naming the method, path and HTTP status.
     */
    public static final class ControlClient {
        private final String url;
        private final SSLContext ssl;
        private final String certificateHostName;

        /** A client of the control API at {@code controlUrl} (https), trusting the certificates of {@code caFile}. */
        public ControlClient(String controlUrl, Path caFile) throws Exception {
            this(controlUrl, caFile, null);
        }

        /**
         * As {@link #ControlClient(String, Path)}, for an emulator whose server certificate names
         * {@code certificateHostName} instead of the host of {@code controlUrl}: the certificate is
         * still verified against the CA, and must name the URL's host or that one.
         */
        public ControlClient(String controlUrl, Path caFile, String certificateHostName) throws Exception {
            if (controlUrl == null || !controlUrl.startsWith("https://")) {
                throw new IllegalArgumentException("controlUrl must be an https URL: " + controlUrl);
            }
            this.url = controlUrl.endsWith("/") ? controlUrl : controlUrl + "/";
            this.ssl = sslContextTrusting(caFile);
            this.certificateHostName = certificateHostName;
        }

        /** The control API's URL, ending in '/'. */
        public String url() {
            return url;
        }

        /** GET a path; the JSON answer. */
        public String get(String path) throws Exception {
            return call("GET", path, null);
        }

        /** POST a JSON body ({@code null}: {@code {}}) to a path; the JSON answer. */
        public String post(String path, String json) throws Exception {
            return call("POST", path, json == null ? "{}" : json);
        }

        /** DELETE a path; the JSON answer. */
        public String delete(String path) throws Exception {
            return call("DELETE", path, null);
        }

        /** One call: {@code method} on {@code path} with {@code json} (or no body); the JSON answer. */
        public String call(String method, String path, String json) throws Exception {
            HttpsURLConnection c = (HttpsURLConnection) URI.create(url + path).toURL().openConnection();
            try {
                c.setSSLSocketFactory(ssl.getSocketFactory());
                if (certificateHostName != null) {
                    c.setHostnameVerifier((host, session) -> names(session, certificateHostName));
                }
                c.setConnectTimeout(10000);
                c.setReadTimeout(30000);
                c.setRequestMethod(method);
                if (json != null) {
                    c.setDoOutput(true);
                    c.setRequestProperty("Content-Type", "application/json");
                    try (OutputStream out = c.getOutputStream()) {
                        out.write(json.getBytes(StandardCharsets.UTF_8));
                    }
                }
                int status = c.getResponseCode();
                InputStream in = status / 100 == 2 ? c.getInputStream() : c.getErrorStream();
                String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
                if (status / 100 != 2) {
                    throw new IllegalStateException("emulator control " + method + " " + path + ": HTTP " + status
                            + ": " + body);
                }
                return body;
            } finally {
                c.disconnect();
            }
        }

        private static boolean names(SSLSession session, String hostName) {
            try {
                X509Certificate cert = (X509Certificate) session.getPeerCertificates()[0];
                if (cert.getSubjectAlternativeNames() == null) {
                    return false;
                }
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    if (hostName.equals(san.get(1))) {
                        return true;
                    }
                }
            } catch (Exception e) {
                return false;
            }
            return false;
        }

        /** A TLS context trusting only the certificates of a PEM file (none there: an error). */
        public static SSLContext sslContextTrusting(Path caFile) throws Exception {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int i = 0;
            try (InputStream in = Files.newInputStream(caFile)) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    ks.setCertificateEntry("ca" + i++, c);
                }
            }
            if (i == 0) {
                throw new IllegalArgumentException("no certificate in " + caFile);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        }

        /** {@code s} as a JSON string literal. */
        public static String quote(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char ch : s.toCharArray()) {
                switch (ch) {
                    case '"': b.append("\\\""); break;
                    case '\\': b.append("\\\\"); break;
                    case '\n': b.append("\\n"); break;
                    case '\r': b.append("\\r"); break;
                    case '\t': b.append("\\t"); break;
                    default:
                        if (ch < 0x20) {
                            b.append(String.format("\\u%04x", (int) ch));
                        } else {
                            b.append(ch);
                        }
                }
            }
            return b.append('"').toString();
        }

        /**
         * The string member {@code name} of a JSON object's text (an answer of the control API);
         * an {@link IllegalStateException} when it has none.
         */
        public static String stringField(String json, String name) {
            Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*\"").matcher(json);
            if (!m.find()) {
                throw new IllegalStateException("the emulator's answer has no string \"" + name + "\"");
            }
            StringBuilder out = new StringBuilder();
            for (int i = m.end(); i < json.length(); i++) {
                char ch = json.charAt(i);
                if (ch == '"') {
                    return out.toString();
                }
                if (ch != '\\') {
                    out.append(ch);
                    continue;
                }
                if (++i >= json.length()) {
                    break;
                }
                char e = json.charAt(i);
                switch (e) {
                    case 'n': out.append('\n'); break;
                    case 'r': out.append('\r'); break;
                    case 't': out.append('\t'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'u':
                        if (i + 5 > json.length()) {
                            throw new IllegalStateException("the emulator's answer has a cut \\u escape");
                        }
                        out.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                        i += 4;
                        break;
                    default: out.append(e);
                }
            }
            throw new IllegalStateException("the emulator's answer has an unterminated \"" + name + "\"");
        }
    }
}
