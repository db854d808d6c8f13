"""Plain http only to the loopback: the one policy of the client, of discovery and of the CLI.

A client secret, an assertion or a bearer token sent over ``http://`` crosses the
network in clear. As oauthlib and Authlib do (``InsecureTransportError``), it is
refused unless the user opts out, for service meshes whose sidecars encrypt.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import urllib.parse
from typing import Optional

#: Set to ``1`` to allow plain http off the loopback process-wide, as ``allow_insecure_http=True`` does.
ENV_VAR = "TORNADO_ALF_ALLOW_INSECURE_HTTP"


def insecure_http_allowed(allow_insecure_http: bool) -> bool:
    """Whether plain http off the loopback is allowed: by the argument, or by `ENV_VAR`."""
    return bool(allow_insecure_http) or os.environ.get(ENV_VAR, "").strip() == "1"


# The authority of a plain http URL, slashes after the scheme as lenient as Curl's parser.
_PLAIN_HTTP_AUTHORITY = re.compile(r"http:/*([^/?#]*)", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _host(authority: str) -> Optional[str]:
    return urllib.parse.urlsplit("//" + authority).hostname


@functools.lru_cache(maxsize=256)
def is_loopback(host: Optional[str]) -> bool:
    """Whether ``host`` (a URL's hostname, without brackets) is ``localhost``, 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_plain_http(url: str, argument: str, what: str, allowed: bool) -> None:
    """Raise `ValueError` if ``url`` is ``http://`` to a host off the loopback and that is not ``allowed``.

    :arg argument: the name to blame in the message (``token_endpoint``, ``issuer``...).
    :arg what: what would cross the network in clear (``"the client secret"``...).
    :arg allowed: the outcome of `insecure_http_allowed`.
    """
    # The authority alone decides, parsed once per authority: this runs before every request.
    plain = None if allowed else _PLAIN_HTTP_AUTHORITY.match(url)
    if plain is None:
        return
    host = _host(plain.group(1))
    if is_loopback(host):
        return
    raise ValueError(
        f"{argument} is plain http:// to {host}, not the loopback: {what} would cross the network in "
        f"clear; use https, or where something else encrypts the traffic pass allow_insecure_http=True "
        f"(CLI: --allow-insecure-http) or set {ENV_VAR}=1"
    )
