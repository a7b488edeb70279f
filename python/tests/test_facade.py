# SPDX-License-Identifier: Apache-2.0
"""The facade's conveniences: the log level followed per call, the encodings a CSR and a
certificate may come in, and ``from intune_scep import *`` exporting the API only."""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.hazmat.primitives import serialization

import intune_scep
from intune_scep import LOGGER_NAME, IntuneScepServiceClient
from intune_scep.emulator.device import TestCA


def _records(caplog):
    return [r for r in caplog.records if r.name == LOGGER_NAME]


def test_level_follows_the_logger_on_every_call(emu, config, csr, device, caplog):
    # The usual web-application order: the client first, logging configured afterwards.
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    with IntuneScepServiceClient(config) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
        assert not _records(caplog)
        caplog.set_level(logging.INFO, logger=LOGGER_NAME)  # no set_log_level() call
        second = device({"subject": "CN=alice,O=Contoso"})
        client.ValidateRequest(second["txid"], second["csr_b64"])
        info = [r for r in _records(caplog) if r.levelno == logging.INFO]
        assert any("validateRequest" in r.getMessage() and second["txid"] in r.getMessage() for r in info), info
        # and back up: nothing below WARNING is passed on any more
        caplog.clear()
        caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
        third = device({"subject": "CN=alice,O=Contoso"})
        client.ValidateRequest(third["txid"], third["csr_b64"])
        assert not _records(caplog)


def test_a_fixed_level_stays_until_released(emu, config, csr, device, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    with IntuneScepServiceClient(config) as client:
        client.set_log_level(logging.ERROR)
        caplog.clear()  # the creation's own lines
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
        assert not _records(caplog)
        client.set_log_level()  # follow the logger again
        again = device({"subject": "CN=alice,O=Contoso"})
        client.ValidateRequest(again["txid"], again["csr_b64"])
        assert [r for r in _records(caplog) if r.levelno == logging.INFO]


def test_csr_and_certificate_in_every_encoding(emu, config, device):
    ca = TestCA()
    forms = {
        "cryptography objects": lambda c: c,
        "PEM str": lambda c: c.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "PEM bytes": lambda c: c.public_bytes(serialization.Encoding.PEM),
        "DER bytes": lambda c: c.public_bytes(serialization.Encoding.DER),
        "wrapped base64": lambda c: "\n".join(base64.encodebytes(c.public_bytes(serialization.Encoding.DER))
                                              .decode("ascii").split("\n")),
    }
    with IntuneScepServiceClient(config) as client:
        for name, form in forms.items():
            d = device({"subject": "CN=alice,O=Contoso"})
            cert = ca.sign(d["csr"].public_bytes(serialization.Encoding.DER))
            client.ValidateRequest(d["txid"], form(d["csr"]))
            cert_form = form(cert) if name != "wrapped base64" else cert.public_bytes(serialization.Encoding.DER)
            client.notify_success_for_certificate(d["txid"], form(d["csr"]), cert_form)
            # Intune received the one-line base64 DER each time.
            [v] = [r for r in emu.requests("validateRequest") if r["json"]["request"]["transactionId"] == d["txid"]]
            assert v["json"]["request"]["certificateRequest"] == d["csr_b64"], name
    assert len(emu.notifications()["success"]) == len(forms)


def test_wrong_csr_and_certificate_arguments_are_named(emu, config, csr):
    ca = TestCA()
    with IntuneScepServiceClient(config) as client:
        with pytest.raises(TypeError, match="certificate_request.*CertificateSigningRequest"):
            client.ValidateRequest(csr["txid"], 12345)
        with pytest.raises(ValueError, match="certificate_request"):
            client.ValidateRequest(csr["txid"], "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
        with pytest.raises(ValueError, match="^csr"):  # a certificate is not a request
            client.notify_success_for_certificate(csr["txid"], ca.certificate, ca.certificate)
        with pytest.raises(TypeError, match="cert_pem_or_der"):
            client.notify_success_for_certificate(csr["txid"], csr["csr_b64"], 42)
    assert not emu.requests("validateRequest") and not emu.requests("successNotification")


def test_import_star_exports_the_api_only():
    ns: dict = {}
    exec("from intune_scep import *", ns)
    names = {n for n in ns if not n.startswith("__")}
    assert names == set(intune_scep.__all__)
    assert "IntuneScepServiceClient" in names and "importlib" not in names and "annotations" not in names


def test_a_client_is_refused_after_fork(emu, config, csr, device):
    import os

    with IntuneScepServiceClient(config) as client:
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
        fresh_csr = device({"subject": "CN=alice,O=Contoso"})
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status only
            code = 0
            try:
                client.ValidateRequest("tx-child-old", csr["csr_b64"])
                code |= 1
            except ValueError as e:
                code |= 0 if "fork()" in str(e) else 2
            except BaseException:
                code |= 4
            try:
                with IntuneScepServiceClient(config) as child_client:
                    child_client.ValidateRequest(fresh_csr["txid"], fresh_csr["csr_b64"])
            except BaseException:
                code |= 8
            client.close()  # does nothing to the parent's connection
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        before = emu.stats()["connections"]
        client.ValidateRequest(csr["txid"], csr["csr_b64"])  # still works, on its own connection
        assert emu.stats()["connections"] == before
    txids = [r["json"]["request"]["transactionId"] for r in emu.requests("validateRequest")]
    assert "tx-child-old" not in txids and fresh_csr["txid"] in txids


def test_messages_give_the_cause_first(emu, config, csr):
    from intune_scep import IntuneClientAuthException

    with IntuneScepServiceClient(dict(config, AAD_APP_KEY="not-the-secret")) as client:
        with pytest.raises(IntuneClientAuthException) as info:
            client.ValidateRequest("tx-order", csr["csr_b64"])
    e = info.value
    msg = str(e)
    assert msg.startswith("HTTP 401 invalid_client: AADSTS7000215: Invalid client secret"), msg
    assert msg.endswith("(validateRequest; activity id %s, transaction id tx-order)" % e.activity_id), msg
    assert "(token request for Microsoft Graph, request_id " in msg
    # The identity platform's trace and correlation ids stay in the description, out of the message.
    assert "Trace ID" not in msg and "Trace ID" in (e.description or "")
    assert "not-the-secret" not in msg
