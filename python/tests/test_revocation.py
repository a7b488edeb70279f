# SPDX-License-Identifier: Apache-2.0
"""IntuneRevocationClient: downloadRevocationRequests and uploadRevocationResults as recorded."""

from __future__ import annotations

import json
import uuid

import pytest

from intune_scep import (
    CARequestErrorCode,
    CARevocationRequest,
    CARevocationResult,
    IntuneClientHttpErrorException,
    IntuneRevocationClient,
)


@pytest.fixture
def rclient(config):
    with IntuneRevocationClient(config) as c:
        yield c


def _queue(emu, *items):
    emu.call("POST", "revocations", {"requests": list(items)})


def test_download_and_upload(emu, rclient, config):
    _queue(emu, {"serialNumber": "1A2B", "issuerName": "CN=Contoso CA", "caConfiguration": "ca01\\Contoso"},
           {"serialNumber": "3C4D", "issuerName": "CN=Other CA"})
    reqs = rclient.DownloadCARequests("tx-rev-1", 10)
    assert sorted(r.serial_number for r in reqs) == ["1A2B", "3C4D"]
    first = next(r for r in reqs if r.serial_number == "1A2B")
    assert isinstance(first, CARevocationRequest)
    assert first.issuer_name == "CN=Contoso CA" and first.ca_configuration == "ca01\\Contoso"
    assert first.request_context
    other = next(r for r in reqs if r.serial_number == "3C4D")
    assert other.ca_configuration is None

    [down] = emu.requests("downloadRevocationRequests")
    assert down["path"].endswith("/CertificateAuthorityRequests/downloadRevocationRequests")
    assert down["headers"]["api-version"] == "5019-05-05"
    assert down["headers"]["useragent"] == config["PROVIDER_NAME_AND_VERSION"]
    uuid.UUID(down["headers"]["client-request-id"])
    assert down["json"] == {"downloadParameters": {"maxRequests": 10, "issuerName": None}}

    rclient.UploadRevocationResults("tx-rev-1", [
        CARevocationResult(first.request_context, True),
        CARevocationResult(other.request_context, False, CARequestErrorCode.CertificateNotFoundError, "no such cert"),
    ])
    [up] = emu.requests("uploadRevocationResults")
    assert up["json"] == {"results": [
        {"requestContext": first.request_context, "succeeded": True, "errorCode": "0",
         "errorMessage": up["json"]["results"][0].get("errorMessage")},
        {"requestContext": other.request_context, "succeeded": False, "errorCode": "4004",
         "errorMessage": "no such cert"},
    ]}
    assert up["json"]["results"][0].get("errorMessage") in (None, "")
    recorded = emu.call("GET", "revocation_results")
    assert [r["known_request"] for r in recorded] == [True, True]


def test_download_by_issuer(emu, rclient):
    _queue(emu, {"serialNumber": "01", "issuerName": "CN=A"}, {"serialNumber": "02", "issuerName": "CN=B"})
    reqs = rclient.download_ca_requests(None, 5, "CN=B")
    assert [r.serial_number for r in reqs] == ["02"]
    assert emu.requests("downloadRevocationRequests")[0]["json"]["downloadParameters"]["issuerName"] == "CN=B"


def test_download_empty(emu, rclient):
    assert rclient.DownloadCARequests("tx", 1) == []


@pytest.mark.parametrize("n", [0, 501, -1])
def test_download_max_requests_range(emu, rclient, n):
    with pytest.raises(ValueError, match="max_requests"):
        rclient.DownloadCARequests("tx", n)
    assert not emu.requests()


def test_upload_requires_results(rclient):
    with pytest.raises(ValueError, match="results"):
        rclient.UploadRevocationResults("tx", [])


def test_upload_result_that_does_not_fit_together(emu, rclient):
    with pytest.raises(ValueError):
        rclient.UploadRevocationResults("tx", [CARevocationResult("ctx", False, CARequestErrorCode.None_)])
    with pytest.raises(ValueError):
        rclient.UploadRevocationResults("tx", [CARevocationResult("ctx", True, CARequestErrorCode.ConflictError)])
    assert not emu.requests("uploadRevocationResults")


def test_upload_value_false_is_an_error(emu, rclient):
    from intune_scep import IntuneClientException

    emu.fault(endpoint="uploadRevocationResults", status=200, body=json.dumps({"value": False}))
    with pytest.raises(IntuneClientException) as info:
        rclient.UploadRevocationResults("tx-9", [CARevocationResult("ctx", True)])
    assert info.value.transaction_id == "tx-9"


def test_download_http_error(emu, config):
    with IntuneRevocationClient(dict(config, MAX_RETRIES="0")) as c:
        emu.fault(endpoint="downloadRevocationRequests", status=500, body="down", times=0)
        with pytest.raises(IntuneClientHttpErrorException) as info:
            c.DownloadCARequests("tx-5", 3)
    assert info.value.status_code == 500 and info.value.response == "down"
    assert info.value.transaction_id == "tx-5"
    assert str(info.value.activity_id) == emu.requests("downloadRevocationRequests")[-1]["headers"]["client-request-id"]


def test_discover_default_service(emu, rclient):
    assert rclient.discover_service().rstrip("/").endswith("PkiConnectorFEService")


def test_error_codes_in_reference_order():
    assert [c.value for c in CARequestErrorCode] == [
        "0", "4000", "4001", "4002", "4003", "4004", "4005", "4006", "4007", "4100", "4101", "4102", "4103"]


def test_no_ownership_warning_from_the_wrapper(emu, rclient, capfd):
    """The downloaded list is freed by the facade; the wrapper prints nothing about it."""
    import gc

    _queue(emu, {"serialNumber": "05", "issuerName": "CN=A"})
    assert len(rclient.DownloadCARequests("tx", 5)) == 1
    gc.collect()
    captured = capfd.readouterr()
    assert "memory leak" not in captured.out + captured.err
