// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class CertificateRequestInspectorTest {
    @Test
    void readsWhatTheRequestAsksFor() throws Exception {
        byte[] der = new Csr().cn("alice").o("Contoso").challenge("the-challenge")
                .sanEmails("alice@contoso.com").key(Csr.rsa2048()).der();
        String json = CertificateRequestInspector.inspectJson(der);
        assertTrue(json.contains("\"subject\":\"CN=alice,O=Contoso\"") || json.contains("\"subject\":\"O=Contoso,CN=alice\""), json);
        assertTrue(json.contains("\"challenge_password\":\"the-challenge\""), json);
        assertTrue(json.contains("{\"type\":\"email\",\"value\":\"alice@contoso.com\"}"), json);
        assertTrue(json.contains("\"key_type\":\"RSA\"") && json.contains("\"key_bits\":2048"), json);
        assertTrue(json.contains("\"signature_valid\":true"), json);
    }

    @Test
    void refusesWhatIsNotARequest() {
        assertThrows(IllegalArgumentException.class,
                () -> CertificateRequestInspector.inspectJson("not a csr".getBytes(StandardCharsets.US_ASCII)));
        assertThrows(IllegalArgumentException.class, () -> CertificateRequestInspector.inspectJson(null));
    }
}
