# SPDX-License-Identifier: Apache-2.0
"""The fault matrix, Python runner: the rows of tests/scenarios/faults.json (shared with
the C and Java runners; fields in tests/scenarios/README.md), each run through the
Python package.

Each row scripts one permanent fault (times 0) on one step of a call (token,
discovery, validateRequest, successNotification, failureNotification,
uploadRevocationResults) and asserts, as the C runner does:
  - the call raises (never returns) the exception class of the row's status, with
    the row's HTTP status, service code and AADSTS number where the row gives them;
  - the exception carries the call's activity id (a uuid.UUID, also in the one-line
    message) and the transaction id given;
  - the call ended within TIMEOUT_MS plus a margin (sooner where the row says so);
  - the emulator saw the row's number of requests on the faulted endpoint, and a
    redirect to http:// was never followed;
  - a warning or error log record carries the activity id, and no secret (the app
    key, a bearer token) is in the exception, its fields or any log record.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import re
import select
import socket
import struct
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Type

import pytest

from intune_scep import (
    LOGGER_NAME,
    CARevocationResult,
    IntuneRevocationClient,
    IntuneScepServiceClient,
    IntuneClientAuthException,
    IntuneClientException,
    IntuneClientHttpErrorException,
    IntuneClientProtocolException,
    IntuneClientTransportException,
    IntuneScepServiceException,
    IntuneServiceNotFoundException,
)

# FAULT_SCENARIOS=<file> reads another table (default: the source tree's).
SCENARIOS = Path(os.environ.get("FAULT_SCENARIOS") or
                 Path(__file__).resolve().parents[2] / "tests" / "scenarios" / "faults.json")
# The table may grow, never shrink: the rows Python ran when the table became data.
ROW_FLOOR = 126
RUNNER = "python"

CLASSES: Dict[str, Type[IntuneClientException]] = {
    "AUTH": IntuneClientAuthException, "HTTP": IntuneClientHttpErrorException,
    "TRANSPORT": IntuneClientTransportException, "PROTOCOL": IntuneClientProtocolException,
    "REJECTED": IntuneScepServiceException, "SERVICE_NOT_FOUND": IntuneServiceNotFoundException,
}
STEPS = ("token", "discovery", "validateRequest", "successNotification", "failureNotification",
         "uploadRevocationResults")
SETUPS = ("refused_authority", "untrusted", "wrong_host")
FIELDS = {"name", "step", "setup", "fault", "status", "http", "code", "aadsts", "requests", "max_ms",
          "via_socket_factory", "skip", "only"}
SCEP = "ScepRequestValidationFEService"

TABLE: Dict[str, Any] = json.loads(SCENARIOS.read_text(encoding="utf-8"))
ROWS: List[Dict[str, Any]] = TABLE["rows"]
CLIENT_OVERRIDES: Dict[str, str] = dict(TABLE["client"])
TIMEOUT_MS = int(CLIENT_OVERRIDES["TIMEOUT_MS"])
MARGIN_MS = int(TABLE["margin_ms"])


def _skipped(row: Dict[str, Any]) -> Optional[str]:
    """Why this runner does not run the row ("skip" / "only"), or None."""
    why = row.get("skip", {}).get(RUNNER)
    if why:
        return str(why)
    if "only" in row and RUNNER not in row["only"]:
        return f"only for {', '.join(row['only'])}"
    return None


def _params() -> List[Any]:
    out = []
    for row in ROWS:
        why = _skipped(row)
        marks = [pytest.mark.skip(reason=why)] if why else []
        out.append(pytest.param(row, id=row["name"].replace(" ", "-"), marks=marks))
    return out


_run_count = {"rows": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_count(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module: how many rows passed here, on the terminal (not captured)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"fault matrix: {_run_count['rows']} scenarios run ({len(ROWS)} in "
                                f"{SCENARIOS.name}, {sum(1 for r in ROWS if _skipped(r))} not for Python)")


def test_table_is_whole() -> None:
    """Every row is readable by this runner; the table keeps its floor, its steps and its classes."""
    runnable = sum(1 for r in ROWS if _skipped(r) is None)
    assert runnable >= ROW_FLOOR, f"the table holds {runnable} rows for Python, fewer than {ROW_FLOOR}"
    assert len({r["name"] for r in ROWS}) == len(ROWS), "two rows share a name"
    for row in ROWS:
        assert set(row) <= FIELDS, f"{row.get('name')}: unknown fields {set(row) - FIELDS}"
        assert row["step"] in STEPS, row
        assert row["status"] in CLASSES, row
        assert row.get("setup") is None or row["setup"] in SETUPS, row
        assert "fault" in row or "setup" in row, row
        assert "fault" not in row or isinstance(row["fault"].get("endpoint"), str), row
    for step in STEPS[:5]:
        assert sum(r["step"] == step for r in ROWS) >= 5, step
    for status in CLASSES:
        assert any(r["status"] == status for r in ROWS), status


# ---- plumbing ---------------------------------------------------------------


class NeverFollowed:
    """A loopback listener behind the http:// URL of redirects: it must see no connection."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/{SCEP}"

    def connections(self) -> int:
        """Connections received since the last call."""
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return n
            conn.close()
            n += 1

    def close(self) -> None:
        self.sock.close()


