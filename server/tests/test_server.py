# SPDX-License-Identifier: Apache-2.0
"""intune-scep-server end to end: real SCEP clients (strongSwan's pki, micromdm's
scepclient) enroll through the server, which asks the Intune emulator before issuing."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import re
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from intune_scep.emulator.challenges import names_equal, parse_name

from conftest import PKI_BIN, SCEPCLIENT_BIN, ScepServer, _find_server

pytestmark = pytest.mark.skipif(not PKI_BIN or not SCEPCLIENT_BIN,
                                reason="strongswan-pki and scep (scepclient) must be installed: scripts/install-deps.sh")

CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


def ss_dn(rfc4514: str) -> str:
    """An RFC 4514 subject as strongSwan's --dn wants it (most significant RDN first)."""
    keywords = {"SERIALNUMBER": "serialNumber", "E": "E"}
    rdns = []
    for part in rfc4514.split(","):
        k, v = part.split("=", 1)
        rdns.append(f"{keywords.get(k.strip().upper(), k.strip())}={v.strip()}")
    return ", ".join(reversed(rdns))


def der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def thumbprint(cert) -> str:
    return hashlib.sha1(der(cert)).hexdigest().upper()


def serial_hex(cert) -> str:
    return format(cert.serial_number, "X")


def not_after(cert):
    return getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_before(cert):
    return getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def verify_chain(pki, cert, tmp_path) -> subprocess.CompletedProcess:
    p = tmp_path / f"issued-{cert.serial_number}.pem"
    p.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return subprocess.run(["openssl", "verify", "-CAfile", pki.path("root.pem"), "-untrusted", pki.path("ca.pem"),
                           "-purpose", "sslclient", str(p)], capture_output=True, text=True)


