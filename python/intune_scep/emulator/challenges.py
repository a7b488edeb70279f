# SPDX-License-Identifier: Apache-2.0
"""SCEP challenges and the checks validateRequest makes on a device's CSR.

A challenge is an opaque string ``EMU1.<payload>.<mac>``: the payload (base64url
JSON) names the profile and the expiry, the mac is HMAC-SHA256 over it with a
key that lives only in the running emulator.  A profile describes what the
device is allowed to ask for; validateRequest compares the CSR with it.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time
import unicodedata

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AttributeOID, ExtensionOID, NameOID

UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")

# Keywords accepted in profile subjects besides the RFC 4514 ones.
NAME_KEYWORDS = {
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "SN": NameOID.SURNAME,
    "G": NameOID.GIVEN_NAME,
    "GIVENNAME": NameOID.GIVEN_NAME,
    "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE,
}

KEY_USAGE_NAMES = (
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
    "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly",
)
# cryptography's attribute names, in the same order
_KU_ATTRS = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
)
HASH_NAMES = ("sha1", "sha224", "sha256", "sha384", "sha512")
_OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")

PROFILE_FIELDS = ("subject", "san_emails", "san_upns", "san_dns", "key_usage", "key_size",
                  "hash_algorithms", "ekus", "validity_days", "device_id", "expires_in",
                  "profile_id")


class ProfileError(ValueError):
    """A profile given to the control API is malformed (the message names the field)."""


def parse_name(text):
    """An RFC 4514 string (plus E=, SERIALNUMBER=...) as an x509.Name.

    Attribute type keywords are case-insensitive and spaces around the
    separators are ignored, as in the subjects administrators type into
    Intune profiles ("CN=alice, O=Contoso").
    """
    return x509.Name.from_rfc4514_string(_tidy_dn(text), NAME_KEYWORDS)


def _tidy_dn(text):
    """Upper-case the attribute types and drop unescaped spaces around , + and =."""
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if c in ",+":
            parts.append(("".join(cur), c))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append(("".join(cur), ""))
    out = []
    for ava, sep in parts:
        if "=" in ava:
            typ, value = ava.split("=", 1)
            typ = typ.strip()
            if not re.match(r"^[0-9.]+$", typ):
                typ = typ.upper()
            value = value.lstrip(" ")
            # keep an escaped trailing space ("\ "), drop plain ones
            while value.endswith(" ") and not value.endswith("\\ "):
                value = value[:-1]
            ava = typ + "=" + value
        out.append(ava + sep)
    return "".join(out)


def _str_list(profile, field):
    value = profile.get(field)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProfileError("%s must be a list of non-empty strings" % field)
    return list(value)


def _opt_int(profile, field, lo=None, hi=None):
    value = profile.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError("%s must be an integer" % field)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ProfileError("%s out of range" % field)
    return value


def normalise_profile(profile):
    """Check a profile from the control API; return a clean copy (raises ProfileError)."""
    if not isinstance(profile, dict):
        raise ProfileError("the profile must be a JSON object")
    unknown = sorted(set(profile) - set(PROFILE_FIELDS))
    if unknown:
        raise ProfileError("unknown profile field(s): %s" % ", ".join(unknown))
    subject = profile.get("subject")
    if not isinstance(subject, str):
        raise ProfileError("subject is required (an RFC 4514 string)")
    try:
        parse_name(subject)
    except Exception as e:  # noqa: BLE001 - any parse failure is the caller's
        raise ProfileError("subject is not an RFC 4514 name: %s" % e) from None
    out = {"subject": subject}
    for field in ("san_emails", "san_upns", "san_dns"):
        out[field] = _str_list(profile, field)
    ku = profile.get("key_usage")
    if ku is not None:
        ku = _str_list(profile, "key_usage")
        bad = [k for k in ku if k not in KEY_USAGE_NAMES]
        if bad:
            raise ProfileError("key_usage: unknown name(s) %s (known: %s)"
                               % (", ".join(bad), ", ".join(KEY_USAGE_NAMES)))
    out["key_usage"] = ku
    out["key_size"] = _opt_int(profile, "key_size", 256, 16384)
    hashes_ = profile.get("hash_algorithms")
    if hashes_ is not None:
        hashes_ = [h.lower().replace("-", "") for h in _str_list(profile, "hash_algorithms")]
        bad = [h for h in hashes_ if h not in HASH_NAMES]
        if bad:
            raise ProfileError("hash_algorithms: unknown %s" % ", ".join(bad))
    out["hash_algorithms"] = hashes_
    ekus = profile.get("ekus")
    if ekus is not None:
        ekus = _str_list(profile, "ekus")
        bad = [e for e in ekus if not _OID_RE.match(e)]
        if bad:
            raise ProfileError("ekus: not dotted OIDs: %s" % ", ".join(bad))
    out["ekus"] = ekus
    out["validity_days"] = _opt_int(profile, "validity_days", 1, 36500)
    device_id = profile.get("device_id")
    if device_id is not None and not isinstance(device_id, str):
        raise ProfileError("device_id must be a string")
    out["device_id"] = device_id
    expires_in = _opt_int(profile, "expires_in", -10 ** 9, 10 ** 9)
    out["expires_in"] = 3600 if expires_in is None else expires_in
    pid = profile.get("profile_id")
    if pid is not None and (not isinstance(pid, str) or not re.match(r"^[A-Za-z0-9._~-]{1,128}$", pid)):
        raise ProfileError("profile_id must be 1-128 characters of [A-Za-z0-9._~-]")
    out["profile_id"] = pid
    return out


def _b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text):
    if not re.match(r"^[A-Za-z0-9_-]*$", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ChallengeCodec:
    """Makes and reads the emulator's signed challenges."""

    PREFIX = "EMU1"

    def __init__(self, key=None):
        self._key = key or os.urandom(32)

    def make(self, profile_id, expires_at, device_id=None):
        payload = {"p": profile_id, "x": int(expires_at), "n": _b64u(os.urandom(9))}
        if device_id is not None:
            payload["d"] = device_id
        body = _b64u(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self._key, (self.PREFIX + "." + body).encode(), hashlib.sha256).digest()
        return "%s.%s.%s" % (self.PREFIX, body, _b64u(mac))

    def read(self, challenge):
        """Return (code, payload): code None when the challenge is genuine."""
        parts = challenge.split(".")
        if len(parts) != 3 or parts[0] != self.PREFIX:
            return "ChallengeDecodingError", None
        try:
            body = _unb64u(parts[1])
            mac = _unb64u(parts[2])
        except (ValueError, binascii.Error):
            return "ChallengeDecodingError", None
        want = hmac.new(self._key, (self.PREFIX + "." + parts[1]).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, mac):
            return "ChallengeDeserializationError", None
        try:
            payload = json.loads(body.decode("utf-8"))
            if not isinstance(payload.get("p"), str) or not isinstance(payload.get("x"), int):
                raise ValueError("bad payload")
        except (ValueError, UnicodeDecodeError, AttributeError):
            return "ChallengeDeserializationError", None
        return None, payload


