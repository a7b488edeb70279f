# SPDX-License-Identifier: Apache-2.0
"""The client package needs no `cryptography`: only the emulator does (the extra
intune-scep[emulator]). A child interpreter in which importing cryptography fails
imports intune_scep, validates a request against the emulator and notifies."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

CHILD = r"""
import importlib.abc, json, sys

class NoCryptography(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "cryptography" or name.startswith("cryptography."):
            raise ImportError("cryptography is not installed here")
        return None

sys.meta_path.insert(0, NoCryptography())
import intune_scep
args = json.loads(sys.stdin.read())
with intune_scep.IntuneScepServiceClient(args["config"]) as client:
    client.ValidateRequest(args["tid"], args["csr"])
    client.SendFailureNotification(args["tid"], args["csr"], 0x80004005, "test")
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "cryptography")
print(json.dumps({"ok": True, "cryptography_modules": loaded}))
"""


def _run(payload):
    return subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(payload), text=True,
                          capture_output=True, timeout=120)


def test_client_validates_without_cryptography(emu, config, csr):
    tid = str(uuid.uuid4())
    r = _run({"config": config, "tid": tid, "csr": csr["csr_b64"]})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"ok": True, "cryptography_modules": []}
    assert len(emu.requests("validateRequest")) == 1


def test_without_cryptography_a_rejection_still_raises(emu, config):
    # fail closed holds in the same interpreter: a request Intune refuses is an exception
    r = _run({"config": config, "tid": str(uuid.uuid4()), "csr": "bm90IGEgQ1NS"})
    assert r.returncode != 0
    assert "IntuneScepServiceException" in r.stderr or "IntuneClient" in r.stderr, r.stderr
