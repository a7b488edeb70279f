// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Credentials without a stored secret from Java: a federated token file (workload identity
 * federation) and a managed identity (the emulator's endpoint on loopback, plain http); the
 * one-kind rule; UpdateCredentials under 8 threads of load.
 */
class CredentialKindsTest {
    static final String ISSUER = "https://oidc.cluster.example/issuer";
    static final String SUBJECT = "system:serviceaccount:pki:scep-ca";
    static final String AUDIENCE = "api://AzureADTokenExchange";
    static final String USER_IDENTITY = "7f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b";

    @TempDir
    static Path dir;
    static Emulator emu;
    static KeyPair issuer;
    static Path tokenFile;

    @BeforeAll
    static void start() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        issuer = g.generateKeyPair();
        tokenFile = dir.resolve("federated-token");
        emu = Emulator.start();
    }

    @AfterAll
    static void stop() {
        if (emu != null) {
            emu.close();
        }
    }

    @BeforeEach
    void reset() throws Exception {
        emu.reset();
        String pem = "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(issuer.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
        Map<String, Object> fc = new LinkedHashMap<>();
        fc.put("issuer", ISSUER);
        fc.put("subject", SUBJECT);
        fc.put("audience", AUDIENCE);
        fc.put("public_key_pem", pem);
        emu.settings("federated_credentials", List.of(fc), "managed_identities", List.of(USER_IDENTITY));
    }

    static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String jwt(String sub, String aud, long lifetime) throws Exception {
        long now = System.currentTimeMillis() / 1000;
        String head = b64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        String claims = b64(("{\"iss\":\"" + ISSUER + "\",\"sub\":\"" + sub + "\",\"aud\":\"" + aud + "\",\"iat\":"
                + (now - 5) + ",\"exp\":" + (now + lifetime) + ",\"jti\":\"" + UUID.randomUUID() + "\"}")
                .getBytes(StandardCharsets.UTF_8));
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(issuer.getPrivate());
        s.update((head + "." + claims).getBytes(StandardCharsets.US_ASCII));
        return head + "." + claims + "." + b64(s.sign());
    }

    static void writeToken(String text) throws Exception {
        Path tmp = dir.resolve("token.tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, tokenFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String csr() throws Exception {
        String cn = "kinds-" + UUID.randomUUID();
        return new Csr().cn(cn).challenge(emu.challenge("CN=" + cn)).base64();
    }

    String imds() {
        return emu.managedIdentityUrl + "metadata/identity/oauth2/token";
    }

    @Test
    void federatedTokenFileSucceedsAndIsReadAgain() throws Exception {
        String first = jwt(SUBJECT, AUDIENCE, 3600);
        writeToken(first + "\n");
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties("AAD_APP_KEY", null,
                "AAD_FEDERATED_TOKEN_FILE", tokenFile.toString()))) {
            client.ValidateRequest(UUID.randomUUID().toString(), csr());
            String second = jwt(SUBJECT, AUDIENCE, 3600);
            writeToken(second);
            emu.post("tokens/expire", null); // the cached tokens are refused: new ones are fetched
            client.ValidateRequest(UUID.randomUUID().toString(), csr());
            List<Map<String, Object>> reqs = emu.requests("token");
            assertTrue(reqs.size() >= 3, reqs.size() + " token requests");
            assertTrue(String.valueOf(reqs.get(0).get("body")).contains("client_assertion=" + first));
            assertTrue(String.valueOf(reqs.get(reqs.size() - 1).get("body")).contains("client_assertion=" + second));
        }
    }

    @Test
    void federatedTokenRefusalsNameTheCause() throws Exception {
        Object[][] rows = {{jwt(SUBJECT, AUDIENCE, -600), 700024L}, {jwt(SUBJECT, "api://Other", 3600), 700212L},
            {jwt("system:serviceaccount:x:intruder", AUDIENCE, 3600), 700213L}};
        for (Object[] row : rows) {
            String token = (String) row[0];
            writeToken(token);
            try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties("AAD_APP_KEY", null,
                    "AAD_FEDERATED_TOKEN_FILE", tokenFile.toString(), "MAX_RETRIES", "0"))) {
                IntuneClientAuthException e = assertThrows(IntuneClientAuthException.class,
                        () -> client.ValidateRequest(UUID.randomUUID().toString(), csr()));
                assertEquals((long) row[1], e.getAadstsCode());
                assertTrue(e.getMessage().contains("AAD_FEDERATED_TOKEN_FILE"), e.getMessage());
                assertTrue(e.getMessage().contains("refused"), e.getMessage());
                assertTrue(e.getMessage().contains("AADSTS" + row[1]), e.getMessage());
                assertFalse(e.getMessage().contains(token.substring(token.lastIndexOf('.') + 1)), "no token");
            }
        }
        Files.deleteIfExists(tokenFile);
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties("AAD_APP_KEY", null,
                "AAD_FEDERATED_TOKEN_FILE", tokenFile.toString()))) {
            IntuneClientAuthException e = assertThrows(IntuneClientAuthException.class,
                    () -> client.ValidateRequest(UUID.randomUUID().toString(), csr()));
            assertTrue(e.getMessage().contains("AAD_FEDERATED_TOKEN_FILE") && e.getMessage().contains("missing"),
                    e.getMessage());
        }
    }

    @Test
    void managedIdentitySucceedsAndUnknownIdentityIsNamed() throws Exception {
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties("AAD_APP_KEY", null,
                "AAD_MANAGED_IDENTITY", USER_IDENTITY, "AAD_MANAGED_IDENTITY_ENDPOINT", imds()))) {
            client.ValidateRequest(UUID.randomUUID().toString(), csr());
        }
        List<Map<String, Object>> reqs = emu.requests("managed_identity");
        assertEquals(2, reqs.size());
        assertEquals("true", Emulator.headers(reqs.get(0)).get("metadata"));
        assertTrue(String.valueOf(reqs.get(0).get("query")).contains("client_id=" + USER_IDENTITY));
        String unknown = "00000000-1111-2222-3333-444444444444";
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties("AAD_APP_KEY", null,
                "AAD_MANAGED_IDENTITY", unknown, "AAD_MANAGED_IDENTITY_ENDPOINT", imds()))) {
            IntuneClientAuthException e = assertThrows(IntuneClientAuthException.class,
                    () -> client.ValidateRequest(UUID.randomUUID().toString(), csr()));
            assertTrue(e.getMessage().contains("AAD_MANAGED_IDENTITY=" + unknown), e.getMessage());
            assertTrue(e.getMessage().contains("Identity not found"), e.getMessage());
        }
    }

    @Test
    void credentialKindAndTokenRoles() throws Exception {
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties())) {
            assertEquals("secret", client.getCredentialKind());
            assertEquals(List.of("scep_challenge_provider"), client.getTokenRoles("intune"));
            assertEquals(List.of("Application.Read.All"), client.getTokenRoles("graph"));
            emu.settings("roles", Map.of("intune", List.of()));
            assertEquals(List.of(), client.getTokenRoles("intune"));
            assertThrows(IllegalArgumentException.class, () -> client.getTokenRoles("other"));
            Properties mi = new Properties();
            mi.setProperty("AAD_MANAGED_IDENTITY", "system");
            mi.setProperty("AAD_MANAGED_IDENTITY_ENDPOINT", imds());
            client.UpdateCredentials(mi);
            assertEquals("managed_identity", client.getCredentialKind());
        }
    }

    @Test
    void twoCredentialKindsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IntuneScepServiceClient(emu.properties("AAD_MANAGED_IDENTITY", "system")));
        assertTrue(e.getMessage().contains("AAD_APP_KEY and AAD_MANAGED_IDENTITY are both set"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new IntuneScepServiceClient(emu.properties(
                "AAD_APP_KEY", null, "AAD_MANAGED_IDENTITY", "system", "AAD_MANAGED_IDENTITY_ENDPOINT",
                "http://example.com/token")));
    }

    @Test
    void updateCredentialsUnder8ThreadsOfLoad() throws Exception {
        writeToken(jwt(SUBJECT, AUDIENCE, 3600));
        String token = Files.readString(tokenFile);
        String csr = csr();
        try (IntuneScepServiceClient client = new IntuneScepServiceClient(emu.properties())) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger failures = new AtomicInteger();
            AtomicInteger calls = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            client.ValidateRequest(UUID.randomUUID().toString(), csr);
                        } catch (Exception e) {
                            failures.incrementAndGet();
                        }
                        calls.incrementAndGet();
                    }
                });
                t.start();
                threads.add(t);
            }
            Thread.sleep(300);
            Properties fed = new Properties();
            fed.setProperty("AAD_FEDERATED_TOKEN_FILE", tokenFile.toString());
            client.UpdateCredentials(fed);
            Thread.sleep(300);
            Properties mi = new Properties();
            mi.setProperty("AAD_MANAGED_IDENTITY", "system");
            mi.setProperty("AAD_MANAGED_IDENTITY_ENDPOINT", imds());
            client.UpdateCredentials(mi);
            Thread.sleep(300);
            client.UpdateCredentials(fed);
            Thread.sleep(300);
            stop.set(true);
            for (Thread t : threads) {
                t.join(60000);
            }
            assertEquals(0, failures.get(), "failed calls out of " + calls.get());
            assertTrue(calls.get() > 8, calls.get() + " calls");
            List<Map<String, Object>> reqs = emu.requests("token");
            assertTrue(String.valueOf(reqs.get(reqs.size() - 1).get("body")).contains("client_assertion=" + token));
            assertTrue(emu.requests("managed_identity").size() >= 1);

            // a refused candidate changes nothing
            Properties both = new Properties();
            both.setProperty("AAD_APP_KEY", "x");
            both.setProperty("AAD_MANAGED_IDENTITY", "system");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> client.UpdateCredentials(both));
            assertTrue(e.getMessage().contains("both set"), e.getMessage());
            // the shared configuration followed: a rebuilt native client uses the federated token
            client.SetTrustStore(Emulator.trustStoreOf(emu.caFile));
            client.ValidateRequest(UUID.randomUUID().toString(), csr);
        }
    }
}
