// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.OutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reference's example flow (ExampleFlow, default package) against the emulator. */
class ExampleFlowTest extends EmulatorTestBase {
    private Path propsFile;

    @BeforeEach
    void writeProperties() throws Exception {
        // ExampleFlow reads the resource "com.microsoft.intune.props" next to its class, as the reference does.
        Path classes = Paths.get(System.getProperty("intunescep.test.classes", "target/test-classes"));
        propsFile = classes.resolve("com.microsoft.intune.props");
        try (OutputStream out = Files.newOutputStream(propsFile)) {
            props().store(out, "emulator configuration (test)");
        }
    }

    @AfterEach
    void removeProperties() throws Exception {
        Files.deleteIfExists(propsFile);
    }

    private static int runExample(String csr) throws Exception {
        Class<?> example = Class.forName("ExampleFlow");
        Field f = example.getDeclaredField("csr");
        f.setAccessible(true);
        f.set(null, csr);
        Method run = example.getDeclaredMethod("run");
        run.setAccessible(true);
        return (Integer) run.invoke(null);
    }

    @Test
    void exampleFlowSucceedsAgainstTheEmulator() throws Exception {
        String csr = validCsr("example-device");
        assertEquals(0, runExample(csr));
        assertEquals(1, emu.requests("validateRequest").size());
        assertEquals(1, emu.requests("successNotification").size());
        Map<String, Object> failure = onlyRequest("failureNotification");
        @SuppressWarnings("unchecked")
        Map<String, Object> n = (Map<String, Object>) ((Map<String, Object>) failure.get("json")).get("notification");
        // the int literal 0x8000ffff widens to a negative long, as with the reference
        assertEquals(-2147418113L, n.get("hResult"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> validations = (List<Map<String, Object>>) emu.get("validations");
        assertEquals("Success", validations.get(0).get("code"));
    }

    @Test
    void exampleFlowWithThePlaceholderCsrTakesTheKnownFailureBranch() throws Exception {
        // the reference's placeholder is not a CSR: Intune answers CertificateRequestDecodingFailed
        assertEquals(1, runExample("BASE64 Encoded CSR would go here"));
        assertEquals(0, emu.requests("successNotification").size());
    }

    @Test
    void exampleFlowWithoutAServiceTakesTheGenericFailureBranch() throws Exception {
        emu.fault("endpoint", "validateRequest", "times", 0, "status", 503, "body", "{}");
        assertEquals(2, runExample(validCsr("example-device")));
        assertEquals(0, emu.requests("successNotification").size());
    }
}