# --------------------------------------------------------------------------
# Name comparison (RFC 4518-ish: case-insensitive, insignificant spaces)

def _norm_value(value):
    if isinstance(value, bytes):
        return value
    value = unicodedata.normalize("NFKC", value).casefold()
    return " ".join(value.split())


def name_key(name):
    return [frozenset((a.oid.dotted_string, _norm_value(a.value)) for a in rdn) for rdn in name.rdns]


def names_equal(a, b):
    return name_key(a) == name_key(b)


# --------------------------------------------------------------------------
# DER helpers for the UPN otherName

def der_utf8string(text):
    data = text.encode("utf-8")
    return b"\x0c" + der_length(len(data)) + data


def der_length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def read_der_utf8string(data):
    """The text of a DER UTF8String, or None when `data` is anything else."""
    if len(data) < 2 or data[0] != 0x0C:
        return None
    n = data[1]
    pos = 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or len(data) < 2 + k:
            return None
        n = int.from_bytes(data[2:2 + k], "big")
        pos = 2 + k
    if pos + n != len(data):
        return None
    try:
        return data[pos:].decode("utf-8")
    except UnicodeDecodeError:
        return None


# --------------------------------------------------------------------------
# The checks

def decode_csr(text):
    """base64 (no PEM armour; whitespace tolerated) DER PKCS#10 -> CSR or None."""
    if not isinstance(text, str):
        return None, None
    compact = "".join(text.split())
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None, None
    if not der:
        return None, None
    try:
        csr = x509.load_der_x509_csr(der)
        # Force parsing of the parts we read later.
        csr.subject  # noqa: B018
        csr.public_key()
    except Exception:  # noqa: BLE001 - anything unparsable is a decoding failure
        return None, der
    return csr, der


def csr_signature_ok(csr):
    try:
        pub = csr.public_key()
        alg = csr.signature_hash_algorithm
        if isinstance(pub, rsa.RSAPublicKey):
            if csr.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.10":
                pad = padding.PSS(mgf=padding.MGF1(alg), salt_length=padding.PSS.AUTO)
            else:
                pad = padding.PKCS1v15()
            pub.verify(csr.signature, csr.tbs_certrequest_bytes, pad, alg)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(csr.signature, csr.tbs_certrequest_bytes, ec.ECDSA(alg))
        else:
            pub.verify(csr.signature, csr.tbs_certrequest_bytes)
        return True
    except (InvalidSignature, ValueError, TypeError, Exception):  # noqa: BLE001
        return False


def challenge_password(csr):
    try:
        attr = csr.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD)
    except x509.AttributeNotFound:
        return None
    except Exception:  # noqa: BLE001
        return None
    value = attr.value
    try:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    except UnicodeDecodeError:
        return None


