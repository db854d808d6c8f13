"""How a `TornadoClient` is put together: its checked arguments made into its parts.

`client_parts` hands each argument to its check in `tornado_alf._arguments`, then builds
the token endpoint, the token manager and the recorder; `discover_for` finds what
`TornadoClient.from_issuer` needs in the issuer's metadata.
"""

from __future__ import annotations

import asyncio
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
    cooldown_policy,
    credential_sources,
    expiry_policy,
    guarded_cache,
    hook_methods,
    reauth_status_set,
    token_http_options,
    token_request_fields,
)
from ._binding import Binding, make_binding
from ._discovery import discover_token_endpoint
from ._grants import GrantFields
from ._manager import TokenManager
from ._plain_http import insecure_http_allowed, refuse_plain_http
from ._reauth import Reauthentication
from ._recorder import Recorder
from ._subjects import Subjects, check_max_subjects, subject_key
from ._token_endpoint import TokenEndpoint
from ._token_request import ParamValue
from .auth import ClientAuthentication, client_authentication, credential_methods, rotating_authentication
from .retry import Retry
from .stores.codec import token_key_digest

#: How many credentials' store keys a client remembers (a rotation adds one).
MAX_KNOWN_CREDENTIALS = 8


class StoreKeys:
    """Store keys by credential fingerprint, each stretched once, off the event loop."""

    def __init__(self, key: Callable[[str], str]) -> None:
        self._key = key
        self._known: dict[str, str] = {}

    async def of(self, fingerprint: str) -> str:
        """The store key of the credential ``fingerprint`` names."""
        known = self._known.get(fingerprint)
        if known is None:
            # PBKDF2 (stores.codec.KEY_ROUNDS) takes tens of milliseconds: a thread does it, so
            # that building a client never blocks the loop and its first acquisition does not either.
            known = await asyncio.get_running_loop().run_in_executor(None, self._key, fingerprint)
            if len(self._known) >= MAX_KNOWN_CREDENTIALS:
                self._known.clear()  # rotated-out credentials: only the recent ones are asked for
            self._known[fingerprint] = known
        return known


@dataclasses.dataclass(frozen=True)
class ClientParts:
    """What a `TornadoClient` is made of, built from checked arguments."""

    endpoint: TokenEndpoint
    tokens: TokenManager
    reauth_statuses: frozenset[int]
    reauth: Reauthentication
    recorder: Recorder
    subjects: Subjects
    binding: Binding


def client_parts(
    http_client_of: Callable[[], AsyncHTTPClient],
    token_endpoint: str,
    client_id: str,
    client_secret: Any,
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
    client_assertion: Any = None,
    client_certificate: Any = None,
    grant: Any = None,
    max_subjects: int = 10_000,
    failure_cooldown: float = 5.0,
    stale_token_grace: bool = True,
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
    auth_method, auth = authentication(
        token_endpoint, client_id, client_secret, auth_method, basic_auth_encoding, options, grant=grant,
        private_key=private_key, private_key_id=private_key_id, assertion_audience=assertion_audience,
        signing_alg=signing_alg, client_certificate=client_certificate, client_assertion=client_assertion,
    )
    check_binding(dpop_key, present_client_cert, options)
    binding = make_binding(dpop_key, present_client_cert, options)
    recorder = Recorder(hook_methods(hooks), urllib.parse.urlsplit(token_endpoint).netloc)
    retry = Retry.from_setting(token_retry)
    cooldown_rule = cooldown_policy(failure_cooldown, stale_token_grace, retry)
    endpoint = TokenEndpoint(token_endpoint, auth, fields, options, retry,
                             recorder=recorder, grant=None if grant is None else GrantFields(grant),
                             binding=binding)
    cache = guarded_cache(token_storage, store_timeout, max_token_lifetime)

    def key(fingerprint: str) -> str:
        return token_key_digest(token_endpoint, client_id, fields, auth_method=auth_method,
                                fingerprint=fingerprint, http_options=options, binding=binding.tag)

    # The store key is known once the credential is read, at the first acquisition: prepare() computes it.
    store_keys = StoreKeys(key)

    def manager(grant_fields: Optional[GrantFields]) -> TokenManager:
        async def prepare() -> str:
            _, credential, grant_print = await endpoint.refresh(grant_fields)
            if cache is None:
                return ""  # no store: no key to compute
            client_key = await store_keys.of(credential)
            return subject_key(client_key, grant_print) if grant_print else client_key

        needs_prepare = cache is not None or endpoint.rotates or grant_fields is not None
        return TokenManager(
            lambda: endpoint.request_token(http_client_of(), grant_fields), cache, "", policy,
            recorder=recorder, prepare=prepare if needs_prepare else None,
            cooldown=cooldown_rule, stale_grace=stale_token_grace,
        )

    cooldown = check_reauth_cooldown(reauth_cooldown)

    def subject(grant_fields: GrantFields) -> tuple[TokenManager, Reauthentication]:
        tokens = manager(grant_fields)
        return tokens, Reauthentication(tokens, cooldown, recorder)

    subjects = Subjects(subject, check_max_subjects(max_subjects))
    tokens = manager(endpoint.grant)
    reauth = Reauthentication(tokens, cooldown, recorder)
    return ClientParts(endpoint, tokens, reauth_status_set(reauth_statuses), reauth, recorder, subjects, binding)


def authentication(
    token_endpoint: str,
    client_id: str,
    client_secret: Any,
    auth_method: str,
    basic_auth_encoding: str,
    options: Mapping[str, Any],
    *,
    grant: Any,
    private_key: Any,
    client_certificate: Any,
    client_assertion: Any,
    **jwt_arguments: Any,
) -> tuple[str, ClientAuthentication]:
    """``(auth method, client authentication)`` for checked arguments; rotating when a source may change.

    ``jwt_arguments`` are ``private_key_id``, ``assertion_audience`` and ``signing_alg``.
    """
    auth_method, sources = credential_sources(
        auth_method, grant, client_secret=client_secret, private_key=private_key,
        client_certificate=client_certificate, client_assertion=client_assertion,
    )
    if "client_assertion" in sources:
        check_auth("none", None, basic_auth_encoding, options, **jwt_arguments)
    else:
        check_auth(auth_method, client_secret, basic_auth_encoding, options, private_key=private_key, **jwt_arguments)
    if jwt_arguments["assertion_audience"] is None:
        jwt_arguments["assertion_audience"] = token_endpoint
    if any(source.rotates for source in sources.values()):
        return auth_method, rotating_authentication(auth_method, client_id, sources, basic_auth_encoding,
                                                    **jwt_arguments)
    return auth_method, client_authentication(
        auth_method, client_id, client_secret, basic_auth_encoding, private_key=private_key,
        client_certificate=client_certificate, **jwt_arguments,
    )


async def discover_for(
    issuer: str, client_secret: Any, allow_insecure_http: bool, kwargs: dict[str, Any]
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
