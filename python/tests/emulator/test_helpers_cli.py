# SPDX-License-Identifier: Apache-2.0
"""serve --properties-out, the make-csr and sign helper commands, and single-use challenges."""

import base64
import json
import os
import signal
import stat
import subprocess
import sys

import pytest
from cryptography import x509

from intune_scep.emulator import Emulator
from intune_scep.emulator.__main__ import properties_text, read_properties
from intune_scep.emulator.device import make_csr

from test_entry_points import env, start


def run(*args, input=None):
    return subprocess.run([sys.executable, "-m", "intune_scep.emulator", *args], input=input,
                          capture_output=True, env=env(), timeout=60)


@pytest.fixture
def served(tmp_path):
    props = tmp_path / "emu.properties"
    p, info = start("--properties-out", str(props))
    try:
        yield info, props
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=10)


def test_properties_out_is_private_and_complete(served):
    info, props = served
    assert stat.S_IMODE(os.stat(props).st_mode) == 0o600
    assert read_properties(props) == info["config"]


def test_properties_escaping_round_trips():
    cfg = {"A": "x=y:z é \\ #!", "B": " lead", "C": "\U0001F600", "D": "tab\there"}
    text = properties_text(cfg)
    assert text.isascii()
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        assert read_properties(path) == cfg
    finally:
        os.unlink(path)


def test_make_csr_and_sign_then_validate(served, tmp_path):
    info, props = served
    r = run("make-csr", "--properties", str(props), "--subject", "CN=alice,O=Contoso",
            "--san-upn", "alice@contoso.com", "--key-out", str(tmp_path / "dev.key"))
    assert r.returncode == 0, r.stderr
    pem = r.stdout
    assert pem.startswith(b"-----BEGIN CERTIFICATE REQUEST-----\n")
    assert stat.S_IMODE(os.stat(tmp_path / "dev.key").st_mode) == 0o600
    csr = x509.load_pem_x509_csr(pem)
    assert csr.is_signature_valid
    (tmp_path / "dev.csr").write_bytes(pem)
    # sign: PEM out, the same issuer from one --ca-dir
    ca_dir = tmp_path / "ca"
    c1 = run("sign", "--csr", str(tmp_path / "dev.csr"), "--ca-dir", str(ca_dir))
    c2 = run("sign", "--csr", "-", "--ca-dir", str(ca_dir), "--format", "base64", input=pem)
    assert c1.returncode == 0 and c2.returncode == 0, (c1.stderr, c2.stderr)
    cert1 = x509.load_pem_x509_certificate(c1.stdout)
    cert2 = x509.load_der_x509_certificate(base64.b64decode(c2.stdout))
    assert cert1.issuer == cert2.issuer and cert1.subject == csr.subject
    assert stat.S_IMODE(os.stat(ca_dir / "ca-key.pem").st_mode) == 0o600
    # DER output needs --out
    assert run("sign", "--csr", str(tmp_path / "dev.csr"), "--format", "der").returncode == 2
    assert run("sign", "--csr", str(tmp_path / "dev.csr"), "--format", "der", "--out",
               str(tmp_path / "c.der")).returncode == 0
    x509.load_der_x509_certificate((tmp_path / "c.der").read_bytes())


def test_make_csr_base64_validates(wire, tmp_path):
    # make-csr reaching an emulator by --control-url/--ca-file; its challenge validates.
    emu = wire.emu
    r = run("make-csr", "--control-url", emu.control_url, "--ca-file", emu.ca_file, "--format", "base64",
            "--subject", "CN=bob")
    assert r.returncode == 0, r.stderr
    line = r.stdout.decode().strip()
    assert "\n" not in line
    x509.load_der_x509_csr(base64.b64decode(line))
    assert wire.validate(line, "t-b64") == "Success"


def test_helper_errors():
    r = run("make-csr")
    assert r.returncode == 2 and b"--properties" in r.stderr
    r = run("make-csr", "--control-url", "https://127.0.0.1:1/_emulator/")
    assert r.returncode == 2 and b"--ca-file" in r.stderr
    r = run("sign", "--csr", "-", input=b"not a request")
    assert r.returncode != 0 and b"not a certificate request" in r.stderr
    r = run("make-csr", "--challenge", "C", "--format", "base64")
    assert r.returncode == 0  # a challenge given: no emulator needed


def test_single_use_challenges(wire):
    emu = wire.emu
    ch = emu.issue_challenge({"subject": "CN=once"})["challenge"]
    _, der = make_csr({"subject": "CN=once"}, ch)
    # Default: Intune's documentation gives a challenge an expiry, not a single use.
    assert wire.validate(der, "tx-1") == "Success"
    assert wire.validate(der, "tx-2") == "Success"
    emu.settings(single_use_challenges=True)
    ch = emu.issue_challenge({"subject": "CN=once"})["challenge"]
    _, der = make_csr({"subject": "CN=once"}, ch)
    _, der_again = make_csr({"subject": "CN=once"}, ch)  # another key, the same challenge
    assert wire.validate(der, "tx-3") == "Success"
    assert wire.validate(der, "tx-3") == "Success"  # the same transaction, retried
    assert wire.validate(der, "tx-4") == "BadCertificateRequestIdInChallenge"
    assert wire.validate(der_again, "tx-5") == "BadCertificateRequestIdInChallenge"
    emu.reset()  # back to the default
    assert emu.get_settings()["single_use_challenges"] is False


def test_single_use_challenges_option():
    with Emulator(single_use_challenges=True) as emu:
        assert emu.get_settings()["single_use_challenges"] is True
        emu.reset()
        assert emu.get_settings()["single_use_challenges"] is True
    p, info = start("--single-use-challenges")
    try:
        from intune_scep.emulator.client import ControlClient
        assert ControlClient(info["control_url"], info["ca_file"]).get_settings()["single_use_challenges"] is True
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=10)
