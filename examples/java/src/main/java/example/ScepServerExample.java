// SPDX-License-Identifier: Apache-2.0
package example;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Properties;

import com.microsoft.intune.scepvalidation.IntuneScepServiceClient;
import com.microsoft.intune.scepvalidation.IntuneScepServiceException;

/**
 * Microsoft's documented flow for a SCEP server, with the intune-scep jar:
 * validate the device's request with Intune first; issue only when Intune said
 * Success; then tell Intune the outcome (success with the issued certificate, or
 * failure with an HRESULT).
 *
 * <pre>
 * java -cp intune-scep-VERSION.jar:intune-scep-example-1.0.jar example.ScepServerExample \
 *     intune.properties device.csr TRANSACTION_ID [issued.pem]
 * </pre>
 * device.csr holds the request as the SCEP server received it (base64 of the DER
 * PKCS#10); issued.pem is the certificate "the CA" issues (this example has no CA:
 * without the file it reports a failure to Intune). Exit status: 0 Success,
 * 1 Intune said no (nothing issued), 2 any other failure (nothing issued either).
 */
public final class ScepServerExample {
    private ScepServerExample() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: ScepServerExample PROPERTIES_FILE CSR_FILE TRANSACTION_ID [ISSUED_PEM]");
            System.exit(2);
        }
        Properties props = new Properties();
        // The file holds AAD_APP_KEY, a secret: keep it readable by the service account only.
        try (InputStream in = Files.newInputStream(Paths.get(args[0]))) {
            props.load(in);
        }
        String csr = new String(Files.readAllBytes(Paths.get(args[1])), StandardCharsets.US_ASCII).trim();
        String transactionId = args[2];
        Path issuedFile = args.length == 4 ? Paths.get(args[3]) : null;

        System.out.println("intune-scep native library " + IntuneScepServiceClient.getLibraryVersion());
        // One client for the whole server: it is thread-safe and keeps its connections and tokens.
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(props)) {
            try {
                client.ValidateRequest(transactionId, csr);   // returns only when Intune said Success
                System.out.println("validateRequest: Success");
            } catch (IntuneScepServiceException e) {
                System.out.println("validateRequest: Intune said no (" + e.getParsedErrorCode()
                        + ", activity " + e.getActivityId() + "): not issuing");
                System.exit(1);
            }

            if (issuedFile == null) {
                // The CA could not issue: say so, so the device's status in Intune is right.
                client.SendFailureNotification(transactionId, csr, 0x80004005L, "the CA could not issue");
                System.out.println("failureNotification: Success");
                return;
            }
            X509Certificate issued;
            try (InputStream in = Files.newInputStream(issuedFile)) {
                issued = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            }
            client.notifySuccessForCertificate(transactionId, csr, issued);
            System.out.println("successNotification: Success");
        } catch (IntuneScepServiceException e) {
            System.out.println("notification: Intune said no (" + e.getParsedErrorCode() + ", activity "
                    + e.getActivityId() + ")");
            System.exit(1);
        } catch (Exception e) {
            System.out.println("failed: " + e);
            System.exit(2);
        }
    }
}
