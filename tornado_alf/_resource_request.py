"""One resource request with a token: checked, sent through the hop loop, replayed once when rejected.

`TornadoClient.fetch` and `OnBehalfOf.fetch` both come here, each with its own token
manager and re-authentication rule.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Collection
from typing import Any, Optional, Union

from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders

from ._binding import Binding
from ._call_future import CallFuture
from ._caller_request import Outgoing
from ._challenge import bearer_challenge
from ._expiry import CachedToken
from ._manager import TokenManager
from ._reauth import Reauthentication
from ._redirects import Attempt, Held, outcome
from ._transport import Transport

log = logging.getLogger("tornado_alf")


class ResourceRequests:
    """Sends resource requests with a token: what `TornadoClient.fetch` does once its arguments are checked.

    :arg transport: which HTTP client sends what.
    :arg binding: DPoP proofs and certificate binding (inactive for bearer tokens).
    :arg reauth_statuses: the statuses that say the token was rejected.
    """

    def __init__(self, transport: Transport, binding: Binding, reauth_statuses: Collection[int]) -> None:
        self._transport = transport
        self._binding = binding
        self._bound = binding.active  # DPoP or a certificate: fixed at construction
        self._reauth_statuses = reauth_statuses

    def fetch(
        self,
        tokens: TokenManager,
        reauth: Reauthentication,
        request: Union[str, HTTPRequest],
        raise_error: bool,
        kwargs: dict[str, Any],
    ) -> asyncio.Future[HTTPResponse]:
        """`TornadoClient.fetch` with ``tokens``: checked at once, then under way, as a future.

        Misuse is `ValueError` before any token is requested. With a valid token the
        request is sent before this returns, as Tornado's ``fetch`` sends it; else
        once the token is there. Sent whether or not anyone waits for the future.
        """
        if kwargs and not isinstance(request, str):
            raise ValueError("kwargs can't be used if request is an HTTPRequest object")
        outgoing = Outgoing(request, kwargs.pop("headers", None), kwargs, self._transport.for_request)
        cached = tokens.current()
        if cached is None:
            token = asyncio.ensure_future(tokens.get())
            return CallFuture(token, self._send_with(token, reauth, outgoing, raise_error))
        held = self._held(outgoing.request)
        attempt = self._attempt(outgoing, outgoing.request, cached, held)
        return CallFuture(attempt.sent, self._finish(reauth, outgoing, raise_error, cached, attempt, held))

    async def _send_with(
        self, token: asyncio.Future[CachedToken], reauth: Reauthentication, outgoing: Outgoing, raise_error: bool
    ) -> HTTPResponse:
        cached = await token
        held = self._held(outgoing.request)
        attempt = self._attempt(outgoing, outgoing.request, cached, held)
        return await self._finish(reauth, outgoing, raise_error, cached, attempt, held)

    async def _finish(
        self,
        reauth: Reauthentication,
        outgoing: Outgoing,
        raise_error: bool,
        cached: CachedToken,
        attempt: Attempt,
        held: Optional[Held],
    ) -> HTTPResponse:
        """The rest of the request once ``attempt`` is sent: its redirects, a DPoP nonce, a replay."""
        # `outcome(attempt)`, written out: one coroutine less on every request's path.
        response, token_seen = attempt.answered(await attempt.sent), True
        if attempt.redirected(response):
            response, token_seen = await attempt.follow(response)
        request = outgoing.request
        if token_seen and self._bound and self._nonce_again(request, response):
            # RFC 9449 sec. 9: the same token, new proofs with the resource's nonce; no re-authentication.
            held = self._held(request)
            response, token_seen = await outcome(self._attempt(outgoing, outgoing.fresh(), cached, held))
        answered = response
        # A rejection from a hop the token did not go to says nothing about the token.
        if token_seen and self._new_token_may_help(response):
            response = await self._after_rejection(reauth, cached, outgoing, response)
        elif token_seen and cached.after_rejection:
            reauth.answered(cached, "", response.code, False)
        if held is not None and response is answered:
            held.release()  # kept for a replay that did not happen
        if raise_error and response.error is not None:
            raise response.error
        return response

    def _held(self, request: HTTPRequest) -> Optional[Held]:
        """Where the caller's callbacks' share of an answer waits until it is known to be the one returned."""
        if (request.header_callback or request.streaming_callback) and request.body_producer is None:
            return Held(self._sent_again_for)
        return None

    def _attempt(
        self, outgoing: Outgoing, request: HTTPRequest, cached: CachedToken, held: Optional[Held]
    ) -> Attempt:
        binder = self._binding.for_token(cached.token) if self._bound else None
        return Attempt(outgoing.http_client, request, cached.authorization, outgoing.fresh, binder, held)

    async def _after_rejection(
        self, reauth: Reauthentication, rejected: CachedToken, outgoing: Outgoing, response: HTTPResponse
    ) -> HTTPResponse:
        """What to return once ``response`` rejected the token: the replay's answer, or ``response``."""
        host = urllib.parse.urlsplit(outgoing.request.url).netloc
        renewed = await reauth.renew(rejected, host, response.code, outgoing.request.body_producer is None)
        if renewed is None:
            return response
        replayed, token_seen = await outcome(self._attempt(outgoing, outgoing.fresh(), renewed, None))
        if token_seen:
            reauth.answered(renewed, host, replayed.code, self._new_token_may_help(replayed))
        return replayed

    def _nonce_again(self, request: HTTPRequest, response: HTTPResponse) -> bool:
        """Whether the resource asked for a DPoP nonce and the request can go once more."""
        return request.body_producer is None and self._binding.wants_nonce(response, token_endpoint=False)

    def _new_token_may_help(self, response: HTTPResponse) -> bool:
        if response.code not in self._reauth_statuses or self._binding.wants_nonce(response, token_endpoint=False):
            return False
        challenge = bearer_challenge(response)
        if challenge is None or challenge.wants_new_token:
            return True
        log.debug("resource answered %d with Bearer error %s: a new token would not help, not replayed",
                  response.code, challenge.error)
        return False

    def _sent_again_for(self, code: int, headers: HTTPHeaders) -> bool:
        """Whether an answer (its status and headers) may send the request again: a rejection, a DPoP nonce."""
        if code not in self._reauth_statuses:
            return False
        challenge = bearer_challenge(headers)
        return challenge is None or challenge.wants_new_token
