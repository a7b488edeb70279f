# SPDX-License-Identifier: Apache-2.0
"""The client facade over the native extension (``intune_scep._native``).

Importing this module loads the native extension; ``intune_scep`` imports it
only when one of its names is first used.
"""

from __future__ import annotations

import enum
import functools
import importlib
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TypeVar, Union

from ._errors import (
    IntuneClientAuthException,
    IntuneClientException,
    IntuneClientHttpErrorException,
    IntuneClientProtocolException,
    IntuneClientTransportException,
    IntuneScepServiceException,
    IntuneServiceNotFoundException,
)

# The SWIG-generated extension (flat functions over the C ABI); untyped.
_native: Any = importlib.import_module(".._native", __name__)
# ValidateRequest's one call into the extension, bound once.
_validate: Callable[[Any, Any, Any], None] = _native.intune_scep_validate_request_py

__all__ = [
    "CARequestErrorCode",
    "CARevocationRequest",
    "CARevocationResult",
    "CertificateDetails",
    "IntuneRevocationClient",
    "IntuneScepServiceClient",
    "LOGGER_NAME",
    "certificate_details",
    "library_version",
    "normalize_csr",
]

#: Name of the :mod:`logging` logger the library's log lines go to.
LOGGER_NAME = "intune_scep"

# The library's status numbers, as SWIG generates them from intune_scep.h.
_OK: int = _native.INTUNE_SCEP_OK
_E_INVALID_ARGUMENT: int = _native.INTUNE_SCEP_E_INVALID_ARGUMENT
_E_CONFIG: int = _native.INTUNE_SCEP_E_CONFIG
_E_AUTH: int = _native.INTUNE_SCEP_E_AUTH
_E_SERVICE_NOT_FOUND: int = _native.INTUNE_SCEP_E_SERVICE_NOT_FOUND
_E_HTTP: int = _native.INTUNE_SCEP_E_HTTP
_E_TRANSPORT: int = _native.INTUNE_SCEP_E_TRANSPORT
_E_PROTOCOL: int = _native.INTUNE_SCEP_E_PROTOCOL
_E_REJECTED: int = _native.INTUNE_SCEP_E_REJECTED
_E_NOMEM: int = _native.INTUNE_SCEP_E_NOMEM
_E_INTERNAL: int = _native.INTUNE_SCEP_E_INTERNAL

# The token resources of fetch_token and token_roles.
_RESOURCES: Dict[str, int] = {"graph": _native.INTUNE_SCEP_RESOURCE_GRAPH, "intune": _native.INTUNE_SCEP_RESOURCE_INTUNE}

# What intune_scep_client_credential_kind answers, by name.
_CREDENTIAL_KINDS: Dict[int, str] = {
    _native.INTUNE_SCEP_CREDENTIAL_SECRET: "secret",
    _native.INTUNE_SCEP_CREDENTIAL_CERTIFICATE: "certificate",
    _native.INTUNE_SCEP_CREDENTIAL_FEDERATED: "federated",
    _native.INTUNE_SCEP_CREDENTIAL_MANAGED_IDENTITY: "managed_identity",
}

_INT32_MAX = 2**31 - 1
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

#: The service the three SCEP calls use (``INTUNE_SCEP_SERVICE_VALIDATION`` of intune_scep.h).
SCEP_SERVICE_NAME: str = _native.INTUNE_SCEP_SERVICE_VALIDATION
#: The service the revocation calls use (``INTUNE_SCEP_SERVICE_REVOCATION`` of intune_scep.h).
PKI_SERVICE_NAME: str = _native.INTUNE_SCEP_SERVICE_REVOCATION
#: The default prefix of :meth:`IntuneScepServiceClient.from_env` (``INTUNE_SCEP_ENV_PREFIX``).
_ENV_PREFIX: str = _native.INTUNE_SCEP_ENV_PREFIX

Binary = Union[bytes, bytearray, memoryview, str]
_T = TypeVar("_T")
_Self = TypeVar("_Self", bound="_NativeClient")


def library_version() -> str:
    """The version of the C library compiled into the extension, e.g. ``"1.0.0"``."""
    return str(_native.intune_scep_version())


def _exception_from(status: int, err: Any, transaction_id: Optional[str] = None) -> BaseException:
    """The Python exception for a failed call's status and filled error object."""
    if err is None:  # the error object itself could not be allocated
        return _exception_of(status, None, None, transaction_id, None, None, 0, None, 0)
    return _exception_of(status, _native.intune_scep_error_message(err), _native.intune_scep_error_activity_id(err),
                         _native.intune_scep_error_transaction_id(err) or transaction_id,
                         _native.intune_scep_error_service_code(err), _native.intune_scep_error_description(err),
                         int(_native.intune_scep_error_http_status(err)),
                         _native.intune_scep_error_response_body(err),
                         int(_native.intune_scep_error_aadsts_code(err)))


