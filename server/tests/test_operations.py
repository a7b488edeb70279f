# SPDX-License-Identifier: Apache-2.0
"""intune-scep-server in operation: the revocation worker and its CRL, the health endpoint and
the metrics, signals (SIGTERM, SIGHUP, SIGUSR1), a SIGKILL in the middle of a burst, and hostile
PKIOperation messages. Real clients (micromdm's scepclient) against the Intune emulator."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import PKI_BIN, SCEPCLIENT_BIN, ScepServer
from test_server import clients_rerun_micromdm, serial_hex, thumbprint

pytestmark = pytest.mark.skipif(not PKI_BIN or not SCEPCLIENT_BIN,
                                reason="strongswan-pki and scep (scepclient) must be installed: scripts/install-deps.sh")

ISSUER = "CN=Contoso Test Issuing CA,O=Contoso Test"


def enroll(server, emulator, clients, cn):
    profile = {"subject": f"CN={cn},OU=MDM,O=scep-client,C=US"}
    run = clients.micromdm(server.url(), cn, emulator.issue_challenge(profile)["challenge"])
    assert run.code == 0, run
    return run


def run_worker(server):
    r = requests.post(server.admin("/revocations/run"), timeout=60)
    return r.status_code, r.json()


def get_crl(server):
    r = requests.get(server.url("/crl"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pkix-crl"
    return x509.load_der_x509_crl(r.content)


def openssl_verify_crl(pki, cert, crl, tmp_path, name):
    cp = tmp_path / f"{name}.pem"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    crlp = tmp_path / f"{name}-crl.pem"
    crlp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return subprocess.run(["openssl", "verify", "-crl_check", "-CAfile", pki.path("root.pem"), "-untrusted",
                           pki.path("ca.pem"), "-CRLfile", str(crlp), str(cp)], capture_output=True, text=True)


def metric(server, name_with_labels):
    text = requests.get(server.admin("/metrics"), timeout=10).text
    for ln in text.splitlines():
        if ln.startswith(name_with_labels + " "):
            return float(ln.split()[-1])
    return 0.0


# --------------------------------------------------------------------------------------------
# Revocation: Intune's queue -> the database -> the CRL -> the uploaded results.
# --------------------------------------------------------------------------------------------

def test_revocation_run_revokes_publishes_the_crl_and_uploads_the_codes(server, emulator, clients, pki, tmp_path):
    doomed = enroll(server, emulator, clients, "rev1").cert
    kept = enroll(server, emulator, clients, "rev2").cert
    start = len(server.lines)
    # the serial as Intune might send it: lower case with a leading zero (same canonical serial)
    queued = emulator.queue_revocations([
        {"serialNumber": "0" + serial_hex(doomed).lower(), "issuerName": ISSUER, "caConfiguration": "ca1"},
        {"serialNumber": "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "issuerName": ISSUER},  # never issued
        {"serialNumber": "12:34", "issuerName": ISSUER},                              # not the canonical form
    ])
    code, summary = run_worker(server)
    assert code == 200, summary
    assert summary == {"outcome": "ok", "requests": 3, "revoked": 1, "again": 0, "not_found": 1, "conflict": 0,
                       "invalid": 1}
    line = server.wait_line("revocation run outcome=ok", start)
    assert "revoked=1" in line and "not_found=1" in line
    # the download asked at most 100 requests, filtered by the issuer the success notifications carry
    down = emulator.requests("downloadRevocationRequests")[-1]["json"]
    assert down == {"downloadParameters": {"maxRequests": 100, "issuerName": ISSUER}}, down
    results = {r["requestContext"]: r for r in emulator.revocation_results()}
    assert len(results) == 3
    r0, r1, r2 = (results[q["requestContext"]] for q in queued)
    assert (r0["succeeded"], r0["errorCode"], r0["known_request"]) == (True, "0", True)
    assert (r1["succeeded"], r1["errorCode"]) == (False, "4004")  # CertificateNotFoundError
    assert (r2["succeeded"], r2["errorCode"]) == (False, "4002")  # ParameterDataInvalidError
    # the database
    rows = {r["serial"]: r for r in server.db_rows()}
    assert rows[serial_hex(doomed)]["status"] == "revoked"
    assert rows[serial_hex(doomed)]["revocation_context"] == queued[0]["requestContext"]
    assert rows[serial_hex(doomed)]["revoked_at"]
    assert rows[serial_hex(kept)]["status"] == "issued"
    # the CRL: served over HTTP and written to CRL_FILE, signed by the issuing CA, nextUpdate 24 h on
    crl = get_crl(server)
    with open(server.crl_file, "rb") as f:
        assert x509.load_der_x509_crl(f.read()).public_bytes(serialization.Encoding.DER) == \
            crl.public_bytes(serialization.Encoding.DER)
    assert crl.issuer == pki.ca.subject
    assert crl.is_signature_valid(pki.ca.public_key())
    last = getattr(crl, "last_update_utc", None) or crl.last_update
    nxt = getattr(crl, "next_update_utc", None) or crl.next_update
    assert (nxt - last).total_seconds() == 24 * 3600
    assert crl.get_revoked_certificate_by_serial_number(doomed.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(kept.serial_number) is None
    # OpenSSL refuses the revoked certificate and accepts the other one with this CRL
    bad = openssl_verify_crl(pki, doomed, crl, tmp_path, "doomed")
    assert bad.returncode != 0 and "certificate revoked" in (bad.stdout + bad.stderr), bad
    good = openssl_verify_crl(pki, kept, crl, tmp_path, "kept")
    assert good.returncode == 0, good.stdout + good.stderr

    # the same certificate asked again by a new request: ConflictError
    again = emulator.queue_revocations([{"serialNumber": serial_hex(doomed), "issuerName": ISSUER}])
    code, summary = run_worker(server)
    assert summary["conflict"] == 1 and summary["outcome"] == "ok", summary
    res = [r for r in emulator.revocation_results() if r["requestContext"] == again[0]["requestContext"]]
    assert [(r["succeeded"], r["errorCode"]) for r in res] == [(False, "4005")]
    # a revoked certificate is not sent again to a client repeating its transaction
    assert rows[serial_hex(doomed)]["transaction_id"]
    # metrics
    assert metric(server, 'intune_scep_server_revocation_results_total{code="4004"}') >= 1
    assert metric(server, 'intune_scep_server_revocation_results_total{code="4005"}') >= 1
    assert metric(server, 'intune_scep_server_certificates{status="revoked"}') >= 1


def test_an_empty_queue_uploads_nothing(server, emulator):
    code, summary = run_worker(server)
    assert code == 200 and summary["requests"] == 0 and summary["outcome"] == "ok", summary
    assert emulator.revocation_results() == []
    assert emulator.requests("uploadRevocationResults") == []


def test_a_failed_upload_is_answered_the_same_when_intune_asks_again(server, emulator, clients):
    cert = enroll(server, emulator, clients, "rev3").cert
    q = emulator.queue_revocations([{"serialNumber": serial_hex(cert), "issuerName": ISSUER}])
    emulator.add_fault("uploadRevocationResults", status=400, times=1)
    code, summary = run_worker(server)
    assert code == 502 and summary["outcome"] == "upload_failed" and summary["revoked"] == 1, summary
    assert emulator.revocation_results() == []
    # Intune hands the same request (same requestContext) out again: a success, not a conflict
    emulator.queue_revocations([{"serialNumber": serial_hex(cert), "issuerName": ISSUER,
                                 "requestContext": q[0]["requestContext"]}])
    code, summary = run_worker(server)
    assert code == 200 and summary["again"] == 1 and summary["conflict"] == 0, summary
    assert [(r["succeeded"], r["errorCode"]) for r in emulator.revocation_results()] == [(True, "0")]
    assert metric(server, 'intune_scep_server_revocation_runs_total{outcome="upload_failed"}') >= 1


def test_a_failed_download_is_counted_and_revokes_nothing(server, emulator, clients):
    cert = enroll(server, emulator, clients, "rev4").cert
    emulator.queue_revocations([{"serialNumber": serial_hex(cert), "issuerName": ISSUER}])
    emulator.add_fault("downloadRevocationRequests", status=403, times=1)
    code, summary = run_worker(server)
    assert code == 502 and summary["outcome"] == "download_failed", summary
    assert [r["status"] for r in server.db_rows() if r["serial"] == serial_hex(cert)] == ["issued"]
    assert metric(server, 'intune_scep_server_revocation_runs_total{outcome="download_failed"}') >= 1


def test_sigusr1_and_the_interval_run_the_worker(workdir, pki, emulator, clients):
    d = os.path.join(workdir, "server-interval")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config, REVOCATION_INTERVAL_SECONDS="2", CRL_NEXT_UPDATE_HOURS="1")
    try:
        cert = enroll(srv, emulator, clients, "rev5").cert
        emulator.queue_revocations([{"serialNumber": serial_hex(cert), "issuerName": ISSUER}])
        srv.wait_line("revocation run outcome=ok requests=1 revoked=1", 0, timeout=30)
        crl = get_crl(srv)
        assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
        nxt = getattr(crl, "next_update_utc", None) or crl.next_update
        last = getattr(crl, "last_update_utc", None) or crl.last_update
        assert (nxt - last).total_seconds() == 3600
        start = len(srv.lines)
        srv.proc.send_signal(signal.SIGUSR1)
        srv.wait_line("revocation run outcome=ok", start, timeout=10)
    finally:
        assert srv.stop() == 0


# --------------------------------------------------------------------------------------------
# What operators watch.
# --------------------------------------------------------------------------------------------

def test_health_and_metrics(server, emulator, clients):
    assert requests.get(server.admin("/health"), timeout=5).text == "ready\n"
    assert requests.get(server.url("/health"), timeout=5).status_code == 200
    before = metric(server, 'intune_scep_server_enrollments_total{path="intune",outcome="issued"}')
    enroll(server, emulator, clients, "metrics1")
    text = requests.get(server.admin("/metrics"), timeout=5).text
    assert "# TYPE intune_scep_server_enrollments_total counter" in text
    assert metric(server, 'intune_scep_server_enrollments_total{path="intune",outcome="issued"}') == before + 1
    assert metric(server, 'intune_scep_server_intune_calls_total{call="validate_request",status="INTUNE_SCEP_OK",'
                          'code="none"}') >= 1
    assert metric(server, 'intune_scep_server_intune_call_duration_seconds_count{call="success_notification"}') >= 1
    assert 'intune_scep_server_enrollment_duration_seconds_bucket{le="+Inf"}' in text
    assert metric(server, "intune_scep_server_ready") == 1
    assert metric(server, "intune_scep_server_crl_next_update_timestamp_seconds") > time.time()
    # a refused validation is counted with Intune's code
    profile = {"subject": "CN=someone-else,OU=MDM,O=scep-client,C=US"}
    run = clients.micromdm(server.url(), "metrics2", emulator.issue_challenge(profile)["challenge"])
    assert run.code != 0
    assert metric(server, 'intune_scep_server_intune_calls_total{call="validate_request",'
                          'status="INTUNE_SCEP_E_REJECTED",code="SubjectNameMismatch"}') >= 1
    # the admin port is not the SCEP port, and its run control takes POST only
    assert requests.get(server.url("/metrics"), timeout=5).status_code == 404
    assert requests.get(server.admin("/revocations/run"), timeout=5).status_code == 405
    # a withheld certificate shows in the gauge
    emulator.add_fault("successNotification", status=500, times=10)
    profile = {"subject": "CN=metrics3,OU=MDM,O=scep-client,C=US"}
    clients.micromdm(server.url(), "metrics3", emulator.issue_challenge(profile)["challenge"])
    assert metric(server, 'intune_scep_server_certificates{status="withheld"}') >= 1
    assert metric(server, 'intune_scep_server_enrollments_total{path="intune",outcome="withheld"}') >= 1


def test_health_is_503_when_the_database_does_not_answer(workdir, pki, emulator):
    d = os.path.join(workdir, "server-health")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config)
    try:
        assert requests.get(srv.admin("/health"), timeout=5).status_code == 200
        con = sqlite3.connect(srv.db_path)
        con.execute("DROP TABLE certificates")
        con.commit()
        con.close()
        r = requests.get(srv.admin("/health"), timeout=5)
        assert r.status_code == 503 and r.text == "not ready\n"
    finally:
        assert srv.stop() == 0


# --------------------------------------------------------------------------------------------
# Signals and faults.
# --------------------------------------------------------------------------------------------

def test_sighup_reloads_the_credential_without_a_restart(workdir, pki, emulator, clients):
    d = os.path.join(workdir, "server-sighup")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config, AAD_APP_KEY="not-the-app-key")
    try:
        profile = {"subject": "CN=hup1,OU=MDM,O=scep-client,C=US"}
        run = clients.micromdm(srv.url(), "hup1", emulator.issue_challenge(profile)["challenge"])
        assert run.code != 0
        # a broken file keeps the old client
        start = len(srv.lines)
        with open(srv.config_path, "a") as f:
            f.write("TIMEOUT_MS=not-a-number\n")
        srv.proc.send_signal(signal.SIGHUP)
        line = srv.wait_line("credential reload", start)
        assert "outcome=failed" in line and "TIMEOUT_MS" in line, line
        # the right key: the next enrollment works, in the same process
        srv.write_config(AAD_APP_KEY=emulator.config["AAD_APP_KEY"])
        start = len(srv.lines)
        srv.proc.send_signal(signal.SIGHUP)
        assert "outcome=ok" in srv.wait_line("credential reload", start)
        run = enroll(srv, emulator, clients, "hup2")
        assert run.cert is not None
        assert srv.proc.poll() is None
        log = "\n".join(srv.lines)
        leaked = "not-the-app-key" in log or emulator.config["AAD_APP_KEY"] in log
        assert not leaked, "an app key is in the server's log"  # (the key itself is never printed)
    finally:
        assert srv.stop() == 0


def test_sighup_during_enrollments_drops_none(server, emulator, clients):
    results = {}

    def one(i):
        profile = {"subject": f"CN=hupc{i},OU=MDM,O=scep-client,C=US"}
        results[i] = clients.micromdm(server.url(), f"hupc{i}", emulator.issue_challenge(profile)["challenge"])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for _ in range(5):
        server.proc.send_signal(signal.SIGHUP)
        time.sleep(0.1)
    for t in threads:
        t.join()
    assert all(r.code == 0 for r in results.values()), results


SLOW_SUCCESS = dict(status=200, body='{"code":"Success","errorDescription":""}', content_type="application/json")


def test_sigterm_finishes_enrollments_in_flight(workdir, pki, emulator, clients):
    d = os.path.join(workdir, "server-sigterm")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config)
    # Intune answers the success notification slowly: the enrollment is in flight when SIGTERM comes
    emulator.add_fault("successNotification", delay_ms=1500, times=1, **SLOW_SUCCESS)
    result = {}

    def one():
        profile = {"subject": "CN=term1,OU=MDM,O=scep-client,C=US"}
        result["run"] = clients.micromdm(srv.url(), "term1", emulator.issue_challenge(profile)["challenge"])

    t = threading.Thread(target=one)
    t.start()
    deadline = time.monotonic() + 20
    while not emulator.requests("validateRequest") and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    srv.wait_line(" stopping", 0)
    time.sleep(0.1)
    assert requests.get(srv.admin("/health"), timeout=5).status_code == 503  # draining
    t.join()
    assert srv.proc.wait(timeout=30) == 0
    srv._reader.join(timeout=5)
    run = result["run"]
    assert run.code == 0 and run.cert is not None, run
    rows = srv.db_rows()
    assert [r["status"] for r in rows] == ["issued"]
    assert any("stopped enrollments_in_flight=0" in ln for ln in srv.lines), srv.lines[-5:]
    # the enrollment was in flight when the stop began: its line comes after "stopping"
    stopping = next(i for i, ln in enumerate(srv.lines) if ln.endswith(" stopping"))
    issued = next(i for i, ln in enumerate(srv.lines) if " outcome=issued " in ln)
    assert stopping < issued, srv.lines


def test_sigkill_during_a_burst_leaves_a_consistent_database(workdir, pki, emulator, clients):
    d = os.path.join(workdir, "server-sigkill")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config)
    emulator.add_fault("successNotification", delay_ms=400, times=0, **SLOW_SUCCESS)
    runs = {}

    def one(i):
        profile = {"subject": f"CN=kill{i},OU=MDM,O=scep-client,C=US"}
        runs[i] = clients.micromdm(srv.url(), f"kill{i}", emulator.issue_challenge(profile)["challenge"],
                                   timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(emulator.requests("successNotification")) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    srv.proc.kill()
    srv.proc.wait()
    for t in threads:
        t.join()
    emulator.clear_faults()
    # restart over the same database
    srv2 = ScepServer(d, pki, emulator.config)
    try:
        rows = srv2.db_rows()
        assert len({r["serial"] for r in rows}) == len(rows)  # no duplicate serial
        notified = " ".join(q["body"] for q in emulator.requests("successNotification"))
        assert rows, "nothing was recorded before the kill"
        for r in rows:
            assert r["status"] in ("issued", "withheld"), r
            if r["status"] == "issued":  # issued only after its success notification was sent
                assert f'"{r["serial"]}"' in notified, r
        by_serial = {r["serial"]: r for r in rows}
        for i, run in runs.items():
            if run.cert is not None:  # what a client got is in the database as issued
                assert by_serial[serial_hex(run.cert)]["status"] == "issued"
                assert by_serial[serial_hex(run.cert)]["thumbprint"] == thumbprint(run.cert)
        # every client retries its transaction: a consistent answer
        for i, run in runs.items():
            if run.cert is not None:
                continue
            before = [r for r in rows if r["subject"].startswith(f"CN=kill{i},")]
            again = clients_rerun_micromdm(run, srv2.url(), f"kill{i}", "unused")
            if before and before[-1]["status"] == "withheld":
                assert again.code != 0 and again.cert is None, again  # the same FAILURE
            elif before:
                assert again.code == 0 and serial_hex(again.cert) == before[-1]["serial"], again
        assert srv2.proc.poll() is None
    finally:
        assert srv2.stop() == 0


# --------------------------------------------------------------------------------------------
# Hostile PKIOperation messages: FAILURE or an HTTP error, a log line, nothing issued.
# --------------------------------------------------------------------------------------------

def test_hostile_pkioperation_messages(server, emulator, clients, proxy):
    profile = {"subject": "CN=hostile,OU=MDM,O=scep-client,C=US"}
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.micromdm(proxy.url(), "hostile", challenge)
    assert run.code == 0, run
    msg = proxy.messages[-1]
    rows_before = len(server.db_rows())
    validations_before = len(emulator.validations())
    variants = {
        "truncated": msg[: len(msg) // 2],
        "truncated-by-one": msg[:-1],
        "flipped-signature": msg[:-20] + bytes(b ^ 0xFF for b in msg[-20:-10]) + msg[-10:],
        "flipped-middle": msg[: len(msg) // 2] + bytes([msg[len(msg) // 2] ^ 0x01]) + msg[len(msg) // 2 + 1:],
        "zeros": b"\x00" * 1000,
        "oversized": msg + b"\x00" * (300 * 1024),
        "der-length-lie": b"\x30\x84\x7f\xff\xff\xff" + msg[2:],
    }
    seen = {}
    for name, body in variants.items():
        start = len(server.lines)
        r = requests.post(server.url() + "?operation=PKIOperation", data=body, timeout=30,
                          headers={"Content-Type": "application/x-pki-message"})
        assert server.proc.poll() is None, name
        line = server.wait_line(" enrollment ", start) if r.status_code != 413 else ""
        outcome = re.search(r" outcome=(\S+) ", line).group(1) if line else "-"
        seen[name] = (r.status_code, outcome)
        if r.status_code == 200:
            assert r.headers["Content-Type"] == "application/x-pki-message", name
    # not a SCEP message: 400 and a log line; too large: 413; a damaged signature: a FAILURE CertRep
    assert seen["truncated"] == (400, "refused"), seen
    assert seen["truncated-by-one"] == (400, "refused"), seen
    assert seen["zeros"] == (400, "refused"), seen
    assert seen["der-length-lie"] == (400, "refused"), seen
    assert seen["oversized"] == (413, "-"), seen
    assert seen["flipped-signature"] == (200, "rejected"), seen
    assert seen["flipped-middle"][1] in ("refused", "rejected"), seen
    assert len(server.db_rows()) == rows_before
    # the damaged copies of an already enrolled message never reached Intune
    assert len(emulator.validations()) == validations_before


# --------------------------------------------------------------------------------------------
# Renewal through strongSwan: RenewalReq signed with the current certificate, a new challenge.
# --------------------------------------------------------------------------------------------

def test_strongswan_renews_and_the_new_certificate_is_recorded_next_to_the_old(server, emulator, clients, pki,
                                                                              tmp_path):
    import glob as _glob
    from cryptography.hazmat.primitives.asymmetric import rsa as _rsa
    from test_server import ss_dn, verify_chain
    subject = "CN=renew-ss,OU=MDM,O=scep-client,C=US"
    pid = emulator.issue_challenge({"subject": subject})
    first = clients.strongswan(server.url(), ss_dn(subject), pid["challenge"])
    assert first.code == 0 and first.cert is not None, first
    d = first.dir
    old_cert = os.path.join(d, "old-cert.pem")
    with open(old_cert, "wb") as f:
        f.write(first.cert.public_bytes(serialization.Encoding.PEM))
    new_key = os.path.join(d, "new-key.pem")
    with open(new_key, "wb") as f:
        f.write(_rsa.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
    second = emulator.issue_challenge({"subject": subject, "profile_id": pid["profile_id"]})["challenge"]
    ra = os.path.join(d, "ra.der")
    args = [PKI_BIN, "--scep", "--url", server.url(), "--in", new_key, "--dn", ss_dn(subject),
            "--cacert-enc", ra, "--cacert-sig", ra, "--password", second, "--outform", "pem",
            "--cert", old_cert, "--key", os.path.join(d, "key.pem")]
    for c in sorted(_glob.glob(os.path.join(d, "ca*.der"))):
        args += ["--cacert", c]
    r = subprocess.run(args, capture_output=True, timeout=60)
    assert r.returncode == 0 and b"BEGIN CERTIFICATE" in r.stdout, r.stderr.decode(errors="replace")[-3000:]
    renewed = x509.load_pem_x509_certificate(r.stdout)
    assert renewed.serial_number != first.cert.serial_number
    assert renewed.public_key().public_numbers() != first.cert.public_key().public_numbers()
    assert verify_chain(pki, renewed, tmp_path).returncode == 0
    line = server.wait_line(f"serial={serial_hex(renewed)} ", 0)
    assert "type=RenewalReq" in line and " outcome=issued " in line, line
    rows = {row["serial"]: row for row in server.db_rows()}
    assert rows[serial_hex(renewed)]["renews_serial"] == serial_hex(first.cert)
    assert rows[serial_hex(renewed)]["status"] == "issued"
    assert rows[serial_hex(first.cert)]["status"] == "issued"  # the old one stays valid until it expires
    serials = {n["certificateSerialNumber"] for n in emulator.notifications()["success"]}
    assert {serial_hex(first.cert), serial_hex(renewed)} <= serials


def test_sighup_switches_to_a_certificate_credential(workdir, pki, emulator, clients, tmp_path):
    import datetime
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa as _rsa
    from cryptography.x509.oid import NameOID
    key = _rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scep-server-app")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "app.pem", tmp_path / "app.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    emulator.register_client_certificate(cert)
    d = os.path.join(workdir, "server-sighup-cert")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config)
    try:
        enroll(srv, emulator, clients, "hupcert1")  # with the app key
        srv.write_config(AAD_APP_KEY=None, AAD_CLIENT_CERT_FILE=str(cert_file), AAD_CLIENT_KEY_FILE=str(key_file))
        start = len(srv.lines)
        srv.proc.send_signal(signal.SIGHUP)
        assert "outcome=ok" in srv.wait_line("credential reload", start)
        tokens_before = len(emulator.requests("token"))
        enroll(srv, emulator, clients, "hupcert2")  # with the certificate: a new client, a new token
        tokens = emulator.requests("token")[tokens_before:]
        by_assertion = [("client_assertion=" in t["body"] and "client_secret" not in t["body"]) for t in tokens]
        assert by_assertion and all(by_assertion), by_assertion  # (the bodies hold secrets: never printed)
    finally:
        assert srv.stop() == 0
