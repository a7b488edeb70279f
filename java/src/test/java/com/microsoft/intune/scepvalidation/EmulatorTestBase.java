// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** One emulator per test class, reset before each test; clients made here are closed after each test. */
abstract class EmulatorTestBase {
    static Emulator emu;
    private final List<IntuneScepServiceClient> clients = new ArrayList<>();

    @BeforeAll
    static void startEmulator() throws Exception {
        emu = Emulator.start();
    }

    @AfterAll
    static void stopEmulator() throws Exception {
        if (emu != null) {
            emu.close();
            emu = null;
        }
    }

    @BeforeEach
    void resetEmulator() throws Exception {
        emu.reset();
    }

    @AfterEach
    void closeClients() {
        for (IntuneScepServiceClient c : clients) {
            c.close();
        }
        clients.clear();
    }

    /** A client on the emulator's configuration plus {@code extra} key/value pairs (null removes). */
    IntuneScepServiceClient client(String... extra) {
        return track(new IntuneScepServiceClient(emu.properties(extra)));
    }

    IntuneScepServiceClient track(IntuneScepServiceClient c) {
        clients.add(c);
        return c;
    }

    Properties props(String... extra) {
        return emu.properties(extra);
    }

    /** A request Intune accepts: a fresh challenge for CN=subject inside a CSR with that subject. */
    static String validCsr(String cn) throws Exception {
        String challenge = emu.challenge("CN=" + cn);
        return new Csr().cn(cn).challenge(challenge).base64();
    }

    static String newTransactionId() {
        return UUID.randomUUID().toString();
    }

    /** The one recorded request to {@code endpoint} (fails when there is not exactly one). */
    static Map<String, Object> onlyRequest(String endpoint) throws Exception {
        List<Map<String, Object>> r = emu.requests(endpoint);
        if (r.size() != 1) {
            throw new AssertionError("expected one " + endpoint + " request, got " + r.size() + ": " + r);
        }
        return r.get(0);
    }
}
