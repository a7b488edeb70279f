// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A call waiting on the network holds no lock: other calls, key rotation,
 * trust-store replacement and close() go ahead meanwhile, and the call in
 * flight finishes on its own native client, which is freed only afterwards.
 */
class InFlightTest extends EmulatorTestBase {

    private static void awaitRequests(String endpoint, int n) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (emu.requests(endpoint).size() >= n) {
                return;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("no " + endpoint + " request arrived");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aHangingCallBlocksNothingElse() throws Exception {
        IntuneScepServiceClient client = client("TIMEOUT_MS", "8000", "MAX_RETRIES", "0");
        String csr = validCsr("alice");
        client.ValidateRequest("warm", csr);
        emu.reset();
        emu.fault("endpoint", "validateRequest", "times", 1, "action", "hang");

        CompletableFuture<Void> stuck = CompletableFuture.runAsync(() -> {
            try {
                client.ValidateRequest("stuck", csr);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        awaitRequests("validateRequest", 1); // the hanging request reached the server

        // while it hangs: another call, a key rotation and a trust-store replacement all complete
        client.ValidateRequest("meanwhile", csr);
        client.SetAppKey(emu.appKey());
        client.SetTrustStore(Emulator.trustStoreOf(emu.caFile));
        client.ValidateRequest("after-rebuild", csr);
        assertTrue(!stuck.isDone(), "the hanging call is still in flight");

        // closing does not wait for it, and does not pull its native client from under it
        client.close();
        assertThrows(IllegalStateException.class, () -> client.ValidateRequest("closed", csr));
        ExecutionException e = assertThrows(ExecutionException.class, () -> stuck.get(30, TimeUnit.SECONDS));
        IntuneClientException cause = (IntuneClientException) e.getCause().getCause();
        assertEquals("INTUNE_SCEP_E_TRANSPORT", cause.getStatusName());
        assertEquals("stuck", cause.getTransactionId());
        emu.clearFaults();
    }
}
