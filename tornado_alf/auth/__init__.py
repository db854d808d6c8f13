"""Client authentication at the token endpoint (RFC 6749 sec. 2.3, RFC 7523, RFC 8705).

`client_authentication` picks the strategy an auth method names: `plain` holds the
ones that send credentials as they are, `jwt` the ones that sign an assertion (and
need joserfc, so it is imported only when chosen). Neither imports the other; what
they share is in `base`. The arguments arrive checked (`tornado_alf._arguments`).
"""

from __future__ import annotations

from typing import Optional, cast

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
    "spellings",
]


def credential_methods(client_secret: Optional[str], private_key: object, client_cert: object) -> tuple[str, ...]:
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
) -> ClientAuthentication:
    """The strategy named by ``auth_method`` (one of `AUTH_METHODS`), for checked arguments.

    ``assertion_audience``, ``private_key``, ``private_key_id`` and ``signing_alg``
    serve the JWT methods only.

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
        return client_secret_jwt(client_id, client_secret or "", assertion_audience, signing_alg)
    # _arguments.check_auth refuses a missing or malformed private_key before this.
    key = cast(PrivateKey, private_key)
    return private_key_jwt(client_id, key, assertion_audience, signing_alg, private_key_id)
