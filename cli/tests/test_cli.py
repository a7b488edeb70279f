# SPDX-License-Identifier: Apache-2.0
"""The intune-scep tool, run as a program against the Intune emulator.

Every subcommand, text and --json output, every exit code:
  0 success, 1 (not reachable from outside: internal), 2 usage/configuration,
  3 rejected by Intune, 4 authentication, 5 HTTP error / service not found,
  6 transport, 7 protocol;
and, last, a check that no secret (the app key, or a bearer token the tool was
issued) appears in anything any run printed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import socket
import uuid

import pytest
from conftest import TRANSCRIPT, clean_env, write_config
from cryptography.hazmat.primitives import serialization
from device import DemoCA, make_csr

SUBJECT = "CN=alice,O=Contoso"
# Recognisable secrets (scripts/secret-scan.sh looks for them in CI logs too); never printed.
WRONG_APP_KEY = "Wrong~Secret+/=123"
OTHER_WRONG_APP_KEY = "definitely-not-the-key~+/="
KEY_PASSWORD = "K3y~Passw0rd"
WRONG_KEY_PASSWORD = "wr0ng~Pass"
for _name in ("WRONG_APP_KEY", "OTHER_WRONG_APP_KEY", "KEY_PASSWORD", "WRONG_KEY_PASSWORD"):
    TRANSCRIPT.secrets[_name] = globals()[_name]
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@pytest.fixture(scope="module")
def ca():
    return DemoCA()


def device_csr(emulator, tmp_path, subject=SUBJECT, profile_subject=SUBJECT, encoding="pem", name="device.csr"):
    """A CSR for `subject` carrying a fresh challenge for a profile that asks for `profile_subject`."""
    challenge = emulator.challenge(subject=profile_subject)["challenge"]
    csr = make_csr(subject, challenge)
    path = tmp_path / name
    if encoding == "pem":
        path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    elif encoding == "der":
        path.write_bytes(csr.public_bytes(serialization.Encoding.DER))
    else:  # base64 of the DER, wrapped at 64 columns
        b64 = base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()
        path.write_text("\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + "\n")
    return str(path), csr


def flat(text: str) -> str:
    """Text with its wrapped lines joined (the tool wraps long values)."""
    return " ".join(text.split())


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------
# version and help


def test_version_text_and_json(run):
    r = run("version")
    assert r.code == 0, r
    assert re.match(r"^intune-scep \d+\.\d+\.\d+ \(libintunescep \d+\.\d+\.\d+, ABI 1\)$", r.out.strip()), r
    j = run("version", "--json").json()
    assert j["command"] == "version" and j["ok"] is True and j["exit_code"] == 0
    assert re.match(r"^\d+\.\d+\.\d+$", j["library_version"])


@pytest.mark.parametrize("cmd", ["check", "validate", "notify-success", "notify-failure", "version"])
def test_every_command_has_help(run, cmd):
    r = run(cmd, "--help")
    assert r.code == 0, r
    assert r.out.startswith("Usage: intune-scep"), r
    assert cmd in r.out
    assert r.out == run("help", cmd).out
    if cmd != "version":
        # the exit codes are documented in every command's help
        for line in ("2  usage or configuration", "3  rejected by Intune", "4  authentication",
                     "5  HTTP error", "6  transport", "7  protocol"):
            assert line in r.out, (line, r.out)


def test_main_help_and_no_command(run):
    r = run("--help")
    assert r.code == 0 and "Commands:" in r.out and "INTUNE_SCEP_AAD_APP_KEY" in r.out, r
    r = run()
    assert r.code == 2 and "Usage:" in r.err and r.out == "", r
    j = run("--json").json()
    assert j["ok"] is False and j["status"] == "USAGE" and j["exit_code"] == 2


# ----------------------------------------------------------------------------
# exit 2: usage


@pytest.mark.parametrize("args, words", [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["check", "--bogus"], "unknown option --bogus"),
    (["validate", "--csr", "x.csr"], "'validate' needs --transaction-id"),
    (["validate", "--transaction-id", "t"], "'validate' needs --csr"),
    (["validate", "--transaction-id"], "option --transaction-id needs a value"),
    (["check", "--csr", "x.csr"], "option --csr does not apply to 'check'"),
    (["notify-success", "--transaction-id", "t", "--csr", "x"], "'notify-success' needs --cert"),
    (["notify-failure", "--transaction-id", "t", "--csr", "x", "--hresult", "1"],
     "'notify-failure' needs --description"),
    (["validate", "--transaction-id", "a", "--transaction-id", "b", "--csr", "x"], "given twice"),
    (["version", "extra"], "unexpected argument 'extra'"),
    (["-c"], "option -c needs a FILE"),
])
def test_usage_errors_exit_2(run, args, words):
    r = run(*args)
    assert r.code == 2, r
    assert words in r.err, r
    assert r.out == ""
    assert "Run 'intune-scep " in r.err and "--help' for usage." in r.err, r
    j = run("--json", *args).json()
    assert j["ok"] is False and j["status"] == "USAGE" and j["exit_code"] == 2 and words in j["message"]


@pytest.mark.parametrize("hresult", ["", "0x", "12a", "0x1G", "0x10000000000000000", "9223372036854775808",
                                     "-9223372036854775809", "+5", " 5", "--5"])
def test_bad_hresult_exit_2(run, emulator, config_file, tmp_path, hresult):
    csr_path, _ = device_csr(emulator, tmp_path)
    r = run("-c", config_file, "notify-failure", "--transaction-id", "t", "--csr", csr_path,
            f"--hresult={hresult}", "--description", "x")
    assert r.code == 2 and "--hresult" in r.err, r
    assert emulator.requests("failureNotification") == []


def test_not_a_csr_or_cert_exit_2(run, emulator, config_file, tmp_path, ca):
    junk = tmp_path / "junk.csr"
    junk.write_text("this is not a certificate request\n")
    r = run("-c", config_file, "validate", "--transaction-id", "t", "--csr", str(junk))
    assert r.code == 2 and f"--csr {junk}" in r.err, r
    r = run("-c", config_file, "validate", "--transaction-id", "t", "--csr", str(tmp_path / "missing.csr"))
    assert r.code == 2 and "No such file" in r.err, r
    csr_path, _ = device_csr(emulator, tmp_path)
    r = run("-c", config_file, "notify-success", "--transaction-id", "t", "--csr", csr_path, "--cert", str(junk))
    assert r.code == 2 and f"--cert {junk}" in r.err, r
    assert emulator.requests("validateRequest") == [] and emulator.requests("successNotification") == []


# ----------------------------------------------------------------------------
# exit 2: configuration


def test_config_missing_file_and_missing_key(run, emulator, tmp_path):
    r = run("-c", str(tmp_path / "nope.properties"), "check")
    assert r.code == 2 and "nope.properties" in r.err, r
    path = write_config(str(tmp_path / "c.properties"), emulator.config, drop=["TENANT"])
    r = run("-c", path, "check")
    assert r.code == 2 and "TENANT" in r.err, r
    j = run("-c", path, "--json", "check").json()
    assert j["status"] == "INTUNE_SCEP_E_CONFIG" and j["exit_code"] == 2 and "TENANT" in j["message"]
    assert emulator.requests() == []


def test_config_syntax_error_names_line(run, emulator, tmp_path):
    path = write_config(str(tmp_path / "c.properties"), emulator.config)
    with open(path, "a", encoding="utf-8") as f:
        f.write("BROKEN=\\uZZZZ\n")
    r = run("-c", path, "check")
    assert r.code == 2 and "c.properties" in r.err, r


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_insecure_config_permissions_refused(run, emulator, tmp_path, mode):
    path = write_config(str(tmp_path / "c.properties"), emulator.config, mode=mode)
    r = run("-c", path, "check")
    assert r.code == 2, r
    assert "chmod 600" in r.err and "--allow-insecure-config-permissions" in r.err, r
    assert emulator.requests() == [], "nothing may be sent with a refused config"
    j = run("--json", "-c", path, "check").json()
    assert j["exit_code"] == 2 and "chmod 600" in j["message"]


def test_insecure_config_permissions_allowed_with_warning(run, emulator, tmp_path):
    path = write_config(str(tmp_path / "c.properties"), emulator.config, mode=0o644)
    r = run("-c", path, "--allow-insecure-config-permissions", "check")
    assert r.code == 0, r
    assert "warning" in r.err and "chmod 600" in r.err, r
    j = run("-c", path, "--allow-insecure-config-permissions", "--json", "check")
    assert j.code == 0 and j.json()["ok"] is True and "warning" in j.err


def test_environment_overrides_the_file(run, emulator, tmp_path):
    # The secret only in the environment; the file has none.
    path = write_config(str(tmp_path / "c.properties"), emulator.config, drop=["AAD_APP_KEY"])
    assert run("-c", path, "check").code == 2
    r = run("-c", path, "check", env={"INTUNE_SCEP_AAD_APP_KEY": emulator.config["AAD_APP_KEY"]})
    assert r.code == 0, r
    # The environment wins over a wrong value in the file.
    path = write_config(str(tmp_path / "d.properties"), emulator.config, AAD_APP_KEY=OTHER_WRONG_APP_KEY)
    r = run("-c", path, "check", env={"INTUNE_SCEP_AAD_APP_KEY": emulator.config["AAD_APP_KEY"]})
    assert r.code == 0, r
    # And the whole configuration from the environment, no file at all.
    env = {"INTUNE_SCEP_" + k: v for k, v in emulator.config.items()}
    r = run("--json", "check", env=env)
    assert r.code == 0 and r.json()["ok"] is True, r


def _client_certificate(tmp_path, password=None):
    """A certificate credential: (cert+key PEM file, cert PEM) registered on nothing yet."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    from device import new_key
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intune-scep app credential")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    enc = (serialization.BestAvailableEncryption(password.encode()) if password
           else serialization.NoEncryption())
    path = tmp_path / "app-credential.pem"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(cert_pem + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))
    return str(path), cert_pem.decode()