def _exception_of(status: int, message: Optional[str], activity_id: Optional[str], txid: Optional[str],
                  service_code: Optional[str], description: Optional[str], http_status: int, body: Optional[str],
                  aadsts: int) -> BaseException:
    """The Python exception for a failed call's status and the fields of its error object.

    The extension's call gate calls it for a failed SCEP call (the fields read in C);
    :func:`_exception_from` for the others."""
    name = str(_native.intune_scep_status_name(status))
    message = message or name
    common: Dict[str, Any] = {"status": name, "activity_id": activity_id, "transaction_id": txid}
    if status in (_E_INVALID_ARGUMENT, _E_CONFIG):
        return ValueError(message)
    if status == _E_NOMEM:
        return MemoryError(message)
    if status == _E_REJECTED:
        return IntuneScepServiceException(message, error_code=service_code, error_description=description, **common)
    if status == _E_HTTP:
        return IntuneClientHttpErrorException(message, status_code=http_status, response=body, error_code=service_code,
                                              error_description=description, **common)
    if status == _E_AUTH:
        return IntuneClientAuthException(
            message, error_code=service_code, aadsts_code=aadsts, description=description,
            status_code=http_status, **common)
    if status == _E_SERVICE_NOT_FOUND:
        return IntuneServiceNotFoundException(message, **common)
    if status == _E_TRANSPORT:
        return IntuneClientTransportException(message, **common)
    if status == _E_PROTOCOL:
        return IntuneClientProtocolException(message, status_code=http_status, response=body, **common)
    return IntuneClientException(message, **common)


def _call(fn: Callable[..., _T], *args: Any, transaction_id: Optional[str] = None) -> _T:
    """Call a native function whose last argument is an error object; raise on failure.

    ``fn`` returns either a status (int, 0 = OK) or an object (``None`` on failure).
    """
    err = _native.intune_scep_error_new()
    try:
        result = fn(*args, err)
        if isinstance(result, int):
            if result != _OK:
                raise _exception_from(result, err, transaction_id)
        elif result is None:
            status = _native.intune_scep_error_status(err) if err is not None else _E_NOMEM
            raise _exception_from(status or _E_INTERNAL, err, transaction_id)
        return result
    finally:
        if err is not None:
            _native.intune_scep_error_free(err)


