# SPDX-License-Identifier: Apache-2.0
"""A fleet: two intune-scep-server processes share one PostgreSQL database (Debian's
PostgreSQL, started on 127.0.0.1 by the test) and enroll real clients at the same time."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest
import requests
from cryptography import x509

from conftest import PKI_BIN, SCEPCLIENT_BIN, ScepServer
from test_server import clients_rerun_micromdm, serial_hex, thumbprint

pytestmark = pytest.mark.skipif(not PKI_BIN or not SCEPCLIENT_BIN,
                                reason="strongswan-pki and scep (scepclient) must be installed: scripts/install-deps.sh")

ISSUER = "CN=Contoso Test Issuing CA,O=Contoso Test"
WORKER_LOCK = 7597137669132713986  # the revocation worker's advisory lock (server/db_pg.c)


@pytest.fixture
def fleet(workdir, pki, emulator, postgres):
    postgres.psql("DROP TABLE IF EXISTS certificates")
    servers = []
    for name in ("a", "b"):
        d = os.path.join(workdir, f"fleet-{name}")
        os.makedirs(d, exist_ok=True)
        servers.append(ScepServer(d, pki, emulator.config, DB_BACKEND="postgresql", DB_PATH=None,
                                  DB_CONNINFO=postgres.conninfo))
    yield servers
    for s in servers:
        assert s.stop() == 0


def rows(postgres):
    cols = ["serial", "transaction_id", "status", "thumbprint", "subject", "revocation_context"]
    return [dict(zip(cols, r)) for r in postgres.psql(
        "SELECT serial, transaction_id, status, thumbprint, subject, COALESCE(revocation_context, '')"
        " FROM certificates ORDER BY seq")]


def test_two_processes_enroll_at_once_over_one_database(fleet, postgres, emulator, clients):
    a, b = fleet
    runs = {}

    def one(i, srv):
        profile = {"subject": f"CN=fleet{i},OU=MDM,O=scep-client,C=US"}
        runs[i] = clients.micromdm(srv.url(), f"fleet{i}", emulator.issue_challenge(profile)["challenge"])

    threads = [threading.Thread(target=one, args=(i, (a, b)[i % 2])) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.code == 0 for r in runs.values()), runs
    got = rows(postgres)
    assert len(got) == 8 and all(r["status"] == "issued" for r in got)
    assert len({r["serial"] for r in got}) == 8
    by_serial = {r["serial"]: r for r in got}
    for r in runs.values():
        assert by_serial[serial_hex(r.cert)]["thumbprint"] == thumbprint(r.cert)
    # both processes issued
    assert any(" outcome=issued " in ln for ln in a.lines) and any(" outcome=issued " in ln for ln in b.lines)
    # a client enrolled through one process retries its transaction on the other: the same certificate
    first = runs[0]
    os.remove(os.path.join(first.dir, "cert.pem"))
    again = clients_rerun_micromdm(first, b.url(), "fleet0", "unused")
    assert again.code == 0 and again.cert.serial_number == first.cert.serial_number, again
    assert any(" outcome=repeated " in ln for ln in b.lines)
    for srv in fleet:
        assert requests.get(srv.admin("/health"), timeout=5).status_code == 200


def test_one_revocation_worker_at_a_time_and_every_crl_lists_it(fleet, postgres, emulator, clients):
    a, b = fleet
    profile = {"subject": "CN=fleetrev,OU=MDM,O=scep-client,C=US"}
    run = clients.micromdm(a.url(), "fleetrev", emulator.issue_challenge(profile)["challenge"])
    assert run.code == 0, run
    emulator.queue_revocations([{"serialNumber": serial_hex(run.cert), "issuerName": ISSUER}])
    # another holder of the worker's advisory lock (a third process): neither server runs
    holder = subprocess.Popen(["psql", postgres.conninfo.replace(" connect_timeout=5", ""), "-v", "ON_ERROR_STOP=1",
                               "-c", f"SELECT pg_advisory_lock({WORKER_LOCK})", "-c", "SELECT pg_sleep(3)"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        import time
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not postgres.psql(
                f"SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"):
            time.sleep(0.05)
        for srv in fleet:
            r = requests.post(srv.admin("/revocations/run"), timeout=30).json()
            assert r["outcome"] == "locked" and r["requests"] == 0, r
        assert emulator.requests("downloadRevocationRequests") == []
    finally:
        holder.wait(timeout=30)
    # released: process b runs it, revoking the certificate a issued
    r = requests.post(b.admin("/revocations/run"), timeout=30).json()
    assert r["outcome"] == "ok" and r["revoked"] == 1, r
    assert [x["status"] for x in rows(postgres)] == ["revoked"]
    assert [(x["succeeded"], x["errorCode"]) for x in emulator.revocation_results()] == [(True, "0")]
    # a's next run (nothing queued) publishes a CRL that lists it too
    r = requests.post(a.admin("/revocations/run"), timeout=30).json()
    assert r["outcome"] == "ok" and r["requests"] == 0, r
    for srv in fleet:
        crl = x509.load_der_x509_crl(requests.get(srv.url("/crl"), timeout=10).content)
        assert crl.get_revoked_certificate_by_serial_number(run.cert.serial_number) is not None
    # the worker's lock is free again
    assert postgres.psql(f"SELECT pg_try_advisory_lock({WORKER_LOCK})") == [["t"]]


def test_postgresql_configuration_errors(tmp_path, pki, emulator, postgres):
    from conftest import _find_server
    base = {"CA_CERT_FILE": pki.path("ca.pem"), "CA_KEY_FILE": pki.path("ca.key"), "HTTP_PORT": "0",
            "RA_CERT_FILE": pki.path("ra.pem"), "RA_KEY_FILE": pki.path("ra.key")}
    base.update(emulator.config)
    cases = [
        ({"DB_BACKEND": "postgresql"}, "DB_CONNINFO is required"),
        ({"DB_BACKEND": "mysql", "DB_PATH": str(tmp_path / "x.sqlite")}, "DB_BACKEND must be"),
        ({"DB_BACKEND": "postgresql",
          "DB_CONNINFO": f"host=127.0.0.1 port={postgres.port} dbname=nosuchdb user=postgres password=s3cret-pw"},
         "DB_CONNINFO: cannot connect"),
    ]
    for extra, message in cases:
        cfg = dict(base, **extra)
        p = tmp_path / "s.properties"
        p.write_text("".join(f"{k}={v.replace(':', chr(92) + ':').replace('=', chr(92) + '=')}\n"
                             for k, v in cfg.items()))
        r = subprocess.run([_find_server(), "--config", str(p)], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and message in r.stderr, (extra, r.stderr)
        assert "s3cret-pw" not in r.stderr


def test_a_transaction_in_flight_on_another_process_is_pending(fleet, postgres, emulator, pki, tmp_path):
    """While another process (here a third session holding the transaction's advisory lock)
    enrolls a transaction, a copy sent to this process is PENDING; afterwards it enrolls."""
    import time
    from cryptography.hazmat.primitives.asymmetric import rsa
    from test_server import _csr_helpers, tool_enroll
    a, b = fleet
    h = _csr_helpers()
    key = rsa.generate_private_key(65537, 2048)
    challenge = emulator.issue_challenge({"subject": "CN=alice,O=Contoso"})["challenge"]
    der = h.make_csr(key=key, challenge=challenge)
    tid = "fleet-inflight-1"
    holder = subprocess.Popen(["psql", postgres.conninfo.replace(" connect_timeout=5", ""), "-v", "ON_ERROR_STOP=1",
                               "-c", f"SELECT pg_advisory_lock(21315, hashtext('{tid}'))", "-c",
                               "SELECT pg_sleep(3)"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not postgres.psql(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 21315"):
            time.sleep(0.05)
        status, cert = tool_enroll(a, pki, tmp_path, der, key, tid)
        assert status.startswith("status=3 ") and cert is None, status  # PENDING
        assert emulator.validations() == []
    finally:
        holder.wait(timeout=30)
    status, cert = tool_enroll(b, pki, tmp_path, der, key, tid)
    assert status.startswith("status=0 ") and cert is not None, status
    # and the same message to the other process now: the same certificate
    status, again = tool_enroll(a, pki, tmp_path, der, key, tid)
    assert status.startswith("status=0 ") and again.serial_number == cert.serial_number, status
    assert len(emulator.validations()) == 1
