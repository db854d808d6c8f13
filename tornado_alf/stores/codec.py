"""Keys and values for shared token stores: what is written where, and read back safely."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Union

from .._token import Token
from .._token_response import valid_access_token
from ..auth.base import FormFields


def token_key_digest(token_endpoint: str, client_id: str, fields: FormFields, binding: str = "") -> str:
    """A stable digest naming one token: endpoint, client id, scope and extra params.

    ``binding`` names the DPoP key and client certificate a token is bound to (their
    public thumbprints), so that such a token is only read back by a client that holds
    them. It never involves the client secret, so the key reveals nothing about it.
    """
    parts: list[object] = [token_endpoint, client_id, sorted(fields)]
    if binding:
        parts.append(binding)
    identity = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(identity.encode()).hexdigest()


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
