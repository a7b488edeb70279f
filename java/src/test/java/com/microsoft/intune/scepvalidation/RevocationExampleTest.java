// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * src/test/example/RevocationFlow.java, written like the reference's
 * revocation example, compiled against the library's classes alone (what the
 * jar holds: no test classes, no JUnit) and run in a JVM of its own against
 * the emulator with revocations queued.
 */
class RevocationExampleTest extends EmulatorTestBase {
    @TempDir
    static Path work;
    private static Path classes;
    private static String mainClasses;

    @BeforeAll
    static void compile() throws Exception {
        mainClasses = System.getProperty("intunescep.main.classes", "target/classes");
        classes = work.resolve("classes");
        Files.createDirectories(classes);
        Path source = Emulator.repo().resolve("java/src/test/example/RevocationFlow.java");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "a JDK is needed to compile the example");
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-Xlint:all", "-Werror", "--release", "11",
                "-classpath", mainClasses, "-d", classes.toString(), source.toString());
        assertEquals(0, rc, "the example does not compile against the library alone:\n"
                + diagnostics.toString(StandardCharsets.UTF_8));
    }

    @BeforeEach
    void writeProperties() throws Exception {
        try (OutputStream out = Files.newOutputStream(classes.resolve("com.microsoft.intune.props"))) {
            props().store(out, "emulator configuration (test)");
        }
    }

    /** Run the example; its exit status, with its output in {@code out[0]}. */
    private static int run(String[] out, String... args) throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-cp",
                mainClasses + File.pathSeparator + classes, "RevocationFlow"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] text = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the example did not finish");
        }
        out[0] = new String(text, StandardCharsets.UTF_8);
        return p.exitValue();
    }

    @SuppressWarnings("unchecked")
    @Test
    void downloadsTheQueuedRevocationsAndUploadsTheirResults() throws Exception {
        emu.post("revocations", Map.of("requests", List.of(
                Map.of("serialNumber", "0A1B2C", "issuerName", "CN=Contoso Issuing CA"),
                Map.of("serialNumber", "DEAD01", "issuerName", "CN=Contoso Issuing CA"),
                Map.of("serialNumber", "0D0E0F", "issuerName", "CN=Contoso Issuing CA"))));
        String[] out = new String[1];
        assertEquals(0, run(out), out[0]);
        assertTrue(out[0].contains("Uploading 3 revocation results"), out[0]);

        List<Map<String, Object>> results = (List<Map<String, Object>>) emu.get("revocation_results");
        assertEquals(3, results.size(), String.valueOf(results));
        int failed = 0;
        for (Map<String, Object> r : results) {
            assertEquals(Boolean.TRUE, r.get("known_request"));
            if (Boolean.FALSE.equals(r.get("succeeded"))) {
                failed++;
                assertEquals("4004", r.get("errorCode"));
                assertEquals("no certificate with serial DEAD01", r.get("errorMessage"));
            } else {
                assertEquals("0", r.get("errorCode"));
            }
        }
        assertEquals(1, failed);
        Map<String, Object> download = onlyRequest("downloadRevocationRequests");
        Map<String, Object> params = (Map<String, Object>) ((Map<String, Object>) download.get("json"))
                .get("downloadParameters");
        assertEquals(100L, params.get("maxRequests"));
        assertEquals(null, params.get("issuerName"));
        assertEquals(1, emu.requests("uploadRevocationResults").size());
    }

    @Test
    void withNothingQueuedNothingIsUploaded() throws Exception {
        String[] out = new String[1];
        assertEquals(0, run(out, "CN=Contoso Issuing CA"), out[0]);
        assertEquals(1, emu.requests("downloadRevocationRequests").size());
        assertEquals(0, emu.requests("uploadRevocationResults").size());
    }

    @Test
    void anUploadIntuneDoesNotTakeEndsInTheKnownFailureBranch() throws Exception {
        emu.post("revocations", Map.of("requests", List.of(Map.of("serialNumber", "0A", "issuerName", "CN=CA"))));
        emu.fault("endpoint", "uploadRevocationResults", "status", 200, "body", "{\"value\":false}", "times", 0);
        String[] out = new String[1];
        assertEquals(1, run(out), out[0]);
        assertTrue(out[0].contains("Intune client failure"), out[0]);
    }
}
