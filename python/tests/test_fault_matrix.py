# SPDX-License-Identifier: Apache-2.0
"""The fault matrix through the Python package: the same faults as the C matrix
(tests/hardening/test_fault_matrix.c), the same outcome at this front door.

Each row scripts one permanent fault (times 0) on one step of a SCEP call
(token, discovery, validateRequest, successNotification, failureNotification)
and asserts, as the C row does:
  - the call raises (never returns) the exception class of the row's status, with
    the row's HTTP status, service code and AADSTS number where the row gives them;
  - the exception carries the call's activity id (a uuid.UUID, also in the one-line
    message) and the transaction id given;
  - the call ended within TIMEOUT_MS plus a margin (sooner where the row says so);
  - the emulator saw the row's number of requests on the faulted endpoint (retries
    on 429/5xx/connection failures, one more after a 401 or a 404, none after a
    redirect), and a redirect to http:// was never followed;
  - a warning or error log record carries the activity id, and no secret (the app
    key, a bearer token) is in the exception, its fields or any log record.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import re
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Type

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from intune_scep import (
    LOGGER_NAME,
    CARevocationResult,
    IntuneRevocationClient,
    IntuneClientAuthException,
    IntuneClientException,
    IntuneClientHttpErrorException,
    IntuneClientProtocolException,
    IntuneClientTransportException,
    IntuneScepServiceException,
    IntuneServiceNotFoundException,
)

TIMEOUT_MS = 2000
MARGIN_MS = 1500
CLIENT_OVERRIDES = {"TIMEOUT_MS": str(TIMEOUT_MS), "CONNECT_TIMEOUT_MS": "1000", "MAX_RETRIES": "2"}

AUTH = IntuneClientAuthException
HTTP = IntuneClientHttpErrorException
TRANSPORT = IntuneClientTransportException
PROTOCOL = IntuneClientProtocolException
REJECTED = IntuneScepServiceException
NOTFOUND = IntuneServiceNotFoundException

STATUS_NAME = {AUTH: "INTUNE_SCEP_E_AUTH", HTTP: "INTUNE_SCEP_E_HTTP", TRANSPORT: "INTUNE_SCEP_E_TRANSPORT",
               PROTOCOL: "INTUNE_SCEP_E_PROTOCOL", REJECTED: "INTUNE_SCEP_E_REJECTED",
               NOTFOUND: "INTUNE_SCEP_E_SERVICE_NOT_FOUND"}

# Placeholders in a fault, filled in per row.
HTTP_URL = "{HTTP_URL}"  # http:// URL of a loopback listener that must never see a connection
CLOSED_URI = "{CLOSED_URI}"  # https:// URL of a loopback port nothing listens on
BASE = "{BASE}"  # the emulator's base URL
DATE_PLUS_1 = "{DATE+1}"  # an HTTP date one second from now


@dataclass(frozen=True)
class Row:
    name: str
    step: str                        # the endpoint the fault sits on; also decides the call made
    fault: Optional[Dict[str, Any]]  # the fault (placeholders substituted), None for none
    want: Type[IntuneClientException]
    http: Optional[int] = None       # HTTP status on the exception; None: not checked
    code: Optional[str] = None       # service code (OAuth error / Intune code); None: not checked
    aadsts: Optional[int] = None     # AADSTS number on an auth error; None: not checked
    max_ms: int = 0                  # 0: TIMEOUT_MS + MARGIN_MS
    requests: int = -1               # requests the emulator saw on `step`; -1: not checked
    special: str = ""                # "untrusted": TLS_CA_FILE holds another CA


def respond(ep: str, status: int, body: str = "", **extra: Any) -> Dict[str, Any]:
    return {"endpoint": ep, "times": 0, "status": status, "body": body, **extra}


def action(ep: str, act: str) -> Dict[str, Any]:
    return {"endpoint": ep, "times": 0, "action": act}


def redirect(ep: str, status: int, location: str) -> Dict[str, Any]:
    return {"endpoint": ep, "times": 0, "action": "redirect", "status": status, "body": location}


def aad_err(error: str, n: int) -> str:
    return json.dumps({"error": error, "error_description": f"AADSTS{n}: refused.", "error_codes": [n]})


def graph_err(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


SCEP = "ScepRequestValidationFEService"

# Rows taken from the C table (same names, same expectations).
ROWS: List[Row] = [
    # ---- token (the identity platform) ----
    Row("token 400 invalid_request", "token", respond("token", 400, aad_err("invalid_request", 90002)),
        AUTH, http=400, code="invalid_request", aadsts=90002, requests=1),
    Row("token 401 invalid_client", "token", respond("token", 401, aad_err("invalid_client", 7000215)),
        AUTH, http=401, code="invalid_client", aadsts=7000215, requests=1),
    Row("token 403", "token", respond("token", 403, aad_err("access_denied", 50105)),
        AUTH, http=403, code="access_denied", aadsts=50105, requests=1),
    Row("token 500", "token", respond("token", 500), AUTH, http=500, requests=3),
    Row("token 429 Retry-After seconds", "token", respond("token", 429, headers={"Retry-After": "1"}),
        AUTH, http=429, requests=2),
    Row("token reset before the status line", "token", action("token", "reset"), TRANSPORT, http=0, requests=3),
    Row("token body over 1 MiB", "token", action("token", "oversize"), PROTOCOL, requests=1),
    Row("token 200 not JSON", "token", respond("token", 200, "<html>hello</html>"), AUTH, requests=1),
    Row("token 200 JSON array", "token", respond("token", 200, "[1,2]"), AUTH, requests=1),
    Row("token 200 without access_token", "token",
        respond("token", 200, '{"token_type":"Bearer","expires_in":3599}'), AUTH, requests=1),
    Row("token 302 to http:// not followed", "token", redirect("token", 302, HTTP_URL), AUTH, http=302, requests=1),
    Row("token untrusted certificate", "token", None, TRANSPORT, http=0, requests=0, special="untrusted"),

    # ---- discovery (Microsoft Graph) ----
    Row("discovery 400", "discovery", respond("discovery", 400, graph_err("BadRequest", "no")),
        HTTP, http=400, code="BadRequest", requests=1),
    Row("discovery 401 (token refreshed once)", "discovery", respond("discovery", 401), HTTP, http=401, requests=2),
    Row("discovery 403", "discovery",
        respond("discovery", 403, graph_err("Authorization_RequestDenied", "Insufficient privileges")),
        HTTP, http=403, code="Authorization_RequestDenied", requests=1),
    Row("discovery 404", "discovery", respond("discovery", 404), HTTP, http=404, requests=1),
    Row("discovery 500", "discovery", respond("discovery", 500), HTTP, http=500, requests=3),
    Row("discovery 503", "discovery", respond("discovery", 503), HTTP, http=503, requests=3),
    Row("discovery no answer (deadline)", "discovery", action("discovery", "hang"), TRANSPORT, http=0),
    Row("discovery 200 JSON array", "discovery", respond("discovery", 200, "[]"), PROTOCOL, requests=1),
    Row("discovery without the SCEP service", "discovery",
        respond("discovery", 200, json.dumps({"value": [{"providerName": "PkiConnectorFEService",
                                                         "uri": "https://127.0.0.1/Pki"}]})),
        NOTFOUND, requests=1),
    Row("discovery 302 to http:// not followed", "discovery", redirect("discovery", 302, HTTP_URL),
        HTTP, http=302, requests=1),

    # ---- validateRequest ----
    Row("discovered URI connection refused", "discovery",
        respond("discovery", 200, json.dumps({"value": [{"serviceName": SCEP, "uri": CLOSED_URI}]})),
        TRANSPORT, http=0, requests=2),
    Row("validate 401 (token refreshed once)", "validateRequest", respond("validateRequest", 401),
        HTTP, http=401, requests=2),
    Row("validate 404 (rediscovered once)", "validateRequest", respond("validateRequest", 404),
        HTTP, http=404, requests=2),
    Row("validate 429 Retry-After beyond the deadline", "validateRequest",
        respond("validateRequest", 429, headers={"Retry-After": "3600"}), HTTP, http=429, max_ms=1000, requests=1),
    Row("validate 500", "validateRequest",
        respond("validateRequest", 500, json.dumps({"code": "InternalError", "errorDescription": "boom"})),
        HTTP, http=500, code="InternalError", requests=3),
    Row("validate 503", "validateRequest", respond("validateRequest", 503), HTTP, http=503, requests=3),
    Row("validate reset before the status line", "validateRequest", action("validateRequest", "reset"),
        TRANSPORT, http=0, requests=3),
    Row("validate no answer (deadline)", "validateRequest", action("validateRequest", "hang"), TRANSPORT, http=0),
    Row("validate body over 1 MiB", "validateRequest", action("validateRequest", "oversize"), PROTOCOL, requests=1),
    Row("validate 200 not JSON", "validateRequest", respond("validateRequest", 200, "Success"),
        PROTOCOL, http=200, requests=1),
    Row("validate 200 JSON array", "validateRequest", respond("validateRequest", 200, '[{"code":"Success"}]'),
        PROTOCOL, http=200, requests=1),
    Row("validate 200 code as a number", "validateRequest",
        respond("validateRequest", 200, '{"code":1,"errorDescription":""}'), PROTOCOL, http=200, requests=1),
    Row("validate 302 to http:// not followed", "validateRequest", redirect("validateRequest", 302, HTTP_URL),
        HTTP, http=302, requests=1),
    Row("validate 307 to the same https path not followed", "validateRequest",
        redirect("validateRequest", 307, BASE + SCEP + "/ScepActions/validateRequest"), HTTP, http=307, requests=1),
    Row("validate 200 code success in lower case", "validateRequest",
        respond("validateRequest", 200, '{"code":"success"}'), REJECTED, http=200, code="success", requests=1),
    Row("validate 204 no content", "validateRequest", respond("validateRequest", 204), PROTOCOL, http=204, requests=1),

    # ---- successNotification ----
    Row("success 500", "successNotification", respond("successNotification", 500), HTTP, http=500, requests=3),
    Row("success 401 (token refreshed once)", "successNotification", respond("successNotification", 401),
        HTTP, http=401, requests=2),
    Row("success reset before the status line", "successNotification", action("successNotification", "reset"),
        TRANSPORT, http=0, requests=3),
    Row("success body over 1 MiB", "successNotification", action("successNotification", "oversize"),
        PROTOCOL, requests=1),
    Row("success 200 code Unknown", "successNotification",
        respond("successNotification", 200, '{"code":"Unknown","errorDescription":"not validated"}'),
        REJECTED, http=200, code="Unknown", requests=1),
    Row("success 200 not JSON", "successNotification", respond("successNotification", 200, "<ok/>"),
        PROTOCOL, http=200, requests=1),

    # ---- failureNotification ----
    Row("failure 403", "failureNotification", respond("failureNotification", 403), HTTP, http=403, requests=1),
    Row("failure 404 (rediscovered once)", "failureNotification", respond("failureNotification", 404),
        HTTP, http=404, requests=2),
    Row("failure 502", "failureNotification", respond("failureNotification", 502), HTTP, http=502, requests=3),
    Row("failure 429 Retry-After HTTP date", "failureNotification",
        respond("failureNotification", 429, headers={"Retry-After": DATE_PLUS_1}), HTTP, http=429),
    Row("failure 200 code as a number", "failureNotification", respond("failureNotification", 200, '{"code":0}'),
        PROTOCOL, http=200, requests=1),
    Row("failure 200 JSON array", "failureNotification", respond("failureNotification", 200, "[]"),
        PROTOCOL, http=200, requests=1),

    # ---- answers that say two things at once: a duplicated member name, a NUL (never read) ----
    Row("token 200 access_token twice", "token",
        respond("token", 200, '{"token_type":"Bearer","expires_in":3599,"access_token":"EmuTok-1",'
                              '"access_token":"EmuTok-2"}'), PROTOCOL, requests=1),
    Row("token 200 NUL in a member name", "token",
        respond("token", 200, '{"token_type":"Bearer","expires_in\\u0000x":1,"expires_in":3599,'
                              '"access_token":"EmuTok-x"}'), PROTOCOL, requests=1),
    Row("discovery 200 uri twice", "discovery",
        respond("discovery", 200, json.dumps({"value": [{"providerName": SCEP, "uri": "https://127.0.0.1:1/a"}]})
                .replace('"uri"', '"uri": "https://127.0.0.1:1/b", "uri"')), PROTOCOL, requests=1),
    Row("validate 200 code twice, Success first", "validateRequest",
        respond("validateRequest", 200, '{"code":"Success","code":"ChallengeExpired"}'),
        PROTOCOL, http=200, requests=1),
    Row("validate 200 code twice, Success last", "validateRequest",
        respond("validateRequest", 200, '{"code":"ChallengeExpired","code":"Success"}'),
        PROTOCOL, http=200, requests=1),
    Row("validate 200 NUL in code", "validateRequest",
        respond("validateRequest", 200, '{"code":"Success\\u0000ChallengeExpired"}'), PROTOCOL, http=200, requests=1),
    Row("validate 200 NUL in a member name", "validateRequest",
        respond("validateRequest", 200, '{"code\\u0000x":"Success"}'), PROTOCOL, http=200, requests=1),
    Row("validate 200 raw NUL byte in code", "validateRequest",
        respond("validateRequest", 200, '{"code":"Success\u0000X"}'), PROTOCOL, http=200, requests=1),
    Row("validate 500 code Success never reported", "validateRequest",
        respond("validateRequest", 500, '{"code":"Success","errorDescription":"an HTTP error"}'),
        HTTP, http=500, requests=3),
    Row("success 200 code twice", "successNotification",
        respond("successNotification", 200, '{"code":"Success","code":"Unknown"}'), PROTOCOL, http=200, requests=1),
    Row("failure 200 NUL in code", "failureNotification",
        respond("failureNotification", 200, '{"code":"Success\\u0000Unknown"}'), PROTOCOL, http=200, requests=1),
    Row("upload 200 value twice", "uploadRevocationResults",
        respond("uploadRevocationResults", 200, '{"value":true,"value":false}'), PROTOCOL, requests=1),
    Row("upload 200 NUL in a member name", "uploadRevocationResults",
        respond("uploadRevocationResults", 200, '{"value\\u0000x":false,"value":true}'), PROTOCOL, requests=1),
]

STEPS = ("token", "discovery", "validateRequest", "successNotification", "failureNotification")


def _row_id(row: Row) -> str:
    return row.name.replace(" ", "-")


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


@pytest.fixture(scope="module")
def never_followed() -> Iterator[NeverFollowed]:
    listener = NeverFollowed()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def other_ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA bundle holding only a CA that did not sign the emulator's certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some Other CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = tmp_path_factory.mktemp("other-ca") / "other-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
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


def test_table_covers_every_step_and_class() -> None:
    assert len(ROWS) >= 15
    assert len({r.name for r in ROWS}) == len(ROWS)
    for step in STEPS:
        assert sum(r.step == step for r in ROWS) >= 5, step
    for cls in STATUS_NAME:
        assert any(r.want is cls for r in ROWS), cls.__name__


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_fault(row: Row, emu: Any, make_client: Any, csr: Dict[str, Any], config: Dict[str, str],
               never_followed: NeverFollowed, other_ca_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    overrides = dict(CLIENT_OVERRIDES)
    if row.special == "untrusted":
        overrides["TLS_CA_FILE"] = str(other_ca_file)
    if row.step == "uploadRevocationResults":
        client = IntuneRevocationClient({**config, **overrides})
    else:
        client = make_client(**overrides)
    if row.fault is not None:
        subst = {HTTP_URL: never_followed.url, BASE: emu.base_url,
                 CLOSED_URI: f"https://127.0.0.1:{_closed_port()}/{SCEP}",
                 DATE_PLUS_1: email.utils.formatdate(time.time() + 1, usegmt=True)}
        emu.call("POST", "faults", _fill(row.fault, subst))
    never_followed.connections()
    txid = f"matrix-{uuid.uuid4().hex[:12]}"

    t0 = time.monotonic()
    returned = False
    try:
        _call_step(client, row.step, txid, csr["csr_b64"])
        returned = True
    except IntuneClientException as caught:
        e = caught
    finally:
        if row.step == "uploadRevocationResults":
            client.close()
    elapsed_ms = (time.monotonic() - t0) * 1000.0
    assert not returned, f"{row.name}: the call returned (the certificate would be issued / handed out)"

    # the class of the row's status (exactly that class, not a sibling or the base)
    assert type(e) is row.want, f"{row.name}: {type(e).__name__} ({e.status}), want {row.want.__name__}: {e}"
    assert e.status == STATUS_NAME[row.want]
    records = [r for r in caplog.records if r.name.startswith(LOGGER_NAME)]
    if row.http is not None:
        if hasattr(e, "status_code"):
            assert e.status_code == row.http, f"{row.name}: http status {e.status_code}"
        else:
            # IntuneScepServiceException and IntuneClientTransportException carry no HTTP status:
            # the library's outcome record of the call reports it (0 when no answer came)
            outcome = [m for m in (r.getMessage() for r in records)
                       if str(e.activity_id) in m and "http_status=" in m]
            assert outcome, f"{row.name}: no log record reports the call's http_status"
            got = {int(re.search(r"http_status=(-?\d+)", m).group(1)) for m in outcome}
            assert got == {row.http}, f"{row.name}: http status {got} in the log"
    if row.code is not None:
        if row.want in (AUTH, REJECTED):
            assert e.error_code == row.code, f"{row.name}: service code {e.error_code!r}"
        else:
            assert e.error_code == row.code, f"{row.name}: service code {e.error_code!r}"
            assert e.response is not None and f'"{row.code}"' in e.response, f"{row.name}: response {e.response!r}"
    if row.aadsts is not None:
        assert e.aadsts_code == row.aadsts
        assert f"AADSTS{row.aadsts}" in e.description

    # a failure never reports the service code Success (a rejection keeps its code, never exactly Success),
    # and no log record of it says code=Success
    if row.want is REJECTED:
        assert e.error_code != "Success", f"{row.name}: a rejection with the code Success"
    else:
        code = getattr(e, "error_code", None) or ""
        assert code.lower() != "success", f"{row.name}: a failure reports the code {code!r}"
    assert not any("code=Success" in r.getMessage() for r in records), f"{row.name}: a log record says code=Success"

    # activity id, transaction id, one-line message
    assert isinstance(e.activity_id, uuid.UUID), f"{row.name}: activity id {e.activity_id!r}"
    assert str(e.activity_id) in str(e)
    assert e.transaction_id == txid
    assert str(e) and "\n" not in str(e)

    # time bound
    limit = row.max_ms or (TIMEOUT_MS + MARGIN_MS)
    assert elapsed_ms <= limit, f"{row.name}: took {elapsed_ms:.0f} ms, allowed {limit} ms"

    # redirects to http:// are never followed
    if row.fault is not None and row.fault.get("action") == "redirect":
        assert never_followed.connections() == 0, f"{row.name}: the redirect to http:// was followed"

    # attempts as the protocol has them
    recorded = emu.requests()
    if row.requests >= 0:
        seen = sum(1 for r in recorded if r.get("endpoint") == row.step)
        assert seen == row.requests, f"{row.name}: the emulator saw {seen} {row.step} request(s), want {row.requests}"

    # the failing call was logged with its activity id
    assert any(r.levelno >= logging.WARNING and str(e.activity_id) in r.getMessage() for r in records), \
        f"{row.name}: no warning/error log record carries the activity id"

    # no secret anywhere
    tokens = {r["headers"]["authorization"].split(" ", 1)[-1] for r in recorded
              if "authorization" in r.get("headers", {})}
    secrets = [config["AAD_APP_KEY"], "EmuTok-"] + sorted(tokens)
    texts = _texts_of(e) + [r.getMessage() for r in records]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{row.name}: a secret ({'app key' if secret == secrets[0] else 'token'}) leaked"


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
