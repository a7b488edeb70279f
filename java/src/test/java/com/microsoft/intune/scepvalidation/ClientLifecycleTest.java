// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.text.SimpleDateFormat;
import java.util.Base64;
import java.util.Locale;
import java.util.TimeZone;

import javax.security.auth.x500.X500Principal;

import org.junit.jupiter.api.Test;

/** close(), the Cleaner, key rotation, and the static certificate helpers. */
class ClientLifecycleTest extends EmulatorTestBase {

    @Test
    void aClosedClientRefusesCallsAndClosingTwiceIsFine() throws Exception {
        IntuneScepServiceClient client = new IntuneScepServiceClient(props());
        client.ValidateRequest("t", validCsr("alice"));
        client.close();
        client.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> client.ValidateRequest("t", "MIIB"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> client.SetAppKey("k"));
    }

    @Test
    void tryWithResources() throws Exception {
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(props())) {
            client.ValidateRequest("t", validCsr("alice"));
        }
        assertEquals(1, emu.requests("validateRequest").size());
    }

    @Test
    void anUnreachableClientCanBeCollected() throws Exception {
        // the native log sink holds a global reference: it must not pin the client
        WeakReference<IntuneScepServiceClient> ref = makeAndDrop();
        for (int i = 0; i < 50 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(ref.get(), "the client was garbage-collected (its Cleaner frees the native client)");
    }

    private WeakReference<IntuneScepServiceClient> makeAndDrop() throws Exception {
        IntuneScepServiceClient c = new IntuneScepServiceClient(props());
        c.ValidateRequest("t", validCsr("alice"));
        return new WeakReference<>(c);
    }

    @Test
    void theApplicationKeyCanBeRotatedOnALiveClient() throws Exception {
        IntuneScepServiceClient client = client("MAX_RETRIES", "0");
        String csr = validCsr("alice");
        client.ValidateRequest("before", csr);
        String newKey = "r0tated~Secret+With/Form=Chars&x"; // form-encoding matters; listed in scripts/secret-scan.sh
        emu.settings("app_secret", newKey);
        emu.post("tokens/expire", null);
        IntuneClientAuthException e = assertThrows(IntuneClientAuthException.class,
                () -> client.ValidateRequest("stale", csr));
        assertEquals("invalid_client", e.getErrorCode());
        client.SetAppKey(newKey);
        client.ValidateRequest("after", csr);
        // the rotated key also survives a rebuild of the native client
        client.SetTrustStore(Emulator.trustStoreOf(emu.caFile));
        client.ValidateRequest("after-rebuild", csr);
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02X", x));
        }
        return s.toString();
    }

    @Test
    void certificateDetailsOfPemAndDer() throws Exception {
        byte[] pem = Files.readAllBytes(Paths.get(emu.caFile));
        X509Certificate cert = Emulator.readCertificates(emu.caFile).get(0);
        CertificateDetails d = IntuneScepServiceClient.certificateDetails(pem);
        assertEquals(hex(MessageDigest.getInstance("SHA-1").digest(cert.getEncoded())), d.getThumbprint());
        assertEquals(cert.getSerialNumber(), new BigInteger(d.getSerialNumber(), 16));
        assertEquals(cert.getSerialNumber().toString(16).toUpperCase(Locale.ROOT), d.getSerialNumber());
        SimpleDateFormat iso = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT);
        iso.setTimeZone(TimeZone.getTimeZone("UTC"));
        assertEquals(iso.format(cert.getNotAfter()), d.getExpirationDate());
        assertEquals(cert.getIssuerX500Principal(), new X500Principal(d.getIssuingAuthority()));
        CertificateDetails der = IntuneScepServiceClient.certificateDetails(cert);
        assertEquals(d.getThumbprint(), der.getThumbprint());
        assertEquals(d.getIssuingAuthority(), der.getIssuingAuthority());
    }

    @Test
    void normalizeCertificateRequestFromPemAndDer() throws Exception {
        Csr csr = new Csr().cn("alice").challenge("x");
        String expected = Base64.getEncoder().encodeToString(csr.der());
        assertEquals(expected, IntuneScepServiceClient.normalizeCertificateRequest(csr.pem().getBytes("US-ASCII")));
        assertEquals(expected, IntuneScepServiceClient.normalizeCertificateRequest(csr.der()));
    }

    @Test
    void theLibraryVersion() {
        assertTrue(IntuneScepServiceClient.getLibraryVersion().matches("\\d+\\.\\d+\\.\\d+.*"),
                IntuneScepServiceClient.getLibraryVersion());
    }
}
