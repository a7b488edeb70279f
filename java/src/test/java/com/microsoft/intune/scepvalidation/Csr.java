// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PKCS#10 certificate request a device would send, with a challenge password and
 * optional rfc822Name SANs, signed SHA256withRSA: built by the Intune emulator's device
 * module (POST /_emulator/device/csr, docs/emulator.md), the one CSR builder of the
 * project's tests. An emulator for that is started on first use and stopped when the
 * JVM exits.
 */
final class Csr {
    private static KeyPair cached;
    private static Emulator builder;

    private final List<String> subjectRdns = new ArrayList<>(); // in DER order, most significant first
    private final List<String> sanEmails = new ArrayList<>();
    private String challenge;
    private KeyPair keyPair;
    private Map<String, Object> built;

    static synchronized KeyPair rsa2048() throws Exception {
        if (cached == null) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            cached = g.generateKeyPair();
        }
        return cached;
    }

    private static synchronized Emulator builder() throws Exception {
        if (builder == null) {
            Emulator e = Emulator.start();
            Runtime.getRuntime().addShutdownHook(new Thread(e::close));
            builder = e;
        }
        return builder;
    }

    Csr cn(String cn) {
        subjectRdns.add("CN=" + cn);
        built = null;
        return this;
    }

    Csr o(String o) {
        subjectRdns.add("O=" + o);
        built = null;
        return this;
    }

    Csr challenge(String c) {
        this.challenge = c;
        built = null;
        return this;
    }

    Csr key(KeyPair kp) {
        this.keyPair = kp;
        built = null;
        return this;
    }

    /** subjectAltName with rfc822Name entries. */
    Csr sanEmails(String... emails) {
        sanEmails.addAll(List.of(emails));
        built = null;
        return this;
    }

    @SuppressWarnings("unchecked")
    private synchronized Map<String, Object> build() throws Exception {
        if (built == null) {
            StringBuilder subject = new StringBuilder(); // RFC 4514: the most significant RDN last
            for (int k = subjectRdns.size() - 1; k >= 0; k--) {
                subject.append(subject.length() > 0 ? "," : "").append(subjectRdns.get(k));
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("subject", subject.toString());
            body.put("challenge", challenge); // null: no challengePassword
            body.put("san_emails", new ArrayList<>(sanEmails));
            body.put("hash", "sha256");
            if (keyPair != null) {
                body.put("key_pem", "-----BEGIN PRIVATE KEY-----\n"
                        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(keyPair.getPrivate().getEncoded())
                        + "\n-----END PRIVATE KEY-----\n");
            }
            built = (Map<String, Object>) builder().post("device/csr", body);
        }
        return built;
    }

    /** The DER request. */
    byte[] der() throws Exception {
        return Base64.getDecoder().decode(base64());
    }

    /** Base64 of the DER, one line: what the SCEP calls take. */
    String base64() throws Exception {
        return (String) build().get("csr");
    }

    /** PEM with line breaks. */
    String pem() throws Exception {
        return (String) build().get("csr_pem");
    }
}
