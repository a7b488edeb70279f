// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Invalid arguments and configuration: IllegalArgumentException naming the
 * argument or key, raised before anything is sent, never quoting a secret.
 */
class IllegalArgumentTest extends EmulatorTestBase {

    private static void assertNames(String name, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(name), "message should name '" + name + "': " + e.getMessage());
    }

    @Test
    void everyRequiredArgumentOfEveryCall() throws Exception {
        IntuneScepServiceClient c = client();
        String t = "t";
        String r = "MIIB";
        for (String bad : new String[] {null, ""}) {
            assertNames("'transactionId'", () -> c.ValidateRequest(bad, r));
            assertNames("'certificateRequest'", () -> c.ValidateRequest(t, bad));

            assertNames("'transactionId'", () -> c.SendSuccessNotification(bad, r, "a", "b", "c", "d"));
            assertNames("'certificateRequest'", () -> c.SendSuccessNotification(t, bad, "a", "b", "c", "d"));
            assertNames("'certThumbprint'", () -> c.SendSuccessNotification(t, r, bad, "b", "c", "d"));
            assertNames("'certSerialNumber'", () -> c.SendSuccessNotification(t, r, "a", bad, "c", "d"));
            assertNames("'certExpirationDate'", () -> c.SendSuccessNotification(t, r, "a", "b", bad, "d"));
            assertNames("'certIssuingAuthority'", () -> c.SendSuccessNotification(t, r, "a", "b", "c", bad));
            assertNames("'certIssuingAuthority'",
                    () -> c.SendSuccessNotification(t, r, "a", "b", "c", bad, "cfg", "ca"));

            assertNames("'transactionId'", () -> c.SendFailureNotification(bad, r, 1L, "d"));
            assertNames("'certificateRequest'", () -> c.SendFailureNotification(t, bad, 1L, "d"));
            assertNames("'errorDescription'", () -> c.SendFailureNotification(t, r, 1L, bad));

            assertNames("'appKey'", () -> c.SetAppKey(bad));
        }
        assertNames("'transactionId'", () -> c.ValidateRequest("a\0b", r));
        assertNames("'caConfiguration'", () -> c.SendSuccessNotification(t, r, "a", "b", "c", "d", "x\0", null));
        assertNames("'certificate'", () -> c.notifySuccessForCertificate(t, r, (byte[]) null));
        assertNames("'certificate'", () -> c.notifySuccessForCertificate(t, r, new byte[0]));
        assertNames("'certificate'", () -> c.notifySuccessForCertificate(t, r, (java.security.cert.X509Certificate) null));
        assertNames("'trustStore'", () -> c.SetTrustStore(null));
        KeyStore empty = KeyStore.getInstance("PKCS12");
        empty.load(null, null);
        assertNames("'trustStore'", () -> c.SetTrustStore(empty));
        assertEquals(0, emu.requests().size(), "nothing was sent");
    }

    @Test
    void theNativeCheckIsReachedToo() throws Exception {
        // a certificate that does not parse is refused by the library itself
        IntuneScepServiceClient c = client();
        assertNames("certificate", () -> c.notifySuccessForCertificate("t", "MIIB", "not a cert".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(0, emu.requests().size(), "nothing was sent");
    }

    @Test
    void configurationErrorsNameTheKey() {
        assertNames("'configProperties'", () -> new IntuneScepServiceClient(null));
        for (String key : new String[] {"AAD_APP_ID", "AAD_APP_KEY", "TENANT", "PROVIDER_NAME_AND_VERSION"}) {
            assertNames(key, () -> new IntuneScepServiceClient(props(key, null)));
            assertNames(key, () -> new IntuneScepServiceClient(props(key, "")));
        }
        assertNames("PROXY_PORT", () -> new IntuneScepServiceClient(props("PROXY_HOST", "proxy.local",
                "PROXY_PORT", "not-a-port")));
        assertNames("PROXY_PORT", () -> new IntuneScepServiceClient(props("PROXY_HOST", "proxy.local",
                "PROXY_PORT", "70000")));
        assertNames("PROXY_PASS", () -> new IntuneScepServiceClient(props("PROXY_HOST", "proxy.local",
                "PROXY_PORT", "3128", "PROXY_USER", "u")));
        assertNames("MAX_RETRIES", () -> new IntuneScepServiceClient(props("MAX_RETRIES", "eleven")));
        assertNames("TIMEOUT_MS", () -> new IntuneScepServiceClient(props("TIMEOUT_MS", "-5")));
        assertNames("TENANT", () -> new IntuneScepServiceClient(props("TENANT", "a\0b")));
    }

    @Test
    void aBadSecretValueIsNeverQuoted() {
        String secret = "s3cr3t\u0001value";
        Properties p = props("AAD_APP_KEY", secret);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new IntuneScepServiceClient(p));
        assertTrue(e.getMessage().contains("AAD_APP_KEY"), e.getMessage());
        assertFalse(e.getMessage().contains("s3cr3t"), e.getMessage());
    }

    @Test
    void staticHelpersNameTheirArgument() {
        assertNames("'certificate'", () -> IntuneScepServiceClient.certificateDetails((byte[]) null));
        assertNames("'certificate'", () -> IntuneScepServiceClient.certificateDetails(new byte[] {1, 2, 3}));
        assertNames("'certificateRequest'", () -> IntuneScepServiceClient.normalizeCertificateRequest(null));
        assertNames("'certificateRequest'",
                () -> IntuneScepServiceClient.normalizeCertificateRequest("garbage".getBytes(StandardCharsets.US_ASCII)));
    }
}
