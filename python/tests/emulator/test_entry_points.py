# SPDX-License-Identifier: Apache-2.0
"""The three ways in: python -m, the Emulator class, the pytest plugin; and the device helper script."""

import json
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.request
import warnings

import pytest
import requests

from intune_scep.emulator import Emulator
from intune_scep.emulator.device import TestCA, csr_base64, make_csr

PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = PYTHON_DIR + os.pathsep + e.get("PYTHONPATH", "")
    return e


def start(*args, stdin=subprocess.PIPE):
    p = subprocess.Popen([sys.executable, "-m", "intune_scep.emulator", *args], stdin=stdin,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    line = p.stdout.readline()
    assert line, p.stderr.read().decode()
    return p, json.loads(line)


def test_module_prints_one_json_line_and_stops_on_sigterm():
    p, info = start("--tenant", "fabrikam.onmicrosoft.com", "--app-id", "app-1", "--app-secret", "s3cr+t/=~",
                    "--page-size", "2", "--verbose")
    try:
        assert set(info) == {"base_url", "control_url", "ca_file", "pid", "config", "managed_identity_url",
                             "identity_header"}
        assert info["pid"] == p.pid
        assert info["base_url"].startswith("https://127.0.0.1:") and info["base_url"].endswith("/")
        assert info["control_url"] == info["base_url"] + "_emulator/"
        cfg = info["config"]
        assert cfg == {"AAD_APP_ID": "app-1", "AAD_APP_KEY": "s3cr+t/=~", "TENANT": "fabrikam.onmicrosoft.com",
                       "PROVIDER_NAME_AND_VERSION": cfg["PROVIDER_NAME_AND_VERSION"],
                       "AUTH_AUTHORITY": info["base_url"], "MS_GRAPH_RESOURCE_URL": info["base_url"],
                       "INTUNE_RESOURCE_URL": "https://api.manage.microsoft.com/", "TLS_CA_FILE": info["ca_file"]}
        assert os.path.exists(info["ca_file"])
        r = requests.post(info["base_url"] + "fabrikam.onmicrosoft.com/oauth2/v2.0/token", verify=info["ca_file"],
                          data={"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "s3cr+t/=~",
                                "scope": "https://api.manage.microsoft.com//.default"}, timeout=10)
        assert r.status_code == 200
        token = r.json()["access_token"]
        ctx = ssl.create_default_context(cafile=info["ca_file"])
        with urllib.request.urlopen(info["control_url"] + "stats", context=ctx, timeout=10) as resp:
            assert json.loads(resp.read())["token_requests"]["intune"] == 1
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15)
    assert p.returncode == 0
    assert out == b""  # nothing after the one line
    err = err.decode()
    assert "token" in err  # --verbose: one line per request
    assert "s3cr+t" not in err and token not in err  # never a secret or token
    assert not os.path.exists(info["ca_file"])  # temporary files removed


def test_module_exits_on_stdin_eof():
    p, info = start("--exit-on-stdin-eof")
    p.stdin.close()
    assert p.wait(timeout=15) == 0
    assert p.stdout.read() == b""


def test_module_sigint():
    p, _ = start()
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=15) == 0


def test_module_with_given_certificate(tmp_path):
    from intune_scep.emulator import tlsgen
    ca, cert, key = tlsgen.generate(str(tmp_path))
    p, info = start("--cert-file", cert, "--key-file", key, "--ca-file", ca)
    try:
        assert info["ca_file"] == ca
        r = requests.get(info["control_url"] + "stats", verify=ca, timeout=10)
        assert r.status_code == 200
    finally:
        p.terminate()
        p.wait(timeout=15)
    assert os.path.exists(ca)  # given files are left alone


def test_module_bad_arguments():
    r = subprocess.run([sys.executable, "-m", "intune_scep.emulator", "--cert-file", "x.pem"], env=env(),
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and r.stdout == b"" and b"--key-file" in r.stderr


def test_server_cert_for_another_host_name_fails_verification(tmp_path):
    with Emulator(server_cert_hostname="scep.contoso.example", workdir=str(tmp_path)) as emu:
        with pytest.raises(requests.exceptions.SSLError) as e:
            requests.get(emu.control_url + "stats", verify=emu.ca_file, timeout=10)
        assert "hostname" in str(e.value).lower() or "match" in str(e.value).lower()
        # the chain itself is good: the control client (name check off) still works
        assert emu.stats()["requests"] == 0


def test_other_ca_is_refused(emu_server, tmp_path):
    from intune_scep.emulator import tlsgen
    other_ca, _, _ = tlsgen.generate(str(tmp_path))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu_server.control_url + "stats", verify=other_ca, timeout=10)


