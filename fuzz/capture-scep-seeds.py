#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Capture the seed corpus of fuzz_scep_message from the real SCEP clients: run
intune-scep-server (RA = the test key pair in fuzz/scep-ra/) against the Intune
emulator, let strongSwan's pki (AES and 3DES, several digests) and micromdm's
scepclient (DES) enroll through a recording relay, and write every PKIOperation
message as a POST seed (first byte 0) and as GET seeds (first byte 1: the base64
text, also with '+' arriving as ' '). Also writes fuzz_csr_info seeds (requests
with SANs, the SID URI and Intune's validity pairs). Run once; the files are committed.

    INTUNE_SCEP_SERVER=build-test/server/intune-scep-server fuzz/capture-scep-seeds.py
"""
import base64
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "cli", "tests"))

import importlib.util  # noqa: E402

from cryptography import x509  # noqa: E402

_spec = importlib.util.spec_from_file_location("server_conftest", os.path.join(ROOT, "server", "tests", "conftest.py"))
_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_server)
Clients, Emulator, RecordingProxy, ScepServer = _server.Clients, _server.Emulator, _server.RecordingProxy, _server.ScepServer


class FuzzPKI:
    """The fuzzers' RA as the whole CA (RA = CA, one certificate)."""

    def __init__(self):
        self.dir = os.path.join(HERE, "scep-ra")

    def path(self, name):
        return {"ca.pem": os.path.join(self.dir, "ra.cert.pem"), "ca.key": os.path.join(self.dir, "ra.key.pem"),
                "root.pem": os.path.join(self.dir, "ra.cert.pem"), "ra.pem": os.path.join(self.dir, "ra.cert.pem"),
                "ra.key": os.path.join(self.dir, "ra.key.pem")}.get(name, os.path.join(self.dir, name))


def put(fuzzer, name, data):
    d = os.path.join(HERE, "corpus", fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    work = tempfile.mkdtemp(prefix="scep-seeds-")
    pki = FuzzPKI()
    try:
        with Emulator() as emu:
            srv = ScepServer(work, pki, emu.config, CA_CHAIN_FILE=None, RA_CERT_FILE=None, RA_KEY_FILE=None,
                             HTTPS_PORT=None, TLS_CERT_FILE=None, TLS_KEY_FILE=None)
            relay = RecordingProxy(srv.http_port)
            clients = Clients(work, pki)
            runs = []
            for cipher, digest in (("aes", "sha256"), ("des3", "sha1"), ("aes", "sha512")):
                ch = emu.issue_challenge({"subject": "CN=alice,O=Contoso", "san_emails": ["alice@contoso.com"]})["challenge"]
                runs.append((f"strongswan-{cipher}-{digest}", clients.strongswan(
                    relay.url(), "O=Contoso, CN=alice", ch, sans=["alice@contoso.com"], cipher=cipher,
                    digest=digest, fetch_ca=False)))
            ch = emu.issue_challenge({"subject": "CN=bob,OU=MDM,O=scep-client,C=US"})["challenge"]
            runs.append(("micromdm-des", clients.micromdm(relay.url(), "bob", ch)))
            relay.close()
            srv.stop()
            names = [n for n, _ in runs]
            for (name, run), msg in zip(runs, relay.messages):
                assert run.code == 0, (run, srv.lines[-6:])
                put("fuzz_scep_message", name + ".post", b"\x00" + msg)
                b64 = base64.b64encode(msg)
                put("fuzz_scep_message", name + ".get", b"\x01" + b64)
                put("fuzz_scep_message", name + ".get-space", b"\x01" + b64.replace(b"+", b" "))
            print("captured:", ", ".join(names))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # fuzz_csr_info: requests with every part the reader knows
    from test_inspect_csr import SID, UPN, make_csr, validity_attribute
    full = make_csr(sans=[x509.RFC822Name("a@contoso.com"), x509.OtherName(UPN, b"\x0c\x0da@contoso.com"),
                          x509.DNSName("a.contoso.com"),
                          x509.UniformResourceIdentifier(f"tag:microsoft.com,2022-09-14:sid:{SID}")],
                    ku=dict(digital_signature=True, content_commitment=False, key_encipherment=True,
                            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                            encipher_only=False, decipher_only=False),
                    ekus=["1.3.6.1.5.5.7.3.2"], extra_attributes=validity_attribute("Years", "1"))
    put("fuzz_csr_info", "full.der", full)
    put("fuzz_csr_info", "pairs-separate.der", make_csr(extra_attributes=validity_attribute("Days", "30", True)))
    put("fuzz_csr_info", "full.b64", base64.b64encode(full))
    src = os.path.join(HERE, "corpus", "fuzz_csr")
    for n in sorted(os.listdir(src)):
        shutil.copy(os.path.join(src, n), os.path.join(HERE, "corpus", "fuzz_csr_info", "csr-" + n))


if __name__ == "__main__":
    main()