def assert_issued(server, emulator, pki, cert, tmp_path, subject: str, validity_days=365):
    """The certificate verifies against the chain, and Intune was told exactly about it."""
    assert cert is not None
    r = verify_chain(pki, cert, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert cert.issuer == pki.ca.subject
    # the subject as the profile says (compared as names, as Intune does)
    assert names_equal(cert.subject, parse_name(subject)), (cert.subject, subject)
    life = not_after(cert) - not_before(cert)
    assert life == datetime.timedelta(days=validity_days, seconds=300), life
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in list(eku)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is False
    # the emulator's recorded success notification matches the certificate
    notes = [n for n in emulator.notifications()["success"] if n["certificateSerialNumber"] == serial_hex(cert)]
    assert len(notes) == 1, emulator.notifications()
    n = notes[0]
    assert n["certificateThumbprint"] == thumbprint(cert)
    assert n["certificateExpirationDateUtc"] == not_after(cert).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert n["issuingCertificateAuthority"] == "CN=Contoso Test Issuing CA,O=Contoso Test"
    # and the database recorded it as issued, with the transaction and the notification's activity id
    rows = [r for r in server.db_rows() if r["serial"] == serial_hex(cert)]
    assert len(rows) == 1
    assert rows[0]["status"] == "issued"
    assert rows[0]["thumbprint"] == thumbprint(cert)
    assert rows[0]["transaction_id"] == n["transactionId"]
    assert bytes(rows[0]["cert_der"]) == der(cert)
    return n


def enrollment_line(server, transaction_id=None, outcome=None, count=None):
    """The newest enrollment line of this test (matching), waiting briefly for the log reader."""
    deadline = time.monotonic() + 5
    while True:
        lines = server.enrollment_lines()[getattr(server, "mark", 0):]
        if count is None or len(server.enrollment_lines()) >= count:
            if transaction_id is not None:
                lines = [ln for ln in lines if f"transaction_id={transaction_id} " in ln]
            if outcome is not None:
                lines = [ln for ln in lines if f" outcome={outcome} " in ln]
            if lines:
                return lines[-1]
        if time.monotonic() > deadline:
            raise AssertionError("no such enrollment line:\n" + "\n".join(server.lines[-20:]))
        time.sleep(0.05)


def txid_of(run) -> str:
    m = re.search(r"transaction ID: (\S+)", run.err)
    assert m, run
    return m.group(1)


# --------------------------------------------------------------------------------------------
# Genuine challenges: a certificate, a matching success notification, a database row.
# --------------------------------------------------------------------------------------------

def test_strongswan_enrolls_with_a_genuine_challenge(server, emulator, clients, pki, tmp_path):
    profile = {"subject": "CN=alice,O=Contoso", "san_emails": ["alice@contoso.com"],
               "san_dns": ["alice-laptop.contoso.com"], "key_size": 2048, "hash_algorithms": ["sha256"],
               "validity_days": 365}
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.strongswan(server.url(), ss_dn(profile["subject"]), challenge,
                             sans=["alice@contoso.com", "alice-laptop.contoso.com"])
    assert run.code == 0, run
    n = assert_issued(server, emulator, pki, run.cert, tmp_path, profile["subject"])
    assert n["transactionId"] == txid_of(run)
    san = run.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@contoso.com"]
    assert san.get_values_for_type(x509.DNSName) == ["alice-laptop.contoso.com"]
    assert [v["code"] for v in emulator.validations()] == ["Success"]
    line = enrollment_line(server, n["transactionId"], "issued")
    assert "path=intune type=PKCSReq" in line and 'subject="CN=alice,O=Contoso"' in line


def test_micromdm_enrolls_with_des_and_a_base64_transaction_id(server, emulator, clients, pki, tmp_path):
    profile = {"subject": "CN=bob,OU=MDM,O=scep-client,C=US", "key_size": 2048, "validity_days": 365}
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.micromdm(server.url(), "bob", challenge)
    assert run.code == 0, run
    n = assert_issued(server, emulator, pki, run.cert, tmp_path, profile["subject"])
    # micromdm's transaction ids are base64 (with + / =): passed to Intune unchanged
    assert re.fullmatch(r"[A-Za-z0-9+/]+=*", n["transactionId"]), n["transactionId"]
    line = enrollment_line(server, n["transactionId"], "issued")
    assert f"serial={serial_hex(run.cert)} " in line


@pytest.mark.parametrize("case", [
    # (row, profile subject, SANs, digest, key bits)
    ("2 subject CN", "CN=carol", [], "sha256", 2048),
    ("3 CN with email", "CN=carol,E=carol@contoso.com", [], "sha256", 2048),
    ("4 CN as email", "CN=carol@contoso.com", [], "sha256", 2048),
    ("5 IMEI", "CN=356938035643809", [], "sha256", 2048),
    ("6 serial number", "CN=carol,SERIALNUMBER=C02XK0AAJGH5", [], "sha256", 2048),
    ("7 custom", "CN=carol,OU=Sales,O=Contoso,L=Redmond,ST=WA,C=US", [], "sha256", 2048),
    ("8 SAN email", "CN=carol", ["carol@contoso.com"], "sha256", 2048),
    ("14 key 1024", "CN=carol", [], "sha256", 1024),
    ("16 SHA-1", "CN=carol", [], "sha1", 2048),
    ("17 SHA-2", "CN=carol", [], "sha256", 2048),
    ("18 SHA-384", "CN=carol", [], "sha384", 2048),
], ids=lambda c: c[0])
def test_matrix_rows_through_strongswan(server, emulator, clients, pki, tmp_path, case):
    _, subject, sans, digest, bits = case
    profile = {"subject": subject, "key_size": bits, "validity_days": 365}
    if sans:
        profile["san_emails"] = sans
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.strongswan(server.url(), ss_dn(subject), challenge, sans=sans, digest=digest, key_bits=bits)
    assert run.code == 0, run
    assert_issued(server, emulator, pki, run.cert, tmp_path, subject)
    assert run.cert.public_key().key_size == bits


# --------------------------------------------------------------------------------------------
# Refusals: nothing issued, FAILURE to the client.
# --------------------------------------------------------------------------------------------

def assert_nothing_issued(server, emulator, rows_before):
    assert emulator.notifications()["success"] == []
    assert len(server.db_rows()) == rows_before


@pytest.mark.parametrize("client", ["strongswan", "micromdm"])
def test_challenge_for_another_subject_is_refused(server, emulator, clients, client):
    rows = len(server.db_rows())
    if client == "strongswan":
        profile = {"subject": "CN=alice,O=Contoso"}
        challenge = emulator.issue_challenge(profile)["challenge"]
        run = clients.strongswan(server.url(), ss_dn("CN=mallory,O=Contoso"), challenge)
        assert "failInfo:     badRequest" in run.err, run
    else:
        profile = {"subject": "CN=alice,OU=MDM,O=scep-client,C=US"}
        challenge = emulator.issue_challenge(profile)["challenge"]
        run = clients.micromdm(server.url(), "mallory", challenge)
        assert "failInfo: badRequest" in run.out + run.err, run
    assert run.code != 0 and run.cert is None, run
    assert [v["code"] for v in emulator.validations()] == ["SubjectNameMismatch"]
    assert_nothing_issued(server, emulator, rows)
    assert emulator.notifications()["failure"] == []  # not required when validation refused
    line = enrollment_line(server, outcome="rejected")
    assert "code=SubjectNameMismatch" in line


def test_expired_challenge_is_refused(server, emulator, clients):
    rows = len(server.db_rows())
    profile = {"subject": "CN=alice,O=Contoso", "expires_in": -60}
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.strongswan(server.url(), ss_dn(profile["subject"]), challenge)
    assert run.code != 0 and run.cert is None, run
    assert [v["code"] for v in emulator.validations()] == ["ChallengeExpired"]
    assert_nothing_issued(server, emulator, rows)
    assert "code=ChallengeExpired" in enrollment_line(server, outcome="rejected")


def test_no_challenge_is_refused(server, emulator, clients):
    rows = len(server.db_rows())
    run = clients.micromdm(server.url(), "nochallenge", None)
    assert run.code != 0 and run.cert is None, run
    assert [v["code"] for v in emulator.validations()] == ["ChallengePasswordMissing"]
    assert_nothing_issued(server, emulator, rows)


def test_validate_request_answering_500_issues_nothing(server, emulator, clients):
    rows = len(server.db_rows())
    profile = {"subject": "CN=alice,O=Contoso"}
    challenge = emulator.issue_challenge(profile)["challenge"]
    emulator.add_fault("validateRequest", status=500, times=0)
    try:
        run = clients.strongswan(server.url(), ss_dn(profile["subject"]), challenge)
    finally:
        emulator.clear_faults()
    assert run.code != 0 and run.cert is None, run
    assert_nothing_issued(server, emulator, rows)
    line = enrollment_line(server, txid_of(run), "rejected")
    assert "INTUNE_SCEP_E_HTTP" in line and "http=500" in line


def test_success_notification_answering_500_withholds_the_certificate(server, emulator, clients):
    profile = {"subject": "CN=bob,OU=MDM,O=scep-client,C=US"}
    challenge = emulator.issue_challenge(profile)["challenge"]
    emulator.add_fault("successNotification", status=500, times=0)
    try:
        run = clients.micromdm(server.url(), "bob", challenge)
    finally:
        emulator.clear_faults()
    assert run.code != 0 and run.cert is None, run
    assert emulator.notifications()["success"] == []
    line = enrollment_line(server, outcome="withheld")
    txid = re.search(r"transaction_id=(\S+)", line).group(1)
    rows = [r for r in server.db_rows() if r["transaction_id"] == txid]
    assert len(rows) == 1 and rows[0]["status"] == "withheld", rows
    # the client asking again gets the same answer: still no certificate
    os.remove(os.path.join(run.dir, "cert.pem")) if os.path.exists(os.path.join(run.dir, "cert.pem")) else None


def test_issuance_error_after_validation_sends_a_failure_notification(workdir, pki, emulator, clients):
    d = os.path.join(workdir, "server-minrsa")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config, MIN_RSA_BITS="2048")
    try:
        profile = {"subject": "CN=small,OU=MDM,O=scep-client,C=US", "key_size": 1024}
        challenge = emulator.issue_challenge(profile)["challenge"]
        run = clients.micromdm(srv.url(), "small", challenge, key_bits=1024)
        assert run.code != 0 and run.cert is None, run
        assert [v["code"] for v in emulator.validations()] == ["Success"]
        assert emulator.notifications()["success"] == []
        failures = emulator.notifications()["failure"]
        assert len(failures) == 1, failures
        assert failures[0]["hResult"] == 0x80090003  # NTE_BAD_KEY
        assert "1024 bits" in failures[0]["errorDescription"]
        assert srv.db_rows() == []
        assert "outcome=failed" in enrollment_line(srv)
    finally:
        assert srv.stop() == 0


