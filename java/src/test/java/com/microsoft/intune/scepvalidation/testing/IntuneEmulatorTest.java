// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The emulator handle: which command it runs, and a clear failure when that command is missing or dies. */
class IntuneEmulatorTest {
    private static IllegalStateException startWith(String command) {
        String old = System.getProperty("intunescep.emulator.command");
        System.setProperty("intunescep.emulator.command", command);
        try {
            return assertThrows(IllegalStateException.class, IntuneEmulator::start);
        } finally {
            if (old == null) {
                System.clearProperty("intunescep.emulator.command");
            } else {
                System.setProperty("intunescep.emulator.command", old);
            }
        }
    }

    @Test
    void aMissingCommandFailsWithTheInstallHint() {
        IllegalStateException e = startWith("/nonexistent/intune-scep-emulator");
        assertTrue(e.getMessage().contains("did not start") && e.getMessage().contains("pip install"), e.getMessage());
    }

    @Test
    void aCommandThatDiesFailsWithTheInstallHint() {
        IllegalStateException e = startWith("false");
        assertTrue(e.getMessage().contains("did not start") && e.getMessage().contains("pip install"), e.getMessage());
    }

    @Test
    void theConfiguredCommandWins() {
        String old = System.getProperty("intunescep.emulator.command");
        System.setProperty("intunescep.emulator.command", "  my-emulator  --flag ");
        try {
            assertEquals(List.of("my-emulator", "--flag"), IntuneEmulator.emulatorCommand());
        } finally {
            if (old == null) {
                System.clearProperty("intunescep.emulator.command");
            } else {
                System.setProperty("intunescep.emulator.command", old);
            }
        }
    }