def test_certificate_credential_and_key_file_permissions(run, emulator, tmp_path):
    password = KEY_PASSWORD
    cred, cert_pem = _client_certificate(tmp_path, password)
    emulator.call("POST", "settings", {"client_certificates": [cert_pem]})
    path = write_config(str(tmp_path / "c.properties"), emulator.config, drop=["AAD_APP_KEY"],
                        AAD_CLIENT_CERT_FILE=cred)
    # The key's password from the environment.
    env = {"INTUNE_SCEP_AAD_CLIENT_KEY_PASSWORD": password}
    r = run("-c", path, "check", env=env)
    assert r.code == 0, r
    assert "client_assertion" in emulator.requests("token")[0]["body"]
    # A wrong password is a configuration error naming the key, without the password.
    r = run("-c", path, "check", env={"INTUNE_SCEP_AAD_CLIENT_KEY_PASSWORD": WRONG_KEY_PASSWORD})
    assert r.code == 2 and "AAD_CLIENT_KEY_PASSWORD" in r.err, r
    # The private key file readable by others is refused like the config file.
    os.chmod(cred, 0o644)
    r = run("-c", path, "check", env=env)
    assert r.code == 2 and "private key file" in r.err and "chmod 600" in r.err, r
    r = run("-c", path, "--allow-insecure-config-permissions", "check", env=env)
    assert r.code == 0 and "warning: private key file" in r.err, r