# --------------------------------------------------------------------------------------------
# The other path, HTTPS, repeats, renewal, concurrency, restarts.
# --------------------------------------------------------------------------------------------

def test_static_path_issues_without_intune(server, emulator, clients, pki, tmp_path):
    run = clients.micromdm(server.url("/static"), "printer-7", "static-secret-1")
    assert run.code == 0, run
    assert verify_chain(pki, run.cert, tmp_path).returncode == 0
    assert emulator.requests() == []  # Intune was not asked
    row = [r for r in server.db_rows() if r["serial"] == serial_hex(run.cert)]
    assert row and row[0]["status"] == "issued"
    server.mark = len(server.enrollment_lines())
    bad = clients.micromdm(server.url("/static"), "printer-8", "static-secret-2")
    assert bad.code != 0 and bad.cert is None, bad
    assert "static challenge missing or wrong" in enrollment_line(server, outcome="rejected")
    # a renewal on the static path needs the challenge too, even signed by a certificate of this CA
    os.remove(os.path.join(run.dir, "csr.pem"))
    server.mark = len(server.enrollment_lines())
    renewal = clients_rerun_micromdm(run, server.url("/static"), "printer-7", None)
    assert renewal.code != 0, renewal
    line = enrollment_line(server, outcome="rejected")
    assert "type=RenewalReq" in line and "static challenge missing or wrong" in line
    assert emulator.requests() == []


def test_https_enrollment(server, emulator, clients, pki, tmp_path, monkeypatch):
    # Go's client trusts SSL_CERT_FILE: the test root signed the server's TLS certificate
    monkeypatch.setenv("SSL_CERT_FILE", pki.path("root.pem"))
    profile = {"subject": "CN=dave,OU=MDM,O=scep-client,C=US"}
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.micromdm(server.url(https=True), "dave", challenge)
    assert run.code == 0, run
    assert_issued(server, emulator, pki, run.cert, tmp_path, profile["subject"])
    r = requests.get(server.url(https=True) + "?operation=GetCACaps", verify=pki.path("root.pem"), timeout=10)
    assert r.status_code == 200 and "AES" in r.text.split("\n")


