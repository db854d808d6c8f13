"""How a `TornadoClient` is put together: its checked arguments made into its parts.

`client_parts` hands each argument to its check in `tornado_alf._arguments`, then builds
the token endpoint, the token manager and the recorder; `discover_for` finds what
`TornadoClient.from_issuer` needs in the issuer's metadata.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, Union

from tornado.httpclient import AsyncHTTPClient

from ._arguments import (
    check_auth,
    check_binding,
    check_client,
    check_endpoint,
    check_reauth_cooldown,
    expiry_policy,
    guarded_cache,
    hook_methods,
    reauth_status_set,
    token_http_options,
    token_request_fields,
)
from ._binding import Binding, make_binding
from ._discovery import discover_token_endpoint
from ._manager import TokenManager
from ._plain_http import insecure_http_allowed, refuse_plain_http
from ._reauth import Reauthentication
from ._recorder import Recorder
from ._token_endpoint import TokenEndpoint
from ._token_request import ParamValue
from .auth import client_authentication, credential_methods
from .retry import Retry
from .stores.codec import token_key_digest


@dataclasses.dataclass(frozen=True)
class ClientParts:
    """What a `TornadoClient` is made of, built from checked arguments."""

    endpoint: TokenEndpoint
    tokens: TokenManager
    reauth_statuses: frozenset[int]
    reauth: Reauthentication
    recorder: Recorder
    binding: Binding


def client_parts(
    http_client_of: Callable[[], AsyncHTTPClient],
    token_endpoint: str,
    client_id: str,
    client_secret: Optional[str],
    *,
    token_storage: Any,
    token_retry: Any,
    scope: Union[str, Iterable[str], None],
    audience: Optional[str],
    resource: Union[str, Iterable[str], None],
    token_request_params: Optional[Mapping[str, ParamValue]],
    auth_method: str,
    basic_auth_encoding: str,
    private_key: Any,
    private_key_id: Optional[str],
    assertion_audience: Optional[str],
    signing_alg: Optional[str],
    http_options: Optional[Mapping[str, Any]],
    reauth_statuses: Iterable[int],
    reauth_cooldown: float,
    expiry_margin: float,
    refresh_ahead: Optional[float],
    max_token_lifetime: Optional[float],
    store_timeout: float,
    hooks: Any,
    allow_insecure_http: bool,
    dpop_key: Any = None,
    present_client_cert: bool = False,
) -> ClientParts:
    """Check every `TornadoClient` argument and build the client's parts; `ValueError` or `TypeError`.

    :arg http_client_of: gives the HTTP client for each token request, when it starts.
    """
    check_endpoint(token_endpoint)
    refuse_plain_http(token_endpoint, "token_endpoint", "the client credentials",
                      insecure_http_allowed(allow_insecure_http))
    check_client(client_id, client_secret)
    policy = expiry_policy(expiry_margin, refresh_ahead, max_token_lifetime)
    options = token_http_options(token_endpoint, http_options)
    fields = token_request_fields(scope, token_request_params, audience=audience, resource=resource)
    check_auth(auth_method, client_secret, basic_auth_encoding, options, private_key=private_key,
               private_key_id=private_key_id, assertion_audience=assertion_audience, signing_alg=signing_alg)
    auth = client_authentication(
        auth_method, client_id, client_secret, basic_auth_encoding,
        assertion_audience=token_endpoint if assertion_audience is None else assertion_audience,
        private_key=private_key, private_key_id=private_key_id, signing_alg=signing_alg,
    )
    check_binding(dpop_key, present_client_cert, options)
    binding = make_binding(dpop_key, present_client_cert, options)
    recorder = Recorder(hook_methods(hooks), urllib.parse.urlsplit(token_endpoint).netloc)
    endpoint = TokenEndpoint(
        token_endpoint, auth, fields, options, Retry.from_setting(token_retry), recorder=recorder, binding=binding
    )
    tokens = TokenManager(
        lambda: endpoint.request_token(http_client_of()),
        guarded_cache(token_storage, store_timeout, max_token_lifetime),
        "" if token_storage is None else token_key_digest(
            token_endpoint, client_id, fields,
            auth_method=auth_method, fingerprint=auth.fingerprint, http_options=options, binding=binding.tag,
        ),
        policy,
        recorder=recorder,
    )
    reauth = Reauthentication(tokens, check_reauth_cooldown(reauth_cooldown), recorder)
    return ClientParts(endpoint, tokens, reauth_status_set(reauth_statuses), reauth, recorder, binding)


async def discover_for(
    issuer: str, client_secret: Optional[str], allow_insecure_http: bool, kwargs: dict[str, Any]
) -> tuple[str, str]:
    """``(token endpoint, auth method)`` from ``issuer``'s metadata, for `TornadoClient.from_issuer`.

    Takes ``auth_method`` out of ``kwargs`` (the other `TornadoClient` arguments); their
    ``http_client`` and ``http_options`` serve the discovery request too.
    """
    options = token_http_options(issuer, kwargs.get("http_options"))
    return await discover_token_endpoint(
        issuer,
        kwargs.pop("auth_method", None),
        credential_methods(client_secret, kwargs.get("private_key"), options.get("client_cert")),
        kwargs.get("http_client") or AsyncHTTPClient(),
        options,
        allow_insecure_http,
    )
