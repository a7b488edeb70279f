# SPDX-License-Identifier: Apache-2.0
"""The identity platform: POST /{tenant}/oauth2/v2.0/token (client credentials)."""

import base64
import binascii
import datetime
import hashlib
import hmac
import time
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import workload
from .state import json_response, loads

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXTRA_SCOPES = {"openid", "profile", "offline_access"}
MAX_ASSERTION_LIFETIME = 600
CLOCK_SKEW = 60

_MESSAGES = {
    7000215: "Invalid client secret provided. Ensure the secret being sent in the request is the "
             "client secret value, not the client secret ID, for a secret added to app '{app}'.",
    90002: "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
           "signing into the correct cloud.",
    700016: "Application with identifier '{app}' was not found in the directory '{tenant}'.",
    70011: "The provided request must include a 'scope' input parameter. The provided value for the "
           "input parameter 'scope' is not valid. The scope {scope} is not valid.",
    900144: "The request body must contain the following parameter: '{field}'.",
    90014: "The request body is malformed: {detail}.",
    70003: "The app requested an unsupported grant type '{grant}'.",
    7000218: "The request body must contain the following parameter: 'client_assertion' or "
             "'client_secret'.",
    700024: "Client assertion is not within its valid time range. {detail}",
    700027: "Client assertion failed signature validation. {detail}",
    700021: "Client assertion application identifier doesn't match 'client_id' parameter.",
    700023: "Client assertion audience claim does not match the token endpoint. {detail}",
    50027: "JWT token is invalid or malformed. {detail}",
}
_MESSAGES.update(workload.FEDERATION_MESSAGES)


def aad_error(status, error, code, **fmt):
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    for k in ("app", "tenant", "detail", "iss", "aud", "sub"):
        fmt.setdefault(k, "")
    msg = "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (
        code, _MESSAGES[code].format(**fmt), trace_id, correlation_id, now)
    return json_response(status, {
        "error": error,
        "error_description": msg,
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    })


def parse_form(body):
    """Strict application/x-www-form-urlencoded parsing: returns dict or raises ValueError."""
    from urllib.parse import unquote_plus
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("the body is not ASCII form data") from None
    fields = {}
    if not text:
        return fields
    for part in text.split("&"):
        if "=" not in part:
            raise ValueError("a form field without '='")
        name, value = part.split("=", 1)
        for piece in (name, value):
            i = piece.find("%")
            while i >= 0:
                if len(piece) < i + 3 or any(c not in "0123456789abcdefABCDEF" for c in piece[i + 1:i + 3]):
                    raise ValueError("a bad percent escape")
                i = piece.find("%", i + 3)
        try:
            name = unquote_plus(name, errors="strict")
            value = unquote_plus(value, errors="strict")
        except UnicodeDecodeError:
            raise ValueError("a form field that is not UTF-8") from None
        if not name:
            raise ValueError("a form field without a name")
        if name in fields:
            raise ValueError("the field '%s' appears twice" % name)
        fields[name] = value
    return fields


def _b64url_decode(text):
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cert_thumbprints(pem_or_der):
    """(x5t, x5t#S256, certificate) of a certificate given as PEM text/bytes or DER."""
    data = pem_or_der.encode("ascii") if isinstance(pem_or_der, str) else pem_or_der
    if b"-----BEGIN" in data:
        cert = x509.load_pem_x509_certificate(data)
    else:
        cert = x509.load_der_x509_certificate(data)
    der = cert.public_bytes(serialization.Encoding.DER)
    return _b64url(hashlib.sha1(der).digest()), _b64url(hashlib.sha256(der).digest()), cert


