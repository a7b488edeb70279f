# SPDX-License-Identifier: Apache-2.0
"""A newcomer's first tests of a SCEP handler, against the Intune emulator (no Intune tenant)."""

import logging

import pytest
from cryptography.hazmat.primitives import serialization

from intune_scep import IntuneScepServiceClient
from intune_scep.emulator.device import TestCA, make_csr
from my_ca import ScepHandler

PROFILE = {"subject": "CN=alice,O=Contoso", "san_upns": ["alice@contoso.com"]}


@pytest.fixture
def handler(intune_emulator):
    ca = TestCA()
    with IntuneScepServiceClient(intune_emulator.config) as client:
        yield ScepHandler(client, lambda csr: ca.sign(csr))  # a cryptography Certificate


def device_csr_pem(emulator, **override):
    challenge = emulator.issue_challenge(PROFILE)["challenge"]
    _, der = make_csr(PROFILE, challenge, **override)
    return der_to_pem(der)


def der_to_pem(der):
    from cryptography import x509
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM).decode("ascii")


def test_issues_and_notifies(handler, intune_emulator):
    cert = handler.enroll("tx-1", device_csr_pem(intune_emulator))
    assert cert is not None
    [note] = intune_emulator.notifications()["success"]
    assert note["transactionId"] == "tx-1"


def test_refuses_a_wrong_subject(handler, intune_emulator, caplog):
    caplog.set_level(logging.INFO, logger="intune_scep")
    assert handler.enroll("tx-2", device_csr_pem(intune_emulator, subject="CN=mallory,O=Contoso")) is None
    assert intune_emulator.validations()[-1]["code"] == "SubjectNameMismatch"
    assert intune_emulator.notifications()["success"] == []
    # one log line about the rejection, from the library
    assert len([r for r in caplog.records if "SubjectNameMismatch" in r.getMessage()]) == 1


def test_refuses_when_intune_is_down(handler, intune_emulator):
    intune_emulator.add_fault("validateRequest", status=503, times=10)
    assert handler.enroll("tx-3", device_csr_pem(intune_emulator)) is None
    assert intune_emulator.notifications()["success"] == []
