// SPDX-License-Identifier: Apache-2.0
import java.io.InputStream;
import java.util.Properties;
import java.util.UUID;

import com.microsoft.intune.scepvalidation.IntuneScepServiceClient;
import com.microsoft.intune.scepvalidation.IntuneScepServiceException;

/**
 * The flow of the documented example of Microsoft's reference client, written
 * against this jar in the same style (same imports, calls, literals and catch
 * clauses), to show that code written for the reference compiles and runs
 * unchanged: properties from a classpath resource, one client, validate, then
 * a success and a failure notification. It returns its exit status instead of
 * calling System.exit, so a test can run it in-process.
 */
public class ExampleFlow
{
    /** The request to validate; the reference's example had a placeholder here. */
    static String csr = "BASE64 Encoded CSR would go here";

    public static void main(String args[]) throws Exception
    {
        System.out.println("exit status " + run());
    }

    static int run() throws Exception
    {
        // The property file holds AAD_APP_KEY, a secret: keep it readable by the service account only.
        InputStream in = ExampleFlow.class.getResourceAsStream("com.microsoft.intune.props");
        Properties props = new Properties();
        props.load(in);
        in.close();

        UUID transactionId = UUID.randomUUID();

        IntuneScepServiceClient client = new IntuneScepServiceClient(props);

        // A proxy is configured with PROXY_HOST/PROXY_PORT here; the reference's socket-factory hook:
        //client.SetSslSocketFactory(sslFactory);

        try
        {
            client.ValidateRequest(transactionId.toString(), csr);

            client.SendSuccessNotification(transactionId.toString(), csr, "thumbprint", "serial", "2018-06-11T16:11:20.0904778Z", "authority");

            client.SendFailureNotification(transactionId.toString(), csr, 0x8000ffff, "description");
        }
        catch(IntuneScepServiceException e)
        {
            // handling of the known failure: Intune said no
            return 1;
        }
        catch(Exception e)
        {
            // handling of any other failure
            return 2;
        }
        return 0;
    }
}
