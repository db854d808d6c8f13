"""What every client authentication has in common: the method names, the protocol, the secret's spellings.

The method names are those of the IANA "OAuth Token Endpoint Authentication Methods"
registry, as servers list them in ``token_endpoint_auth_methods_supported``.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Mapping
from typing import Any, Protocol, Union

FormFields = list[tuple[str, str]]
#: A ``private_key_jwt`` key: PEM text or bytes, or a JWK as a mapping.
PrivateKey = Union[str, bytes, Mapping[str, Any]]

SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")
AUTH_METHODS = (*SECRET_METHODS, "private_key_jwt", "tls_client_auth", "none")
BASIC_AUTH_ENCODINGS = ("form", "raw")
#: JWS algorithms of ``client_secret_jwt`` and of ``private_key_jwt`` assertions.
SECRET_ALGS = ("HS256",)
KEY_ALGS = ("RS256", "PS256", "ES256")


class ClientAuthentication(Protocol):
    """Adds credentials to one token request; called once per request.

    ``hidden`` lists every spelling of the secret the latest request carried (the
    secret, its encodings, the Basic credentials, the JWT assertion), for blanking
    out of errors should the endpoint quote it back.
    """

    @property
    def hidden(self) -> tuple[str, ...]:
        """Every spelling of the secret the latest request carried."""

    @property
    def fingerprint(self) -> str:
        """Names the credential for store keys (a digest, never the secret); never logged."""

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Add the credentials to ``form`` or ``headers`` of one token request."""


def form_encode(value: str) -> str:
    """``value`` as RFC 6749 sec. 2.3.1 sends it: every character outside ``A-Za-z0-9-._~`` escaped."""
    # application/x-www-form-urlencoded, with a space spelled %20 rather than "+":
    # it reads the same under form and plain URL decoding.
    return urllib.parse.quote(value, safe="")


def secret_fingerprint(secret: str) -> str:
    """A digest naming ``secret`` inside a store key's identity, which `token_key_digest` stretches."""
    return "secret:" + hashlib.sha256(b"tornado-alf client secret\0" + secret.encode()).hexdigest()


def spellings(secret: str) -> tuple[str, ...]:
    """``secret`` as given, and as the form encodings (quote and quote_plus) would send it."""
    found = {secret, form_encode(secret), urllib.parse.quote_plus(secret)}
    return tuple(spelling for spelling in found if spelling)
