"""Every check of `TornadoClient`'s arguments, in one place: a bad value raises, naming the argument.

`ValueError` for a value that cannot work, `TypeError` for one of the wrong type. Each
function returns the value in the shape the client works with. What needs the key
material itself (can this key sign?) is checked as `tornado_alf.auth.jwt` imports the
key; `Retry` checks its own fields. `tornado_alf._assembly` calls them all.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, Union

from tornado.httpclient import HTTPRequest

from ._cooldown import CooldownPolicy
from ._expiry import ExpiryPolicy
from ._grants import JwtBearerGrant, TokenExchange
from ._recorder import HOOK_NAMES
from ._sources import FileSecret, Source, source_of
from ._token_request import ParamValue, form_fields
from .auth import (
    AUTH_METHODS,
    BASIC_AUTH_ENCODINGS,
    JWT_METHODS,
    KEY_ALGS,
    SECRET_ALGS,
    SECRET_METHODS,
    FormFields,
)
from .hooks import ClientHooks
from .retry import Retry
from .stores.contract import FleetCache
from .stores.getset import GetSetCache
from .stores.guard import GuardedCache

# Options the token request sets itself: a POST with our body that never follows redirects.
_RESERVED_HTTP_OPTIONS = frozenset({"url", "method", "body", "body_producer", "follow_redirects"})

#: Deadlines of every token request unless ``http_options`` sets them. Explicit, so that an
#: ``AsyncHTTPClient`` whose defaults say 0 (no timeout) cannot leave every waiter hanging.
TOKEN_REQUEST_TIMEOUTS = {"connect_timeout": 20.0, "request_timeout": 20.0}


def check_endpoint(token_endpoint: object) -> None:
    if not isinstance(token_endpoint, str) or not token_endpoint:
        raise ValueError("token_endpoint must be a non-empty http(s) URL")
    parts = urllib.parse.urlsplit(token_endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("token_endpoint must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("token_endpoint must not carry credentials; pass client_id and client_secret")


def check_client(client_id: object, client_secret: object) -> None:
    if not isinstance(client_id, str) or not client_id:
        raise ValueError("client_id must be a non-empty string")
    if client_secret is not None and not isinstance(client_secret, (str, FileSecret)) and not callable(client_secret):
        raise ValueError("client_secret must be a string, a callable returning one, a tornado_alf.FileSecret or None")


def credential_sources(auth_method: str, grant: object, **credentials: Any) -> tuple[str, dict[str, Source]]:
    """``(auth_method, sources)``: the method a ``client_assertion`` implies, and each credential given.

    ``credentials`` are ``client_secret``, ``private_key``, ``client_certificate`` and
    ``client_assertion``, each a value, a callable or a `FileSecret` (or ``None``).
    """
    if grant is not None and not isinstance(grant, (JwtBearerGrant, TokenExchange)):
        raise TypeError("grant must be None, a tornado_alf.JwtBearerGrant or a tornado_alf.TokenExchange")
    sources = {}
    for name, value in credentials.items():
        if isinstance(value, Mapping) and name == "private_key":
            continue  # a JWK: a value, checked with the JWT arguments
        source = source_of(value, name)
        if source is not None:
            sources[name] = source
    if "client_assertion" in sources:
        others = set(sources) - {"client_assertion"} | ({"private_key"} if credentials["private_key"] else set())
        if others:
            given = ", ".join(sorted(others))
            raise ValueError(f"client_assertion is the client's credential: do not also give {given}")
        if auth_method not in ("client_secret_basic", "private_key_jwt"):
            raise ValueError(f"client_assertion is sent as private_key_jwt would be, not with {auth_method!r}")
        return "private_key_jwt", sources
    if "client_certificate" in sources and auth_method != "private_key_jwt":
        raise ValueError("client_certificate is for auth_method='private_key_jwt' (its x5t#S256 header)")
    return auth_method, sources


def token_request_fields(
    scope: Union[str, Iterable[str], None],
    token_request_params: Optional[Mapping[str, ParamValue]],
    **named: Optional[ParamValue],
) -> FormFields:
    """The form fields: ``scope``, then ``token_request_params`` plus the named ones (``audience``...)."""
    params: dict[str, ParamValue] = {}
    for name, value in (token_request_params or {}).items():
        if not isinstance(name, str):
            raise TypeError("token_request_params must map str to str or to an iterable of str")
        params[name] = _strings(value, "token_request_params must map str to str or to an iterable of str")
    for name, given in named.items():
        if given is not None and name in params:
            raise ValueError(f"{name} is given both as an argument and in token_request_params")
        if given is not None:
            params[name] = _strings(given, f"{name} must be a str or an iterable of str")
    scopes = None if scope is None else _strings(scope, "scope must be a str or an iterable of str")
    return form_fields(scopes, params)


def _strings(value: ParamValue, message: str) -> list[str]:
    try:
        values = [value] if isinstance(value, str) else list(value)
    except TypeError:
        raise TypeError(message) from None
    if not all(isinstance(item, str) for item in values):
        raise TypeError(message)
    return values


def check_auth(
    auth_method: object,
    client_secret: object,
    basic_auth_encoding: object,
    http_options: Mapping[str, Any],
    **jwt_arguments: Any,
) -> None:
    """What ``auth_method`` needs is there, and nothing it would ignore is given."""
    if basic_auth_encoding not in BASIC_AUTH_ENCODINGS:
        raise ValueError(f"basic_auth_encoding must be one of {BASIC_AUTH_ENCODINGS}, not {basic_auth_encoding!r}")
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"auth_method must be one of {AUTH_METHODS}, not {auth_method!r}")
    if auth_method in SECRET_METHODS and client_secret is None:
        raise ValueError(f"client_secret must be a string for auth_method={auth_method!r}")
    if auth_method == "tls_client_auth" and not http_options.get("client_cert"):
        raise ValueError("auth_method='tls_client_auth' needs http_options with client_cert (and client_key)")
    if auth_method not in JWT_METHODS:
        for name, value in jwt_arguments.items():
            if value is not None:
                raise ValueError(f"{name} is only used with auth_method {JWT_METHODS}, not {auth_method!r}")
    elif auth_method == "client_secret_jwt":
        _check_client_secret_jwt(client_secret, **jwt_arguments)
    else:
        _check_private_key_jwt(**jwt_arguments)


def _check_client_secret_jwt(client_secret: object, **jwt_arguments: Any) -> None:
    for name in ("private_key", "private_key_id"):
        if jwt_arguments[name] is not None:
            raise ValueError(f"{name} is for auth_method='private_key_jwt', not 'client_secret_jwt'")
    alg = jwt_arguments["signing_alg"]
    if alg is not None and alg not in SECRET_ALGS:
        raise ValueError(f"signing_alg for client_secret_jwt must be one of {SECRET_ALGS}, not {alg!r}")
    if not client_secret:
        # RFC 6749 sec. 2.3.1 allows an empty secret; an HMAC key cannot be empty.
        raise ValueError("client_secret must be a non-empty string for auth_method='client_secret_jwt'")


def _check_private_key_jwt(private_key: object, signing_alg: Optional[str], **_: Any) -> None:
    if private_key is None:
        raise ValueError("private_key is required for auth_method='private_key_jwt'")
    if not isinstance(private_key, (str, bytes, Mapping, FileSecret)) and not callable(private_key):
        raise TypeError("private_key must be a PEM str/bytes, a JWK mapping, a callable or a tornado_alf.FileSecret")
    if signing_alg is not None and signing_alg not in KEY_ALGS:
        raise ValueError(f"signing_alg for private_key_jwt must be one of {KEY_ALGS}, not {signing_alg!r}")


def check_binding(dpop_key: object, present_client_cert: object, http_options: Mapping[str, Any]) -> None:
    """``dpop_key`` is of a usable type, and ``present_client_cert`` has a certificate to present.

    The key material itself is checked as `tornado_alf.auth.dpop` imports it.
    """
    if dpop_key is not None and not isinstance(dpop_key, (bool, str, bytes, Mapping)):
        raise ValueError(f"dpop_key must be True, a PEM (str or bytes) or a JWK mapping, not {type(dpop_key).__name__}")
    if not isinstance(present_client_cert, bool):
        raise TypeError("present_client_cert must be a bool")
    if present_client_cert and not isinstance(http_options.get("client_cert"), str):
        raise ValueError("present_client_cert=True needs http_options with client_cert (a PEM file path)")


def expiry_policy(
    expiry_margin: float, refresh_ahead: Optional[float], max_token_lifetime: Optional[float]
) -> ExpiryPolicy:
    if not number(expiry_margin) or expiry_margin < 0:
        raise ValueError("expiry_margin must be a finite number >= 0")
    if refresh_ahead is not None and (not number(refresh_ahead) or not 0 < refresh_ahead < 1):
        raise ValueError("refresh_ahead must be None or a fraction between 0 and 1")
    if max_token_lifetime is not None and (not number(max_token_lifetime) or max_token_lifetime <= 0):
        raise ValueError("max_token_lifetime must be None or a number of seconds > 0")
    return ExpiryPolicy(float(expiry_margin), refresh_ahead, max_token_lifetime)


def cooldown_policy(failure_cooldown: float, stale_token_grace: bool, retry: Retry) -> CooldownPolicy:
    """The cool-down after a server-side failure; ``Retry-After`` as ``retry`` treats it."""
    if not number(failure_cooldown) or failure_cooldown < 0:
        raise ValueError("failure_cooldown must be a finite number of seconds >= 0 (0 turns it off)")
    if not isinstance(stale_token_grace, bool):
        raise TypeError(f"stale_token_grace must be True or False, not {type(stale_token_grace).__name__}")
    return CooldownPolicy(float(failure_cooldown), retry.backoff_max, retry.respect_retry_after_header)


def number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def token_http_options(url: str, http_options: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    options = dict(http_options or {})
    reserved = _RESERVED_HTTP_OPTIONS.intersection(options)
    if reserved:
        raise ValueError(f"http_options cannot set {sorted(reserved)}: the token request sets them")
    for name, default in TOKEN_REQUEST_TIMEOUTS.items():
        if options.get(name) is None:
            options[name] = default
        elif not number(options[name]) or options[name] <= 0:
            raise ValueError(f"http_options {name} must be a number of seconds > 0; a token request needs a deadline")
    try:
        HTTPRequest(url, **options)
    except TypeError as exc:
        raise ValueError(f"http_options holds an unknown HTTPRequest argument: {exc}") from None
    return options


def check_reauth_cooldown(reauth_cooldown: float) -> float:
    """``reauth_cooldown`` as seconds >= 0 (0: no cool-down); `ValueError` otherwise."""
    if not number(reauth_cooldown) or reauth_cooldown < 0:
        raise ValueError("reauth_cooldown must be a number of seconds >= 0 (0: no cool-down)")
    return float(reauth_cooldown)


def reauth_status_set(statuses: Iterable[int]) -> frozenset[int]:
    try:
        codes = frozenset(statuses)
    except TypeError:
        raise ValueError("reauth_statuses must be an iterable of HTTP status codes") from None
    if not all(isinstance(c, int) and not isinstance(c, bool) and 400 <= c <= 499 for c in codes):
        raise ValueError("reauth_statuses must hold 4xx status codes, e.g. (401, 403)")
    return codes


def guarded_cache(
    token_storage: Any, store_timeout: float, max_token_lifetime: Optional[float] = None
) -> Optional[GuardedCache]:
    """The guarded token cache over ``token_storage``; ``None`` without one.

    A `FleetCache` (`RedisTokenStore`) is used as it is; anything else must be a
    get/set `TokenStore`, whatever other methods it has.
    """
    if not number(store_timeout) or store_timeout <= 0:
        raise ValueError("store_timeout must be a number of seconds > 0")
    if token_storage is None:
        return None  # the manager's own in-memory token is the private store
    if isinstance(token_storage, FleetCache):
        return GuardedCache(token_storage, store_timeout, max_lifetime=max_token_lifetime)
    return GuardedCache(
        GetSetCache(token_storage), store_timeout, store=token_storage, max_lifetime=max_token_lifetime
    )


def hook_methods(hooks: Any) -> dict[str, Callable[[Any], None]]:
    """The ``on_*`` methods of ``hooks`` worth calling: present, and not `ClientHooks`' no-ops.

    :raises TypeError: if ``hooks`` has none of them, or one that cannot be called.
    """
    if hooks is None:
        return {}
    methods = {}
    found = False
    for name in HOOK_NAMES:
        method = getattr(hooks, name, None)
        if method is None:
            continue
        found = True
        if not callable(method):
            raise TypeError(f"hooks.{name} must be callable, not {type(method).__name__}")
        if getattr(method, "__func__", None) is not getattr(ClientHooks, name):
            methods[name] = method
    if not found:
        raise TypeError(
            "hooks must be a tornado_alf.ClientHooks or have some of its methods "
            f"({', '.join(HOOK_NAMES)}), not {type(hooks).__name__}"
        )
    return methods
