# SPDX-License-Identifier: Apache-2.0
"""Test helpers: the emulator's control API, device CSRs and a test CA.

The control API is used over HTTPS exactly as docs/emulator.md describes it,
trusting the emulator's CA explicitly (the environment's CA variables point at
the system store).
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AttributeOID, ExtendedKeyUsageOID, NameOID

UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
SUCCESS_BODY = '{"code":"Success","errorDescription":""}'

# Name keywords the emulator's profiles accept besides RFC 4514's.
NAME_KEYWORDS = {"E": NameOID.EMAIL_ADDRESS, "SERIALNUMBER": NameOID.SERIAL_NUMBER}


class Control:
    """A client of the emulator's control API (``{base_url}_emulator/...``)."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.base_url: str = emulator.base_url
        self.control_url: str = getattr(emulator, "control_url", None) or self.base_url + "_emulator/"
        self.ca_file: str = emulator.ca_file
        self._ctx = ssl.create_default_context(cafile=self.ca_file)

    @property
    def config(self) -> Dict[str, str]:
        """A complete client configuration for the emulator as it is now."""
        return dict(self.emulator.config)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=30) as resp:
                text = resp.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            raise AssertionError(f"control {method} {path}: HTTP {e.code}: {e.read()[:500]!r}") from None
        return json.loads(text) if text.strip() else None

    # -- helpers mirroring the control API --------------------------------------
    def reset(self) -> None:
        self.call("POST", "reset", {})

    def challenge(self, profile: Mapping[str, Any]) -> Dict[str, str]:
        return self.call("POST", "challenges", dict(profile))

    def untarget(self, profile_id: str) -> None:
        self.call("POST", f"profiles/{profile_id}/untarget", {})

    def fault(self, **fault: Any) -> str:
        return self.call("POST", "faults", fault)["id"]

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def settings(self, **settings: Any) -> None:
        self.call("POST", "settings", settings)

    def expire_tokens(self) -> None:
        self.call("POST", "tokens/expire", {})

    def move_endpoint(self) -> str:
        return self.call("POST", "move_endpoint", {})["uri"]

    def requests(self, endpoint: Optional[str] = None) -> List[Dict[str, Any]]:
        reqs = self.call("GET", "requests")
        return [r for r in reqs if endpoint is None or r.get("endpoint") == endpoint]

    def notifications(self) -> Dict[str, List[Dict[str, Any]]]:
        return self.call("GET", "notifications")

    def validations(self) -> List[Dict[str, Any]]:
        return self.call("GET", "validations")

    def stats(self) -> Dict[str, Any]:
        return self.call("GET", "stats")


# ---------------------------------------------------------------------------
# Devices: the CSR a device builds for a profile

_KEY_CACHE: Dict[int, rsa.RSAPrivateKey] = {}


def rsa_key(bits: int = 2048, fresh: bool = False) -> rsa.RSAPrivateKey:
    """An RSA key of ``bits`` (cached per size unless ``fresh``: key generation is slow)."""
    if fresh or bits not in _KEY_CACHE:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        if fresh:
            return key
        _KEY_CACHE[bits] = key
    return _KEY_CACHE[bits]


@dataclass
class DeviceRequest:
    """What a device puts in its CSR."""

    subject: str
    challenge: Optional[str] = None
    san_emails: Sequence[str] = ()
    san_upns: Sequence[str] = ()
    san_dns: Sequence[str] = ()
    key_usage: Optional[Sequence[str]] = None  # e.g. ["digitalSignature", "keyEncipherment"]
    ekus: Optional[Sequence[str]] = None
    key_size: int = 2048
    hash_name: str = "sha256"
    key: Optional[rsa.RSAPrivateKey] = field(default=None, repr=False)


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


def _utf8string(text: str) -> bytes:
    return _der(0x0C, text.encode("utf-8"))


_KU_ARGS = {
    "digitalSignature": "digital_signature", "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment", "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement", "keyCertSign": "key_cert_sign", "cRLSign": "crl_sign",
}


def build_csr(req: DeviceRequest) -> x509.CertificateSigningRequest:
    """The PKCS#10 request of ``req``, signed with its key and hash."""
    key = req.key or rsa_key(req.key_size)
    name = x509.Name.from_rfc4514_string(req.subject, NAME_KEYWORDS)
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if req.challenge is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, req.challenge.encode("utf-8"))
    sans: List[x509.GeneralName] = [x509.RFC822Name(e) for e in req.san_emails]
    sans += [x509.OtherName(UPN_OID, _utf8string(u)) for u in req.san_upns]
    sans += [x509.DNSName(d) for d in req.san_dns]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if req.key_usage is not None:
        kwargs = {v: False for v in _KU_ARGS.values()}
        for k in req.key_usage:
            kwargs[_KU_ARGS[k]] = True
        builder = builder.add_extension(
            x509.KeyUsage(encipher_only=False, decipher_only=False, **kwargs), critical=True)
    if req.ekus is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in req.ekus]), critical=False)
    if req.hash_name == "sha1":
        return _resign_sha1(builder.sign(key, hashes.SHA256()), key)
    return builder.sign(key, getattr(hashes, req.hash_name.upper())())


def _resign_sha1(csr: x509.CertificateSigningRequest, key: rsa.RSAPrivateKey) -> x509.CertificateSigningRequest:
    """The same request signed with sha1WithRSAEncryption (which cryptography no
    longer produces, but Windows and Android devices still send)."""
    tbs = csr.tbs_certrequest_bytes
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    alg = _der(0x30, bytes.fromhex("06092a864886f70d010105") + b"\x05\x00")
    der = _der(0x30, tbs + alg + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_csr(der)


def csr_b64(csr: x509.CertificateSigningRequest) -> str:
    """The one-line base64 DER form the SCEP calls take."""
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode("ascii")


# ---------------------------------------------------------------------------
# The SCEP server's CA


class TestCA:
    """A throwaway issuing CA."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "CN=Contoso Test Issuing CA,O=Contoso") -> None:
        self.key = rsa_key(2048, fresh=True)
        self.name = x509.Name.from_rfc4514_string(name)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def issue(self, csr: x509.CertificateSigningRequest, validity_days: int = 365) -> x509.Certificate:
        """A certificate for ``csr``: its subject, key and extensions, ``validity_days`` long."""
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        builder = (
            x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.name)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=validity_days))
        )
        for ext in csr.extensions:
            builder = builder.add_extension(ext.value, ext.critical)
        return builder.sign(self.key, hashes.SHA256())


def not_after(cert: x509.Certificate) -> datetime.datetime:
    """notAfter as an aware UTC datetime (cryptography < 42 has only the naive form)."""
    t = getattr(cert, "not_valid_after_utc", None)
    return t if t is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_before(cert: x509.Certificate) -> datetime.datetime:
    """notBefore as an aware UTC datetime."""
    t = getattr(cert, "not_valid_before_utc", None)
    return t if t is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def expected_details(cert: x509.Certificate) -> Dict[str, str]:
    """The four success-notification fields, computed independently of the library."""
    return {
        "certificateThumbprint": cert.fingerprint(hashes.SHA1()).hex().upper(),
        "certificateSerialNumber": format(cert.serial_number, "X"),
        "certificateExpirationDateUtc": not_after(cert).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "issuingCertificateAuthority": cert.issuer.rfc4514_string(),
    }


CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
IPSEC_TUNNEL = "1.3.6.1.5.5.7.3.6"
