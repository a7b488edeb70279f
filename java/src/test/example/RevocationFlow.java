// SPDX-License-Identifier: Apache-2.0
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

import com.microsoft.intune.carequest.CARequestErrorCodes;
import com.microsoft.intune.carequest.CARevocationRequest;
import com.microsoft.intune.carequest.CARevocationResult;
import com.microsoft.intune.scepvalidation.IntuneClientException;
import com.microsoft.intune.scepvalidation.IntuneRevocationClient;

/**
 * A revocation task written the way the revocation example of Microsoft's
 * reference client is (the same imports, constructor, calls, fields and enum
 * values), compiled by RevocationExampleTest against the library's classes
 * alone and run in a JVM of its own against the emulator: properties from the
 * classpath resource "com.microsoft.intune.props", one download, one result
 * per request, one upload under the same transaction id. Certificates whose
 * serial number starts with "DEAD" are "not found" by this CA.
 * Exit status: 0 done, 1 an Intune client failure, 2 any other failure.
 */
public class RevocationFlow
{
    public static void main(String args[]) throws Exception
    {
        // The property file holds AAD_APP_KEY, a secret: keep it readable by the service account only.
        InputStream in = RevocationFlow.class.getResourceAsStream("com.microsoft.intune.props");
        Properties props = new Properties();
        props.load(in);
        in.close();

        // One id for the download and the upload of its results.
        UUID transactionId = UUID.randomUUID();

        IntuneRevocationClient client = new IntuneRevocationClient(props);

        int maxRequests = 100; // Microsoft recommends at most 100 per download (500 is the limit)
        String issuerName = args.length > 0 ? args[0] : null; // the issuing authority of the success notifications

        try
        {
            List<CARevocationRequest> revocationRequests = client.DownloadCARevocationRequests(transactionId.toString(), maxRequests, issuerName);

            List<CARevocationResult> caRevocationResults = new ArrayList<CARevocationResult>();
            for (CARevocationRequest revocationRequest : revocationRequests)
            {
                caRevocationResults.add(revokeCertificate(revocationRequest));
            }

            if (caRevocationResults.size() > 0)
            {
                System.out.println("Uploading " + caRevocationResults.size() + " revocation results to Intune.");
                client.UploadRevocationResults(transactionId.toString(), caRevocationResults);
            }
        }
        catch(IntuneClientException e)
        {
            System.out.println("Intune client failure: " + e.getMessage());
            System.exit(1);
        }
        catch(Exception e)
        {
            System.out.println("failure: " + e);
            System.exit(2);
        }
        finally
        {
            client.close();
        }

        System.exit(0);
    }

    private static CARevocationResult revokeCertificate(CARevocationRequest revocationRequest)
    {
        if (revocationRequest.serialNumber.startsWith("DEAD"))
        {
            return new CARevocationResult(revocationRequest.requestContext, false, CARequestErrorCodes.CertificateNotFoundError, "no certificate with serial " + revocationRequest.serialNumber);
        }
        return new CARevocationResult(revocationRequest.requestContext, true, CARequestErrorCodes.None, null);
    }
}
