# SPDX-License-Identifier: Apache-2.0
"""intune_scep: Microsoft Intune SCEP validation for certificate authorities and SCEP servers.

Before issuing a certificate to an Intune-managed device, ask Intune whether the
device's CSR and its challenge are genuine; afterwards tell Intune what
was issued, or why issuing failed::

    from intune_scep import IntuneScepServiceClient, IntuneClientException

    with IntuneScepServiceClient.from_properties_file("intune.properties") as client:
        try:
            client.ValidateRequest(transaction_id, csr_base64)
        except IntuneClientException:
            ...  # do not issue
        else:
            cert = issue(csr)
            client.notify_success_for_certificate(transaction_id, csr_base64, cert)

The client (a native extension) is loaded the first time one of its names is
used, so ``python -m intune_scep.emulator`` works without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from ._errors import (
    ErrorCode,
    IntuneClientAuthException,
    IntuneClientException,
    IntuneClientHttpErrorException,
    IntuneClientProtocolException,
    IntuneClientTransportException,
    IntuneScepServiceException,
    IntuneServiceNotFoundException,
)

if TYPE_CHECKING:  # pragma: no cover
    from ._client import (
        LOGGER_NAME,
        CARequestErrorCode,
        CARevocationRequest,
        CARevocationResult,
        IntuneRevocationClient,
        CertificateDetails,
        IntuneScepServiceClient,
        certificate_details,
        library_version,
        normalize_csr,
    )
    from ._inspect import inspect_csr

_LAZY = {
    "IntuneRevocationClient": "._client",
    "CARequestErrorCode": "._client",
    "CARevocationRequest": "._client",
    "CARevocationResult": "._client",
    "IntuneScepServiceClient": "._client",
    "CertificateDetails": "._client",
    "certificate_details": "._client",
    "normalize_csr": "._client",
    "inspect_csr": "._inspect",
    "library_version": "._client",
    "LOGGER_NAME": "._client",
}

__all__ = [
    "CARequestErrorCode",
    "CARevocationRequest",
    "CARevocationResult",
    "IntuneRevocationClient",
    "CertificateDetails",
    "ErrorCode",
    "IntuneClientAuthException",
    "IntuneClientException",
    "IntuneClientHttpErrorException",
    "IntuneClientProtocolException",
    "IntuneClientTransportException",
    "IntuneScepServiceClient",
    "IntuneScepServiceException",
    "IntuneServiceNotFoundException",
    "LOGGER_NAME",
    "certificate_details",
    "inspect_csr",
    "library_version",
    "normalize_csr",
]


def __getattr__(name: str) -> Any:
    """Load the native client on first use of one of its names."""
    module = _LAZY.get(name)
    if module is None:
        if name == "__version__":
            from importlib import metadata

            try:
                return metadata.version("intune-scep")
            except metadata.PackageNotFoundError:
                return "0+unknown"
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
