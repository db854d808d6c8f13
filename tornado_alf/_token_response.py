"""Reading the token endpoint's answer (RFC 6749 sec. 5.1 and 5.2): untrusted input, one place."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from typing import Any, Optional

from tornado.httpclient import HTTPResponse

from ._redact import redacted
from ._token import Token
from .errors import TokenError
from .retry import NETWORK_FAILURE

# RFC 6749 appendix A.12: access-token = 1*VSCHAR. Anything else could split the
# Authorization header we build from it.
_VSCHARS = re.compile(r"[\x20-\x7e]+")


def valid_access_token(value: object) -> str:
    """``value`` if it is a non-empty string of RFC 6749 VSCHARs, else `ValueError`.

    A space at either end is refused too: an HTTP field value cannot end with
    one (Tornado raises, quoting the header), and after ``Bearer`` a leading
    one is read as part of the separator, so the resource would see another token.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("access_token is missing or not a non-empty string")
    if not _VSCHARS.fullmatch(value):
        raise ValueError("access_token has characters outside RFC 6749 VSCHAR")
    if value[0] == " " or value[-1] == " ":
        raise ValueError("access_token starts or ends with a space, which a Bearer header cannot carry")
    return value


def parse_expires_in(value: object) -> Optional[float]:
    """Seconds of life from ``expires_in``: a finite number >= 0 or a numeric string.

    ``None`` (absent) stays ``None``. Booleans, negative, non-finite and non-numeric
    values raise `ValueError`.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expires_in must be a number, not {type(value).__name__}")
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise ValueError("expires_in is not a number") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("expires_in must be a finite number >= 0")
    return seconds


def parse_token_response(
    response: HTTPResponse,
    issued_at: float,
    endpoint: str,
    hide: Collection[str] = (),
    token_types: Collection[str] = ("bearer",),
) -> Token:
    """The `Token` in a token endpoint response, or `TokenError` saying what was wrong.

    :arg response: the endpoint's answer (any status; 599 for a network failure).
    :arg float issued_at: wall-clock time the request was sent, the token's birth.
    :arg str endpoint: how to name the endpoint in messages (its host).
    :arg hide: the client's credentials in every spelling sent; should the endpoint
        quote one back (in an error field, a ``Location``), it reads ``[hidden]``.
    :arg token_types: the ``token_type`` values the client can use, lower-cased:
        ``bearer``, and ``dpop`` for a client with a DPoP key (RFC 9449 sec. 5).
    """
    code = response.code
    if code == NETWORK_FAILURE:
        detail = redacted(str(response.error), hide)
        raise TokenError(NETWORK_FAILURE, f"could not reach the token endpoint {endpoint}: {detail}")
    if 300 <= code < 400:
        location = redacted(response.headers.get("Location", "nowhere"), hide)
        raise TokenError(
            code,
            f"token endpoint {endpoint} redirected to {location}; a redirected POST loses its "
            "body, so configure the final token endpoint URL",
            response,
        )
    if not 200 <= code < 300:
        raise _error_response(response, endpoint, hide)
    document = _json_object(response, endpoint)
    try:
        return _token_from(document, issued_at, token_types)
    except ValueError as exc:  # the messages name fields and types, never values
        raise TokenError(code, f"unusable token response from {endpoint}: {exc}", response) from None


_TOKEN_TYPES = {"bearer": "Bearer", "dpop": "DPoP"}


def _token_from(document: dict[str, Any], issued_at: float, token_types: Collection[str]) -> Token:
    access_token = valid_access_token(document.get("access_token"))
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() not in token_types:
        raise ValueError("token_type is not " + " or ".join(_TOKEN_TYPES[t] for t in token_types))
    scope = document.get("scope")
    return Token(
        access_token=access_token,
        token_type=_TOKEN_TYPES[token_type.lower()],
        expires_in=parse_expires_in(document.get("expires_in")),
        scope=scope if isinstance(scope, str) else None,
        issued_at=issued_at,
    )


def _json_object(response: HTTPResponse, endpoint: str) -> dict[str, Any]:
    try:
        document = json.loads(response.body or b"")
    except (ValueError, RecursionError):
        raise TokenError(
            response.code, f"token response from {endpoint} is not JSON", response
        ) from None
    if not isinstance(document, dict):
        raise TokenError(
            response.code, f"token response from {endpoint} is not a JSON object", response
        )
    return document


# Statuses meaning "no such resource here" rather than "not you": a wrong URL, usually.
_NOT_THE_ENDPOINT = (404, 405)


def _error_response(response: HTTPResponse, endpoint: str, hide: Collection[str]) -> TokenError:
    """A `TokenError` for a non-2xx answer, with RFC 6749 sec. 5.2 fields when present."""
    try:
        document = json.loads(response.body or b"")
    except (ValueError, RecursionError):
        document = None
    fields: dict[str, Optional[str]] = {}
    if isinstance(document, dict):
        for name in ("error", "error_description", "error_uri"):
            value = document.get(name)
            fields[name] = redacted(value, hide) if isinstance(value, str) else None
    message = f"token endpoint {endpoint} refused the request"
    if response.code in _NOT_THE_ENDPOINT:
        message += f"; {response.code} says the URL may not be the token endpoint (check its path)"
    return TokenError(
        response.code,
        message,
        response,
        error=fields.get("error"),
        error_description=fields.get("error_description"),
        error_uri=fields.get("error_uri"),
    )
