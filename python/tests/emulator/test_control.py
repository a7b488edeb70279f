# SPDX-License-Identifier: Apache-2.0
"""Control API and plumbing: recorded requests, stats, move_endpoint, reset, discovery,
revocation, loopback-only control, hostile bytes."""

import http.client
import json
import socket
import ssl
import time

import pytest

from intune_scep.emulator import ControlClient, EmulatorControlError
from intune_scep.emulator.server import is_loopback

VALID = {"request": {"transactionId": "t", "certificateRequest": "MIIB", "callerInfo": "c"}}
INTUNE_APP = "0000000a-0000-0000-c000-000000000000"


def ctx(emu):
    return ssl.create_default_context(cafile=emu.ca_file)


def test_recorded_requests_read_back_exactly(emu, wire):
    token = wire.token("intune")
    body = json.dumps({"request": {"transactionId": "tx-ü", "certificateRequest": "MIIB", "callerInfo": "Contoso CA/1.0"}},
                      ensure_ascii=False).encode("utf-8")
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx(emu), timeout=10)
    conn.putrequest("POST", "/ScepRequestValidationFEService/ScepActions/validateRequest?x=1&y=%20",
                    skip_host=True, skip_accept_encoding=True)
    sent = [("Host", "127.0.0.1:%d" % emu.port), ("Authorization", "Bearer " + token),
            ("Content-Type", "application/json"), ("client-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
            ("api-version", "2018-02-20"), ("UserAgent", "Contoso CA/1.0"), ("User-Agent", "intune-scep/0.1"),
            ("X-Repeated", "a"), ("x-repeated", "b"), ("Content-Length", str(len(body)))]
    for k, v in sent:
        conn.putheader(k, v)
    conn.endheaders(body)
    assert conn.getresponse().status == 200
    conn.close()
    recs = emu.requests("validateRequest")
    assert len(recs) == 1
    r = recs[0]
    assert r["method"] == "POST"
    assert r["path"] == "/ScepRequestValidationFEService/ScepActions/validateRequest"
    assert r["query"] == "x=1&y=%20"
    assert r["endpoint"] == "validateRequest"
    assert r["headers"] == {"host": "127.0.0.1:%d" % emu.port, "authorization": "Bearer " + token,
                            "content-type": "application/json",
                            "client-request-id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                            "api-version": "2018-02-20", "useragent": "Contoso CA/1.0",
                            "user-agent": "intune-scep/0.1", "x-repeated": "a, b",
                            "content-length": str(len(body))}
    assert r["body"] == body.decode("utf-8")
    assert r["json"]["request"]["transactionId"] == "tx-ü"
    assert r["status"] == 200 and abs(r["time"] - time.time()) < 60
    # token requests are recorded too (oldest first), control calls are not
    all_recs = emu.requests()
    assert [x["endpoint"] for x in all_recs] == ["token", "validateRequest"]
    assert all_recs[0]["body"].startswith("grant_type=")


def test_stats_connections_prove_reuse(emu, wire):
    wire.token("intune")
    for _ in range(5):
        assert wire.scep("validateRequest", VALID).status_code == 200
    st = emu.stats()
    assert st["connections"] == 1
    assert st["requests"] == 6
    assert st["token_requests"] == {"graph": 0, "intune": 1}
    assert st["endpoints"] == {"token": 1, "validateRequest": 5}
    other = type(wire)(emu)
    other._tokens = dict(wire._tokens)
    other.scep("validateRequest", VALID)
    other.close()
    assert emu.stats()["connections"] == 2


def test_discovery_pagination_and_contents(emu, wire):
    emu.settings(page_size=2, extra_endpoints=5)
    graph = wire.token("graph")
    url, pages, entries = wire.discovery_url(), 0, []
    while url:
        r = wire.get(url, headers={"Authorization": "Bearer " + graph})
        assert r.status_code == 200
        j = r.json()
        assert len(j["value"]) <= 2 and "@odata.context" in j
        entries += j["value"]
        url = j.get("@odata.nextLink")
        if url:
            assert url.startswith(emu.base_url + "v1.0/servicePrincipals/appId=%s/endpoints?$skiptoken=" % INTUNE_APP)
        pages += 1
    assert pages == 4 and len(entries) == 7
    names = [e["providerName"] for e in entries]
    assert names.index("ScepRequestValidationFEService") > 0  # unrelated entries come first
    byname = {e["providerName"]: e["uri"] for e in entries}
    assert byname["ScepRequestValidationFEService"] == emu.base_url + "ScepRequestValidationFEService"
    assert byname["PkiConnectorFEService"] == emu.base_url + "PkiConnectorFEService"
    assert any("someFutureField" in e for e in entries)
    assert all(set(("id", "capability", "providerId", "providerName", "providerResourceId", "uri")) <= set(e)
               for e in entries)
    assert emu.stats()["endpoints"]["discovery"] == 4


def test_discovery_single_page_mixed_case_and_errors(emu, wire):
    emu.settings(mixed_case_names=True)
    graph = wire.token("graph")
    j = wire.get(wire.discovery_url(), headers={"Authorization": "Bearer " + graph}).json()
    assert "@odata.nextLink" not in j
    names = [e["providerName"] for e in j["value"]]
    assert "sceprequestvalidationfeservice" in names and "PKICONNECTORFESERVICE" in names
    r = wire.get(wire.discovery_url("11111111-1111-1111-1111-111111111111"), headers={"Authorization": "Bearer " + graph})
    assert r.status_code == 404 and r.json()["error"]["code"] == "Request_ResourceNotFound"
    r = wire.get(wire.discovery_url())
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
    r = wire.get(wire.discovery_url() + "?$skiptoken=zz", headers={"Authorization": "Bearer " + graph})
    assert r.status_code == 400


def test_move_endpoint(emu, wire):
    old = emu.service_uri()
    new = emu.move_endpoint()
    assert new != old and new.endswith("/ScepRequestValidationFEService")
    r = wire.post(old + "/ScepActions/validateRequest", data=json.dumps(VALID), headers=wire.intune_headers())
    assert r.status_code == 404
    r = wire.post(new + "/ScepActions/validateRequest", data=json.dumps(VALID), headers=wire.intune_headers())
    assert r.status_code == 200
    graph = wire.token("graph")
    j = wire.get(wire.discovery_url(), headers={"Authorization": "Bearer " + graph}).json()
    assert {e["providerName"]: e["uri"] for e in j["value"]}["ScepRequestValidationFEService"] == new
    recs = emu.requests("validateRequest")
    assert [x["status"] for x in recs] == [404, 200]
    # faults only hit the live path
    emu.add_fault("validateRequest", status=500)
    r = wire.post(old + "/ScepActions/validateRequest", data=json.dumps(VALID), headers=wire.intune_headers())
    assert r.status_code == 404
    new_pki = emu.move_endpoint("PkiConnectorFEService")
    assert new_pki.endswith("/PkiConnectorFEService") and new_pki != emu.base_url + "PkiConnectorFEService"
    with pytest.raises(EmulatorControlError):
        emu.move_endpoint("Nope")
    emu.reset()
    assert emu.service_uri() == old


def test_reset_clears_everything_but_tokens(emu, wire):
    p = {"subject": "CN=x"}
    emu.issue_challenge(p)
    emu.add_fault("discovery", status=500)
    emu.settings(page_size=1, token_lifetime=10)
    wire.scep("validateRequest", VALID)
    wire.scep("failureNotification", {"notification": {"transactionId": "t", "certificateRequest": "x", "hResult": 1,
                                                       "errorDescription": "x", "callerInfo": "c"}})
    emu.queue_revocations([{"serialNumber": "01", "issuerName": "CN=CA"}])
    emu.reset()
    assert emu.requests() == [] and emu.validations() == [] and emu.faults() == []
    assert emu.notifications() == {"success": [], "failure": [], "rejected": []}
    st = emu.stats()
    assert st["connections"] == 0 and st["requests"] == 0 and st["token_requests"] == {"graph": 0, "intune": 0}
    s = emu.get_settings()
    assert s["page_size"] == 0 and s["token_lifetime"] == 3599 and "app_secret" not in s
    assert wire.scep("validateRequest", VALID).status_code == 200  # token still valid
    assert wire.revocation("downloadRevocationRequests",
                           {"downloadParameters": {"maxRequests": 10, "issuerName": None}}).json()["value"] == []


def test_settings_validation(emu):
    for bad in ({"page_size": "2"}, {"token_lifetime": -1}, {"nope": 1}, {"expires_in_as_string": 1},
                {"client_certificates": ["not pem"]}):
        with pytest.raises(EmulatorControlError) as e:
            emu.settings(**bad)
        assert e.value.status == 400


def test_revocation_round_trip(emu, wire):
    queued = emu.queue_revocations([
        {"serialNumber": "0A1B", "issuerName": "CN=Issuing CA 1", "caConfiguration": "ca1\\Issuing"},
        {"serialNumber": "0C2D", "issuerName": "CN=Issuing CA 2", "caConfiguration": None},
        {"serialNumber": "0E3F", "issuerName": "CN=Issuing CA 1"},
    ])
    assert all(q["requestContext"] for q in queued)
    r = wire.revocation("downloadRevocationRequests", {"downloadParameters": {"maxRequests": 1, "issuerName": "CN=Issuing CA 1"}})
    assert r.status_code == 200
    got = r.json()["value"]
    assert got == [queued[0]]
    r = wire.revocation("downloadRevocationRequests", {"downloadParameters": {"maxRequests": 500, "issuerName": None}})
    got2 = r.json()["value"]
    assert got2 == [queued[1], queued[2]]
    results = [{"requestContext": queued[0]["requestContext"], "succeeded": True, "errorCode": "0", "errorMessage": None},
               {"requestContext": queued[1]["requestContext"], "succeeded": False, "errorCode": "4004",
                "errorMessage": "not found"},
               {"requestContext": "unknown-ctx", "succeeded": False, "errorCode": "4100", "errorMessage": "later"}]
    r = wire.revocation("uploadRevocationResults", {"results": results})
    assert r.status_code == 200 and r.json()["value"] is True
    rec = emu.revocation_results()
    assert [x["known_request"] for x in rec] == [True, True, False]
    assert [x["errorCode"] for x in rec] == ["0", "4004", "4100"]


@pytest.mark.parametrize("action,body", [
    ("downloadRevocationRequests", {"downloadParameters": {"maxRequests": 0, "issuerName": None}}),
    ("downloadRevocationRequests", {"downloadParameters": {"maxRequests": 501, "issuerName": None}}),
    ("downloadRevocationRequests", {"downloadParameters": {"maxRequests": "5"}}),
    ("downloadRevocationRequests", {"downloadParameters": {"maxRequests": 5, "issuerName": 7}}),
    ("downloadRevocationRequests", {"maxRequests": 5}),
    ("uploadRevocationResults", {"results": [{"requestContext": "c", "succeeded": True, "errorCode": "4000"}]}),
    ("uploadRevocationResults", {"results": [{"requestContext": "c", "succeeded": False, "errorCode": "0"}]}),
    ("uploadRevocationResults", {"results": [{"requestContext": "c", "succeeded": "yes", "errorCode": "0"}]}),
    ("uploadRevocationResults", {"results": [{"requestContext": "c", "succeeded": False, "errorCode": "9999"}]}),
    ("uploadRevocationResults", {"results": [{"requestContext": "c", "succeeded": True}]}),
    ("uploadRevocationResults", {"results": []}),
])
def test_revocation_shapes(emu, wire, action, body):
    r = wire.revocation(action, body)
    assert r.status_code == 400, r.text


def test_revocation_api_version(emu, wire):
    r = wire.revocation("downloadRevocationRequests", {"downloadParameters": {"maxRequests": 1, "issuerName": None}},
                        headers=wire.intune_headers(api_version="2018-02-20"))
    assert r.status_code == 400


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.10") and is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("192.0.2.7") and not is_loopback("10.0.0.1") and not is_loopback("fd00::2")
    assert not is_loopback("localhost-ish")


def _non_loopback_ip():
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("192.0.2.254", 9))  # no packet is sent
        ip = s.getsockname()[0]
        s.close()
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def test_control_refuses_non_loopback_peer(tmp_path):
    from intune_scep.emulator import Emulator
    ip = _non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    with Emulator(host="0.0.0.0", workdir=str(tmp_path)) as emu:
        c = ssl.create_default_context(cafile=emu.ca_file)
        c.check_hostname = False
        conn = http.client.HTTPSConnection(ip, emu.port, context=c, timeout=10)
        conn.request("GET", "/_emulator/stats")
        r = conn.getresponse()
        assert r.status == 403 and "loopback" in r.read().decode()
        conn.close()
        assert emu.stats()["requests"] == 0  # loopback still works


