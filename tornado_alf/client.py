"""`TornadoClient`: `AsyncHTTPClient.fetch` with an OAuth 2.0 bearer token on every request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, Union

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from ._assembly import client_parts, discover_for
from ._grants import ACCESS_TOKEN_TYPE, JwtBearerGrant, TokenExchange
from ._plain_http import insecure_http_allowed
from ._resource_request import ResourceRequests
from ._sources import Credential, FileSecret
from ._subjects import OnBehalfOf
from ._token import Token
from ._token_request import ParamValue
from ._transport import Transport
from .hooks import ClientHooks, ClientStats
from .retry import Retry
from .stores.guard import STORE_TIMEOUT

__all__ = ["TornadoClient"]

log = logging.getLogger("tornado_alf")


class TornadoClient:
    """An OAuth 2.0 client-credentials client (RFC 6749 sec. 4.4) shaped like `AsyncHTTPClient`.

    ``await client.fetch(request)`` sends ``request`` with ``Authorization: Bearer
    <token>``. The token is obtained from ``token_endpoint``, cached until it
    expires, refreshed in the background before it does, and fetched anew once
    when the resource answers 401. Share one client between all coroutines of
    an IOLoop: however many wait, at most one token request is in flight.

    :arg str token_endpoint: the authorization server's token endpoint (http or https).
    :arg str client_id: the client identifier.
    :arg client_secret: the client secret; never logged nor shown by ``repr``.
        Required by ``client_secret_basic``, ``client_secret_post`` and
        ``client_secret_jwt``; ``None`` for the other auth methods. A str, or a
        callable (sync or async) returning it, or a `FileSecret`: those two are read
        before each token request, so a rotated secret is used without a restart.
    :arg token_storage: ``None`` for a private in-memory cache, a `MemoryTokenStore`
        to share tokens between clients, a `RedisTokenStore`, or any object with
        ``get(key)``/``set(key, value)`` (sync or async).
    :arg token_retry: ``None`` (one attempt), an int (that many retries), a `Retry`,
        or a urllib3 ``Retry``; applies to the token request only.
    :arg scope: a str or an iterable of str, sent space-separated as ``scope``.
    :arg str audience: sent as ``audience`` (Auth0, Okta and others name the API so).
    :arg resource: a str or an iterable of str: one ``resource`` field each (RFC 8707).
    :arg token_request_params: extra form fields; a value may be an iterable of str
        to repeat the field. Each distinct combination of scope and params has its
        own cached token.
    :arg str auth_method: how the client authenticates to the token endpoint:
        ``"client_secret_basic"`` (default), ``"client_secret_post"``,
        ``"client_secret_jwt"`` or ``"private_key_jwt"`` (RFC 7523; these two need the
        ``tornado-alf[jwt]`` extra), ``"tls_client_auth"`` (RFC 8705: the client
        certificate in ``http_options``) or ``"none"`` (a public client).
    :arg str basic_auth_encoding: ``"form"`` (RFC 6749 sec. 2.3.1, default) or ``"raw"``.
    :arg private_key: for ``private_key_jwt``: a PEM (str or bytes) or a JWK (a dict)
        holding an RSA or P-256 EC private key.
    :arg str private_key_id: the ``kid`` JWS header of ``private_key_jwt`` assertions;
        default: the JWK's ``kid``, none for a PEM key.
    :arg str assertion_audience: ``aud`` of JWT assertions; default: the token endpoint.
    :arg str signing_alg: ``HS256`` for ``client_secret_jwt``; ``RS256``, ``PS256`` or
        ``ES256`` for ``private_key_jwt`` (default: the JWK's ``alg``, else ``RS256``
        for an RSA key and ``ES256`` for an EC key).
    :arg http_options: `~tornado.httpclient.HTTPRequest` keyword arguments for token
        requests (``request_timeout``, ``validate_cert``, ``ca_certs``...). Token requests
        always have a deadline: ``connect_timeout`` and ``request_timeout`` default to 20 s
        whatever the HTTP client's defaults, and must be > 0.
    :arg http_client: the `~tornado.httpclient.AsyncHTTPClient` for resource requests;
        default: Tornado's shared client of the running IOLoop. Never closed here. Token
        requests go through a client of the same class and configuration with a queue
        of its own (a subclass other than Tornado's two serves them itself).
    :arg reauth_statuses: resource statuses that make the client get a new token and
        send the request once more (default ``(401,)``; add ``403`` for servers that
        answer a bad token so). Not when the ``WWW-Authenticate: Bearer`` challenge
        names ``insufficient_scope`` or ``invalid_request`` (RFC 6750 sec. 3.1).
    :arg float reauth_cooldown: seconds during which rejections start no token
        request once a token obtained because of a rejection was itself rejected
        (the resource refuses what the endpoint issues: check scope, audience and
        resource); those responses are returned as they are. ``0`` disables it.
    :arg float expiry_margin: seconds before expiry at which a token counts as expired,
        applied as ``min(expiry_margin, lifetime / 2)``.
    :arg refresh_ahead: how far from a token's arrival to its expiry one background
        refresh starts, as a fraction; ``None`` disables it.
    :arg max_token_lifetime: optional cap, in seconds, on how long a token is reused.
    :arg float store_timeout: bound on each ``token_storage`` call, in seconds; during an
        outage the store is skipped and tried again with backoff (see the storage docs).
    :arg client_assertion: a JWT the platform issues for this client (Azure's
        ``AZURE_FEDERATED_TOKEN_FILE``, a Kubernetes projected token): a `FileSecret`,
        a callable or a str, sent as ``client_assertion`` (RFC 7523 sec. 2.2) instead
        of a secret or key; ``auth_method`` may be left out. Expired ones are never sent.
    :arg client_certificate: for ``private_key_jwt``, the PEM certificate of
        ``private_key`` (a value, callable or `FileSecret`): adds the ``x5t#S256`` and
        ``x5t`` headers Microsoft Entra ID asks for.
    :arg grant: ``None`` for client credentials, a `JwtBearerGrant` or a `TokenExchange`.
    :arg int max_subjects: how many subjects' tokens `on_behalf_of` keeps (LRU).
    :arg hooks: a `ClientHooks` (or any object with some of its ``on_*`` methods)
        told of every token request, retry, re-authentication and refresh ahead,
        for logs and metrics; its events never hold a secret or a token. `stats`
        counts the same things whether hooks are given or not.
    :arg bool allow_insecure_http: allow ``http://`` token endpoints and resources off the
        loopback (where a service mesh encrypts, say); also by the environment variable
        ``TORNADO_ALF_ALLOW_INSECURE_HTTP=1``. Otherwise they raise `ValueError`.
    :arg float failure_cooldown: seconds after a token request failed for a server-side
        reason (5xx, 429, no answer) during which calls that need a new token fail at
        once with a repeat of that `TokenError` instead of asking again; a
        ``Retry-After`` on the failure sets it instead (capped by ``token_retry``'s
        ``backoff_max``). Shared by the fleet through a `RedisTokenStore`. A client
        error (``invalid_client``, other 4xx) starts none. ``0`` turns it off.
    :arg bool stale_token_grace: when the token endpoint fails for a server-side
        reason, keep using a token inside its ``expiry_margin`` until the expiry the
        endpoint gave (never past it), with one WARNING per token.
    :arg dpop_key: sender-constrain tokens with DPoP (RFC 9449): ``True`` for a P-256 key
        made for this client, or a private key as a PEM (str or bytes) or a JWK (a
        mapping): EC P-256 (ES256), RSA (RS256, PS256 when the JWK's ``alg`` says so) or
        Ed25519 (EdDSA). Every token request and every request with a DPoP token carries a
        new proof; server nonces are kept per origin. Needs the ``tornado-alf[jwt]``
        extra. See :doc:`sender-constrained`.
    :arg bool present_client_cert: present the client certificate of ``http_options``
        to resources too, for certificate-bound tokens (RFC 8705 sec. 3).
    :raises ValueError: for arguments that cannot work, naming the argument.
    :raises TypeError: for a value of the wrong type, e.g. ``hooks`` without any ``on_*`` method.

    .. versionadded:: 1.0
    .. versionchanged:: 2.0
       ``failure_cooldown`` and ``stale_token_grace``.
    """

    def __init__(
        self,
        token_endpoint: str,
        client_id: str,
        client_secret: Union[str, FileSecret, Callable[[], Any], None] = None,
        *,
        token_storage: Any = None,
        token_retry: Union[int, Retry, Any, None] = None,
        scope: Union[str, Iterable[str], None] = None,
        audience: Optional[str] = None,
        resource: Union[str, Iterable[str], None] = None,
        token_request_params: Optional[Mapping[str, ParamValue]] = None,
        auth_method: str = "client_secret_basic",
        basic_auth_encoding: str = "form",
        private_key: Union[str, bytes, Mapping[str, Any], FileSecret, Callable[[], Any], None] = None,
        private_key_id: Optional[str] = None,
        assertion_audience: Optional[str] = None,
        signing_alg: Optional[str] = None,
        http_options: Optional[Mapping[str, Any]] = None,
        http_client: Optional[AsyncHTTPClient] = None,
        reauth_statuses: Iterable[int] = (401,),
        reauth_cooldown: float = 30,
        expiry_margin: float = 30,
        refresh_ahead: Optional[float] = 0.8,
        max_token_lifetime: Optional[float] = None,
        store_timeout: float = STORE_TIMEOUT,
        hooks: Union[ClientHooks, Any, None] = None,
        allow_insecure_http: bool = False,
        client_assertion: Optional[Credential] = None,
        client_certificate: Optional[Credential] = None,
        grant: Union[JwtBearerGrant, TokenExchange, None] = None,
        max_subjects: int = 10_000,
        failure_cooldown: float = 5.0,
        stale_token_grace: bool = True,
        dpop_key: Union[str, bytes, Mapping[str, Any], bool, None] = None,
        present_client_cert: bool = False,
    ) -> None:
        # Every argument but http_client, by name, to be checked (_arguments) and built into parts.
        arguments = {name: value for name, value in locals().items() if name not in ("self", "http_client")}
        self._transport = Transport(http_client, insecure_http_allowed(allow_insecure_http))
        parts = client_parts(self._transport.token_client, **arguments)
        self._recorder = parts.recorder
        self._endpoint = parts.endpoint
        self._requests = ResourceRequests(self._transport, parts.binding, parts.reauth_statuses)
        self._closed = False
        self._tokens = parts.tokens
        self._reauth = parts.reauth
        self._subjects = parts.subjects

    @classmethod
    async def from_issuer(
        cls,
        issuer: str,
        client_id: str,
        client_secret: Union[str, FileSecret, Callable[[], Any], None] = None,
        *,
        allow_insecure_http: bool = False,
        **kwargs: Any,
    ) -> TornadoClient:
        """A client for the token endpoint that ``issuer`` publishes (RFC 8414).

        Reads ``/.well-known/oauth-authorization-server``, then ``/.well-known/openid-configuration``;
        the document's ``issuer`` must equal ``issuer`` exactly. An explicit ``auth_method`` is used even
        if ``token_endpoint_auth_methods_supported`` lacks it, with one WARNING; else the first listed one
        the credentials allow: ``private_key_jwt`` with a ``private_key``, else ``client_secret_basic``,
        ``client_secret_post``, ``client_secret_jwt`` with a secret, else ``tls_client_auth`` with a
        client certificate, else ``none``. ``http_client`` and ``http_options`` serve discovery too.

        :arg bool allow_insecure_http: accept an ``http://`` issuer, token endpoint and
            resources off the loopback, as for `TornadoClient`.
        :arg kwargs: the other `TornadoClient` arguments.
        :raises TokenError: when the metadata cannot be read or is unusable.
        :raises ValueError: for an unusable issuer, or when no ``auth_method`` is given and
            the server lists none the credentials allow.
        """
        token_endpoint, auth_method = await discover_for(issuer, client_secret, allow_insecure_http, kwargs)
        return cls(token_endpoint, client_id, client_secret, auth_method=auth_method,
                   allow_insecure_http=allow_insecure_http, **kwargs)

    def fetch(
        self, request: Union[str, HTTPRequest], raise_error: bool = True, **kwargs: Any
    ) -> asyncio.Future[HTTPResponse]:
        """Send ``request`` with a bearer token; the same contract as `AsyncHTTPClient.fetch`.

        Returns a `~asyncio.Future` as `AsyncHTTPClient.fetch` does, to ``await``,
        ``yield`` in a ``gen.coroutine``, pass to ``IOLoop.add_future`` or leave: the
        request is sent whether or not anyone waits for it: with a valid token it is
        queued before ``fetch`` returns, as Tornado queues it. Cancelling the future
        cancels this call as cancelling Tornado's does (its answer is dropped, no replay
        follows; if no token is there yet, the request is never sent), never the token
        request other calls wait for.

        ``request`` is a URL (``kwargs`` build the `~tornado.httpclient.HTTPRequest`)
        or an `~tornado.httpclient.HTTPRequest`, which is never modified. A 401
        invalidates the token and the request is sent once more with a new one,
        unless a Bearer challenge says a new token would not help, or the 401 came
        from a hop the token did not go to. A request whose body comes from a
        ``body_producer`` (it cannot be read twice) is not sent again, but the next
        request gets a new token. During a ``reauth_cooldown`` a 401 is returned as
        it is. `bearer_challenge` reads the challenge of the response returned or raised.
        ``header_callback`` and ``streaming_callback`` see only the response returned:
        an answer the request is sent again for never reaches them (a streamed body
        stays streamed; only such a rejection's body waits until the replay is decided).

        Redirects are followed here, with Tornado's rules (``follow_redirects``,
        ``max_redirects``, 301/302 POST and 303 become a GET), whatever the Tornado
        version and HTTP client: the token goes on every hop at the origin (scheme,
        host, port) of ``request`` and on no other.

        :raises TokenError: when no token could be obtained; the request was not sent
            (or not sent again). Code 599 when the client was closed meanwhile.
        :raises tornado.httpclient.HTTPClientError: for a non-2xx answer when
            ``raise_error`` is true, as Tornado does.
        :raises ValueError: at once, before any token is requested, for ``kwargs`` with an
            `HTTPRequest`, a header name or value with a CR or LF (as Tornado 6.6 raises,
            whatever the version and HTTP client), a request that carries its own credentials
            (``auth_username``, user info in the URL, an ``Authorization`` header), plain
            ``http://`` off the loopback (unless ``allow_insecure_http``), or a
            ``body_producer`` with the Curl client (it ignores it).
        :raises RuntimeError: at once, on a closed client, or for a Curl ``http_client``
            created on another event loop.

        .. versionchanged:: 2.0
           Returns a `~asyncio.Future` (was a coroutine); a CR or LF in a header is
           `ValueError`; callbacks no longer see an answer that is replayed.
        """
        if self._closed:
            raise RuntimeError("fetch() called on a closed TornadoClient")
        return self._requests.fetch(self._tokens, self._reauth, request, raise_error, kwargs)

    def on_behalf_of(
        self,
        subject_token: str,
        subject_token_type: str = ACCESS_TOKEN_TYPE,
        *,
        actor_token: Any = None,
        actor_token_type: Optional[str] = None,
        requested_token_type: Optional[str] = None,
    ) -> OnBehalfOf:
        """A view whose `~OnBehalfOf.fetch` sends a token exchanged for ``subject_token`` (RFC 8693).

        For a handler calling another API for its caller::

            api = client.on_behalf_of(caller_token)
            response = await api.fetch("https://orders.example/api", method="POST", body=body)

        The token is obtained with ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``,
        the client's authentication, ``scope``, ``audience`` and ``resource``, then cached,
        refreshed ahead and single-flighted like the client's own, one per subject (keyed
        by a digest of the subject token). At most ``max_subjects`` are held, least recently
        used out first. Arguments are those of `TokenExchange`.

        .. versionadded:: 2.0
        """
        if not isinstance(subject_token, str) or not subject_token:
            raise ValueError("subject_token must be a non-empty string")
        exchange = TokenExchange(subject_token, subject_token_type, actor_token=actor_token,
                                 actor_token_type=actor_token_type, requested_token_type=requested_token_type)
        tokens, reauth = self._subjects.subject(exchange, subject_token)
        return OnBehalfOf(tokens, reauth, self._requests.fetch, lambda: self._closed)

    @property
    def token_endpoint(self) -> str:
        """The token endpoint URL this client obtains its tokens from."""
        return self._endpoint.url

    async def get_token(self) -> Token:
        """The token `fetch` would send now: the cached one, or a new one from the endpoint.

        For callers that must put the token somewhere `fetch` cannot reach (a
        websocket handshake, another HTTP library). Treat the result as a secret;
        its ``repr`` never shows ``access_token``.

        :raises TokenError: when no token could be obtained.
        """
        if self._closed:
            raise RuntimeError("get_token() called on a closed TornadoClient")
        cached = self._tokens.current() or await self._tokens.get()
        return cached.token

    def stats(self) -> ClientStats:
        """Counters of what this client did with tokens since it was created; see `ClientStats`.

        A snapshot: it does not change afterwards. Cheap enough to read on every
        metrics scrape.
        """
        return self._recorder.snapshot(token_expires_at=self._tokens.expires_at())

    def close(self) -> None:
        """Stop token requests, also those of calls in flight: they get `TokenError` (599).

        Later calls to `fetch` and `get_token` raise `RuntimeError`. The HTTP client
        (passed in or Tornado's shared one) stays open. Safe to call from any thread.
        """
        self._closed = True
        self._tokens.close()
        self._subjects.close()
        self._transport.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else repr(self._tokens)
        return f"<TornadoClient for {self._endpoint.host}: {state}>"
