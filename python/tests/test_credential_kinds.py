# SPDX-License-Identifier: Apache-2.0
"""Credentials without a stored secret (workload identity federation, managed identity),
the one-kind rule, credential rotation on a live client, cloud presets and the roles claim."""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from intune_scep import IntuneClientAuthException, IntuneScepServiceClient

ISSUER = "https://oidc.cluster.example/issuer"
SUBJECT = "system:serviceaccount:pki:scep-ca"
AUDIENCE = "api://AzureADTokenExchange"
USER_IDENTITY = "7f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Issuer:
    """An external OIDC issuer (a Kubernetes cluster, a CI system) that signs workload tokens."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_pem(self) -> str:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def token(self, subject: str = SUBJECT, audience: str = AUDIENCE, lifetime: int = 3600,
              issuer: str | None = None) -> str:
        now = int(time.time())
        head = {"alg": "RS256", "typ": "JWT", "kid": "k1"}
        claims = {"iss": issuer or self.issuer, "sub": subject, "aud": audience, "iat": now - 5,
                  "nbf": now - 5, "exp": now + lifetime, "jti": str(uuid.uuid4())}
        signing = _b64(json.dumps(head).encode()) + "." + _b64(json.dumps(claims).encode())
        sig = self.key.sign(signing.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing + "." + _b64(sig)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def federated(emu: Any, issuer: Issuer) -> Issuer:
    emu.emulator.settings(federated_credentials=[
        {"issuer": ISSUER, "subject": SUBJECT, "audience": AUDIENCE, "public_key_pem": issuer.public_pem}])
    return issuer


def _without_secret(config: Dict[str, str], **extra: str) -> Dict[str, Any]:
    cfg: Dict[str, Any] = dict(config)
    cfg.pop("AAD_APP_KEY")
    cfg.update(extra)
    return cfg


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)  # as the kubelet does: an atomic swap


def _logged(caplog: Any) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


# ---- workload identity federation -------------------------------------------

def test_federated_token_file_success(emu, config, federated, tmp_path, csr, caplog):
    caplog.set_level(logging.DEBUG, logger="intune_scep")
    token_file = tmp_path / "token"
    jwt = federated.token()
    _write(token_file, jwt + "\n")
    with IntuneScepServiceClient(_without_secret(config, AAD_FEDERATED_TOKEN_FILE=str(token_file))) as client:
        assert client.credential_kind == "federated"
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
    reqs = emu.requests("token")
    assert len(reqs) == 2
    for r in reqs:
        assert "client_assertion=" + jwt in r["body"]
        assert "client_secret" not in r["body"]
    assert jwt not in _logged(caplog)


def test_federated_token_file_is_read_again_for_each_request(emu, config, federated, tmp_path):
    token_file = tmp_path / "token"
    first = federated.token()
    _write(token_file, first)
    with IntuneScepServiceClient(_without_secret(config, AAD_FEDERATED_TOKEN_FILE=str(token_file))) as client:
        client.fetch_token("intune")
        second = federated.token()
        assert second != first
        _write(token_file, second)  # the platform rotated it
        client.fetch_token("intune")
    bodies = [r["body"] for r in emu.requests("token")]
    assert len(bodies) == 2
    assert "client_assertion=" + first in bodies[0]
    assert "client_assertion=" + second in bodies[1]


@pytest.mark.parametrize("case, aadsts", [
    ("expired", 700024), ("wrong_audience", 700212), ("wrong_subject", 700213), ("unknown_issuer", 700211),
    ("wrong_key", 700027),
])
def test_federated_token_refused_names_the_cause(emu, config, federated, tmp_path, case, aadsts, caplog):
    caplog.set_level(logging.DEBUG, logger="intune_scep")
    token_file = tmp_path / "token"
    if case == "expired":
        jwt = federated.token(lifetime=-600)
    elif case == "wrong_audience":
        jwt = federated.token(audience="api://SomethingElse")
    elif case == "wrong_subject":
        jwt = federated.token(subject="system:serviceaccount:default:intruder")
    elif case == "unknown_issuer":
        jwt = federated.token(issuer="https://elsewhere.example/")
    else:
        jwt = Issuer().token()
    _write(token_file, jwt)
    with IntuneScepServiceClient(_without_secret(config, AAD_FEDERATED_TOKEN_FILE=str(token_file))) as client:
        with pytest.raises(IntuneClientAuthException) as ei:
            client.fetch_token("intune")
    e = ei.value
    assert e.aadsts_code == aadsts
    assert "AAD_FEDERATED_TOKEN_FILE" in str(e)
    assert "refused" in str(e)
    assert f"AADSTS{aadsts}" in str(e)
    assert jwt not in str(e) and jwt.split(".")[2] not in str(e)
    assert jwt.split(".")[2] not in _logged(caplog)


@pytest.mark.parametrize("content, word", [(None, "missing"), ("", "empty"), ("\n  \n", "empty"),
                                           ("not a token", "not a JWT")])
def test_federated_token_file_missing_or_empty(emu, config, tmp_path, content, word):
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    with IntuneScepServiceClient(_without_secret(config, AAD_FEDERATED_TOKEN_FILE=str(token_file))) as client:
        with pytest.raises(IntuneClientAuthException) as ei:
            client.fetch_token("graph")
    assert "AAD_FEDERATED_TOKEN_FILE" in str(ei.value)
    assert word in str(ei.value)
    assert emu.requests("token") == []  # nothing was sent


# ---- one credential kind -------------------------------------------------------

@pytest.mark.parametrize("extra, named", [
    ({"AAD_FEDERATED_TOKEN_FILE": "/tmp/t"}, "AAD_APP_KEY and AAD_FEDERATED_TOKEN_FILE"),
    ({"AAD_MANAGED_IDENTITY": "system"}, "AAD_APP_KEY and AAD_MANAGED_IDENTITY"),
    ({"AAD_CLIENT_CERT_FILE": "/tmp/c.pem"}, "AAD_APP_KEY and AAD_CLIENT_CERT_FILE"),
])
def test_two_credential_kinds_are_refused(config, extra, named):
    cfg = dict(config)
    cfg.update(extra)
    with pytest.raises(ValueError) as ei:
        IntuneScepServiceClient(cfg)
    assert named in str(ei.value)
    assert "give one credential" in str(ei.value)
    assert config["AAD_APP_KEY"] not in str(ei.value)


def test_no_credential_is_refused(config):
    with pytest.raises(ValueError, match="AAD_APP_KEY is required"):
        IntuneScepServiceClient(_without_secret(config))


# ---- managed identity ---------------------------------------------------------------

def _mi(emu: Any) -> Any:
    return emu.emulator


def test_managed_identity_imds_system(emu, config, csr, caplog):
    caplog.set_level(logging.DEBUG, logger="intune_scep")
    cfg = _without_secret(config, AAD_MANAGED_IDENTITY="system",
                          AAD_MANAGED_IDENTITY_ENDPOINT=_mi(emu).imds_endpoint)
    with IntuneScepServiceClient(cfg) as client:
        assert client.credential_kind == "managed_identity"
        client.ValidateRequest(csr["txid"], csr["csr_b64"])
        client.ValidateRequest(csr["txid"] + "b", csr["csr_b64"])
    reqs = emu.requests("managed_identity")
    assert len(reqs) == 2  # one per resource, then cached as before
    assert emu.requests("token") == []
    for r in reqs:
        assert r["headers"]["metadata"] == "true"
        assert "api-version=2018-02-01" in r["query"]
        assert "client_id" not in r["query"]
    assert "EmuTok-" not in _logged(caplog)


def test_managed_identity_user_assigned_and_unknown(emu, config):
    _mi(emu).settings(managed_identities=[USER_IDENTITY])
    cfg = _without_secret(config, AAD_MANAGED_IDENTITY=USER_IDENTITY,
                          AAD_MANAGED_IDENTITY_ENDPOINT=_mi(emu).imds_endpoint)
    with IntuneScepServiceClient(cfg) as client:
        client.fetch_token("intune")
    assert "client_id=" + USER_IDENTITY in emu.requests("managed_identity")[0]["query"]
    unknown = "00000000-1111-2222-3333-444444444444"
    cfg["AAD_MANAGED_IDENTITY"] = unknown
    with IntuneScepServiceClient(cfg) as client:
        with pytest.raises(IntuneClientAuthException) as ei:
            client.fetch_token("intune")
    assert "AAD_MANAGED_IDENTITY=" + unknown in str(ei.value)
    assert "Identity not found" in str(ei.value)
    assert ei.value.status_code == 400


def test_managed_identity_app_service_style(emu, config, caplog):
    caplog.set_level(logging.DEBUG, logger="intune_scep")
    header = _mi(emu).identity_header
    cfg = _without_secret(config, AAD_MANAGED_IDENTITY="system", IDENTITY_ENDPOINT=_mi(emu).app_service_endpoint,
                          IDENTITY_HEADER=header)
    with IntuneScepServiceClient(cfg) as client:
        client.fetch_token("graph")
        client.fetch_token("intune")
    reqs = emu.requests("managed_identity")
    assert [r["headers"]["x-identity-header"] for r in reqs] == [header, header]
    assert all("api-version=2019-08-01" in r["query"] for r in reqs)
    assert header not in _logged(caplog)
    cfg["IDENTITY_HEADER"] = "Wrong~Header"
    with IntuneScepServiceClient(cfg) as client:
        with pytest.raises(IntuneClientAuthException) as ei:
            client.fetch_token("intune")
    assert "HTTP 401" in str(ei.value) and "Wrong~Header" not in str(ei.value)


@pytest.mark.parametrize("url, ok", [
    ("http://example.com/metadata/identity/oauth2/token", False),
    ("http://10.0.0.4/token", False),
    ("ftp://127.0.0.1/token", False),
    ("http://127.0.0.1:1/token", True),
    ("http://[::1]:1/token", True),
    ("http://169.254.169.254/metadata/identity/oauth2/token", True),
    ("https://identity.example/token", True),
])
def test_managed_identity_plain_http_only_on_local_addresses(config, url, ok):
    cfg = _without_secret(config, AAD_MANAGED_IDENTITY="system", AAD_MANAGED_IDENTITY_ENDPOINT=url)
    if ok:
        IntuneScepServiceClient(cfg).close()  # created only: nothing is sent
    else:
        with pytest.raises(ValueError, match="AAD_MANAGED_IDENTITY_ENDPOINT"):
            IntuneScepServiceClient(cfg)


def test_managed_identity_bad_value(config):
    with pytest.raises(ValueError, match="AAD_MANAGED_IDENTITY must be"):
        IntuneScepServiceClient(_without_secret(config, AAD_MANAGED_IDENTITY="someone",
                                                AAD_MANAGED_IDENTITY_ENDPOINT="http://127.0.0.1:1/"))


def test_managed_identity_endpoint_retried_on_5xx(emu, config):
    _mi(emu).add_fault(endpoint="managed_identity", status=503, times=1)
    cfg = _without_secret(config, AAD_MANAGED_IDENTITY="system", AAD_MANAGED_IDENTITY_ENDPOINT=_mi(emu).imds_endpoint)
    with IntuneScepServiceClient(cfg) as client:
        client.fetch_token("intune")
    assert len(emu.requests("managed_identity")) == 2


# ---- roles --------------------------------------------------------------------

def test_token_roles(emu, client):
    assert client.token_roles("intune") == ["scep_challenge_provider"]
    assert client.token_roles("graph") == ["Application.Read.All"]
    emu.emulator.settings(roles={"intune": []})
    assert client.token_roles("intune") == []
    assert client.token_roles("graph") == ["Application.Read.All"]


# ---- rotation ---------------------------------------------------------------------

def test_update_credentials_refused_leaves_client_unchanged(emu, config, client):
    with pytest.raises(ValueError, match="both set"):
        client.update_credentials({"AAD_APP_KEY": "x", "AAD_MANAGED_IDENTITY": "system"})
    with pytest.raises(ValueError, match="AAD_CLIENT_CERT_FILE"):
        client.update_credentials({"AAD_CLIENT_CERT_FILE": "/nonexistent.pem"})
    assert client.credential_kind == "secret"
    client.fetch_token("intune")


def test_rotation_under_8_threads_of_load(emu, config, federated, tmp_path, csr):
    client = IntuneScepServiceClient(config)
    token_file = tmp_path / "token"
    jwt = federated.token()
    _write(token_file, jwt)
    threads_n = 8
    errors: list = []
    stop = threading.Event()
    calls = [0] * threads_n

    def worker(i: int) -> None:
        j = 0
        try:
            while not stop.is_set():
                client.ValidateRequest(f"{csr['txid']}-{i}-{j}", csr["csr_b64"])
                j += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        calls[i] = j

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    client.update_credentials({"AAD_FEDERATED_TOKEN_FILE": str(token_file)})
    time.sleep(0.3)
    client.update_credentials({"AAD_MANAGED_IDENTITY": "system",
                               "AAD_MANAGED_IDENTITY_ENDPOINT": emu.emulator.imds_endpoint})
    time.sleep(0.3)
    client.update_credentials({"AAD_FEDERATED_TOKEN_FILE": str(token_file)})
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert all(n > 0 for n in calls)
    assert client.credential_kind == "federated"
    last = emu.requests("token")[-1]
    assert "client_assertion=" + jwt in last["body"]
    assert len(emu.requests("managed_identity")) >= 1
    client.close()


# ---- cloud presets ----------------------------------------------------------------------

def test_cloud_presets(config):
    cfg = dict(config)
    cfg["CLOUD"] = "usgov"  # the emulator's explicit URLs win
    with IntuneScepServiceClient(cfg) as client:
        client.fetch_token("intune")
    cfg["CLOUD"] = "mars"
    with pytest.raises(ValueError, match="CLOUD must be public, usgov, usgovdod or china"):
        IntuneScepServiceClient(cfg)
