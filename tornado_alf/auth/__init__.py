"""Client authentication at the token endpoint (RFC 6749 sec. 2.3, RFC 7523, RFC 8705).

`client_authentication` picks the strategy an auth method names: `plain` holds the
ones that send credentials as they are, `jwt` the ones that sign an assertion (and
need joserfc, so it is imported only when chosen). Neither imports the other; what
they share is in `base`. The arguments arrive checked (`tornado_alf._arguments`).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union, cast

from .._sources import Source, Value, text
from .base import (
    AUTH_METHODS,
    BASIC_AUTH_ENCODINGS,
    JWT_METHODS,
    KEY_ALGS,
    SECRET_ALGS,
    SECRET_METHODS,
    ClientAuthentication,
    FormFields,
    PrivateKey,
    spellings,
)
from .plain import ClientIdOnly, ClientSecretBasic, ClientSecretPost
from .rotating import ClientAssertion, RotatingAuthentication

__all__ = [
    "AUTH_METHODS",
    "BASIC_AUTH_ENCODINGS",
    "JWT_METHODS",
    "KEY_ALGS",
    "SECRET_ALGS",
    "SECRET_METHODS",
    "ClientAuthentication",
    "FormFields",
    "PrivateKey",
    "client_authentication",
    "credential_methods",
    "rotating_authentication",
    "spellings",
]


def credential_methods(client_secret: object, private_key: object, client_cert: object) -> tuple[str, ...]:
    """The auth methods the given credentials allow, best first.

    ``private_key_jwt`` with a private key; else the secret-based methods with a secret;
    else ``tls_client_auth`` with a client certificate; else ``none``.
    """
    if private_key is not None:
        return ("private_key_jwt",)
    if client_secret:
        return SECRET_METHODS
    if client_cert:
        return ("tls_client_auth",)
    return ("none",)


def client_authentication(
    auth_method: str,
    client_id: str,
    client_secret: Optional[str],
    basic_auth_encoding: str = "form",
    *,
    assertion_audience: str = "",
    private_key: Optional[PrivateKey] = None,
    private_key_id: Optional[str] = None,
    signing_alg: Optional[str] = None,
    client_certificate: Union[str, bytes, None] = None,
) -> ClientAuthentication:
    """The strategy named by ``auth_method`` (one of `AUTH_METHODS`), for checked arguments.

    ``assertion_audience``, ``private_key``, ``private_key_id``, ``signing_alg`` and
    ``client_certificate`` serve the JWT methods only.

    :raises ImportError: naming the ``tornado-alf[jwt]`` extra when a JWT method is
        chosen and joserfc is missing.
    :raises ValueError: for a private key or algorithm that cannot sign.
    """
    if auth_method == "client_secret_basic":
        return ClientSecretBasic(client_id, client_secret or "", basic_auth_encoding)
    if auth_method == "client_secret_post":
        return ClientSecretPost(client_id, client_secret or "")
    if auth_method not in JWT_METHODS:
        return ClientIdOnly(client_id, auth_method)
    client_secret_jwt, private_key_jwt = _signing(auth_method)
    if auth_method == "client_secret_jwt":
        return client_secret_jwt(client_id, client_secret or "", assertion_audience, signing_alg)
    # _arguments.check_auth refuses a missing or malformed private_key before this.
    key = cast(PrivateKey, private_key)
    return private_key_jwt(client_id, key, assertion_audience, signing_alg, private_key_id, client_certificate)


def _signing(auth_method: str = "private_key_jwt") -> tuple[Callable[..., ClientAuthentication], ...]:
    """``(client_secret_jwt, private_key_jwt)`` of `tornado_alf.auth.jwt`, imported on first use."""
    try:
        from .jwt import client_secret_jwt, private_key_jwt
    except ImportError as exc:
        if exc.name is None or exc.name.split(".")[0] not in ("joserfc", "cryptography"):
            raise
        raise ImportError(
            f"auth_method={auth_method!r} signs JWTs with joserfc, which is missing: "
            "pip install 'tornado-alf[jwt]'"
        ) from exc
    return client_secret_jwt, private_key_jwt


def rotating_authentication(
    auth_method: str,
    client_id: str,
    sources: dict[str, Source],
    basic_auth_encoding: str = "form",
    **jwt_arguments: Any,
) -> ClientAuthentication:
    """Client authentication that reads its credentials from ``sources`` per token request.

    ``sources`` maps ``client_secret``, ``private_key``, ``client_certificate`` or
    ``client_assertion`` to where each is read from; static values stay in
    ``jwt_arguments``. The result has a ``refresh`` coroutine (see
    `tornado_alf.auth.rotating`).
    """
    if "client_assertion" in sources:
        return ClientAssertion(client_id, sources["client_assertion"])
    if auth_method in JWT_METHODS:
        _signing(auth_method)  # a missing joserfc fails at construction, not at the first token request

    def build(values: dict[str, Value]) -> ClientAuthentication:
        secret = values.get("client_secret")
        return client_authentication(
            auth_method, client_id, None if secret is None else text(secret), basic_auth_encoding,
            **{**jwt_arguments, **{name: value for name, value in values.items() if name != "client_secret"}},
        )

    return RotatingAuthentication(sources, build)
