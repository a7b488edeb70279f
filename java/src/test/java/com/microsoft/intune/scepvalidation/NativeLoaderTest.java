// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.microsoft.intune.scepvalidation.internal.NativeLoader;

/**
 * The native library travels inside the jar: a JVM with an empty
 * java.library.path and only the jar on its class path loads it.
 */
class NativeLoaderTest {
    @TempDir
    Path tmp;

    private static Path mainClasses() {
        return Paths.get(System.getProperty("intunescep.main.classes", "target/classes"));
    }

    /** A jar of the main classes (what maven-jar-plugin packages), optionally without the native library. */
    private Path jar(String name, boolean withNative) throws IOException {
        Path jar = tmp.resolve(name);
        Path root = mainClasses();
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(Files::isRegularFile).sorted().collect(Collectors.toList());
        }
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (Path f : files) {
                String entry = root.relativize(f).toString().replace('\\', '/');
                if (!withNative && entry.startsWith(NativeLoader.RESOURCE_ROOT.substring(1) + "/")) {
                    continue;
                }
                out.putNextEntry(new JarEntry(entry));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
        return jar;
    }

    private static final class Result {
        int exit;
        String out;
    }

    private Result runJava(Path jar, String... extra) throws Exception {
        return runJavaWithClassPath(jar.toString(), extra);
    }

    private Result runJavaWithClassPath(String classPath, String... extra) throws Exception {
        Path javaBin = Paths.get(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new java.util.ArrayList<>(List.of(javaBin.toString(), "-Djava.library.path=",
                "-Djava.io.tmpdir=" + tmp.resolve("jvm-tmp"), "-cp", classPath));
        cmd.addAll(List.of(extra));
        cmd.add(NativeLoader.class.getName());
        Files.createDirectories(tmp.resolve("jvm-tmp"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("LD_LIBRARY_PATH");
        Process p = pb.start();
        p.getOutputStream().close(); // nothing to send
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM ended");
        Result r = new Result();
        r.exit = p.exitValue();
        r.out = out;
        return r;
    }

    @Test
    void aJvmWithAnEmptyLibraryPathLoadsTheCopyInsideTheJar() throws Exception {
        Path jar = jar("intune-scep.jar", true);
        Result r = runJava(jar);
        assertEquals(0, r.exit, r.out);
        assertTrue(r.out.contains("source: jar resource " + NativeLoader.resourcePath()), r.out);
        assertTrue(r.out.contains("version: " + IntuneScepServiceClient.getLibraryVersion()), r.out);
        // extracted to a private directory, deleted once loaded
        Matcher m = Pattern.compile("extracted to (\\S+), then deleted").matcher(r.out);
        assertTrue(m.find(), r.out);
        Path extracted = Paths.get(m.group(1));
        assertTrue(extracted.startsWith(tmp.resolve("jvm-tmp")), extracted.toString());
        assertFalse(Files.exists(extracted), "extracted file deleted: " + extracted);
        assertFalse(Files.exists(extracted.getParent()), "its directory deleted too");
    }

    @Test
    void withoutTheLibraryTheErrorNamesEverythingTried() throws Exception {
        Path jar = jar("intune-scep-no-native.jar", false);
        Result r = runJava(jar);
        assertNotEquals(0, r.exit, r.out);
        assertTrue(r.out.contains("UnsatisfiedLinkError"), r.out);
        assertTrue(r.out.contains("jar resource " + NativeLoader.resourcePath() + ": not present"), r.out);
        assertTrue(r.out.contains("System.loadLibrary(\"intunescep_jni\") on java.library.path=\"\""), r.out);
    }

    @Test
    void anotherJarsNativeFolderEarlierOnTheClassPathDoesNotShadowTheLibrary() throws Exception {
        // A jar that carries its own /native/<os>-<arch>/libintunescep_jni.so (here: not a library at all)
        // and is found first: the loader looks only under its own package's folder.
        Path shadow = tmp.resolve("other.jar");
        String folder = "native/" + NativeLoader.platformKey() + "/";
        String lib = System.mapLibraryName(NativeLoader.LIBRARY);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(shadow))) {
            out.putNextEntry(new JarEntry(folder + lib));
            out.write("not an ELF object".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            out.putNextEntry(new JarEntry(folder + NativeLoader.LIST));
            out.write((lib + "\n").getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        Path jar = jar("intune-scep.jar", true);
        Result r = runJavaWithClassPath(shadow + java.io.File.pathSeparator + jar);
        assertEquals(0, r.exit, r.out);
        assertTrue(NativeLoader.resourcePath().startsWith("/com/microsoft/intune/scepvalidation/native/"),
                NativeLoader.resourcePath());
        assertTrue(r.out.contains("source: jar resource " + NativeLoader.resourcePath()), r.out);
    }

    @Test
    void anExplicitPathThatDoesNotExistIsNamed() throws Exception {
        Path jar = jar("intune-scep.jar", true);
        Path missing = tmp.resolve("nowhere/libintunescep_jni.so");
        Result r = runJava(jar, "-D" + NativeLoader.PATH_PROPERTY + "=" + missing);
        assertNotEquals(0, r.exit, r.out);
        assertTrue(r.out.contains(missing.toString()), r.out);
        assertTrue(r.out.contains(NativeLoader.PATH_PROPERTY), r.out);
    }

    @Test
    void theTestJvmLoadedTheLibraryFromItsResource() {
        NativeLoader.load();
        assertTrue(NativeLoader.source().startsWith("jar resource /com/microsoft/intune/scepvalidation/native/"
                + NativeLoader.platformKey() + "/"), NativeLoader.source());
        if (System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64")) {
            assertEquals("linux-x86_64", NativeLoader.platformKey());
        }
    }
}