def test_repeated_message_gets_the_same_certificate_also_over_get(server, emulator, clients, proxy, pki, tmp_path):
    profile = {"subject": "CN=erin,OU=MDM,O=scep-client,C=US"}
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.micromdm(proxy.url(), "erin", challenge)
    assert run.code == 0, run
    assert len(proxy.messages) == 1
    msg = proxy.messages[0]
    validations = len(emulator.validations())
    # the same message again, over POST, then over GET with the base64 percent-encoded and raw
    for how in ("post", "get-encoded", "get-raw-plus"):
        seen = len(server.enrollment_lines())
        if how == "post":
            r = requests.post(server.url() + "?operation=PKIOperation", data=msg, timeout=30)
        else:
            b64 = base64.b64encode(msg).decode()
            q = urllib.parse.quote(b64, safe="") if how == "get-encoded" else b64
            r = requests.get(server.url() + "?operation=PKIOperation&message=" + q, timeout=30)
        assert r.status_code == 200, (how, r.status_code, r.text[:200])
        assert r.headers["Content-Type"] == "application/x-pki-message"
        line = enrollment_line(server, count=seen + 1)
        assert "outcome=repeated" in line and f"serial={serial_hex(run.cert)} " in line, (how, line)
    assert len(emulator.validations()) == validations  # Intune not asked again
    assert len(emulator.notifications()["success"]) == 1
    # the client running again with its cached request gets the same certificate
    os.remove(os.path.join(run.dir, "cert.pem"))
    again = clients_rerun_micromdm(run, server.url(), "erin", challenge)
    assert again.code == 0, again
    assert again.cert.serial_number == run.cert.serial_number


def clients_rerun_micromdm(run, url, cn, challenge):
    key = os.path.join(run.dir, "key.pem")
    cert_path = os.path.join(run.dir, "cert.pem")
    args = [SCEPCLIENT_BIN, "-private-key", key, "-certificate", cert_path, "-server-url", url, "-cn", cn]
    if challenge is not None:
        args += ["-challenge", challenge]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=run.dir)
    from conftest import ClientRun
    cert = None
    if r.returncode == 0 and os.path.exists(cert_path):
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
    return ClientRun("scepclient", r.returncode, r.stdout, r.stderr, cert, run.dir)


def test_renewal_with_a_new_challenge(server, emulator, clients, pki, tmp_path):
    profile = {"subject": "CN=frank,OU=MDM,O=scep-client,C=US"}
    pid = emulator.issue_challenge(profile)
    run = clients.micromdm(server.url(), "frank", pid["challenge"])
    assert run.code == 0, run
    first = run.cert
    # renewal: the same key, the current certificate signs the request, a new challenge
    os.remove(os.path.join(run.dir, "csr.pem"))
    second_challenge = emulator.issue_challenge(dict(profile, profile_id=pid["profile_id"]))["challenge"]
    renewed = clients_rerun_micromdm(run, server.url(), "frank", second_challenge)
    assert renewed.code == 0, renewed
    assert renewed.cert.serial_number != first.serial_number
    assert "type=RenewalReq" in enrollment_line(server, outcome="issued")
    serials = {n["certificateSerialNumber"] for n in emulator.notifications()["success"]}
    assert serials == {serial_hex(first), serial_hex(renewed.cert)}  # both notifications recorded
    # the new certificate is recorded next to the one it renews
    rows = {r["serial"]: r for r in server.db_rows()}
    assert rows[serial_hex(renewed.cert)]["renews_serial"] == serial_hex(first)
    assert rows[serial_hex(first)]["renews_serial"] is None
    assert verify_chain(pki, renewed.cert, tmp_path).returncode == 0


