# SPDX-License-Identifier: Apache-2.0
"""A device and a demo CA, for the intune-scep tool's tests (scripts/demo.sh uses the
emulator's own, intune_scep.emulator.device).

The device builds the PKCS#10 request an Intune-managed device builds for a SCEP
profile (subject, optional SANs, and the Intune challenge as challengePassword);
the CA signs it as a SCEP server's CA would. Uses `cryptography` only.

As a program:

    python3 device.py csr  --subject "CN=alice,O=Contoso" --challenge-file F --out device.csr [--der]
    python3 device.py ca   --dir DIR                        # makes DIR/ca.pem and DIR/ca.key (0600)
    python3 device.py sign --dir DIR --csr device.csr --out device.crt [--days N] [--der]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Optional, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AttributeOID, NameOID


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_csr(subject: str, challenge: Optional[str], key: Optional[rsa.RSAPrivateKey] = None,
             san_emails: Sequence[str] = ()) -> x509.CertificateSigningRequest:
    """A CSR for `subject` (RFC 4514) carrying `challenge` as challengePassword."""
    key = key or new_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name.from_rfc4514_string(subject))
    if san_emails:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(e) for e in san_emails]), critical=False)
    if challenge is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode("utf-8"))
    return builder.sign(key, hashes.SHA256())


class DemoCA:
    """A throwaway issuing CA."""

    def __init__(self, name: str = "CN=Contoso Demo Issuing CA,O=Contoso",
                 key: Optional[rsa.RSAPrivateKey] = None, cert: Optional[x509.Certificate] = None) -> None:
        if key is not None and cert is not None:
            self.key, self.cert = key, cert
            return
        self.key = new_key()
        subject = x509.Name.from_rfc4514_string(name)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .sign(self.key, hashes.SHA256()))

    def sign(self, csr: x509.CertificateSigningRequest, days: int = 365) -> x509.Certificate:
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        return (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.cert.subject)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "ca.pem"), "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        key_path = os.path.join(directory, "ca.key")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    @classmethod
    def load(cls, directory: str) -> "DemoCA":
        with open(os.path.join(directory, "ca.pem"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(directory, "ca.key"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        return cls(key=key, cert=cert)  # type: ignore[arg-type]


def _load_csr(path: str) -> x509.CertificateSigningRequest:
    with open(path, "rb") as f:
        data = f.read()
    return x509.load_pem_x509_csr(data) if b"-----BEGIN" in data else x509.load_der_x509_csr(data)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="device.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("csr", help="build a device CSR carrying an Intune challenge")
    c.add_argument("--subject", required=True)
    c.add_argument("--challenge-file", required=True, help="file holding the challenge (one line)")
    c.add_argument("--out", required=True)
    c.add_argument("--der", action="store_true")
    a = sub.add_parser("ca", help="create a demo CA in a directory")
    a.add_argument("--dir", required=True)
    s = sub.add_parser("sign", help="sign a CSR with the demo CA")
    s.add_argument("--dir", required=True)
    s.add_argument("--csr", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--days", type=int, default=365)
    s.add_argument("--der", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "csr":
        with open(args.challenge_file, encoding="utf-8") as f:
            challenge = f.read().strip()
        csr = make_csr(args.subject, challenge)
        enc = serialization.Encoding.DER if args.der else serialization.Encoding.PEM
        with open(args.out, "wb") as f:
            f.write(csr.public_bytes(enc))
    elif args.cmd == "ca":
        DemoCA().save(args.dir)
    else:
        cert = DemoCA.load(args.dir).sign(_load_csr(args.csr), days=args.days)
        enc = serialization.Encoding.DER if args.der else serialization.Encoding.PEM
        with open(args.out, "wb") as f:
            f.write(cert.public_bytes(enc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
