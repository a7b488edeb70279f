# SPDX-License-Identifier: Apache-2.0
"""Intune's SCEP calls: every validation code from a CSR built to trigger it, the test-matrix
rows with their negative twins, notifications, and the exact request shapes."""

import base64
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import AttributeOID

from intune_scep.emulator.device import TestCA, csr_base64, make_csr, make_key, not_after, not_before

CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
IPSEC_TUNNEL = "1.3.6.1.5.5.7.3.6"

# RSA keys are slow to make: share a few.
_KEYS = {}


def key(size=2048, n=0):
    if (size, n) not in _KEYS:
        _KEYS[(size, n)] = make_key(size)
    return _KEYS[(size, n)]


def csr(profile, challenge, **kw):
    kw.setdefault("key", key(kw.get("key_size", profile.get("key_size") or 2048)))
    return make_csr(profile, challenge, **kw)[1]


BASE = {"subject": "CN=alice,O=Contoso", "san_emails": [], "san_upns": [],
        "key_usage": ["digitalSignature", "keyEncipherment"], "key_size": 2048,
        "hash_algorithms": ["sha256"], "ekus": [CLIENT_AUTH], "validity_days": 365}


def profile(**over):
    p = dict(BASE)
    p.update(over)
    return p


# Matrix rows 2-20 (+ variants): (name, profile overrides, make_csr overrides)
POSITIVE = [
    ("2 CN", {"subject": "CN=alice"}, {}),
    ("3 CN with email", {"subject": "CN=alice,E=alice@contoso.com"}, {}),
    ("4 CN as email", {"subject": "CN=alice@contoso.com"}, {}),
    ("5 IMEI", {"subject": "CN=356938035643809"}, {}),
    ("6 serial", {"subject": "CN=C02XK1JHJG5J"}, {}),
    ("6b serialNumber attribute", {"subject": "CN=laptop-7,SERIALNUMBER=C02XK1JHJG5J"}, {}),
    ("7 custom RDNs", {"subject": "CN=alice,OU=Sales+OU=EMEA,O=Contoso,L=Redmond,ST=WA,C=US"}, {}),
    ("8 SAN email", {"san_emails": ["alice@contoso.com"]}, {}),
    ("9 SAN UPN", {"san_upns": ["alice@contoso.onmicrosoft.com"]}, {}),
    ("10 SAN email and UPN", {"san_emails": ["alice@contoso.com"], "san_upns": ["alice@contoso.com"]}, {}),
    ("SAN DNS", {"san_dns": ["device-1.contoso.com"]}, {}),
    ("11 KU digitalSignature", {"key_usage": ["digitalSignature"]}, {}),
    ("12 KU keyEncipherment", {"key_usage": ["keyEncipherment"]}, {}),
    ("13 KU both", {"key_usage": ["digitalSignature", "keyEncipherment"]}, {}),
    ("14 RSA 1024", {"key_size": 1024}, {}),
    ("15 RSA 2048", {"key_size": 2048}, {}),
    ("16 SHA-1", {"hash_algorithms": ["sha1"]}, {"hash": "sha1"}),
    ("17 SHA-256", {"hash_algorithms": ["sha256"]}, {"hash": "sha256"}),
    ("18 SHA-1 and SHA-2, SHA-1 CSR", {"hash_algorithms": ["sha1", "sha256"]}, {"hash": "sha1"}),
    ("18 SHA-1 and SHA-2, SHA-256 CSR", {"hash_algorithms": ["sha1", "sha256"]}, {"hash": "sha256"}),
    ("SHA-512", {"hash_algorithms": ["sha256", "sha512"]}, {"hash": "sha512"}),
    ("19 EKU client auth", {"ekus": [CLIENT_AUTH]}, {}),
    ("20 EKU IPsec tunnel", {"ekus": [IPSEC_TUNNEL]}, {}),
    ("EKU both", {"ekus": [CLIENT_AUTH, IPSEC_TUNNEL]}, {}),
    ("subject compared as a name", {"subject": "CN=Alice Smith, O=Contoso"},
     {"subject": "cn=ALICE   SMITH,o=contoso"}),
    ("unchecked fields", {"key_usage": None, "ekus": None, "hash_algorithms": None, "key_size": None},
     {"key_usage": ["keyAgreement"], "ekus": ["1.2.3.4"], "hash": "sha384", "key_size": 1024}),
]


