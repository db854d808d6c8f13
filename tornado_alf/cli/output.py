"""What the command line prints: a token's description, a response, an error line."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
from typing import Any, BinaryIO, Callable, Optional, TextIO

from tornado.httpclient import HTTPResponse

from .. import Token
from ..errors import TokenError
from ..retry import NETWORK_FAILURE

PROG = "tornado-alf"


def token_fields(token_endpoint: str, token: Token, show_token: bool) -> dict[str, Any]:
    """What ``tornado-alf token`` reports, as a dict; the token itself only if asked."""
    fields: dict[str, Any] = {
        "token_endpoint": token_endpoint,
        "token_type": token.token_type,
        "scope": token.scope,
        "expires_in": token.expires_in,
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
    }
    if show_token:
        fields["access_token"] = token.access_token
    return fields


def token_json(token_endpoint: str, token: Token, show_token: bool) -> str:
    """`token_fields` as one line of JSON (times in epoch seconds)."""
    return json.dumps(token_fields(token_endpoint, token, show_token))


def token_text(token_endpoint: str, token: Token, show_token: bool) -> str:
    """`token_fields` as aligned lines for people (times in UTC)."""
    lifetime = "not given" if token.expires_in is None else f"{token.expires_in:g} s"
    rows = [
        ("token endpoint", token_endpoint),
        ("token type", token.token_type),
        ("scope", token.scope or "(none given)"),
        ("lifetime", lifetime),
        ("expires at", _utc(token.expires_at)),
        ("access token", token.access_token if show_token else "(hidden; --show-token prints it)"),
    ]
    return "".join(f"{name + ':':<16}{value}\n" for name, value in rows)


def write_response(stream: BinaryIO, response: HTTPResponse, include_headers: bool) -> None:
    """The response body to ``stream``, after the status line and headers with ``-i``."""
    if include_headers:
        lines = [f"HTTP/1.1 {response.code} {response.reason}"]
        lines += [f"{name}: {value}" for name, value in response.headers.get_all()]
        stream.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace"))
    stream.write(response.body or b"")
    stream.flush()


def token_error_line(error: TokenError) -> str:
    """One line for a `TokenError`: the OAuth error code and description when sent."""
    if error.code == NETWORK_FAILURE:
        return error.message or "could not reach the token endpoint"
    if error.error:
        whom = "the client" if error.error in ("invalid_client", "unauthorized_client") else "the request"
        line = f"token endpoint refused {whom}: {error.error}"
        return line + (f" ({error.error_description})" if error.error_description else "")
    return f"{error.message} (HTTP {error.code})"


def error_line(message: str) -> str:
    """``tornado-alf: <message>``, on one line."""
    return f"{PROG}: {' '.join(message.split())}\n"


def _utc(epoch: Optional[float]) -> str:
    if epoch is None:
        return "not given"
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class WarningLines(logging.Handler):
    """The library's WARNINGs as ``tornado-alf: warning: ...`` lines, through ``mask``."""

    def __init__(self, stream: TextIO, mask: Callable[[str], str]) -> None:
        super().__init__(logging.WARNING)
        self.stream = stream
        self.mask = mask

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` as one line; a closed stderr does not stop the run."""
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(self.mask(error_line(f"warning: {record.getMessage()}")))