# ----------------------------------------------------------------------------
# check


def test_check_ok_text(run, emulator, config_file):
    r = run("-c", config_file, "check")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0] == f"Checking tenant {emulator.config['TENANT']}, app {emulator.config['AAD_APP_ID']}"
    assert re.match(r"^  ok    Graph token +\d+ ms", lines[1]), r
    assert re.match(r"^  ok    Service discovery +\d+ ms  https://127\.0\.0\.1:\d+/ScepRequestValidationFEService$",
                    lines[2]), r
    assert re.match(r"^  ok    Intune token +\d+ ms", lines[3]), r
    assert lines[4].startswith("Result: OK"), r
    kinds = [q["endpoint"] for q in emulator.requests()]
    assert kinds == ["token", "discovery", "token"], kinds


def test_check_ok_json(run, emulator, config_file):
    j = run("-c", config_file, "--json", "check").json()
    assert j["command"] == "check" and j["ok"] is True and j["exit_code"] == 0
    for key in ("status", "message", "activity_id", "transaction_id", "service_code", "description",
                "http_status", "aadsts_code", "steps"):
        assert key in j, key
    assert [s["name"] for s in j["steps"]] == ["graph_token", "discovery", "intune_token"]
    assert all(s["ok"] and s["result"] == "ok" and s["elapsed_ms"] >= 0 for s in j["steps"])
    assert j["steps"][1]["uri"].endswith("/ScepRequestValidationFEService")


def test_check_wrong_secret_exit_4(run, emulator, tmp_path):
    path = write_config(str(tmp_path / "c.properties"), emulator.config, AAD_APP_KEY=WRONG_APP_KEY)
    r = run("-c", path, "check")
    assert r.code == 4, r
    assert re.search(r"^  FAIL  Graph token", r.out, re.M), r
    assert "AADSTS7000215" in r.out and "create a new client secret" in flat(r.out), r
    assert re.search(r"^  skip  Service discovery", r.out, re.M) and "Result: FAILED at step 1" in r.out, r
    j = run("-c", path, "--json", "check").json()
    assert j["ok"] is False and j["exit_code"] == 4 and j["failed_step"] == "graph_token"
    assert j["status"] == "INTUNE_SCEP_E_AUTH" and j["aadsts_code"] == 7000215
    assert j["service_code"] == "invalid_client" and "AAD_APP_KEY" in j["fix"]
    assert UUID_RE.match(j["activity_id"] or ""), j
    assert [s["result"] for s in j["steps"]] == ["failed", "skipped", "skipped"]


def test_check_graph_403_exit_5(run, emulator, config_file):
    emulator.fault(endpoint="discovery", status=403, times=0,
                   body='{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}')
    r = run("-c", config_file, "check")
    assert r.code == 5, r
    assert re.search(r"^  FAIL  Service discovery", r.out, re.M) and "Application.Read.All" in r.out, r
    j = run("-c", config_file, "--json", "check").json()
    assert j["failed_step"] == "discovery" and j["http_status"] == 403 and j["exit_code"] == 5
    assert "Application.Read.All" in j["fix"] and UUID_RE.match(j["activity_id"] or "")


