# SPDX-License-Identifier: Apache-2.0
"""The extension's call gate (swig/python_gate.i): a SCEP call is one crossing into C, which counts
the call in and out, follows the log level, reuses error objects and raises what the facade
makes of a failure. These tests attack what could make it answer yes when it should say no:
a broken exception factory, a converter that returns something else, another object in the
gate's place, unbalanced counting, more calls at once than spare error objects."""

from __future__ import annotations

import datetime
import json
import logging
import sys
import threading
from typing import Any, Dict, List

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import intune_scep
from intune_scep import IntuneScepServiceException, _client

_native = _client._native

REJECTED = {"code": "ChallengeExpired", "errorDescription": "expired"}


def _reject_next(emu: Any, times: int = 1) -> None:
    emu.fault(endpoint="validateRequest", status=200, content_type="application/json",
              body=json.dumps(REJECTED), times=times)


@pytest.mark.parametrize("made", [None, "Success", 0, IntuneScepServiceException, True],
                         ids=["None", "the-str-Success", "zero", "a-class-not-an-instance", "True"])
def test_a_factory_that_makes_no_exception_still_raises(emu, config, device, monkeypatch, made):
    """Whatever the facade's exception factory returns instead of an exception, a call Intune did
    not answer Success raises (RuntimeError naming the transaction and the status)."""
    monkeypatch.setattr(_client, "_exception_of", lambda *fields: made)
    with intune_scep.IntuneScepServiceClient(config) as client:
        ok, bad = device({"subject": "CN=alice"}), device({"subject": "CN=alice"})
        assert client.ValidateRequest(ok["txid"], ok["csr_b64"]) is None  # the factory is not asked
        _reject_next(emu)
        with pytest.raises(RuntimeError) as info:
            client.ValidateRequest(bad["txid"], bad["csr_b64"])
        assert bad["txid"] in str(info.value) and "INTUNE_SCEP_E_REJECTED" in str(info.value)
        emu.fault(endpoint="failureNotification", status=503, times=0)
        with pytest.raises(RuntimeError, match="INTUNE_SCEP_E_HTTP"):
            client.SendFailureNotification(bad["txid"], bad["csr_b64"], 1, "failed")


def test_a_factory_that_raises_passes_its_own_exception_on(emu, config, device, monkeypatch):
    def factory(*fields: Any) -> BaseException:
        raise KeyError("factory broke")

    monkeypatch.setattr(_client, "_exception_of", factory)
    with intune_scep.IntuneScepServiceClient(config) as client:
        d = device({"subject": "CN=alice"})
        _reject_next(emu)
        with pytest.raises(KeyError, match="factory broke"):
            client.ValidateRequest(d["txid"], d["csr_b64"])


def test_the_factory_gets_the_failed_calls_fields(emu, config, device, monkeypatch):
    seen: List[Any] = []
    real = _client._exception_of

    def factory(*fields: Any) -> BaseException:
        seen.append(fields)
        return real(*fields)

    monkeypatch.setattr(_client, "_exception_of", factory)
    with intune_scep.IntuneScepServiceClient(config) as client:
        d = device({"subject": "CN=alice"})
        _reject_next(emu)
        with pytest.raises(IntuneScepServiceException) as info:
            client.ValidateRequest(d["txid"], d["csr_b64"])
        emu.fault(endpoint="validateRequest", status=500, body="oops", times=0)
        with pytest.raises(intune_scep.IntuneClientHttpErrorException):
            client.ValidateRequest(d["txid"], d["csr_b64"])
    (status, message, activity_id, txid, code, description, http_status, body, aadsts), http = seen
    assert status == _native.INTUNE_SCEP_E_REJECTED
    assert txid == d["txid"] and code == "ChallengeExpired" and description == "expired"
    assert activity_id == str(info.value.activity_id) and len(activity_id) == 36
    assert http_status == 200 and aadsts == 0 and "ChallengeExpired" in message and body is None
    status, message, activity_id2, txid, code, description, http_status, body, aadsts = http
    assert status == _native.INTUNE_SCEP_E_HTTP and http_status == 500 and body == "oops"
    assert txid == d["txid"] and code is None and description is None and activity_id2 != activity_id


@pytest.mark.parametrize("made", [None, 42, b"MIIB"], ids=["None", "int", "bytes"])
def test_a_converter_that_returns_no_str_is_refused_before_anything_is_sent(emu, config, csr, monkeypatch, made):
    """The gate checks what the facade's converter gives back like any text argument."""
    asked: List[str] = []

    def converter(name: str, value: Any) -> Any:
        asked.append(name)
        return made

    monkeypatch.setattr(_client, "_csr_arg", converter)
    with intune_scep.IntuneScepServiceClient(config) as client:
        pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + csr["csr_b64"] + "\n-----END CERTIFICATE REQUEST-----\n"
        with pytest.raises(TypeError, match="certificate_request: expected str"):
            client.ValidateRequest(csr["txid"], pem)
        assert not emu.requests("validateRequest")
        client.ValidateRequest(csr["txid"], csr["csr_b64"])  # one line of base64: the converter is not asked
    assert asked == ["certificate_request"]
    [req] = emu.requests("validateRequest")
    assert req["json"]["request"]["certificateRequest"] == csr["csr_b64"]


