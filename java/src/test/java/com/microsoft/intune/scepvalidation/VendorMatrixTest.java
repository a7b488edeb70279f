// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Microsoft's SCEP vendor test matrix through the Java package: the runner of
 * tests/scenarios/vendor.json (as tests/test_matrix.c and python/tests/test_matrix.py;
 * the fields are described in tests/scenarios/README.md). The emulator plays Intune, the
 * device (POST device/csr) and the CA (POST device/certificate); the test plays the SCEP
 * server: validate, have a certificate issued only on Success, notify, and hand the
 * certificate over only when Intune took the notification. The warning log line of a
 * refused token (expect.log_warning) is checked by the C and Python runners only.
 */
@SuppressWarnings("unchecked")
class VendorMatrixTest extends EmulatorTestBase {
    /** The number of scenarios when the table was written: a table that shrinks fails. */
    private static final int SCENARIO_FLOOR = 50;

    private static List<Map<String, Object>> scenarios() throws Exception {
        String text = Files.readString(Emulator.repo().resolve("tests/scenarios/vendor.json"), StandardCharsets.UTF_8);
        return (List<Map<String, Object>>) Json.object(text).get("scenarios");
    }

    @Test
    void scenarioCount() throws Exception {
        List<Map<String, Object>> all = scenarios();
        System.out.println("vendor matrix: " + all.size() + " scenarios");
        Set<Object> names = new HashSet<>();
        for (Map<String, Object> s : all) {
            assertTrue(names.add(s.get("name")), "a scenario name twice: " + s.get("name"));
        }
        assertTrue(all.size() >= SCENARIO_FLOOR, all.size() + " scenarios, fewer than " + SCENARIO_FLOOR);
    }

    @TestFactory
    Stream<DynamicTest> vendorScenarios() throws Exception {
        return scenarios().stream().map(s -> DynamicTest.dynamicTest((String) s.get("name"), () -> run(s)));
    }

    private static Map<String, Object> map(Object o) {
        return o == null ? Map.of() : (Map<String, Object>) o;
    }

    private static int number(Object o, int dflt) {
        return o instanceof Number ? ((Number) o).intValue() : dflt;
    }

    /** The device's request (the emulator builds it), checked to hold the hash and key size asked for. */
    private Map<String, Object> deviceRequest(Map<String, Object> s, Map<String, Object> profile, boolean freshKey)
            throws Exception {
        Map<String, Object> body = new LinkedHashMap<>(map(s.get("device")));
        body.put("profile", profile);
        if (freshKey) {
            body.put("fresh_key", true);
        }
        Map<String, Object> d = (Map<String, Object>) emu.post("device/csr", body);
        List<Object> hashes = (List<Object>) profile.get("hash_algorithms");
        Object hash = body.get("hash") != null ? body.get("hash") : hashes != null ? hashes.get(0) : "sha256";
        int bits = number(body.get("key_size"), number(profile.get("key_size"), 2048));
        String info = CertificateRequestInspector.inspectJson(Base64.getDecoder().decode((String) d.get("csr")));
        assertTrue(info.contains("\"signature_hash\":\"" + hash + "\""), info);
        assertTrue(info.contains("\"key_bits\":" + bits), info);
        return d;
    }

    private static Map<String, Object> find(Object list, String field, String value) {
        for (Map<String, Object> n : (List<Map<String, Object>>) list) {
            Map<String, Object> src = n.containsKey("notification") ? map(n.get("notification")) : n;
            if (value.equals(src.get(field))) {
                return src;
            }
        }
        return null;
    }

    /** Validate, issue, notify; the certificate answer when the device got it. */
    private Map<String, Object> enroll(IntuneScepServiceClient c, String tid, String csr, int days, List<Object> issued)
            throws Exception {
        c.ValidateRequest(tid, csr); // throws: nothing is issued
        Map<String, Object> cert = (Map<String, Object>) emu.post("device/certificate",
                Map.of("csr", csr, "validity_days", days));
        issued.add(cert);
        c.notifySuccessForCertificate(tid, csr, Base64.getDecoder().decode((String) cert.get("certificate")));
        return cert; // Intune took the notification: handed to the device
    }

    private void checkDelivered(String tid, String csr, Object profileId, Map<String, Object> cert) throws Exception {
        Map<String, Object> v = find(emu.get("validations"), "transaction_id", tid);
        assertNotNull(v);
        assertEquals("Success", v.get("code"));
        assertEquals(profileId, v.get("profile_id"));
        Map<String, Object> n = find(map(emu.get("notifications")).get("success"), "transactionId", tid);
        assertNotNull(n);
        for (String f : List.of("certificateThumbprint", "certificateSerialNumber", "certificateExpirationDateUtc",
                "issuingCertificateAuthority")) {
            assertEquals(cert.get(f), n.get(f), f);
        }
        assertEquals(csr, n.get("certificateRequest"));
    }

