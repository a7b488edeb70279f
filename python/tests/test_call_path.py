# SPDX-License-Identifier: Apache-2.0
"""The per-call path of the facade: error objects reused from call to call, and text
arguments checked by the extension (type, NUL, UTF-8) with the argument named, before
anything is sent."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Dict, List

import pytest

from intune_scep import (
    ErrorCode,
    IntuneClientHttpErrorException,
    IntuneClientProtocolException,
    IntuneScepServiceException,
)

SUCCESS_ARGS = {"transaction_id": "tx-1", "certificate_request": "MIIB", "cert_thumbprint": "AA",
                "cert_serial_number": "01", "cert_expiration_date": "2030-01-01T00:00:00.000Z",
                "cert_issuing_authority": "CN=CA"}


def test_a_reused_error_object_reports_only_its_own_call(emu, make_client, device):
    """One error object serves every call of a thread in turn: a failure after a failure and a
    success carries its own status, code, body and ids, nothing left from the one before."""
    client = make_client(MAX_RETRIES="0")
    first, second, third = (device({"subject": "CN=alice,O=Contoso"}) for _ in range(3))

    emu.fault(endpoint="validateRequest", status=200, content_type="application/json",
              body=json.dumps({"code": "ChallengeExpired", "errorDescription": "first"}))
    with pytest.raises(IntuneScepServiceException) as rejected:
        client.ValidateRequest(first["txid"], first["csr_b64"])
    emu.clear_faults()
    assert rejected.value.parsed_error_code is ErrorCode.ChallengeExpired
    assert rejected.value.transaction_id == first["txid"]

    client.ValidateRequest(second["txid"], second["csr_b64"])  # a success after the failure

    emu.fault(endpoint="validateRequest", status=500, body="oops", times=0)
    with pytest.raises(IntuneClientHttpErrorException) as http:
        client.ValidateRequest(third["txid"], third["csr_b64"])
    e = http.value
    assert e.status == "INTUNE_SCEP_E_HTTP" and e.status_code == 500 and e.response == "oops"
    assert e.error_code is None and e.error_description is None  # not the first call's code
    assert e.transaction_id == third["txid"]
    assert e.activity_id is not None and e.activity_id != rejected.value.activity_id
    assert "ChallengeExpired" not in str(e) and "first" not in str(e)

    emu.clear_faults()
    emu.fault(endpoint="validateRequest", status=200, body="<html>hello</html>", content_type="text/html")
    with pytest.raises(IntuneClientProtocolException) as protocol:
        client.ValidateRequest(third["txid"], third["csr_b64"])
    assert protocol.value.status_code == 200 and protocol.value.response == "<html>hello</html>"
    assert protocol.value.activity_id not in (None, e.activity_id)

    # one thread, one error object, used over and over; close() frees it
    assert client._spare_errors == 1
    client.close()
    assert client._spare_errors == 0


def test_threads_get_their_own_outcome(emu, client, device):
    """Threads calling at once, successes and rejections interleaved: every call ends as its
    own request says, and a rejection carries its own transaction id."""
    threads, per_thread = 6, 4
    work: List[List[Dict[str, Any]]] = []
    for i in range(threads):
        mine = []
        for j in range(per_thread):
            if (i + j) % 2:
                mine.append(dict(device({"subject": "CN=alice"}, subject="CN=mallory"), bad=True))
            else:
                mine.append(dict(device({"subject": "CN=alice"}), bad=False))
        work.append(mine)
    failures: List[str] = []

    def run(mine: List[Dict[str, Any]]) -> None:
        for d in mine:
            try:
                client.ValidateRequest(d["txid"], d["csr_b64"])
            except IntuneScepServiceException as e:
                if not d["bad"]:
                    failures.append(f"{d['txid']}: rejected: {e}")
                elif e.transaction_id != d["txid"] or e.parsed_error_code is not ErrorCode.SubjectNameMismatch:
                    failures.append(f"{d['txid']}: got the outcome of another call: {e.transaction_id} {e}")
            except Exception as e:  # noqa: BLE001
                failures.append(f"{d['txid']}: {type(e).__name__}: {e}")
            else:
                if d["bad"]:
                    failures.append(f"{d['txid']}: a mismatching request passed")

    pool = [threading.Thread(target=run, args=(mine,)) for mine in work]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert not failures, failures
    assert 1 <= client._spare_errors <= threads  # reused, never more than the calls at once


@pytest.mark.parametrize("name", list(SUCCESS_ARGS))
def test_text_arguments_are_checked_and_named_before_anything_is_sent(emu, client, name):
    bad_values = [(1234, TypeError, "got int"),
                  (None, TypeError, "got NoneType"),
                  (b"MIIB" if name == "certificate_request" else b"bytes", Exception, ""),
                  ("a\x00b", ValueError, "NUL character"),
                  ("a\ud800b", ValueError, "UTF-8")]
    for value, cls, text in bad_values:
        with pytest.raises(cls, match=name) as info:
            client.SendSuccessNotification(**dict(SUCCESS_ARGS, **{name: value}))
        assert text in str(info.value)
        assert isinstance(info.value, (TypeError, ValueError))
    assert not emu.requests()


@pytest.mark.parametrize("name", ["ca_configuration", "certificate_authority"])
def test_optional_text_arguments(emu, client, csr, name):
    for value, cls, text in [(12, TypeError, "expected str, got int"), ("x\x00", ValueError, "NUL character"),
                             ("\udfff", ValueError, "UTF-8")]:
        with pytest.raises(cls, match=name) as info:
            client.SendSuccessNotification(csr["txid"], csr["csr_b64"], "AA" * 20, "01", "2030-01-01T00:00:00.000Z",
                                           "CN=CA", **{name: value})
        assert text in str(info.value)
    assert not emu.requests()
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    client.SendSuccessNotification(csr["txid"], csr["csr_b64"], "AA" * 20, "01", "2030-01-01T00:00:00.000Z",
                                   "CN=CA", **{name: None})  # None: sent as JSON null


def test_failure_notification_arguments(emu, client):
    for kwargs, cls, name in [({"transaction_id": 5}, TypeError, "transaction_id"),
                              ({"error_description": None}, TypeError, "error_description"),
                              ({"error_description": "x\x00y"}, ValueError, "error_description"),
                              ({"certificate_request": "MI\x00IB"}, ValueError, "certificate_request"),
                              ({"transaction_id": ""}, ValueError, "transaction_id"),
                              ({"transaction_id": "two\nlines"}, ValueError, "transaction_id")]:
        args = dict({"transaction_id": "tx-1", "certificate_request": "MIIB", "hresult": 1,
                     "error_description": "x"}, **kwargs)
        with pytest.raises(cls, match=name):
            client.SendFailureNotification(**args)
    assert not emu.requests()


def test_close_waits_for_a_running_notification(emu, client, csr):
    """The shared path of the other calls (ValidateRequest has its own copy, test_threads.py):
    close() from another thread waits for the call in flight, and later calls raise."""
    client.ValidateRequest(csr["txid"], csr["csr_b64"])
    emu.fault(endpoint="failureNotification", status=200, content_type="application/json",
              body=json.dumps({"code": "Success", "errorDescription": ""}), delay_ms=300, times=1)
    outcome: List[Any] = []

    def caller() -> None:
        try:
            client.SendFailureNotification(csr["txid"], csr["csr_b64"], 0x80004005, "failed")
            outcome.append("ok")
        except BaseException as e:  # noqa: BLE001
            outcome.append(e)

    t = threading.Thread(target=caller)
    t.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    client.close()
    waited = time.monotonic() - t0
    t.join(10)
    assert outcome == ["ok"]
    assert waited > 0.1
    with pytest.raises(ValueError, match="closed"):
        client.SendFailureNotification(csr["txid"], csr["csr_b64"], 1, "failed")
    with pytest.raises(ValueError, match="closed"):
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
