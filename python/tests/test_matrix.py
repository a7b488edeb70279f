# SPDX-License-Identifier: Apache-2.0
"""Microsoft's SCEP vendor test matrix through this package: the runner of
tests/scenarios/vendor.json (the C and Java runners are tests/test_matrix.c and
VendorMatrixTest.java; the fields are described in tests/scenarios/README.md).

The emulator plays Intune, the device (it builds the CSR a device builds for the
profile) and the CA; the test plays the SCEP server: it validates through the
library, has a certificate issued only when validation passed, and notifies;
the certificate is handed to the device only when Intune took the notification.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from intune_scep import (
    IntuneClientAuthException,
    IntuneClientException,
    IntuneClientHttpErrorException,
    IntuneScepServiceException,
)
from scep_helpers import EmulatorCA, expected_details, not_after, not_before

SCENARIO_FILE = Path(__file__).resolve().parents[2] / "tests" / "scenarios" / "vendor.json"
# The number of scenarios when the table was written: a table that shrinks fails.
SCENARIO_FLOOR = 50


def _scenarios() -> List[Dict[str, Any]]:
    with open(SCENARIO_FILE, encoding="utf-8") as f:
        return json.load(f)["scenarios"]


SCENARIOS = _scenarios()


def test_scenario_count() -> None:
    names = [s["name"] for s in SCENARIOS]
    print(f"vendor matrix: {len(SCENARIOS)} scenarios from {SCENARIO_FILE}")
    assert len(set(names)) == len(names), "scenario names must be unique"
    assert len(SCENARIOS) >= SCENARIO_FLOOR, f"{len(SCENARIOS)} scenarios, fewer than {SCENARIO_FLOOR}"


class ScepServer:
    """What a SCEP server does with the library: validate, issue or refuse, notify."""

    def __init__(self, client: Any, ca: EmulatorCA) -> None:
        self.client = client
        self.ca = ca
        self.issued: Dict[str, x509.Certificate] = {}
        self.delivered: Dict[str, x509.Certificate] = {}

    def enroll(self, txid: str, csr_b64: str, validity_days: int) -> x509.Certificate:
        self.client.ValidateRequest(txid, csr_b64)  # raises: nothing is issued
        cert = self.ca.issue(csr_b64, validity_days)
        self.issued[txid] = cert
        self.client.notify_success_for_certificate(  # raises: the device does not get it
            txid, csr_b64, cert.public_bytes(serialization.Encoding.DER), ca_configuration="ca01\\Test CA")
        self.delivered[txid] = cert
        return cert


def _device_request(emu: Any, s: Dict[str, Any], profile: Optional[Dict[str, Any]] = None,
                    **more: Any) -> Dict[str, Any]:
    """The device's CSR for the scenario (the emulator builds it), checked to hold what was asked."""
    fields = dict(s.get("device", {}))
    fields.update(more)
    d = emu.device_csr(profile if profile is not None else s["profile"], **fields)
    p = profile or s["profile"]
    want_hash = fields.get("hash") or (p.get("hash_algorithms") or ["sha256"])[0]
    if not fields.get("corrupt_signature"):
        assert d["x509"].signature_hash_algorithm.name == want_hash
    assert d["x509"].public_key().key_size == (fields.get("key_size") or p.get("key_size") or 2048)
    return d


def _enroll_ok(emu: Any, server: ScepServer, csr_b64: str, profile_id: str, days: int) -> x509.Certificate:
    txid = "tx-" + uuid.uuid4().hex[:12]
    cert = server.enroll(txid, csr_b64, days)
    [validation] = [v for v in emu.validations() if v["transaction_id"] == txid]
    assert validation["code"] == "Success" and validation["profile_id"] == profile_id
    [note] = [n for n in emu.notifications()["success"] if n["transactionId"] == txid]
    for k, v in expected_details(cert).items():
        assert note[k] == v, k
    assert note["certificateRequest"] == csr_b64
    assert cert.subject == x509.load_der_x509_csr(base64.b64decode(csr_b64)).subject
    lifetime = not_after(cert) - not_before(cert)
    assert lifetime.days == days, lifetime
    return cert