def test_check_service_not_found_exit_5(run, emulator, config_file):
    body = ('{"value":[{"providerName":"PkiConnectorFEService","uri":"https://127.0.0.1:1/PkiConnectorFEService"},'
            '{"providerName":"SomethingElse","uri":"https://127.0.0.1:1/SomethingElse"}]}')
    emulator.fault(endpoint="discovery", status=200, body=body, times=0)
    j = run("-c", config_file, "--json", "check").json()
    assert j["exit_code"] == 5 and j["status"] == "INTUNE_SCEP_E_SERVICE_NOT_FOUND", j
    assert "PkiConnectorFEService" in j["message"], j
    r = run("-c", config_file, "check")
    assert r.code == 5 and "INTUNE_APP_ID" in r.out, r


def test_check_intune_token_failure_reported_at_step_3(run, emulator, config_file):
    # The Graph token and discovery succeed; the Intune token is refused (AADSTS70011, invalid scope)
    # because INTUNE_RESOURCE_URL names a resource the identity platform does not know.
    path = write_config(os.path.join(os.path.dirname(config_file), "i.properties"), emulator.config,
                        INTUNE_RESOURCE_URL="https://api.manage.example.invalid/")
    r = run("-c", path, "check")
    assert r.code == 4, r
    assert re.search(r"^  ok    Graph token", r.out, re.M) and re.search(r"^  ok    Service discovery", r.out, re.M)
    assert re.search(r"^  FAIL  Intune token", r.out, re.M) and "Result: FAILED at step 3" in r.out, r
    j = run("-c", path, "--json", "check").json()
    assert j["failed_step"] == "intune_token" and j["exit_code"] == 4 and j["aadsts_code"] == 70011
    assert [s["result"] for s in j["steps"]] == ["ok", "ok", "failed"]


def test_check_reports_roles_and_credential(run, emulator, config_file):
    j = run("-c", config_file, "--json", "check").json()
    assert j["ok"] is True and j["credential"].startswith("client secret"), j
    assert j["certificate_expires"] is None
    assert j["steps"][0]["roles"] == ["Application.Read.All"]
    assert j["steps"][2]["roles"] == ["scep_challenge_provider"]
    r = run("-c", config_file, "check")
    assert r.code == 0 and "Credential: client secret (AAD_APP_KEY)" in r.out, r
    assert "roles: scep_challenge_provider" in r.out, r


def test_check_names_missing_intune_permission(run, emulator, config_file):
    emulator.call("POST", "settings", {"roles": {"intune": []}})
    try:
        r = run("-c", config_file, "check")
        assert r.code == 4, r
        assert re.search(r"^  FAIL  Intune token", r.out, re.M), r
        assert "scep_challenge_provider" in r.out and "admin consent" in flat(r.out), r
        j = run("-c", config_file, "--json", "check").json()
        assert j["ok"] is False and j["failed_step"] == "intune_token" and j["exit_code"] == 4, j
        assert j["missing_permission"] == "scep_challenge_provider" and "admin consent" in j["fix"], j
        assert j["status"] == "INTUNE_SCEP_E_AUTH"
        kinds = [q["endpoint"] for q in emulator.requests()]
        assert "validateRequest" not in kinds, kinds
    finally:
        emulator.call("POST", "settings", {"roles": {"intune": ["scep_challenge_provider"]}})


def test_check_names_missing_graph_permission_before_discovery(run, emulator, config_file):
    emulator.call("POST", "settings", {"roles": {"graph": ["User.Read.All"]}})
    try:
        j = run("-c", config_file, "--json", "check").json()
        assert j["failed_step"] == "graph_token" and j["missing_permission"] == "Application.Read.All", j
        assert "User.Read.All" in j["message"] and "admin consent" in j["fix"], j
        assert [s["result"] for s in j["steps"]] == ["failed", "skipped", "skipped"]
        assert emulator.requests("discovery") == []
    finally:
        emulator.call("POST", "settings", {"roles": {"graph": ["Application.Read.All"]}})


def test_check_candidate_credential(run, emulator, config_file, tmp_path):
    bad = write_config(str(tmp_path / "bad.properties"), {"AAD_APP_KEY": WRONG_APP_KEY})
    r = run("-c", config_file, "check", "--candidate", bad)
    assert r.code == 4 and "AADSTS7000215" in r.out, r
    assert "from candidate" in r.out, r
    both = write_config(str(tmp_path / "both.properties"), {"AAD_APP_KEY": "x", "AAD_MANAGED_IDENTITY": "system"})
    r = run("-c", config_file, "check", "--candidate", both)
    assert r.code == 2 and "both set" in r.err, r
    good = write_config(str(tmp_path / "good.properties"), {"AAD_APP_KEY": emulator.config["AAD_APP_KEY"]})
    j = run("-c", config_file, "--json", "check", "--candidate", good).json()
    assert j["ok"] is True and j["candidate"] == good, j
    r = run("-c", config_file, "validate", "--candidate", good, "--transaction-id", "t", "--csr", good)
    assert r.code == 2 and "--candidate" in (r.err + r.out), r


