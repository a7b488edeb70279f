# SPDX-License-Identifier: Apache-2.0
"""Every exception class and every field on it, from scripted emulator faults."""

from __future__ import annotations

import json
import pathlib
import uuid

import pytest

import intune_scep
from intune_scep import (
    ErrorCode,
    IntuneClientAuthException,
    IntuneClientException,
    IntuneClientHttpErrorException,
    IntuneClientProtocolException,
    IntuneClientTransportException,
    IntuneScepServiceException,
    IntuneServiceNotFoundException,
)

REFERENCE_ORDER = [
    "Unknown", "Success", "CertificateRequestDecodingFailed", "ChallengePasswordMissing",
    "ChallengeDeserializationError", "ChallengeDecryptionError", "ChallengeDecodingError",
    "ChallengeInvalidTimestamp", "ChallengeExpired", "SubjectNameMissing", "SubjectNameMismatch",
    "SubjectAltNameMissing", "SubjectAltNameMismatch", "KeyUsageMismatch", "KeyLengthMismatch",
    "EnhancedKeyUsageMissing", "EnhancedKeyUsageMismatch", "AadKeyIdentifierListMissing",
    "RegisteredKeyMismatch", "SigningCertThumbprintMismatch", "ScepProfileNoLongerTargetedToTheClient",
    "SignatureValidationFailed", "BadCertificateRequestIdInChallenge", "BadDeviceIdInChallenge",
    "BadUserIdInChallenge",
]


def _activity(emu, endpoint="validateRequest"):
    """The client-request-id of the last recorded request of `endpoint`."""
    reqs = emu.requests(endpoint)
    assert reqs, f"no {endpoint} request recorded"
    return uuid.UUID(reqs[-1]["headers"]["client-request-id"])


def test_error_code_enum_in_reference_order():
    assert [m.name for m in ErrorCode] == REFERENCE_ORDER
    assert [m.value for m in ErrorCode] == list(range(len(REFERENCE_ORDER)))
    assert ErrorCode.parse("ChallengeExpired") is ErrorCode.ChallengeExpired
    assert ErrorCode.parse("challengeexpired") is ErrorCode.Unknown
    assert ErrorCode.parse("") is ErrorCode.Unknown
    assert ErrorCode.parse(None) is ErrorCode.Unknown


def test_hierarchy():
    for cls in (IntuneScepServiceException, IntuneClientHttpErrorException, IntuneServiceNotFoundException,
                IntuneClientAuthException, IntuneClientTransportException, IntuneClientProtocolException):
        assert issubclass(cls, IntuneClientException)
    assert issubclass(IntuneClientException, Exception)


CODES = [c for c in REFERENCE_ORDER if c != "Success"] + ["SomethingNew", "success", "SUCCESS"]


@pytest.mark.parametrize("code", CODES)
def test_rejected_with_each_code(emu, client, csr, code):
    body = json.dumps({"code": code, "errorDescription": f"description of {code}"})
    emu.fault(endpoint="validateRequest", status=200, body=body, content_type="application/json")
    with pytest.raises(IntuneScepServiceException) as info:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    e = info.value
    assert e.error_code == code  # as sent, even when unknown
    assert e.parsed_error_code is ErrorCode.parse(code)
    if code in ("SomethingNew", "success", "SUCCESS"):
        assert e.parsed_error_code is ErrorCode.Unknown
    else:
        assert e.parsed_error_code.name == code
    assert e.error_description == f"description of {code}"
    assert e.transaction_id == csr["txid"]
    assert isinstance(e.activity_id, uuid.UUID)
    assert e.activity_id == _activity(emu)
    assert e.status == "INTUNE_SCEP_E_REJECTED"
    assert str(e.activity_id) in str(e)
    assert e.message == str(e)


def test_rejected_by_the_emulator_checks(emu, client, device):
    """A real rejection (not a scripted answer): a challenge for another subject."""
    d = device({"subject": "CN=alice"}, subject="CN=mallory")
    with pytest.raises(IntuneScepServiceException) as info:
        client.ValidateRequest(d["txid"], d["csr_b64"])
    assert info.value.parsed_error_code is ErrorCode.SubjectNameMismatch
    assert info.value.error_description  # the emulator explains


@pytest.mark.parametrize("call", ["validate", "success", "failure"])
def test_http_500(emu, make_client, csr, call):
    client = make_client(MAX_RETRIES="0")
    if call == "success":
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    emu.fault(endpoint={"validate": "validateRequest", "success": "successNotification",
                        "failure": "failureNotification"}[call],
              status=500, body='{"error":"internal"}', content_type="application/json")
    with pytest.raises(IntuneClientHttpErrorException) as info:
        if call == "validate":
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
        elif call == "success":
            client.SendSuccessNotification(csr["txid"], csr["csr_b64"], "AA" * 20, "01",
                                           "2030-01-01T00:00:00.000Z", "CN=CA")
        else:
            client.SendFailureNotification(csr["txid"], csr["csr_b64"], 0x80004005, "failed")
    e = info.value
    assert e.status_code == 500
    assert e.response == '{"error":"internal"}'
    assert e.transaction_id == csr["txid"]
    assert e.activity_id == _activity(emu, {"validate": "validateRequest", "success": "successNotification",
                                            "failure": "failureNotification"}[call])
    assert e.status == "INTUNE_SCEP_E_HTTP"