def test_what_the_converter_raises_reaches_the_caller(emu, client, csr):
    for value, cls in [(12345, TypeError), (b"\x30\x03not der", ValueError), ("-----BEGIN garbage", ValueError)]:
        with pytest.raises(cls, match="certificate_request"):
            client.ValidateRequest(csr["txid"], value)
    assert not emu.requests()


def test_every_form_of_the_request_is_sent_as_one_line_of_base64(emu, client, csr):
    der = csr["csr"].public_bytes(Encoding.DER)
    body = csr["csr_b64"]
    pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) + \
        "\n-----END CERTIFICATE REQUEST-----\n"
    for form in (body, pem, pem.encode(), der, bytearray(der), memoryview(der), csr["csr"], body[:64] + "\n" + body[64:]):
        client.ValidateRequest(csr["txid"], form)
    sent = [r["json"]["request"]["certificateRequest"] for r in emu.requests("validateRequest")]
    assert sent == [body] * 8


def test_another_object_in_the_gates_place_is_refused(emu, csr):
    capsule = datetime.datetime_CAPI  # a capsule of another name
    for gate in (None, 1, "gate", capsule):
        with pytest.raises(TypeError, match="client gate"):
            _native.intune_scep_validate_request_py(gate, csr["txid"], csr["csr_b64"])
        with pytest.raises(TypeError, match="client gate"):
            _native.intune_scep_py_gate_enter(gate)
    assert not emu.requests()


def test_the_gate_is_made_only_from_what_it_needs(config):
    cfg = _client._new_config(config)
    try:
        native = _client._call(_native.intune_scep_client_new_ret, cfg)
    finally:
        _native.intune_scep_config_free(cfg)
    ok: List[Any] = [None, object(), lambda: 20, _client._exception_of, _client._csr_arg, "closed"]
    try:
        with pytest.raises(ValueError, match="client"):
            _native.intune_scep_py_gate_new(None, None, 20, *ok)
        for i, bad in [(0, []), (2, None), (3, "not callable"), (4, 5), (5, b"closed")]:
            args = list(ok)
            args[i] = bad
            with pytest.raises(TypeError):
                _native.intune_scep_py_gate_new(native, None, 20, *args)
        gate = _native.intune_scep_py_gate_new(native, None, 20, *ok)
        native = None  # the gate owns it now
        assert _native.intune_scep_py_gate_closed(gate) is False
        assert _native.intune_scep_py_gate_close(gate) is True
        assert _native.intune_scep_py_gate_close(gate) is False
        with pytest.raises(ValueError, match="^closed$"):
            _native.intune_scep_py_gate_enter(gate)
    finally:
        if native is not None:
            _native.intune_scep_client_free(native)


def test_a_gate_collected_unclosed_is_disposed_of(config):
    """The capsule's destructor disposes of a gate nobody closed, client included (the same
    function frees the client and drops the gate's references: the references are what a test
    can see); a facade dropped without close() takes that path too."""
    cfg = _client._new_config(config)
    try:
        native = _client._call(_native.intune_scep_client_new_ret, cfg)
    finally:
        _native.intune_scep_config_free(cfg)
    note, reader = object(), (lambda: 20)
    held = sys.getrefcount(note), sys.getrefcount(reader)
    gate = _native.intune_scep_py_gate_new(native, None, 20, None, note, reader,
                                           _client._exception_of, _client._csr_arg, "closed")
    assert (sys.getrefcount(note), sys.getrefcount(reader)) == (held[0] + 1, held[1] + 1)
    client_ptr = _native.intune_scep_py_gate_enter(gate)
    assert int(client_ptr) == int(native)
    _native.intune_scep_py_gate_leave(gate)
    del gate, client_ptr  # no close(): the destructor frees the client and lets go
    assert (sys.getrefcount(note), sys.getrefcount(reader)) == held


def test_counting_out_a_call_never_counted_in_is_refused(client, csr):
    gate = client._gate
    with pytest.raises(RuntimeError, match="no call to count out"):
        _native.intune_scep_py_gate_leave(gate)
    client.ValidateRequest(csr["txid"], csr["csr_b64"])  # the count is still right: close() does not hang
    client.close()
    assert client.closed and client._spare_errors == 0


