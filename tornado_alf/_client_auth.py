"""How the client proves its identity to the token endpoint (RFC 6749 sec. 2.3)."""

from __future__ import annotations

import base64
import urllib.parse
from typing import Protocol

FormFields = list[tuple[str, str]]

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
BASIC_AUTH_ENCODINGS = ("form", "raw")


class ClientAuthentication(Protocol):
    """Adds credentials to one token request; called once per request.

    ``hidden`` lists every spelling of the secret the request carries, for
    blanking out of errors should the endpoint quote it back.
    """

    hidden: tuple[str, ...]

    def apply(self, form: FormFields, headers: dict[str, str]) -> None: ...


def _form_encode(value: str) -> str:
    # RFC 6749 sec. 2.3.1 asks for application/x-www-form-urlencoded; spelling a
    # space %20 rather than "+" reads the same under form and plain URL decoding.
    return urllib.parse.quote(value, safe="")


def _spellings(secret: str) -> tuple[str, ...]:
    # As given, and as the form encodings (quote and quote_plus) would send it.
    found = {secret, _form_encode(secret), urllib.parse.quote_plus(secret)}
    return tuple(spelling for spelling in found if spelling)


class ClientSecretBasic:
    """HTTP Basic with the percent-encoded id and secret (RFC 6749 sec. 2.3.1)."""

    def __init__(self, client_id: str, client_secret: str, encoding: str = "form") -> None:
        if encoding == "form":
            user, password = _form_encode(client_id), _form_encode(client_secret)
        else:
            user, password = client_id, client_secret
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._header = "Basic " + credentials
        self.hidden = (*_spellings(client_secret), credentials)

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        headers["Authorization"] = self._header

    def __repr__(self) -> str:
        return "<ClientSecretBasic>"


class ClientSecretPost:
    """``client_id`` and ``client_secret`` in the form body (RFC 6749 sec. 2.3.1)."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self._fields = [("client_id", client_id), ("client_secret", client_secret)]
        self.hidden = _spellings(client_secret)

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        form.extend(self._fields)

    def __repr__(self) -> str:
        return "<ClientSecretPost>"


def client_authentication(
    auth_method: str, client_id: str, client_secret: str, basic_auth_encoding: str
) -> ClientAuthentication:
    """Build the strategy named by ``auth_method``; ``ValueError`` for an unknown one."""
    if basic_auth_encoding not in BASIC_AUTH_ENCODINGS:
        raise ValueError(
            f"basic_auth_encoding must be one of {BASIC_AUTH_ENCODINGS}, not {basic_auth_encoding!r}"
        )
    if auth_method == "client_secret_basic":
        return ClientSecretBasic(client_id, client_secret, basic_auth_encoding)
    if auth_method == "client_secret_post":
        return ClientSecretPost(client_id, client_secret)
    raise ValueError(f"auth_method must be one of {AUTH_METHODS}, not {auth_method!r}")
