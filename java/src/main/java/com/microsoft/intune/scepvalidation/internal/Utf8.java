// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.internal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Strings cross the JNI boundary as standard UTF-8 bytes (JNI's own string
 * functions use "modified UTF-8", which mangles characters outside the BMP and
 * NUL). Used by the generated bindings.
 */
public final class Utf8 {
    private Utf8() {
    }

    /** The UTF-8 bytes of {@code s}, or null for null. */
    public static byte[] encode(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    /** The string of the UTF-8 bytes {@code b}, or null for null. */
    public static String decode(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /** Overwrite a temporary copy (it may hold a secret such as AAD_APP_KEY). */
    public static void wipe(byte[] b) {
        if (b != null) {
            Arrays.fill(b, (byte) 0);
        }
    }
}