class FailedConnects:
    """Loopback endpoints on which a connection never carries a request: a TLS handshake that stalls
    (never accepted: the kernel completes the TCP handshake, nobody answers the ClientHello), a TCP
    handshake that never completes (a full backlog of 0: further SYNs are dropped), and a reset in
    the TLS handshake (the ClientHello read, then an RST)."""

    def __init__(self) -> None:
        self.stall = self._listen(64)
        self.blackhole = self._listen(0)
        self.fillers = []
        for _ in range(4):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex(self.blackhole.getsockname())
            self.fillers.append(f)
            time.sleep(0.02)
        self.reset = self._listen(64)
        self.reset.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve_reset, name="matrix-reset", daemon=True)
        self._thread.start()

    @staticmethod
    def _listen(backlog: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(backlog)
        return s

    def _serve_reset(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.reset.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                if select.select([conn], [], [], 2.0)[0]:
                    try:
                        conn.recv(512)
                    except OSError:
                        pass
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def uri(self, sock: socket.socket) -> str:
        return f"https://127.0.0.1:{sock.getsockname()[1]}/{SCEP}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in [self.stall, self.blackhole, self.reset] + self.fillers:
            s.close()


@pytest.fixture(scope="module")
def never_followed() -> Iterator[NeverFollowed]:
    listener = NeverFollowed()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def failed_connects() -> Iterator[FailedConnects]:
    endpoints = FailedConnects()
    yield endpoints
    endpoints.close()


@pytest.fixture(scope="module")
def other_ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA bundle holding only a CA that did not sign the emulator's certificate: a test CA
    of the emulator's device module."""
    from intune_scep.emulator.device import TestCA

    path = tmp_path_factory.mktemp("other-ca") / "other-ca.pem"
    path.write_bytes(TestCA("CN=Some Other CA").certificate_pem().encode("ascii"))
    return path


def _closed_port() -> int:
    """A loopback port nothing listens on: bound once, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(value: Any, subst: Dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in subst.items():
            value = value.replace(k, v)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, subst) for k, v in value.items()}
    return value


def _call_step(client: Any, step: str, txid: str, csr_b64: str) -> None:
    if step == "uploadRevocationResults":
        client.UploadRevocationResults(txid, [CARevocationResult("ctx-1", True)])
    elif step == "successNotification":
        client.SendSuccessNotification(txid, csr_b64, "0123456789ABCDEF0123456789ABCDEF01234567", "1A2B3C",
                                       "2027-06-11T16:11:20.000Z", "CN=Intune SCEP Tests CA,O=Intune SCEP Tests")
    elif step == "failureNotification":
        client.SendFailureNotification(txid, csr_b64, 0x80004005, "issuance failed")
    else:  # token, discovery and validateRequest rows run a validation
        client.ValidateRequest(txid, csr_b64)


def _texts_of(e: BaseException) -> List[str]:
    """Every text the exception carries: str(), args, and each string field."""
    texts = [str(e), repr(e)] + [str(a) for a in e.args]
    for value in vars(e).values():
        if value is not None:
            texts.append(str(value))
    return texts


# ---- the matrix -------------------------------------------------------------


@pytest.mark.parametrize("row", _params())
def test_fault(row: Dict[str, Any], emu: Any, csr: Dict[str, Any], never_followed: NeverFollowed,
               failed_connects: FailedConnects, other_ca_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    from intune_scep.emulator import Emulator

    name, step, want = row["name"], row["step"], CLASSES[row["status"]]
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    target = emu.emulator  # the emulator the client talks to (its control methods)
    other: Optional[Any] = None
    if row.get("setup") == "wrong_host":
        other = Emulator(server_cert_hostname="not-this-host.example").start()
        target = other
    config = dict(target.config)
    overrides = dict(CLIENT_OVERRIDES)
    if row.get("setup") == "untrusted":
        overrides["TLS_CA_FILE"] = str(other_ca_file)
    if row.get("setup") == "refused_authority":
        overrides["AUTH_AUTHORITY"] = f"https://127.0.0.1:{_closed_port()}/"
    client = (IntuneRevocationClient if step == "uploadRevocationResults" else IntuneScepServiceClient)(
        {**config, **overrides})
    try:
        if "fault" in row:
            subst = {"{HTTP_URL}": never_followed.url, "{BASE}": target.base_url,
                     "{CLOSED_URI}": f"https://127.0.0.1:{_closed_port()}/{SCEP}",
                     "{DATE+1}": email.utils.formatdate(time.time() + 1, usegmt=True),
                     "{STALL_URI}": failed_connects.uri(failed_connects.stall),
                     "{BLACKHOLE_URI}": failed_connects.uri(failed_connects.blackhole),
                     "{RESET_URI}": failed_connects.uri(failed_connects.reset),
                     "{NUL}": "\x00"}
            target.add_fault(_fill(row["fault"], subst))
        never_followed.connections()
        txid = f"matrix-{uuid.uuid4().hex[:12]}"

        t0 = time.monotonic()
        returned = False
        try:
            _call_step(client, step, txid, csr["csr_b64"])
            returned = True
        except IntuneClientException as caught:
            e = caught
        elapsed_ms = (time.monotonic() - t0) * 1000.0
        assert not returned, f"{name}: the call returned (the certificate would be issued / handed out)"
        recorded = target.requests()
    finally:
        client.close()
        if other is not None:
            other.stop()

    # the class of the row's status (exactly that class, not a sibling or the base)
    assert type(e) is want, f"{name}: {type(e).__name__} ({e.status}), want {want.__name__}: {e}"
    assert e.status == "INTUNE_SCEP_E_" + row["status"]
    records = [r for r in caplog.records if r.name.startswith(LOGGER_NAME)]
    if "http" in row:
        if hasattr(e, "status_code"):
            assert e.status_code == row["http"], f"{name}: http status {e.status_code}"
        else:
            # IntuneScepServiceException and IntuneClientTransportException carry no HTTP status:
            # the library's outcome record of the call reports it (0 when no answer came)
            outcome = [m for m in (r.getMessage() for r in records)
                       if str(e.activity_id) in m and "http_status=" in m]
            assert outcome, f"{name}: no log record reports the call's http_status"
            got = {int(re.search(r"http_status=(-?\d+)", m).group(1)) for m in outcome}
            assert got == {row["http"]}, f"{name}: http status {got} in the log"
    if "code" in row:
        assert e.error_code == row["code"], f"{name}: service code {e.error_code!r}"
        if want not in (IntuneClientAuthException, IntuneScepServiceException):
            assert e.response is not None and f'"{row["code"]}"' in e.response, f"{name}: response {e.response!r}"
    if "aadsts" in row:
        assert e.aadsts_code == row["aadsts"], f"{name}: AADSTS {e.aadsts_code}"
        assert f"AADSTS{row['aadsts']}" in e.description

    # a failure never reports the service code Success (a rejection keeps its code, never exactly Success),
    # and no log record of it says code=Success
    if want is IntuneScepServiceException:
        assert e.error_code != "Success", f"{name}: a rejection with the code Success"
    else:
        code = getattr(e, "error_code", None) or ""
        assert code.lower() != "success", f"{name}: a failure reports the code {code!r}"
    assert not any("code=Success" in r.getMessage() for r in records), f"{name}: a log record says code=Success"

    # activity id, transaction id, one-line message
    assert isinstance(e.activity_id, uuid.UUID), f"{name}: activity id {e.activity_id!r}"
    assert str(e.activity_id) in str(e)
    assert e.transaction_id == txid
    assert str(e) and "\n" not in str(e)

    # time bound
    limit = row.get("max_ms") or (TIMEOUT_MS + MARGIN_MS)
    assert elapsed_ms <= limit, f"{name}: took {elapsed_ms:.0f} ms, allowed {limit} ms"

    # redirects to http:// are never followed
    if "fault" in row and row["fault"].get("action") == "redirect":
        assert never_followed.connections() == 0, f"{name}: the redirect to http:// was followed"

    # attempts as the protocol has them
    if "requests" in row:
        seen = sum(1 for r in recorded if r.get("endpoint") == step)
        assert seen == row["requests"], f"{name}: the emulator saw {seen} {step} request(s), want {row['requests']}"

    # the failing call was logged with its activity id
    assert any(r.levelno >= logging.WARNING and str(e.activity_id) in r.getMessage() for r in records), \
        f"{name}: no warning/error log record carries the activity id"

    # no secret anywhere
    tokens = {r["headers"]["authorization"].split(" ", 1)[-1] for r in recorded
              if "authorization" in r.get("headers", {})}
    secrets = [config["AAD_APP_KEY"], "EmuTok-"] + sorted(tokens)
    texts = _texts_of(e) + [r.getMessage() for r in records]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{name}: a secret ({'app key' if secret == secrets[0] else 'token'}) leaked"
    _run_count["rows"] += 1


# ---- failed connects: a TLS handshake that stalls (nothing sent) ------------
# A connection on which nothing was sent is a failed connect: retried, and followed by one
# rediscovery, like a refused connection; its message names CONNECT_TIMEOUT_MS.


class StalledEndpoint:
    """A loopback listener that never accepts: the TCP handshake completes, the TLS one stalls."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"https://127.0.0.1:{self.sock.getsockname()[1]}/{SCEP}"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def stalled() -> Iterator[StalledEndpoint]:
    endpoint = StalledEndpoint()
    yield endpoint
    endpoint.close()


def _discovery_points_at(emu: Any, uri: str, times: int) -> None:
    body = json.dumps({"value": [{"providerName": SCEP, "uri": uri},
                                 {"providerName": "PkiConnectorFEService", "uri": emu.base_url + "PkiConnectorFEService"}]})
    emu.call("POST", "faults", {"endpoint": "discovery", "times": times, "status": 200, "body": body})


def test_stalled_connect_rediscovers(emu: Any, make_client: Any, csr: Dict[str, Any], stalled: StalledEndpoint,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    client = make_client(TIMEOUT_MS="8000", CONNECT_TIMEOUT_MS="500")
    _discovery_points_at(emu, stalled.url, 1)
    client.ValidateRequest(f"stall-{uuid.uuid4().hex[:12]}", csr["csr_b64"])  # returns: the call worked
    recorded = emu.requests()
    assert sum(1 for r in recorded if r.get("endpoint") == "discovery") == 2
    assert sum(1 for r in recorded if r.get("endpoint") == "validateRequest") == 1
    moved = [r for r in caplog.records if "discovering it again" in r.getMessage()]
    assert len(moved) == 1, [r.getMessage() for r in caplog.records]


def test_stalled_connect_always_names_connect_timeout(emu: Any, make_client: Any, csr: Dict[str, Any],
                                                      stalled: StalledEndpoint) -> None:
    client = make_client(TIMEOUT_MS="10000", CONNECT_TIMEOUT_MS="300", MAX_RETRIES="1")
    _discovery_points_at(emu, stalled.url, 0)
    with pytest.raises(IntuneClientTransportException) as caught:
        client.ValidateRequest(f"stall-{uuid.uuid4().hex[:12]}", csr["csr_b64"])
    message = str(caught.value)
    assert "CONNECT_TIMEOUT_MS" in message and "(TIMEOUT_MS)" not in message, message
    recorded = emu.requests()
    assert sum(1 for r in recorded if r.get("endpoint") == "discovery") == 2
    assert sum(1 for r in recorded if r.get("endpoint") == "validateRequest") == 0