def _nothing_issued(emu: Any, server: ScepServer, txid: str) -> None:
    assert txid not in server.issued and txid not in server.delivered
    assert not [n for n in emu.notifications()["success"] if n["transactionId"] == txid]


@pytest.mark.parametrize("s", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_vendor_scenario(emu, make_client, ca, caplog, s):
    caplog.set_level(logging.INFO, logger="intune_scep")
    expect = s["expect"]
    client = make_client(**s.get("client", {}))
    server = ScepServer(client, ca)
    days = s.get("profile", {}).get("validity_days") or 365
    if "csr_b64" in s:
        d: Dict[str, Any] = {"csr": s["csr_b64"], "profile_id": None}
    else:
        d = _device_request(emu, s)
    if s.get("untarget"):
        emu.untarget(d["profile_id"])
    if "fault" in s:
        emu.fault(**s["fault"])
    txid = "tx-" + uuid.uuid4().hex[:12]

    if expect["validate"] == "ok" and expect.get("notify", "ok") == "ok":
        first = _enroll_ok(emu, server, d["csr"], d["profile_id"], days)
        if s.get("renewal"):
            # before the first certificate expires, the device renews: same profile, new challenge, new key
            again = _device_request(emu, s, dict(s["profile"], profile_id=d["profile_id"]), fresh_key=True)
            assert again["challenge"] != d["challenge"] and again["key_pem"] != d["key_pem"]
            second = _enroll_ok(emu, server, again["csr"], d["profile_id"], days)
            assert first.serial_number != second.serial_number
            assert len(emu.notifications()["success"]) == 2
        return

    if expect["validate"] == "ok":  # the notification fails: issued, but not handed over
        with pytest.raises(IntuneClientHttpErrorException) as info:
            server.enroll(txid, d["csr"], days)
        assert info.value.status_code == expect["http_status"]
        assert txid in server.issued and txid not in server.delivered
        assert emu.requests("successNotification") and not emu.notifications()["success"]
        return

    kind = {"rejected": IntuneScepServiceException, "http": IntuneClientHttpErrorException,
            "auth": IntuneClientAuthException}[expect["validate"]]
    with pytest.raises(kind) as info:
        server.enroll(txid, d["csr"], days)
    e: IntuneClientException = info.value
    _nothing_issued(emu, server, txid)
    if expect["validate"] == "rejected":
        assert e.error_code == expect["code"] and e.parsed_error_code.name == expect["code"]
        assert e.transaction_id == txid and e.error_description
        [validation] = [v for v in emu.validations() if v["transaction_id"] == txid]
        assert validation["code"] == expect["code"]
    if expect["validate"] == "http":
        assert e.status_code == expect["http_status"]
    if expect["validate"] == "auth":
        assert e.error_code == expect["code"] and e.aadsts_code == expect["aadsts"]
        assert f"AADSTS{expect['aadsts']}" in e.description
        secret = s["client"]["AAD_APP_KEY"]
        assert secret not in str(e)
        lines = [r.getMessage() for r in caplog.records if r.name == "intune_scep" and r.levelno >= logging.WARNING]
        assert any(expect["log_warning"] in m for m in lines), lines
        assert not any(secret in r.getMessage() for r in caplog.records)
    for endpoint in expect.get("not_sent", []):
        assert not emu.requests(endpoint), endpoint
    if expect.get("failure_notification"):
        client.SendFailureNotification(txid, d["csr"], 0x80004005, e.error_code)
        [note] = emu.notifications()["failure"]
        assert note["transactionId"] == txid and note["hResult"] == 0x80004005
        assert note["errorDescription"] == expect["code"]
