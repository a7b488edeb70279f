# SPDX-License-Identifier: Apache-2.0
"""`intune-scep revocations download` and `... upload`, run as a program against
the Intune emulator: text and --json, the download -> outcomes -> upload round
trip, the argument and file checks (exit 2, nothing sent), and the exit codes of
the failures (3 rejected, 5 HTTP, 6 transport, 7 protocol)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import write_config
from cryptography.hazmat.primitives import serialization
from device import DemoCA

ISSUER = "CN=Contoso Issuing CA,O=Contoso"


def queue(emulator, *serials, issuer=ISSUER):
    r = emulator.call("POST", "revocations", {"requests": [
        {"serialNumber": s, "issuerName": issuer, "caConfiguration": "ca01\\Contoso"} for s in serials]})
    return [q["requestContext"] for q in r["queued"]]


def test_help_carries_microsofts_guidance(run):
    r = run("revocations", "--help")
    assert r.code == 0, r
    for words in ("download", "upload", "1-500", "default 100", "256 characters", "once an hour"):
        assert words in r.out, (words, r.out)
    assert "revocations" in run("--help").out


@pytest.mark.parametrize("args, words", [
    (["revocations"], "needs a subcommand"),
    (["revocations", "revoke"], "unknown subcommand"),
    (["revocations", "download", "--max", "0"], "--max '0' must be a number from 1 to 500"),
    (["revocations", "download", "--max", "501"], "from 1 to 500"),
    (["revocations", "download", "--max", "12x"], "from 1 to 500"),
    (["revocations", "download", "--issuer", "CN=" + "x" * 254], "--issuer is longer than 256"),
    (["revocations", "download", "extra.json"], "unexpected argument"),
    (["revocations", "upload"], "needs the RESULTS.json file"),
    (["revocations", "upload", "r.json", "--max", "5"], "apply to 'revocations download' only"),
    (["validate", "--max", "5"], "does not apply to 'validate'"),
])
def test_usage_errors_exit_2_and_send_nothing(run, emulator, config_file, args, words):
    r = run("-c", config_file, *args)
    assert r.code == 2, r
    assert words in r.err, r
    j = run("-c", config_file, "--json", *args).json()
    assert j["exit_code"] == 2 and words in j["message"], j
    assert emulator.requests() == []


def test_download_text(run, emulator, config_file):
    queue(emulator, "0A1B2C", "0D0E0F")
    queue(emulator, "FF", issuer="CN=Other CA")
    r = run("-c", config_file, "revocations", "download", "--issuer", ISSUER)
    assert r.code == 0, r
    assert f"2 requests (max 100, issuer {ISSUER})" in r.out, r
    assert "1. serial 0A1B2C" in r.out and "2. serial 0D0E0F" in r.out and "FF" not in r.out, r
    assert re.search(r"activity id:? +[0-9a-f-]{36}", r.out), r
    assert "revocations upload" in r.out
    (req,) = emulator.requests("downloadRevocationRequests")
    assert req["json"] == {"downloadParameters": {"maxRequests": 100, "issuerName": ISSUER}}


def test_download_upload_round_trip_json(run, emulator, config_file, tmp_path):
    contexts = queue(emulator, "0A", "DEAD01", "0C")
    r = run("-c", config_file, "--json", "revocations", "download", "--max", "50")
    assert r.code == 0, r
    j = r.json()
    assert j["ok"] is True and j["status"] == "INTUNE_SCEP_OK" and j["count"] == 3 and j["max_requests"] == 50
    assert [x["requestContext"] for x in j["requests"]] == contexts
    assert j["requests"][0] == {"requestContext": contexts[0], "serialNumber": "0A", "issuerName": ISSUER,
                                "caConfiguration": "ca01\\Contoso"}
    # the CA adds each request's outcome to what download printed, and uploads it
    for x in j["requests"]:
        if x["serialNumber"].startswith("DEAD"):
            x.update(succeeded=False, errorCode="4004", errorMessage="no certificate with serial " + x["serialNumber"])
        else:
            x.update(succeeded=True)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(j))
    u = run("-c", config_file, "revocations", "upload", str(results))
    assert u.code == 0, u
    assert "Intune took 3 results (2 revoked, 1 failed)" in u.out, u
    got = emulator.call("GET", "revocation_results")
    assert [(g["requestContext"], g["succeeded"], g["errorCode"]) for g in got] == [
        (contexts[0], True, "0"), (contexts[1], False, "4004"), (contexts[2], True, "0")]
    assert got[1]["errorMessage"] == "no certificate with serial DEAD01"
    assert all(g["known_request"] for g in got)
    uj = run("-c", config_file, "--json", "revocations", "upload", str(results)).json()
    assert uj["ok"] is True and uj["count"] == 3 and uj["succeeded"] == 2 and uj["failed"] == 1 and uj["exit_code"] == 0


def test_download_nothing_queued(run, emulator, config_file):
    r = run("-c", config_file, "revocations", "download")
    assert r.code == 0 and "0 requests" in r.out, r


@pytest.mark.parametrize("content, words", [
    ("not json", "not JSON"),
    ("[]", "no results"),
    ('{"requests": []}', "no results"),
    ('[{"succeeded": true}]', 'result 0 has no "requestContext"'),
    ('[{"requestContext": "c1"}]', 'result 0 has no "succeeded"'),
    ('[{"requestContext": "c1", "succeeded": "yes"}]', 'result 0 has no "succeeded"'),
    ('[{"requestContext": "c1", "succeeded": true, "errorCode": 4004}]', "not a string"),
    ('[{"requestContext": "c1", "succeeded": false}]', "error_code is required"),
    ('[{"requestContext": "c1", "succeeded": false, "errorCode": "0"}]', "must not be"),
    ('[{"requestContext": "c1", "succeeded": true, "errorCode": "4004"}]', "must be \\\"0\\\""),
    ('[{"requestContext": "c1", "succeeded": false, "errorCode": "9999"}]', "must be one of"),
    ('[{"requestContext": "c1", "succeeded": true}, 7]', "result 1 is not an object"),
])
def test_upload_file_checked_before_anything_is_sent(run, emulator, config_file, tmp_path, content, words):
    f = tmp_path / "r.json"
    f.write_text(content)
    r = run("-c", config_file, "--json", "revocations", "upload", str(f))
    j = r.json()
    assert r.code == 2 and j["exit_code"] == 2, r
    assert words.replace("\\\"", '"') in j["message"], j
    assert emulator.requests() == []


def test_upload_missing_file_exit_2(run, emulator, config_file, tmp_path):
    r = run("-c", config_file, "revocations", "upload", str(tmp_path / "nope.json"))
    assert r.code == 2 and "nope.json" in r.err, r


def _results(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('[{"requestContext": "c1", "succeeded": true}]')
    return str(f)


def test_upload_value_false_exit_3(run, emulator, config_file, tmp_path):
    emulator.fault(endpoint="uploadRevocationResults", status=200, body='{"value": false}', times=0)
    r = run("-c", config_file, "revocations", "upload", _results(tmp_path))
    assert r.code == 3, r
    assert "REJECTED by Intune" in r.out and "fix" in r.out, r
    j = run("-c", config_file, "--json", "revocations", "upload", _results(tmp_path)).json()
    assert j["ok"] is False and j["status"] == "INTUNE_SCEP_E_REJECTED" and j["exit_code"] == 3 and j["fix"]
    assert re.match(r"^[0-9a-f-]{36}$", j["activity_id"]), j


def test_http_500_exit_5_and_not_json_exit_7(run, emulator, config_file, tmp_path):
    emulator.fault(endpoint="downloadRevocationRequests", status=500, body='{"error":"down"}', times=0)
    j = run("-c", config_file, "--json", "revocations", "download").json()
    assert j["exit_code"] == 5 and j["http_status"] == 500 and j["status"] == "INTUNE_SCEP_E_HTTP", j
    assert len(emulator.requests("downloadRevocationRequests")) == 3  # MAX_RETRIES 2
    emulator.reset()
    emulator.fault(endpoint="uploadRevocationResults", status=200, body="yes", times=0)
    r = run("-c", config_file, "revocations", "upload", _results(tmp_path))
    assert r.code == 7 and "FAILED: INTUNE_SCEP_E_PROTOCOL" in r.out, r


def test_tls_other_ca_exit_6(run, emulator, tmp_path):
    other = DemoCA("CN=Some Other CA")
    pem = tmp_path / "other-ca.pem"
    pem.write_bytes(other.cert.public_bytes(serialization.Encoding.PEM))
    path = write_config(str(tmp_path / "c.properties"), emulator.config, TLS_CA_FILE=str(pem))
    r = run("-c", path, "revocations", "download")
    assert r.code == 6, r
    assert emulator.requests() == []
