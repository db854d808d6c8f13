"""Authorization server metadata (RFC 8414, OpenID Connect Discovery 1.0).

`discover` reads the issuer's metadata document and keeps what a client-credentials
client needs: where the token endpoint is and how it accepts client authentication.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from ._network import send
from ._plain_http import insecure_http_allowed, refuse_plain_http
from .errors import TokenError
from .retry import NETWORK_FAILURE

log = logging.getLogger("tornado_alf")

# RFC 8414 sec. 2: when the server omits the list, client_secret_basic is implied.
DEFAULT_AUTH_METHODS = ("client_secret_basic",)


@dataclasses.dataclass(frozen=True)
class ServerMetadata:
    """What `discover` keeps of an authorization server's metadata document."""

    issuer: str
    token_endpoint: str
    token_endpoint_auth_methods_supported: tuple[str, ...] = DEFAULT_AUTH_METHODS
    # RFC 8705 sec. 5: where to send a token request authenticated with a client certificate.
    mtls_token_endpoint: Optional[str] = None


def check_url(url: object, argument: str, allow_insecure_http: bool) -> str:
    """``url`` if it is an absolute https URL (http to the loopback, or anywhere when allowed), else `ValueError`."""
    if not isinstance(url, str):
        raise ValueError(f"{argument} must be a URL string")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{argument} must be an absolute https URL, not {url!r}")
    refuse_plain_http(url, argument, "the client credentials", insecure_http_allowed(allow_insecure_http))
    return url


def metadata_urls(issuer: str) -> list[str]:
    """Where to look for the metadata of ``issuer``, in order.

    First RFC 8414 sec. 3.1 (the well-known segment goes between host and path), then
    OpenID Connect Discovery sec. 4 (appended to the issuer, as Keycloak and Okta serve it).
    The two coincide for an issuer without a path, apart from the document name.
    """
    parts = urllib.parse.urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = parts._replace(path="/.well-known/oauth-authorization-server" + path).geturl()
    oidc = parts._replace(path=path + "/.well-known/openid-configuration").geturl()
    return [rfc8414, oidc]


def parse_metadata(body: bytes, issuer: str, allow_insecure_http: bool) -> ServerMetadata:
    """The `ServerMetadata` in a metadata document, or `ValueError` saying what is wrong.

    The document's ``issuer`` must be exactly ``issuer`` (RFC 8414 sec. 3.3): a document
    served for another issuer could send our credentials elsewhere.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("metadata is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError("metadata is not a JSON object")
    if document.get("issuer") != issuer:
        raise ValueError("metadata names another issuer")
    token_endpoint = check_url(document.get("token_endpoint"), "token_endpoint", allow_insecure_http)
    methods = document.get("token_endpoint_auth_methods_supported", DEFAULT_AUTH_METHODS)
    if not isinstance(methods, (list, tuple)) or not all(isinstance(m, str) for m in methods):
        raise ValueError("token_endpoint_auth_methods_supported is not a list of strings")
    aliases = document.get("mtls_endpoint_aliases")
    mtls = aliases.get("token_endpoint") if isinstance(aliases, dict) else None
    if mtls is not None:
        mtls = check_url(mtls, "mtls_endpoint_aliases token_endpoint", allow_insecure_http)
    return ServerMetadata(issuer, token_endpoint, tuple(methods), mtls)


def choose_auth_method(
    supported: Sequence[str], requested: Optional[str], candidates: Sequence[str], host: str = "the issuer"
) -> str:
    """``requested`` if given, else the first of ``candidates`` the server supports.

    ``candidates`` are the methods the caller's credentials allow, best first. An
    explicit ``requested`` is the caller's decision: servers such as oauth2-mock-server
    list only ``none`` and accept Basic, so one missing from ``supported`` is used
    anyway, with one WARNING.
    """
    if requested is not None:
        if requested not in supported:
            log.warning(
                "auth_method %s is not in the token_endpoint_auth_methods_supported of %s %s; "
                "using it as asked", requested, host, list(supported),
            )
        return requested
    for method in candidates:
        if method in supported:
            return method
    raise ValueError(
        f"the issuer supports none of {list(candidates)} (it lists {list(supported)}); "
        "pass auth_method to use one anyway, or the credentials for one it lists"
    )


async def discover(
    issuer: str,
    http_client: AsyncHTTPClient,
    http_options: Mapping[str, Any],
    allow_insecure_http: bool = False,
) -> ServerMetadata:
    """Fetch and check the metadata of ``issuer`` (RFC 8414 sec. 3).

    :arg http_options: `~tornado.httpclient.HTTPRequest` keyword arguments (timeouts,
        ``ca_certs``...), as for the token requests.
    :raises TokenError: when no metadata document can be read or it is unusable.
    :raises ValueError: when ``issuer`` is not an absolute https URL (http: to the
        loopback, or when ``allow_insecure_http``), or carries a query or fragment (RFC 8414 sec. 2).
    """
    check_url(issuer, "issuer", allow_insecure_http)
    parts = urllib.parse.urlsplit(issuer)
    if parts.query or parts.fragment:
        raise ValueError("issuer must not have a query or fragment (RFC 8414 sec. 2)")
    host = parts.netloc
    for url in metadata_urls(issuer):
        response = await _get(http_client, url, http_options)
        if response.code == NETWORK_FAILURE:
            raise TokenError(NETWORK_FAILURE, f"could not reach {host} for its metadata: {response.error}")
        if response.code == 200:
            try:
                return parse_metadata(response.body, issuer, allow_insecure_http)
            except ValueError as exc:
                raise TokenError(200, f"unusable metadata from {host}: {exc}", response) from None
        log.debug("no metadata at %s (%d)", url, response.code)
    # The last answer stands for all: metadata_urls() is never empty.
    raise TokenError(response.code, f"{host} serves no authorization server metadata", response)


async def discover_token_endpoint(
    issuer: str,
    auth_method: Optional[str],
    credentials: Sequence[str],
    http_client: AsyncHTTPClient,
    http_options: Mapping[str, Any],
    allow_insecure_http: bool,
) -> tuple[str, str]:
    """``(token endpoint, auth method)`` for a client of ``issuer``.

    :arg auth_method: the method the caller asked for, used even when the server does
        not list it; ``None`` to pick the first of ``credentials`` the server supports.
    :arg credentials: the methods the caller's credentials allow, best first.
    """
    metadata = await discover(issuer, http_client, http_options, allow_insecure_http)
    host = urllib.parse.urlsplit(issuer).netloc
    method = choose_auth_method(metadata.token_endpoint_auth_methods_supported, auth_method, credentials, host)
    if method == "tls_client_auth" and metadata.mtls_token_endpoint is not None:
        return metadata.mtls_token_endpoint, method
    return metadata.token_endpoint, method


async def _get(http_client: AsyncHTTPClient, url: str, http_options: Mapping[str, Any]) -> HTTPResponse:
    headers = dict(http_options.get("headers") or {})
    headers["Accept"] = "application/json"
    return await send(http_client, HTTPRequest(url, **{**http_options, "headers": headers}))
