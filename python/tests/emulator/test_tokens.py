# SPDX-License-Identifier: Apache-2.0
"""The identity platform: client secret, client-assertion JWTs, AADSTS errors, token life."""

import base64
import datetime
import hashlib
import json
import time
import uuid
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_cert(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scep-server-credential")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))


@pytest.fixture(scope="module")
def stranger():
    """A key (and certificate) the emulator does not know."""
    key = rsa.generate_private_key(65537, 2048)
    return key, make_cert(key)


@pytest.fixture(scope="module")
def credential(emu_server):
    key = rsa.generate_private_key(65537, 2048)
    cert = make_cert(key)
    emu_server.register_client_certificate(cert)
    return key, cert


def make_jwt(key, cert, claims, alg="RS256", thumb="x5t", header_extra=None):
    der = cert.public_bytes(serialization.Encoding.DER)
    header = {"alg": alg, "typ": "JWT"}
    if thumb == "x5t":
        header["x5t"] = b64u(hashlib.sha1(der).digest())
    elif thumb == "x5t#S256":
        header["x5t#S256"] = b64u(hashlib.sha256(der).digest())
    header.update(header_extra or {})
    signing_input = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
    if alg == "PS256":
        sig = key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                  salt_length=32), hashes.SHA256())
    else:
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64u(sig)


