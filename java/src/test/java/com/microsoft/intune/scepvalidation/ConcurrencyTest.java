// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One client shared by 8 threads making 100 calls each, on 127.0.0.1 (bounded in count and time). */
class ConcurrencyTest extends EmulatorTestBase {
    private static final int THREADS = 8;
    private static final int CALLS = 100;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void eightThreadsTimesOneHundredCallsOnOneClient() throws Exception {
        IntuneScepServiceClient client = client();
        String csr = validCsr("alice");
        client.ValidateRequest(newTransactionId(), csr); // warm: token and discovery
        emu.reset();

        AtomicInteger ok = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int thread = t;
            futures.add(pool.submit(() -> {
                for (int i = 0; i < CALLS; i++) {
                    String tid = "t" + thread + "-" + i;
                    if (i % 10 == 9) {
                        client.SendFailureNotification(tid, csr, 0x80004005L, "load " + tid);
                    } else {
                        client.ValidateRequest(tid, csr);
                    }
                    ok.incrementAndGet();
                }
                return null;
            }));
        }
        pool.shutdown();
        for (Future<?> f : futures) {
            f.get(280, TimeUnit.SECONDS); // rethrows the first failure of that thread
        }
        assertEquals(THREADS * CALLS, ok.get());

        List<Map<String, Object>> validations = emu.requests("validateRequest");
        List<Map<String, Object>> failures = emu.requests("failureNotification");
        assertEquals(THREADS * 90, validations.size());
        assertEquals(THREADS * 10, failures.size());
        Set<Object> activities = new HashSet<>();
        Set<Object> transactions = new HashSet<>();
        for (List<Map<String, Object>> l : List.of(validations, failures)) {
            for (Map<String, Object> r : l) {
                activities.add(Emulator.headers(r).get("client-request-id"));
                @SuppressWarnings("unchecked")
                Map<String, Object> body = (Map<String, Object>) r.get("json");
                @SuppressWarnings("unchecked")
                Map<String, Object> inner = (Map<String, Object>) (body.containsKey("request") ? body.get("request")
                        : body.get("notification"));
                transactions.add(inner.get("transactionId"));
            }
        }
        assertEquals(THREADS * CALLS, activities.size(), "one activity id per call");
        assertEquals(THREADS * CALLS, transactions.size(), "every call's own transaction id");
        @SuppressWarnings("unchecked")
        Map<String, Object> tokens = (Map<String, Object>) emu.stats().get("token_requests");
        assertEquals(0L, tokens.get("intune"), "the warm token served every call");
        long connections = ((Number) emu.stats().get("connections")).longValue();
        assertTrue(connections <= 4L * THREADS, "connections are reused: " + connections);
    }
}
