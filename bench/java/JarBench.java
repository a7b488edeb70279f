// SPDX-License-Identifier: Apache-2.0
import com.microsoft.intune.scepvalidation.IntuneScepServiceClient;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Properties;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * The Java jar: one IntuneScepServiceClient shared by every thread, making
 * ValidateRequest calls (which throw unless Intune answered "Success").
 *
 * With --socket-factory CA.pem the client is given SetSslSocketFactory(a factory
 * trusting CA.pem): its HTTPS then goes through Java's TLS (HttpsURLConnection).
 *
 * usage: java -cp intune-scep.jar:. JarBench throughput|cold|memory --properties FILE --csr FILE
 *            [--socket-factory CA.pem] [--log-level LEVEL] [options]
 */
public final class JarBench {
    // java.util.logging's default configuration (INFO and above to the console) is
    // what is measured: the client logs a successful call at FINE, so nothing is
    // printed per call. --log-level FINE sets the client's logger to FINE (and the
    // console handler with it) to measure the cost of that line.
    // A strong reference: java.util.logging holds its loggers weakly.
    private static final Logger CLIENT_LOGGER = Logger.getLogger("com.microsoft.intune.scepvalidation");

    private JarBench() {
    }

    static BenchHarness.Call make(String[] args) throws Exception {
        String level = BenchHarness.opt(args, "--log-level", null);
        if (level != null) {
            Level l = Level.parse(level);
            CLIENT_LOGGER.setLevel(l);
            for (java.util.logging.Handler h : Logger.getLogger("").getHandlers()) {
                h.setLevel(l);
            }
        }
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of(BenchHarness.opt(args, "--properties", null)),
                StandardCharsets.UTF_8)) {
            props.load(r);
        }
        String csr = BenchHarness.readTrimmed(BenchHarness.opt(args, "--csr", null));
        String factoryCa = BenchHarness.opt(args, "--socket-factory", null);
        if (factoryCa != null) {
            props.remove("TLS_CA_FILE"); // the factory's trust decides
        }
        IntuneScepServiceClient client = new IntuneScepServiceClient(props);
        if (factoryCa != null) {
            client.SetSslSocketFactory(factoryTrusting(factoryCa));
        }
        return () -> client.ValidateRequest(BenchHarness.TRANSACTION_ID, csr);
    }

    static SSLSocketFactory factoryTrusting(String pem) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(Path.of(pem))) {
            int n = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca" + n++, c);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx.getSocketFactory();
    }

    public static void main(String[] args) throws Exception {
        System.exit(BenchHarness.main("java", args, JarBench::make));
    }
}
