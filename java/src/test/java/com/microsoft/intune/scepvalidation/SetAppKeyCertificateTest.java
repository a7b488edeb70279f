// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SetAppKey on a client with a certificate credential is refused before anything is changed:
 * the shared configuration keeps exactly one credential, so a later SetTrustStore (which builds
 * a new native client from it) still works, and so do the calls after it.
 */
class SetAppKeyCertificateTest {
    @TempDir
    static Path dir;
    static Path cert;
    static Path key;
    static Emulator emu;

    @BeforeAll
    static void start() throws Exception {
        cert = dir.resolve("app.pem");
        key = dir.resolve("app.key");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                key.toString(), "-out", cert.toString(), "-subj", "/CN=SetAppKey test connector", "-days", "2")
                .redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl made the app certificate");
        emu = Emulator.start("--client-cert-file", cert.toString());
    }

    @AfterAll
    static void stop() {
        if (emu != null) {
            emu.close();
        }
    }

    @Test
    void setAppKeyOnACertificateClientChangesNothing() throws Exception {
        emu.reset();
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties("AAD_APP_KEY", null,
                "AAD_CLIENT_CERT_FILE", cert.toString(), "AAD_CLIENT_KEY_FILE", key.toString(), "MAX_RETRIES", "0"))) {
            RuntimeException refused = assertThrows(RuntimeException.class, () -> client.SetAppKey("a-new-secret"));
            assertTrue(refused.getMessage().contains("AAD_CLIENT_CERT_FILE"), refused.getMessage());
            assertTrue(!refused.getMessage().contains("a-new-secret"), "the key is not in the message");

            // the configuration still holds one credential: a rebuilt client works
            client.SetTrustStore(Emulator.trustStoreOf(emu.caFile));
            String cn = "setappkey-" + UUID.randomUUID();
            String csr = new Csr().cn(cn).challenge(emu.challenge("CN=" + cn)).base64();
            client.ValidateRequest(UUID.randomUUID().toString(), csr);
            assertEquals(1, emu.requests("validateRequest").size());
            // the token requests carried an assertion, never a secret
            for (java.util.Map<String, Object> r : emu.requests("token")) {
                String body = String.valueOf(r.get("body"));
                assertTrue(body.contains("client_assertion="), body.length() + " bytes");
                assertTrue(!body.contains("client_secret"), "no client_secret");
            }
        }
    }

    @Test
    void setAppKeyWithAControlCharacterIsRefusedFirst() throws Exception {
        emu.reset();
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties("MAX_RETRIES", "0"))) {
            assertThrows(IllegalArgumentException.class, () -> client.SetAppKey("bad\nkey"));
            // nothing changed: the client still works with its key, and a rebuilt one too
            client.SetTrustStore(Emulator.trustStoreOf(emu.caFile));
            String cn = "setappkey-ctl-" + UUID.randomUUID();
            String csr = new Csr().cn(cn).challenge(emu.challenge("CN=" + cn)).base64();
            client.ValidateRequest(UUID.randomUUID().toString(), csr);
        }
    }
}
