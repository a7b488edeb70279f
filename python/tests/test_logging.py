# SPDX-License-Identifier: Apache-2.0
"""The library's log lines in the standard logging module (logger "intune_scep")."""

from __future__ import annotations

import gc
import json
import logging
import threading
import weakref

import pytest

from intune_scep import IntuneScepServiceClient, IntuneScepServiceException, LOGGER_NAME

LEVELS = {logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR}


def _records(caplog):
    return [r for r in caplog.records if r.name == LOGGER_NAME]


def _secrets(config):
    return [config["AAD_APP_KEY"]]


def test_logger_name():
    assert LOGGER_NAME == "intune_scep"


def test_call_logged_with_activity_id_never_the_key(emu, config, csr, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    with IntuneScepServiceClient(config) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    activity = emu.requests("validateRequest")[0]["headers"]["client-request-id"]
    recs = _records(caplog)
    assert recs, "no log record from the library"
    assert all(r.levelno in LEVELS for r in recs)
    assert any(activity in r.getMessage() for r in recs), [r.getMessage() for r in recs]
    for r in recs:
        for secret in _secrets(config):
            assert secret not in r.getMessage()
    # nor the bearer tokens the emulator issued
    tokens = {r["headers"]["authorization"].split(" ", 1)[1] for r in emu.requests() if "authorization" in r["headers"]}
    assert tokens
    for r in recs:
        for tok in tokens:
            assert tok not in r.getMessage()


def test_rejection_logged_with_its_activity_id(emu, config, csr, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    emu.fault(endpoint="validateRequest", status=200,
              body=json.dumps({"code": "ChallengeExpired", "errorDescription": "too late"}))
    with IntuneScepServiceClient(config) as client:
        with pytest.raises(IntuneScepServiceException) as info:
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
    activity = str(info.value.activity_id)
    lines = [r for r in _records(caplog) if activity in r.getMessage()]
    assert lines
    assert any(r.levelno >= logging.WARNING for r in lines), [(r.levelname, r.getMessage()) for r in lines]


def test_wrong_key_logged_with_aadsts_never_the_key(emu, config, csr, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    bad = "definitely-wrong-key-123"
    with IntuneScepServiceClient(dict(config, AAD_APP_KEY=bad)) as client:
        with pytest.raises(Exception):
            client.ValidateRequest(csr["txid"], csr["csr_b64"])
    recs = _records(caplog)
    assert any("AADSTS7000215" in r.getMessage() and r.levelno >= logging.WARNING for r in recs)
    for r in recs:
        assert bad not in r.getMessage() and config["AAD_APP_KEY"] not in r.getMessage()


def test_creation_warnings_are_captured(config, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    with IntuneScepServiceClient(dict(config, SOME_UNKNOWN_KEY="x")):
        pass
    assert any("SOME_UNKNOWN_KEY" in r.getMessage() and r.levelno == logging.WARNING for r in _records(caplog))


def test_min_level_from_the_logger_at_creation(emu, config, csr, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    with IntuneScepServiceClient(config) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert not [r for r in _records(caplog) if r.levelno < logging.WARNING]


def test_set_log_level_on_a_live_client(emu, config, csr, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    with IntuneScepServiceClient(config) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
        assert not _records(caplog)
        caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
        client.set_log_level()
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert [r for r in _records(caplog) if r.levelno < logging.WARNING]


def test_custom_logger(emu, config, csr, caplog):
    log = logging.getLogger("my_ca.intune")
    caplog.set_level(logging.DEBUG, logger="my_ca.intune")
    with IntuneScepServiceClient(config, logger=log) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    assert [r for r in caplog.records if r.name == "my_ca.intune"]


def test_logging_from_many_threads(emu, config, csr, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    with IntuneScepServiceClient(config) as client:
        errors = []

        def work() -> None:
            try:
                for _ in range(20):
                    client.ValidateRequest(csr["txid"], csr["csr_b64"])
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert not errors
    ids = {r["headers"]["client-request-id"] for r in emu.requests("validateRequest")}
    logged = " ".join(r.getMessage() for r in _records(caplog))
    assert all(i in logged for i in ids)


def test_unclosed_client_is_collected(config):
    """The log sink holds no reference to the client: dropping it frees everything."""
    client = IntuneScepServiceClient(config)
    ref = weakref.ref(client)
    del client
    gc.collect()
    assert ref() is None


def test_log_callable_released_after_close(config):
    """The sink's reference to the logging callable is dropped when the client closes."""
    import sys

    log = logging.getLogger("refcount.check")
    before = sys.getrefcount(log)
    clients = [IntuneScepServiceClient(config, logger=log) for _ in range(5)]
    assert sys.getrefcount(log) > before
    for c in clients:
        c.close()
    del clients, c
    gc.collect()
    assert sys.getrefcount(log) == before
