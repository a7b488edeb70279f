// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.util.Properties;

import com.microsoft.intune.scepvalidation.FaultScenarios.Row;

/**
 * The rows of {@link FaultMatrixTest}, with the same expectations, on clients whose
 * HTTPS goes through SetSslSocketFactory (TLS_CA_FILE not set: the factory's trust
 * decides; the "untrusted" row's factory trusts another CA). Where the JDK's HTTP
 * client makes a row differ, the row says so in its "via_socket_factory" field.
 */
class FaultMatrixSocketFactoryTest extends FaultMatrixTest {
    @Override
    String runner() {
        return "java-socket-factory";
    }

    @Override
    AutoCloseable newClient(Row r, Properties p, String trusted) throws Exception {
        p.remove("TLS_CA_FILE");
        javax.net.ssl.SSLSocketFactory factory = Emulator.sslContextTrusting(trusted).getSocketFactory();
        if (r.step.equals("uploadRevocationResults")) {
            IntuneRevocationClient c = new IntuneRevocationClient(p);
            c.SetSslSocketFactory(factory);
            return c;
        }
        IntuneScepServiceClient c = new IntuneScepServiceClient(p);
        c.SetSslSocketFactory(factory);
        return c;
    }

    @Override
    int expectedRequests(Row r) {
        Object n = r.viaSocketFactory.get("requests");
        return n != null ? ((Number) n).intValue() : r.requests;
    }
}
