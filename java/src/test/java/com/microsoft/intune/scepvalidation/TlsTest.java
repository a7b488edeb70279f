// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** TLS on the native path: trust limited to TLS_CA_FILE; SetTrustStore does what it says (SslSocketFactoryTest: the Java path). */
class TlsTest extends EmulatorTestBase {

    private static Set<Path> privateCaDirs() throws Exception {
        Set<Path> out = new HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Paths.get(System.getProperty("java.io.tmpdir")),
                "intune-scep-ca-*")) {
            for (Path p : ds) {
                out.add(p);
            }
        }
        return out;
    }

    /** A CA that did not sign the emulator's certificate: the first of the system bundle. */
    private static KeyStore otherCa() throws Exception {
        String bundle = System.getenv("SSL_CERT_FILE");
        if (bundle == null || !Files.isRegularFile(Paths.get(bundle))) {
            bundle = "/etc/ssl/certs/ca-certificates.crt";
        }
        List<X509Certificate> certs = Emulator.readCertificates(bundle);
        X509Certificate emuCa = Emulator.readCertificates(emu.caFile).get(0);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        for (X509Certificate c : certs) {
            if (!c.equals(emuCa)) {
                ks.setCertificateEntry("other", c);
                break;
            }
        }
        return ks;
    }

    @Test
    void withoutTheEmulatorsCaTheCallFailsClosed() throws Exception {
        // neither the system store nor SSL_CERT_FILE trusts the emulator
        IntuneScepServiceClient client = client("TLS_CA_FILE", null, "MAX_RETRIES", "0");
        IntuneClientException e = assertThrows(IntuneClientException.class,
                () -> client.ValidateRequest(newTransactionId(), validCsr("alice")));
        assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName());
        assertEquals(0, emu.requests().size(), "no request got through TLS");
    }

    @Test
    void setTrustStoreWithTheEmulatorsCaMakesCallsSucceed() throws Exception {
        IntuneScepServiceClient client = client("TLS_CA_FILE", null, "MAX_RETRIES", "0");
        Set<Path> before = privateCaDirs();
        client.SetTrustStore(Emulator.trustStoreOf(emu.caFile));
        Set<Path> created = privateCaDirs();
        created.removeAll(before);
        assertEquals(1, created.size(), created.toString());
        Path dir = created.iterator().next();
        Path pem = dir.resolve("truststore.pem");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pem)));
        assertTrue(Files.readString(pem).startsWith("-----BEGIN CERTIFICATE-----\n"));

        client.ValidateRequest(newTransactionId(), validCsr("alice"));
        assertEquals(1, emu.requests("validateRequest").size());

        // another CA: the next call fails TLS, and the previous private file is gone
        client.SetTrustStore(otherCa());
        assertFalse(Files.exists(pem), "the replaced client's file is deleted");
        IntuneClientException e = assertThrows(IntuneClientException.class,
                () -> client.ValidateRequest(newTransactionId(), validCsr("alice")));
        assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName());
        assertEquals(1, emu.requests("validateRequest").size());

        client.close();
        Set<Path> left = privateCaDirs();
        left.removeAll(before);
        assertTrue(left.isEmpty(), "closing deletes the private file: " + left);
    }
}
