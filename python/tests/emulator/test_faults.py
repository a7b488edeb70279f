# SPDX-License-Identifier: Apache-2.0
"""Scripted faults: every action, delay, times, Retry-After, and faults on every endpoint."""

import http.client
import json
import socket
import ssl
import threading
import time

import pytest
import requests

from intune_scep.emulator import EmulatorControlError

VALID = {"request": {"transactionId": "t", "certificateRequest": "MIIB", "callerInfo": "c"}}


def ctx(emu):
    return ssl.create_default_context(cafile=emu.ca_file)


def raw_request(emu, wire, path=None, body=None, timeout=10):
    """Open a TLS connection, send one validateRequest, return the socket (response unread)."""
    path = path or "/ScepRequestValidationFEService/ScepActions/validateRequest"
    data = json.dumps(body if body is not None else VALID).encode()
    h = wire.intune_headers()
    head = "POST %s HTTP/1.1\r\nHost: %s:%d\r\n" % (path, "127.0.0.1", emu.port)
    head += "".join("%s: %s\r\n" % kv for kv in h.items())
    head += "Content-Length: %d\r\n\r\n" % len(data)
    s = socket.create_connection(("127.0.0.1", emu.port), timeout=timeout)
    t = ctx(emu).wrap_socket(s, server_hostname="127.0.0.1")
    t.sendall(head.encode() + data)
    return t


def read_until_closed(sock):
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionError, ssl.SSLError, OSError):
            return out, True
        if not chunk:
            return out, False
        out += chunk


def test_respond_times_then_recover(emu, wire):
    emu.add_fault("validateRequest", status=503, body='{"error":"busy"}', headers={"Retry-After": "2"}, times=2)
    for _ in range(2):
        r = wire.scep("validateRequest", VALID)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "2"
        assert r.json() == {"error": "busy"}
        assert r.headers["Content-Type"] == "application/json"
    assert wire.scep("validateRequest", VALID).status_code == 200
    assert emu.faults() == []


def test_retry_after_http_date_passed_through(emu, wire):
    date = "Wed, 21 Oct 2037 07:28:00 GMT"
    emu.add_fault("validateRequest", status=429, headers={"Retry-After": date})
    r = wire.scep("validateRequest", VALID)
    assert r.status_code == 429 and r.headers["Retry-After"] == date


def test_forever_until_cleared_and_order(emu, wire):
    emu.add_fault("validateRequest", status=500, times=1)
    emu.add_fault("validateRequest", status=502, times=0)
    assert wire.scep("validateRequest", VALID).status_code == 500
    for _ in range(3):
        assert wire.scep("validateRequest", VALID).status_code == 502
    assert emu.faults()[0]["hits"] == 3
    emu.clear_faults()
    assert wire.scep("validateRequest", VALID).status_code == 200


def test_fault_other_content(emu, wire):
    emu.add_fault("validateRequest", status=200, body="<html>not json</html>", content_type="text/html")
    r = wire.scep("validateRequest", VALID)
    assert r.status_code == 200 and r.text == "<html>not json</html>"
    assert r.headers["Content-Type"] == "text/html"
    emu.add_fault("validateRequest", status=200, body="")
    r = wire.scep("validateRequest", VALID)
    assert r.status_code == 200 and r.content == b""
    emu.add_fault("validateRequest", status=200, body='{"code":"success"}')
    assert wire.scep("validateRequest", VALID).json() == {"code": "success"}


@pytest.mark.parametrize("endpoint", ["token", "discovery", "validateRequest", "successNotification",
                                      "failureNotification", "downloadRevocationRequests",
                                      "uploadRevocationResults"])
def test_faults_apply_to_every_endpoint(emu, wire, endpoint):
    graph = wire.token("graph")
    wire.token("intune")
    emu.add_fault(endpoint, status=503, body='{"fault":true}')
    if endpoint == "token":
        r = wire.token_request("intune")
    elif endpoint == "discovery":
        r = wire.get(wire.discovery_url(), headers={"Authorization": "Bearer " + graph})
    elif endpoint in ("downloadRevocationRequests", "uploadRevocationResults"):
        r = wire.revocation(endpoint, {})
    else:
        r = wire.scep(endpoint, {})
    assert r.status_code == 503 and r.json() == {"fault": True}
    rec = emu.requests(endpoint)[-1]
    assert rec["status"] == 503 and rec["fault"].startswith("f")


def test_delay(emu, wire):
    emu.add_fault("validateRequest", action="respond", status=200, body='{"code":"Success"}', delay_ms=300)
    t = time.monotonic()
    r = wire.scep("validateRequest", VALID)
    assert r.status_code == 200 and time.monotonic() - t >= 0.3


def test_delay_then_real_answer_via_drip_free_action(emu, wire):
    # a delay with reset_after_headers and no own answer sends the real head
    emu.add_fault("validateRequest", action="reset_after_headers", delay_ms=50)
    s = raw_request(emu, wire)
    data, cut = read_until_closed(s)
    s.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: " in head and body == b""
    # the request was really processed
    assert emu.validations()[-1]["code"] == "CertificateRequestDecodingFailed"