def _require_str(name: str, value: Any, *, optional: bool = False) -> Optional[str]:
    """Check a text argument: a ``str`` without NUL characters (``None`` when optional)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected str, got {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{name}: must not contain a NUL character")
    return value


def _require_binary(name: str, value: Any) -> Binary:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    if isinstance(value, str):
        return value
    raise TypeError(f"{name}: expected bytes or str, got {type(value).__name__}")


def _der_of(value: Any) -> Optional[bytes]:
    """The DER of a ``cryptography`` object (CSR or certificate), else ``None``."""
    public_bytes = getattr(value, "public_bytes", None)
    if public_bytes is None or isinstance(value, (str, bytes, bytearray, memoryview)):
        return None
    from cryptography.hazmat.primitives.serialization import Encoding

    return bytes(public_bytes(Encoding.DER))


def _is_one_line_csr(value: Any) -> bool:
    """Whether ``value`` goes to the library as it is: a ``str`` of one line without PEM armour
    or blanks (the base64 DER the calls take; the library checks the rest, naming the argument)."""
    return (isinstance(value, str) and "-" not in value and "\n" not in value and "\r" not in value
            and " " not in value)


def _csr_arg(name: str, value: Any) -> str:
    """A certificate request as the one-line base64 DER the calls take.

    Accepts that form as it is, and converts what a Python user holds: PEM (``str``
    or ``bytes``), DER ``bytes``, base64 with line breaks, or a ``cryptography``
    ``CertificateSigningRequest`` (checked to parse as PKCS#10, as :func:`normalize_csr`).
    """
    if isinstance(value, str):
        if _is_one_line_csr(value):
            return _require_str(name, value)  # type: ignore[return-value]
        _require_str(name, value)
        data: Binary = value
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = value
    else:
        der = _der_of(value)
        if der is None:
            raise TypeError(f"{name}: expected a certificate request as str (base64 or PEM), bytes (DER or PEM) "
                            f"or a cryptography CertificateSigningRequest, got {type(value).__name__}")
        data = der
    try:
        return normalize_csr(data)
    except ValueError:
        raise ValueError(f"{name}: not a PKCS#10 certificate request (base64 DER, PEM or DER)") from None


def _cert_arg(name: str, value: Any) -> Binary:
    """An issued certificate: PEM or DER (``bytes`` or ``str``), or a ``cryptography`` Certificate."""
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return value
    der = _der_of(value)
    if der is None:
        raise TypeError(f"{name}: expected a certificate as bytes or str (PEM or DER) or a cryptography "
                        f"Certificate, got {type(value).__name__}")
    return der


def _emit(logger: logging.Logger, level: int, message: str) -> None:
    """Log sink: called by the native library (with the GIL taken) for every line."""
    if logger.isEnabledFor(level):
        logger.log(level, message)


def _min_level(logger: logging.Logger) -> int:
    """The lowest level to pass on for ``logger``: its effective level (any int in logging),
    within the C int the configuration takes (past it: nothing is passed on). The gate clamps
    the levels it is given the same way."""
    level = logger.getEffectiveLevel()
    return min(level, _INT32_MAX) if level > 0 else logging.DEBUG


# The key under which a client notes its logger's effective level in the logger's own
# isEnabledFor() cache (logging.Logger._cache, a dict of level -> bool). logging empties
# every logger's cache whenever a level changes anywhere (setLevel, disable), so a call
# finds its note gone exactly when the level has to be read again: a dict lookup per call
# instead of a walk up the logger hierarchy (getEffectiveLevel).
_LEVEL_NOTE = object()


def _level_cache(logger: logging.Logger) -> Optional[Dict[Any, Any]]:
    """The logger's isEnabledFor() cache, or None where logging keeps none (then every call
    reads the effective level)."""
    cache = getattr(logger, "_cache", None)
    return cache if type(cache) is dict else None


def _new_config(values: Optional[Mapping[str, Any]]) -> Any:
    cfg = _native.intune_scep_config_new()
    if cfg is None:
        raise MemoryError("intune_scep_config_new: out of memory")
    try:
        for key, value in (values or {}).items():
            _config_set(cfg, key, value)
    except BaseException:
        _native.intune_scep_config_free(cfg)
        raise
    return cfg


def _config_set(cfg: Any, key: Any, value: Any) -> None:
    if not isinstance(key, str):
        raise TypeError(f"configuration key {key!r}: expected str, got {type(key).__name__}")
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"configuration key {key}: expected str, got {type(value).__name__}")
    text = str(value)
    # The value is never put into the message: it may be a secret.
    if not key or "\x00" in key:
        raise ValueError(f"configuration key {key!r}: not a valid key name")
    if "\x00" in text:
        raise ValueError(f"configuration key {key}: value contains a NUL character")
    try:
        status = _native.intune_scep_config_set(cfg, key, text)
    except ValueError:  # the str's own UTF-8 is passed (no copy of a secret): a lone surrogate has none
        raise ValueError(f"configuration key {key}: the value has no UTF-8 form (a lone surrogate)") from None
    if status == _E_NOMEM:
        raise MemoryError(f"configuration key {key}: out of memory")
    if status != _OK:
        raise ValueError(f"configuration key {key}: invalid key name or value (not UTF-8, or a control character)")


class _NativeClient:
    """What every client shares: configuration, lifetime, logging, diagnostics."""

    _SERVICE = SCEP_SERVICE_NAME

    def __init__(self, config: Mapping[str, Any], *, logger: Optional[logging.Logger] = None) -> None:
        """Create a client from ``config`` (a mapping of configuration key to value).

        Raises:
            ValueError: a key is missing or invalid (the message names the key,
                never the value).
            TypeError: ``config`` is not a mapping, or a value is not a str.
        """
        self._init_state()
        if not isinstance(config, Mapping):
            raise TypeError(f"config: expected a mapping of str to str, got {type(config).__name__}")
        cfg = _new_config(config)
        try:
            self._open(cfg, logger)
        finally:
            _native.intune_scep_config_free(cfg)

    @classmethod
    def from_properties_file(
        cls: "type[_Self]",
        path: Union[str, "os.PathLike[str]"],
        overrides: Optional[Mapping[str, Any]] = None,
        *,
        logger: Optional[logging.Logger] = None,
    ) -> "_Self":
        """Create a client from a file in java.util.Properties syntax.

        ``overrides`` (optional) are set after the file is read and win over it.

        Raises:
            ValueError: the file cannot be read, has a syntax error (path and line
                in the message), or a key is missing or invalid.
        """
        return cls._from_native_config(path, None, overrides, logger)

    @classmethod
    def from_env(
        cls: "type[_Self]",
        prefix: str = _ENV_PREFIX,
        *,
        properties_file: Optional[Union[str, "os.PathLike[str]"]] = None,
        overrides: Optional[Mapping[str, Any]] = None,
        logger: Optional[logging.Logger] = None,
    ) -> "_Self":
        """Create a client from environment variables ``<prefix><KEY>``, e.g.
        ``INTUNE_SCEP_AAD_APP_KEY`` for ``AAD_APP_KEY`` (the C library's
        ``intune_scep_config_load_env``).

        Only configuration keys are read (other variables with the prefix are
        left alone); names are case-sensitive like the keys. With
        ``properties_file`` the file is read first and the environment wins over
        it; ``overrides`` (optional) are set last and win over both. The
        environment is read only here, when called: never behind the caller's back.

        Raises:
            ValueError: a variable's value is not valid UTF-8 or holds a control
                character (the message names the variable, never the value), the
                prefix is not letters, digits and ``_``, the file cannot be read,
                or a key is missing or invalid.
        """
        _require_str("prefix", prefix)
        return cls._from_native_config(properties_file, prefix, overrides, logger)

    @classmethod
    def _from_native_config(
        cls: "type[_Self]",
        path: Optional[Union[str, "os.PathLike[str]"]],
        env_prefix: Optional[str],
        overrides: Optional[Mapping[str, Any]],
        logger: Optional[logging.Logger],
    ) -> "_Self":
        self = cls.__new__(cls)
        self._init_state()
        cfg = _new_config(None)
        try:
            if path is not None:
                _call(_native.intune_scep_config_load_file, cfg, os.fspath(path))
            if env_prefix is not None:
                _call(_native.intune_scep_config_load_env, cfg, env_prefix)
            for key, value in (overrides or {}).items():
                _config_set(cfg, key, value)
            self._open(cfg, logger)
        finally:
            _native.intune_scep_config_free(cfg)
        return self

    def _init_state(self) -> None:
        # The extension's call gate (a capsule, swig/python_gate.i): it owns the native client and
        # keeps the per-call bookkeeping in C (the calls in progress for close(), spare error
        # objects, the log level given to the client), so that a SCEP call is one crossing into
        # the extension. None until the client is made; kept after close(), which it refuses
        # later calls with.
        self._gate: Any = None
        self._sink: Any = None

    def _open(self, cfg: Any, logger: Optional[logging.Logger]) -> None:
        log = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        # The sink holds the callable; the callable holds only the logger, never
        # this object, so an unclosed client can still be collected. The gate, likewise,
        # holds module functions and the logger, never this object.
        sink = _native.intune_scep_py_log_sink_new(functools.partial(_emit, log))
        try:
            # The lowest level passed on follows the logger's effective level, checked on every
            # call (a client made before logging.basicConfig still logs INFO), until
            # set_log_level() is given a level.
            level = _min_level(log)
            _native.intune_scep_config_set_log_callback_py(cfg, sink, level)
            client = _call(_native.intune_scep_client_new_ret, cfg)
            try:
                gate = _native.intune_scep_py_gate_new(
                    client, sink, level, _level_cache(log), _LEVEL_NOTE, functools.partial(_min_level, log),
                    _exception_of, _csr_arg, f"{type(self).__name__} is closed")
            except BaseException:
                _native.intune_scep_client_free(client)
                raise
        except BaseException:
            _native.intune_scep_py_log_sink_free(sink)
            raise
        self._logger = log
        self._sink = sink
        self._gate = gate

    # -- lifetime ---------------------------------------------------------------

    def close(self) -> None:
        """Free the native client: wipes cached tokens and the app key.

        Waits for calls running on other threads to end; later calls raise
        :class:`ValueError`. Calling it again does nothing.
        """
        gate = self._gate
        if gate is None or not _native.intune_scep_py_gate_close(gate):
            return
        sink, self._sink = self._sink, None
        _native.intune_scep_py_log_sink_free(sink)  # after the client, which the gate freed

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        gate = self._gate
        return gate is None or bool(_native.intune_scep_py_gate_closed(gate))

    def __enter__(self: "_Self") -> "_Self":
        self._acquire()
        self._release()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_gate", None) is not None:
                self.close()
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'closed' if self.closed else 'open'}>"

    @property
    def _spare_errors(self) -> int:
        """How many spare native error objects the gate holds (0 once closed)."""
        return int(_native.intune_scep_py_gate_spare_errors(self._gate))

    def _acquire(self) -> Any:
        """The native client for one call (ValueError once closed); :meth:`_release` ends the call."""
        gate = self._gate
        if gate is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return _native.intune_scep_py_gate_enter(gate)

    def _release(self) -> None:
        _native.intune_scep_py_gate_leave(self._gate)

    def _run(self, fn: Callable[..., int], *args: Any, transaction_id: Optional[str] = None) -> None:
        """``fn(client, *args, err)`` counted in and out through the gate; raises on anything but
        INTUNE_SCEP_OK (:func:`_call`). The path of the calls without a one-crossing form in the
        gate (set_app_key, the notification for a certificate, the revocation upload, ...)."""
        client = self._acquire()
        try:
            _call(fn, client, *args, transaction_id=transaction_id)
        finally:
            self._release()

    # -- administration and diagnostics ---------------------------------------

    def set_app_key(self, app_key: str) -> None:
        """Replace the client secret (``AAD_APP_KEY``) of this live client.

        Cached tokens are dropped; the next call fetches new ones with the new key.
        Safe while other threads make calls.

        Raises:
            ValueError: ``app_key`` is empty.
        """
        _require_str("app_key", app_key)
        self._run(_native.intune_scep_client_set_app_key, app_key)

    def update_credentials(self, config: Mapping[str, Any]) -> None:
        """Swap the whole credential of this live client, atomically.

        ``config`` holds exactly one credential kind: ``AAD_APP_KEY``;
        ``AAD_CLIENT_CERT_FILE`` (with ``AAD_CLIENT_KEY_FILE``,
        ``AAD_CLIENT_KEY_PASSWORD``); ``AAD_FEDERATED_TOKEN_FILE``; or
        ``AAD_MANAGED_IDENTITY`` (with its endpoint keys). Other keys are
        ignored. The new credential is checked first (the client is unchanged
        when it is refused); then cached tokens are dropped. Calls running on
        other threads finish with the credential they started with.

        Raises:
            ValueError: the credential keys are missing, two kinds are set, or a
                file cannot be used (the message names the key, never a secret).
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config: expected a mapping of str to str, got {type(config).__name__}")
        cfg = _new_config(config)
        try:
            self._run(_native.intune_scep_client_update_credentials, cfg)
        finally:
            _native.intune_scep_config_free(cfg)

    @property
    def credential_kind(self) -> str:
        """``"secret"``, ``"certificate"``, ``"federated"`` or ``"managed_identity"``."""
        client = self._acquire()
        try:
            kind = _native.intune_scep_client_credential_kind(client)
        finally:
            self._release()
        return _CREDENTIAL_KINDS.get(kind, "none")

    @property
    def certificate_expiry(self) -> Optional[int]:
        """For a certificate credential, its expiry in Unix seconds; else None."""
        client = self._acquire()
        try:
            t = int(_native.intune_scep_client_certificate_expiry(client))
        finally:
            self._release()
        return t or None

    def token_roles(self, resource: str = "intune") -> List[str]:
        """Fetch a fresh token and return its ``roles`` claim (decoded, NOT verified):
        the application permissions granted, for diagnostics.

        Raises:
            IntuneClientAuthException: the identity platform refused.
            ValueError: an unknown ``resource``.
        """
        if resource not in _RESOURCES:
            raise ValueError(f"resource: expected 'intune' or 'graph', got {resource!r}")
        client = self._acquire()
        try:
            text = str(_call(_native.intune_scep_client_token_roles_ret, client, _RESOURCES[resource]))
        finally:
            self._release()
        return [r for r in text.split(",") if r]

    def set_log_level(self, level: Optional[int] = None) -> None:
        """Set the lowest level of the lines the library formats and passes on.

        By default the client follows the logger's effective level, re-read on every
        call. An ``int`` fixes the level instead; ``None`` (the default) goes back to
        following the logger.
        """
        follows = level is None
        if follows:
            level = _min_level(self._logger)
        if isinstance(level, bool) or not isinstance(level, int):
            raise TypeError(f"level: expected int, got {type(level).__name__}")
        gate = self._gate
        if gate is None:
            raise ValueError(f"{type(self).__name__} is closed")
        _native.intune_scep_py_gate_set_log_level(gate, level, 1 if follows else 0)

    def fetch_token(self, resource: str = "intune") -> None:
        """Fetch a fresh token now, for diagnostics: ``"intune"`` or ``"graph"``.

        Raises:
            IntuneClientAuthException: the identity platform refused (with the
                OAuth error, its description and the AADSTS code).
            IntuneClientException: any other failure.
            ValueError: an unknown ``resource``.
        """
        if resource not in _RESOURCES:
            raise ValueError(f"resource: expected 'intune' or 'graph', got {resource!r}")
        self._run(_native.intune_scep_client_fetch_token, _RESOURCES[resource])

    def discover_service(self, service_name: Optional[str] = None) -> str:
        """Run service discovery now and return the URI of ``service_name``
        (default: the service this client's calls use).

        Raises:
            IntuneServiceNotFoundException: discovery does not list the service.
            IntuneClientException: any other failure.
        """
        service_name = self._SERVICE if service_name is None else service_name
        _require_str("service_name", service_name)
        client = self._acquire()
        try:
            return str(_call(_native.intune_scep_client_discover_ret, client, service_name))
        finally:
            self._release()