def test_check_managed_identity_app_service_style(run, emulator, tmp_path):
    cfg = {k: v for k, v in emulator.config.items() if k != "AAD_APP_KEY"}
    path = write_config(str(tmp_path / "mi.properties"), cfg, AAD_MANAGED_IDENTITY="system",
                        IDENTITY_ENDPOINT=emulator.managed_identity_url + "msi/token")
    env = clean_env({"INTUNE_SCEP_IDENTITY_HEADER": emulator.identity_header})
    r = run("-c", path, "-v", "check", env=env)
    assert r.code == 0, r
    assert "Credential: managed identity (AAD_MANAGED_IDENTITY)" in r.out, r
    assert emulator.identity_header not in r.out + r.err
    assert emulator.requests("token") == [] and len(emulator.requests("managed_identity")) == 2


def test_check_reports_certificate_expiry_and_warns_within_30_days(run, emulator, tmp_path):
    key, cert = str(tmp_path / "app.key"), str(tmp_path / "app.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=expiring connector", "-days", "10"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    cfg = {k: v for k, v in emulator.config.items() if k != "AAD_APP_KEY"}
    path = write_config(str(tmp_path / "cert.properties"), cfg, AAD_CLIENT_CERT_FILE=cert, AAD_CLIENT_KEY_FILE=key)
    r = run("-c", path, "check")
    assert r.code == 4, r  # the emulator does not know this certificate
    assert re.search(r"^Credential: certificate \(AAD_CLIENT_CERT_FILE\), certificate expires \S+Z \(in (?:9|10) days\)$",
                     r.out, re.M), r
    assert "expires within 30 days" in r.err, r
    j = run("-c", path, "--json", "check").json()
    assert j["credential"].startswith("certificate") and j["certificate_expires"].endswith("Z"), j


def test_check_transport_nothing_listening_exit_6(run, emulator, tmp_path):
    port = free_port()
    path = write_config(str(tmp_path / "c.properties"), emulator.config,
                        AUTH_AUTHORITY=f"https://127.0.0.1:{port}/", MAX_RETRIES="0")
    r = run("-c", path, "check")
    assert r.code == 6, r
    assert re.search(r"^  FAIL  Graph token", r.out, re.M), r
    j = run("-c", path, "--json", "check").json()
    assert j["status"] == "INTUNE_SCEP_E_TRANSPORT" and j["exit_code"] == 6 and j["http_status"] == 0
    assert j["fix"]


def test_check_tls_other_ca_exit_6(run, emulator, tmp_path):
    other = DemoCA("CN=Some Other CA")
    other_pem = tmp_path / "other-ca.pem"
    other_pem.write_bytes(other.cert.public_bytes(serialization.Encoding.PEM))
    path = write_config(str(tmp_path / "c.properties"), emulator.config, TLS_CA_FILE=str(other_pem))
    r = run("-c", path, "check")
    assert r.code == 6, r
    j = run("-c", path, "--json", "check").json()
    assert j["exit_code"] == 6 and "TLS_CA_FILE" in j["fix"], j
    assert emulator.requests() == [], "no request may get through an untrusted TLS connection"


def test_check_verbose_logs_to_stderr(run, emulator, config_file):
    r = run("-c", config_file, "-v", "check")
    assert r.code == 0, r
    assert "intune-scep: [" in r.err, r
    assert "Result: OK" in r.out and "intune-scep: [" not in r.out


# ----------------------------------------------------------------------------
# validate


@pytest.mark.parametrize("encoding", ["pem", "der", "base64"])
def test_validate_success(run, emulator, config_file, tmp_path, encoding):
    csr_path, csr = device_csr(emulator, tmp_path, encoding=encoding)
    tid = "tx-" + uuid.uuid4().hex
    r = run("-c", config_file, "validate", "--transaction-id", tid, "--csr", csr_path)
    assert r.code == 0, r
    assert r.out.startswith("validate: Success"), r
    assert f"transaction id   {tid}" in r.out
    sent = emulator.requests("validateRequest")
    assert len(sent) == 1
    body = sent[0]["json"]["request"]
    assert body["transactionId"] == tid
    assert body["certificateRequest"] == base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()
    assert [v["code"] for v in emulator.call("GET", "validations")] == ["Success"]


def test_validate_success_json(run, emulator, config_file, tmp_path):
    csr_path, _ = device_csr(emulator, tmp_path)
    j = run("-c", config_file, "--json", "validate", "--transaction-id", "tx-json", "--csr", csr_path).json()
    assert j["command"] == "validate" and j["ok"] is True and j["exit_code"] == 0
    assert j["service_code"] == "Success" and j["transaction_id"] == "tx-json"
    assert j["status"] == "INTUNE_SCEP_OK"
    # -v: the library's log lines on stderr (and the leak check reads them too); stdout stays one object.
    r = run("-c", config_file, "--json", "-v", "validate", "--transaction-id", "tx-json", "--csr", csr_path)
    assert r.code == 0 and r.json()["ok"] is True and "[debug]" in r.err, r
    assert "validateRequest" in r.err, r


def test_validate_rejected_exit_3(run, emulator, config_file, tmp_path):
    csr_path, _ = device_csr(emulator, tmp_path, subject="CN=mallory,O=Contoso")
    r = run("-c", config_file, "validate", "--transaction-id", "tx-bad", "--csr", csr_path)
    assert r.code == 3, r
    assert r.out.startswith("validate: REJECTED by Intune: SubjectNameMismatch (exit 3)"), r
    assert "Do not issue the certificate." in r.out
    m = re.search(r"^  activity id +(\S+)$", r.out, re.M)
    assert m and UUID_RE.match(m.group(1)), r
    sent = emulator.requests("validateRequest")
    assert sent[-1]["headers"]["client-request-id"] == m.group(1), "the activity id is the request's"
    csr_path, _ = device_csr(emulator, tmp_path, subject="CN=mallory,O=Contoso", name="b.csr")
    j = run("-c", config_file, "--json", "validate", "--transaction-id", "tx-bad2", "--csr", csr_path).json()
    assert j["ok"] is False and j["exit_code"] == 3 and j["status"] == "INTUNE_SCEP_E_REJECTED"
    assert j["service_code"] == "SubjectNameMismatch" and j["transaction_id"] == "tx-bad2"
    assert UUID_RE.match(j["activity_id"]) and "subject" in j["fix"].lower()
    assert j["activity_id"] == emulator.requests("validateRequest")[-1]["headers"]["client-request-id"]


def test_validate_no_challenge_rejected(run, emulator, config_file, tmp_path):
    path = tmp_path / "nochallenge.csr"
    path.write_bytes(make_csr(SUBJECT, None).public_bytes(serialization.Encoding.PEM))
    j = run("-c", config_file, "--json", "validate", "--transaction-id", "t", "--csr", str(path)).json()
    assert j["exit_code"] == 3 and j["service_code"] == "ChallengePasswordMissing"


def test_validate_http_500_exit_5(run, emulator, config_file, tmp_path):
    emulator.fault(endpoint="validateRequest", status=500, body='{"error":"boom"}', times=0)
    csr_path, _ = device_csr(emulator, tmp_path)
    r = run("-c", config_file, "validate", "--transaction-id", "t500", "--csr", csr_path)
    assert r.code == 5, r
    assert "HTTP status      500" in r.out and "Do not issue the certificate." in r.out, r
    j = run("-c", config_file, "--json", "validate", "--transaction-id", "t500", "--csr", csr_path).json()
    assert j["status"] == "INTUNE_SCEP_E_HTTP" and j["http_status"] == 500 and j["exit_code"] == 5
    assert UUID_RE.match(j["activity_id"])


def test_validate_403_names_the_intune_permission(run, emulator, config_file, tmp_path):
    emulator.fault(endpoint="validateRequest", status=403, body="{}", times=0)
    csr_path, _ = device_csr(emulator, tmp_path)
    j = run("-c", config_file, "--json", "validate", "--transaction-id", "t403", "--csr", csr_path).json()
    assert j["exit_code"] == 5 and j["http_status"] == 403
    assert "SCEP challenge validation" in j["fix"]


def test_validate_not_json_exit_7(run, emulator, config_file, tmp_path):
    emulator.fault(endpoint="validateRequest", status=200, body="<html>login portal</html>",
                   content_type="text/html", times=0)
    csr_path, _ = device_csr(emulator, tmp_path)
    r = run("-c", config_file, "validate", "--transaction-id", "tproto", "--csr", csr_path)
    assert r.code == 7, r
    j = run("-c", config_file, "--json", "validate", "--transaction-id", "tproto", "--csr", csr_path).json()
    assert j["status"] == "INTUNE_SCEP_E_PROTOCOL" and j["exit_code"] == 7 and j["ok"] is False


def test_validate_transport_exit_6(run, emulator, tmp_path):
    port = free_port()
    path = write_config(str(tmp_path / "c.properties"), emulator.config,
                        AUTH_AUTHORITY=f"https://127.0.0.1:{port}/", MAX_RETRIES="0")
    csr_path, _ = device_csr(emulator, tmp_path)
    j = run("-c", path, "--json", "validate", "--transaction-id", "tt", "--csr", csr_path).json()
    assert j["exit_code"] == 6 and j["status"] == "INTUNE_SCEP_E_TRANSPORT"


def test_validate_auth_exit_4(run, emulator, tmp_path):
    path = write_config(str(tmp_path / "c.properties"), emulator.config, AAD_APP_KEY=WRONG_APP_KEY)
    csr_path, _ = device_csr(emulator, tmp_path)
    r = run("-c", path, "validate", "--transaction-id", "ta", "--csr", csr_path)
    assert r.code == 4 and "AADSTS7000215" in r.out, r
    assert emulator.requests("validateRequest") == []


# Every code of protocol.md section 4 but Success, in Intune's order.
INTUNE_CODES = [
    "Unknown", "CertificateRequestDecodingFailed", "ChallengePasswordMissing", "ChallengeDeserializationError",
    "ChallengeDecryptionError", "ChallengeDecodingError", "ChallengeInvalidTimestamp", "ChallengeExpired",
    "SubjectNameMissing", "SubjectNameMismatch", "SubjectAltNameMissing", "SubjectAltNameMismatch",
    "KeyUsageMismatch", "KeyLengthMismatch", "EnhancedKeyUsageMissing", "EnhancedKeyUsageMismatch",
    "AadKeyIdentifierListMissing", "RegisteredKeyMismatch", "SigningCertThumbprintMismatch",
    "ScepProfileNoLongerTargetedToTheClient", "SignatureValidationFailed", "BadCertificateRequestIdInChallenge",
    "BadDeviceIdInChallenge", "BadUserIdInChallenge",
]
UNKNOWN_CODE_FIX = "a code this tool does not know"
ONBOARDING = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "docs", "onboarding.md")


