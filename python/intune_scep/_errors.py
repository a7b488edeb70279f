# SPDX-License-Identifier: Apache-2.0
"""Exceptions and the Intune error codes of :mod:`intune_scep`.

Pure Python: importing this module never loads the native extension.

Every failure of a SCEP call raises a subclass of :class:`IntuneClientException`,
so ``except IntuneClientException`` never lets a failed validation through.
Invalid arguments and configuration raise :class:`ValueError` naming the
argument or key; running out of memory raises :class:`MemoryError`.
"""

from __future__ import annotations

import enum
import uuid
from typing import Optional

__all__ = [
    "ErrorCode",
    "IntuneClientException",
    "IntuneClientAuthException",
    "IntuneClientHttpErrorException",
    "IntuneClientProtocolException",
    "IntuneClientTransportException",
    "IntuneScepServiceException",
    "IntuneServiceNotFoundException",
]


class ErrorCode(enum.Enum):
    """The ``code`` values Intune answers a SCEP call with, in the reference's order.

    ``ErrorCode.parse`` maps a code string as sent to a member; a string that is
    not one of these (including a different letter case) parses as ``Unknown``.
    """

    Unknown = 0
    Success = 1
    CertificateRequestDecodingFailed = 2
    ChallengePasswordMissing = 3
    ChallengeDeserializationError = 4
    ChallengeDecryptionError = 5
    ChallengeDecodingError = 6
    ChallengeInvalidTimestamp = 7
    ChallengeExpired = 8
    SubjectNameMissing = 9
    SubjectNameMismatch = 10
    SubjectAltNameMissing = 11
    SubjectAltNameMismatch = 12
    KeyUsageMismatch = 13
    KeyLengthMismatch = 14
    EnhancedKeyUsageMissing = 15
    EnhancedKeyUsageMismatch = 16
    AadKeyIdentifierListMissing = 17
    RegisteredKeyMismatch = 18
    SigningCertThumbprintMismatch = 19
    ScepProfileNoLongerTargetedToTheClient = 20
    SignatureValidationFailed = 21
    BadCertificateRequestIdInChallenge = 22
    BadDeviceIdInChallenge = 23
    BadUserIdInChallenge = 24

    @classmethod
    def parse(cls, code: Optional[str]) -> "ErrorCode":
        """The member named exactly ``code``; ``Unknown`` for anything else (or ``None``)."""
        if isinstance(code, str):
            member = cls.__members__.get(code)
            if member is not None:
                return member
        return cls.Unknown


def _parse_uuid(value: Optional[str]) -> Optional[uuid.UUID]:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class IntuneClientException(Exception):
    """Base of every error a call to Intune or the identity platform can end in.

    The certificate must not be issued when a call raises one of these.

    Attributes:
        message: one line for a log; names what failed and carries the activity
            id; never holds a secret.
        status: the library's status name, e.g. ``"INTUNE_SCEP_E_TRANSPORT"``.
        activity_id: the ``client-request-id`` sent with the failing call (Intune
            support correlates by it), or ``None`` when nothing was sent.
        transaction_id: the SCEP transaction id of the failing call, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: str = "INTUNE_SCEP_E_INTERNAL",
        activity_id: Optional[str] = None,
        transaction_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message: str = message
        self.status: str = status
        self.activity_id: Optional[uuid.UUID] = _parse_uuid(activity_id)
        self.transaction_id: Optional[str] = transaction_id or None

    def __str__(self) -> str:
        return self.message


class IntuneScepServiceException(IntuneClientException):
    """Intune answered a SCEP call with a code other than ``Success``.

    Attributes:
        error_code: the code string exactly as Intune sent it (``""`` when the
            answer carried none).
        parsed_error_code: ``error_code`` as an :class:`ErrorCode`
            (``ErrorCode.Unknown`` for a code this library does not know).
        error_description: Intune's ``errorDescription`` (``""`` when none).
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: Optional[str] = None,
        error_description: Optional[str] = None,
        status: str = "INTUNE_SCEP_E_REJECTED",
        activity_id: Optional[str] = None,
        transaction_id: Optional[str] = None,
    ) -> None:
        super().__init__(message, status=status, activity_id=activity_id, transaction_id=transaction_id)
        self.error_code: str = error_code or ""
        self.parsed_error_code: ErrorCode = ErrorCode.parse(error_code)
        self.error_description: str = error_description or ""


class IntuneClientHttpErrorException(IntuneClientException):
    """Graph or Intune answered with a non-2xx HTTP status.

    Attributes:
        status_code: the HTTP status of the last answer.
        response: the answer's body (capped at 4 KiB), or ``None`` when empty.
        error_code: the error code the service put in the body, as sent (Intune's ``code`` or
            Graph's ``error.code``, e.g. ``Authorization_RequestDenied``), or ``None``.
        error_description: the error description the service put in the body, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 0,
        response: Optional[str] = None,
        error_code: Optional[str] = None,
        error_description: Optional[str] = None,
        status: str = "INTUNE_SCEP_E_HTTP",
        activity_id: Optional[str] = None,
        transaction_id: Optional[str] = None,
    ) -> None:
        super().__init__(message, status=status, activity_id=activity_id, transaction_id=transaction_id)
        self.status_code: int = int(status_code)
        self.response: Optional[str] = response
        self.error_code: Optional[str] = error_code
        self.error_description: Optional[str] = error_description


class IntuneServiceNotFoundException(IntuneClientException):
    """Service discovery (Microsoft Graph) does not list the service a call needs.

    The message lists the service names discovery did find.
    """


class IntuneClientAuthException(IntuneClientException):
    """The identity platform refused or failed to issue a token.

    Attributes:
        error_code: the OAuth ``error`` (e.g. ``"invalid_client"``), or ``""``.
        aadsts_code: the AADSTS number (e.g. ``7000215`` for an invalid client
            secret), or ``None`` when the answer carried none.
        description: the identity platform's ``error_description``, or ``""``.
        status_code: the HTTP status of the token endpoint's answer (0 when none).
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: Optional[str] = None,
        aadsts_code: Optional[int] = None,
        description: Optional[str] = None,
        status_code: int = 0,
        status: str = "INTUNE_SCEP_E_AUTH",
        activity_id: Optional[str] = None,
        transaction_id: Optional[str] = None,
    ) -> None:
        super().__init__(message, status=status, activity_id=activity_id, transaction_id=transaction_id)
        self.error_code: str = error_code or ""
        self.aadsts_code: Optional[int] = aadsts_code or None
        self.description: str = description or ""
        self.status_code: int = int(status_code)


class IntuneClientTransportException(IntuneClientException):
    """No usable answer: connect, DNS, TLS or proxy failure, reset, or the call's deadline."""


class IntuneClientProtocolException(IntuneClientException):
    """A 2xx answer that cannot be trusted: not JSON, no ``code``, or over 1 MiB.

    Attributes:
        status_code: the HTTP status of the answer.
        response: the answer's body (capped at 4 KiB), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 0,
        response: Optional[str] = None,
        status: str = "INTUNE_SCEP_E_PROTOCOL",
        activity_id: Optional[str] = None,
        transaction_id: Optional[str] = None,
    ) -> None:
        super().__init__(message, status=status, activity_id=activity_id, transaction_id=transaction_id)
        self.status_code: int = int(status_code)
        self.response: Optional[str] = response