class IntuneScepServiceClient(_NativeClient):
    """A client of Intune's SCEP validation service, shared by any number of threads.

    It mirrors Microsoft's reference ``IntuneScepServiceClient``: create one from the
    configuration (the reference's ``Properties``: ``AAD_APP_ID``, ``AAD_APP_KEY``,
    ``TENANT``, ``PROVIDER_NAME_AND_VERSION``, …), then for every SCEP request call
    :meth:`ValidateRequest` before issuing and :meth:`SendSuccessNotification` or
    :meth:`SendFailureNotification` afterwards. Every method raises on anything but
    an explicit ``Success`` from Intune: issue the certificate only when
    :meth:`ValidateRequest` returned.

    Calls run with the GIL released, so threads sharing one client run in parallel.
    Log lines go to the :mod:`logging` logger ``intune_scep`` (or ``logger``); the
    lowest level passed on follows the logger's effective level, re-read on every
    call, so configuring :mod:`logging` after creating the client works (see
    :meth:`set_log_level`). Secrets never appear in a log line or an
    exception.

    Use it as a context manager, or call :meth:`close` when done.
    """

    # -- the three SCEP calls -------------------------------------------------

    def ValidateRequest(self, transaction_id: str, certificate_request: str) -> None:
        """Ask Intune whether a CSR and the challenge inside it are genuine.

        Args:
            transaction_id: the SCEP transaction id.
            certificate_request: the DER PKCS#10 CSR in base64 (one line, no PEM
                armour), as the reference takes it; PEM (``str`` or ``bytes``), DER
                ``bytes``, wrapped base64 or a ``cryptography``
                ``CertificateSigningRequest`` are converted (:func:`normalize_csr`).

        Returns only when Intune answered ``Success``: issue the certificate then,
        and never otherwise.

        Raises:
            IntuneScepServiceException: Intune answered another code.
            IntuneClientException: any other failure (HTTP, transport, auth, …).
            ValueError: an argument is empty (the message names it).
        """
        # One crossing into the extension (swig/python_gate.i): the request's form checked (and, when
        # it is not one line of base64, converted by _csr_arg), the call counted in, the log level
        # followed, the call made with the GIL released; None only for INTUNE_SCEP_OK, anything
        # else raised as _exception_of makes it.
        _validate(self._gate, transaction_id, certificate_request)

    def SendSuccessNotification(
        self,
        transaction_id: str,
        certificate_request: str,
        cert_thumbprint: str,
        cert_serial_number: str,
        cert_expiration_date: str,
        cert_issuing_authority: str,
        ca_configuration: Optional[str] = None,
        certificate_authority: Optional[str] = None,
    ) -> None:
        """Tell Intune the certificate for ``transaction_id`` was issued.

        Args:
            transaction_id: the SCEP transaction id.
            certificate_request: the CSR in base64 DER, as for :meth:`ValidateRequest`.
            cert_thumbprint: SHA-1 of the certificate's DER, in hex.
            cert_serial_number: the certificate's serial number, in hex.
            cert_expiration_date: notAfter, ISO 8601 UTC (``2027-06-11T16:11:20.000Z``).
            cert_issuing_authority: the issuer's name.
            ca_configuration: optional; ``None`` sends JSON null.
            certificate_authority: optional; ``None`` sends JSON null.

        :meth:`notify_success_for_certificate` derives the four certificate fields.
        When this raises, the certificate should not be handed to the device.

        Raises:
            IntuneScepServiceException, IntuneClientException, ValueError: as
            :meth:`ValidateRequest`.
        """
        _native.intune_scep_send_success_notification_py(
            self._gate, transaction_id, certificate_request, cert_thumbprint, cert_serial_number, cert_expiration_date,
            cert_issuing_authority, ca_configuration, certificate_authority)

    def SendFailureNotification(
        self, transaction_id: str, certificate_request: str, hresult: int, error_description: str
    ) -> None:
        """Tell Intune that issuing the certificate for ``transaction_id`` failed.

        Args:
            transaction_id: the SCEP transaction id.
            certificate_request: the CSR in base64 DER, as for :meth:`ValidateRequest`.
            hresult: the HRESULT, sent as this exact integer (a signed 64-bit
                value; ``0x80004005`` stays 2147500037).
            error_description: what went wrong, non-empty.

        Raises:
            IntuneScepServiceException, IntuneClientException, ValueError: as
            :meth:`ValidateRequest`; ValueError also when ``hresult`` does not fit
            in 64 signed bits.
        """
        if isinstance(hresult, bool) or not isinstance(hresult, int):
            raise TypeError(f"hresult: expected int, got {type(hresult).__name__}")
        if not _INT64_MIN <= hresult <= _INT64_MAX:
            raise ValueError("hresult: does not fit in a signed 64-bit integer")
        _native.intune_scep_send_failure_notification_py(self._gate, transaction_id, certificate_request, hresult,
                                                         error_description)

    def notify_success_for_certificate(
        self,
        transaction_id: str,
        csr: Any,
        cert_pem_or_der: Any,
        ca_configuration: Optional[str] = None,
        certificate_authority: Optional[str] = None,
    ) -> None:
        """:meth:`SendSuccessNotification` with the four certificate fields derived
        from the issued certificate.

        Args:
            transaction_id: the SCEP transaction id.
            csr: the request as :meth:`ValidateRequest` takes it (base64 DER, PEM,
                DER bytes, or a ``cryptography`` ``CertificateSigningRequest``).
            cert_pem_or_der: the issued certificate: PEM or DER (``bytes`` or
                ``str``), or a ``cryptography`` ``Certificate``.

        Raises:
            ValueError: ``cert_pem_or_der`` is not a certificate, ``csr`` not a
                request, or an argument is empty.
            TypeError: an argument of another type.
            IntuneScepServiceException, IntuneClientException: as :meth:`ValidateRequest`.
        """
        _require_str("transaction_id", transaction_id)
        csr = _csr_arg("csr", csr)  # named as this method names it
        cert = _cert_arg("cert_pem_or_der", cert_pem_or_der)
        self._run(_native.intune_scep_send_success_notification_for_cert, transaction_id, csr, cert,
                  ca_configuration, certificate_authority, transaction_id=transaction_id)

    # snake_case aliases of the reference's names
    validate_request = ValidateRequest
    send_success_notification = SendSuccessNotification
    send_failure_notification = SendFailureNotification



