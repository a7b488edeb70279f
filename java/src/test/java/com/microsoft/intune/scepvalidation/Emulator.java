// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;

import com.microsoft.intune.scepvalidation.testing.IntuneEmulator;

/**
 * The Intune emulator (python -m intune_scep.emulator) as a process on
 * 127.0.0.1, and its control API through {@link IntuneEmulator.ControlClient}
 * (the one control client of the Java tests), trusting only the emulator's CA.
 * See docs/emulator.md.
 */
final class Emulator implements AutoCloseable {
    final Process process;
    final String baseUrl;
    final String controlUrl;
    final String caFile;
    final Map<String, Object> config;
    final String managedIdentityUrl;
    final String identityHeader;
    private final IntuneEmulator.ControlClient control;

    private Emulator(Process process, Map<String, Object> info) throws Exception {
        this.process = process;
        this.baseUrl = (String) info.get("base_url");
        this.controlUrl = (String) info.get("control_url");
        this.caFile = (String) info.get("ca_file");
        @SuppressWarnings("unchecked")
        Map<String, Object> cfg = (Map<String, Object>) info.get("config");
        this.config = cfg;
        this.managedIdentityUrl = (String) info.get("managed_identity_url");
        this.identityHeader = (String) info.get("identity_header");
        this.control = new IntuneEmulator.ControlClient(controlUrl, Paths.get(caFile));
    }

    static Path repo() {
        return Paths.get(System.getProperty("intunescep.repo", "..")).toAbsolutePath().normalize();
    }

    /** Start an emulator; its one JSON line is read within 60 s. */
    static Emulator start(String... extraArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("intunescep.python", "python3"), "-m",
                "intune_scep.emulator", "--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"));
        cmd.addAll(List.of(extraArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        String pythonPath = repo().resolve("python").toString();
        String existing = System.getenv("PYTHONPATH");
        pb.environment().put("PYTHONPATH", existing == null || existing.isEmpty() ? pythonPath
                : pythonPath + File.pathSeparator + existing);
        File log = new File("target", "emulator-stderr.log");
        log.getParentFile().mkdirs();
        pb.redirectError(ProcessBuilder.Redirect.appendTo(log));
        Process p = pb.start();
        CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
            try {
                BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                return r.readLine();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        String line;
        try {
            line = first.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IllegalStateException("the emulator did not start (see " + log.getAbsolutePath() + ")", e);
        }
        if (line == null) {
            p.destroyForcibly();
            throw new IllegalStateException("the emulator exited at once (see " + log.getAbsolutePath() + ")");
        }
        return new Emulator(p, Json.object(line));
    }

    static List<X509Certificate> readCertificates(String pemFile) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        try (InputStream in = Files.newInputStream(Paths.get(pemFile))) {
            Collection<? extends Certificate> certs = cf.generateCertificates(in);
            for (Certificate c : certs) {
                out.add((X509Certificate) c);
            }
        }
        return out;
    }

    /** A key store whose trusted-certificate entries are the certificates of a PEM file. */
    static KeyStore trustStoreOf(String pemFile) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        int n = 0;
        for (X509Certificate c : readCertificates(pemFile)) {
            ks.setCertificateEntry("ca" + n++, c);
        }
        return ks;
    }

    static SSLContext sslContextTrusting(String pemFile) throws Exception {
        return IntuneEmulator.ControlClient.sslContextTrusting(Paths.get(pemFile));
    }

    /** The emulator's complete client configuration, plus {@code extra} (a null value removes a key). */
    Properties properties(String... extra) {
        Properties p = new Properties();
        for (Map.Entry<String, Object> e : config.entrySet()) {
            p.setProperty(e.getKey(), String.valueOf(e.getValue()));
        }
        for (int k = 0; k + 1 < extra.length; k += 2) {
            if (extra[k + 1] == null) {
                p.remove(extra[k]);
            } else {
                p.setProperty(extra[k], extra[k + 1]);
            }
        }
        return p;
    }

    String appKey() {
        return (String) config.get("AAD_APP_KEY");
    }

    /** The control client of an emulator whose server certificate names {@code certHostName}. */
    IntuneEmulator.ControlClient controlFor(String certHostName) throws Exception {
        return new IntuneEmulator.ControlClient(controlUrl, Paths.get(caFile), certHostName);
    }

    private Object send(String method, String path, Object body) throws Exception {
        String answer = control.call(method, path, body == null && !method.equals("POST") ? null
                : Json.write(body == null ? new LinkedHashMap<String, Object>() : body));
        return answer.isEmpty() ? null : Json.parse(answer);
    }

    Object get(String path) throws Exception {
        return send("GET", path, null);
    }

    Object post(String path, Object body) throws Exception {
        return send("POST", path, body);
    }

    Object delete(String path) throws Exception {
        return send("DELETE", path, null);
    }

    /** A challenge for a profile with this subject (other profile fields as given: key, value, ...). */
    String challenge(String subject, Object... fields) throws Exception {
        Map<String, Object> profile = new LinkedHashMap<>();
        profile.put("subject", subject);
        for (int k = 0; k + 1 < fields.length; k += 2) {
            profile.put((String) fields[k], fields[k + 1]);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> r = (Map<String, Object>) post("challenges", profile);
        return (String) r.get("challenge");
    }

    /** Script a fault: key, value pairs (endpoint, status, body, times, action...). */
    void fault(Object... fields) throws Exception {
        Map<String, Object> f = new LinkedHashMap<>();
        for (int k = 0; k + 1 < fields.length; k += 2) {
            f.put((String) fields[k], fields[k + 1]);
        }
        post("faults", f);
    }

    void clearFaults() throws Exception {
        delete("faults");
    }

    void reset() throws Exception {
        post("reset", null);
    }

    void settings(Object... fields) throws Exception {
        Map<String, Object> f = new LinkedHashMap<>();
        for (int k = 0; k + 1 < fields.length; k += 2) {
            f.put((String) fields[k], fields[k + 1]);
        }
        post("settings", f);
    }

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> requests() throws Exception {
        return (List<Map<String, Object>>) get("requests");
    }

    /** The recorded requests to one endpoint (validateRequest, token...), oldest first. */
    List<Map<String, Object>> requests(String endpoint) throws Exception {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> r : requests()) {
            if (endpoint.equals(r.get("endpoint"))) {
                out.add(r);
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> headers(Map<String, Object> request) {
        return (Map<String, Object>) request.get("headers");
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> stats() throws Exception {
        return (Map<String, Object>) get("stats");
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close(); // --exit-on-stdin-eof
        } catch (IOException e) {
            // already gone
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