def claims_for(emu, **over):
    now = int(time.time())
    c = {"aud": emu.token_url, "iss": emu.app_id, "sub": emu.app_id, "jti": str(uuid.uuid4()),
         "nbf": now, "iat": now, "exp": now + 600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def assertion_form(wire, assertion, resource="intune"):
    return wire.token_form(resource, client_secret=None, client_assertion=assertion,
                           client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")


def assert_aad(r, status, error, code):
    assert r.status_code == status, r.text
    j = r.json()
    assert j["error"] == error
    assert j["error_codes"] == [code]
    assert j["error_description"].startswith("AADSTS%d:" % code)
    assert j["trace_id"] and j["correlation_id"]


def test_client_secret_both_resources(emu, wire):
    for resource in ("graph", "intune"):
        r = wire.token_request(resource)
        assert r.status_code == 200
        j = r.json()
        assert j["token_type"] == "Bearer"
        assert j["expires_in"] == 3599 and isinstance(j["expires_in"], int)
        assert j["ext_expires_in"] == 3599
        assert len(j["access_token"]) >= 32
    assert emu.stats()["token_requests"] == {"graph": 1, "intune": 1}


def test_secret_with_reserved_characters_is_form_decoded(emu, wire):
    secret = emu.app_secret
    assert any(c in secret for c in "+/=~")
    body = "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s" % (
        emu.app_id, quote(secret, safe=""), quote(emu.intune_scope, safe=""))
    r = wire.post(emu.token_url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    # a raw '+' in the secret decodes to a space: wrong secret
    raw = body.replace(quote(secret, safe=""), secret.replace("/", "%2F").replace("=", "%3D"))
    r = wire.post(emu.token_url, data=raw, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_aad(r, 401, "invalid_client", 7000215)


def test_msal_extra_scopes_accepted(emu, wire):
    r = wire.token_request("intune", scope=emu.intune_scope + " openid profile offline_access")
    assert r.status_code == 200


@pytest.mark.parametrize("case,status,error,code", [
    ("wrong_secret", 401, "invalid_client", 7000215),
    ("unknown_tenant", 400, "invalid_request", 90002),
    ("unknown_app", 400, "unauthorized_client", 700016),
    ("bad_scope", 400, "invalid_scope", 70011),
    ("graph_scope_without_slash_normalisation", 400, "invalid_scope", 70011),
    ("missing_scope", 400, "invalid_request", 900144),
    ("missing_grant_type", 400, "invalid_request", 900144),
    ("missing_client_id", 400, "invalid_request", 900144),
    ("wrong_grant_type", 400, "unsupported_grant_type", 70003),
    ("no_credential", 401, "invalid_client", 7000218),
    ("duplicate_field", 400, "invalid_request", 90014),
    ("bad_escape", 400, "invalid_request", 90014),
    ("json_body", 400, "invalid_request", 900144),
])
def test_token_errors(emu, wire, case, status, error, code):
    url = None
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if case == "wrong_secret":
        data = wire.token_form(client_secret=emu.app_secret + "x")
    elif case == "unknown_tenant":
        data = wire.token_form()
        url = emu.base_url + "fabrikam.onmicrosoft.com/oauth2/v2.0/token"
    elif case == "unknown_app":
        data = wire.token_form(client_id=str(uuid.uuid4()))
    elif case == "bad_scope":
        data = wire.token_form(scope="https://api.manage.microsoft.com/.default")
    elif case == "graph_scope_without_slash_normalisation":
        data = wire.token_form(scope=emu.base_url + "/.default")
    elif case == "missing_scope":
        data = wire.token_form(scope=None)
    elif case == "missing_grant_type":
        data = wire.token_form(grant_type=None)
    elif case == "missing_client_id":
        data = wire.token_form(client_id=None)
    elif case == "wrong_grant_type":
        data = wire.token_form(grant_type="password")
    elif case == "no_credential":
        data = wire.token_form(client_secret=None)
    elif case == "duplicate_field":
        data = "grant_type=client_credentials&grant_type=client_credentials&client_id=x"
    elif case == "bad_escape":
        data = "grant_type=client_credentials&client_id=%zz"
    elif case == "json_body":
        data = json.dumps(wire.token_form())
        headers = {"Content-Type": "application/json"}
    r = wire.post(url or emu.token_url, data=data, headers=headers)
    assert_aad(r, status, error, code)
    assert emu.app_secret not in r.text


def test_expires_in_as_string_and_lifetime(emu, wire):
    emu.settings(expires_in_as_string=True, token_lifetime=1)
    j = wire.token_request("intune").json()
    assert j["expires_in"] == "1" and j["ext_expires_in"] == "1"
    body = {"request": {"transactionId": "t", "certificateRequest": "x", "callerInfo": "c"}}
    assert wire.scep("validateRequest", body, headers=wire.intune_headers(j["access_token"])).status_code == 200
    time.sleep(1.2)
    r = wire.scep("validateRequest", body, headers=wire.intune_headers(j["access_token"]))
    assert r.status_code == 401


def test_tokens_expire_now_and_reset_keeps_tokens(emu, wire):
    body = {"request": {"transactionId": "t", "certificateRequest": "x", "callerInfo": "c"}}
    old = wire.token("intune")
    emu.reset()
    assert wire.scep("validateRequest", body, headers=wire.intune_headers(old)).status_code == 200
    emu.expire_tokens()
    assert wire.scep("validateRequest", body, headers=wire.intune_headers(old)).status_code == 401
    graph = wire.token("graph", fresh=True)
    assert wire.get(wire.discovery_url(), headers={"Authorization": "Bearer " + graph}).status_code == 200
    new = wire.token("intune", fresh=True)
    assert wire.scep("validateRequest", body, headers=wire.intune_headers(new)).status_code == 200


def test_token_of_one_resource_refused_by_the_other(emu, wire):
    body = {"request": {"transactionId": "t", "certificateRequest": "x", "callerInfo": "c"}}
    r = wire.scep("validateRequest", body, headers=wire.intune_headers(wire.token("graph")))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = wire.get(wire.discovery_url(), headers={"Authorization": "Bearer " + wire.token("intune")})
    assert r.status_code == 401


@pytest.mark.parametrize("alg,thumb", [("RS256", "x5t"), ("PS256", "x5t#S256"), ("RS256", "x5t#S256"),
                                       ("PS256", "x5t")])
def test_client_assertion_accepted(emu, wire, credential, alg, thumb):
    key, cert = credential
    jwt = make_jwt(key, cert, claims_for(emu), alg=alg, thumb=thumb)
    r = wire.post(emu.token_url, data=assertion_form(wire, jwt))
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]


@pytest.mark.parametrize("case,code", [
    ("expired", 700024), ("not_yet_valid", 700024), ("too_long", 700024), ("no_exp", 50027),
    ("wrong_aud", 700023), ("wrong_iss", 700021), ("wrong_sub", 700021),
    ("bad_signature", 700027), ("unknown_cert", 700027), ("no_thumbprint", 700027),
    ("hs256", 50027), ("garbage", 50027),
])
def test_client_assertion_errors(emu, wire, credential, stranger, case, code):
    key, cert = credential
    now = int(time.time())
    claims, alg, thumb = claims_for(emu), "RS256", "x5t"
    signer_key, header_cert = key, cert
    if case == "expired":
        claims = claims_for(emu, exp=now - 120, nbf=now - 700, iat=now - 700)
    elif case == "not_yet_valid":
        claims = claims_for(emu, nbf=now + 300)
    elif case == "too_long":
        claims = claims_for(emu, exp=now + 3600)
    elif case == "no_exp":
        claims = claims_for(emu, exp=None)
    elif case == "wrong_aud":
        claims = claims_for(emu, aud="https://login.microsoftonline.com/%s/oauth2/v2.0/token" % emu.tenant)
    elif case == "wrong_iss":
        claims = claims_for(emu, iss=str(uuid.uuid4()))
    elif case == "wrong_sub":
        claims = claims_for(emu, sub=str(uuid.uuid4()))
    elif case == "bad_signature":
        signer_key = stranger[0]
    elif case == "unknown_cert":
        signer_key, header_cert = stranger
    elif case == "no_thumbprint":
        thumb = None
    if case == "hs256":
        jwt = b64u(b'{"alg":"HS256","typ":"JWT"}') + "." + b64u(json.dumps(claims).encode()) + ".c2ln"
    elif case == "garbage":
        jwt = "not-a-jwt"
    else:
        jwt = make_jwt(signer_key, header_cert, claims, alg=alg, thumb=thumb)
    r = wire.post(emu.token_url, data=assertion_form(wire, jwt))
    assert_aad(r, 401, "invalid_client", code)


def test_assertion_type_required_and_exclusive(emu, wire, credential):
    key, cert = credential
    jwt = make_jwt(key, cert, claims_for(emu))
    form = assertion_form(wire, jwt)
    del form["client_assertion_type"]
    assert_aad(wire.post(emu.token_url, data=form), 400, "invalid_request", 900144)
    form = assertion_form(wire, jwt)
    form["client_assertion_type"] = "urn:other"
    assert_aad(wire.post(emu.token_url, data=form), 400, "invalid_request", 90014)
    form = assertion_form(wire, jwt)
    form["client_secret"] = emu.app_secret
    assert_aad(wire.post(emu.token_url, data=form), 400, "invalid_request", 90014)


def test_app_secret_setting_rotates_the_secret(emu, wire):
    old = emu.app_secret
    emu.settings(app_secret="rotated+secret/=~")
    assert_aad(wire.token_request(client_secret=old), 401, "invalid_client", 7000215)
    assert wire.token_request(client_secret="rotated+secret/=~").status_code == 200
    emu.reset()
    assert emu.app_secret == old