    @Test
    void theConfigurationFileIsPrivateAndComplete() throws Exception {
        try (IntuneEmulator emu = IntuneEmulator.start()) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(emu.propertiesFile())));
            for (String key : List.of("AAD_APP_ID", "AAD_APP_KEY", "TENANT", "AUTH_AUTHORITY", "TLS_CA_FILE")) {
                assertTrue(emu.properties().getProperty(key) != null, key);
            }
            assertTrue(emu.get("stats").contains("connections"));
        }
    }

    private static String cn(X509Certificate c) throws Exception {
        for (Rdn r : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
            if (r.getType().equalsIgnoreCase("CN")) {
                return r.getValue().toString();
            }
        }
        return null;
    }

    /** makeCsr and sign come from the emulator's device module over the control API. */
    @Test
    void devicesRequestsAndCertificatesComeFromTheDeviceModule(@TempDir Path tmp) throws Exception {
        try (IntuneEmulator emu = IntuneEmulator.start()) {
            Path key = tmp.resolve("device-key.pem");
            String csr = emu.makeCsr("CN=alice,O=Contoso", "--san-upn", "alice@contoso.com", "--key-out",
                    key.toString());
            assertFalse(csr.contains("\n") || csr.contains("-----"), csr);
            Base64.getDecoder().decode(csr);
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(key)));
            assertTrue(Files.readString(key).startsWith("-----BEGIN PRIVATE KEY-----"));
            // a new key each time: two requests differ
            assertNotEquals(csr, emu.makeCsr("CN=alice,O=Contoso", "--san-upn", "alice@contoso.com"));
            assertTrue(emu.makeCsrPem("CN=bob").startsWith("-----BEGIN CERTIFICATE REQUEST-----\n"));

            X509Certificate cert = emu.sign(csr);
            assertEquals("alice", cn(cert));
            assertEquals(cert.getIssuerX500Principal(), emu.sign(emu.makeCsr("CN=bob")).getIssuerX500Principal());
            boolean upn = false;
            for (List<?> san : cert.getSubjectAlternativeNames()) {
                upn |= Integer.valueOf(0).equals(san.get(0)); // otherName: the UPN
            }
            assertTrue(upn, String.valueOf(cert.getSubjectAlternativeNames()));
            // the PEM form is accepted as well
            assertEquals("bob", cn(emu.sign(emu.makeCsrPem("CN=bob"))));
        }
    }

    /** --csr-subject: the request (and so its certificate) asks for another subject than the profile's. */
    @Test
    void theCsrSubjectReplacesTheProfilesInTheRequest() throws Exception {
        try (IntuneEmulator emu = IntuneEmulator.start()) {
            String csr = emu.makeCsr("CN=alice,O=Contoso", "--csr-subject", "CN=mallory,O=Contoso");
            X509Certificate cert = emu.sign(csr);
            assertEquals("mallory", cn(cert));
        }
    }

    /** A bad argument is refused before anything is sent; a refused control call names path and status. */
    @Test
    void badArgumentsAndRefusedCallsFailClearly() throws Exception {
        try (IntuneEmulator emu = IntuneEmulator.start()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> emu.makeCsr("CN=alice", "--format", "pem"));
            assertTrue(e.getMessage().contains("--format"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> emu.makeCsr("CN=alice", "--san-upn"));
            assertTrue(e.getMessage().contains("--san-upn"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> emu.makeCsr("CN=alice", "--key-size", "2048}"));
            assertTrue(e.getMessage().contains("--key-size"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> emu.makeCsr(null));
            assertThrows(IllegalArgumentException.class, () -> emu.sign(" "));
            // the emulator refuses: an unsupported key size, a request that is not one, an unknown path
            IllegalStateException s = assertThrows(IllegalStateException.class,
                    () -> emu.makeCsr("CN=alice", "--key-size", "1000"));
            assertTrue(s.getMessage().contains("device/csr") && s.getMessage().contains("400"), s.getMessage());
            s = assertThrows(IllegalStateException.class, () -> emu.sign("bm90IGEgQ1NS"));
            assertTrue(s.getMessage().contains("device/certificate") && s.getMessage().contains("400"),
                    s.getMessage());
            s = assertThrows(IllegalStateException.class, () -> emu.get("no-such-thing"));
            assertTrue(s.getMessage().contains("no-such-thing") && s.getMessage().contains("404"), s.getMessage());
            // a subject with JSON's special characters reaches the emulator intact
            String odd = "CN=a \\\"quoted\\\" name\u00e9";
            X509Certificate c = emu.sign(emu.makeCsr(odd));
            assertEquals("a \"quoted\" name\u00e9", cn(c));
        }
    }

    @Test
    void theControlClientTrustsOnlyTheEmulatorsCaAndNeedsHttps(@TempDir Path tmp) throws Exception {
        try (IntuneEmulator emu = IntuneEmulator.start()) {
            assertThrows(IllegalArgumentException.class,
                    () -> new IntuneEmulator.ControlClient(emu.controlUrl().replace("https:", "http:"), emu.caFile()));
            Path empty = Files.writeString(tmp.resolve("empty.pem"), "");
            assertThrows(IllegalArgumentException.class, () -> new IntuneEmulator.ControlClient(emu.controlUrl(), empty));
            // a CA that did not sign the emulator's certificate: the handshake fails
            String caPem = IntuneEmulator.ControlClient.stringField(
                    emu.post("device/certificate", "{\"csr\": " + IntuneEmulator.ControlClient.quote(emu.makeCsr("CN=x"))
                            + "}"), "ca_pem");
            Path other = Files.writeString(tmp.resolve("other.pem"), caPem);
            IntuneEmulator.ControlClient wrong = new IntuneEmulator.ControlClient(emu.controlUrl(), other);
            assertThrows(javax.net.ssl.SSLException.class, () -> wrong.get("stats"));
            assertTrue(emu.control().get("stats").contains("connections"));
            assertEquals("a\"b\\c\nd\u0001", IntuneEmulator.ControlClient.stringField(
                    "{\"x\": " + IntuneEmulator.ControlClient.quote("a\"b\\c\nd\u0001") + "}", "x"));
            assertThrows(IllegalStateException.class, () -> IntuneEmulator.ControlClient.stringField("{}", "x"));
            assertThrows(IllegalStateException.class, () -> IntuneEmulator.ControlClient.stringField("{\"x\": \"ab", "x"));
            StringBuilder longValue = new StringBuilder();
            for (int i = 0; i < 20000; i++) {
                longValue.append(i % 64 == 0 ? "\\n" : "A");
            }
            assertEquals(20000, IntuneEmulator.ControlClient.stringField("{\"x\": \"" + longValue + "\"}", "x").length());
        }
    }

    /** An emulator whose certificate names another host: reached only by a client told that name. */
    @Test
    void aCertificateForAnotherHostNeedsThatName() throws Exception {
        try (IntuneEmulator emu = IntuneEmulator.start("--server-cert-hostname", "not-this-host.example")) {
            IntuneEmulator.ControlClient plain = new IntuneEmulator.ControlClient(emu.controlUrl(), emu.caFile());
            assertThrows(java.io.IOException.class, () -> plain.get("stats"));
            IntuneEmulator.ControlClient wrongName = new IntuneEmulator.ControlClient(emu.controlUrl(), emu.caFile(),
                    "yet-another-host.example");
            assertThrows(java.io.IOException.class, () -> wrongName.get("stats"));
            IntuneEmulator.ControlClient named = new IntuneEmulator.ControlClient(emu.controlUrl(), emu.caFile(),
                    "not-this-host.example");
            assertTrue(named.get("stats").contains("connections"));
        }
    }
}