def test_http_500_is_retried_with_the_same_activity_id(emu, make_client, csr):
    client = make_client(MAX_RETRIES="2")
    emu.fault(endpoint="validateRequest", status=500, body="oops", times=0)
    with pytest.raises(IntuneClientHttpErrorException) as info:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    reqs = emu.requests("validateRequest")
    assert len(reqs) == 3  # first attempt + MAX_RETRIES
    assert {r["headers"]["client-request-id"] for r in reqs} == {str(info.value.activity_id)}
    assert info.value.response == "oops"


def test_http_500_then_success_is_success(emu, client, csr):
    emu.fault(endpoint="validateRequest", status=503, body="busy", times=1)
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert len(emu.requests("validateRequest")) == 2


def test_http_404(emu, make_client, csr):
    client = make_client(MAX_RETRIES="0")
    emu.fault(endpoint="validateRequest", status=404, body="not here", times=0)
    with pytest.raises(IntuneClientHttpErrorException) as info:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    e = info.value
    assert e.status_code == 404 and e.response == "not here"
    assert e.activity_id == _activity(emu) and e.transaction_id == csr["txid"]
    # a 404 made the client discover again before giving up
    assert len(emu.requests("discovery")) >= 2


def test_moved_endpoint_is_followed(emu, client, csr):
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    new_uri = emu.move_endpoint()
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    last = emu.requests("validateRequest")[-1]
    assert new_uri.endswith(last["path"].rsplit("/ScepActions/", 1)[0])


def test_service_not_found(emu, client, csr):
    body = json.dumps({"value": [{"providerName": "SomeOtherService", "uri": emu.base_url + "other"}]})
    emu.fault(endpoint="discovery", status=200, body=body, content_type="application/json", times=0)
    with pytest.raises(IntuneServiceNotFoundException) as info:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    e = info.value
    assert e.status == "INTUNE_SCEP_E_SERVICE_NOT_FOUND"
    assert "ScepRequestValidationFEService" in str(e)
    assert "SomeOtherService" in str(e)  # the names found are listed
    assert e.transaction_id == csr["txid"]
    assert isinstance(e.activity_id, uuid.UUID)
    assert not emu.requests("validateRequest")


def test_discover_service(emu, client):
    uri = client.discover_service()
    assert uri.startswith(emu.base_url.rstrip("/"))
    assert uri.rstrip("/").endswith("ScepRequestValidationFEService")
    with pytest.raises(IntuneServiceNotFoundException):
        client.discover_service("NoSuchService")


def test_wrong_secret(emu, make_client, csr, config):
    client = make_client(AAD_APP_KEY="wrong-secret-value")
    with pytest.raises(IntuneClientAuthException) as info:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    e = info.value
    assert e.status == "INTUNE_SCEP_E_AUTH"
    assert e.error_code == "invalid_client"
    assert e.aadsts_code == 7000215
    assert "AADSTS7000215" in e.description
    assert e.status_code in (400, 401)
    assert isinstance(e.activity_id, uuid.UUID)
    assert e.transaction_id == csr["txid"]
    assert "AADSTS7000215" in str(e)
    assert "wrong-secret-value" not in str(e) and config["AAD_APP_KEY"] not in str(e)
    assert not emu.requests("validateRequest")  # nothing reached Intune


def test_secret_rotated_in_the_emulator_then_set_app_key(emu, client, csr):
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    emu.settings(app_secret="rotated-secret-1")
    emu.expire_tokens()
    with pytest.raises(IntuneClientAuthException):
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    client.set_app_key("rotated-secret-1")
    client.ValidateRequest(csr["txid"], csr["csr_b64"])


def test_protocol_error_not_json(emu, client, csr):
    emu.fault(endpoint="validateRequest", status=200, body="<html>hello</html>", content_type="text/html")
    with pytest.raises(IntuneClientProtocolException) as info:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    e = info.value
    assert e.status == "INTUNE_SCEP_E_PROTOCOL"
    assert e.status_code == 200 and e.response == "<html>hello</html>"
    assert e.activity_id == _activity(emu) and e.transaction_id == csr["txid"]


