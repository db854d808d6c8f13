"""Where a credential comes from: a value, a callable, or a file that may change under us.

A `Source` is read when a token request is about to be made, never on a warm request:
a value costs nothing, a callable is called (sync or async), a `FileSecret` costs one
``os.stat`` and is read again only when the file changed. Failures become `TokenError`
naming the source (its path or the callable's qualified name), never its content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import json
import os
import time
from collections.abc import Awaitable
from typing import Any, Callable, Optional, Union

from .errors import TokenError
from .retry import NETWORK_FAILURE

__all__ = ["Credential", "FileSecret", "Source", "jwt_claims", "source_of"]


class FileSecret:
    """A credential kept in a file, read again whenever the file changes.

    For a secret, private key, certificate or assertion that something else rotates
    on disk: a Kubernetes secret or projected service-account token, Azure's
    ``AZURE_FEDERATED_TOKEN_FILE``, a Vault agent template. The client looks at the
    file (one ``os.stat``) only when it is about to ask for a token, and reads it
    again when its modification time, size or inode changed, or when the server
    answered ``invalid_client`` (the rotation race). Leading and trailing whitespace
    is stripped (a trailing newline is how editors and ``echo`` end a file).

    ``repr()`` shows the path, never the content.

    :arg path: the file's path (str or `os.PathLike`).

    .. versionadded:: 2.0
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        self.path = os.fspath(path)
        if not isinstance(self.path, str) or not self.path:
            raise ValueError("FileSecret path must be a non-empty path")

    def __repr__(self) -> str:
        return f"<FileSecret {self.path}>"


#: An assertion this close to its ``exp`` counts as expired: it must still be valid when it
#: arrives. Servers allow their own leeway for clock skew (Authlib 60 s, Entra ID 5 min).
EXPIRY_SKEW = 1.0

#: What a source gives: text (a secret, a PEM, a JWT) or bytes (a PEM).
Value = Union[str, bytes]
#: A credential as `TornadoClient` takes it: the value, a callable (sync or async) returning it, or a file.
Credential = Union[str, bytes, FileSecret, Callable[[], Union[str, bytes, Awaitable[Union[str, bytes]]]]]


class Source:
    """Reads one credential (named ``argument`` in messages) from a value, a callable or a file.

    `read` returns the current value and whether it changed since the last read.
    """

    def __init__(self, given: Any, argument: str) -> None:
        self.argument = argument
        self._given = given
        self._value: Optional[Value] = given if isinstance(given, (str, bytes)) else None
        self._stat: Optional[tuple[int, int, int]] = None

    @property
    def rotates(self) -> bool:
        """Whether the value may change: a callable or a file."""
        return not isinstance(self._given, (str, bytes))

    @property
    def name(self) -> str:
        """The source as messages name it: the path, the callable's qualified name, or ``value``."""
        if isinstance(self._given, FileSecret):
            return f"file {self._given.path}"
        if callable(self._given):
            return f"callable {getattr(self._given, '__qualname__', type(self._given).__qualname__)}"
        return "value"

    @property
    def identity(self) -> object:
        """What tells this source from another: its value, its path, or its callable (hash it; never show it)."""
        if isinstance(self._given, FileSecret):
            return ("file", self._given.path)
        return self._given if isinstance(self._given, (str, bytes)) else ("callable", id(self._given))

    async def read(self, force: bool = False) -> tuple[Value, bool]:
        """``(value, changed)``; ``force`` reads a file even when its stat did not change.

        :raises TokenError: (599) when the file cannot be read, the callable raises or
            returns something else than a non-empty str or bytes.
        """
        previous = self._value
        if isinstance(self._given, FileSecret):
            value = self._read_file(self._given.path, force)
        elif callable(self._given):
            value = await self._call()
        else:
            return self._given, False
        self._value = value
        return value, value != previous

    def _read_file(self, path: str, force: bool) -> Value:
        try:
            stat = os.stat(path)
            seen = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if not force and seen == self._stat and self._value is not None:
                return self._value
            # A credential file is a few KB on a local or tmpfs mount, read once per change:
            # inline, as Tornado's ssl options read certificate files.
            with open(path, "rb") as file:
                data = file.read()
        except OSError as exc:
            raise self._failure(f"cannot be read ({type(exc).__name__}: {exc.strerror})") from None
        self._stat = seen
        try:
            text = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise self._failure("is not UTF-8 text") from None
        if not text:
            raise self._failure("is empty")
        return text

    async def _call(self) -> Value:
        function: Callable[[], Any] = self._given
        try:
            value = function()
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:  # whatever user code raises: its type is named, its text (may quote the secret) not
            raise self._failure(f"raised {type(exc).__name__}") from None
        if isinstance(value, (str, bytes)):
            value = value.strip()
        else:
            raise self._failure(f"returned {type(value).__name__}, not str or bytes")
        if not value:
            raise self._failure("returned an empty value")
        return value

    def _failure(self, what: str) -> TokenError:
        # The exception's text is left out for callables: user code may quote the secret in it.
        return TokenError(NETWORK_FAILURE, f"{self.argument} from {self.name} {what}; no token request was sent")

    def __repr__(self) -> str:
        return f"<Source {self.argument} from {self.name}>"


def source_of(given: Any, argument: str) -> Optional[Source]:
    """``given`` (a value, a callable or a `FileSecret`) as a `Source`; ``None`` stays ``None``.

    :raises TypeError: naming ``argument`` for anything else.
    """
    if given is None:
        return None
    if isinstance(given, (str, bytes, FileSecret)) or callable(given):
        return Source(given, argument)
    raise TypeError(f"{argument} must be a str, bytes, a callable returning one, or a tornado_alf.FileSecret")


def text(value: Value) -> str:
    """A source's value as text (a PEM or secret given as bytes is UTF-8)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWS, decoded WITHOUT verifying it (the server verifies).

    Only to learn when our own assertion expires and whom it names.

    :raises ValueError: when ``token`` is not a compact JWS with a JSON object payload.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT (three dot-separated parts)")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError, RecursionError):
        raise ValueError("the JWT payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("the JWT payload is not a JSON object")
    return claims


def expired(claims: dict[str, Any], skew: float = EXPIRY_SKEW, clock: Callable[[], float] = time.time) -> bool:
    """Whether ``exp`` is past (less than ``skew`` seconds ahead); no ``exp`` never expires."""
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return False
    return exp <= clock() + skew


def assertion_fingerprint(kind: str, claims: dict[str, Any]) -> str:
    """Names the identity an assertion speaks for (issuer, subject, audience), stable across renewals.

    A platform renews its token every few minutes for the same workload: the store
    key must not change with each renewal, only with the identity.
    """
    identity = json.dumps([claims.get("iss"), claims.get("sub"), claims.get("aud")], sort_keys=True, default=str)
    return f"{kind}:" + hashlib.sha256(identity.encode()).hexdigest()


class CredentialChanged(TokenError):
    """The token endpoint refused a credential that has changed since it was sent: try once more.

    Raised by the token endpoint after ``invalid_client`` (or ``invalid_grant``) when
    reading the sources again gave new values; the token manager then starts the
    acquisition over once (new store key, new request). Uncaught, it is the
    `TokenError` it copies.
    """

    def __init__(self, refused: TokenError) -> None:
        super().__init__(
            refused.code, refused.message or "", refused.response, error=refused.error,
            error_description=refused.error_description, error_uri=refused.error_uri,
        )
