// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.microsoft.intune.carequest.CARequestErrorCodes;
import com.microsoft.intune.carequest.CARevocationRequest;
import com.microsoft.intune.carequest.CARevocationResult;

/** IntuneRevocationClient and the carequest types against the emulator. */
class RevocationClientTest extends EmulatorTestBase {
    private final List<IntuneRevocationClient> opened = new ArrayList<>();

    @AfterEach
    void closeRevocationClients() {
        for (IntuneRevocationClient c : opened) {
            c.close();
        }
        opened.clear();
    }

    private IntuneRevocationClient revocationClient(String... extra) {
        IntuneRevocationClient c = new IntuneRevocationClient(props(extra));
        opened.add(c);
        return c;
    }

    /** Queue revocation requests (serial, issuer pairs); returns their request contexts. */
    @SuppressWarnings("unchecked")
    private static List<String> queue(String... serialIssuer) throws Exception {
        List<Map<String, Object>> reqs = new ArrayList<>();
        for (int i = 0; i + 1 < serialIssuer.length; i += 2) {
            reqs.add(Map.of("serialNumber", serialIssuer[i], "issuerName", serialIssuer[i + 1], "caConfiguration",
                    "ca01\\Contoso"));
        }
        Map<String, Object> r = (Map<String, Object>) emu.post("revocations", Map.of("requests", reqs));
        List<String> out = new ArrayList<>();
        for (Object q : (List<Object>) r.get("queued")) {
            out.add(q instanceof Map ? String.valueOf(((Map<String, Object>) q).get("requestContext"))
                    : String.valueOf(q));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> uploaded() throws Exception {
        return (List<Map<String, Object>>) emu.get("revocation_results");
    }

    // ---- the carequest types --------------------------------------------------

    @Test
    void errorCodesHaveTheContractsValues() {
        List<String> values = Arrays.stream(CARequestErrorCodes.values()).map(c -> c.Value)
                .collect(Collectors.toList());
        assertEquals(List.of("0", "4000", "4001", "4002", "4003", "4004", "4005", "4006", "4007", "4100", "4101",
                "4102", "4103"), values);
        assertEquals("None", CARequestErrorCodes.None.name());
        assertEquals("4004", CARequestErrorCodes.CertificateNotFoundError.Value);
        assertEquals("4103", CARequestErrorCodes.AuthenticationException.Value);
        for (CARequestErrorCodes c : CARequestErrorCodes.values()) {
            assertEquals(c, CARequestErrorCodes.fromValue(c.Value));
            assertEquals(c, CARequestErrorCodes.valueOf(c.name()));
        }
        assertThrows(IllegalArgumentException.class, () -> CARequestErrorCodes.fromValue("4008"));
        assertThrows(IllegalArgumentException.class, () -> CARequestErrorCodes.fromValue(null));
    }

    @Test
    void everyErrorCodeRoundTripsThroughAnUpload() throws Exception {
        CARequestErrorCodes[] all = CARequestErrorCodes.values();
        String[] pairs = new String[all.length * 2];
        for (int i = 0; i < all.length; i++) {
            pairs[2 * i] = String.format("%02X", i + 1);
            pairs[2 * i + 1] = "CN=Round Trip CA";
        }
        queue(pairs);
        IntuneRevocationClient c = revocationClient();
        String tid = newTransactionId();
        List<CARevocationRequest> got = c.DownloadCARevocationRequests(tid, 100, "CN=Round Trip CA");
        assertEquals(all.length, got.size());
        List<CARevocationResult> results = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            boolean ok = all[i] == CARequestErrorCodes.None;
            results.add(new CARevocationResult(got.get(i).requestContext, ok, all[i], ok ? null : "code " + all[i]));
        }
        c.UploadRevocationResults(tid, results);
        List<Map<String, Object>> up = uploaded();
        assertEquals(all.length, up.size());
        for (int i = 0; i < all.length; i++) {
            Map<String, Object> u = up.get(i);
            assertEquals(all[i].Value, u.get("errorCode"));
            assertEquals(all[i] == CARequestErrorCodes.None, u.get("succeeded"));
            assertEquals(CARequestErrorCodes.fromValue((String) u.get("errorCode")), all[i]);
            assertEquals(Boolean.TRUE, u.get("known_request"));
        }
    }

    @Test
    void resultArgumentRulesThrowIllegalArgumentException() {
        assertThrows(IllegalArgumentException.class, () -> new CARevocationResult(null, true,
                CARequestErrorCodes.None, null));
        assertThrows(IllegalArgumentException.class, () -> new CARevocationResult("", true,
                CARequestErrorCodes.None, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CARevocationResult("ctx",
                true, CARequestErrorCodes.ConflictError, null));
        assertTrue(e.getMessage().contains("errorCode"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CARevocationResult("ctx", false,
                CARequestErrorCodes.None, "failed"));
        assertThrows(IllegalArgumentException.class, () -> new CARevocationResult("ctx", false, null, "failed"));
        CARevocationResult ok = new CARevocationResult("ctx", true, CARequestErrorCodes.None, null);
        assertEquals("0", ok.errorCode);
        assertTrue(ok.succeeded);
        assertNull(ok.errorMessage);
        CARevocationResult bad = new CARevocationResult("ctx", false, CARequestErrorCodes.CertificateNotFoundError,
                "no such serial");
        assertEquals("4004", bad.errorCode);

        assertThrows(IllegalArgumentException.class, () -> new CARevocationRequest(null, "0A", null, null));
        assertThrows(IllegalArgumentException.class, () -> new CARevocationRequest("ctx", null, null, null));
        CARevocationRequest r = new CARevocationRequest("ctx", "0A", "CN=CA", "cfg");
        assertEquals("ctx", r.requestContext);
        assertEquals("0A", r.serialNumber);
        assertEquals("CN=CA", r.issuerName);
        assertEquals("cfg", r.caConfiguration);
        CARevocationRequest empty = new CARevocationRequest();
        assertNull(empty.requestContext);
    }

    // ---- the client ------------------------------------------------------------

    @Test
    void constantsAreThoseOfTheReference() {
        assertEquals("PkiConnectorFEService", IntuneRevocationClient.CONNECTOR_SERVICE_NAME);
        assertEquals("CertificateAuthorityRequests/downloadRevocationRequests",
                IntuneRevocationClient.DOWNLOADREVOCATIONREQUESTS_URL);
        assertEquals("CertificateAuthorityRequests/uploadRevocationResults",
                IntuneRevocationClient.UPLOADREVOCATIONRESULTS_URL);
        assertEquals(500, IntuneRevocationClient.MAXREQUESTS_MAXVALUE);
    }

    @Test
    void downloadAndUploadAgainstTheEmulator() throws Exception {
        List<String> contexts = queue("0A1B", "CN=Contoso Issuing CA", "0C2D", "CN=Contoso Issuing CA", "FF",
                "CN=Other CA");
        IntuneRevocationClient c = revocationClient();
        String tid = newTransactionId();
        List<CARevocationRequest> got = c.DownloadCARevocationRequests(tid, 100, "CN=Contoso Issuing CA");
        assertEquals(2, got.size());
        assertEquals("0A1B", got.get(0).serialNumber);
        assertEquals("CN=Contoso Issuing CA", got.get(0).issuerName);
        assertEquals("ca01\\Contoso", got.get(0).caConfiguration);
        assertEquals(contexts.get(0), got.get(0).requestContext);
        Map<String, Object> req = onlyRequest("downloadRevocationRequests");
        @SuppressWarnings("unchecked")
        Map<String, Object> params = (Map<String, Object>) ((Map<String, Object>) req.get("json"))
                .get("downloadParameters");
        assertEquals(100L, params.get("maxRequests"));
        assertEquals("CN=Contoso Issuing CA", params.get("issuerName"));

        c.UploadRevocationResults(tid, List.of(
                new CARevocationResult(got.get(0).requestContext, true, CARequestErrorCodes.None, null),
                new CARevocationResult(got.get(1).requestContext, false, CARequestErrorCodes.CertificateNotFoundError,
                        "no certificate with serial 0C2D")));
        List<Map<String, Object>> up = uploaded();
        assertEquals(2, up.size());
        assertEquals("4004", up.get(1).get("errorCode"));
        assertEquals("no certificate with serial 0C2D", up.get(1).get("errorMessage"));

        // nothing left for that issuer; the other issuer's request with a null filter
        assertEquals(Collections.emptyList(), c.DownloadCARevocationRequests(tid, 10, "CN=Contoso Issuing CA"));
        List<CARevocationRequest> rest = c.DownloadCARevocationRequests(tid, 10, null);
        assertEquals(1, rest.size());
        assertEquals("FF", rest.get(0).serialNumber);
    }

    @Test
    void argumentsAreCheckedBeforeAnythingIsSent() throws Exception {
        IntuneRevocationClient c = revocationClient();
        assertThrows(IllegalArgumentException.class, () -> c.DownloadCARevocationRequests(null, 10, null));
        assertThrows(IllegalArgumentException.class, () -> c.DownloadCARevocationRequests("", 10, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.DownloadCARevocationRequests("t", 0, null));
        assertTrue(e.getMessage().contains("maxCARequestsToDownload"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.DownloadCARevocationRequests("t", 501, null));
        assertThrows(IllegalArgumentException.class, () -> c.DownloadCARevocationRequests("t", -1, null));
        String longIssuer = "CN=" + "x".repeat(254);
        e = assertThrows(IllegalArgumentException.class, () -> c.DownloadCARevocationRequests("t", 10, longIssuer));
        assertTrue(e.getMessage().contains("issuerName"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.DownloadCARevocationRequests("t", 10, "CN=A\0B"));

        CARevocationResult ok = new CARevocationResult("ctx", true, CARequestErrorCodes.None, null);
        assertThrows(IllegalArgumentException.class, () -> c.UploadRevocationResults(null, List.of(ok)));
        assertThrows(IllegalArgumentException.class, () -> c.UploadRevocationResults("t", null));
        assertThrows(IllegalArgumentException.class, () -> c.UploadRevocationResults("t", List.of()));
        // the public fields can be changed after construction: checked again before sending
        CARevocationResult tampered = new CARevocationResult("ctx", true, CARequestErrorCodes.None, null);
        tampered.errorCode = "4004";
        e = assertThrows(IllegalArgumentException.class, () -> c.UploadRevocationResults("t", List.of(tampered)));
        assertTrue(e.getMessage().contains("item 0"), e.getMessage());
        CARevocationResult unknown = new CARevocationResult("ctx", false, CARequestErrorCodes.ConflictError, null);
        unknown.errorCode = "9999";
        assertThrows(IllegalArgumentException.class, () -> c.UploadRevocationResults("t", List.of(ok, unknown)));
        List<CARevocationResult> withNull = new ArrayList<>();
        withNull.add(null);
        assertThrows(IllegalArgumentException.class, () -> c.UploadRevocationResults("t", withNull));
        List<CARevocationResult> tooMany = new ArrayList<>();
        for (int i = 0; i < 501; i++) {
            tooMany.add(ok);
        }
        assertThrows(IllegalArgumentException.class, () -> c.UploadRevocationResults("t", tooMany));
        assertEquals(0, emu.requests().size(), "nothing was sent");

        assertThrows(IllegalArgumentException.class, () -> new IntuneRevocationClient(null));
        Properties noProvider = props("PROVIDER_NAME_AND_VERSION", null);
        assertThrows(IllegalArgumentException.class, () -> new IntuneRevocationClient(noProvider));
    }

    // ---- fault rows: as the C rows end ---------------------------------------

    private IntuneClientException failing(IntuneRevocationClient c, boolean upload, String tid) {
        return assertThrows(IntuneClientException.class, () -> {
            if (upload) {
                c.UploadRevocationResults(tid, List.of(new CARevocationResult("ctx-1", true, CARequestErrorCodes.None,
                        null)));
            } else {
                c.DownloadCARevocationRequests(tid, 10, null);
            }
        });
    }

    @Test
    void faultRowsEndAsTheCRowsDo() throws Exception {
        IntuneRevocationClient c = revocationClient("MAX_RETRIES", "2", "TIMEOUT_MS", "10000");
        String tid = newTransactionId();
        c.DownloadCARevocationRequests(tid, 10, null); // warm: tokens and discovery

        // 401: the token is refreshed once and the call repeated
        emu.reset();
        emu.fault("endpoint", "downloadRevocationRequests", "status", 401, "body", "{}", "times", 1);
        assertEquals(0, c.DownloadCARevocationRequests(tid, 10, null).size());
        assertEquals(2, emu.requests("downloadRevocationRequests").size());
        assertEquals(1, emu.requests("token").size());

        // 404: the service is rediscovered once and the call repeated
        emu.reset();
        emu.fault("endpoint", "uploadRevocationResults", "status", 404, "body", "", "times", 1);
        c.UploadRevocationResults(tid, List.of(new CARevocationResult("ctx-1", true, CARequestErrorCodes.None, null)));
        assertEquals(2, emu.requests("uploadRevocationResults").size());
        assertTrue(emu.requests("discovery").size() >= 1);

        // 429 (Retry-After 0), then an answer
        emu.reset();
        emu.fault("endpoint", "downloadRevocationRequests", "status", 429, "body", "{}", "headers",
                Map.of("Retry-After", "0"), "times", 1);
        c.DownloadCARevocationRequests(tid, 10, null);
        assertEquals(2, emu.requests("downloadRevocationRequests").size());

        // 500 forever: MAX_RETRIES + 1 attempts, then an HTTP error with the body
        emu.reset();
        emu.fault("endpoint", "downloadRevocationRequests", "status", 500, "body", "{\"error\":\"down\"}", "times", 0);
        IntuneClientException e = failing(c, false, tid);
        assertEquals(IntuneClientHttpErrorException.class, e.getClass());
        assertEquals("INTUNE_SCEP_E_HTTP", e.getStatusName());
        assertEquals(500, e.getHttpStatus());
        assertEquals(3, emu.requests("downloadRevocationRequests").size());
        assertEquals(tid, e.getTransactionId());
        assertNotNull(e.getActivityId());

        // 200 not JSON: untrusted, on download and upload
        emu.reset();
        emu.fault("endpoint", "downloadRevocationRequests", "status", 200, "body", "not json", "times", 0);
        emu.fault("endpoint", "uploadRevocationResults", "status", 200, "body", "not json", "times", 0);
        assertEquals("INTUNE_SCEP_E_PROTOCOL", failing(c, false, tid).getStatusName());
        assertEquals("INTUNE_SCEP_E_PROTOCOL", failing(c, true, tid).getStatusName());

        // {"value": false}: Intune did not take the results (an IntuneClientException, as in the reference)
        emu.reset();
        emu.fault("endpoint", "uploadRevocationResults", "status", 200, "body", "{\"value\":false}", "times", 0);
        e = failing(c, true, tid);
        assertEquals(IntuneClientException.class, e.getClass());
        assertEquals("INTUNE_SCEP_E_REJECTED", e.getStatusName());
        assertEquals(tid, e.getTransactionId());
        UUID activity = e.getActivityId();
        assertNotNull(activity);
        assertEquals(activity.toString(), Emulator.headers(onlyRequest("uploadRevocationResults"))
                .get("client-request-id"));

        // {"value": "true"} and {"value": [..]} are not a yes either
        emu.reset();
        emu.fault("endpoint", "uploadRevocationResults", "status", 200, "body", "{\"value\":\"true\"}", "times", 0);
        assertEquals("INTUNE_SCEP_E_PROTOCOL", failing(c, true, tid).getStatusName());
        emu.reset();
        emu.fault("endpoint", "downloadRevocationRequests", "status", 200, "body", "{\"value\":{}}", "times", 0);
        assertEquals("INTUNE_SCEP_E_PROTOCOL", failing(c, false, tid).getStatusName());
    }

    @Test
    void answersThatSayTwoThingsAtOnceAreRefused() throws Exception {
        IntuneRevocationClient c = revocationClient("MAX_RETRIES", "0");
        String tid = newTransactionId();
        String[] uploads = {
            "{\"value\":true,\"value\":false}",
            "{\"value\":false,\"value\":true}",
            "{\"value\\u0000x\":false,\"value\":true}",
        };
        for (String body : uploads) {
            emu.reset();
            emu.fault("endpoint", "uploadRevocationResults", "status", 200, "body", body, "times", 0);
            IntuneClientException e = failing(c, true, tid);
            assertEquals("INTUNE_SCEP_E_PROTOCOL", e.getStatusName(), body);
            assertEquals(1, emu.requests("uploadRevocationResults").size(), body);
        }
        String[] downloads = {
            "{\"value\":[],\"value\":[{\"requestContext\":\"c\",\"serialNumber\":\"01\",\"issuerName\":\"CN=CA\"}]}",
            "{\"value\":[{\"requestContext\":\"c\",\"serialNumber\":\"01\",\"serialNumber\":\"02\",\"issuerName\":\"CN=CA\"}]}",
            "{\"value\":[{\"requestContext\":\"c\",\"serialNumber\":\"01\\u0000\",\"issuerName\":\"CN=CA\"}]}",
        };
        for (String body : downloads) {
            emu.reset();
            emu.fault("endpoint", "downloadRevocationRequests", "status", 200, "body", body, "times", 0);
            assertEquals("INTUNE_SCEP_E_PROTOCOL", failing(c, false, tid).getStatusName(), body);
        }
    }

    @Test
    void discoveryWithoutTheConnectorServiceNamesIt() throws Exception {
        IntuneRevocationClient c = revocationClient("MAX_RETRIES", "0");
        emu.fault("endpoint", "discovery", "status", 200, "body",
                "{\"value\":[{\"providerName\":\"ScepRequestValidationFEService\",\"uri\":\"https://127.0.0.1/x\"}]}",
                "times", 0);
        IntuneClientException e = failing(c, false, newTransactionId());
        assertEquals(IntuneServiceNotFoundException.class, e.getClass());
        assertEquals("PkiConnectorFEService", ((IntuneServiceNotFoundException) e).getServiceName());
    }
}
