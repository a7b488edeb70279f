# SPDX-License-Identifier: Apache-2.0
"""The three SCEP calls as the emulator records them: headers and exact JSON bodies."""

from __future__ import annotations

import base64
import uuid
from typing import Any, Dict

import pytest
from cryptography.hazmat.primitives import serialization

import intune_scep
from intune_scep import CertificateDetails, certificate_details, normalize_csr
from scep_helpers import expected_details


def _check_headers(req: Dict[str, Any], config: Dict[str, str]) -> uuid.UUID:
    h = req["headers"]
    assert h["authorization"].startswith("Bearer ") and len(h["authorization"]) > len("Bearer ")
    assert h["content-type"].split(";")[0].strip() == "application/json"
    assert h["api-version"] == "2018-02-20"
    assert h["useragent"] == config["PROVIDER_NAME_AND_VERSION"]
    assert "intune-scep" in h["user-agent"].lower()
    activity = uuid.UUID(h["client-request-id"])
    assert str(activity) == h["client-request-id"].lower()
    assert req["method"] == "POST"
    return activity


def test_validate_request_wire(emu, client, csr, config):
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    [req] = emu.requests("validateRequest")
    assert req["path"].endswith("/ScepActions/validateRequest")
    _check_headers(req, config)
    assert req["json"] == {"request": {"transactionId": csr["txid"], "certificateRequest": csr["csr_b64"],
                                       "callerInfo": config["PROVIDER_NAME_AND_VERSION"]}}
    assert emu.validations()[-1]["code"] == "Success"


def test_each_call_has_a_fresh_activity_id(emu, client, csr):
    for _ in range(3):
        client.validate_request(csr["txid"], csr["csr_b64"])
    ids = {r["headers"]["client-request-id"] for r in emu.requests("validateRequest")}
    assert len(ids) == 3


def test_snake_case_aliases_are_the_same_methods():
    C = intune_scep.IntuneScepServiceClient
    assert C.validate_request is C.ValidateRequest
    assert C.send_success_notification is C.SendSuccessNotification
    assert C.send_failure_notification is C.SendFailureNotification


def test_success_notification_wire_optional_fields_null(emu, client, csr, config):
    client.ValidateRequest(csr["txid"], csr["csr_b64"])  # Intune accepts notifications of validated requests
    client.SendSuccessNotification(csr["txid"], csr["csr_b64"], "AB" * 20, "1A2B", "2027-06-11T16:11:20.000Z",
                                   "CN=Contoso CA")
    [req] = emu.requests("successNotification")
    assert req["path"].endswith("/ScepActions/successNotification")
    _check_headers(req, config)
    assert req["json"] == {"notification": {
        "transactionId": csr["txid"], "certificateRequest": csr["csr_b64"],
        "certificateThumbprint": "AB" * 20, "certificateSerialNumber": "1A2B",
        "certificateExpirationDateUtc": "2027-06-11T16:11:20.000Z",
        "issuingCertificateAuthority": "CN=Contoso CA", "callerInfo": config["PROVIDER_NAME_AND_VERSION"],
        "caConfiguration": None, "certificateAuthority": None}}
    [note] = emu.notifications()["success"]
    assert note["transactionId"] == csr["txid"]


def test_success_notification_wire_optional_fields_given(emu, client, csr):
    client.validate_request(csr["txid"], csr["csr_b64"])
    client.send_success_notification(csr["txid"], csr["csr_b64"], "0F" * 20, "01", "2030-01-01T00:00:00.000Z",
                                     "CN=CA ü", ca_configuration="ca01\\Contoso CA",
                                     certificate_authority="Contoso CA")
    [req] = emu.requests("successNotification")
    n = req["json"]["notification"]
    assert n["caConfiguration"] == "ca01\\Contoso CA"
    assert n["certificateAuthority"] == "Contoso CA"
    assert n["issuingCertificateAuthority"] == "CN=CA ü"  # UTF-8 kept, not '?'


@pytest.mark.parametrize("hresult", [0x80004005, -2147467259, 0, 2**63 - 1, -(2**63)])
def test_failure_notification_wire_hresult_exact(emu, client, csr, config, hresult):
    client.SendFailureNotification(csr["txid"], csr["csr_b64"], hresult, "CA refused: policy")
    [req] = emu.requests("failureNotification")
    assert req["path"].endswith("/ScepActions/failureNotification")
    _check_headers(req, config)
    assert req["json"] == {"notification": {
        "transactionId": csr["txid"], "certificateRequest": csr["csr_b64"], "hResult": hresult,
        "errorDescription": "CA refused: policy", "callerInfo": config["PROVIDER_NAME_AND_VERSION"]}}
    # the integer is on the wire as digits, not as a float
    assert f'"hResult":{hresult}' in req["body"].replace(" ", "")
    [note] = emu.notifications()["failure"]
    assert note["hResult"] == hresult


def test_notify_success_for_certificate(emu, client, csr, ca):
    cert = ca.issue(csr["csr"])
    pem = cert.public_bytes(serialization.Encoding.PEM)
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    client.notify_success_for_certificate(csr["txid"], csr["csr_b64"], pem, ca_configuration="cfg")
    [req] = emu.requests("successNotification")
    n = req["json"]["notification"]
    for k, v in expected_details(cert).items():
        assert n[k] == v, k
    assert n["caConfiguration"] == "cfg" and n["certificateAuthority"] is None
    assert n["transactionId"] == csr["txid"] and n["certificateRequest"] == csr["csr_b64"]


@pytest.mark.parametrize("form", ["pem-bytes", "pem-str", "der-bytes", "der-bytearray", "der-memoryview"])
def test_certificate_details_forms(csr, ca, form):
    cert = ca.issue(csr["csr"])
    pem = cert.public_bytes(serialization.Encoding.PEM)
    der = cert.public_bytes(serialization.Encoding.DER)
    data = {"pem-bytes": pem, "pem-str": pem.decode(), "der-bytes": der, "der-bytearray": bytearray(der),
            "der-memoryview": memoryview(der)}[form]
    d = certificate_details(data)
    assert isinstance(d, CertificateDetails)
    e = expected_details(cert)
    assert (d.thumbprint, d.serial_number, d.expiration_date, d.issuing_authority) == (
        e["certificateThumbprint"], e["certificateSerialNumber"], e["certificateExpirationDateUtc"],
        e["issuingCertificateAuthority"])


@pytest.mark.parametrize("bad", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_certificate_details_rejects_non_certificates(bad):
    with pytest.raises(ValueError):
        certificate_details(bad)


def test_certificate_details_type_error():
    with pytest.raises(TypeError, match="cert_bytes"):
        certificate_details(12345)  # type: ignore[arg-type]


def test_normalize_csr_forms(csr):
    der = csr["csr"].public_bytes(serialization.Encoding.DER)
    pem = csr["csr"].public_bytes(serialization.Encoding.PEM)
    want = base64.b64encode(der).decode()
    assert normalize_csr(pem) == want
    assert normalize_csr(pem.decode()) == want
    assert normalize_csr(der) == want
    assert normalize_csr(want) == want
    wrapped = "\n".join(want[i:i + 64] for i in range(0, len(want), 64)) + "\n"
    assert normalize_csr(wrapped) == want
    new_pem = pem.decode().replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
    assert normalize_csr(new_pem) == want


@pytest.mark.parametrize("bad", [b"", b"garbage", "bm90IGEgY3Ny"])
def test_normalize_csr_rejects_garbage(bad):
    with pytest.raises(ValueError):
        normalize_csr(bad)


def test_library_version():
    v = intune_scep.library_version()
    assert v and v[0].isdigit()
