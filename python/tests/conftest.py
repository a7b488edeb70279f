# SPDX-License-Identifier: Apache-2.0
"""Fixtures: one emulator for the session, reset before every test, and clients on it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

import intune_scep
from scep_helpers import Control, DeviceRequest, TestCA, build_csr, csr_b64

SOURCE_TREE = Path(__file__).resolve().parents[1]


def pytest_report_header(config: Any) -> str:
    return f"intune_scep imported from {Path(intune_scep.__file__).parent}"


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
def ca() -> TestCA:
    return TestCA()


@pytest.fixture
def device(emu: Control) -> Callable[..., Dict[str, Any]]:
    """Make a challenge for a profile and the matching device CSR.

    Returns a dict: profile_id, challenge, csr (x509 object), csr_b64, txid.
    Keyword ``request`` overrides what the device asks for (DeviceRequest fields).
    """

    def make(profile: Dict[str, Any], **request: Any) -> Dict[str, Any]:
        issued = emu.challenge(profile)
        fields: Dict[str, Any] = {
            "subject": profile["subject"],
            "challenge": issued["challenge"],
            "san_emails": profile.get("san_emails", ()),
            "san_upns": profile.get("san_upns", ()),
            "san_dns": profile.get("san_dns", ()),
            "key_usage": profile.get("key_usage"),
            "ekus": profile.get("ekus"),
            "key_size": profile.get("key_size", 2048),
            "hash_name": (profile.get("hash_algorithms") or ["sha256"])[0],
        }
        fields.update(request)
        csr = build_csr(DeviceRequest(**fields))
        return {"profile_id": issued["profile_id"], "challenge": issued["challenge"], "csr": csr,
                "csr_b64": csr_b64(csr), "txid": "tx-" + uuid.uuid4().hex[:12]}

    return make


@pytest.fixture
def csr(device: Callable[..., Dict[str, Any]]) -> Dict[str, Any]:
    """A valid device request for a simple profile."""
    return device({"subject": "CN=alice,O=Contoso"})