def test_protocol_error_no_code(emu, client, csr):
    emu.fault(endpoint="validateRequest", status=200, body='{"errorDescription":""}')
    with pytest.raises(IntuneClientProtocolException):
        client.ValidateRequest(csr["txid"], csr["csr_b64"])


def test_transport_error_untrusted_tls(emu, make_client, csr, config):
    """Without TLS_CA_FILE the system store is used, which does not trust the emulator."""
    cfg = dict(config)
    del cfg["TLS_CA_FILE"]
    client = intune_scep.IntuneScepServiceClient(cfg)
    try:
        with pytest.raises(IntuneClientTransportException) as info:
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
        assert info.value.status == "INTUNE_SCEP_E_TRANSPORT"
        assert isinstance(info.value.activity_id, uuid.UUID)
        assert info.value.transaction_id == csr["txid"]
    finally:
        client.close()


def test_transport_error_deadline(emu, make_client, csr):
    client = make_client(TIMEOUT_MS="1500", MAX_RETRIES="0")
    client.ValidateRequest(csr["txid"], csr["csr_b64"])  # warm: token and discovery done
    emu.fault(endpoint="validateRequest", action="hang", times=0)
    with pytest.raises(IntuneClientTransportException) as info:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert info.value.activity_id == _activity(emu)


def test_connection_reset_is_transport_error(emu, make_client, csr):
    client = make_client(MAX_RETRIES="0")
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    emu.fault(endpoint="validateRequest", action="reset", times=0)
    with pytest.raises(IntuneClientTransportException):
        client.ValidateRequest(csr["txid"], csr["csr_b64"])


def test_exceptions_caught_by_the_base_class(emu, client, csr):
    emu.fault(endpoint="validateRequest", status=200, body='{"code":"ChallengeExpired"}')
    with pytest.raises(IntuneClientException):
        client.ValidateRequest(csr["txid"], csr["csr_b64"])


@pytest.mark.parametrize("status_name,cls", [
    ("INTUNE_SCEP_E_INVALID_ARGUMENT", ValueError), ("INTUNE_SCEP_E_CONFIG", ValueError),
    ("INTUNE_SCEP_E_AUTH", IntuneClientAuthException),
    ("INTUNE_SCEP_E_SERVICE_NOT_FOUND", IntuneServiceNotFoundException),
    ("INTUNE_SCEP_E_HTTP", IntuneClientHttpErrorException), ("INTUNE_SCEP_E_TRANSPORT", IntuneClientTransportException),
    ("INTUNE_SCEP_E_PROTOCOL", IntuneClientProtocolException), ("INTUNE_SCEP_E_REJECTED", IntuneScepServiceException),
    ("INTUNE_SCEP_E_NOMEM", MemoryError), ("INTUNE_SCEP_E_INTERNAL", IntuneClientException),
    (99, IntuneClientException),
])
def test_every_status_mapped(status_name, cls):
    """Each intune_scep_status (the constant SWIG generates) maps to its Python exception (also without an
    error object); a number the library does not know is an IntuneClientException."""
    from intune_scep import _client, _native

    status = getattr(_native, status_name) if isinstance(status_name, str) else status_name
    if isinstance(status_name, str):
        assert _native.intune_scep_status_name(status) == status_name
    e = _client._exception_from(status, None, "tx-map")
    assert type(e) is cls
    name = _native.intune_scep_status_name(status)
    assert name in str(e)
    if isinstance(e, IntuneClientException):
        assert e.status == name and e.transaction_id == "tx-map" and e.activity_id is None


def test_status_numbers_and_service_names_come_from_the_header():
    """The facade reads the status numbers, the service names and the environment prefix that SWIG
    generates from intune_scep.h; none is written a second time in Python."""
    from intune_scep import _client, _native

    assert _client.SCEP_SERVICE_NAME == _native.INTUNE_SCEP_SERVICE_VALIDATION == "ScepRequestValidationFEService"
    assert _client.PKI_SERVICE_NAME == _native.INTUNE_SCEP_SERVICE_REVOCATION == "PkiConnectorFEService"
    assert _native.INTUNE_SCEP_ENV_PREFIX == "INTUNE_SCEP_"
    for name in ("OK", "E_INVALID_ARGUMENT", "E_CONFIG", "E_AUTH", "E_SERVICE_NOT_FOUND", "E_HTTP", "E_TRANSPORT",
                 "E_PROTOCOL", "E_REJECTED", "E_NOMEM", "E_INTERNAL"):
        assert getattr(_client, "_" + name) == getattr(_native, "INTUNE_SCEP_" + name)
        assert _native.intune_scep_status_name(getattr(_native, "INTUNE_SCEP_" + name)) == "INTUNE_SCEP_" + name
    source = pathlib.Path(_client.__file__).read_text(encoding="utf-8")
    assert '"ScepRequestValidationFEService"' not in source and '"PkiConnectorFEService"' not in source