class CARequestErrorCode(enum.Enum):
    """The error code of a revocation result, as the reference's CARequestErrorCode.

    ``None_`` (``"0"``) is the code of a revocation that succeeded (``None`` is a
    Python keyword); every other code marks a failure.
    """

    None_ = "0"
    NonRetryableServiceException = "4000"
    DataSerializationError = "4001"
    ParameterDataInvalidError = "4002"
    CryptographyError = "4003"
    CertificateNotFoundError = "4004"
    ConflictError = "4005"
    NotSupportedError = "4006"
    PayloadTooLargeError = "4007"
    RetryableServiceException = "4100"
    ServiceUnavailableException = "4101"
    ServiceTooBusyException = "4102"
    AuthenticationException = "4103"


@dataclass(frozen=True)
class CARevocationRequest:
    """A certificate Intune asks the CA to revoke."""

    #: Opaque; echo it in the :class:`CARevocationResult`.
    request_context: str
    #: The serial number of the certificate to revoke, as Intune sent it.
    serial_number: str
    #: The issuer's name as Intune sent it (``""`` when none).
    issuer_name: str
    #: The CA configuration Intune sent, or ``None``.
    ca_configuration: Optional[str] = None


@dataclass(frozen=True)
class CARevocationResult:
    """What became of one :class:`CARevocationRequest`."""

    #: The ``request_context`` of the request.
    request_context: str
    #: Whether the certificate was revoked.
    succeeded: bool
    #: ``CARequestErrorCode.None_`` for a success; another code for a failure.
    error_code: CARequestErrorCode = CARequestErrorCode.None_
    #: Optional text for the administrator.
    error_message: Optional[str] = None


