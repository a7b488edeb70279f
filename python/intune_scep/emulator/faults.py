# SPDX-License-Identifier: Apache-2.0
"""Scripted faults: what the next matching requests of an endpoint get instead of the real answer."""

from .state import ENDPOINT_NAMES

ACTIONS = ("respond", "reset", "reset_after_headers", "hang", "drip", "drip_head", "short_body", "oversize", "redirect")
FIELDS = ("endpoint", "times", "status", "body", "content_type", "headers", "delay_ms", "action")
HANG_LIMIT_S = 120.0
DRIP_LIMIT_S = 120.0


def normalise(spec, seq):
    """Check a fault given to the control API; return the stored form (raises ValueError)."""
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    unknown = sorted(set(spec) - set(FIELDS))
    if unknown:
        raise ValueError("unknown fault field(s): %s" % ", ".join(unknown))
    endpoint = spec.get("endpoint")
    if endpoint not in ENDPOINT_NAMES:
        raise ValueError("endpoint must be one of %s" % ", ".join(ENDPOINT_NAMES))
    action = spec.get("action", "respond")
    if action not in ACTIONS:
        raise ValueError("action must be one of %s" % ", ".join(ACTIONS))
    times = spec.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 0:
        raise ValueError("times must be an integer >= 0 (0 = until cleared)")
    status = spec.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or not 100 <= status <= 999):
        raise ValueError("status must be an integer 100..999")
    body = spec.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    ctype = spec.get("content_type")
    if ctype is not None and not isinstance(ctype, str):
        raise ValueError("content_type must be a string")
    headers = spec.get("headers")
    if headers is None:
        headers = {}
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int)) and "\n" not in str(v) and "\r" not in str(v)
            and k and ":" not in k and "\n" not in k and "\r" not in k
            for k, v in headers.items()):
        raise ValueError("headers must be an object of header name -> string")
    delay = spec.get("delay_ms", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 120000:
        raise ValueError("delay_ms must be an integer 0..120000")
    if action == "redirect" and not body and "Location" not in headers and "location" not in headers:
        raise ValueError("a redirect needs the target URL as body")
    return {"id": "f%d" % seq, "endpoint": endpoint, "action": action, "times": times,
            "remaining": times, "status": status, "body": body, "content_type": ctype,
            "headers": {k: str(v) for k, v in headers.items()}, "delay_ms": delay, "hits": 0}


def add(state, spec):
    with state.lock:
        state.fault_seq += 1
        fault = normalise(spec, state.fault_seq)
        state.faults.append(fault)
        return fault["id"]


def take(state, endpoint):
    """The fault that answers this request of `endpoint` (consuming one use), or None."""
    with state.lock:
        for i, f in enumerate(state.faults):
            if f["endpoint"] != endpoint:
                continue
            f["hits"] += 1
            if f["times"] > 0:
                f["remaining"] -= 1
                if f["remaining"] <= 0:
                    del state.faults[i]
            return dict(f)
    return None


def clear(state):
    with state.lock:
        state.faults = []
