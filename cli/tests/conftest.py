# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the intune-scep tool's tests: the built binary, the Intune
emulator (started as docs/emulator.md says, a child process on loopback) and a
record of every byte the tool printed, for the secret-leak check.

Environment:
  INTUNE_SCEP_CLI  path of the built intune-scep binary (CTest sets it); else
                   build*/cli/intune-scep under the source tree is looked for.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import urlencode

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(ROOT, "python"))

from intune_scep.emulator.client import ControlClient, EmulatorControlError  # noqa: E402


def _find_cli() -> str:
    path = os.environ.get("INTUNE_SCEP_CLI")
    if path:
        return path
    found = sorted(glob.glob(os.path.join(ROOT, "build*", "cli", "intune-scep")), key=os.path.getmtime)
    if not found:
        raise RuntimeError("set INTUNE_SCEP_CLI to the built intune-scep binary")
    return found[-1]


@dataclass(repr=False)
class Run:
    args: List[str]
    code: int
    out: str
    err: str

    def json(self) -> Dict[str, Any]:
        lines = [ln for ln in self.out.splitlines() if ln.strip()]
        assert len(lines) == 1, f"--json must print exactly one line on stdout, got {self.out!r}"
        return json.loads(lines[0])

    def __repr__(self) -> str:
        return f"intune-scep {' '.join(self.args)} -> {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


class Emulator:
    """The emulator as a child process, and its control API over HTTPS through the
    emulator's own client (intune_scep.emulator.ControlClient)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "intune_scep.emulator", "--port", "0", "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("the emulator did not start")
        info = json.loads(line)
        self.base_url: str = info["base_url"]
        self.control_url: str = info["control_url"]
        self.ca_file: str = info["ca_file"]
        self.config: Dict[str, str] = dict(info["config"])
        self.managed_identity_url: str = info["managed_identity_url"]
        self.identity_header: str = info["identity_header"]

        self.control = ControlClient(self.control_url, self.ca_file)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One control call; a refusal fails the test with the emulator's answer."""
        try:
            return self.control._call(method, path, body)
        except EmulatorControlError as e:
            raise AssertionError(f"control {method} {path}: HTTP {e.status} {e.body[:300]}") from None

    def challenge(self, **profile: Any) -> Dict[str, str]:
        return self.call("POST", "challenges", profile)

    def fault(self, **spec: Any) -> str:
        return self.call("POST", "faults", spec)["id"]

    def reset(self) -> None:
        self.call("POST", "reset", {})

    def requests(self, endpoint: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.call("GET", "requests" + ("?" + urlencode({"endpoint": endpoint}) if endpoint else ""))

    def notifications(self) -> Dict[str, List[Dict[str, Any]]]:
        return self.call("GET", "notifications")

    def fetch_token(self, scope: str) -> str:
        """A token of the emulator, obtained as the tool would (for the leak check)."""
        r = requests.post(self.base_url + self.config["TENANT"] + "/oauth2/v2.0/token",
                          data={"grant_type": "client_credentials", "client_id": self.config["AAD_APP_ID"],
                                "client_secret": self.config["AAD_APP_KEY"], "scope": scope},
                          verify=self.ca_file, timeout=30)
        assert r.status_code == 200, r.text[:300]
        return r.json()["access_token"]

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except Exception:  # noqa: BLE001 - fall back to killing our own child
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Transcript:
    """Everything the tool printed in this session, and the secrets it must never print."""
    runs: List[Run] = field(default_factory=list)
    secrets: Dict[str, str] = field(default_factory=dict)


TRANSCRIPT = Transcript()


@pytest.fixture(scope="session")
def cli_path() -> str:
    path = _find_cli()
    assert os.access(path, os.X_OK), path
    return path


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator()
    TRANSCRIPT.secrets["AAD_APP_KEY"] = emu.config["AAD_APP_KEY"]
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def _fresh_emulator(request):
    """Each test starts from a reset emulator; the bearer tokens the tool sent are kept for the leak check."""
    if "emulator" not in request.fixturenames:
        yield
        return
    emu = request.getfixturevalue("emulator")
    emu.reset()
    yield
    for r in emu.requests():
        auth = {k.lower(): v for k, v in r.get("headers", {}).items()}.get("authorization", "")
        if auth.lower().startswith("bearer "):
            TRANSCRIPT.secrets.setdefault("token:" + auth[7:], auth[7:])


def clean_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTUNE_SCEP_")}
    env.update(extra or {})
    return env


@pytest.fixture
def run(cli_path):
    def _run(*args: str, env: Optional[Dict[str, str]] = None, timeout: float = 120) -> Run:
        p = subprocess.run([cli_path, *args], capture_output=True, text=True, env=clean_env(env),
                           timeout=timeout)
        r = Run(list(args), p.returncode, p.stdout, p.stderr)
        TRANSCRIPT.runs.append(r)
        for name, secret in TRANSCRIPT.secrets.items():
            assert secret not in r.out and secret not in r.err, f"{name} printed by: intune-scep {' '.join(args)}"
        return r
    return _run


def write_config(path: str, config: Dict[str, str], mode: int = 0o600, drop: Sequence[str] = (),
                 **overrides: str) -> str:
    values = {k: v for k, v in config.items() if k not in drop}
    values.update(overrides)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# intune-scep test configuration\n")
        for k, v in values.items():
            # java.util.Properties: escape backslashes (none expected in these values).
            f.write(f"{k}={v.replace(chr(92), chr(92) * 2)}\n")
    os.chmod(path, mode)
    return path


@pytest.fixture
def config_file(emulator, tmp_path):
    return write_config(str(tmp_path / "intune-scep.properties"), emulator.config)
