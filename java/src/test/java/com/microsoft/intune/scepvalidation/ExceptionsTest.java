// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.microsoft.intune.scepvalidation.IntuneScepServiceException.ErrorCode;

/** Every failure a call can meet, as the exception class of the documented API, with every getter. */
class ExceptionsTest extends EmulatorTestBase {

    /** The client-request-id of the last recorded request to {@code endpoint}. */
    private static UUID lastActivity(String endpoint) throws Exception {
        List<Map<String, Object>> r = emu.requests(endpoint);
        assertFalse(r.isEmpty(), "no " + endpoint + " request recorded");
        return UUID.fromString((String) Emulator.headers(r.get(r.size() - 1)).get("client-request-id"));
    }

    private IntuneScepServiceException rejected(String body) throws Exception {
        emu.fault("endpoint", "validateRequest", "status", 200, "body", body);
        IntuneScepServiceClient client = client();
        String tid = newTransactionId();
        IntuneScepServiceException e = assertThrows(IntuneScepServiceException.class,
                () -> client.ValidateRequest(tid, validCsr("alice")));
        assertEquals(tid, e.getTransactionId());
        assertEquals(lastActivity("validateRequest"), e.getActivityId());
        assertEquals("INTUNE_SCEP_E_REJECTED", e.getStatusName());
        assertEquals(200, e.getHttpStatus());
        assertTrue(e.getMessage().contains(tid), e.getMessage());
        assertTrue(e.getMessage().contains(e.getActivityId().toString()), e.getMessage());
        return e;
    }

    @Test
    void intuneRefusesARequestThatDoesNotMatchItsChallenge() throws Exception {
        IntuneScepServiceClient client = client();
        String tid = newTransactionId();
        String challenge = emu.challenge("CN=bob");
        String csr = new Csr().cn("alice").challenge(challenge).base64();
        IntuneScepServiceException e = assertThrows(IntuneScepServiceException.class,
                () -> client.ValidateRequest(tid, csr));
        assertEquals(ErrorCode.SubjectNameMismatch, e.getParsedErrorCode());
        assertEquals("SubjectNameMismatch", e.getOriginalErrorCode());
        assertNotNull(e.getErrorDescription());
        assertEquals(tid, e.getTransactionId());
        assertEquals(lastActivity("validateRequest"), e.getActivityId());
    }

    @Test
    void aKnownCodeWithItsDescription() throws Exception {
        IntuneScepServiceException e = rejected("{\"code\":\"ChallengeExpired\",\"errorDescription\":\"too late\"}");
        assertEquals(ErrorCode.ChallengeExpired, e.getParsedErrorCode());
        assertEquals("ChallengeExpired", e.getOriginalErrorCode());
        assertEquals("too late", e.getErrorDescription());
    }

    @Test
    void anUnknownCodeIsUnknownAndKeptAsSent() throws Exception {
        IntuneScepServiceException e = rejected("{\"code\":\"SomethingNewInIntune\",\"errorDescription\":\"x\"}");
        assertEquals(ErrorCode.Unknown, e.getParsedErrorCode());
        assertEquals("SomethingNewInIntune", e.getOriginalErrorCode());
    }

    @Test
    void lowerCaseSuccessIsNotSuccess() throws Exception {
        IntuneScepServiceException e = rejected("{\"code\":\"success\",\"errorDescription\":\"\"}");
        assertEquals(ErrorCode.Unknown, e.getParsedErrorCode());
        assertEquals("success", e.getOriginalErrorCode());
    }

    @Test
    void aSuccessAnswerWithoutCodeIsAProtocolError() throws Exception {
        emu.fault("endpoint", "validateRequest", "status", 200, "body", "{\"errorDescription\":\"\"}");
        IntuneScepServiceClient client = client();
        String tid = newTransactionId();
        IntuneClientException e = assertThrows(IntuneClientException.class,
                () -> client.ValidateRequest(tid, validCsr("alice")));
        assertFalse(e instanceof IntuneScepServiceException, e.getClass().getName());
        assertEquals("INTUNE_SCEP_E_PROTOCOL", e.getStatusName());
        assertEquals(tid, e.getTransactionId());
        assertEquals(lastActivity("validateRequest"), e.getActivityId());
        assertEquals(200, e.getHttpStatus());
        assertEquals("{\"errorDescription\":\"\"}", e.getResponseBody());
    }