def verify_assertion(state, assertion, client_id, token_url, tenant):
    """None when the client assertion is good, else the AADSTS error response."""
    def bad(code, detail="", status=401, error="invalid_client", **more):
        return aad_error(status, error, code, detail=detail, app=client_id, tenant=tenant, **more)

    parts = assertion.split(".")
    if len(parts) != 3:
        return bad(50027, "It must have three parts.")
    try:
        header = loads(_b64url_decode(parts[0]))
        claims = loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return bad(50027, "A part is not base64url JSON.")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return bad(50027, "Header and claims must be JSON objects.")
    if claims.get("iss") != client_id and "x5t" not in header and "x5t#S256" not in header:
        # An external issuer's token: workload identity federation.
        return workload.verify_federated(state, header, claims, parts, signature, bad)
    alg = header.get("alg")
    if alg not in ("RS256", "PS256"):
        return bad(50027, "Unsupported algorithm %r." % (alg,))
    x5t = header.get("x5t")
    x5t256 = header.get("x5t#S256")
    if not isinstance(x5t, str) and not isinstance(x5t256, str):
        return bad(700027, "The assertion names no certificate (x5t or x5t#S256).")
    with state.lock:
        registered = list(state.settings["client_certificates"])
    cert = None
    for pem in registered:
        try:
            t1, t256, c = cert_thumbprints(pem)
        except ValueError:
            continue
        if (isinstance(x5t, str) and hmac.compare_digest(t1, x5t)) or \
                (isinstance(x5t256, str) and hmac.compare_digest(t256, x5t256)):
            cert = c
            break
    if cert is None:
        return bad(700027, "Key was not found (no registered certificate has this thumbprint).")
    pub = cert.public_key()
    if not isinstance(pub, rsa.RSAPublicKey):
        return bad(700027, "The registered certificate's key is not RSA.")
    signed = (parts[0] + "." + parts[1]).encode("ascii")
    try:
        if alg == "RS256":
            pub.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            pub.verify(signature, signed,
                       padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                       hashes.SHA256())
    except (InvalidSignature, ValueError):
        return bad(700027, "The signature does not verify.")
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        return bad(700021)
    if claims.get("aud") != token_url:
        return bad(700023, "Expected %s." % token_url)
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return bad(50027, "The exp claim is missing or not a number.")
    if exp <= now - CLOCK_SKEW:
        return bad(700024, "The assertion has expired.")
    if exp > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        return bad(700024, "The assertion lives longer than 10 minutes.")
    if nbf is not None:
        if isinstance(nbf, bool) or not isinstance(nbf, (int, float)):
            return bad(50027, "The nbf claim is not a number.")
        if nbf > now + CLOCK_SKEW:
            return bad(700024, "The assertion is not valid yet.")
    return None


def handle_token(state, req, tenant):
    """POST /{tenant}/oauth2/v2.0/token"""
    if tenant != state.tenant:
        return aad_error(400, "invalid_request", 90002, tenant=tenant)
    ctype = (req.header("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return aad_error(400, "invalid_request", 900144, field="grant_type")
    try:
        form = parse_form(req.body)
    except ValueError as e:
        return aad_error(400, "invalid_request", 90014, detail=str(e))
    for field in ("grant_type", "client_id"):
        if not form.get(field):
            return aad_error(400, "invalid_request", 900144, field=field)
    if form["grant_type"] != "client_credentials":
        return aad_error(400, "unsupported_grant_type", 70003, grant=form["grant_type"])
    client_id = form["client_id"]
    if client_id != state.app_id:
        return aad_error(400, "unauthorized_client", 700016, app=client_id, tenant=tenant)
    if not form.get("scope"):
        return aad_error(400, "invalid_request", 900144, field="scope")
    scopes = form["scope"].split()
    resources = [s for s in scopes if s not in EXTRA_SCOPES]
    graph_scope = state.graph_resource_url + ".default"
    intune_scope = state.intune_resource_url + "/.default"
    if len(resources) != 1 or resources[0] not in (graph_scope, intune_scope):
        return aad_error(400, "invalid_scope", 70011, scope=form["scope"])
    resource = "graph" if resources[0] == graph_scope else "intune"
    with state.lock:
        state.token_requests[resource] += 1
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if secret is not None and assertion is not None:
        return aad_error(400, "invalid_request", 90014,
                         detail="only one of client_secret and client_assertion may be sent")
    if secret is None and assertion is None:
        return aad_error(401, "invalid_client", 7000218, app=client_id)
    if secret is not None:
        with state.lock:
            want = state.settings["app_secret"]
        if not hmac.compare_digest(secret.encode("utf-8"), want.encode("utf-8")):
            return aad_error(401, "invalid_client", 7000215, app=client_id)
    else:
        if form.get("client_assertion_type") != JWT_BEARER:
            if not form.get("client_assertion_type"):
                return aad_error(400, "invalid_request", 900144, field="client_assertion_type")
            return aad_error(400, "invalid_request", 90014,
                             detail="client_assertion_type must be " + JWT_BEARER)
        err = verify_assertion(state, assertion, client_id, state.token_url(tenant), tenant)
        if err is not None:
            return err
    with state.lock:
        as_string = state.settings["expires_in_as_string"]
    token, lifetime = state.issue_token(resource)
    expires = str(lifetime) if as_string else lifetime
    return json_response(200, {"token_type": "Bearer", "expires_in": expires,
                               "ext_expires_in": expires, "access_token": token})
