# SPDX-License-Identifier: Apache-2.0
"""Fixtures: one emulator for the session, reset before every test, and clients on it."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

import intune_scep
from scep_helpers import Control, EmulatorCA

SOURCE_TREE = Path(__file__).resolve().parents[1]


def pytest_report_header(config: Any) -> List[str]:
    lines = [f"intune_scep imported from {Path(intune_scep.__file__).parent}"]
    vendor = SOURCE_TREE.parent / "tests" / "scenarios" / "vendor.json"
    if vendor.exists():  # the scenario count of test_matrix.py's table
        with open(vendor, encoding="utf-8") as f:
            lines.append(f"vendor matrix: {len(json.load(f)['scenarios'])} scenarios ({vendor})")
    return lines


@pytest.fixture(scope="session", autouse=True)
def _installed_package() -> None:
    """With INTUNE_SCEP_TEST_INSTALLED=1 the tests must run the installed package."""
    if os.environ.get("INTUNE_SCEP_TEST_INSTALLED") == "1":
        here = Path(intune_scep.__file__).resolve().parent
        assert SOURCE_TREE not in here.parents, f"testing the source tree ({here}), not the installed package"


@pytest.fixture(scope="session")
def _emulator() -> Iterator[Any]:
    from intune_scep.emulator import Emulator

    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_emulator: Any) -> Iterator[Control]:
    """The emulator's control API, reset before the test."""
    control = Control(_emulator)
    control.reset()
    yield control
    control.clear_faults()


@pytest.fixture
def config(emu: Control) -> Dict[str, str]:
    """A client configuration for the emulator (a fresh copy per test)."""
    return dict(emu.config)


@pytest.fixture
def make_client(config: Dict[str, str]) -> Iterator[Callable[..., Any]]:
    """Create clients (closed after the test); keyword arguments override config keys."""
    made: List[Any] = []

    def make(**overrides: Any) -> Any:
        cfg = dict(config)
        cfg.update(overrides)
        client = intune_scep.IntuneScepServiceClient(cfg)
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    return make_client()


@pytest.fixture(scope="session")
def ca(_emulator: Any) -> EmulatorCA:
    """The SCEP server's CA: the emulator's test CA (POST device/certificate)."""
    return EmulatorCA(Control(_emulator))


@pytest.fixture
def device(emu: Control) -> Callable[..., Dict[str, Any]]:
    """A challenge for a profile and the device's CSR for it, made by the emulator (POST device/csr).

    Returns a dict: profile_id, challenge, csr (x509 object), csr_b64, txid.
    Keyword arguments change what the device asks for (device/csr fields: subject,
    san_emails, san_upns, san_dns, key_usage, ekus, key_size, hash, challenge...).
    """

    def make(profile: Dict[str, Any], **request: Any) -> Dict[str, Any]:
        d = emu.device_csr(profile, **request)
        return {"profile_id": d["profile_id"], "challenge": d["challenge"], "csr": d["x509"],
                "csr_b64": d["csr"], "txid": "tx-" + uuid.uuid4().hex[:12]}

    return make


@pytest.fixture
def csr(device: Callable[..., Dict[str, Any]]) -> Dict[str, Any]:
    """A valid device request for a simple profile."""
    return device({"subject": "CN=alice,O=Contoso"})
