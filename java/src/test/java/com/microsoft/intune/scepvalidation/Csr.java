// SPDX-License-Identifier: Apache-2.0
package com.microsoft.intune.scepvalidation;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Builds the PKCS#10 certificate request a device would send (DER by hand:
 * the JDK has no public CSR API), with a challenge password and optional
 * extensions, signed SHA256withRSA.
 */
final class Csr {
    private static KeyPair cached;

    private final List<byte[]> subjectRdns = new ArrayList<>();
    private final List<byte[]> extensions = new ArrayList<>();
    private String challenge;
    private KeyPair keyPair;

    static synchronized KeyPair rsa2048() throws Exception {
        if (cached == null) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            cached = g.generateKeyPair();
        }
        return cached;
    }

    Csr cn(String cn) {
        subjectRdns.add(rdn("2.5.4.3", cn));
        return this;
    }

    Csr o(String o) {
        subjectRdns.add(rdn("2.5.4.10", o));
        return this;
    }

    Csr challenge(String c) {
        this.challenge = c;
        return this;
    }

    Csr key(KeyPair kp) {
        this.keyPair = kp;
        return this;
    }

    /** subjectAltName with rfc822Name entries. */
    Csr sanEmails(String... emails) {
        ByteArrayOutputStream names = new ByteArrayOutputStream();
        for (String e : emails) {
            write(names, tlv(0x81, e.getBytes(StandardCharsets.US_ASCII)));
        }
        extensions.add(seq(oid("2.5.29.17"), tlv(0x04, seq(names.toByteArray()))));
        return this;
    }

    /** The DER request. */
    byte[] der() throws Exception {
        KeyPair kp = keyPair != null ? keyPair : rsa2048();
        ByteArrayOutputStream rdns = new ByteArrayOutputStream();
        for (byte[] r : subjectRdns) {
            write(rdns, r);
        }
        byte[] subject = seq(rdns.toByteArray());
        ByteArrayOutputStream attrs = new ByteArrayOutputStream();
        if (challenge != null) {
            write(attrs, seq(oid("1.2.840.113549.1.9.7"),
                    set(tlv(0x0c, challenge.getBytes(StandardCharsets.UTF_8)))));
        }
        if (!extensions.isEmpty()) {
            ByteArrayOutputStream ex = new ByteArrayOutputStream();
            for (byte[] e : extensions) {
                write(ex, e);
            }
            write(attrs, seq(oid("1.2.840.113549.1.9.14"), set(seq(ex.toByteArray()))));
        }
        byte[] info = seq(integer(0), subject, kp.getPublic().getEncoded(), tlv(0xa0, attrs.toByteArray()));
        Signature sig = Signature.getInstance("SHA256withRSA");
        sig.initSign(kp.getPrivate());
        sig.update(info);
        byte[] s = sig.sign();
        byte[] bits = new byte[s.length + 1];
        System.arraycopy(s, 0, bits, 1, s.length);
        byte[] alg = seq(oid("1.2.840.113549.1.1.11"), new byte[] {0x05, 0x00});
        return seq(info, alg, tlv(0x03, bits));
    }

    /** Base64 of the DER, one line: what the SCEP calls take. */
    String base64() throws Exception {
        return Base64.getEncoder().encodeToString(der());
    }

    /** PEM with line breaks. */
    String pem() throws Exception {
        return "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'})
                .encodeToString(der()) + "\n-----END CERTIFICATE REQUEST-----\n";
    }

    // ---- DER ----

    private static void write(ByteArrayOutputStream o, byte[] b) {
        o.write(b, 0, b.length);
    }

    static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(tag);
        int n = content.length;
        if (n < 0x80) {
            o.write(n);
        } else if (n < 0x100) {
            o.write(0x81);
            o.write(n);
        } else if (n < 0x10000) {
            o.write(0x82);
            o.write(n >> 8);
            o.write(n & 0xff);
        } else {
            o.write(0x83);
            o.write(n >> 16);
            o.write((n >> 8) & 0xff);
            o.write(n & 0xff);
        }
        write(o, content);
        return o.toByteArray();
    }

    static byte[] seq(byte[]... parts) {
        return tlv(0x30, concat(parts));
    }

    static byte[] set(byte[]... parts) {
        return tlv(0x31, concat(parts));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            write(o, p);
        }
        return o.toByteArray();
    }

    static byte[] integer(int v) {
        return tlv(0x02, new byte[] {(byte) v});
    }

    static byte[] oid(String dotted) {
        String[] parts = dotted.split("\\.");
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(Integer.parseInt(parts[0]) * 40 + Integer.parseInt(parts[1]));
        for (int k = 2; k < parts.length; k++) {
            long v = Long.parseLong(parts[k]);
            byte[] tmp = new byte[10];
            int n = 0;
            do {
                tmp[n++] = (byte) (v & 0x7f);
                v >>= 7;
            } while (v != 0);
            for (int j = n - 1; j >= 0; j--) {
                o.write(tmp[j] | (j > 0 ? 0x80 : 0));
            }
        }
        return tlv(0x06, o.toByteArray());
    }

    private static byte[] rdn(String oid, String value) {
        return set(seq(oid(oid), tlv(0x0c, value.getBytes(StandardCharsets.UTF_8))));
    }
}