def test_tls_1_1_refused(emu_server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(emu_server.ca_file)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    import socket
    s = socket.create_connection(("127.0.0.1", emu_server.port), timeout=10)
    with pytest.raises(ssl.SSLError) as e:
        ctx.wrap_socket(s, server_hostname="127.0.0.1")
    s.close()
    # refused by the server (a protocol version alert), not by this client
    assert e.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION", e.value


def test_emulator_class_attributes_and_restart(tmp_path):
    emu = Emulator(tenant="t.example", app_id="app", app_secret="sec", token_lifetime=60, page_size=3,
                   workdir=str(tmp_path))
    with emu:
        assert emu.config["TENANT"] == "t.example" and emu.config["AAD_APP_KEY"] == "sec"
        assert emu.config["TLS_CA_FILE"] == emu.ca_file
        assert emu.get_settings()["page_size"] == 3
        assert emu.token_url == emu.base_url + "t.example/oauth2/v2.0/token"
        assert emu.info()["config"] == emu.config
        with pytest.raises(RuntimeError):
            emu.start()
    with pytest.raises(RuntimeError):
        emu.stats()
    assert os.listdir(str(tmp_path)) == []


def test_pytest_plugin(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["intune_scep.emulator.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import requests
        from intune_scep.emulator.device import make_csr, csr_base64

        def test_one(intune_emulator):
            p = {"subject": "CN=alice"}
            ch = intune_emulator.issue_challenge(p)["challenge"]
            intune_emulator.add_fault("token", status=500)
            assert intune_emulator.config["TLS_CA_FILE"] == intune_emulator.ca_file
            assert len(intune_emulator.faults()) == 1

        def test_two_is_reset(intune_emulator):
            assert intune_emulator.faults() == []
            assert intune_emulator.stats()["requests"] == 0
    '''))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                       env=env(), capture_output=True, timeout=120, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert b"2 passed" in r.stdout


def test_device_script(emu):
    p = {"subject": "CN=alice,O=Contoso", "san_upns": ["alice@contoso.com"], "key_size": 1024,
         "hash_algorithms": ["sha1"]}
    ch = emu.issue_challenge(p)["challenge"]
    r = subprocess.run([sys.executable, "-m", "intune_scep.emulator.device", "--profile", json.dumps(p),
                        "--challenge", ch, "--override", '{"hash": "sha1"}'], env=env(), capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    out = json.loads(r.stdout)
    assert out["key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
    from intune_scep.emulator.challenges import check_csr_against_profile, decode_csr, normalise_profile
    csr, _ = decode_csr(out["csr"])
    assert csr.signature_hash_algorithm.name == "sha1"
    assert check_csr_against_profile(csr, normalise_profile(p)) == ("Success", "")
    r = subprocess.run([sys.executable, "-m", "intune_scep.emulator.device", "--sign", out["csr"],
                        "--validity-days", "7"], env=env(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    signed = json.loads(r.stdout)
    assert len(signed["certificateThumbprint"]) == 40
    assert signed["certificateExpirationDateUtc"].endswith(".000Z")
    assert signed["issuingCertificateAuthority"].startswith("CN=")
    assert signed["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")


def test_test_ca_copies_request(emu):
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID
    p = {"subject": "CN=alice,O=Contoso", "san_emails": ["a@contoso.com"], "key_usage": ["digitalSignature"],
         "ekus": ["1.3.6.1.5.5.7.3.2"]}
    ch = emu.issue_challenge(p)["challenge"]
    _, der = make_csr(p, ch, key_size=1024)
    ca = TestCA()
    cert = ca.sign(csr_base64(der), validity_days=10)
    assert cert.subject == x509.load_der_x509_csr(der).subject
    assert cert.issuer == ca.certificate.subject
    assert cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value.get_values_for_type(
        x509.RFC822Name) == ["a@contoso.com"]
    f = ca.notification_fields(cert)
    assert f["certificateSerialNumber"] == format(cert.serial_number, "X")
    from cryptography.hazmat.primitives.asymmetric import ec
    ca.certificate.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                       ec.ECDSA(cert.signature_hash_algorithm))


def test_test_ca_certificate_pem_is_its_own_named_certificate():
    from cryptography import x509
    ca = TestCA("CN=Some Other CA")
    pem = ca.certificate_pem()
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    assert cert == ca.certificate
    assert cert.subject.rfc4514_string() == "CN=Some Other CA" == cert.issuer.rfc4514_string()
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    # two CAs are two keys: one never vouches for the other's certificates
    assert TestCA("CN=Some Other CA").certificate_pem() != pem