def test_control_client_against_urls(emu):
    c = ControlClient(emu.control_url, emu.ca_file)
    assert c.stats()["requests"] == 0
    with pytest.raises(EmulatorControlError) as e:
        c._call("GET", "no/such/call")
    assert e.value.status == 404
    with pytest.raises(ValueError):
        ControlClient("http://127.0.0.1:1/_emulator/", emu.ca_file)


def _raw_tls(emu, payload, read=True):
    s = socket.create_connection(("127.0.0.1", emu.port), timeout=10)
    t = ssl.create_default_context(cafile=emu.ca_file).wrap_socket(s, server_hostname="127.0.0.1")
    t.sendall(payload)
    out = b""
    if read:
        try:
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and b"Connection: close" in out:
                    head, _, body = out.partition(b"\r\n\r\n")
                    cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                    if cl and len(body) >= cl[0]:
                        break
        except (OSError, ssl.SSLError):
            pass
    t.close()
    return out


def test_hostile_bytes_do_not_crash(emu, wire):
    # a huge Content-Length is refused before the body is read
    out = _raw_tls(emu, b"POST /x/oauth2/v2.0/token HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413")
    out = _raw_tls(emu, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400")
    out = _raw_tls(emu, b"\x00\x01\x02garbage\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400") or out == b""
    out = _raw_tls(emu, b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n")
    assert out.startswith(b"HTTP/1.1 431") or out.startswith(b"HTTP/1.1 400")
    # chunked bodies work; bad chunks are refused
    out = _raw_tls(emu, b"POST /_emulator/challenges HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                        b"Connection: close\r\n\r\n11\r\n{\"subject\":\"CN=x\"\r\n1\r\n}\r\n0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200") and b'"challenge"' in out
    out = _raw_tls(emu, b"POST /_emulator/challenges HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert out.startswith(b"HTTP/1.1 400")
    # plain HTTP and TLS garbage on the TLS port
    s = socket.create_connection(("127.0.0.1", emu.port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
    s = socket.create_connection(("127.0.0.1", emu.port), timeout=10)
    s.sendall(b"\x16\x03\x01\xff\xff" + b"\x00" * 100)
    s.close()
    # bad JSON, bad base64, wrong types on the control API and the services
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx(emu), timeout=10)
    conn.request("POST", "/_emulator/challenges", body=b"{nope", headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 400 and "JSON" in r.read().decode()
    conn.close()
    assert wire.scep("validateRequest", {"request": {"transactionId": "t", "certificateRequest": "%%%",
                                                     "callerInfo": "c"}}).json()["code"] == "CertificateRequestDecodingFailed"
    assert wire.scep("successNotification", None, raw=b"\x00\xff" * 100).status_code == 400
    assert wire.scep("validateRequest", None, raw="[" * 100000).status_code == 400
    # after all that, the server still serves
    assert wire.scep("validateRequest", VALID).status_code == 200
    assert emu.stats()["requests"] >= 1


def test_max_body_setting(emu, wire):
    emu.settings(max_body=1000)
    r = wire.scep("validateRequest", None, raw="x" * 2000)
    assert r.status_code == 413
    emu.reset()
    assert wire.scep("validateRequest", VALID).status_code == 200


def test_unknown_paths_and_methods(emu, wire):
    r = wire.get(emu.base_url + "nothing/here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NotFound"
    r = wire.get(emu.token_url)
    assert r.status_code == 405
    rec = emu.requests()
    assert rec[0]["endpoint"] is None and rec[0]["status"] == 404
    assert rec[1]["endpoint"] == "token" and rec[1]["status"] == 405


def test_max_recorded_keeps_newest(emu, wire):
    emu.settings(max_recorded=3)
    wire.token("intune")
    for i in range(5):
        body = {"request": {"transactionId": "t%d" % i, "certificateRequest": "MIIB", "callerInfo": "c"}}
        wire.scep("validateRequest", body)
    recs = emu.requests()
    assert [r["json"]["request"]["transactionId"] for r in recs] == ["t2", "t3", "t4"]
    assert emu.stats()["requests"] == 6


def test_random_bodies_never_500(emu, wire):
    import random
    rnd = random.Random(1234)
    wire.token("intune")
    values = [None, True, 0, -1, 2 ** 70, 1.5, "", "x", [], [1, "a"], {}, {"a": {"b": []}},
              {"subject": 5}, {"request": None}, {"notification": []}, {"results": [None]},
              {"downloadParameters": {"maxRequests": None}}, {"endpoint": "token", "headers": []},
              {"requests": [{"serialNumber": 1}]}, {"token_lifetime": None}]
    paths = [("POST", emu.service_uri() + "/ScepActions/" + a) for a in
             ("validateRequest", "successNotification", "failureNotification")]
    paths += [("POST", emu.service_uri("PkiConnectorFEService") + "/CertificateAuthorityRequests/" + a)
              for a in ("downloadRevocationRequests", "uploadRevocationResults")]
    paths += [("POST", emu.control_url + c) for c in ("challenges", "faults", "settings", "revocations",
                                                       "move_endpoint", "profiles/x/untarget")]
    paths += [("POST", emu.token_url)]
    seen = set()
    for i in range(300):
        method, url = paths[i % len(paths)]
        if rnd.random() < 0.3:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 64)))
        else:
            v = rnd.choice(values)
            if isinstance(v, dict) and rnd.random() < 0.5:
                v = {"request": v, "notification": v}
            data = json.dumps(v).encode()
        headers = wire.intune_headers(api_version="5019-05-05" if "Pki" in url else "2018-02-20")
        r = wire.post(url, data=data, headers=headers)
        seen.add(r.status_code)
        assert r.status_code != 500 and r.status_code < 600, (url, data, r.text)
    assert 400 in seen
    emu.clear_faults()
    emu.reset()
    assert wire.scep("validateRequest", VALID).status_code == 200


# -- device/csr and device/certificate: the tests' one CSR and certificate builder -----------

def _csr(answer):
    from cryptography import x509
    import base64
    return x509.load_der_x509_csr(base64.b64decode(answer["csr"]))


def test_device_csr_for_a_profile_validates(emu, wire):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    profile = {"subject": "CN=alice,O=Contoso", "san_emails": ["alice@contoso.com"], "san_upns": ["alice@contoso.com"],
               "san_dns": ["alice-pc.contoso.com"], "key_usage": ["digitalSignature", "keyEncipherment"],
               "ekus": ["1.3.6.1.5.5.7.3.2"], "key_size": 2048, "hash_algorithms": ["sha256"]}
    d = emu.device_csr(profile)
    assert set(d) == {"csr", "csr_pem", "key_pem", "challenge", "profile_id"}
    assert d["profile_id"].startswith("p-") and d["challenge"].startswith("EMU1.")
    csr = _csr(d)
    assert csr.is_signature_valid and csr.signature_hash_algorithm.name == "sha256"
    assert csr.subject.rfc4514_string() == "CN=alice,O=Contoso"
    assert x509.load_pem_x509_csr(d["csr_pem"].encode()).public_bytes(serialization.Encoding.DER) == \
        csr.public_bytes(serialization.Encoding.DER)
    key = serialization.load_pem_private_key(d["key_pem"].encode(), None)
    assert key.public_key().public_numbers() == csr.public_key().public_numbers()
    assert wire.validate(d["csr"]) == "Success"
    # the same profile again: a new challenge, the same (cached) key unless a fresh one is asked for
    again = emu.device_csr(dict(profile, profile_id=d["profile_id"]))
    assert again["challenge"] != d["challenge"] and again["profile_id"] == d["profile_id"]
    assert again["key_pem"] == d["key_pem"]
    fresh = emu.device_csr(profile, fresh_key=True)
    assert fresh["key_pem"] != d["key_pem"]
    assert wire.validate(fresh["csr"], "tid-2") == "Success"


@pytest.mark.parametrize("fields,code", [
    ({"subject": "CN=mallory"}, "SubjectNameMismatch"),
    ({"subject": ""}, "SubjectNameMissing"),
    ({"san_emails": []}, "SubjectAltNameMissing"),
    ({"san_emails": ["mallory@contoso.com"]}, "SubjectAltNameMismatch"),
    ({"key_usage": []}, "KeyUsageMismatch"),
    ({"key_size": 1024}, "KeyLengthMismatch"),
    ({"ekus": []}, "EnhancedKeyUsageMissing"),
    ({"ekus": ["1.3.6.1.5.5.7.3.6"]}, "EnhancedKeyUsageMismatch"),
    ({"hash": "sha1"}, "SignatureValidationFailed"),
    ({"challenge": None}, "ChallengePasswordMissing"),
    ({"challenge": "hello"}, "ChallengeDecodingError"),
    ({"tamper_challenge": True}, "ChallengeDeserializationError"),
    ({"corrupt_signature": True}, "SignatureValidationFailed"),
])
def test_device_csr_changes_exactly_what_is_asked(emu, wire, fields, code):
    profile = {"subject": "CN=alice", "san_emails": ["alice@contoso.com"], "key_usage": ["digitalSignature"],
               "key_size": 2048, "ekus": ["1.3.6.1.5.5.7.3.2"], "hash_algorithms": ["sha256"]}
    assert wire.validate(emu.device_csr(profile)["csr"]) == "Success"
    assert wire.validate(emu.device_csr(profile, **fields)["csr"]) == code


def test_device_csr_without_a_profile(emu):
    d = emu.device_csr(subject="CN=bob", challenge="given-challenge", hash="sha1", key_size=1024,
                       san_dns=["bob.contoso.com"], ekus=["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.6"])
    assert d["challenge"] == "given-challenge" and d["profile_id"] is None
    csr = _csr(d)
    assert csr.signature_hash_algorithm.name == "sha1" and csr.public_key().key_size == 1024
    assert csr.subject.rfc4514_string() == "CN=bob"
    # a key of the caller's: the request carries it, whatever its size
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives import serialization
    own = rsa.generate_private_key(public_exponent=65537, key_size=1536)
    pem = own.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    mine = emu.device_csr(subject="CN=bob", key_pem=pem)
    assert _csr(mine).public_key().public_numbers() == own.public_key().public_numbers()
    bare = _csr(emu.device_csr(key_type="ec", key_size=384))
    assert bare.subject.rfc4514_string() == "" and len(bare.attributes) == 0 and bare.public_key().key_size == 384


@pytest.mark.parametrize("body,names", [
    ({"nope": 1}, "nope"), ({"profile": "CN=x"}, "profile"), ({"profile": {"subject": 3}}, "subject"),
    ({"profile": {"subject": "CN=x", "bogus": 1}}, "bogus"), ({"key_size": "2048"}, "key_size"),
    ({"key_size": True}, "key_size"), ({"key_size": 1000}, "key_size"), ({"key_type": "dsa"}, "key_type"),
    ({"hash": "md5"}, "hash"), ({"san_emails": "a@b.c"}, "san_emails"), ({"ekus": ["not-an-oid"]}, "ekus"),
    ({"key_usage": ["bogus"]}, "key usage"), ({"subject": "not a name"}, "subject"),
    ({"challenge": 5}, "challenge"), ({"fresh_key": "yes"}, "fresh_key"),
    ({"tamper_challenge": True}, "tamper_challenge"), ({"key_pem": "not a key"}, "key_pem"),
    ({"key_pem": 1}, "key_pem"),
])
def test_device_csr_refusals_name_the_field(emu, body, names):
    with pytest.raises(EmulatorControlError) as e:
        emu._call("POST", "device/csr", body)
    assert e.value.status == 400 and names in e.value.body, e.value.body


def test_device_csr_body_must_be_an_object(emu):
    for raw in (b"[1]", b"not json", b'"x"'):
        conn = http.client.HTTPSConnection("127.0.0.1", int(emu.base_url.rsplit(":", 1)[1].strip("/")),
                                           context=ctx(emu), timeout=10)
        conn.request("POST", "/_emulator/device/csr", body=raw, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status == 400, raw
        r.read()
        conn.close()


def test_device_certificate(emu, wire):
    import base64
    import datetime
    import hashlib
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    d = emu.device_csr({"subject": "CN=alice,O=Contoso", "san_upns": ["alice@contoso.com"],
                        "key_usage": ["digitalSignature"], "ekus": ["1.3.6.1.5.5.7.3.2"]})
    a = emu.device_certificate(d["csr"], validity_days=30)
    der = base64.b64decode(a["certificate"])
    cert = x509.load_der_x509_certificate(der)
    assert x509.load_pem_x509_certificate(a["certificate_pem"].encode()) == cert
    ca = x509.load_pem_x509_certificate(a["ca_pem"].encode())
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    assert cert.issuer == ca.subject and cert.subject == _csr(d).subject
    assert cert.public_key().public_numbers() == _csr(d).public_key().public_numbers()
    for cls in (x509.SubjectAlternativeName, x509.KeyUsage, x509.ExtendedKeyUsage):
        assert cert.extensions.get_extension_for_class(cls).value == _csr(d).extensions.get_extension_for_class(cls).value
    after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    assert after - before == datetime.timedelta(days=30)
    assert a["certificateThumbprint"] == hashlib.sha1(der).hexdigest().upper()
    assert a["certificateSerialNumber"] == format(cert.serial_number, "X")
    assert a["certificateExpirationDateUtc"] == after.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert a["issuingCertificateAuthority"] == ca.subject.rfc4514_string()
    # PEM and base64 wrapped in lines are read too; one CA for the emulator's life, resets included
    emu.reset()
    b64 = d["csr"]
    for form in (d["csr_pem"], "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))):
        assert emu.device_certificate(form)["ca_pem"] == a["ca_pem"]


@pytest.mark.parametrize("body,names", [
    ({}, "csr"), ({"csr": ""}, "csr"), ({"csr": 5}, "csr"), ({"csr": "bm90IGEgY3Ny"}, "csr"),
    ({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}, "csr"),
    ({"csr": "\u00e9\u00e9"}, "csr"), ({"csr": "MIIB", "validity_days": 0}, "validity_days"),
    ({"csr": "MIIB", "validity_days": True}, "validity_days"), ({"csr": "MIIB", "validity_days": 36501}, "validity_days"),
    ({"csr": "MIIB", "other": 1}, "other"),
])
def test_device_certificate_refusals_name_the_field(emu, body, names):
    with pytest.raises(EmulatorControlError) as e:
        emu._call("POST", "device/certificate", body)
    assert e.value.status == 400 and names in e.value.body, e.value.body