    @Test
    void aServerErrorIsAnHttpErrorWithStatusAndBody() throws Exception {
        emu.fault("endpoint", "successNotification", "times", 0, "status", 500, "body",
                "{\"error\":\"internal\"}");
        IntuneScepServiceClient client = client("MAX_RETRIES", "1");
        String tid = newTransactionId();
        IntuneClientHttpErrorException e = assertThrows(IntuneClientHttpErrorException.class,
                () -> client.SendSuccessNotification(tid, "MIIB", "AB", "01", "2027-06-11T16:11:20.000Z", "CN=CA"));
        assertEquals(500, e.getStatusCode());
        assertEquals("{\"error\":\"internal\"}", e.getResponse());
        assertEquals(e.getResponse(), e.getResponseBody());
        assertEquals(500, e.getHttpStatus());
        assertEquals(tid, e.getTransactionId());
        assertEquals("INTUNE_SCEP_E_HTTP", e.getStatusName());
        // two attempts (MAX_RETRIES=1), one activity id
        List<Map<String, Object>> attempts = emu.requests("successNotification");
        assertEquals(2, attempts.size());
        assertEquals(Emulator.headers(attempts.get(0)).get("client-request-id"),
                Emulator.headers(attempts.get(1)).get("client-request-id"));
        assertEquals(lastActivity("successNotification"), e.getActivityId());
    }

    @Test
    void notFoundEvenAfterRediscoveryIsAnHttpError() throws Exception {
        emu.fault("endpoint", "failureNotification", "times", 0, "status", 404, "body", "not here");
        IntuneScepServiceClient client = client("MAX_RETRIES", "0");
        String tid = newTransactionId();
        IntuneClientHttpErrorException e = assertThrows(IntuneClientHttpErrorException.class,
                () -> client.SendFailureNotification(tid, "MIIB", 0x80004005L, "CA offline"));
        assertEquals(404, e.getStatusCode());
        assertEquals("not here", e.getResponse());
        assertEquals(tid, e.getTransactionId());
        assertEquals(lastActivity("failureNotification"), e.getActivityId());
        assertTrue(emu.requests("discovery").size() >= 2, "a 404 makes the client discover again");
    }

    @Test
    void aWrongSecretIsAnAuthenticationErrorThatNamesTheCauseButNotTheSecret() throws Exception {
        String wrong = "Wrong~Secret+/=123"; // listed in scripts/secret-scan.sh
        IntuneScepServiceClient client = client("AAD_APP_KEY", wrong);
        String tid = newTransactionId();
        IntuneClientAuthException e = assertThrows(IntuneClientAuthException.class,
                () -> client.ValidateRequest(tid, "MIIB"));
        assertEquals("invalid_client", e.getErrorCode());
        assertEquals(7000215L, e.getAadstsCode());
        assertTrue(e.getErrorDescription().contains("AADSTS7000215"), e.getErrorDescription());
        assertEquals("INTUNE_SCEP_E_AUTH", e.getStatusName());
        assertEquals(401, e.getHttpStatus());
        assertEquals(tid, e.getTransactionId());
        assertNotNull(e.getActivityId());
        assertFalse(e.getMessage().contains(wrong), e.getMessage());
        assertFalse(String.valueOf(e.getResponseBody()).contains(wrong));
        assertEquals(0, emu.requests("validateRequest").size(), "nothing reaches Intune without a token");
    }

    @Test
    void aServiceMissingFromDiscovery() throws Exception {
        emu.fault("endpoint", "discovery", "times", 0, "status", 200, "body",
                "{\"value\":[{\"providerName\":\"SomeOtherService\",\"uri\":\"https://127.0.0.1:9/x\"}]}");
        IntuneScepServiceClient client = client();
        String tid = newTransactionId();
        IntuneServiceNotFoundException e = assertThrows(IntuneServiceNotFoundException.class,
                () -> client.ValidateRequest(tid, "MIIB"));
        assertEquals("ScepRequestValidationFEService", e.getServiceName());
        assertTrue(e.getMessage().contains("SomeOtherService"), e.getMessage());
        assertEquals("INTUNE_SCEP_E_SERVICE_NOT_FOUND", e.getStatusName());
        assertEquals(tid, e.getTransactionId());
    }

