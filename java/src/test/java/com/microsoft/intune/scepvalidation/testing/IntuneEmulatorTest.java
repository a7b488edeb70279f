// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The emulator handle: which command it runs, and a clear failure when that command is missing or dies. */
class IntuneEmulatorTest {
    private static IllegalStateException startWith(String command) {
        String old = System.getProperty("intunescep.emulator.command");
        System.setProperty("intunescep.emulator.command", command);
        try {
            return assertThrows(IllegalStateException.class, IntuneEmulator::start);
        } finally {
            if (old == null) {
                System.clearProperty("intunescep.emulator.command");
            } else {
                System.setProperty("intunescep.emulator.command", old);
            }
        }
    }

    @Test
    void aMissingCommandFailsWithTheInstallHint() {
        IllegalStateException e = startWith("/nonexistent/intune-scep-emulator");
        assertTrue(e.getMessage().contains("did not start") && e.getMessage().contains("pip install"), e.getMessage());
    }

    @Test
    void aCommandThatDiesFailsWithTheInstallHint() {
        IllegalStateException e = startWith("false");
        assertTrue(e.getMessage().contains("did not start") && e.getMessage().contains("pip install"), e.getMessage());
    }

    @Test
    void theConfiguredCommandWins() {
        String old = System.getProperty("intunescep.emulator.command");
        System.setProperty("intunescep.emulator.command", "  my-emulator  --flag ");
        try {
            assertEquals(List.of("my-emulator", "--flag"), IntuneEmulator.emulatorCommand());
        } finally {
            if (old == null) {
                System.clearProperty("intunescep.emulator.command");
            } else {
                System.setProperty("intunescep.emulator.command", old);
            }
        }
    }

    @Test
    void theConfigurationFileIsPrivateAndComplete() throws Exception {
        try (IntuneEmulator emu = IntuneEmulator.start()) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(emu.propertiesFile())));
            for (String key : List.of("AAD_APP_ID", "AAD_APP_KEY", "TENANT", "AUTH_AUTHORITY", "TLS_CA_FILE")) {
                assertTrue(emu.properties().getProperty(key) != null, key);
            }
            assertTrue(emu.get("stats").contains("connections"));
        }
    }
}
