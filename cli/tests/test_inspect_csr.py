# SPDX-License-Identifier: Apache-2.0
"""`intune-scep inspect-csr`: what a certificate request asks for, read by the library
(intune_scep_csr_info_*): challenge, subject, SANs with the strong-mapping SID URI,
key, signature hash, key usage, EKUs and Intune's ValidityPeriod name-value pairs."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from intune_scep.emulator.device import make_csr as device_csr

SID = "S-1-5-21-1004336348-1177238915-682003330-512"
UPN = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _len(len(value)) + value


def _children(der: bytes):
    """The TLVs inside one constructed TLV."""
    i = 1
    n = der[i]
    i += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(der[i:i + k], "big")
        i += k
    body, out, j = der[i:i + n], [], 0
    while j < len(body):
        start = j
        j += 1
        m = body[j]
        j += 1
        if m & 0x80:
            k = m & 0x7F
            m = int.from_bytes(body[j:j + k], "big")
            j += k
        j += m
        out.append(body[start:j])
    return out


def _bmp(s: str) -> bytes:
    return _tlv(0x1E, s.encode("utf-16-be"))


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(enc))
    return _tlv(0x06, bytes(out))


def validity_attribute(period: str, units: str, separate: bool = False) -> bytes:
    """Intune's name-value pairs: attribute 1.3.6.1.4.1.311.13.2.1 with SEQUENCE {BMPString, BMPString} values."""
    p1 = _tlv(0x30, _bmp("ValidityPeriod") + _bmp(period))
    p2 = _tlv(0x30, _bmp("ValidityPeriodUnits") + _bmp(units))
    oid = _oid("1.3.6.1.4.1.311.13.2.1")
    if separate:
        return _tlv(0x30, oid + _tlv(0x31, p1)) + _tlv(0x30, oid + _tlv(0x31, p2))
    return _tlv(0x30, oid + _tlv(0x31, b"".join(sorted([p1, p2]))))  # DER: a SET OF is sorted


def make_csr(key=None, challenge="chal-123", extra_attributes=b"", sans=None, key_usage=None, ekus=None,
             subject="CN=alice,O=Contoso") -> bytes:
    """A device's request from the emulator's device module (SHA-256 with RSA, SHA-384 with EC).

    `sans` are any general names (a SID URI among them), put in as the request's one SAN
    extension. `extra_attributes` (Intune's ValidityPeriod pairs, which a device does not
    make and the device module does not build) are spliced into the request's DER here and
    the request signed again: that is the only DER this test writes itself.
    """
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey)
    key, der = device_csr({"subject": subject}, challenge, key=key, key_type="ec" if is_ec else "rsa",
                          key_usage=key_usage, ekus=ekus, hash="sha384" if is_ec else "sha256",
                          extra_extensions=[(x509.SubjectAlternativeName(sans), False)] if sans else ())
    if not extra_attributes:
        return der
    kids = _children(_children(der)[0])
    attrs = kids[-1]
    assert attrs[0] == 0xA0
    extra = _children(_tlv(0x30, extra_attributes))
    new_attrs = _tlv(0xA0, b"".join(sorted(_children(attrs) + extra)))  # DER: a SET OF is sorted
    tbs = _tlv(0x30, b"".join(kids[:-1]) + new_attrs)
    if is_ec:
        sig = key.sign(tbs, ec.ECDSA(hashes.SHA384()))
        alg = _tlv(0x30, _oid("1.2.840.10045.4.3.3"))
    else:
        sig = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
        alg = _tlv(0x30, _oid("1.2.840.113549.1.1.11") + b"\x05\x00")
    return _tlv(0x30, tbs + alg + _tlv(0x03, b"\x00" + sig))


def inspect(run, tmp_path, data: bytes, *extra: str):
    p = tmp_path / "req.csr"
    p.write_bytes(data)
    r = run("--json", "inspect-csr", "--csr", str(p), *extra)
    return r, (r.json() if r.out.strip() else None)