    @Test
    void aConnectionResetIsATransportError() throws Exception {
        emu.fault("endpoint", "validateRequest", "times", 0, "action", "reset");
        IntuneScepServiceClient client = client("MAX_RETRIES", "0");
        String tid = newTransactionId();
        IntuneClientException e = assertThrows(IntuneClientException.class,
                () -> client.ValidateRequest(tid, "MIIB"));
        assertEquals(IntuneClientException.class, e.getClass());
        assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName());
        assertEquals(tid, e.getTransactionId());
        assertEquals(lastActivity("validateRequest"), e.getActivityId());
        assertEquals(0, e.getHttpStatus());
        assertNull(e.getResponseBody());
    }

    @Test
    void aCallPastItsDeadlineIsATransportError() throws Exception {
        emu.fault("endpoint", "validateRequest", "times", 0, "action", "hang");
        IntuneScepServiceClient client = client("TIMEOUT_MS", "1500", "MAX_RETRIES", "0");
        IntuneClientException e = assertThrows(IntuneClientException.class,
                () -> client.ValidateRequest(newTransactionId(), "MIIB"));
        assertEquals("INTUNE_SCEP_E_TRANSPORT", e.getStatusName());
        emu.clearFaults();
    }

    @Test
    void theReferenceConstructorsStillWork() {
        UUID a = UUID.randomUUID();
        IntuneScepServiceException s = new IntuneScepServiceException("KeyUsageMismatch", "d", "t", a);
        assertEquals(ErrorCode.KeyUsageMismatch, s.getParsedErrorCode());
        assertEquals("KeyUsageMismatch", s.getOriginalErrorCode());
        assertEquals("d", s.getErrorDescription());
        assertEquals("t", s.getTransactionId());
        assertEquals(a, s.getActivityId());
        assertEquals("ActivityId:" + a + ",TransactionId:t,ErrorCode:KeyUsageMismatch,ErrorDescription:d",
                s.getMessage());
        IntuneClientHttpErrorException h = new IntuneClientHttpErrorException(503, "busy", a);
        assertEquals(503, h.getStatusCode());
        assertEquals("busy", h.getResponse());
        assertEquals(a, h.getActivityId());
        assertEquals("ScepRequestValidationFEService",
                new IntuneServiceNotFoundException("ScepRequestValidationFEService").getServiceName());
        assertTrue(new IntuneClientException("m") instanceof Exception);
    }

    @Test
    void theErrorCodeEnumHasTheReferenceOrder() {
        String[] expected = {"Unknown", "Success", "CertificateRequestDecodingFailed", "ChallengePasswordMissing",
            "ChallengeDeserializationError", "ChallengeDecryptionError", "ChallengeDecodingError",
            "ChallengeInvalidTimestamp", "ChallengeExpired", "SubjectNameMissing", "SubjectNameMismatch",
            "SubjectAltNameMissing", "SubjectAltNameMismatch", "KeyUsageMismatch", "KeyLengthMismatch",
            "EnhancedKeyUsageMissing", "EnhancedKeyUsageMismatch", "AadKeyIdentifierListMissing",
            "RegisteredKeyMismatch", "SigningCertThumbprintMismatch", "ScepProfileNoLongerTargetedToTheClient",
            "SignatureValidationFailed", "BadCertificateRequestIdInChallenge", "BadDeviceIdInChallenge",
            "BadUserIdInChallenge"};
        ErrorCode[] values = ErrorCode.values();
        assertEquals(expected.length, values.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], values[i].name());
            assertEquals(i, values[i].ordinal());
        }
    }

    @Test
    @SuppressWarnings("deprecation")
    void codeCatchingTheEarlyReferencesValidationExceptionCompilesAndSeesTheServiceException() throws Exception {
        IntuneScepServiceClient client = client();
        String challenge = emu.challenge("CN=bob");
        String csr = new Csr().cn("alice").challenge(challenge).base64();
        String caught;
        try {
            client.ValidateRequest("t", csr);
            caught = "nothing";
        } catch (IntuneClientValidationException e) {
            caught = "IntuneClientValidationException";
        } catch (IntuneScepServiceException e) {
            caught = "IntuneScepServiceException " + e.getParsedErrorCode();
        }
        assertEquals("IntuneScepServiceException SubjectNameMismatch", caught);
        IntuneClientValidationException old = new IntuneClientValidationException("c", "m", "t", null);
        assertEquals("c", old.getErrorCode());
        assertEquals("t", old.getTransactionId());
    }

    @Test
    void aReusedErrorObjectReportsOnlyItsOwnCall() throws Exception {
        // The calls of one client reuse native error objects: the third call's
        // exception must carry nothing of the first call's failure.
        IntuneScepServiceClient client = client("MAX_RETRIES", "0");
        emu.fault("endpoint", "validateRequest", "status", 200, "body",
                "{\"code\":\"ChallengeExpired\",\"errorDescription\":\"the first call's description\"}");
        String first = newTransactionId();
        IntuneScepServiceException e1 = assertThrows(IntuneScepServiceException.class,
                () -> client.ValidateRequest(first, validCsr("alice")));
        assertEquals(ErrorCode.ChallengeExpired, e1.getParsedErrorCode());
        assertEquals("the first call's description", e1.getErrorDescription());

        client.ValidateRequest(newTransactionId(), validCsr("alice")); // a success in between

        emu.fault("endpoint", "validateRequest", "status", 503, "body", "busy");
        String third = newTransactionId();
        IntuneClientHttpErrorException e3 = assertThrows(IntuneClientHttpErrorException.class,
                () -> client.ValidateRequest(third, validCsr("alice")));
        assertEquals(503, e3.getStatusCode());
        assertEquals("busy", e3.getResponseBody());
        assertEquals(third, e3.getTransactionId());
        assertEquals(lastActivity("validateRequest"), e3.getActivityId());
        assertNotEquals(e1.getActivityId(), e3.getActivityId());
        assertFalse(e3.getMessage().contains("first call"), e3.getMessage());
        assertFalse(e3.getMessage().contains("ChallengeExpired"), e3.getMessage());
        assertFalse(e3.getMessage().contains(first), e3.getMessage());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void errorObjectsAreKeptBoundedAcrossThreadsAndEachFailureIsItsOwn() throws Exception {
        // 8 threads on one client; every third call is refused by Intune, and each
        // refusal must name its own call's transaction id, whichever spare error
        // object it ran on. The spares stay within their fixed number of slots.
        IntuneScepServiceClient client = client("MAX_RETRIES", "0");
        String csr = validCsr("alice");
        client.ValidateRequest(newTransactionId(), csr); // warm
        emu.fault("endpoint", "failureNotification", "times", 0, "status", 200, "body",
                "{\"code\":\"ChallengeExpired\",\"errorDescription\":\"refused\"}");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            java.util.List<Future<Integer>> futures = new java.util.ArrayList<>();
            for (int t = 0; t < 8; t++) {
                final int thread = t;
                futures.add(pool.submit(() -> {
                    int refused = 0;
                    for (int i = 0; i < 30; i++) {
                        String tid = "t" + thread + "-" + i;
                        if (i % 3 == 2) {
                            IntuneScepServiceException e = assertThrows(IntuneScepServiceException.class,
                                    () -> client.SendFailureNotification(tid, csr, 0x80004005L, "x"));
                            assertEquals(tid, e.getTransactionId());
                            refused++;
                        } else {
                            client.ValidateRequest(tid, csr);
                        }
                    }
                    return refused;
                }));
            }
            for (Future<Integer> f : futures) {
                assertEquals(10, f.get(100, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        int spares = client.spareErrorObjects();
        assertTrue(spares >= 1 && spares <= NativeState.Handle.ERROR_SLOTS, "spare error objects: " + spares);
    }
}
