// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.testing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A running Intune emulator (the {@code intune-scep-emulator} command, or
 * {@code python3 -m intune_scep.emulator}) for a test: its client configuration, the
 * device and CA helpers of its command line, and its control API over HTTPS trusting
 * only the emulator's CA. Normally made by {@link IntuneEmulatorExtension}.
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
    private final List<String> command;
    private final Process process;
    private final Path dir;
    private final Path propertiesFile;
    private final Properties properties;
    private final String controlUrl;
    private final HttpClient http;

    private IntuneEmulator(List<String> command, Process process, Path dir, Path propertiesFile) throws Exception {
        this.command = command;
        this.process = process;
        this.dir = dir;
        this.propertiesFile = propertiesFile;
        this.properties = new Properties();
        try (Reader r = Files.newBufferedReader(propertiesFile, StandardCharsets.ISO_8859_1)) {
            properties.load(r);
        }
        String base = properties.getProperty("AUTH_AUTHORITY");
        this.controlUrl = (base.endsWith("/") ? base : base + "/") + "_emulator/";
        this.http = HttpClient.newBuilder().sslContext(trusting(Path.of(properties.getProperty("TLS_CA_FILE"))))
                .connectTimeout(Duration.ofSeconds(10)).build();
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
        return new IntuneEmulator(base, p, dir, props);
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
        return controlUrl;
    }

    /**
     * A device's certificate request holding a fresh challenge for a profile with
     * {@code subject} (and optional SANs, e.g. {@code "--san-upn", "alice@contoso.com"}):
     * the one-line base64 DER the SCEP calls take.
     */
    public String makeCsr(String subject, String... extraArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of("make-csr", "--properties", propertiesFile.toString(),
                "--subject", subject, "--format", "base64"));
        args.addAll(List.of(extraArgs));
        return new String(helper(args, null), StandardCharsets.US_ASCII).strip();
    }

    /** The same request as {@link #makeCsr}, in PEM. */
    public String makeCsrPem(String subject, String... extraArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of("make-csr", "--properties", propertiesFile.toString(),
                "--subject", subject, "--format", "pem"));
        args.addAll(List.of(extraArgs));
        return new String(helper(args, null), StandardCharsets.US_ASCII);
    }

    /**
     * A certificate for {@code csr} (PEM, DER or base64) from a test CA, as a CA would issue
     * it; every certificate of this emulator has the same issuer.
     */
    public X509Certificate sign(String csr) throws Exception {
        byte[] pem = helper(List.of("sign", "--csr", "-", "--ca-dir", dir.resolve("ca").toString(), "--format", "pem"),
                csr.getBytes(StandardCharsets.US_ASCII));
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem));
    }

    private byte[] helper(List<String> args, byte[] stdin) throws Exception {
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(args);
        Process p = processBuilder(cmd).start();
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin);
            }
        }
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("emulator helper " + String.join(" ", args.subList(0, 1)) + " failed: "
                    + new String(err.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8).strip());
        }
        return out.toByteArray();
    }

    /** GET a control API path (e.g. {@code "validations"}, {@code "notifications"}); the JSON answer. */
    public String get(String path) throws Exception {
        return call(HttpRequest.newBuilder(URI.create(controlUrl + path)).GET());
    }

    /** POST a JSON body to a control API path (e.g. {@code "faults"}); the JSON answer. */
    public String post(String path, String json) throws Exception {
        return call(HttpRequest.newBuilder(URI.create(controlUrl + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json == null ? "{}" : json, StandardCharsets.UTF_8)));
    }

    /** Clear faults, recorded requests, validations and notifications (issued tokens stay valid). */
    public void reset() throws Exception {
        post("reset", "{}");
    }

    private String call(HttpRequest.Builder b) throws Exception {
        HttpResponse<String> r = http.send(b.timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException("emulator control " + r.request().uri().getPath() + ": HTTP "
                    + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    private static SSLContext trusting(Path caFile) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        try (InputStream in = Files.newInputStream(caFile)) {
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
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
}
