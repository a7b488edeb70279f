// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * IntuneScepConfiguration.fromEnvironment: the app key set only in the environment reaches
 * the client through the explicit call, and nothing reads it behind the caller's back.
 * A JVM cannot change its own environment, so each case runs a child JVM with the
 * variables set; the child prints one line the test checks.
 */
class EnvironmentConfigurationTest extends EmulatorTestBase {
    @TempDir
    Path tmp;

    /** The child: reads base properties from args[0], applies the environment (prefix args[1]), validates. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Properties base = new Properties();
            try (InputStream in = new FileInputStream(args[0])) {
                base.load(in);
            }
            String mode = args[1];
            Properties props;
            try {
                props = mode.equals("none") ? base
                        : mode.equals("default") ? IntuneScepConfiguration.fromEnvironment(base)
                        : IntuneScepConfiguration.fromEnvironment(base, mode);
            } catch (IllegalArgumentException e) {
                System.out.println("config-error: " + e.getMessage());
                return;
            }
            System.out.println("keys: " + new java.util.TreeSet<>(props.stringPropertyNames()));
            try (IntuneScepServiceClient client = new IntuneScepServiceClient(props)) {
                client.ValidateRequest(args[2], args[3]);
                System.out.println("validated");
            } catch (IllegalArgumentException e) {
                System.out.println("client-error: " + e.getMessage());
            }
        }
    }

    private String runChild(Properties base, String mode, Map<String, String> env) throws Exception {
        File file = tmp.resolve("base.properties").toFile();
        try (OutputStream out = new FileOutputStream(file)) {
            base.store(out, null);
        }
        String cp = System.getProperty("intunescep.main.classes") + File.pathSeparator
                + System.getProperty("intunescep.test.classes");
        Path javaBin = Paths.get(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(javaBin.toString(), "-cp", cp, Child.class.getName(),
                file.toString(), mode, newTransactionId(), validCsr("env-child")));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("INTUNE_SCEP_") || k.startsWith("MYCA_"));
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        p.getInputStream().transferTo(buf);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not end");
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void appKeyFromTheEnvironment() throws Exception {
        String key = (String) emu.config.get("AAD_APP_KEY");
        Properties base = emu.properties("AAD_APP_KEY", null);
        String out = runChild(base, "default", Map.of("INTUNE_SCEP_AAD_APP_KEY", key,
                "INTUNE_SCEP_NOT_A_KEY", "ignored"));
        assertTrue(out.contains("validated"), out);
        assertTrue(out.contains("AAD_APP_KEY") && !out.contains("NOT_A_KEY"), out);
        assertEquals(1, emu.requests("validateRequest").size());
    }

    @Test
    void nothingReadBehindTheCallersBack() throws Exception {
        String key = (String) emu.config.get("AAD_APP_KEY");
        String out = runChild(emu.properties("AAD_APP_KEY", null), "none", Map.of("INTUNE_SCEP_AAD_APP_KEY", key));
        assertTrue(out.contains("client-error") && out.contains("AAD_APP_KEY"), out);
        assertEquals(0, emu.requests("validateRequest").size());
    }

    @Test
    void anotherPrefixWinsOverTheFile() throws Exception {
        String key = (String) emu.config.get("AAD_APP_KEY");
        String out = runChild(emu.properties("AAD_APP_KEY", "wrong-secret"), "MYCA_", Map.of("MYCA_AAD_APP_KEY", key,
                "MYCA_PROVIDER_NAME_AND_VERSION", "From the environment/1"));
        assertTrue(out.contains("validated"), out);
        Map<String, Object> req = onlyRequest("validateRequest");
        assertTrue(String.valueOf(req.get("json")).contains("From the environment/1"), String.valueOf(req));
    }

    @Test
    void badValueNamesTheVariableNeverTheValue() throws Exception {
        String out = runChild(emu.properties(), "MYCA_", Map.of("MYCA_PROXY_PASS", "s3cr3t-value\t"));
        assertTrue(out.contains("config-error") && out.contains("MYCA_PROXY_PASS"), out);
        assertTrue(!out.contains("s3cr3t-value"), out);
    }
}
