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

The control API offers the same to tests in any language (docs/emulator.md):
``POST /_emulator/device/csr`` answers a device's CSR and key (``csr_for_request``),
``POST /_emulator/device/certificate`` a certificate from the emulator's test CA
(``certificate_for_request``).

Run as a script it prints a CSR for other languages' tests:
``python -m intune_scep.emulator.device --profile '{"subject": "CN=x"}' --challenge C``
prints ``{"csr": base64 DER, "key_pem": ...}``; ``--sign CSR_B64 --validity-days N``
signs with a fresh test CA and prints the certificate and its notification fields.
"""

import base64
import datetime
import hashlib
import json
import threading

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

    def certificate_pem(self):
        """The CA's own certificate in PEM (a trust anchor for what it signs)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

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


# -- the control API's device calls ---------------------------------------------

_CSR_FIELDS = ("profile", "challenge", "subject", "san_emails", "san_upns", "san_dns", "key_usage", "ekus",
               "key_size", "key_type", "key_pem", "hash", "fresh_key", "corrupt_signature", "tamper_challenge")
_KEY_SIZES = {"rsa": (1024, 2048, 3072, 4096), "ec": (256, 384, 521)}


class DeviceStore:
    """One emulator's device keys (one per type and size, unless a fresh one is asked for) and test CA."""

    def __init__(self):
        self._lock = threading.Lock()
        self._keys = {}
        self._ca = None

    def key(self, key_type, size, fresh=False):
        if fresh:
            return make_key(size, key_type)
        with self._lock:
            k = self._keys.get((key_type, size))
            if k is None:
                k = self._keys[(key_type, size)] = make_key(size, key_type)
            return k

    @property
    def ca(self):
        with self._lock:
            if self._ca is None:
                self._ca = TestCA()
            return self._ca


def _str_list(body, name):
    v = body[name]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError("%s must be a list of strings" % name)
    return v


