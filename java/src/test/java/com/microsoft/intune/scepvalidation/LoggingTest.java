// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.microsoft.intune.scepvalidation.internal.IntuneScepNative;
import com.microsoft.intune.scepvalidation.internal.LogBridge;
import com.microsoft.intune.scepvalidation.internal.SWIGTYPE_p_intune_scep_java_log_sink;

/** The library's log lines reach java.util.logging, carry the activity id, and never a secret. */
class LoggingTest extends EmulatorTestBase {
    private final List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
    private final Logger logger = Logger.getLogger("com.microsoft.intune.scepvalidation");
    private Level previous;
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void capture() {
        previous = logger.getLevel();
        logger.setLevel(Level.FINER);
        handler.setLevel(Level.ALL);
        logger.addHandler(handler);
    }

    @AfterEach
    void release() {
        logger.removeHandler(handler);
        logger.setLevel(previous);
    }

    private List<String> lines() {
        synchronized (records) {
            List<String> out = new ArrayList<>();
            for (LogRecord r : records) {
                out.add(r.getLevel() + " " + r.getMessage());
            }
            return out;
        }
    }

    private void assertNoSecret(String... secrets) {
        for (String line : lines()) {
            for (String s : secrets) {
                assertFalse(line.contains(s), "a log line holds a secret: " + line);
            }
        }
    }

    @Test
    void eachCallIsLoggedWithItsActivityIdAndNoSecret() throws Exception {
        IntuneScepServiceClient client = client("SOME_FUTURE_KEY", "x");
        assertTrue(lines().stream().anyMatch(l -> l.startsWith("WARNING") && l.contains("SOME_FUTURE_KEY")),
                "the unknown key is warned about when the client is created: " + lines());

        String tid = newTransactionId();
        client.ValidateRequest(tid, validCsr("alice"));
        String activity = (String) Emulator.headers(onlyRequest("validateRequest")).get("client-request-id");
        assertTrue(lines().stream().anyMatch(l -> l.startsWith("FINE ") && l.contains(activity) && l.contains(tid)),
                "the successful call is logged at FINE with activity " + activity + ": " + lines());
        assertFalse(lines().stream().anyMatch(l -> l.startsWith("INFO")),
                "nothing at INFO: a default configuration prints no line per successful call: " + lines());

        String challenge = emu.challenge("CN=bob");
        IntuneScepServiceException e = assertThrows(IntuneScepServiceException.class,
                () -> client.ValidateRequest("t2", new Csr().cn("alice").challenge(challenge).base64()));
        String failed = e.getActivityId().toString();
        assertTrue(lines().stream().anyMatch(l -> l.startsWith("WARNING") && l.contains(failed)
                && l.contains("SubjectNameMismatch")), "the refusal is a WARNING with its activity id: " + lines());
        assertTrue(lines().stream().anyMatch(l -> l.startsWith("FINER")), "debug lines are FINER: " + lines());
        assertNoSecret(emu.appKey());
        for (LogRecord r : records) {
            assertTrue(r.getLoggerName().equals("com.microsoft.intune.scepvalidation"), r.getLoggerName());
        }
    }

    @Test
    void aWrongSecretIsLoggedWithTheCauseButWithoutTheSecret() throws Exception {
        String wrong = "Wrong~Secret+/=123"; // listed in scripts/secret-scan.sh
        IntuneScepServiceClient client = client("AAD_APP_KEY", wrong);
        IntuneClientAuthException e = assertThrows(IntuneClientAuthException.class,
                () -> client.ValidateRequest("t", "MIIB"));
        assertTrue(lines().stream().anyMatch(l -> l.startsWith("SEVERE") && l.contains("invalid_client")
                && l.contains(e.getActivityId().toString())), lines().toString());
        assertNoSecret(wrong, emu.appKey());
    }

    @Test
    void theLoggersLevelIsFollowedBetweenCalls() throws Exception {
        IntuneScepServiceClient client = client();
        String csr = validCsr("alice");
        records.clear();
        logger.setLevel(Level.WARNING);
        client.ValidateRequest("quiet", csr);
        assertFalse(lines().stream().anyMatch(l -> l.contains("quiet")), lines().toString());
        logger.setLevel(Level.INFO);
        client.ValidateRequest("default", csr);
        assertFalse(lines().stream().anyMatch(l -> l.contains("default")),
                "at INFO (java.util.logging's default) a successful call prints nothing: " + lines());
        logger.setLevel(Level.FINE);
        client.ValidateRequest("loud", csr);
        assertTrue(lines().stream().anyMatch(l -> l.contains("loud")), lines().toString());
        assertFalse(lines().stream().anyMatch(l -> l.startsWith("FINER")), lines().toString());
    }

    @Test
    void aThrowingHandlerDoesNotBreakTheCall() throws Exception {
        Handler bad = new Handler() {
            @Override
            public void publish(LogRecord r) {
                throw new IllegalStateException("handler failure");
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(bad);
        try {
            IntuneScepServiceClient client = client();
            client.ValidateRequest("t", validCsr("alice"));
            assertTrue(lines().stream().anyMatch(l -> l.contains("outcome=Success")), lines().toString());
        } finally {
            logger.removeHandler(bad);
        }
    }

    @Test
    @SuppressWarnings("deprecation")
    void linesFromANativeThreadAreDeliveredAndTheThreadIsDetachedAfterwards() {
        SWIGTYPE_p_intune_scep_java_log_sink sink = IntuneScepNative.intune_scep_java_log_sink_new(new LogBridge(logger));
        try {
            for (int i = 0; i < 3; i++) {
                assertEquals(0, IntuneScepNative.intune_scep_java_log_sink_call_from_native_thread(sink, 30,
                        "native line " + i + " \ud83d\ude00"));
            }
            assertEquals(0, IntuneScepNative.intune_scep_java_log_sink_call_from_native_thread(sink, 10, "debug line"));
        } finally {
            IntuneScepNative.intune_scep_java_log_sink_free(sink);
        }
        List<LogRecord> got = new ArrayList<>(records);
        assertEquals(4, got.size(), lines().toString());
        for (int i = 0; i < 3; i++) {
            assertEquals(Level.WARNING, got.get(i).getLevel());
            assertEquals("native line " + i + " \ud83d\ude00", got.get(i).getMessage());
            assertNotEquals((int) Thread.currentThread().getId(), got.get(i).getThreadID());
        }
        assertEquals(Level.FINER, got.get(3).getLevel());
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            assertNotEquals("intune-scep-native", t.getName(), "a native thread stayed attached");
        }
    }
}