def test_everything_a_request_asks_for(run, tmp_path):
    der = make_csr(
        sans=[x509.RFC822Name("alice@contoso.com"), x509.OtherName(UPN, b"\x0c\x11alice@contoso.com"),
              x509.DNSName("alice.contoso.com"), x509.UniformResourceIdentifier(f"tag:microsoft.com,2022-09-14:sid:{SID}")],
        key_usage=["digitalSignature", "keyEncipherment"],
        ekus=["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.6"],
        extra_attributes=validity_attribute("Years", "2"))
    r, j = inspect(run, tmp_path, der)
    assert r.code == 0, r
    assert j["subject"] == "CN=alice,O=Contoso"
    assert j["sans"] == [{"type": "email", "value": "alice@contoso.com"}, {"type": "upn", "value": "alice@contoso.com"},
                         {"type": "dns", "value": "alice.contoso.com"},
                         {"type": "uri", "value": f"tag:microsoft.com,2022-09-14:sid:{SID}"}]
    assert j["sid"] == SID
    assert (j["key_type"], j["key_bits"], j["signature_hash"], j["signature_valid"]) == ("RSA", 2048, "sha256", True)
    assert j["key_usage"] == "digitalSignature,keyEncipherment"
    assert j["ekus"] == ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.6"]
    assert (j["validity_period"], j["validity_period_units"], j["validity_days"]) == ("Years", "2", 730)
    # the challenge is the device's credential: hidden unless asked for
    assert j["has_challenge_password"] is True and j["challenge_password"] == "(hidden)"
    assert "chal-123" not in r.out
    r, j = inspect(run, tmp_path, der, "--show-challenge")
    assert j["challenge_password"] == "chal-123"


@pytest.mark.parametrize("period,units,separate,days", [
    ("Days", "10", False, 10), ("Weeks", "3", True, 21), ("Months", "6", False, 180), ("years", "1", True, 365),
    ("Hours", "25", False, 2), ("Fortnights", "1", False, 0), ("Days", "-1", False, 0), ("Days", "1x", False, 0),
    ("Days", "99999999999999999999", False, 0), ("Days", "", False, 0),
])
def test_validity_pairs(run, tmp_path, period, units, separate, days):
    r, j = inspect(run, tmp_path, make_csr(extra_attributes=validity_attribute(period, units, separate)))
    assert r.code == 0, r
    assert j["validity_period"] == period and j["validity_period_units"] == units
    assert j["validity_days"] == days


def test_forms_pem_der_base64_and_ec(run, tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    der = make_csr(key=key, challenge=None)
    csr = x509.load_der_x509_csr(der)
    for data in (der, csr.public_bytes(serialization.Encoding.PEM), base64.b64encode(der),
                 base64.encodebytes(der)):
        r, j = inspect(run, tmp_path, data)
        assert r.code == 0, r
        assert (j["key_type"], j["key_bits"], j["signature_hash"]) == ("EC", 384, "sha384")
        assert j["challenge_password"] is None and j["has_challenge_password"] is False
        assert j["key_usage"] is None and j["ekus"] == [] and j["sans"] == [] and j["sid"] is None
        assert j["validity_days"] == 0


def test_text_output(run, tmp_path):
    p = tmp_path / "a.csr"
    p.write_bytes(make_csr(sans=[x509.RFC822Name("a@b.c")], extra_attributes=validity_attribute("Days", "30")))
    r = run("inspect-csr", "--csr", str(p))
    assert r.code == 0, r
    assert "subject            CN=alice,O=Contoso" in r.out
    assert "san                email:a@b.c" in r.out
    assert "validity           30 Days (30 days)" in r.out
    assert "challenge          present" in r.out and "chal-123" not in r.out


def test_a_broken_signature_is_reported_not_refused(run, tmp_path):
    der = bytearray(make_csr())
    der[-5] ^= 0xFF
    r, j = inspect(run, tmp_path, bytes(der))
    assert r.code == 0 and j["signature_valid"] is False


@pytest.mark.parametrize("data", [b"hello", b"\x30\x03\x02\x01\x00", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                  b"-----END CERTIFICATE REQUEST-----\n", os.urandom(2000)])
def test_not_a_request(run, tmp_path, data):
    r, j = inspect(run, tmp_path, data)
    assert r.code == 2, r
    assert j["ok"] is False and "not a PKCS#10 certificate request" in j["message"]


def test_usage_errors(run, tmp_path):
    r = run("inspect-csr")
    assert r.code == 2 and "--csr FILE is required" in r.err
    r = run("inspect-csr", "--csr", str(tmp_path / "missing"))
    assert r.code == 2 and "cannot read" in r.err
    r = run("inspect-csr", "--bogus")
    assert r.code == 2 and "--bogus" in r.err
    r = run("inspect-csr", "--help")
    assert r.code == 0 and "inspect-csr" in r.out
    r = run("help")
    assert "inspect-csr" in r.out
