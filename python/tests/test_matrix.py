# SPDX-License-Identifier: Apache-2.0
"""The test-matrix scenarios (Intune's TestMatrix.csv) through this package.

The emulator plays Intune and issues the challenge; the test plays the device
(it builds the CSR a device builds for the profile) and the SCEP server / CA
(it validates through the library, issues with a test CA only when validation
passed, and notifies).
"""

from __future__ import annotations

import datetime
from typing import Any, Dict

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from intune_scep import (
    ErrorCode,
    IntuneClientAuthException,
    IntuneClientException,
    IntuneClientHttpErrorException,
    IntuneScepServiceException,
)
from scep_helpers import CLIENT_AUTH, IPSEC_TUNNEL, expected_details, not_after, not_before


class ScepServer:
    """What a SCEP server does with the library: validate, issue or refuse, notify."""

    def __init__(self, client: Any, ca: Any) -> None:
        self.client = client
        self.ca = ca
        self.issued: Dict[str, x509.Certificate] = {}
        self.delivered: Dict[str, x509.Certificate] = {}

    def enroll(self, txid: str, csr: x509.CertificateSigningRequest, csr_b64: str,
               validity_days: int = 365) -> x509.Certificate:
        self.client.ValidateRequest(txid, csr_b64)  # raises: nothing is issued
        cert = self.ca.issue(csr, validity_days)
        self.issued[txid] = cert
        try:
            self.client.notify_success_for_certificate(
                txid, csr_b64, cert.public_bytes(serialization.Encoding.DER), ca_configuration="ca01\\Test CA")
        except IntuneClientException:
            raise  # the certificate is not handed to the device
        self.delivered[txid] = cert
        return cert


@pytest.fixture
def server(client, ca):
    return ScepServer(client, ca)


def _enroll_ok(emu, server, device, profile: Dict[str, Any], **request: Any) -> x509.Certificate:
    d = device(profile, **request)
    cert = server.enroll(d["txid"], d["csr"], d["csr_b64"], profile.get("validity_days", 365))
    [validation] = [v for v in emu.validations() if v["transaction_id"] == d["txid"]]
    assert validation["code"] == "Success"
    assert validation["profile_id"] == d["profile_id"]
    [note] = [n for n in emu.notifications()["success"] if n["transactionId"] == d["txid"]]
    for k, v in expected_details(cert).items():
        assert note[k] == v, k
    assert note["certificateRequest"] == d["csr_b64"]
    assert cert.subject == d["csr"].subject
    return cert


SUBJECT_ROWS = {
    2: {"subject": "CN=alice"},
    3: {"subject": "CN=alice,E=alice@contoso.com"},
    4: {"subject": "CN=alice@contoso.com"},
    5: {"subject": "CN=356938035643809"},  # IMEI
    6: {"subject": "CN=C02XK1ABJGH5"},  # device serial number
    7: {"subject": "CN=alice,OU=Engineering,O=Contoso,L=Redmond,ST=WA,C=US"},
}


@pytest.mark.parametrize("row", sorted(SUBJECT_ROWS))
def test_rows_2_to_7_subjects(emu, server, device, row):
    profile = dict(SUBJECT_ROWS[row])
    cert = _enroll_ok(emu, server, device, profile)
    assert cert.subject == x509.Name.from_rfc4514_string(
        profile["subject"], {"E": x509.NameOID.EMAIL_ADDRESS})


def test_row_1_validity_period(emu, server, device):
    profile = {"subject": "CN=alice", "validity_days": 30}
    cert = _enroll_ok(emu, server, device, profile)
    lifetime = not_after(cert) - not_before(cert)
    assert lifetime == datetime.timedelta(days=30)
    [note] = emu.notifications()["success"]
    assert note["certificateExpirationDateUtc"] == not_after(cert).strftime("%Y-%m-%dT%H:%M:%S.000Z")


SAN_ROWS = {
    8: {"san_emails": ["alice@contoso.com"]},
    9: {"san_upns": ["alice@contoso.onmicrosoft.com"]},
    10: {"san_emails": ["alice@contoso.com"], "san_upns": ["alice@contoso.onmicrosoft.com"]},
}