def test_renewal_signed_by_a_foreign_certificate_is_refused(server, emulator, clients, tmp_path):
    # a certificate of another CA placed where scepclient keeps its current certificate
    from conftest import TestPKI
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = TestPKI(str(other_dir))
    d = clients.fresh_dir("foreign")
    from cryptography.hazmat.primitives.asymmetric import rsa
    from conftest import _cert, _name
    key = rsa.generate_private_key(65537, 2048)
    foreign = _cert(_name("frank"), other.ca.subject, key, other.ca_key, False)
    with open(os.path.join(d, "key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption()))
    with open(os.path.join(d, "cert.pem"), "wb") as f:
        f.write(foreign.public_bytes(serialization.Encoding.PEM))
    r = subprocess.run([SCEPCLIENT_BIN, "-private-key", os.path.join(d, "key.pem"), "-certificate",
                        os.path.join(d, "cert.pem"), "-server-url", server.url(), "-cn", "frank"],
                       capture_output=True, text=True, timeout=60, cwd=d)
    assert r.returncode != 0
    assert "renewal not signed by a valid certificate of this CA" in enrollment_line(server, outcome="rejected")
    assert emulator.requests() == []


def test_concurrent_enrollments(server, emulator, clients, pki, tmp_path):
    results = {}

    def one(i):
        profile = {"subject": f"CN=dev{i},OU=MDM,O=scep-client,C=US"}
        challenge = emulator.issue_challenge(profile)["challenge"]
        results[i] = clients.micromdm(server.url(), f"dev{i}", challenge)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    serials = set()
    for i, run in results.items():
        assert run.code == 0, run
        assert_issued(server, emulator, pki, run.cert, tmp_path, f"CN=dev{i},OU=MDM,O=scep-client,C=US")
        serials.add(run.cert.serial_number)
    assert len(serials) == 6


def test_database_is_intact_across_a_restart(workdir, pki, emulator, clients):
    d = os.path.join(workdir, "server-restart")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config)
    profile = {"subject": "CN=gina,OU=MDM,O=scep-client,C=US"}
    run = clients.micromdm(srv.url(), "gina", emulator.issue_challenge(profile)["challenge"])
    assert run.code == 0, run
    before = srv.db_rows()
    assert srv.stop() == 0
    srv2 = ScepServer(d, pki, emulator.config)
    try:
        assert srv2.db_rows() == before
        os.remove(os.path.join(run.dir, "cert.pem"))
        again = clients_rerun_micromdm(run, srv2.url(), "gina", "unused")
        assert again.code == 0, again
        assert again.cert.serial_number == run.cert.serial_number
        with open(os.path.join(d, "issued.sqlite"), "rb") as f:
            assert f.read(16) == b"SQLite format 3\x00"
        import sqlite3
        con = sqlite3.connect(srv2.db_path)
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        con.close()
    finally:
        assert srv2.stop() == 0


# --------------------------------------------------------------------------------------------
# The HTTP surface and hostile bytes.
# --------------------------------------------------------------------------------------------

def test_get_ca_caps_and_get_ca_cert(server, pki):
    r = requests.get(server.url() + "?operation=GetCACaps", timeout=10)
    caps = r.text.split()
    for c in ("AES", "SHA-256", "POSTPKIOperation", "SCEPStandard", "Renewal"):
        assert c in caps
    r = requests.get(server.url() + "?operation=GetCACert", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/x-x509-ca-ra-cert"
    # The certificates keep their order (RA, issuing CA, root), as OpenSSL writes a certs-only
    # PKCS#7 and as clients that take the first one as the RA expect; cryptography notes that a
    # DER SET OF would be sorted.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        certs = pkcs7.load_der_pkcs7_certificates(r.content)
    assert [c.subject for c in certs] == [pki.ra.subject, pki.ca.subject, pki.root.subject]


@pytest.mark.parametrize("how,expect", [
    ("post-garbage", 400), ("get-not-base64", 400), ("get-no-message", 400), ("unknown-op", 400),
    ("no-op", 400), ("unknown-path", 404), ("put", 405), ("post-huge", 413), ("post-empty", 400),
])
def test_bad_requests(server, emulator, how, expect):
    u = server.url()
    if how == "post-garbage":
        r = requests.post(u + "?operation=PKIOperation", data=b"\x30\x82\x01\x00" + b"A" * 300, timeout=10)
    elif how == "post-empty":
        r = requests.post(u + "?operation=PKIOperation", data=b"", timeout=10)
    elif how == "post-huge":
        r = requests.post(u + "?operation=PKIOperation", data=b"\x30" * (300 * 1024), timeout=10)
    elif how == "get-not-base64":
        r = requests.get(u + "?operation=PKIOperation&message=%25%25%25", timeout=10)
    elif how == "get-no-message":
        r = requests.get(u + "?operation=PKIOperation", timeout=10)
    elif how == "unknown-op":
        r = requests.get(u + "?operation=GetNextCACert", timeout=10)
    elif how == "no-op":
        r = requests.get(u, timeout=10)
    elif how == "unknown-path":
        r = requests.get(server.url("/other") + "?operation=GetCACaps", timeout=10)
    else:
        r = requests.put(u + "?operation=PKIOperation", data=b"x", timeout=10)
    assert r.status_code == expect, (how, r.status_code, r.text)
    assert emulator.requests() == []


def test_log_lines_hold_no_secret(server, emulator, clients):
    profile = {"subject": "CN=hank,OU=MDM,O=scep-client,C=US"}
    challenge = emulator.issue_challenge(profile)["challenge"]
    run = clients.micromdm(server.url(), "hank", challenge)
    assert run.code == 0, run
    log = "\n".join(server.lines)
    assert challenge not in log
    assert "static-secret-1" not in log
    assert emulator.app_secret not in log
    assert "EmuTok-" not in log
    assert len(server.enrollment_lines()) >= 1
    for line in server.enrollment_lines():
        for field in ("transaction_id=", "activity_id=", "subject=", "outcome=", "ms="):
            assert field in line, line


def test_help_and_configuration_errors(tmp_path, pki):
    r = subprocess.run([_find_server(), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "INTUNE_PATH" in r.stdout and "STATIC_CHALLENGE" in r.stdout
    r = subprocess.run([_find_server()], capture_output=True, text=True)
    assert r.returncode == 2 and "--config" in r.stderr
    cases = {
        "CA_CERT_FILE": "HTTP_PORT=0\nDB_PATH=x.db\nCA_KEY_FILE=k\n",
        "DB_PATH": f"HTTP_PORT=0\nCA_CERT_FILE={pki.path('ca.pem')}\nCA_KEY_FILE={pki.path('ca.key')}\n",
        "HTTP_PORT": "HTTP_PORT=99999\n",
        "STATIC_PATH and STATIC_CHALLENGE": (f"HTTP_PORT=0\nCA_CERT_FILE={pki.path('ca.pem')}\n"
                                             f"CA_KEY_FILE={pki.path('ca.key')}\nDB_PATH={tmp_path}/a.db\n"
                                             "STATIC_PATH=/s\n"),
        "CA_KEY_FILE: the key does not match": (f"HTTP_PORT=0\nCA_CERT_FILE={pki.path('ca.pem')}\n"
                                                f"CA_KEY_FILE={pki.path('ra.key')}\nDB_PATH={tmp_path}/b.db\n"),
        # A library key whose value the library refuses (a control character through a properties
        # escape) stops the start: dropped, TLS_CA_FILE would fall back to the system's trust store.
        "configuration key TLS_CA_FILE": (f"HTTP_PORT=0\nCA_CERT_FILE={pki.path('ca.pem')}\n"
                                          f"CA_KEY_FILE={pki.path('ca.key')}\nDB_PATH={tmp_path}/c.db\n"
                                          "TLS_CA_FILE=/etc/ssl/a\\u0007b.pem\n"),
    }
    for want, text in cases.items():
        p = tmp_path / "c.properties"
        p.write_text(text)
        r = subprocess.run([_find_server(), "--config", str(p)], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (want, r.stderr)
        assert want in r.stderr, (want, r.stderr)


def test_ec_issuing_ca_with_an_rsa_ra(workdir, emulator, clients, tmp_path):
    """An EC issuing CA issues (ECDSA SHA-256); the RA that carries the envelopes stays RSA.
    strongSwan enrolls (micromdm's client encrypts to every GetCACert certificate and
    cannot with an EC one: keep the whole chain RSA for it)."""
    from conftest import TestPKI
    d = os.path.join(workdir, "server-ec")
    os.makedirs(os.path.join(d, "pki"), exist_ok=True)
    ec_pki = TestPKI(os.path.join(d, "pki"), issuing_key_type="ec")
    srv = ScepServer(d, ec_pki, emulator.config)
    try:
        profile = {"subject": "CN=ivan,O=Contoso", "key_size": 2048}
        run = clients.strongswan(srv.url(), ss_dn(profile["subject"]), emulator.issue_challenge(profile)["challenge"])
        assert run.code == 0 and run.cert is not None, run
        r = verify_chain(ec_pki, run.cert, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert run.cert.signature_algorithm_oid.dotted_string == "1.2.840.10045.4.3.2"  # ecdsa-with-SHA256
        n = [x for x in emulator.notifications()["success"] if x["certificateSerialNumber"] == serial_hex(run.cert)]
        assert len(n) == 1 and n[0]["certificateThumbprint"] == thumbprint(run.cert)
    finally:
        assert srv.stop() == 0


def test_ec_ca_as_its_own_ra_is_refused_at_start(tmp_path, workdir):
    from conftest import TestPKI
    os.makedirs(tmp_path / "pki")
    ec_pki = TestPKI(str(tmp_path / "pki"), issuing_key_type="ec")
    p = tmp_path / "c.properties"
    p.write_text(f"HTTP_PORT=0\nCA_CERT_FILE={ec_pki.path('ca.pem')}\nCA_KEY_FILE={ec_pki.path('ca.key')}\n"
                 f"DB_PATH={tmp_path}/x.db\n")
    r = subprocess.run([_find_server(), "--config", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "RA_CERT_FILE" in r.stderr, r.stderr


def test_profile_no_longer_targeted_is_refused(server, emulator, clients):
    rows = len(server.db_rows())
    profile = {"subject": "CN=alice,O=Contoso"}
    issued = emulator.issue_challenge(profile)
    emulator.untarget(issued["profile_id"])
    run = clients.strongswan(server.url(), ss_dn(profile["subject"]), issued["challenge"])
    assert run.code != 0 and run.cert is None, run
    assert [v["code"] for v in emulator.validations()] == ["ScepProfileNoLongerTargetedToTheClient"]
    assert_nothing_issued(server, emulator, rows)


def test_wrong_app_key_issues_nothing_and_says_why(workdir, pki, emulator, clients):
    """Row 25: the token request fails with its AADSTS code; no certificate; a clear log line."""
    d = os.path.join(workdir, "server-wrong-key")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config, AAD_APP_KEY="not-the-app-key")
    try:
        profile = {"subject": "CN=jane,OU=MDM,O=scep-client,C=US"}
        run = clients.micromdm(srv.url(), "jane", emulator.issue_challenge(profile)["challenge"])
        assert run.code != 0 and run.cert is None, run
        line = enrollment_line(srv, outcome="rejected")
        assert "INTUNE_SCEP_E_AUTH" in line and "code=invalid_client" in line and "aadsts=7000215" in line, line
        assert "not-the-app-key" not in "\n".join(srv.lines)
        assert srv.db_rows() == [] and emulator.validations() == []
    finally:
        assert srv.stop() == 0


# --------------------------------------------------------------------------------------------
# What the real clients cannot express, through server/tests/scep_tool.c.
# --------------------------------------------------------------------------------------------

def _scep_tool() -> str:
    path = os.environ.get("INTUNE_SCEP_SCEP_TOOL")
    if not path:
        path = os.path.join(os.path.dirname(_find_server()), "scep_tool")
    return path


def tool_enroll(server, pki, tmp_path, csr_der, key, transaction_id, cipher="AES-128-CBC", digest="SHA256"):
    """POST a PKCSReq made by scep_tool; return (status line, issued certificate or None)."""
    from cryptography.hazmat.primitives import serialization as s
    (tmp_path / "csr.der").write_bytes(csr_der)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    msg = subprocess.run([_scep_tool(), "request", str(tmp_path / "csr.der"), str(tmp_path / "key.pem"),
                          pki.path("ra.pem"), transaction_id, cipher, digest], capture_output=True, timeout=30)
    assert msg.returncode == 0, msg.stderr
    r = requests.post(server.url() + "?operation=PKIOperation", data=msg.stdout, timeout=30,
                      headers={"Content-Type": "application/x-pki-message"})
    assert r.status_code == 200, r.text
    (tmp_path / "reply.der").write_bytes(r.content)
    out = subprocess.run([_scep_tool(), "reply", str(tmp_path / "reply.der"), str(tmp_path / "key.pem")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    status = out.stdout.splitlines()[0]
    cert = None
    if "BEGIN CERTIFICATE" in out.stdout:
        cert = x509.load_pem_x509_certificate(out.stdout[out.stdout.index("-----BEGIN"):].encode())
    return status, cert


def _csr_helpers():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "inspect_helpers", os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                                        "cli", "tests", "test_inspect_csr.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("period,units,days", [("Days", "30", 30), ("Months", "6", 180), ("Years", "5", 730)])
def test_validity_from_intune_pairs_capped_by_the_maximum(server, emulator, pki, tmp_path, period, units, days):
    from cryptography.hazmat.primitives.asymmetric import rsa
    h = _csr_helpers()
    key = rsa.generate_private_key(65537, 2048)
    challenge = emulator.issue_challenge({"subject": "CN=alice,O=Contoso"})["challenge"]
    # one pair per attribute (the emulator, like cryptography, reads single-valued attributes only)
    der = h.make_csr(key=key, challenge=challenge, extra_attributes=h.validity_attribute(period, units, True))
    status, cert = tool_enroll(server, pki, tmp_path, der, key, f"validity-{period}-{units}")
    assert status.startswith("status=0 "), (status, emulator.validations())
    assert not_after(cert) - not_before(cert) == datetime.timedelta(days=days, seconds=300)  # MAX_VALIDITY_DAYS=730
    assert verify_chain(pki, cert, tmp_path).returncode == 0
    n = [x for x in emulator.notifications()["success"] if x["certificateSerialNumber"] == serial_hex(cert)]
    assert len(n) == 1 and n[0]["certificateExpirationDateUtc"] == not_after(cert).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize("cipher,digest,expect", [
    ("AES-256-CBC", "SHA256", "status=0 "), ("AES-192-CBC", "SHA384", "status=0 "),
    ("DES-EDE3-CBC", "SHA1", "status=0 "), ("DES-CBC", "SHA512", "status=0 "),
    ("CAMELLIA-128-CBC", "SHA256", "status=2 failinfo=0 "), ("AES-128-CBC", "MD5", "status=2 failinfo=0 "),
])
def test_envelope_ciphers_and_digests(server, emulator, pki, tmp_path, cipher, digest, expect):
    from cryptography.hazmat.primitives.asymmetric import rsa
    h = _csr_helpers()
    key = rsa.generate_private_key(65537, 2048)
    challenge = emulator.issue_challenge({"subject": "CN=alice,O=Contoso"})["challenge"]
    der = h.make_csr(key=key, challenge=challenge)
    status, cert = tool_enroll(server, pki, tmp_path, der, key, f"cipher-{cipher}-{digest}", cipher, digest)
    assert status.startswith(expect), status
    assert (cert is not None) == expect.startswith("status=0")
    if cert is None:
        assert emulator.validations() == []  # refused before Intune was asked


def test_request_text_cannot_forge_log_fields(server, emulator, pki, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    h = _csr_helpers()
    key = rsa.generate_private_key(65537, 2048)
    challenge = emulator.issue_challenge({"subject": "CN=alice,O=Contoso"})["challenge"]
    der = h.make_csr(key=key, challenge=challenge)
    txid = 'x outcome=issued serial=00 "detail'
    status, cert = tool_enroll(server, pki, tmp_path, der, key, txid)
    assert status.startswith("status=0 ") and f"transaction_id={txid}" in status  # echoed unchanged
    assert emulator.validations()[-1]["transaction_id"] == txid  # passed to Intune unchanged
    line = enrollment_line(server, outcome="issued")
    assert line.count(" outcome=") == 1 and line.count(" serial=") == 1 and line.count('"') == 4, line


def test_ca_as_its_own_ra_single_certificate(workdir, pki, emulator, clients, tmp_path):
    """Without RA_* and CA_CHAIN_FILE, GetCACert is the CA's certificate alone and the CA decrypts
    and signs the messages itself; both clients enroll."""
    d = os.path.join(workdir, "server-single")
    os.makedirs(d, exist_ok=True)
    srv = ScepServer(d, pki, emulator.config, CA_CHAIN_FILE=None, RA_CERT_FILE=None, RA_KEY_FILE=None)
    try:
        r = requests.get(srv.url() + "?operation=GetCACert", timeout=10)
        assert r.headers["Content-Type"] == "application/x-x509-ca-cert"
        assert x509.load_der_x509_certificate(r.content).subject == pki.ca.subject
        profile = {"subject": "CN=kim,OU=MDM,O=scep-client,C=US"}
        run = clients.micromdm(srv.url(), "kim", emulator.issue_challenge(profile)["challenge"])
        assert run.code == 0, run
        assert verify_chain(pki, run.cert, tmp_path).returncode == 0
        profile = {"subject": "CN=kim,O=Contoso"}
        run = clients.strongswan(srv.url(), ss_dn(profile["subject"]), emulator.issue_challenge(profile)["challenge"])
        assert run.code == 0, run
        assert verify_chain(pki, run.cert, tmp_path).returncode == 0
        assert len(emulator.notifications()["success"]) == 2
    finally:
        assert srv.stop() == 0


def test_a_copy_arriving_during_the_enrollment_is_told_pending(server, emulator, pki, tmp_path):
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import rsa
    h = _csr_helpers()
    key = rsa.generate_private_key(65537, 2048)
    challenge = emulator.issue_challenge({"subject": "CN=alice,O=Contoso"})["challenge"]
    (tmp_path / "csr.der").write_bytes(h.make_csr(key=key, challenge=challenge))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    msg = subprocess.run([_scep_tool(), "request", str(tmp_path / "csr.der"), str(tmp_path / "key.pem"),
                          pki.path("ra.pem"), "slow-intune-1", "AES-128-CBC", "SHA256"], capture_output=True).stdout
    results = {}

    def post(name, delay):
        time.sleep(delay)
        r = requests.post(server.url() + "?operation=PKIOperation", data=msg, timeout=60)
        p = tmp_path / f"{name}.der"
        p.write_bytes(r.content)
        out = subprocess.run([_scep_tool(), "reply", str(p), str(tmp_path / "key.pem")], capture_output=True,
                             text=True)
        results[name] = out.stdout.splitlines()[0]

    # Intune's first answer is a 503 after 1.5 s (the library retries): the copy sent meanwhile
    # must not start a second enrollment
    emulator.add_fault({"endpoint": "validateRequest", "times": 1, "delay_ms": 1500, "action": "respond",
                        "status": 503, "headers": {"Retry-After": "0"}})
    threads = [threading.Thread(target=post, args=("first", 0)), threading.Thread(target=post, args=("copy", 0.5))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["first"].startswith("status=0 "), results
    assert results["copy"].startswith("status=3 "), results  # PENDING
    assert [v["code"] for v in emulator.validations()] == ["Success"]
    assert len(emulator.notifications()["success"]) == 1
    # once done, the same message gets the same certificate
    post("later", 0)
    assert results["later"].startswith("status=0 "), results
    assert "outcome=pending" in "\n".join(server.enrollment_lines()[server.mark:])