def _ext(csr, oid):
    try:
        return csr.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def csr_sans(csr):
    """(emails, upns, dns, other) from the CSR's SAN extension, or None when absent."""
    san = _ext(csr, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if san is None:
        return None
    emails, upns, dns, other = [], [], [], []
    for gn in san:
        if isinstance(gn, x509.RFC822Name):
            emails.append(gn.value)
        elif isinstance(gn, x509.DNSName):
            dns.append(gn.value)
        elif isinstance(gn, x509.OtherName) and gn.type_id == UPN_OID:
            text = read_der_utf8string(gn.value)
            if text is None:
                other.append("bad-upn-encoding")
            else:
                upns.append(text)
        else:
            other.append(repr(gn))
    return emails, upns, dns, other


def _fold(values):
    return sorted(v.casefold() for v in values)


def check_csr_against_profile(csr, profile):
    """The first failing Intune code for `csr` against `profile`, or ("Success", "")."""
    # Subject
    if len(csr.subject.rdns) == 0:
        return "SubjectNameMissing", "the request has an empty subject"
    want = parse_name(profile["subject"])
    if not names_equal(csr.subject, want):
        return ("SubjectNameMismatch", "subject %r does not match the profile's %r"
                % (csr.subject.rfc4514_string(), want.rfc4514_string()))
    # Subject alternative names
    want_emails, want_upns, want_dns = profile["san_emails"], profile["san_upns"], profile["san_dns"]
    sans = csr_sans(csr)
    if sans is None:
        if want_emails or want_upns or want_dns:
            return "SubjectAltNameMissing", "the request has no subject alternative name extension"
    else:
        emails, upns, dns, other = sans
        if other:
            return "SubjectAltNameMismatch", "the request has unexpected subject alternative names"
        if (_fold(emails) != _fold(want_emails) or _fold(upns) != _fold(want_upns)
                or _fold(dns) != _fold(want_dns)):
            return "SubjectAltNameMismatch", "subject alternative names do not match the profile"
    # Key usage
    if profile["key_usage"] is not None:
        ku = _ext(csr, ExtensionOID.KEY_USAGE)
        if ku is None:
            return "KeyUsageMismatch", "the request has no key usage extension"
        have = set()
        for name, attr in zip(KEY_USAGE_NAMES, _KU_ATTRS):
            try:
                if getattr(ku, attr):
                    have.add(name)
            except ValueError:  # encipher/decipher only without key agreement
                pass
        if have != set(profile["key_usage"]):
            return ("KeyUsageMismatch", "key usage %s does not match the profile's %s"
                    % (sorted(have), sorted(profile["key_usage"])))
    # Key size
    if profile["key_size"] is not None:
        pub = csr.public_key()
        size = getattr(pub, "key_size", None)
        if size != profile["key_size"]:
            return ("KeyLengthMismatch", "key size %s does not match the profile's %d"
                    % (size, profile["key_size"]))
    # Extended key usage
    if profile["ekus"] is not None:
        eku = _ext(csr, ExtensionOID.EXTENDED_KEY_USAGE)
        if eku is None:
            if profile["ekus"]:
                return "EnhancedKeyUsageMissing", "the request has no extended key usage extension"
        else:
            have = sorted(o.dotted_string for o in eku)
            if have != sorted(set(profile["ekus"])):
                return ("EnhancedKeyUsageMismatch", "extended key usages %s do not match the profile's %s"
                        % (have, sorted(profile["ekus"])))
    # Hash algorithm of the request's signature
    if profile["hash_algorithms"] is not None:
        alg = csr.signature_hash_algorithm
        name = alg.name if alg is not None else None
        if name not in profile["hash_algorithms"]:
            return ("SignatureValidationFailed", "signature hash %s is not allowed by the profile (%s)"
                    % (name, ", ".join(profile["hash_algorithms"])))
    return "Success", ""


def validate(csr_text, codec, profiles, now=None):
    """Run every check of validateRequest; return (code, description, profile_id, der)."""
    now = time.time() if now is None else now
    csr, der = decode_csr(csr_text)
    if csr is None:
        return "CertificateRequestDecodingFailed", "certificateRequest is not base64 DER PKCS#10", None, der
    if not csr_signature_ok(csr):
        return "SignatureValidationFailed", "the request's signature does not verify", None, der
    password = challenge_password(csr)
    if not password:
        return "ChallengePasswordMissing", "the request has no challengePassword attribute", None, der
    code, payload = codec.read(password)
    if code:
        return code, "the challenge was not issued by this service", None, der
    pid = payload["p"]
    profile = profiles.get(pid)
    if profile is None:
        return "ChallengeDeserializationError", "the challenge names an unknown profile", pid, der
    if payload["x"] <= now:
        return "ChallengeExpired", "the challenge expired", pid, der
    if profile.get("untargeted"):
        return ("ScepProfileNoLongerTargetedToTheClient",
                "the profile is no longer targeted to the device", pid, der)
    code, desc = check_csr_against_profile(csr, profile)
    return code, desc, pid, der