def test_reset(emu, wire):
    emu.add_fault("validateRequest", action="reset")
    s = raw_request(emu, wire)
    data, cut = read_until_closed(s)
    s.close()
    assert data == b""
    with pytest.raises(requests.ConnectionError):
        emu.add_fault("validateRequest", action="reset")
        wire.scep("validateRequest", VALID)
    assert emu.validations() == []  # never processed
    assert wire.scep("validateRequest", VALID).status_code == 200


def test_reset_after_headers_with_own_status(emu, wire):
    emu.add_fault("validateRequest", action="reset_after_headers", status=200, body='{"code":"Success"}')
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx(emu), timeout=10)
    conn.request("POST", "/ScepRequestValidationFEService/ScepActions/validateRequest", body=json.dumps(VALID),
                 headers=wire.intune_headers())
    resp = conn.getresponse()
    assert resp.status == 200 and int(resp.getheader("Content-Length")) == len('{"code":"Success"}')
    with pytest.raises((http.client.IncompleteRead, ConnectionError, ssl.SSLError)):
        resp.read()
    conn.close()


def test_short_body(emu, wire):
    emu.add_fault("validateRequest", action="short_body", status=200, body='{"code":"Success"}')
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx(emu), timeout=10)
    conn.request("POST", "/ScepRequestValidationFEService/ScepActions/validateRequest", body=json.dumps(VALID),
                 headers=wire.intune_headers())
    resp = conn.getresponse()
    assert int(resp.getheader("Content-Length")) > len('{"code":"Success"}')
    with pytest.raises((http.client.IncompleteRead, ConnectionError, ssl.SSLError)) as e:
        resp.read()
    if isinstance(e.value, http.client.IncompleteRead):
        assert e.value.partial == b'{"code":"Success"}'
    conn.close()


def test_oversize(emu, wire):
    emu.add_fault("validateRequest", action="oversize")
    r = wire.scep("validateRequest", VALID)
    assert r.status_code == 200 and len(r.content) > 2 * 1024 * 1024
    j = r.json()
    assert j["code"] == "CertificateRequestDecodingFailed" and len(j["padding"]) == 2 * 1024 * 1024


@pytest.mark.parametrize("status,expect", [(None, 302), (307, 307), (500, 302)])
def test_redirect(emu, wire, status, expect):
    kw = {"status": status} if status else {}
    emu.add_fault("validateRequest", action="redirect", body="http://127.0.0.1:9/plain", **kw)
    r = wire.post(emu.service_uri() + "/ScepActions/validateRequest", data=json.dumps(VALID),
                  headers=wire.intune_headers(), allow_redirects=False)
    assert r.status_code == expect and r.headers["Location"] == "http://127.0.0.1:9/plain"


def test_redirect_needs_target(emu):
    with pytest.raises(EmulatorControlError) as e:
        emu.add_fault("validateRequest", action="redirect")
    assert e.value.status == 400


def test_drip(emu, wire):
    emu.add_fault("validateRequest", action="drip", status=200, body="ok")
    s = raw_request(emu, wire)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 2" in head
    while not body:
        body += s.recv(1)
    assert body == b"o"
    s.settimeout(0.3)
    with pytest.raises(socket.timeout):
        s.recv(1)  # the next byte comes a second later
    s.settimeout(5)
    rest = s.recv(1)
    assert rest == b"k"
    s.close()


def test_hang_does_not_block_others_and_ends_on_disconnect(emu, wire):
    emu.add_fault("validateRequest", action="hang")
    s = raw_request(emu, wire, timeout=0.5)
    with pytest.raises(socket.timeout):
        s.recv(1)
    # meanwhile the server answers other connections
    other = type(wire)(emu)
    try:
        assert other.scep("validateRequest", VALID).status_code == 200
    finally:
        other.close()
    live_before = len(emu._server._live)
    s.close()
    deadline = time.monotonic() + 5
    while len(emu._server._live) >= live_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(emu._server._live) < live_before
    assert emu.validations()[-1]["transaction_id"] == "t" and len(emu.validations()) == 1


def test_bad_fault_specs(emu):
    for spec in ({"endpoint": "nope"}, {"endpoint": "token", "action": "explode"},
                 {"endpoint": "token", "times": -1}, {"endpoint": "token", "status": "500"},
                 {"endpoint": "token", "headers": {"X": "a\r\nb"}}, {"endpoint": "token", "delay_ms": -5},
                 {"endpoint": "token", "colour": 1}):
        with pytest.raises(EmulatorControlError) as e:
            emu._call("POST", "faults", spec)
        assert e.value.status == 400


def test_concurrent_requests_served(emu, wire):
    wire.token("intune")
    errors = []

    def worker():
        w = type(wire)(emu)
        try:
            w._tokens = dict(wire._tokens)
            for _ in range(10):
                if w.scep("validateRequest", VALID).status_code != 200:
                    errors.append("status")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            w.close()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(emu.validations()) == 40
    assert emu.stats()["connections"] == 5  # the token fetch, then one per worker


def test_add_fault_spellings(emu, wire):
    emu.add_fault({"endpoint": "validateRequest", "action": "respond", "status": 418})
    emu.add_fault("validateRequest", "respond", status=419)
    emu.add_fault(endpoint="validateRequest", status=420)
    assert [f["status"] for f in emu.faults()] == [418, 419, 420]
    assert [wire.scep("validateRequest", VALID).status_code for _ in range(4)] == [418, 419, 420, 200]