def test_every_intune_code_is_exit_3_with_its_own_fix(run, emulator, config_file, tmp_path):
    csr_path, _ = device_csr(emulator, tmp_path)
    doc = open(ONBOARDING, encoding="utf-8").read()
    fixes = set()
    for code in INTUNE_CODES + ["SomeFutureCode"]:
        emulator.call("DELETE", "faults")
        emulator.fault(endpoint="validateRequest", status=200, times=0,
                       body='{"code":"%s","errorDescription":"described by Intune"}' % code)
        j = run("-c", config_file, "--json", "validate", "--transaction-id", "t-" + code, "--csr", csr_path).json()
        assert j["exit_code"] == 3 and j["service_code"] == code and j["description"] == "described by Intune", j
        if code == "SomeFutureCode":
            assert UNKNOWN_CODE_FIX in j["fix"]
        else:
            assert UNKNOWN_CODE_FIX not in j["fix"], (code, j["fix"])
            assert f"| `{code}` |" in doc, f"docs/onboarding.md has no row for {code}"
            fixes.add(j["fix"])
    assert len(fixes) >= 20, "each code deserves its own advice"


@pytest.mark.parametrize("aadsts", [7000215, 7000222, 7000218, 90002, 900023, 70011, 90072, 700016, 7000112,
                                    500011, 500014, 65001, 700024, 700027, 53003, 50049])
