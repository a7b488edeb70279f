# SPDX-License-Identifier: Apache-2.0
"""An Intune emulator: Entra ID, Microsoft Graph and Intune's SCEP services on loopback HTTPS.

Pure Python (standard library plus ``cryptography``); it does not need the
native extension of ``intune_scep``.  Three ways in:

* ``python -m intune_scep.emulator`` prints one JSON line (base URL, CA file,
  a ready client configuration) and serves until stopped;
* ``with Emulator() as emu:`` in Python;
* the pytest fixture ``intune_emulator`` from ``intune_scep.emulator.pytest_plugin``.

See docs/emulator.md for the services, the control API and the challenge checks.
"""

from .api import Emulator
from .client import ControlClient, EmulatorControlError

__all__ = ["Emulator", "ControlClient", "EmulatorControlError"]
