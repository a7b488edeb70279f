// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

/** What each method puts on the wire, as the emulator recorded it: headers and exact JSON bodies. */
class RecordedRequestTest extends EmulatorTestBase {

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(Map<String, Object> request) {
        return (Map<String, Object>) request.get("json");
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static String provider() {
        return (String) emu.config.get("PROVIDER_NAME_AND_VERSION");
    }

    private static void assertScepHeaders(Map<String, Object> request, String action) {
        assertEquals("POST", request.get("method"));
        assertEquals("/ScepRequestValidationFEService/ScepActions/" + action, request.get("path"));
        Map<String, Object> h = Emulator.headers(request);
        assertTrue(((String) h.get("authorization")).startsWith("Bearer "), "authorization: " + h);
        assertEquals("application/json", h.get("content-type"));
        assertEquals("2018-02-20", h.get("api-version"));
        assertEquals(provider(), h.get("useragent"));
        assertNotNull(h.get("user-agent"));
        UUID activity = UUID.fromString((String) h.get("client-request-id"));
        assertNotNull(activity);
    }

    @Test
    void validateRequest() throws Exception {
        IntuneScepServiceClient client = client();
        String tid = newTransactionId();
        String csr = validCsr("alice");
        client.ValidateRequest(tid, csr);
        Map<String, Object> r = onlyRequest("validateRequest");
        assertScepHeaders(r, "validateRequest");
        assertEquals(map("request", map("transactionId", tid, "certificateRequest", csr, "callerInfo", provider())),
                json(r));
        assertNotEquals(tid, Emulator.headers(r).get("client-request-id"));
    }

    @Test
    void successNotificationWithTheDocumentedSixArguments() throws Exception {
        IntuneScepServiceClient client = client();
        String tid = newTransactionId();
        String csr = validCsr("alice");
        client.ValidateRequest(tid, csr); // Intune accepts notifications of validated requests only
        client.SendSuccessNotification(tid, csr, "7A3C0FF1D6B2E9A4C1F0B6D2E8A9C3F1D2E4B6A8", "1A2B3C",
                "2027-06-11T16:11:20.000Z", "CN=Contoso Issuing CA");
        Map<String, Object> r = onlyRequest("successNotification");
        assertScepHeaders(r, "successNotification");
        assertEquals(map("notification", map("transactionId", tid, "certificateRequest", csr,
                "certificateThumbprint", "7A3C0FF1D6B2E9A4C1F0B6D2E8A9C3F1D2E4B6A8",
                "certificateSerialNumber", "1A2B3C", "certificateExpirationDateUtc", "2027-06-11T16:11:20.000Z",
                "issuingCertificateAuthority", "CN=Contoso Issuing CA", "callerInfo", provider(),
                "caConfiguration", null, "certificateAuthority", null)), json(r));
    }

    @Test
    void successNotificationWithTheReferencesEightArguments() throws Exception {
        IntuneScepServiceClient client = client();
        String tid = newTransactionId();
        String csr = validCsr("alice");
        client.ValidateRequest(tid, csr);
        client.SendSuccessNotification(tid, csr, "AB", "01", "2027-06-11T16:11:20.000Z", "CN=CA",
                "ca01.contoso.com\\Contoso Issuing CA", "Contoso Issuing CA");
        Map<String, Object> r = onlyRequest("successNotification");
        assertEquals(map("notification", map("transactionId", tid, "certificateRequest", csr,
                "certificateThumbprint", "AB", "certificateSerialNumber", "01",
                "certificateExpirationDateUtc", "2027-06-11T16:11:20.000Z", "issuingCertificateAuthority", "CN=CA",
                "callerInfo", provider(), "caConfiguration", "ca01.contoso.com\\Contoso Issuing CA",
                "certificateAuthority", "Contoso Issuing CA")), json(r));
    }

    @Test
    void failureNotificationKeepsTheExactHresult() throws Exception {
        IntuneScepServiceClient client = client();
        String csr = validCsr("alice");
        String t1 = newTransactionId();
        String t2 = newTransactionId();
        client.SendFailureNotification(t1, csr, 0x80004005L, "long literal");
        client.SendFailureNotification(t2, csr, 0x80004005, "int literal");
        Map<String, Object> first = emu.requests("failureNotification").get(0);
        Map<String, Object> second = emu.requests("failureNotification").get(1);
        assertScepHeaders(first, "failureNotification");
        assertEquals(map("notification", map("transactionId", t1, "certificateRequest", csr, "hResult", 2147500037L,
                "errorDescription", "long literal", "callerInfo", provider())), json(first));
        assertTrue(((String) first.get("body")).contains("2147500037"), (String) first.get("body"));
        assertEquals(map("notification", map("transactionId", t2, "certificateRequest", csr,
                "hResult", -2147467259L, "errorDescription", "int literal", "callerInfo", provider())), json(second));
        assertTrue(((String) second.get("body")).contains("-2147467259"), (String) second.get("body"));
    }

    @Test
    void textOutsideTheBasicPlaneReachesTheWireIntact() throws Exception {
        IntuneScepServiceClient client = client();
        String csr = validCsr("alice");
        String tid = "txn-\u00e9\u4e2d-\ud83d\ude00";
        String description = "CA refused: caf\u00e9 \ud83d\udd12 \u2014 \u00fc";
        client.SendFailureNotification(tid, csr, 1L, description);
        Map<String, Object> r = onlyRequest("failureNotification");
        @SuppressWarnings("unchecked")
        Map<String, Object> n = (Map<String, Object>) json(r).get("notification");
        assertEquals(tid, n.get("transactionId"));
        assertEquals(description, n.get("errorDescription"));
    }

    @Test
    void successNotificationDerivedFromTheIssuedCertificate() throws Exception {
        IntuneScepServiceClient client = client();
        String csr = validCsr("alice");
        String tid = newTransactionId();
        X509Certificate cert = Emulator.readCertificates(emu.caFile).get(0);
        client.ValidateRequest(tid, csr);
        client.notifySuccessForCertificate(tid, csr, cert, "ca-config", "ca-name");
        Map<String, Object> r = onlyRequest("successNotification");
        @SuppressWarnings("unchecked")
        Map<String, Object> n = (Map<String, Object>) json(r).get("notification");
        StringBuilder sha1 = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-1").digest(cert.getEncoded())) {
            sha1.append(String.format("%02X", b));
        }
        assertEquals(sha1.toString(), n.get("certificateThumbprint"));
        assertEquals(cert.getSerialNumber().toString(16).toUpperCase(Locale.ROOT), n.get("certificateSerialNumber"));
        assertEquals("ca-config", n.get("caConfiguration"));
        assertEquals("ca-name", n.get("certificateAuthority"));
        assertEquals(tid, n.get("transactionId"));

        // the byte[] form (PEM) sends the same fields; the optional ones not given are JSON null
        client.notifySuccessForCertificate(tid, csr, java.nio.file.Files.readAllBytes(java.nio.file.Paths.get(emu.caFile)));
        java.util.List<Map<String, Object>> sent = emu.requests("successNotification");
        assertEquals(2, sent.size());
        @SuppressWarnings("unchecked")
        Map<String, Object> n2 = (Map<String, Object>) json(sent.get(1)).get("notification");
        assertEquals(n.get("certificateThumbprint"), n2.get("certificateThumbprint"));
        assertEquals(n.get("certificateSerialNumber"), n2.get("certificateSerialNumber"));
        assertEquals(n.get("certificateExpirationDateUtc"), n2.get("certificateExpirationDateUtc"));
        assertEquals(n.get("issuingCertificateAuthority"), n2.get("issuingCertificateAuthority"));
        assertTrue(n2.containsKey("caConfiguration") && n2.get("caConfiguration") == null, n2.toString());
    }
}
