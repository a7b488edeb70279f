import com.microsoft.intune.scepvalidation.IntuneScepServiceClient;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The Java jar: one IntuneScepServiceClient shared by every thread, making
 * ValidateRequest calls (which throw unless Intune answered "Success").
 *
 * usage: java -cp intune-scep.jar:. JarBench throughput|cold|memory --properties FILE --csr FILE [options]
 */
public final class JarBench {
    private JarBench() {
    }

    static BenchHarness.Call make(String[] args) throws Exception {
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
