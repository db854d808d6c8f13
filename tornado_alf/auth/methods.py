"""How the client proves its identity to the token endpoint (RFC 6749 sec. 2.3).

The method names are those of the IANA "OAuth Token Endpoint Authentication Methods"
registry, as servers list them in ``token_endpoint_auth_methods_supported``.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from collections.abc import Mapping
from typing import Any, Optional, Protocol, Union

FormFields = list[tuple[str, str]]

SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")
AUTH_METHODS = (*SECRET_METHODS, "private_key_jwt", "tls_client_auth", "none")
BASIC_AUTH_ENCODINGS = ("form", "raw")


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


def _form_encode(value: str) -> str:
    # RFC 6749 sec. 2.3.1 asks for application/x-www-form-urlencoded; spelling a
    # space %20 rather than "+" reads the same under form and plain URL decoding.
    return urllib.parse.quote(value, safe="")


def secret_fingerprint(secret: str) -> str:
    """A digest naming ``secret`` inside a store key's identity, which `token_key_digest` stretches."""
    return "secret:" + hashlib.sha256(b"tornado-alf client secret\0" + secret.encode()).hexdigest()


def spellings(secret: str) -> tuple[str, ...]:
    """``secret`` as given, and as the form encodings (quote and quote_plus) would send it."""
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
        self.hidden = (*spellings(client_secret), credentials)
        self.fingerprint = secret_fingerprint(client_secret)

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send the credentials as the ``Authorization`` header."""
        headers["Authorization"] = self._header

    def __repr__(self) -> str:
        return "<ClientSecretBasic>"


class ClientSecretPost:
    """``client_id`` and ``client_secret`` in the form body (RFC 6749 sec. 2.3.1)."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self._fields = [("client_id", client_id), ("client_secret", client_secret)]
        self.hidden = spellings(client_secret)
        self.fingerprint = secret_fingerprint(client_secret)

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send the credentials as form fields."""
        form.extend(self._fields)

    def __repr__(self) -> str:
        return "<ClientSecretPost>"


class ClientIdOnly:
    """Only ``client_id`` in the form body.

    For ``none`` (a public client, RFC 6749 sec. 2.1) and ``tls_client_auth`` (RFC 8705
    sec. 2, where the client certificate presented in the TLS handshake is the proof).
    """

    hidden: tuple[str, ...] = ()  # nothing secret is sent
    fingerprint = ""  # tls_client_auth: the certificate is named from http_options

    def __init__(self, client_id: str, auth_method: str) -> None:
        self._client_id = client_id
        self._method = auth_method

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send the client id as a form field."""
        form.append(("client_id", self._client_id))

    def __repr__(self) -> str:
        return f"<ClientIdOnly {self._method}>"


def client_authentication(
    auth_method: str,
    client_id: str,
    client_secret: Optional[str],
    basic_auth_encoding: str = "form",
    *,
    token_endpoint: str = "",
    private_key: Union[str, bytes, Mapping[str, Any], None] = None,
    private_key_id: Optional[str] = None,
    assertion_audience: Optional[str] = None,
    signing_alg: Optional[str] = None,
    http_options: Optional[Mapping[str, Any]] = None,
) -> ClientAuthentication:
    """Build the strategy named by ``auth_method``; ``ValueError`` naming a bad argument.

    ``private_key``, ``private_key_id``, ``assertion_audience`` and ``signing_alg``
    serve the JWT methods only; ``assertion_audience`` defaults to ``token_endpoint``.
    """
    if basic_auth_encoding not in BASIC_AUTH_ENCODINGS:
        raise ValueError(
            f"basic_auth_encoding must be one of {BASIC_AUTH_ENCODINGS}, not {basic_auth_encoding!r}"
        )
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"auth_method must be one of {AUTH_METHODS}, not {auth_method!r}")
    _check_unused(auth_method, private_key=private_key, private_key_id=private_key_id,
                  assertion_audience=assertion_audience, signing_alg=signing_alg)
    if auth_method in SECRET_METHODS and not isinstance(client_secret, str):
        raise ValueError(f"client_secret must be a string for auth_method={auth_method!r}")
    audience = assertion_audience if assertion_audience is not None else token_endpoint
    if auth_method == "client_secret_basic":
        return ClientSecretBasic(client_id, client_secret or "", basic_auth_encoding)
    if auth_method == "client_secret_post":
        return ClientSecretPost(client_id, client_secret or "")
    if auth_method in JWT_METHODS:
        return _jwt_assertion(
            auth_method, client_id, client_secret or "", audience, private_key, private_key_id, signing_alg
        )
    if auth_method == "tls_client_auth" and not (http_options or {}).get("client_cert"):
        raise ValueError(
            "auth_method='tls_client_auth' needs http_options with client_cert (and client_key)"
        )
    return ClientIdOnly(client_id, auth_method)


def _check_unused(auth_method: str, **jwt_arguments: object) -> None:
    if auth_method in JWT_METHODS:
        for name in ("private_key", "private_key_id"):
            if auth_method == "client_secret_jwt" and jwt_arguments[name] is not None:
                raise ValueError(f"{name} is for auth_method='private_key_jwt', not 'client_secret_jwt'")
        return
    for name, value in jwt_arguments.items():
        if value is not None:
            raise ValueError(f"{name} is only used with auth_method {JWT_METHODS}, not {auth_method!r}")


def _jwt_assertion(
    auth_method: str,
    client_id: str,
    client_secret: str,
    audience: str,
    private_key: Union[str, bytes, Mapping[str, Any], None],
    private_key_id: Optional[str],
    signing_alg: Optional[str],
) -> ClientAuthentication:
    """A JWT assertion strategy; an `ImportError` naming the extra when joserfc is missing."""
    try:
        from .jwt import client_secret_jwt, private_key_jwt
    except ImportError as exc:
        if exc.name is None or exc.name.split(".")[0] not in ("joserfc", "cryptography"):
            raise
        raise ImportError(
            f"auth_method={auth_method!r} signs JWTs with joserfc, which is missing: "
            "pip install 'tornado-alf[jwt]'"
        ) from exc
    if auth_method == "client_secret_jwt":
        return client_secret_jwt(client_id, client_secret, audience, signing_alg)
    return private_key_jwt(client_id, private_key, audience, signing_alg, private_key_id)
