# SPDX-License-Identifier: Apache-2.0
"""pytest plugin: ``pytest_plugins = ["intune_scep.emulator.pytest_plugin"]``.

Fixtures:

* ``intune_emulator_server`` (session scope): one emulator for the test session;
* ``intune_emulator`` (function scope): the same emulator, reset before each test
  (faults, recorded requests, notifications, validations, stats and settings
  cleared; issued tokens stay valid).
"""

import pytest

from .api import Emulator


@pytest.fixture(scope="session")
def intune_emulator_server():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def intune_emulator(intune_emulator_server):
    intune_emulator_server.reset()
    yield intune_emulator_server
