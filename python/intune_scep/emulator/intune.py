# SPDX-License-Identifier: Apache-2.0
"""Intune: the three ScepActions calls and the two revocation calls."""

import base64
import binascii
import time
import uuid

from . import challenges
from .state import json_response

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
REVOCATION_ERROR_CODES = ("0", "4000", "4001", "4002", "4003", "4004", "4005", "4006", "4007",
                          "4100", "4101", "4102", "4103")


class ShapeError(ValueError):
    """The body does not have the exact shape of the call."""


def intune_error(status, code, message):
    return json_response(status, {"error": {"code": code, "message": message,
                                            "target": None, "details": []}})


def _preflight(state, req, api_version_key):
    """Token, api-version and content type checks shared by every Intune call."""
    if state.token_resource(req.header("authorization")) != "intune":
        r = intune_error(401, "Unauthorized", "The bearer token is missing, expired or not for Intune.")
        r.headers.append(("WWW-Authenticate", 'Bearer error="invalid_token"'))
        return r, None
    with state.lock:
        want = state.settings[api_version_key]
    got = req.header("api-version")
    if got != want:
        return intune_error(400, "BadRequest", "The api-version header must be %s (got %r)." % (want, got)), None
    ctype = (req.header("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return intune_error(415, "UnsupportedMediaType", "Content-Type must be application/json."), None
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return intune_error(400, "BadRequest", "The body is not JSON."), None
    return None, body


def _object(value, name, required, optional=()):
    if not isinstance(value, dict):
        raise ShapeError("%s must be a JSON object" % name)
    missing = [k for k in required if k not in value]
    if missing:
        raise ShapeError("%s lacks %s" % (name, ", ".join(missing)))
    extra = [k for k in value if k not in required and k not in optional]
    if extra:
        raise ShapeError("%s has unexpected field(s) %s" % (name, ", ".join(sorted(extra))))
    return value


def _string(obj, key, name, nullable=False, empty_ok=False):
    v = obj.get(key)
    if v is None and nullable:
        return None
    if not isinstance(v, str):
        raise ShapeError("%s.%s must be a string" % (name, key))
    if not v and not empty_ok:
        raise ShapeError("%s.%s must not be empty" % (name, key))
    return v


def _scep_answer(code, description):
    return json_response(200, {"@odata.context": "https://intune.emulator/$metadata#microsoft.management."
                                                  "services.api.scepActionResult",
                               "code": code, "errorDescription": description})


def _csr_der(text):
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def handle_scep(state, req, action):
    err, body = _preflight(state, req, "scep_api_version")
    if err:
        return err
    try:
        if action == "validateRequest":
            return _validate(state, body)
        if action == "successNotification":
            return _success(state, body)
        return _failure(state, body)
    except ShapeError as e:
        return intune_error(400, "BadRequest", str(e))


def _validate(state, body):
    _object(body, "body", ("request",))
    r = _object(body["request"], "request", ("transactionId", "certificateRequest", "callerInfo"))
    tid = _string(r, "transactionId", "request")
    csr_text = _string(r, "certificateRequest", "request")
    _string(r, "callerInfo", "request")
    with state.lock:
        profiles = {k: dict(v) for k, v in state.profiles.items()}
    code, desc, pid, der = challenges.validate(csr_text, state.codec, profiles)
    with state.lock:
        if code == "Success" and state.settings["single_use_challenges"]:
            # A challenge serves one transaction (a retry of that transaction still passes).
            password = challenges.challenge_password(challenges.decode_csr(csr_text)[0])
            first = state.challenge_used_by.setdefault(password, tid)
            if first != tid:
                code, desc = ("BadCertificateRequestIdInChallenge",
                              "the challenge was already used by another transaction")
        state.validations.append({"transaction_id": tid, "code": code, "profile_id": pid,
                                  "description": desc, "certificate_request": csr_text,
                                  "time": time.time()})
        if code == "Success":
            state.validated.setdefault(tid, set()).add(der)
    return _scep_answer(code, desc)


def _success(state, body):
    _object(body, "body", ("notification",))
    n = _object(body["notification"], "notification",
                ("transactionId", "certificateRequest", "certificateThumbprint", "certificateSerialNumber",
                 "certificateExpirationDateUtc", "issuingCertificateAuthority", "callerInfo"),
                ("caConfiguration", "certificateAuthority"))
    for key in ("transactionId", "certificateRequest", "certificateThumbprint", "certificateSerialNumber",
                "certificateExpirationDateUtc", "issuingCertificateAuthority", "callerInfo"):
        _string(n, key, "notification")
    for key in ("caConfiguration", "certificateAuthority"):
        if key in n:
            _string(n, key, "notification", nullable=True, empty_ok=True)
    der = _csr_der(n["certificateRequest"])
    with state.lock:
        ok = der is not None and der in state.validated.get(n["transactionId"], ())
        if ok:
            state.success_notifications.append(n)
        else:
            state.rejected_notifications.append({"kind": "success", "notification": n, "code": "Unknown"})
    if not ok:
        return _scep_answer("Unknown", "no request with this transaction id and certificate request "
                                       "was validated successfully")
    return _scep_answer("Success", "")


def _failure(state, body):
    _object(body, "body", ("notification",))
    n = _object(body["notification"], "notification",
                ("transactionId", "certificateRequest", "hResult", "errorDescription", "callerInfo"))
    for key in ("transactionId", "certificateRequest", "errorDescription", "callerInfo"):
        _string(n, key, "notification")
    h = n["hResult"]
    if isinstance(h, bool) or not isinstance(h, int):
        raise ShapeError("notification.hResult must be a JSON integer")
    if not INT64_MIN <= h <= INT64_MAX:
        raise ShapeError("notification.hResult must fit in 64 bits")
    with state.lock:
        state.failure_notifications.append(n)
    return _scep_answer("Success", "")


# --------------------------------------------------------------------------
# Revocation

def handle_revocation(state, req, action):
    err, body = _preflight(state, req, "pki_api_version")
    if err:
        return err
    try:
        if action == "downloadRevocationRequests":
            return _download(state, body)
        return _upload(state, body)
    except ShapeError as e:
        return intune_error(400, "BadRequest", str(e))


def _download(state, body):
    _object(body, "body", ("downloadParameters",))
    p = _object(body["downloadParameters"], "downloadParameters", ("maxRequests",), ("issuerName",))
    n = p["maxRequests"]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 500:
        raise ShapeError("downloadParameters.maxRequests must be an integer 1..500")
    issuer = p.get("issuerName")
    if issuer is not None and not isinstance(issuer, str):
        raise ShapeError("downloadParameters.issuerName must be null or a string")
    out = []
    with state.lock:
        keep = []
        for item in state.revocation_queue:
            if len(out) < n and (issuer is None or item.get("issuerName") == issuer):
                out.append(item)
                state.revocation_pending[item["requestContext"]] = item
            else:
                keep.append(item)
        state.revocation_queue = keep
    return json_response(200, {"@odata.context": "https://intune.emulator/$metadata#Collection("
                                                 "microsoft.management.services.api.caRevocationRequest)",
                               "value": out})


def _upload(state, body):
    _object(body, "body", ("results",))
    results = body["results"]
    if not isinstance(results, list) or not results:
        raise ShapeError("results must be a non-empty list")
    for i, r in enumerate(results):
        name = "results[%d]" % i
        _object(r, name, ("requestContext", "succeeded", "errorCode"), ("errorMessage",))
        _string(r, "requestContext", name)
        if not isinstance(r["succeeded"], bool):
            raise ShapeError("%s.succeeded must be true or false" % name)
        code = r["errorCode"]
        if not isinstance(code, str) or code not in REVOCATION_ERROR_CODES:
            raise ShapeError("%s.errorCode must be one of %s" % (name, ", ".join(REVOCATION_ERROR_CODES)))
        if r["succeeded"] and code != "0":
            raise ShapeError('%s: a succeeded result carries errorCode "0"' % name)
        if not r["succeeded"] and code == "0":
            raise ShapeError('%s: a failed result must not carry errorCode "0"' % name)
        if "errorMessage" in r and r["errorMessage"] is not None and not isinstance(r["errorMessage"], str):
            raise ShapeError("%s.errorMessage must be a string or null" % name)
    with state.lock:
        for r in results:
            rec = dict(r)
            rec["known_request"] = state.revocation_pending.pop(r["requestContext"], None) is not None
            state.revocation_results.append(rec)
    return json_response(200, {"@odata.context": "https://intune.emulator/$metadata#Edm.Boolean",
                               "value": True})


def queue_revocations(state, requests):
    """Control API: queue revocation requests (each gets a fresh requestContext unless given)."""
    if not isinstance(requests, list):
        raise ValueError("requests must be a list")
    items = []
    for i, r in enumerate(requests):
        if not isinstance(r, dict):
            raise ValueError("requests[%d] must be an object" % i)
        for key in ("serialNumber", "issuerName"):
            if not isinstance(r.get(key), str) or not r.get(key):
                raise ValueError("requests[%d].%s must be a non-empty string" % (i, key))
        if r.get("caConfiguration") is not None and not isinstance(r["caConfiguration"], str):
            raise ValueError("requests[%d].caConfiguration must be a string or null" % i)
        ctx = r.get("requestContext") or str(uuid.uuid4())
        if not isinstance(ctx, str):
            raise ValueError("requests[%d].requestContext must be a string" % i)
        items.append({"requestContext": ctx, "serialNumber": r["serialNumber"],
                      "issuerName": r["issuerName"], "caConfiguration": r.get("caConfiguration")})
    with state.lock:
        state.revocation_queue.extend(items)
    return items

