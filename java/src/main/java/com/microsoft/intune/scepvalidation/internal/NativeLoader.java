// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads the native library ({@code libintunescep_jni.so}: the JNI wrapper with
 * the C library compiled in) once per class loader.
 *
 * <p>In order:
 * <ol>
 * <li>the file named by the system property {@value #PATH_PROPERTY}, when it
 * is set (and nothing else then);</li>
 * <li>the copy inside the jar, {@code /com/microsoft/intune/scepvalidation/native/<os>-<arch>/libintunescep_jni.so}
 * (under this package's folder, as sqlite-jdbc does, so that another jar's {@code /native/}
 * earlier on the class path cannot shadow it), together with the shared objects it
 * needs beyond glibc (libcurl, OpenSSL, cJSON and their own dependencies), which lie
 * beside it and are named in {@code libraries.list} there: all are extracted to a new private
 * directory (mode 0700) under {@code java.io.tmpdir} (or
 * {@value #TMPDIR_PROPERTY}); each has the run path {@code $ORIGIN}, so the
 * dynamic loader finds the others there. The library is loaded and the directory
 * deleted again at once (the loaded mappings stay valid; if deleting fails, it is
 * deleted when the JVM exits);</li>
 * <li>{@code System.loadLibrary("intunescep_jni")}, i.e. {@code java.library.path}.</li>
 * </ol>
 * When all fail, the {@link UnsatisfiedLinkError} names every place tried and why.
 */
public final class NativeLoader {
    /** The library's base name: {@code System.mapLibraryName} gives the file name. */
    public static final String LIBRARY = "intunescep_jni";
    /** System property: load this file and nothing else. */
    public static final String PATH_PROPERTY = "intunescep.native.library";
    /** The jar folder holding one folder per platform ({@code linux-x86_64/...}): under this package's name. */
    public static final String RESOURCE_ROOT = "/com/microsoft/intune/scepvalidation/native";
    /** The jar resource beside the library naming the files to extract with it, one a line. */
    public static final String LIST = "libraries.list";
    /** System property: directory to extract the jar's copy into (default java.io.tmpdir). */
    public static final String TMPDIR_PROPERTY = "intunescep.native.tmpdir";

    private static String source;
    private static String failure;

    private NativeLoader() {
    }

    /**
     * Load the library if it is not loaded yet. Thread-safe; cheap after the first call.
     *
     * @throws UnsatisfiedLinkError naming every place tried, when none worked
     */
    public static synchronized void load() {
        if (source != null) {
            return;
        }
        if (failure != null) {
            throw new UnsatisfiedLinkError(failure);
        }
        List<String> tried = new ArrayList<>();
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            try {
                System.load(Paths.get(explicit).toAbsolutePath().toString());
                source = "file " + explicit + " (system property " + PATH_PROPERTY + ")";
                return;
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                tried.add("file " + explicit + " (system property " + PATH_PROPERTY + "): " + e.getMessage());
                fail(tried);
            }
        }

        String resource = resourcePath();
        URL url = NativeLoader.class.getResource(resource);
        if (url == null) {
            tried.add("jar resource " + resource + ": not present (this jar has no native library for "
                    + platformKey() + ")");
        } else {
            try {
                source = loadFromResource(url, resource);
                return;
            } catch (IOException | UnsatisfiedLinkError | RuntimeException e) {
                tried.add("jar resource " + resource + ": " + e);
            }
        }

        try {
            System.loadLibrary(LIBRARY);
            source = "System.loadLibrary(\"" + LIBRARY + "\") from java.library.path="
                    + System.getProperty("java.library.path");
            return;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            tried.add("System.loadLibrary(\"" + LIBRARY + "\") on java.library.path=\""
                    + System.getProperty("java.library.path", "") + "\": " + e.getMessage());
        }
        fail(tried);
    }

    private static void fail(List<String> tried) {
        failure = "intune-scep: cannot load the native library " + System.mapLibraryName(LIBRARY) + " for "
                + platformKey() + "; tried: " + String.join("; ", tried);
        throw new UnsatisfiedLinkError(failure);
    }

    private static String loadFromResource(URL url, String resource) throws IOException {
        List<String> names = bundledFiles(resource);
        Path base = Paths.get(System.getProperty(TMPDIR_PROPERTY, System.getProperty("java.io.tmpdir")));
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] dirAttr = new FileAttribute<?>[0];
        FileAttribute<?>[] fileAttr = new FileAttribute<?>[0];
        if (posix) {
            dirAttr = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------"))};
            fileAttr = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------"))};
        }
        Path dir = Files.createTempDirectory(base, "intune-scep-jni-", dirAttr);
        List<Path> written = new ArrayList<>();
        Path library = dir.resolve(System.mapLibraryName(LIBRARY));
        try {
            String folder = resource.substring(0, resource.lastIndexOf('/') + 1);
            for (String name : names) {
                Path file = dir.resolve(name);
                URL part = name.equals(System.mapLibraryName(LIBRARY)) ? url
                        : NativeLoader.class.getResource(folder + name);
                if (part == null) {
                    throw new IOException("jar resource " + folder + name + " (named in " + LIST + ") is missing");
                }
                Files.createFile(file, fileAttr);
                written.add(file);
                try (InputStream in = part.openStream()) {
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            System.load(library.toAbsolutePath().toString());
            return "jar resource " + resource + " (extracted to " + library + ", then deleted"
                    + (names.size() > 1 ? "; with " + (names.size() - 1) + " shared objects beside it" : "") + ")";
        } finally {
            deleteNowOrOnExit(written, dir);
        }
    }

    /**
     * The files to extract: those named in libraries.list beside the library (which
     * must name the library), or the library alone when there is no list.
     */
    private static List<String> bundledFiles(String resource) throws IOException {
        String lib = System.mapLibraryName(LIBRARY);
        String listPath = resource.substring(0, resource.lastIndexOf('/') + 1) + LIST;
        List<String> names = new ArrayList<>();
        try (InputStream in = NativeLoader.class.getResourceAsStream(listPath)) {
            if (in == null) {
                names.add(lib);
                return names;
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                String name = line.trim();
                if (name.isEmpty()) {
                    continue;
                }
                // plain file names only: nothing may be written outside the private directory
                if (!name.matches("[A-Za-z0-9._+-]+") || name.startsWith(".")) {
                    throw new IOException("jar resource " + listPath + " names a bad file: " + name);
                }
                if (!names.contains(name)) {
                    names.add(name);
                }
            }
        }
        if (!names.contains(lib)) {
            throw new IOException("jar resource " + listPath + " does not name " + lib);
        }
        return names;
    }

    private static void deleteNowOrOnExit(List<Path> files, Path dir) {
        boolean all = true;
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException | RuntimeException e) {
                // e.g. a platform that cannot delete a loaded library: delete at exit
                all = false;
            }
        }
        try {
            if (all) {
                Files.deleteIfExists(dir);
                return;
            }
        } catch (IOException | RuntimeException e) {
            // fall through: at exit
        }
        dir.toFile().deleteOnExit(); // registered first, so deleted last
        for (Path f : files) {
            f.toFile().deleteOnExit();
        }
    }

    /** Where the library was loaded from, or null when it is not loaded (yet). */
    public static synchronized String source() {
        return source;
    }

    /**
     * The jar resource holding this platform's library, e.g.
     * /com/microsoft/intune/scepvalidation/native/linux-x86_64/libintunescep_jni.so.
     */
    public static String resourcePath() {
        return RESOURCE_ROOT + "/" + platformKey() + "/" + System.mapLibraryName(LIBRARY);
    }

    /** This platform's key: os-arch, e.g. linux-x86_64, linux-aarch64, osx-aarch64, windows-x86_64. */
    public static String platformKey() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            os = "osx";
        } else if (os.startsWith("windows")) {
            os = "windows";
        } else {
            os = os.replaceAll("[^a-z0-9]", "");
        }
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        switch (arch) {
            case "amd64":
            case "x86_64":
            case "x64":
                arch = "x86_64";
                break;
            case "aarch64":
            case "arm64":
                arch = "aarch64";
                break;
            case "x86":
            case "i386":
            case "i486":
            case "i586":
            case "i686":
                arch = "x86";
                break;
            default:
                arch = arch.replaceAll("[^a-z0-9_]", "");
        }
        return os + "-" + arch;
    }

    /** Loads the library and prints where it came from and the library version (a diagnostic). */
    public static void main(String[] args) {
        load();
        System.out.println("source: " + source());
        System.out.println("version: " + IntuneScepNative.intune_scep_version());
    }
}
