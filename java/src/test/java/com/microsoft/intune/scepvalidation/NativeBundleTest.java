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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.microsoft.intune.scepvalidation.internal.NativeLoader;

/**
 * The jar carries the JNI library with the shared objects it needs beyond glibc,
 * named in com/microsoft/intune/scepvalidation/native/&lt;os&gt;-&lt;arch&gt;/libraries.list; the loader
 * extracts them together.
 */
class NativeBundleTest {
    @TempDir
    Path tmp;

    private static Path mainClasses() {
        return Paths.get(System.getProperty("intunescep.main.classes", "target/classes"));
    }

    private static String nativeDir() {
        String r = NativeLoader.resourcePath();
        return r.substring(1, r.lastIndexOf('/') + 1); // com/microsoft/intune/scepvalidation/native/linux-x86_64/
    }

    /** A jar of the main classes with libraries.list replaced by {@code list} (null: as built) and {@code drop} left out. */
    private Path jar(String list, String drop) throws IOException {
        Path jar = tmp.resolve("intune-scep.jar");
        Path root = mainClasses();
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(Files::isRegularFile).sorted().collect(Collectors.toList());
        }
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (Path f : files) {
                String entry = root.relativize(f).toString().replace('\\', '/');
                if (entry.equals(nativeDir() + drop)) {
                    continue;
                }
                out.putNextEntry(new JarEntry(entry));
                if (list != null && entry.equals(nativeDir() + NativeLoader.LIST)) {
                    out.write(list.getBytes(StandardCharsets.UTF_8));
                } else {
                    Files.copy(f, out);
                }
                out.closeEntry();
            }
        }
        return jar;
    }

    private String runJava(Path jar, int[] exit) throws Exception {
        Path javaBin = Paths.get(System.getProperty("java.home"), "bin", "java");
        Path jvmTmp = Files.createDirectories(tmp.resolve("jvm-tmp"));
        List<String> cmd = new ArrayList<>(List.of(javaBin.toString(), "-Djava.library.path=",
                "-Djava.io.tmpdir=" + jvmTmp, "-cp", jar.toString(), NativeLoader.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("LD_LIBRARY_PATH");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM ended");
        exit[0] = p.exitValue();
        return out;
    }

    private List<String> bundled() throws IOException {
        return Files.readAllLines(mainClasses().resolve(nativeDir() + NativeLoader.LIST));
    }

    @Test
    void theListNamesTheLibraryLastAndItsSharedObjects() throws Exception {
        List<String> names = bundled();
        assertEquals(System.mapLibraryName(NativeLoader.LIBRARY), names.get(names.size() - 1), names.toString());
        if (System.getProperty("os.name").equals("Linux")) {
            assertTrue(names.contains("libcurl.so.4"), names.toString());
            assertTrue(names.contains("libcrypto.so.3"), names.toString());
            assertTrue(names.contains("libcjson.so.1"), names.toString());
        }
        for (String n : names) {
            assertTrue(Files.isRegularFile(mainClasses().resolve(nativeDir() + n)), n);
        }
    }

    @Test
    void everyListedObjectIsExtractedBesideTheLibraryAndTheDirectoryIsDeleted() throws Exception {
        int[] exit = new int[1];
        String out = runJava(jar(null, ""), exit);
        assertEquals(0, exit[0], out);
        assertTrue(out.contains("with " + (bundled().size() - 1) + " shared objects beside it"), out);
        try (Stream<Path> left = Files.list(tmp.resolve("jvm-tmp"))) {
            assertEquals(List.of(), left.collect(Collectors.toList()), "nothing left in the temporary directory");
        }
    }

    @Test
    void aListNamingAPathOutsideThePrivateDirectoryIsRefused() throws Exception {
        int[] exit = new int[1];
        String lib = System.mapLibraryName(NativeLoader.LIBRARY);
        String out = runJava(jar("../../evil.so\n" + lib + "\n", ""), exit);
        assertNotEquals(0, exit[0], out);
        assertTrue(out.contains("names a bad file: ../../evil.so"), out);
        assertFalse(Files.exists(tmp.resolve("evil.so")));
    }

    @Test
    void aListedObjectMissingFromTheJarIsNamed() throws Exception {
        int[] exit = new int[1];
        String out = runJava(jar(null, "libcjson.so.1"), exit);
        if (!bundled().contains("libcjson.so.1")) {
            return; // a platform whose bundle has no cJSON object: nothing to leave out
        }
        assertNotEquals(0, exit[0], out);
        assertTrue(out.contains("libcjson.so.1 (named in libraries.list) is missing"), out);
    }

    @Test
    void aListThatDoesNotNameTheLibraryIsRefused() throws Exception {
        int[] exit = new int[1];
        String out = runJava(jar("libcurl.so.4\n", ""), exit);
        assertNotEquals(0, exit[0], out);
        assertTrue(out.contains("does not name " + System.mapLibraryName(NativeLoader.LIBRARY)), out);
    }
}