@pytest.mark.parametrize("name,pover,cover", POSITIVE, ids=[p[0] for p in POSITIVE])
def test_matrix_positive(emu, wire, name, pover, cover):
    p = profile(**pover)
    ch = emu.issue_challenge(p)
    tid = "tid-" + name.split()[0]
    der = csr(p, ch["challenge"], **cover)
    assert wire.validate(der, tid) == "Success"
    v = emu.validations()[-1]
    assert v["transaction_id"] == tid and v["code"] == "Success" and v["profile_id"] == ch["profile_id"]


# Negative twins: (name, profile overrides, make_csr overrides, expected code)
NEGATIVE = [
    ("wrong CN", {}, {"subject": "CN=mallory,O=Contoso"}, "SubjectNameMismatch"),
    ("extra RDN", {}, {"subject": "CN=alice,OU=x,O=Contoso"}, "SubjectNameMismatch"),
    ("RDN order", {}, {"subject": "O=Contoso,CN=alice"}, "SubjectNameMismatch"),
    ("CN+E missing E", {"subject": "CN=alice,E=alice@contoso.com"}, {"subject": "CN=alice"}, "SubjectNameMismatch"),
    ("CN as email wrong", {"subject": "CN=alice@contoso.com"}, {"subject": "CN=bob@contoso.com"},
     "SubjectNameMismatch"),
    ("IMEI wrong", {"subject": "CN=356938035643809"}, {"subject": "CN=356938035643810"}, "SubjectNameMismatch"),
    ("empty subject", {}, {"subject": ""}, "SubjectNameMissing"),
    ("SAN email missing", {"san_emails": ["alice@contoso.com"]}, {"san_emails": []}, "SubjectAltNameMissing"),
    ("SAN UPN missing", {"san_upns": ["alice@contoso.com"]}, {"san_upns": []}, "SubjectAltNameMissing"),
    ("SAN UPN wrong", {"san_upns": ["alice@contoso.com"]}, {"san_upns": ["bob@contoso.com"]},
     "SubjectAltNameMismatch"),
    ("SAN UPN given as email", {"san_upns": ["alice@contoso.com"]},
     {"san_upns": [], "san_emails": ["alice@contoso.com"]}, "SubjectAltNameMismatch"),
    ("SAN both, one missing", {"san_emails": ["alice@contoso.com"], "san_upns": ["alice@contoso.com"]},
     {"san_upns": []}, "SubjectAltNameMismatch"),
    ("SAN not asked for", {}, {"san_dns": ["evil.example"]}, "SubjectAltNameMismatch"),
    ("KU missing bit", {"key_usage": ["digitalSignature", "keyEncipherment"]}, {"key_usage": ["digitalSignature"]},
     "KeyUsageMismatch"),
    ("KU extra bit", {"key_usage": ["digitalSignature"]}, {"key_usage": ["digitalSignature", "keyCertSign"]},
     "KeyUsageMismatch"),
    ("KU extension absent", {"key_usage": ["digitalSignature"]}, {"key_usage": []}, "KeyUsageMismatch"),
    ("short key", {"key_size": 2048}, {"key_size": 1024}, "KeyLengthMismatch"),
    ("long key", {"key_size": 1024}, {"key_size": 2048}, "KeyLengthMismatch"),
    ("EKU missing", {"ekus": [CLIENT_AUTH]}, {"ekus": []}, "EnhancedKeyUsageMissing"),
    ("EKU wrong", {"ekus": [CLIENT_AUTH]}, {"ekus": [IPSEC_TUNNEL]}, "EnhancedKeyUsageMismatch"),
    ("EKU extra", {"ekus": [IPSEC_TUNNEL]}, {"ekus": [IPSEC_TUNNEL, CLIENT_AUTH]}, "EnhancedKeyUsageMismatch"),
    ("SHA-1 not allowed", {"hash_algorithms": ["sha256"]}, {"hash": "sha1"}, "SignatureValidationFailed"),
    ("SHA-256 not allowed", {"hash_algorithms": ["sha1"]}, {"hash": "sha256"}, "SignatureValidationFailed"),
    ("bad signature", {}, {"corrupt_signature": True}, "SignatureValidationFailed"),
    ("no challenge", {}, {"include_challenge": False}, "ChallengePasswordMissing"),
]