def test_more_calls_at_once_than_spare_error_objects(emu, client, device):
    """20 calls in flight at once on one client (the emulator holds each answer 400 ms): each
    gets an error object of its own, each ends as its request says, and afterwards the gate
    keeps 16 spares and frees the rest."""
    n = 20
    work = [device({"subject": "CN=alice"}) for _ in range(n)]
    emu.fault(endpoint="validateRequest", status=200, content_type="application/json",
              body=json.dumps(REJECTED), delay_ms=400, times=n // 2)
    outcome: Dict[str, Any] = {}
    start = threading.Barrier(n)

    def run(d: Dict[str, Any]) -> None:
        start.wait()
        try:
            client.ValidateRequest(d["txid"], d["csr_b64"])
            outcome[d["txid"]] = "ok"
        except IntuneScepServiceException as e:
            outcome[d["txid"]] = e.transaction_id
        except BaseException as e:  # noqa: BLE001
            outcome[d["txid"]] = repr(e)

    pool = [threading.Thread(target=run, args=(d,)) for d in work]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    rejected = [tx for tx, o in outcome.items() if o != "ok"]
    assert len(outcome) == n and len(rejected) == n // 2
    assert all(outcome[tx] == tx for tx in rejected), outcome  # each refusal names its own call
    assert client._spare_errors == 16


def test_the_level_followed_is_read_again_only_when_logging_changed(emu, config, csr, monkeypatch):
    """The gate reads the logger's level through the facade's reader only after logging emptied
    the logger's cache (a level changed somewhere), not on every call."""
    reads: List[int] = []
    real = _client._min_level

    def counting(logger: Any) -> int:
        reads.append(1)
        return real(logger)

    monkeypatch.setattr(_client, "_min_level", counting)
    logger = logging.getLogger("intune_scep")
    with intune_scep.IntuneScepServiceClient(config) as client:
        logger.setLevel(logging.NOTSET)  # empties every logger's cache, a note another client left too
        base = len(reads)
        for _ in range(5):
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
        assert len(reads) - base == 1  # the first call notes the level; the next four find the note
        logger.setLevel(logging.DEBUG)
        try:
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
            assert len(reads) - base == 2
        finally:
            logger.setLevel(logging.NOTSET)



def test_close_in_the_middle_of_a_stream_of_calls(emu, client, device):
    """8 threads call without pause while another closes the client: every call either ends
    as Intune answered or raises ValueError 'closed' (never a NULL client's INVALID_ARGUMENT,
    never a crash)."""
    d = device({"subject": "CN=alice"})
    outcomes: List[str] = []
    running = threading.Event()
    lock = threading.Lock()

    def run() -> None:
        for _ in range(400):  # bounded: the client is closed long before
            try:
                client.ValidateRequest(d["txid"], d["csr_b64"])
                result = "ok"
            except ValueError as e:
                result = "closed" if str(e) == "IntuneScepServiceClient is closed" else f"ValueError: {e}"
            except BaseException as e:  # noqa: BLE001
                result = f"{type(e).__name__}: {e}"
            running.set()
            with lock:
                outcomes.append(result)
            if result != "ok":
                return

    pool = [threading.Thread(target=run) for _ in range(8)]
    for t in pool:
        t.start()
    assert running.wait(30)
    client.close()
    for t in pool:
        t.join(60)
    assert set(outcomes) <= {"ok", "closed"}, sorted(set(outcomes))
    assert outcomes.count("closed") == 8  # each thread ends on the refusal


def test_a_level_beyond_a_c_int(emu, config, csr, caplog):
    """logging takes any int as a level; the library a C int. A level past it passes nothing on:
    not an OverflowError, and not a level cut to its low 32 bits (2**32 + 10 would be DEBUG)."""
    huge = 2**32 + 10
    lines: List[Any] = []
    sink = _native.intune_scep_py_log_sink_new(lambda level, message: lines.append((level, message)))
    cfg = _client._new_config(config)
    try:
        _native.intune_scep_config_set_log_callback_py(cfg, sink, 10)
        native = _client._call(_native.intune_scep_client_new_ret, cfg)
    finally:
        _native.intune_scep_config_free(cfg)
    reader_says = [huge]
    gate = _native.intune_scep_py_gate_new(native, sink, 10, None, object(), lambda: reader_says[0],
                                           _client._exception_of, _client._csr_arg, "closed")
    lines.clear()  # the client's creation line, at the configuration's level
    try:
        _native.intune_scep_validate_request_py(gate, csr["txid"], csr["csr_b64"])  # the level read: huge
        assert lines == []
        reader_says[0] = 10
        _native.intune_scep_validate_request_py(gate, csr["txid"], csr["csr_b64"])
        assert lines  # the same call at DEBUG passes lines on
        _native.intune_scep_py_gate_set_log_level(gate, huge, 0)  # fixed past the range: nothing
        before = len(lines)
        _native.intune_scep_validate_request_py(gate, csr["txid"], csr["csr_b64"])
        assert len(lines) == before
    finally:
        _native.intune_scep_py_gate_close(gate)
        _native.intune_scep_py_log_sink_free(sink)

    # The facade: set_log_level and a logger's level past the range pass nothing on.
    logger = logging.getLogger("intune_scep.test.huge")
    with intune_scep.IntuneScepServiceClient(config, logger=logger) as client:
        with caplog.at_level(logging.DEBUG, logger="intune_scep.test.huge"):
            client.set_log_level(huge)
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
            assert not [r for r in caplog.records if r.name == "intune_scep.test.huge"]
            client.set_log_level(logging.DEBUG)
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
            assert [r for r in caplog.records if r.name == "intune_scep.test.huge"]