def test_aadsts_codes_have_a_fix_and_a_doc_row(run, emulator, config_file, aadsts):
    emulator.fault(endpoint="token", status=400, times=0, body=(
        '{"error":"invalid_request","error_description":"AADSTS%d: something the platform says.",'
        '"error_codes":[%d]}' % (aadsts, aadsts)))
    j = run("-c", config_file, "--json", "check").json()
    assert j["exit_code"] == 4 and j["aadsts_code"] == aadsts and j["failed_step"] == "graph_token", j
    assert "the description above says which" not in j["fix"], j["fix"]
    assert f"`AADSTS{aadsts}`" in open(ONBOARDING, encoding="utf-8").read()


# ----------------------------------------------------------------------------
# notify-success


@pytest.mark.parametrize("cert_encoding", ["pem", "der"])
def test_notify_success(run, emulator, config_file, tmp_path, ca, cert_encoding):
    csr_path, csr = device_csr(emulator, tmp_path)
    cert = ca.sign(csr)
    der = cert.public_bytes(serialization.Encoding.DER)
    cert_path = tmp_path / "device.crt"
    cert_path.write_bytes(der if cert_encoding == "der" else cert.public_bytes(serialization.Encoding.PEM))
    assert run("-c", config_file, "validate", "--transaction-id", "tx-ok", "--csr", csr_path).code == 0
    r = run("-c", config_file, "notify-success", "--transaction-id", "tx-ok", "--csr", csr_path,
            "--cert", str(cert_path), "--ca-configuration", "ca01.contoso.com\\Contoso Issuing CA",
            "--certificate-authority", "Contoso")
    assert r.code == 0, r
    thumb = hashlib.sha1(der).hexdigest().upper()
    assert r.out.startswith("notify-success: Success"), r
    assert f"thumbprint       {thumb}" in r.out, r
    got = emulator.notifications()["success"]
    assert len(got) == 1
    n = got[0]
    assert n["transactionId"] == "tx-ok" and n["certificateThumbprint"].upper() == thumb
    assert n["certificateSerialNumber"].upper().lstrip("0") == format(cert.serial_number, "X")
    assert n["issuingCertificateAuthority"] == "CN=Contoso Demo Issuing CA,O=Contoso"
    assert n["caConfiguration"] == "ca01.contoso.com\\Contoso Issuing CA" and n["certificateAuthority"] == "Contoso"