    private void run(Map<String, Object> s) throws Exception {
        emu.reset();
        Map<String, Object> expect = map(s.get("expect"));
        Map<String, Object> profile = map(s.get("profile"));
        String want = (String) expect.get("validate");
        String code = (String) expect.get("code");
        int days = number(profile.get("validity_days"), 365);

        Map<String, Object> d = s.containsKey("csr_b64") ? Map.of("csr", s.get("csr_b64")) : deviceRequest(s, profile, false);
        String csr = (String) d.get("csr");
        if (Boolean.TRUE.equals(s.get("untarget"))) {
            emu.post("profiles/" + d.get("profile_id") + "/untarget", null);
        }
        if (s.containsKey("fault")) {
            emu.post("faults", s.get("fault"));
        }
        List<String> extra = new ArrayList<>();
        for (Map.Entry<String, Object> e : map(s.get("client")).entrySet()) {
            extra.add(e.getKey());
            extra.add((String) e.getValue());
        }
        IntuneScepServiceClient c = client(extra.toArray(new String[0]));
        String tid = newTransactionId();
        List<Object> issued = new ArrayList<>();

        if ("ok".equals(want) && !"http".equals(expect.get("notify"))) {
            Map<String, Object> first = enroll(c, tid, csr, days, issued);
            checkDelivered(tid, csr, d.get("profile_id"), first);
            if (Boolean.TRUE.equals(s.get("renewal"))) {
                // before the first certificate expires: same profile, new challenge, new key
                Map<String, Object> again = new LinkedHashMap<>(profile);
                again.put("profile_id", d.get("profile_id"));
                Map<String, Object> d2 = deviceRequest(s, again, true);
                assertNotEquals(d.get("challenge"), d2.get("challenge"));
                assertNotEquals(d.get("key_pem"), d2.get("key_pem"));
                String tid2 = newTransactionId();
                Map<String, Object> second = enroll(c, tid2, (String) d2.get("csr"), days, issued);
                checkDelivered(tid2, (String) d2.get("csr"), d.get("profile_id"), second);
                assertNotEquals(first.get("certificateSerialNumber"), second.get("certificateSerialNumber"));
                assertEquals(2, ((List<Object>) map(emu.get("notifications")).get("success")).size());
            }
            return;
        }
        if ("ok".equals(want)) { // the notification fails: issued, not handed over
            IntuneClientHttpErrorException e = assertThrows(IntuneClientHttpErrorException.class,
                    () -> enroll(c, tid, csr, days, issued));
            assertEquals(number(expect.get("http_status"), -1), e.getStatusCode());
            assertEquals(1, issued.size());
            assertFalse(emu.requests("successNotification").isEmpty());
            assertNull(find(map(emu.get("notifications")).get("success"), "transactionId", tid));
            return;
        }
        Exception e = assertThrows(Exception.class, () -> enroll(c, tid, csr, days, issued));
        assertTrue(issued.isEmpty(), "a certificate was issued");
        assertNull(find(map(emu.get("notifications")).get("success"), "transactionId", tid));
        switch (want) {
            case "rejected": {
                IntuneScepServiceException r = assertThrowsType(IntuneScepServiceException.class, e);
                assertEquals(code, r.getOriginalErrorCode());
                assertNotNull(r.getErrorDescription());
                Map<String, Object> v = find(emu.get("validations"), "transaction_id", tid);
                assertNotNull(v);
                assertEquals(code, v.get("code"));
                break;
            }
            case "http":
                assertEquals(number(expect.get("http_status"), -1),
                        assertThrowsType(IntuneClientHttpErrorException.class, e).getStatusCode());
                break;
            case "auth": {
                IntuneClientAuthException a = assertThrowsType(IntuneClientAuthException.class, e);
                assertEquals(code, a.getErrorCode());
                assertEquals(number(expect.get("aadsts"), -1), a.getAadstsCode());
                assertTrue(a.getErrorDescription().contains("AADSTS" + expect.get("aadsts")), a.getErrorDescription());
                break;
            }
            default:
                throw new AssertionError("unknown expect.validate " + want);
        }
        for (Object secret : map(s.get("client")).values()) {
            assertFalse(String.valueOf(e.getMessage()).contains((String) secret), "the message holds a configured secret");
        }
        for (Object endpoint : (List<Object>) expect.getOrDefault("not_sent", List.of())) {
            assertEquals(0, emu.requests((String) endpoint).size(), (String) endpoint);
        }
        if (Boolean.TRUE.equals(expect.get("failure_notification"))) {
            c.SendFailureNotification(tid, csr, 0x80004005L, code);
            Map<String, Object> n = find(map(emu.get("notifications")).get("failure"), "transactionId", tid);
            assertNotNull(n);
            assertEquals(code, n.get("errorDescription"));
        }
    }

    private static <T> T assertThrowsType(Class<T> type, Exception e) {
        assertTrue(type.isInstance(e), "expected " + type.getSimpleName() + ", got " + e);
        return type.cast(e);
    }
}
