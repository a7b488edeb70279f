# SPDX-License-Identifier: Apache-2.0
"""Test helpers: the emulator's control API, with its device CSRs and test CA.

The control API is used over HTTPS exactly as docs/emulator.md describes it,
through the emulator's own client (`intune_scep.emulator.ControlClient`), trusting
the emulator's CA explicitly. Device requests and certificates come from the
emulator's device module through ``POST device/csr`` and ``POST device/certificate``:
the tests build none of their own.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any, Dict, Mapping, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from intune_scep.emulator import ControlClient, EmulatorControlError

SUCCESS_BODY = '{"code":"Success","errorDescription":""}'


class Control(ControlClient):
    """The emulator's control API (``{base_url}_emulator/...``) for one test."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.base_url: str = emulator.base_url
        self.control_url: str = getattr(emulator, "control_url", None) or self.base_url + "_emulator/"
        self.ca_file: str = emulator.ca_file
        super().__init__(self.control_url, self.ca_file)

    @property
    def config(self) -> Dict[str, str]:
        """A complete client configuration for the emulator as it is now."""
        return dict(self.emulator.config)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One control call; a refusal fails the test with the emulator's answer."""
        try:
            return self._call(method, path, body)
        except EmulatorControlError as e:
            raise AssertionError(f"control {method} {path}: HTTP {e.status}: {e.body[:500]!r}") from None

    def challenge(self, profile: Mapping[str, Any]) -> Dict[str, str]:
        return self.call("POST", "challenges", dict(profile))

    def fault(self, **fault: Any) -> str:
        return self.call("POST", "faults", fault)["id"]

    def device_csr(self, profile: Mapping[str, Any] = None, **fields: Any) -> Dict[str, Any]:
        """POST device/csr: a challenge for `profile` and the device's request for it;
        `fields` change what the device asks for (subject, san_*, key_usage, ekus,
        key_size, hash, challenge, ...). Adds "der" (bytes) and "x509" (the parsed request)."""
        body = dict(fields)
        if profile is not None:
            body["profile"] = dict(profile)
        out = self.call("POST", "device/csr", body)
        out["der"] = base64.b64decode(out["csr"])
        out["x509"] = x509.load_der_x509_csr(out["der"])
        return out

    def device_certificate(self, csr: Union[str, bytes, x509.CertificateSigningRequest],
                           validity_days: int = 365) -> Dict[str, Any]:
        """POST device/certificate: the emulator's test CA issues a certificate for `csr`."""
        if isinstance(csr, x509.CertificateSigningRequest):
            csr = csr.public_bytes(serialization.Encoding.DER)
        if isinstance(csr, bytes):
            csr = base64.b64encode(csr).decode("ascii")
        return self.call("POST", "device/certificate", {"csr": csr, "validity_days": validity_days})


class EmulatorCA:
    """The SCEP server's CA in tests: the emulator's test CA, through the control API."""

    def __init__(self, control: Control) -> None:
        self.control = control

    def issue(self, csr: Union[str, bytes, x509.CertificateSigningRequest],
              validity_days: int = 365) -> x509.Certificate:
        """A certificate for ``csr``: its subject, key, SANs, key usage and EKUs, ``validity_days`` long."""
        answer = self.control.device_certificate(csr, validity_days)
        return x509.load_der_x509_certificate(base64.b64decode(answer["certificate"]))


def not_after(cert: x509.Certificate) -> datetime.datetime:
    """notAfter as an aware UTC datetime (cryptography < 42 has only the naive form)."""
    t = getattr(cert, "not_valid_after_utc", None)
    return t if t is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_before(cert: x509.Certificate) -> datetime.datetime:
    """notBefore as an aware UTC datetime."""
    t = getattr(cert, "not_valid_before_utc", None)
    return t if t is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def expected_details(cert: x509.Certificate) -> Dict[str, str]:
    """The four success-notification fields, computed independently of the library."""
    return {
        "certificateThumbprint": cert.fingerprint(hashes.SHA1()).hex().upper(),
        "certificateSerialNumber": format(cert.serial_number, "X"),
        "certificateExpirationDateUtc": not_after(cert).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "issuingCertificateAuthority": cert.issuer.rfc4514_string(),
    }


CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
IPSEC_TUNNEL = "1.3.6.1.5.5.7.3.6"
