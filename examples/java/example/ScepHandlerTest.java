// SPDX-License-Identifier: Apache-2.0
package example;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import com.microsoft.intune.scepvalidation.IntuneScepServiceClient;
import com.microsoft.intune.scepvalidation.testing.IntuneEmulator;
import com.microsoft.intune.scepvalidation.testing.IntuneEmulatorExtension;

/** A newcomer's first tests of a SCEP handler, against the Intune emulator (no Intune tenant). */
@ExtendWith(IntuneEmulatorExtension.class)
class ScepHandlerTest {
    private IntuneScepServiceClient client;
    private ScepHandler handler;

    @BeforeEach
    void setUp(IntuneEmulator emu) {
        client = new IntuneScepServiceClient(emu.properties());
        handler = new ScepHandler(client, csr -> {
            try {
                return emu.sign(csr); // stands in for the CA
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @AfterEach
    void tearDown() {
        client.close();
    }

    @Test
    void issuesAndNotifies(IntuneEmulator emu) throws Exception {
        X509Certificate cert = handler.enroll("tx-1", emu.makeCsr("CN=alice,O=Contoso"));
        assertNotNull(cert);
        assertTrue(emu.get("notifications").contains("\"tx-1\""), emu.get("notifications"));
    }

    @Test
    void refusesAWrongSubject(IntuneEmulator emu) throws Exception {
        // the profile says CN=alice; the device asks for CN=mallory
        String csr = emu.makeCsr("CN=alice,O=Contoso", "--csr-subject", "CN=mallory,O=Contoso");
        assertNull(handler.enroll("tx-2", csr));
        assertTrue(emu.get("validations").contains("SubjectNameMismatch"), emu.get("validations"));
        assertTrue(emu.get("notifications").contains("\"success\": []")
                || emu.get("notifications").contains("\"success\":[]"), emu.get("notifications"));
    }

    @Test
    void refusesWhenIntuneIsDown(IntuneEmulator emu) throws Exception {
        emu.post("faults", "{\"endpoint\": \"validateRequest\", \"status\": 503, \"times\": 10}");
        assertNull(handler.enroll("tx-3", emu.makeCsr("CN=alice,O=Contoso")));
    }
}
