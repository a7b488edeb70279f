# SPDX-License-Identifier: Apache-2.0
"""Play the device and the CA in tests: build device CSRs for a profile, sign them with a test CA.

    from intune_scep.emulator.device import make_csr, csr_base64, TestCA

    profile = {"subject": "CN=alice,O=Contoso", "san_upns": ["alice@contoso.com"],
               "key_usage": ["digitalSignature"], "ekus": ["1.3.6.1.5.5.7.3.2"], "validity_days": 30}
    challenge = emu.issue_challenge(profile)["challenge"]
    key, der = make_csr(profile, challenge)
    ca = TestCA()
    cert = ca.sign(der, validity_days=30)
    fields = ca.notification_fields(cert)   # thumbprint, serial, expiry, issuer

Run as a script it prints a CSR for other languages' tests:
``python -m intune_scep.emulator.device --profile '{"subject": "CN=x"}' --challenge C``
prints ``{"csr": base64 DER, "key_pem": ...}``; ``--sign CSR_B64 --validity-days N``
signs with a fresh test CA and prints the certificate and its notification fields.
"""

import base64
import datetime
import hashlib
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AttributeOID, NameOID

from .challenges import KEY_USAGE_NAMES, UPN_OID, der_length, der_utf8string, parse_name

_HASHES = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
           "sha384": hashes.SHA384, "sha512": hashes.SHA512}
# sigAlg OIDs (DER content bytes) for RSA PKCS#1 v1.5 with each hash
_RSA_SIG_OIDS = {
    "sha1": "1.2.840.113549.1.1.5", "sha224": "1.2.840.113549.1.1.14",
    "sha256": "1.2.840.113549.1.1.11", "sha384": "1.2.840.113549.1.1.12",
    "sha512": "1.2.840.113549.1.1.13",
}


def _oid_der(dotted):
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(enc))
    return b"\x06" + der_length(len(out)) + bytes(out)


def _tlv(tag, value):
    return bytes([tag]) + der_length(len(value)) + value


def key_usage_extension(names):
    flags = {n: (n in names) for n in KEY_USAGE_NAMES}
    unknown = set(names) - set(KEY_USAGE_NAMES)
    if unknown:
        raise ValueError("unknown key usage %s" % ", ".join(sorted(unknown)))
    return x509.KeyUsage(
        digital_signature=flags["digitalSignature"], content_commitment=flags["nonRepudiation"],
        key_encipherment=flags["keyEncipherment"], data_encipherment=flags["dataEncipherment"],
        key_agreement=flags["keyAgreement"], key_cert_sign=flags["keyCertSign"],
        crl_sign=flags["cRLSign"], encipher_only=flags["encipherOnly"] and flags["keyAgreement"],
        decipher_only=flags["decipherOnly"] and flags["keyAgreement"])


def san_extension(emails=(), upns=(), dns=()):
    names = [x509.RFC822Name(e) for e in emails]
    names += [x509.OtherName(UPN_OID, der_utf8string(u)) for u in upns]
    names += [x509.DNSName(d) for d in dns]
    return x509.SubjectAlternativeName(names)


def make_key(key_size=2048, key_type="rsa"):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    if key_type == "ec":
        curve = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}[key_size]
        return ec.generate_private_key(curve)
    raise ValueError("key_type must be rsa or ec")


def make_csr(profile_or_fields=None, challenge=None, key_size=None, hash="sha256", subject=None,
             san_emails=None, san_upns=None, san_dns=None, key_usage=None, ekus=None,
             key=None, key_type="rsa", include_challenge=True, extra_extensions=(),
             corrupt_signature=False):
    """Build the CSR a device builds for a profile; returns (private_key, csr_der).

    `profile_or_fields` is the profile given to issue_challenge (or any dict with
    the same keys); keyword arguments override single fields, so a negative
    test changes exactly one thing: ``make_csr(profile, ch, subject="CN=mallory")``.
    An override left at None takes the profile's value; an empty one ("" or [])
    leaves the part out (empty subject, no SAN, no key usage or EKU extension).
    `hash` is "sha1", "sha256" (default), "sha384" or "sha512".  `challenge` None
    or include_challenge=False leaves the challengePassword attribute out.
    `corrupt_signature` flips one bit of the signature.
    """
    p = dict(profile_or_fields or {})

    def pick(value, field, default):
        if value is not None:
            return value
        v = p.get(field)
        return default if v is None else v

    subject = pick(subject, "subject", "")
    emails = pick(san_emails, "san_emails", [])
    upns = pick(san_upns, "san_upns", [])
    dns = pick(san_dns, "san_dns", [])
    ku = pick(key_usage, "key_usage", None)
    ekus_ = pick(ekus, "ekus", None)
    size = pick(key_size, "key_size", 2048 if key_type == "rsa" else 256)
    hash_name = hash.lower().replace("-", "")
    if hash_name not in _HASHES:
        raise ValueError("hash must be one of %s" % ", ".join(_HASHES))
    if key is None:
        key = make_key(size, key_type)
    name = subject if isinstance(subject, x509.Name) else (parse_name(subject) if subject else x509.Name([]))
    b = x509.CertificateSigningRequestBuilder().subject_name(name)
    if emails or upns or dns:
        b = b.add_extension(san_extension(emails, upns, dns), critical=False)
    if ku:
        b = b.add_extension(key_usage_extension(ku), critical=True)
    if ekus_:
        b = b.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in ekus_]), critical=False)
    for ext, critical in extra_extensions:
        b = b.add_extension(ext, critical=critical)
    if include_challenge and challenge is not None:
        b = b.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode("utf-8"))
    if hash_name == "sha1" or corrupt_signature:
        der = _sign_manually(b, key, hash_name, corrupt_signature)
    else:
        der = b.sign(key, _HASHES[hash_name]()).public_bytes(serialization.Encoding.DER)
    return key, der


