# SPDX-License-Identifier: Apache-2.0
"""The control API under /_emulator/ (loopback only, JSON in and out)."""

import copy
import re
import time
import uuid
from urllib.parse import parse_qsl

from . import challenges, faults, intune
from .state import PKI_SERVICE, SCEP_SERVICE, json_response

SETTINGS_TYPES = {
    "token_lifetime": int, "page_size": int, "app_secret": str, "extra_endpoints": int,
    "expires_in_as_string": bool, "scep_api_version": str, "pki_api_version": str,
    "mixed_case_names": bool, "client_certificates": list, "max_body": int, "max_recorded": int,
    "single_use_challenges": bool,
    "federated_credentials": list, "managed_identities": list, "system_identity": bool, "identity_header": str,
    "roles": dict, "token_payload_extra": str,
}


def _err(status, message):
    return json_response(status, {"error": message})


def _body(req):
    if not req.body.strip():
        return {}
    try:
        return req.json()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body is not JSON") from None


def handle(state, req, sub):
    """`sub` is the path after /_emulator/."""
    try:
        return _route(state, req, sub)
    except ValueError as e:
        return _err(400, str(e))


def _route(state, req, sub):
    m, s = req.method, sub.strip("/")
    if s == "challenges" and m == "POST":
        return _challenge(state, _body(req))
    if s == "device/csr" and m == "POST":
        return _device_csr(state, _body(req))
    if s == "device/certificate" and m == "POST":
        return _device_certificate(state, _body(req))
    mm = re.match(r"^profiles/([^/]+)/untarget$", s)
    if mm and m == "POST":
        with state.lock:
            p = state.profiles.get(mm.group(1))
            if p is None:
                return _err(404, "no such profile")
            p["untargeted"] = True
        return json_response(200, {})
    if s == "faults":
        if m == "POST":
            return json_response(200, {"id": faults.add(state, _body(req))})
        if m == "DELETE":
            faults.clear(state)
            return json_response(200, {})
        if m == "GET":
            with state.lock:
                return json_response(200, copy.deepcopy(state.faults))
    if s == "tokens/expire" and m == "POST":
        state.expire_tokens()
        return json_response(200, {})
    if s == "move_endpoint" and m == "POST":
        body = _body(req)
        service = body.get("service", SCEP_SERVICE) if isinstance(body, dict) else None
        if service not in (SCEP_SERVICE, PKI_SERVICE):
            return _err(400, "service must be %s or %s" % (SCEP_SERVICE, PKI_SERVICE))
        with state.lock:
            state.moves += 1
            state.prefixes[service] = "/su%d/%s" % (state.moves + 1, service)
            return json_response(200, {"uri": state.service_uri(service)})
    if s == "settings":
        if m == "POST":
            return _settings(state, _body(req))
        if m == "GET":
            with state.lock:
                out = copy.deepcopy(state.settings)
            out.pop("app_secret", None)
            out.pop("identity_header", None)
            return json_response(200, out)
    if s == "requests" and m == "GET":
        want = dict(parse_qsl(req.query)).get("endpoint")
        with state.lock:
            out = [r for r in state.requests if want is None or r["endpoint"] == want]
            return json_response(200, copy.deepcopy(out))
    if s == "notifications" and m == "GET":
        with state.lock:
            return json_response(200, copy.deepcopy({"success": state.success_notifications,
                                                     "failure": state.failure_notifications,
                                                     "rejected": state.rejected_notifications}))
    if s == "validations" and m == "GET":
        with state.lock:
            return json_response(200, copy.deepcopy(state.validations))
    if s == "revocations" and m == "POST":
        body = _body(req)
        if not isinstance(body, dict):
            return _err(400, "the body must be an object")
        items = intune.queue_revocations(state, body.get("requests"))
        return json_response(200, {"queued": items})
    if s == "revocation_results" and m == "GET":
        with state.lock:
            return json_response(200, copy.deepcopy(state.revocation_results))
    if s == "stats" and m == "GET":
        with state.lock:
            return json_response(200, {"connections": state.connections,
                                       "token_requests": {"graph": state.token_requests["graph"],
                                                          "intune": state.token_requests["intune"]},
                                       "requests": state.request_count,
                                       "endpoints": dict(state.endpoint_counts)})
    if s == "reset" and m == "POST":
        state.reset()
        return json_response(200, {})
    return _err(404, "no such control call: %s %s" % (m, sub))


