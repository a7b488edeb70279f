# SPDX-License-Identifier: Apache-2.0
"""Credentials without a stored secret: workload identity federation (a client
assertion signed by an external issuer the app trusts) and the managed-identity
endpoints of the platform (App Service / Functions style and the instance
metadata service style), served on plain http on loopback like the real ones
on their local addresses."""

import hmac
import time
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .state import json_response

FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
IMDS_PATH = "/metadata/identity/oauth2/token"
APP_SERVICE_PATH = "/msi/token"

FEDERATION_MESSAGES = {
    700211: "No matching federated identity record found for presented assertion issuer '{iss}'.",
    700212: "No matching federated identity record found for presented assertion audience '{aud}'.",
    700213: "No matching federated identity record found for presented assertion subject '{sub}'.",
    700024: "Client assertion is not within its valid time range. {detail}",
    700027: "Client assertion failed signature validation. {detail}",
}


def normalise_federated(items):
    """Check the `federated_credentials` setting: a list of {issuer, subject, public_key_pem[, audience]}."""
    if not isinstance(items, list):
        raise ValueError("federated_credentials must be a list")
    out = []
    for fc in items:
        if not isinstance(fc, dict) or not all(isinstance(fc.get(k), str) and fc.get(k)
                                               for k in ("issuer", "subject", "public_key_pem")):
            raise ValueError("each federated credential needs issuer, subject and public_key_pem (strings)")
        key = serialization.load_pem_public_key(fc["public_key_pem"].encode("ascii"))
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("a federated credential's public key must be RSA")
        aud = fc.get("audience", FEDERATION_AUDIENCE)
        if not isinstance(aud, str):
            raise ValueError("audience must be a string")
        out.append({"issuer": fc["issuer"], "subject": fc["subject"], "audience": aud,
                    "public_key_pem": fc["public_key_pem"]})
    return out


def verify_federated(state, header, claims, parts, signature, bad):
    """None when an external issuer's assertion matches a federated credential of the app, else the error."""
    with state.lock:
        creds = list(state.settings.get("federated_credentials", []))
    iss, aud, sub = claims.get("iss"), claims.get("aud"), claims.get("sub")
    by_issuer = [fc for fc in creds if fc["issuer"] == iss]
    if not by_issuer:
        return bad(700211, iss=iss)
    if header.get("alg") != "RS256":
        return bad(700027, detail="Unsupported algorithm %r." % (header.get("alg"),))
    signed = (parts[0] + "." + parts[1]).encode("ascii")
    verified = []
    for fc in by_issuer:
        key = serialization.load_pem_public_key(fc["public_key_pem"].encode("ascii"))
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            verified.append(fc)
        except (InvalidSignature, ValueError):
            continue
    if not verified:
        return bad(700027, detail="The issuer's key does not verify the signature.")
    auds = aud if isinstance(aud, list) else [aud]
    by_aud = [fc for fc in verified if fc["audience"] in auds]
    if not by_aud:
        return bad(700212, aud=aud)
    if not any(isinstance(sub, str) and hmac.compare_digest(fc["subject"], sub) for fc in by_aud):
        return bad(700213, sub=sub)
    exp, nbf = claims.get("exp"), claims.get("nbf")
    now = time.time()
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp <= now - 60:
        return bad(700024, detail="The assertion has expired.")
    if isinstance(nbf, (int, float)) and not isinstance(nbf, bool) and nbf > now + 60:
        return bad(700024, detail="The assertion is not valid yet.")
    return None


def _resource(state, value):
    """'graph' or 'intune' for a managed-identity resource parameter, else None."""
    if not value:
        return None
    v = value.rstrip("/")
    if v == state.graph_resource_url.rstrip("/"):
        return "graph"
    if v == state.intune_resource_url.rstrip("/"):
        return "intune"
    return None


def handle_managed_identity(state, req, style):
    """GET IMDS_PATH (header Metadata: true) or APP_SERVICE_PATH (header X-IDENTITY-HEADER)."""
    q = dict(parse_qsl(req.query, keep_blank_values=True))
    if style == "imds":
        if (req.header("metadata") or "").lower() != "true":
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "Required metadata header not specified"})
    else:
        with state.lock:
            want = state.settings["identity_header"]
        got = req.header("x-identity-header") or ""
        if not hmac.compare_digest(got.encode("utf-8"), want.encode("utf-8")):
            return json_response(401, {"statusCode": 401,
                                       "message": "The X-IDENTITY-HEADER is missing or does not match."})
    if not q.get("api-version"):
        return json_response(400, {"error": "invalid_request", "error_description": "api-version is required"})
    resource = _resource(state, q.get("resource"))
    if resource is None:
        return json_response(400, {"error": "invalid_resource",
                                   "error_description": "AADSTS500011: The resource principal named %s was not "
                                                        "found in the tenant." % q.get("resource"),
                                   "error_codes": [500011]})
    client_id = q.get("client_id")
    with state.lock:
        known = list(state.settings["managed_identities"])
        system = state.settings["system_identity"]
        state.token_requests[resource] += 1
    if (client_id is None and not system) or (client_id is not None and client_id not in known):
        if style == "imds":
            return json_response(400, {"error": "invalid_request", "error_description": "Identity not found"})
        return json_response(400, {"statusCode": 400,
                                   "message": "No User Assigned or Delegated Managed Identity found for specified "
                                              "ClientId/ResourceId/PrincipalId."})
    token, lifetime = state.issue_token(resource)
    expires_on = str(int(time.time()) + lifetime)
    body = {"access_token": token, "expires_on": expires_on, "resource": q["resource"], "token_type": "Bearer",
            "client_id": client_id or state.app_id}
    if style == "imds":
        body.update({"expires_in": str(lifetime), "ext_expires_in": str(lifetime),
                     "not_before": str(int(time.time()))})
    return json_response(200, body)
