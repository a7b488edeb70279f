# SPDX-License-Identifier: Apache-2.0
"""What a certificate request asks for (the library's intune_scep_csr_info_*)."""

from __future__ import annotations

import json
from typing import Any, Dict

from ._client import Binary, _call, _native, _require_binary


def inspect_csr(data: Binary) -> Dict[str, Any]:
    """Read a certificate request (PEM, DER, or base64 with or without line breaks)
    and return what it asks for, as a dict: ``subject`` (RFC 4514),
    ``challenge_password`` (None when absent; the device's one-time credential: do
    not log it), ``sans`` (a list of ``{"type", "value"}``, types email, upn, dns,
    uri, ip, dirname, other), ``sid`` (from the strong-mapping URI
    ``tag:microsoft.com,2022-09-14:sid:<SID>``), ``key_type``, ``key_bits``,
    ``signature_hash``, ``signature_valid``, ``key_usage`` (comma-separated names,
    None when not requested), ``ekus`` (dotted OIDs), ``validity_period``,
    ``validity_period_units`` and ``validity_days`` (Intune's name-value pairs;
    0 days when absent).

    Raises:
        ValueError: the data is not a certificate request.
        TypeError: neither bytes nor str.
    """
    text = _call(_native.intune_scep_csr_info_parse_json, _require_binary("data", data))
    return dict(json.loads(str(text)))
