// SPDX-License-Identifier: Apache-2.0
import com.microsoft.intune.scepvalidation.IntuneScepServiceClient;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The Java jar: one IntuneScepServiceClient shared by every thread, making
 * ValidateRequest calls (which throw unless Intune answered "Success").
 *
 * usage: java -cp intune-scep.jar:. JarBench throughput|cold|memory --properties FILE --csr FILE
 *            [--log-info true] [options]
 */
public final class JarBench {
    // java.util.logging's default configuration prints INFO to the console, and the
    // client logs one INFO line per call: the benchmark measures the client, not the
    // console, so that line is off (as it is by default in Python) unless --log-info.
    // A strong reference: java.util.logging holds its loggers weakly.
    private static final Logger CLIENT_LOGGER = Logger.getLogger("com.microsoft.intune.scepvalidation");

    private JarBench() {
    }

    static BenchHarness.Call make(String[] args) throws Exception {
        if (!"true".equals(BenchHarness.opt(args, "--log-info", "false"))) {
            CLIENT_LOGGER.setLevel(Level.WARNING);
        }
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of(BenchHarness.opt(args, "--properties", null)),
                StandardCharsets.UTF_8)) {
            props.load(r);
        }
        String csr = BenchHarness.readTrimmed(BenchHarness.opt(args, "--csr", null));
        IntuneScepServiceClient client = new IntuneScepServiceClient(props);
        return () -> client.ValidateRequest(BenchHarness.TRANSACTION_ID, csr);
    }

    public static void main(String[] args) throws Exception {
        System.exit(BenchHarness.main("java", args, JarBench::make));
    }
}
