"""Keys and values for shared token stores: what is written where, and read back safely."""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Optional, Union

from tornado.httputil import HTTPHeaders

from .._token import Token
from .._token_response import valid_access_token
from ..auth.base import FormFields

#: PBKDF2-HMAC-SHA256 rounds that stretch a key's identity: a guess at a secret costs this much.
KEY_ROUNDS = 100_000

#: Salt of every key digest; the ``v2`` marks the credential-scoped keys of 2.0.
_KEY_SALT = b"tornado-alf token key v2"


def token_key_digest(
    token_endpoint: str,
    client_id: str,
    fields: FormFields,
    *,
    auth_method: str,
    fingerprint: str,
    http_options: Optional[Mapping[str, Any]] = None,
    binding: str = "",
) -> str:
    """A digest naming one token: whose, from where, for what, asked how, bound to what (64 hex digits).

    It covers the token endpoint, client id, auth method, the credential's
    ``fingerprint`` (see `ClientAuthentication.fingerprint`), the form fields
    (scope, params) and what ``http_options`` adds to the token request
    (headers, client certificate), so clients that would get different tokens
    never share one. The identity is stretched with PBKDF2 (`KEY_ROUNDS`): the
    key never holds a secret, and testing a guessed secret against it costs as
    much as a password check. ``binding`` names the DPoP key and the certificate shown to
    resources a token is bound to (their public thumbprints, RFC 9449 ``jkt`` and RFC 8705
    ``x5t#S256``): such a token is read back only by a client holding them.
    """
    parts: list[Any] = [token_endpoint, client_id, auth_method, fingerprint, sorted(fields),
                        _request_identity(http_options)]
    if binding:
        parts.append(binding)
    identity = json.dumps(parts, separators=(",", ":"))
    return _stretched(identity)


@functools.lru_cache(maxsize=64)
def _stretched(identity: str) -> str:
    # The identity holds digests of secrets, never a secret: keeping it cached is safe.
    return hashlib.pbkdf2_hmac("sha256", identity.encode(), _KEY_SALT, KEY_ROUNDS).hex()


def _request_identity(http_options: Optional[Mapping[str, Any]]) -> list[Any]:
    """The token request's headers (names folded) and client certificate, as JSON-ready values."""
    options = http_options or {}
    headers = options.get("headers") or {}
    pairs = headers.get_all() if isinstance(headers, HTTPHeaders) else headers.items()
    folded = sorted((str(name).lower(), str(value)) for name, value in pairs)
    return [folded, _file_digest(options.get("client_cert")), _file_digest(options.get("client_key"))]


def _file_digest(path: object) -> Optional[str]:
    """A digest of the certificate or key file at ``path`` (of the path itself when unreadable)."""
    if path is None:
        return None
    try:
        with open(str(path), "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return "path:" + hashlib.sha256(str(path).encode()).hexdigest()


def encode_token(token: Token) -> str:
    """The JSON a store keeps for ``token``; ``expires_at`` is wall-clock epoch seconds."""
    return json.dumps(
        {
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "issued_at": token.issued_at,
            "scope": token.scope,
        },
        separators=(",", ":"),
    )


def decode_token(raw: Union[str, bytes]) -> Token:
    """The token in a stored value; `ValueError` for anything that is not one."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("stored value is not JSON") from None
    if not isinstance(value, dict):
        raise ValueError("stored value is not a JSON object")
    access_token = valid_access_token(value.get("access_token"))
    issued_at = _finite(value.get("issued_at"), "issued_at")
    expires_at = value.get("expires_at")
    expires_in = None if expires_at is None else _finite(expires_at, "expires_at") - issued_at
    if expires_in is not None and not 0 <= expires_in < math.inf:  # inf: huge values of opposite signs
        raise ValueError("stored expires_at is before issued_at or out of range")
    scope = value.get("scope")
    token_type = value.get("token_type")
    if token_type not in ("Bearer", "DPoP") or not (scope is None or isinstance(scope, str)):
        raise ValueError("stored token_type or scope is unusable")
    return Token(access_token, token_type, expires_in, scope, issued_at)


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"stored {name} is not a finite number")
    return float(value)