def check_csr_request(body):
    """Check the body of POST device/csr; returns the fields it sets (raises ValueError naming one).

    A field left out (or null) takes the profile's value; an empty list or subject
    leaves that part out of the request; ``challenge`` present replaces the
    profile's challenge (null: no challengePassword attribute).
    """
    unknown = sorted(set(body) - set(_CSR_FIELDS))
    if unknown:
        raise ValueError("unknown field(s): %s (known: %s)" % (", ".join(unknown), ", ".join(_CSR_FIELDS)))
    out = {k: None for k in _CSR_FIELDS}
    out["challenge_given"] = "challenge" in body
    for k, v in body.items():
        if v is None:
            continue
        if k == "profile" and not isinstance(v, dict):
            raise ValueError("profile must be a JSON object")
        if k in ("challenge", "subject", "key_type", "key_pem", "hash") and not isinstance(v, str):
            raise ValueError("%s must be a string" % k)
        if k in ("san_emails", "san_upns", "san_dns", "key_usage", "ekus"):
            v = _str_list(body, k)
        if k in ("fresh_key", "corrupt_signature", "tamper_challenge") and not isinstance(v, bool):
            raise ValueError("%s must be true or false" % k)
        if k == "key_size" and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError("key_size must be an integer")
        out[k] = v
    out["key_type"] = out["key_type"] or "rsa"
    if out["key_type"] not in _KEY_SIZES:
        raise ValueError("key_type must be rsa or ec")
    if out["key_pem"] is not None:
        try:
            out["key"] = serialization.load_pem_private_key(out["key_pem"].encode("ascii"), None)
        except Exception:  # noqa: BLE001 - whatever the text, the caller's mistake
            raise ValueError("key_pem is not an unencrypted PEM private key") from None
        if not isinstance(out["key"], (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise ValueError("key_pem must hold an RSA or EC key")
        out["key_type"] = "rsa" if isinstance(out["key"], rsa.RSAPrivateKey) else "ec"
        out["key_size"] = out["key"].key_size
    else:
        out["key"] = None
    if out["hash"] is not None and out["hash"].lower().replace("-", "") not in _HASHES:
        raise ValueError("hash must be one of %s" % ", ".join(_HASHES))
    if out["key_usage"]:
        key_usage_extension(out["key_usage"])  # names checked
    for oid in out["ekus"] or ():
        try:
            x509.ObjectIdentifier(oid)
        except ValueError:
            raise ValueError("ekus: %r is not a dotted OID" % oid) from None
    if out["subject"]:
        try:
            parse_name(out["subject"])
        except Exception as e:  # noqa: BLE001 - any parse failure is the caller's
            raise ValueError("subject is not an RFC 4514 name: %s" % e) from None
    return out


def csr_for_request(fields, issued, store):
    """The device's CSR for checked `fields`; `issued` is the challenge issued for fields["profile"] or None.

    Returns {"csr": base64 DER, "csr_pem", "key_pem", "challenge", "profile_id"}.
    """
    profile = fields["profile"] or {}
    challenge = issued["challenge"] if issued else None
    if fields["challenge_given"]:
        challenge = fields["challenge"]
    if fields["tamper_challenge"]:
        dot = challenge.rfind(".") if challenge else -1
        if dot < 0 or len(challenge) < dot + 6:
            raise ValueError("tamper_challenge: no challenge with a signature to change")
        i = dot + 5
        challenge = challenge[:i] + ("B" if challenge[i] == "A" else "A") + challenge[i + 1:]
    key_type = fields["key_type"]
    size = fields["key_size"] or profile.get("key_size") or (2048 if key_type == "rsa" else 256)
    if fields["key"] is None and size not in _KEY_SIZES[key_type]:
        raise ValueError("key_size of an %s key must be one of %s"
                         % (key_type, ", ".join(str(n) for n in _KEY_SIZES[key_type])))
    hash_name = fields["hash"] or (profile.get("hash_algorithms") or ["sha256"])[0]
    key = fields["key"] or store.key(key_type, size, bool(fields["fresh_key"]))
    key, der = make_csr(profile, challenge, key_size=size, hash=hash_name, subject=fields["subject"],
                        san_emails=fields["san_emails"], san_upns=fields["san_upns"], san_dns=fields["san_dns"],
                        key_usage=fields["key_usage"], ekus=fields["ekus"], key=key, key_type=key_type,
                        corrupt_signature=bool(fields["corrupt_signature"]))
    pem = base64.encodebytes(der).decode("ascii")
    return {"csr": csr_base64(der),
            "csr_pem": "-----BEGIN CERTIFICATE REQUEST-----\n" + pem + "-----END CERTIFICATE REQUEST-----\n",
            "key_pem": private_key_pem(key), "challenge": challenge,
            "profile_id": issued["profile_id"] if issued else None}


def certificate_for_request(body, store):
    """POST device/certificate: {"csr": PEM or base64 DER, "validity_days": 365} -> the certificate
    from the emulator's test CA (base64 DER and PEM), the CA's PEM and the notification fields."""
    unknown = sorted(set(body) - {"csr", "validity_days"})
    if unknown:
        raise ValueError("unknown field(s): %s (known: csr, validity_days)" % ", ".join(unknown))
    csr = body.get("csr")
    if not isinstance(csr, str) or not csr.strip():
        raise ValueError("csr is required: a certificate request in PEM or base64 DER")
    days = body.get("validity_days", 365)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36500:
        raise ValueError("validity_days must be an integer from 1 to 36500")
    ca = store.ca
    try:
        cert = ca.sign("".join(csr.split()) if "-----BEGIN" not in csr else csr, validity_days=days)
    except Exception:  # noqa: BLE001 - whatever the bytes, the caller's mistake
        raise ValueError("csr is not a certificate request (PEM or base64 DER)") from None
    out = {"certificate": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii"),
           "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
           "ca_pem": ca.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")}
    out.update(ca.notification_fields(cert))
    return out


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
