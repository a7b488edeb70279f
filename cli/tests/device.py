# SPDX-License-Identifier: Apache-2.0
"""The device and a CA for the intune-scep tool's tests (test_cli.py, test_revocations.py).

Both are the Intune emulator's device module (`intune_scep.emulator.device`, the one CSR
and certificate builder of the project's tests, also behind the emulator's control API
`POST /_emulator/device/csr` and `POST /_emulator/device/certificate`), under the names
these tests use: `make_csr` returns a parsed request, `DemoCA` is a test CA with its own name.
"""

from __future__ import annotations

from typing import Optional, Sequence

from cryptography import x509

from intune_scep.emulator.device import TestCA, make_csr as _device_csr, make_key


def new_key(bits: int = 2048):
    """A new RSA key of `bits`."""
    return make_key(bits)


def make_csr(subject: str, challenge: Optional[str], key=None,
             san_emails: Sequence[str] = ()) -> x509.CertificateSigningRequest:
    """A device's request for `subject` (RFC 4514) carrying `challenge` (None: none), SHA-256."""
    _, der = _device_csr({"subject": subject}, challenge, key=key, san_emails=list(san_emails))
    return x509.load_der_x509_csr(der)


class DemoCA(TestCA):
    """A throwaway issuing CA: ``.cert`` is its certificate, ``.sign(csr, days=365)`` issues."""

    def __init__(self, name: str = "CN=Contoso Demo Issuing CA,O=Contoso") -> None:
        super().__init__(name)
        self.cert = self.certificate

    def sign(self, csr, days: int = 365, **kw) -> x509.Certificate:  # type: ignore[override]
        return super().sign(csr, validity_days=kw.pop("validity_days", days), **kw)