class IntuneRevocationClient(_NativeClient):
    """A client of Intune's certificate revocation service (PkiConnectorFEService).

    It mirrors the reference's ``IntuneRevocationClient``: a CA periodically calls
    :meth:`DownloadCARequests` for the certificates Intune wants revoked, revokes
    them, and reports with :meth:`UploadRevocationResults`. Configuration, logging,
    threads and lifetime as :class:`IntuneScepServiceClient`.
    """

    _SERVICE = PKI_SERVICE_NAME

    def DownloadCARequests(
        self, transaction_id: Optional[str], max_requests: int, issuer_name: Optional[str] = None
    ) -> List[CARevocationRequest]:
        """Download up to ``max_requests`` (1-500) revocation requests Intune queued.

        Args:
            transaction_id: an id of this operation for the caller's logs (as in
                the reference; it is not sent), or ``None``.
            max_requests: how many requests at most, 1 to 500.
            issuer_name: only requests of this issuer (``None``: all).

        Raises:
            ValueError: ``max_requests`` out of range.
            IntuneClientException: the call failed (its subclasses as for the SCEP calls).
        """
        _require_str("transaction_id", transaction_id, optional=True)
        _require_str("issuer_name", issuer_name, optional=True)
        if isinstance(max_requests, bool) or not isinstance(max_requests, int):
            raise TypeError(f"max_requests: expected int, got {type(max_requests).__name__}")
        if not 1 <= max_requests <= 500:
            raise ValueError("max_requests: must be 1 to 500")
        client = self._acquire()
        try:
            reqs = _call(_native.intune_scep_download_revocation_requests_ret, client, max_requests, issuer_name,
                         transaction_id=transaction_id)
        finally:
            self._release()
        try:
            out = []
            for i in range(int(_native.intune_scep_revocation_requests_count(reqs))):
                out.append(CARevocationRequest(
                    request_context=_native.intune_scep_revocation_requests_request_context(reqs, i),
                    serial_number=_native.intune_scep_revocation_requests_serial_number(reqs, i),
                    issuer_name=_native.intune_scep_revocation_requests_issuer_name(reqs, i) or "",
                    ca_configuration=_native.intune_scep_revocation_requests_ca_configuration(reqs, i),
                ))
            return out
        finally:
            _native.intune_scep_revocation_requests_free(reqs)

    def UploadRevocationResults(self, transaction_id: Optional[str], results: Sequence[CARevocationResult]) -> None:
        """Report what became of downloaded revocation requests (at least one).

        Returns only when Intune accepted them (``{"value": true}``).

        Raises:
            ValueError: no results, or a result whose ``succeeded`` and
                ``error_code`` do not fit together.
            IntuneScepServiceException: Intune answered ``{"value": false}``.
            IntuneClientException: any other failure.
        """
        _require_str("transaction_id", transaction_id, optional=True)
        if not results:
            raise ValueError("results: at least one result is needed")
        native = _native.intune_scep_revocation_results_new()
        if native is None:
            raise MemoryError("intune_scep_revocation_results_new: out of memory")
        try:
            for i, r in enumerate(results):
                if not isinstance(r, CARevocationResult):
                    raise TypeError(f"results[{i}]: expected CARevocationResult, got {type(r).__name__}")
                code = r.error_code.value if isinstance(r.error_code, CARequestErrorCode) else r.error_code
                _require_str(f"results[{i}].request_context", r.request_context)
                _require_str(f"results[{i}].error_code", code)
                _require_str(f"results[{i}].error_message", r.error_message, optional=True)
                _call(_native.intune_scep_revocation_results_add, native, r.request_context,
                      1 if r.succeeded else 0, code, r.error_message)
            self._run(_native.intune_scep_upload_revocation_results, native, transaction_id=transaction_id)
        finally:
            _native.intune_scep_revocation_results_free(native)

    download_ca_requests = DownloadCARequests
    upload_revocation_results = UploadRevocationResults