@pytest.mark.parametrize("name,pover,cover,code", NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_matrix_negative_twins(emu, wire, name, pover, cover, code):
    p = profile(**pover)
    ch = emu.issue_challenge(p)["challenge"]
    assert wire.validate(csr(p, ch, **cover)) == code
    v = emu.validations()[-1]
    assert v["code"] == code and v["description"]


def _tamper(ch):
    prefix, body, mac = ch.split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    return "%s.%s.%s" % (prefix, body, flipped)


@pytest.mark.parametrize("case,code", [
    ("not ours", "ChallengeDecodingError"),
    ("bad base64", "ChallengeDecodingError"),
    ("bad mac", "ChallengeDeserializationError"),
    ("other emulator", "ChallengeDeserializationError"),
])
def test_challenge_codes(emu, wire, case, code):
    p = profile()
    ch = emu.issue_challenge(p)["challenge"]
    if case == "not ours":
        bad = "0123456789ABCDEF"
    elif case == "bad base64":
        bad = "EMU1.!!!.???"
    elif case == "bad mac":
        bad = _tamper(ch)
    else:
        from intune_scep.emulator.challenges import ChallengeCodec
        bad = ChallengeCodec().make("p-1", 2 ** 40)
    assert wire.validate(csr(p, bad)) == code


def test_expired_challenge(emu, wire):
    p = profile(expires_in=0)
    ch = emu.issue_challenge(p)["challenge"]
    assert wire.validate(csr(p, ch)) == "ChallengeExpired"


def test_untargeted_profile(emu, wire):
    p = profile()
    ch = emu.issue_challenge(p)
    der = csr(p, ch["challenge"])
    assert wire.validate(der, "t-before") == "Success"
    emu.untarget(ch["profile_id"])
    assert wire.validate(der, "t-after") == "ScepProfileNoLongerTargetedToTheClient"


def test_challenge_for_another_device(emu, wire):
    mine = profile(subject="CN=device-A", device_id="A")
    theirs = profile(subject="CN=device-B", device_id="B")
    emu.issue_challenge(mine)
    ch_b = emu.issue_challenge(theirs)["challenge"]
    assert wire.validate(csr(mine, ch_b)) == "SubjectNameMismatch"


def test_decoding_failures(emu, wire):
    assert wire.validate("not base64 at all!") == "CertificateRequestDecodingFailed"
    assert wire.validate(base64.b64encode(b"\x30\x03\x02\x01\x00").decode()) == "CertificateRequestDecodingFailed"
    p = profile()
    ch = emu.issue_challenge(p)["challenge"]
    pem = x509.load_der_x509_csr(csr(p, ch)).public_bytes(__import__(
        "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM).decode()
    assert wire.validate(pem) == "CertificateRequestDecodingFailed"


def test_ec_key_request(emu, wire):
    p = profile(key_size=256)
    ch = emu.issue_challenge(p)["challenge"]
    _, der = make_csr(p, ch, key_type="ec")
    assert wire.validate(der) == "Success"


def test_upn_must_be_utf8string(emu, wire):
    p = profile(san_upns=["alice@contoso.com"])
    ch = emu.issue_challenge(p)["challenge"]
    ia5 = b"\x16" + bytes([len("alice@contoso.com")]) + b"alice@contoso.com"
    san = x509.SubjectAlternativeName([x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), ia5)])
    k = key()
    b = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name.from_rfc4514_string("CN=alice,O=Contoso"))
         .add_extension(san, False)
         .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), True)
         .add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(CLIENT_AUTH)]), False)
         .add_attribute(AttributeOID.CHALLENGE_PASSWORD, ch.encode()))
    der = b.sign(k, hashes.SHA256()).public_bytes(__import__(
        "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    assert wire.validate(der) == "SubjectAltNameMismatch"


def _notify_success(wire, tid, der, cert, ca, **extra):
    n = {"transactionId": tid, "certificateRequest": csr_base64(der), "callerInfo": "tests/1.0"}
    n.update(ca.notification_fields(cert))
    n.update(extra)
    r = wire.scep("successNotification", {"notification": n})
    assert r.status_code == 200, r.text
    return r.json(), n


def test_row1_validity_and_success_notification(emu, wire):
    p = profile(validity_days=30)
    ch = emu.issue_challenge(p)["challenge"]
    der = csr(p, ch)
    assert wire.validate(der, "row1") == "Success"
    ca = TestCA()
    cert = ca.sign(der, validity_days=p["validity_days"])
    delta = not_after(cert) - not_before(cert)
    assert delta == datetime.timedelta(days=30)
    answer, sent = _notify_success(wire, "row1", der, cert, ca, caConfiguration=None, certificateAuthority=None)
    assert answer["code"] == "Success"
    got = emu.notifications()
    assert got["success"] == [sent]
    assert got["success"][0]["certificateExpirationDateUtc"] == ca.expiry_iso(cert)
    assert "caConfiguration" in got["success"][0] and got["success"][0]["caConfiguration"] is None


def test_success_notification_keys_omitted_are_recorded_as_omitted(emu, wire):
    p = profile()
    ch = emu.issue_challenge(p)["challenge"]
    der = csr(p, ch)
    assert wire.validate(der, "omit") == "Success"
    ca = TestCA()
    answer, sent = _notify_success(wire, "omit", der, ca.sign(der), ca)
    assert answer["code"] == "Success"
    rec = emu.notifications()["success"][0]
    assert "caConfiguration" not in rec and "certificateAuthority" not in rec
    answer, _ = _notify_success(wire, "omit", der, ca.sign(der), ca, caConfiguration="ca01\\Issuing",
                                certificateAuthority="Contoso CA")
    assert emu.notifications()["success"][1]["caConfiguration"] == "ca01\\Issuing"


def test_row21_renewal(emu, wire):
    p = profile(profile_id="renewal-profile")
    ca = TestCA()
    for i in range(2):
        ch = emu.issue_challenge(p)
        assert ch["profile_id"] == "renewal-profile"
        der = make_csr(p, ch["challenge"], key=key(2048, i + 1))[1]
        assert wire.validate(der, "renew-%d" % i) == "Success"
        assert _notify_success(wire, "renew-%d" % i, der, ca.sign(der), ca)[0]["code"] == "Success"
    assert [n["transactionId"] for n in emu.notifications()["success"]] == ["renew-0", "renew-1"]


@pytest.mark.parametrize("case", ["never validated", "other csr", "failed validation", "other transaction"])
def test_success_notification_without_matching_validation(emu, wire, case):
    p = profile()
    ch = emu.issue_challenge(p)["challenge"]
    good = csr(p, ch)
    other = csr(p, ch, key=key(1024), key_size=1024)
    ca = TestCA()
    if case == "other csr":
        assert wire.validate(good, "t") == "Success"
        der, tid = other, "t"
    elif case == "failed validation":
        assert wire.validate(other, "t") == "KeyLengthMismatch"
        der, tid = other, "t"
    elif case == "other transaction":
        assert wire.validate(good, "t") == "Success"
        der, tid = good, "t2"
    else:
        der, tid = good, "t"
    answer, sent = _notify_success(wire, tid, der, ca.sign(der), ca)
    assert answer["code"] == "Unknown" and answer["errorDescription"]
    got = emu.notifications()
    assert got["success"] == []
    assert got["rejected"] == [{"kind": "success", "notification": sent, "code": "Unknown"}]


@pytest.mark.parametrize("hresult", [-2147467259, 2147500037, 0, 2 ** 63 - 1, -(2 ** 63)])
def test_failure_notification_keeps_hresult_exact(emu, wire, hresult):
    n = {"transactionId": "f1", "certificateRequest": "MIIB", "hResult": hresult,
         "errorDescription": "CA refused: policy", "callerInfo": "tests/1.0"}
    r = wire.scep("failureNotification", {"notification": n})
    assert r.status_code == 200 and r.json()["code"] == "Success"
    assert emu.notifications()["failure"] == [n]
    raw = emu.requests("failureNotification")[-1]["body"]
    assert ('"hResult": %d' % hresult) in raw


VALID = {"request": {"transactionId": "t", "certificateRequest": "MIIB", "callerInfo": "c"}}
NOTE = {"notification": {"transactionId": "t", "certificateRequest": "MIIB", "certificateThumbprint": "AB",
                         "certificateSerialNumber": "01", "certificateExpirationDateUtc": "2030-01-01T00:00:00.000Z",
                         "issuingCertificateAuthority": "CN=CA", "callerInfo": "c"}}
FAIL = {"notification": {"transactionId": "t", "certificateRequest": "MIIB", "hResult": 1,
                         "errorDescription": "x", "callerInfo": "c"}}


def _with(body, path, value):
    b = json.loads(json.dumps(body))
    obj = b
    for k in path[:-1]:
        obj = obj[k]
    if value is KeyError:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return b


@pytest.mark.parametrize("action,body", [
    ("validateRequest", {"transactionId": "t", "certificateRequest": "MIIB", "callerInfo": "c"}),
    ("validateRequest", _with(VALID, ["request", "callerInfo"], KeyError)),
    ("validateRequest", _with(VALID, ["request", "transactionId"], "")),
    ("validateRequest", _with(VALID, ["request", "transactionId"], 5)),
    ("validateRequest", _with(VALID, ["request", "extra"], "x")),
    ("validateRequest", _with(VALID, ["Request"], {})),
    ("validateRequest", []),
    ("successNotification", _with(NOTE, ["notification", "certificateThumbprint"], KeyError)),
    ("successNotification", _with(NOTE, ["notification", "caConfiguration"], 5)),
    ("successNotification", _with(NOTE, ["notification", "hResult"], 5)),
    ("failureNotification", _with(FAIL, ["notification", "hResult"], "0x80004005")),
    ("failureNotification", _with(FAIL, ["notification", "hResult"], 1.5)),
    ("failureNotification", _with(FAIL, ["notification", "hResult"], True)),
    ("failureNotification", _with(FAIL, ["notification", "hResult"], 2 ** 63)),
    ("failureNotification", _with(FAIL, ["notification", "errorDescription"], "")),
])
def test_wrong_shapes_are_400(emu, wire, action, body):
    r = wire.scep(action, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"]
    assert emu.validations() == [] and emu.notifications()["failure"] == []


def test_preflight_checks(emu, wire):
    h = wire.intune_headers()
    del h["Authorization"]
    assert wire.scep("validateRequest", VALID, headers=h).status_code == 401
    assert wire.scep("validateRequest", VALID, headers=wire.intune_headers(token="forged")).status_code == 401
    assert wire.scep("validateRequest", VALID, headers=wire.intune_headers(api_version="2019-01-01")).status_code == 400
    h = wire.intune_headers()
    del h["api-version"]
    assert wire.scep("validateRequest", VALID, headers=h).status_code == 400
    h = wire.intune_headers()
    h["Content-Type"] = "text/plain"
    assert wire.scep("validateRequest", VALID, headers=h).status_code == 415
    assert wire.scep("validateRequest", None, raw="{not json").status_code == 400
    assert wire.scep("validateRequest", None, raw=b"\xff\xfe").status_code == 400
    emu.settings(scep_api_version="2020-01-01")
    assert wire.scep("validateRequest", VALID, headers=wire.intune_headers(api_version="2020-01-01")).status_code == 200
    r = wire.get(emu.service_uri() + "/ScepActions/validateRequest")
    assert r.status_code == 405


def test_profile_errors(emu):
    from intune_scep.emulator import EmulatorControlError
    for bad in ({}, {"subject": "not a dn"}, {"subject": "CN=x", "key_usage": ["fly"]},
                {"subject": "CN=x", "ekus": ["client auth"]}, {"subject": "CN=x", "key_size": "2048"},
                {"subject": "CN=x", "colour": "red"}, {"subject": "CN=x", "hash_algorithms": ["md5"]}):
        with pytest.raises(EmulatorControlError) as e:
            emu.issue_challenge(bad)
        assert e.value.status == 400
    with pytest.raises(EmulatorControlError) as e:
        emu.untarget("no-such-profile")
    assert e.value.status == 404
