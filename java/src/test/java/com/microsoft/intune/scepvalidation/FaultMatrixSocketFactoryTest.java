// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.Properties;

/**
 * The rows of {@link FaultMatrixTest}, with the same expectations, on a client
 * whose HTTPS goes through SetSslSocketFactory (TLS_CA_FILE not set: the
 * factory's trust decides; the "untrusted" row's factory trusts another CA).
 */
class FaultMatrixSocketFactoryTest extends FaultMatrixTest {
    @Override
    IntuneScepServiceClient newClient(Row r, String[] extra) throws Exception {
        Properties p = emu.properties(extra);
        p.remove("TLS_CA_FILE");
        IntuneScepServiceClient c = new IntuneScepServiceClient(p);
        c.SetSslSocketFactory(Emulator.sslContextTrusting(r.special == Special.UNTRUSTED ? otherCaFile : emu.caFile)
                .getSocketFactory());
        return c;
    }

    /**
     * One difference, the JDK's: HttpURLConnection repeats a request once by itself when the connection is
     * reset before the status line, so each of the library's attempts reaches the emulator twice.
     */
    @Override
    int expectedRequests(Row r) {
        if (r.fault != null && "reset".equals(r.fault.get("action")) && r.requests > 0) {
            return 2 * r.requests;
        }
        return r.requests;
    }
}