@dataclass(frozen=True)
class CertificateDetails:
    """The four success-notification fields of an issued certificate."""

    #: SHA-1 of the certificate's DER, 40 upper-case hex digits.
    thumbprint: str
    #: The serial number in upper-case hex, without leading zeros.
    serial_number: str
    #: notAfter, ISO 8601 UTC with milliseconds, e.g. ``2027-06-11T16:11:20.000Z``.
    expiration_date: str
    #: The issuer's distinguished name (RFC 4514), e.g. ``CN=Contoso Issuing CA,O=Contoso``.
    issuing_authority: str


def certificate_details(cert_bytes: Binary) -> CertificateDetails:
    """Derive the success-notification fields from a certificate (PEM or DER).

    Raises:
        ValueError: the data is not a certificate.
        TypeError: neither bytes nor str.
    """
    data = _cert_arg("cert_bytes", cert_bytes)
    details = _call(_native.intune_scep_cert_details_from_cert_ret, data)
    try:
        return CertificateDetails(
            thumbprint=_native.intune_scep_cert_details_thumbprint(details),
            serial_number=_native.intune_scep_cert_details_serial_number(details),
            expiration_date=_native.intune_scep_cert_details_expiration_date(details),
            issuing_authority=_native.intune_scep_cert_details_issuing_authority(details),
        )
    finally:
        _native.intune_scep_cert_details_free(details)


def normalize_csr(data: Binary) -> str:
    """A certificate request (PEM, DER, or base64 with or without line breaks) as
    the one-line base64 DER the SCEP calls take, after checking it parses as PKCS#10.

    Raises:
        ValueError: the data is not a certificate request.
        TypeError: neither bytes nor str.
    """
    der = None if isinstance(data, (bytes, bytearray, memoryview, str)) else _der_of(data)
    return str(_call(_native.intune_scep_csr_to_base64_der_ret, der if der is not None else _require_binary("data", data)))
