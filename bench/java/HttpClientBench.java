// SPDX-License-Identifier: Apache-2.0
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * What a Java user writes instead of the jar: one java.net.http.HttpClient (HTTP/1.1,
 * keep-alive) shared by every thread, sending the same validateRequest (URL, headers,
 * body) and checking every answer is HTTP 200 with "code" equal to "Success".
 *
 * usage: java HttpClientBench throughput|cold|memory --url URL --token T --ca CA --csr FILE [options]
 */
public final class HttpClientBench {
    // The JDK has no JSON parser: the answer's top-level "code" string is read with a pattern.
    private static final Pattern CODE = Pattern.compile("\"code\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    private HttpClientBench() {
    }

    static SSLContext trusting(String caFile) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        int i = 0;
        try (InputStream in = Files.newInputStream(Path.of(caFile))) {
            for (Certificate c : cf.generateCertificates(in)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static BenchHarness.Call make(String[] args) throws Exception {
        URI url = URI.create(BenchHarness.opt(args, "--url", null));
        String token = BenchHarness.opt(args, "--token", null);
        String csr = BenchHarness.readTrimmed(BenchHarness.opt(args, "--csr", null));
        String userAgent = BenchHarness.opt(args, "--user-agent", "intune-scep/1.0.0 libcurl/7.88.1");
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .sslContext(trusting(BenchHarness.opt(args, "--ca", null)))
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        String provider = BenchHarness.PROVIDER;
        return () -> {
            String body = "{\"request\":{\"transactionId\":" + jsonString(BenchHarness.TRANSACTION_ID)
                    + ",\"certificateRequest\":" + jsonString(csr) + ",\"callerInfo\":" + jsonString(provider) + "}}";
            HttpRequest req = HttpRequest.newBuilder(url)
                    .timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .header("client-request-id", UUID.randomUUID().toString())
                    .header("api-version", "2018-02-20")
                    .header("UserAgent", provider)
                    .header("User-Agent", userAgent)
                    .header("Accept", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build();
            HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("HTTP " + r.statusCode());
            }
            Matcher m = CODE.matcher(r.body());
            if (!m.find() || !m.group(1).equals("Success")) {
                throw new IllegalStateException("answer is not code Success: " + r.body());
            }
        };
    }

    public static void main(String[] args) throws Exception {
        System.exit(BenchHarness.main("httpclient", args, HttpClientBench::make));
    }
}