@pytest.mark.parametrize("row", sorted(SAN_ROWS))
def test_rows_8_to_10_san(emu, server, device, row):
    profile = dict({"subject": "CN=alice"}, **SAN_ROWS[row])
    cert = _enroll_ok(emu, server, device, profile)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.RFC822Name)) == sorted(profile.get("san_emails", []))
    assert len(san.get_values_for_type(x509.OtherName)) == len(profile.get("san_upns", []))


KU_ROWS = {11: ["digitalSignature"], 12: ["keyEncipherment"], 13: ["digitalSignature", "keyEncipherment"]}


@pytest.mark.parametrize("row", sorted(KU_ROWS))
def test_rows_11_to_13_key_usage(emu, server, device, row):
    cert = _enroll_ok(emu, server, device, {"subject": "CN=alice", "key_usage": KU_ROWS[row]})
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature == ("digitalSignature" in KU_ROWS[row])
    assert ku.key_encipherment == ("keyEncipherment" in KU_ROWS[row])


@pytest.mark.parametrize("row,bits", [(14, 1024), (15, 2048)])
def test_rows_14_15_key_size(emu, server, device, row, bits):
    cert = _enroll_ok(emu, server, device, {"subject": "CN=alice", "key_size": bits})
    assert cert.public_key().key_size == bits


@pytest.mark.parametrize("row,allowed,used", [
    (16, ["sha1"], "sha1"),
    (17, ["sha256"], "sha256"),
    (18, ["sha1", "sha256"], "sha1"),
    (18, ["sha1", "sha256"], "sha256"),
])
def test_rows_16_to_18_hash(emu, server, device, row, allowed, used):
    profile = {"subject": "CN=alice", "hash_algorithms": allowed}
    d = device(profile, hash_name=used)
    assert d["csr"].signature_hash_algorithm.name == used
    server.enroll(d["txid"], d["csr"], d["csr_b64"])
    assert emu.validations()[-1]["code"] == "Success"


@pytest.mark.parametrize("row,eku", [(19, CLIENT_AUTH), (20, IPSEC_TUNNEL)])
def test_rows_19_20_eku(emu, server, device, row, eku):
    cert = _enroll_ok(emu, server, device, {"subject": "CN=alice", "ekus": [eku]})
    ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [o.dotted_string for o in ekus] == [eku]


def test_row_21_renewal(emu, server, device):
    profile = {"subject": "CN=alice", "san_upns": ["alice@contoso.onmicrosoft.com"]}
    first = _enroll_ok(emu, server, device, profile)
    second = _enroll_ok(emu, server, device, profile)  # a new challenge, before the first expires
    assert first.serial_number != second.serial_number
    assert datetime.datetime.now(datetime.timezone.utc) < not_after(first)
    assert len(emu.notifications()["success"]) == 2


# -- rows 22-25: no certificate ---------------------------------------------------

# Negative twins of rows 2-20: what the device asks for differs from the profile.
NEGATIVE = {
    "subject": ({"subject": "CN=alice"}, {"subject": "CN=mallory"}, ErrorCode.SubjectNameMismatch),
    "missing-san": ({"subject": "CN=alice", "san_emails": ["alice@contoso.com"]}, {"san_emails": ()},
                    ErrorCode.SubjectAltNameMissing),
    "wrong-san": ({"subject": "CN=alice", "san_upns": ["alice@contoso.com"]}, {"san_upns": ["bob@contoso.com"]},
                  ErrorCode.SubjectAltNameMismatch),
    "wrong-ku": ({"subject": "CN=alice", "key_usage": ["digitalSignature"]}, {"key_usage": ["keyEncipherment"]},
                 ErrorCode.KeyUsageMismatch),
    "short-key": ({"subject": "CN=alice", "key_size": 2048}, {"key_size": 1024}, ErrorCode.KeyLengthMismatch),
    "missing-eku": ({"subject": "CN=alice", "ekus": [CLIENT_AUTH]}, {"ekus": None},
                    ErrorCode.EnhancedKeyUsageMissing),
    "wrong-eku": ({"subject": "CN=alice", "ekus": [CLIENT_AUTH]}, {"ekus": [IPSEC_TUNNEL]},
                  ErrorCode.EnhancedKeyUsageMismatch),
    "hash": ({"subject": "CN=alice", "hash_algorithms": ["sha256"]}, {"hash_name": "sha1"},
             ErrorCode.SignatureValidationFailed),
    "expired-challenge": ({"subject": "CN=alice", "expires_in": -60}, {}, ErrorCode.ChallengeExpired),
    "no-challenge": ({"subject": "CN=alice"}, {"challenge": None}, ErrorCode.ChallengePasswordMissing),
    "forged-challenge": ({"subject": "CN=alice"}, {"challenge": "EMU1.e30.AAAA"},
                         ErrorCode.ChallengeDeserializationError),
    "not-a-challenge": ({"subject": "CN=alice"}, {"challenge": "hello"}, ErrorCode.ChallengeDecodingError),
}


