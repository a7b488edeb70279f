// SPDX-License-Identifier: Apache-2.0
package example;

import java.security.cert.X509Certificate;
import java.util.function.Function;

import com.microsoft.intune.scepvalidation.IntuneClientException;
import com.microsoft.intune.scepvalidation.IntuneScepServiceClient;

/** A CA's SCEP handler as a newcomer writes it: validate, issue only on Success, then notify. */
public final class ScepHandler {
    private final IntuneScepServiceClient client; // one client, shared by every request
    private final Function<String, X509Certificate> ca;

    public ScepHandler(IntuneScepServiceClient client, Function<String, X509Certificate> ca) {
        this.client = client;
        this.ca = ca;
    }

    /** The issued certificate, or null when Intune did not say Success (nothing issued). */
    public X509Certificate enroll(String transactionId, String csr) throws Exception {
        try {
            client.ValidateRequest(transactionId, csr);
        } catch (IntuneClientException e) {
            return null; // the library logged the outcome with the activity id
        }
        X509Certificate cert = ca.apply(csr);
        try {
            client.notifySuccessForCertificate(transactionId, csr, cert);
        } catch (IntuneClientException e) {
            return null; // Intune does not know the certificate: do not hand it out
        }
        return cert;
    }
}