def _sign_manually(builder, key, hash_name, corrupt):
    """Sign the CertificationRequestInfo ourselves (cryptography refuses SHA-1 signatures)."""
    tbs = builder.sign(key, hashes.SHA256()).tbs_certrequest_bytes
    h = _HASHES[hash_name]()
    if isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(tbs, padding.PKCS1v15(), h)
        alg = _tlv(0x30, _oid_der(_RSA_SIG_OIDS[hash_name]) + b"\x05\x00")
    else:
        sig = key.sign(tbs, ec.ECDSA(h))
        oids = {"sha1": "1.2.840.10045.4.1", "sha224": "1.2.840.10045.4.3.1", "sha256": "1.2.840.10045.4.3.2",
                "sha384": "1.2.840.10045.4.3.3", "sha512": "1.2.840.10045.4.3.4"}
        alg = _tlv(0x30, _oid_der(oids[hash_name]))
    if corrupt:
        sig = bytes([sig[0] ^ 0x01]) + sig[1:]
    return _tlv(0x30, tbs + alg + _tlv(0x03, b"\x00" + sig))


def not_after(cert):
    """The certificate's notAfter as an aware UTC datetime (any cryptography version)."""
    t = getattr(cert, "not_valid_after_utc", None)
    return t if t is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_before(cert):
    t = getattr(cert, "not_valid_before_utc", None)
    return t if t is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def csr_base64(der):
    """The form validateRequest takes: base64 of the DER, one line, no PEM armour."""
    return base64.b64encode(der).decode("ascii")


def private_key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


class TestCA:
    """A throwaway issuing CA that turns device CSRs into certificates."""

    __test__ = False  # not a pytest test class

    def __init__(self, name="CN=Intune Emulator Test Issuing CA,O=Contoso"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = parse_name(name)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256()))

    @property
    def issuer_name(self):
        """The issuer's name as an RFC 4514 string (for issuingCertificateAuthority)."""
        return self.name.rfc4514_string()

    @property
    def common_name(self):
        return self.name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value

    def sign(self, csr, validity_days=365, not_before=None):
        """Issue a certificate for `csr` (DER bytes, base64 text, PEM or a CSR object).

        Subject, SANs, key usage and EKUs are copied from the request; the
        certificate is valid for `validity_days` from now (or `not_before`).
        """
        if isinstance(csr, str):
            csr = csr.encode("ascii")
        if isinstance(csr, bytes):
            if b"-----BEGIN" in csr:
                csr = x509.load_pem_x509_csr(csr)
            else:
                try:
                    csr = x509.load_der_x509_csr(csr)
                except ValueError:
                    csr = x509.load_der_x509_csr(base64.b64decode(csr))
        start = not_before or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        b = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.name)
             .public_key(csr.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=validity_days)))
        for ext in csr.extensions:
            if isinstance(ext.value, (x509.SubjectAlternativeName, x509.KeyUsage, x509.ExtendedKeyUsage)):
                b = b.add_extension(ext.value, critical=ext.critical)
        b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        return b.sign(self.key, hashes.SHA256())

    @staticmethod
    def thumbprint(cert):
        return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()

    @staticmethod
    def serial_hex(cert):
        return format(cert.serial_number, "X")

    @staticmethod
    def expiry_iso(cert):
        t = not_after(cert)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)

    def notification_fields(self, cert):
        """The four certificate fields of a success notification, in the wire's names."""
        return {"certificateThumbprint": self.thumbprint(cert),
                "certificateSerialNumber": self.serial_hex(cert),
                "certificateExpirationDateUtc": self.expiry_iso(cert),
                "issuingCertificateAuthority": self.issuer_name}


def _main(argv=None):
    import argparse
    import sys
    ap = argparse.ArgumentParser(prog="python -m intune_scep.emulator.device")
    ap.add_argument("--profile", help="profile JSON (as given to the emulator)")
    ap.add_argument("--challenge", help="challenge to embed")
    ap.add_argument("--override", default="{}", help="JSON of make_csr keyword overrides")
    ap.add_argument("--sign", metavar="CSR_B64", help="sign this CSR with a fresh test CA instead")
    ap.add_argument("--validity-days", type=int, default=365)
    a = ap.parse_args(argv)
    if a.sign:
        ca = TestCA()
        cert = ca.sign(base64.b64decode(a.sign), validity_days=a.validity_days)
        out = ca.notification_fields(cert)
        out["certificate_pem"] = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        out["ca_pem"] = ca.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    else:
        profile = json.loads(a.profile or "{}")
        key, der = make_csr(profile, a.challenge, **json.loads(a.override))
        out = {"csr": csr_base64(der), "key_pem": private_key_pem(key)}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
