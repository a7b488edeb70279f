#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Throughput and latency of intune-scep-server with Intune's validate and notify in the loop.

    python3 bench/bench_server.py [--build-dir build-test] [--per-client 25] [--clients 1,2,8]

Starts the Intune emulator (HTTPS on loopback) and the built server (SQLite, THREADS=8,
its own test PKI: RSA-2048 issuing CA and RA), prepares every PKCSReq beforehand with the
tests' minimal client (server/tests/scep_tool.c: CSR with a fresh challenge, envelope AES-128,
SHA-256), then for 1, 2 and 8 concurrent clients POSTs them (one connection per client, keep-alive)
and prints enrollments per second and the p50 / p99 of one PKIOperation's round trip. Every
answer is read back afterwards: a figure counts only SUCCESS answers with a certificate.

The floor, measured in the same run with the same OpenSSL: one RSA-2048 signature plus one
RSA-2048 decryption, what every enrollment costs at least on the server (decrypting the envelope's
key, signing the certificate; the CertRep's signature is a second signature on top). Figures only:
nothing is asserted.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "server", "tests"))

import requests  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from cryptography.x509.oid import AttributeOID, NameOID  # noqa: E402

from intune_scep.emulator import Emulator  # noqa: E402


def floor_ms(seconds=2.0):
    """Mean time of one RSA-2048 PKCS#1 signature plus one RSA-2048 OAEP/PKCS#1 decryption."""
    key = rsa.generate_private_key(65537, 2048)
    data = os.urandom(32)
    ct = key.public_key().encrypt(data, padding.PKCS1v15())
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        key.decrypt(ct, padding.PKCS1v15())
        n += 1
    return (time.perf_counter() - start) / n * 1000


def prepare(tool, tmp, emulator, ra_pem, key, key_pem, tag, count):
    msgs = []
    for i in range(count):
        cn = f"bench-{tag}-{i}"
        challenge = emulator.issue_challenge({"subject": f"CN={cn},O=Contoso"})["challenge"]
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso"),
                                        x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
               .add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
               .sign(key, hashes.SHA256()))
        p = os.path.join(tmp, f"{cn}.csr")
        with open(p, "wb") as f:
            f.write(csr.public_bytes(serialization.Encoding.DER))
        r = subprocess.run([tool, "request", p, key_pem, ra_pem, f"tx-{cn}", "AES-128-CBC", "SHA256"],
                           capture_output=True, check=True)
        msgs.append(r.stdout)
    return msgs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=None)
    ap.add_argument("--per-client", type=int, default=25)
    ap.add_argument("--clients", default="1,2,8")
    args = ap.parse_args()
    build = args.build_dir or sorted(glob.glob(os.path.join(ROOT, "build*", "server", "intune-scep-server")),
                                     key=os.path.getmtime)[-1].rsplit("/server/", 1)[0]
    os.environ["INTUNE_SCEP_SERVER"] = os.path.join(build, "server", "intune-scep-server")
    tool = os.path.join(build, "server", "scep_tool")
    from conftest import ScepServer, TestPKI

    levels = [int(x) for x in args.clients.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp, Emulator() as emu:
        os.mkdir(os.path.join(tmp, "pki"))
        pki = TestPKI(os.path.join(tmp, "pki"))
        srv = ScepServer(tmp, pki, emu.config, THREADS="8", HTTPS_PORT=None, TLS_CERT_FILE=None, TLS_KEY_FILE=None)
        try:
            floor = floor_ms()
            print(f"floor: one RSA-2048 signature + one decryption = {floor:.2f} ms "
                  f"({1000 / floor:.0f}/s on one core)")
            print(f"{'clients':>7} {'enrollments':>11} {'per second':>10} {'p50 ms':>8} {'p99 ms':>8}")
            for n in levels:
                keys = []
                for c in range(n):
                    k = rsa.generate_private_key(65537, 2048)
                    kp = os.path.join(tmp, f"key-{n}-{c}.pem")
                    with open(kp, "wb") as f:
                        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
                    keys.append((k, kp))
                work = [prepare(tool, tmp, emu, pki.path("ra.pem"), k, kp, f"{n}-{c}", args.per_client)
                        for c, (k, kp) in enumerate(keys)]
                lat, replies = [], []
                lock = threading.Lock()

                def client(c):
                    s = requests.Session()
                    for m in work[c]:
                        t0 = time.perf_counter()
                        r = s.post(srv.url() + "?operation=PKIOperation", data=m, timeout=60,
                                   headers={"Content-Type": "application/x-pki-message"})
                        dt = time.perf_counter() - t0
                        with lock:
                            lat.append(dt)
                            replies.append((c, r.status_code, r.content))

                threads = [threading.Thread(target=client, args=(c,)) for c in range(n)]
                t0 = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = time.perf_counter() - t0
                ok = 0
                for c, status, body in replies:
                    rp = os.path.join(tmp, "reply.der")
                    with open(rp, "wb") as f:
                        f.write(body)
                    out = subprocess.run([tool, "reply", rp, keys[c][1]], capture_output=True, text=True)
                    if status == 200 and out.stdout.startswith("status=0 ") and "BEGIN CERTIFICATE" in out.stdout:
                        ok += 1
                lat.sort()
                p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
                print(f"{n:>7} {ok:>5}/{len(replies):<5} {ok / wall:>10.1f} {statistics.median(lat) * 1000:>8.1f} "
                      f"{p99 * 1000:>8.1f}")
                if ok != len(replies):
                    print("  (answers that were not SUCCESS are not counted)")
        finally:
            srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
