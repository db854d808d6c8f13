"""Checks of `TornadoClient` arguments: each bad value raises, naming the argument."""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from tornado.httpclient import HTTPRequest

from ._expiry import ExpiryPolicy
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