def _issue_challenge(state, body):
    """Register a profile and issue a challenge for it (raises ProfileError)."""
    profile = challenges.normalise_profile(body)
    pid = profile["profile_id"] or "p-" + uuid.uuid4().hex[:12]
    profile["profile_id"] = pid
    expires_at = int(time.time()) + profile["expires_in"]
    challenge = state.codec.make(pid, expires_at, profile["device_id"])
    with state.lock:
        profile["untargeted"] = False
        state.profiles[pid] = profile
    return {"challenge": challenge, "profile_id": pid, "expires_at": expires_at}


def _challenge(state, body):
    try:
        return json_response(200, _issue_challenge(state, body))
    except challenges.ProfileError as e:
        return _err(400, str(e))


def _device_store(state, device):
    """The emulator's device keys and test CA, made on first use; kept across resets."""
    with state.lock:
        store = getattr(state, "device_store", None)
        if store is None:
            store = state.device_store = device.DeviceStore()
        return store


def _device_csr(state, body):
    """POST device/csr: the request a device builds (see device.csr_for_request)."""
    from . import device  # needs cryptography, as the SCEP checks do

    if not isinstance(body, dict):
        return _err(400, "the body must be a JSON object")
    try:
        fields = device.check_csr_request(body)
        issued = _issue_challenge(state, fields["profile"]) if fields["profile"] is not None else None
    except (challenges.ProfileError, ValueError) as e:
        return _err(400, str(e))
    try:
        out = device.csr_for_request(fields, issued, _device_store(state, device))
    except ValueError as e:
        return _err(400, str(e))
    return json_response(200, out)


def _device_certificate(state, body):
    """POST device/certificate: a certificate for a CSR from this emulator's test CA."""
    from . import device

    if not isinstance(body, dict):
        return _err(400, "the body must be a JSON object")
    try:
        return json_response(200, device.certificate_for_request(body, _device_store(state, device)))
    except ValueError as e:
        return _err(400, str(e))


def _settings(state, body):
    if not isinstance(body, dict):
        return _err(400, "settings must be a JSON object")
    clean = {}
    for k, v in body.items():
        t = SETTINGS_TYPES.get(k)
        if t is None:
            return _err(400, "unknown setting %r (known: %s)" % (k, ", ".join(sorted(SETTINGS_TYPES))))
        if (t is int and (isinstance(v, bool) or not isinstance(v, int))) or not isinstance(v, t):
            return _err(400, "setting %s must be %s" % (k, t.__name__))
        if t is int and v < 0:
            return _err(400, "setting %s must not be negative" % k)
        if k == "client_certificates":
            from .identity import cert_thumbprints
            for pem in v:
                try:
                    cert_thumbprints(pem)
                except Exception:  # noqa: BLE001
                    return _err(400, "client_certificates must be PEM certificates")
        if k == "federated_credentials":
            from .workload import normalise_federated
            v = normalise_federated(v)
        if k == "managed_identities" and not all(isinstance(x, str) for x in v):
            return _err(400, "managed_identities must be a list of client ids")
        if k == "roles" and not all(r in ("graph", "intune") and isinstance(x, list) and
                                    all(isinstance(y, str) for y in x) for r, x in v.items()):
            return _err(400, "roles must map graph and/or intune to lists of strings")
        if k == "roles":
            with state.lock:
                merged = dict(state.settings["roles"])
            merged.update(v)
            v = merged
        clean[k] = v
    with state.lock:
        state.settings.update(clean)
    return json_response(200, {})