def test_notify_success_json_and_500(run, emulator, config_file, tmp_path, ca):
    csr_path, csr = device_csr(emulator, tmp_path)
    cert_path = tmp_path / "device.crt"
    cert_path.write_bytes(ca.sign(csr).public_bytes(serialization.Encoding.PEM))
    # Intune records a success only for a request it validated: without it, it answers Unknown.
    r = run("-c", config_file, "notify-success", "--transaction-id", "tx-j", "--csr", csr_path,
            "--cert", str(cert_path))
    assert r.code == 3 and "REJECTED by Intune: Unknown" in r.out and "do not hand it" in r.out, r
    assert run("-c", config_file, "validate", "--transaction-id", "tx-j", "--csr", csr_path).code == 0
    j = run("-c", config_file, "--json", "notify-success", "--transaction-id", "tx-j", "--csr", csr_path,
            "--cert", str(cert_path)).json()
    assert j["ok"] is True and j["exit_code"] == 0 and len(j["certificate_thumbprint"]) == 40
    assert j["ca_configuration"] is None and j["certificate_authority"] is None
    n = emulator.notifications()["success"][-1]
    assert n.get("caConfiguration") is None and n.get("certificateAuthority") is None
    emulator.fault(endpoint="successNotification", status=500, body="{}", times=0)
    r = run("-c", config_file, "notify-success", "--transaction-id", "tx-j", "--csr", csr_path,
            "--cert", str(cert_path))
    assert r.code == 5 and "do not hand it to the device" in r.out, r


# ----------------------------------------------------------------------------
# notify-failure


@pytest.mark.parametrize("text, value", [
    ("0x80004005", 2147500037),
    ("-2147467259", -2147467259),
    ("2147500037", 2147500037),
    ("0xFFFFFFFFFFFFFFFF", -1),
    ("0x7FFFFFFFFFFFFFFF", 9223372036854775807),
    ("-9223372036854775808", -9223372036854775808),
    ("0", 0),
])
def test_notify_failure_hresult_exact(run, emulator, config_file, tmp_path, text, value):
    csr_path, _ = device_csr(emulator, tmp_path)
    r = run("-c", config_file, "notify-failure", "--transaction-id", "tx-f", "--csr", csr_path,
            "--hresult", text, "--description", "CA offline: the issuing CA did not answer")
    assert r.code == 0, r
    assert r.out.startswith("notify-failure: Success - Intune recorded the failure"), r
    got = emulator.notifications()["failure"]
    assert len(got) == 1 and got[0]["hResult"] == value and got[0]["transactionId"] == "tx-f"
    assert got[0]["errorDescription"] == "CA offline: the issuing CA did not answer"
    body = emulator.requests("failureNotification")[0]["body"]
    assert f'"hResult":{value}' in body.replace(" ", ""), body


def test_notify_failure_json_and_rejected(run, emulator, config_file, tmp_path):
    csr_path, _ = device_csr(emulator, tmp_path)
    j = run("-c", config_file, "--json", "notify-failure", "--transaction-id", "tx-fj", "--csr", csr_path,
            "--hresult", "0x80004005", "--description", "denied").json()
    assert j["ok"] is True and j["hresult_exact"] == "2147500037" and j["exit_code"] == 0
    emulator.fault(endpoint="failureNotification", status=200, times=0,
                   body='{"code":"Unknown","errorDescription":"something odd"}')
    j = run("-c", config_file, "--json", "notify-failure", "--transaction-id", "tx-fj", "--csr", csr_path,
            "--hresult", "1", "--description", "denied").json()
    assert j["exit_code"] == 3 and j["service_code"] == "Unknown" and j["description"] == "something odd"


# ----------------------------------------------------------------------------
# secrets: last, over everything every run above printed


def test_zz_no_secret_in_any_output(emulator):
    # A token the emulator issues for these credentials, for good measure, beside the bearer tokens
    # recorded from the tool's own requests.
    TRANSCRIPT.secrets["fetched graph token"] = emulator.fetch_token(emulator.base_url + ".default")
    tokens = [k for k in TRANSCRIPT.secrets if k.startswith("token:")]
    assert tokens, "the tool's bearer tokens should have been recorded"
    assert len(TRANSCRIPT.runs) > 50
    for r in TRANSCRIPT.runs:
        for name, secret in TRANSCRIPT.secrets.items():
            assert secret not in r.out and secret not in r.err, f"{name} printed by {r.args}"