def _assert_nothing_issued(emu, server, txid: str) -> None:
    assert txid not in server.issued and txid not in server.delivered
    assert not [n for n in emu.notifications()["success"] if n["transactionId"] == txid]


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_row_22_challenge_validation_failure(emu, server, device, case):
    profile, request, code = NEGATIVE[case]
    d = device(profile, **request)
    with pytest.raises(IntuneScepServiceException) as info:
        server.enroll(d["txid"], d["csr"], d["csr_b64"])
    assert info.value.parsed_error_code is code, info.value.error_code
    assert info.value.error_code == code.name
    assert info.value.transaction_id == d["txid"]
    _assert_nothing_issued(emu, server, d["txid"])
    [validation] = [v for v in emu.validations() if v["transaction_id"] == d["txid"]]
    assert validation["code"] == code.name


def test_row_22_profile_no_longer_targeted(emu, server, device):
    d = device({"subject": "CN=alice"})
    emu.untarget(d["profile_id"])
    with pytest.raises(IntuneScepServiceException) as info:
        server.enroll(d["txid"], d["csr"], d["csr_b64"])
    assert info.value.parsed_error_code is ErrorCode.ScepProfileNoLongerTargetedToTheClient
    _assert_nothing_issued(emu, server, d["txid"])


def test_row_22_then_failure_notification(emu, server, device, client):
    d = device({"subject": "CN=alice"}, subject="CN=mallory")
    with pytest.raises(IntuneScepServiceException) as info:
        server.enroll(d["txid"], d["csr"], d["csr_b64"])
    client.SendFailureNotification(d["txid"], d["csr_b64"], 0x80004005, info.value.error_code)
    [note] = emu.notifications()["failure"]
    assert note["hResult"] == 0x80004005 and note["errorDescription"] == "SubjectNameMismatch"


def test_row_23_validation_http_500(emu, server, device):
    d = device({"subject": "CN=alice"})
    emu.fault(endpoint="validateRequest", status=500, body="server error", times=0)
    with pytest.raises(IntuneClientHttpErrorException) as info:
        server.enroll(d["txid"], d["csr"], d["csr_b64"])
    assert info.value.status_code == 500
    _assert_nothing_issued(emu, server, d["txid"])
    assert not emu.requests("successNotification")


def test_row_24_success_notification_http_500(emu, server, device):
    d = device({"subject": "CN=alice"})
    emu.fault(endpoint="successNotification", status=500, body="server error", times=0)
    with pytest.raises(IntuneClientHttpErrorException) as info:
        server.enroll(d["txid"], d["csr"], d["csr_b64"])
    assert info.value.status_code == 500
    assert d["txid"] in server.issued  # the CA signed it ...
    assert d["txid"] not in server.delivered  # ... but the device does not get it
    assert emu.requests("successNotification")
    assert not emu.notifications()["success"]


def test_row_25_wrong_app_key(emu, make_client, ca, device, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="intune_scep")
    server = ScepServer(make_client(AAD_APP_KEY="not-the-secret"), ca)
    d = device({"subject": "CN=alice"})
    with pytest.raises(IntuneClientAuthException) as info:
        server.enroll(d["txid"], d["csr"], d["csr_b64"])
    e = info.value
    assert e.aadsts_code == 7000215 and "AADSTS7000215" in e.description and e.error_code == "invalid_client"
    _assert_nothing_issued(emu, server, d["txid"])
    assert not emu.requests("validateRequest")
    lines = [r.getMessage() for r in caplog.records if r.name == "intune_scep" and r.levelno >= logging.WARNING]
    assert any("AADSTS7000215" in m for m in lines), lines
    assert not any("not-the-secret" in m for m in lines)
