"""The HTTP clients of one `TornadoClient`, per event loop: one for resources, a sibling for tokens.

Token requests never wait in the resource requests' queue: with ``max_clients``
resource requests in flight, a refresh on the same client would queue behind them
(and fail with ``599 Timeout in request queue``). They go through a sibling of the
resource client: the same class and configuration, ``force_instance=True``, a queue
of its own.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Optional

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from ._curl import curl_class, is_curl
from ._plain_http import refuse_plain_http

_Loop = asyncio.AbstractEventLoop

# How often a busy Curl token client is looked at again before it is closed, in seconds.
_IDLE_POLL = 0.5


def sibling(client: Optional[AsyncHTTPClient]) -> AsyncHTTPClient:
    """A new client like ``client`` (Tornado's configured one for ``None``), with a queue of its own.

    Tornado's two clients are copied with their defaults (and, for the simple
    client, its resolver, so a ``hostname_mapping`` holds, and size limits). A
    subclass of another kind cannot be copied faithfully: it is returned itself.
    """
    if client is None:
        return AsyncHTTPClient(force_instance=True)
    if type(client) is SimpleAsyncHTTPClient:
        return SimpleAsyncHTTPClient(
            force_instance=True,
            defaults=client.defaults,
            resolver=client.resolver,
            max_buffer_size=client.max_buffer_size,
            max_header_size=client.max_header_size,
            max_body_size=client.max_body_size,
        )
    if type(client) is curl_class():
        return type(client)(force_instance=True, defaults=client.defaults)
    return client


class Transport:
    """Which `AsyncHTTPClient` sends what, on the running loop.

    :arg http_client: the caller's client for resources, or ``None`` for Tornado's
        shared client of each loop.
    :arg insecure_http_allowed: whether plain http off the loopback may carry the token.
    """

    def __init__(self, http_client: Optional[AsyncHTTPClient], insecure_http_allowed: bool) -> None:
        self._given = http_client
        self._insecure_http_allowed = insecure_http_allowed
        self._allowed_origin = "https://"  # a URL starting so passed the plain-http check
        self._bound: Optional[tuple[_Loop, AsyncHTTPClient]] = None
        self._token_clients: weakref.WeakKeyDictionary[_Loop, AsyncHTTPClient] = weakref.WeakKeyDictionary()
        self._own: list[AsyncHTTPClient] = []

    def for_request(self, request: HTTPRequest) -> AsyncHTTPClient:
        """The client to send ``request`` with, once it is known that it can be sent with a token.

        :raises ValueError: for plain http off the loopback (unless allowed), or a
            ``body_producer`` on the Curl client, which ignores it.
        :raises RuntimeError: for a Curl ``http_client`` of another event loop.
        """
        url = request.url
        if not url.startswith(self._allowed_origin):  # else: as the last request, checked then
            refuse_plain_http(url, "the request URL", "the bearer token", self._insecure_http_allowed)
            self._allowed_origin = _origin_prefix(url)
        client = self.resource_client()
        if request.body_producer is not None and is_curl(client):
            raise ValueError(
                "body_producer is not supported with CurlAsyncHTTPClient (Tornado's Curl client ignores "
                "it); pass body=, or use the simple HTTP client for this request"
            )
        return client

    def resource_client(self) -> AsyncHTTPClient:
        """The client for resource requests on the running loop."""
        loop = asyncio.get_running_loop()
        bound = self._bound
        # Looked up again only when the loop changes or Tornado's shared client was
        # closed: AsyncHTTPClient() on every send cost about 10 us per request.
        if bound is None or bound[0] is not loop or bound[1]._closed:
            bound = self._bound = (loop, self._resource_client(loop))
        return bound[1]

    def _resource_client(self, loop: _Loop) -> AsyncHTTPClient:
        given = self._given
        if given is None:
            return AsyncHTTPClient()
        if is_curl(given) and getattr(given.io_loop, "asyncio_loop", loop) is not loop:
            # Its requests would wait for a loop that never runs them: refused, not hung.
            raise RuntimeError(
                "http_client is a CurlAsyncHTTPClient of another event loop (created before this loop "
                "ran, e.g. at import time?): create it inside a coroutine on the running loop, or leave "
                "http_client unset to use Tornado's shared client of each loop"
            )
        return given

    def token_client(self) -> AsyncHTTPClient:
        """The client for token requests on the running loop: never the resource client's queue."""
        loop = asyncio.get_running_loop()
        client = self._token_clients.get(loop)
        if client is None or client._closed:
            client = self._token_clients[loop] = sibling(self._given)
            if client is not self._given:
                self._own = [*_open(self._own), client]
        return client

    def close(self) -> None:
        """Close the token clients made here; the caller's and Tornado's shared ones stay open."""
        own, self._own = self._own, []
        for client in own:
            close_when_idle(client)


def _origin_prefix(url: str) -> str:
    """``scheme://authority/`` of ``url``: every URL that starts so goes to the same origin.

    ``https://`` when ``url`` has no path after its authority: a prefix without the
    ``/`` would also match ``http://host.evil`` after ``http://host``.
    """
    scheme, sep, rest = url.partition("://")
    authority, slash, _ = rest.partition("/")
    if not sep or not slash or any(mark in authority for mark in "?#@\\"):
        return "https://"
    return f"{scheme}{sep}{authority}/"


def close_when_idle(client: AsyncHTTPClient) -> None:
    """Close ``client`` now, or once the requests it has in flight are done.

    Tornado's Curl client closed with a request in flight never finishes that
    request and logs an AttributeError from its timer; the simple client closed
    so leaves that request's connection open. The wait is bounded by the
    request's own timeout.
    """
    loop = getattr(client.io_loop, "asyncio_loop", None)
    if is_curl(client):
        busy = client._requests or len(client._free_list) < len(client._curls)  # type: ignore[attr-defined]
    else:
        busy = bool(getattr(client, "active", None) or getattr(client, "queue", None))
    if not busy or loop is None or loop.is_closed():
        client.close()
    else:
        client.io_loop.call_later(_IDLE_POLL, close_when_idle, client)


def _open(clients: list[AsyncHTTPClient]) -> list[AsyncHTTPClient]:
    """``clients`` whose loop still runs; the others closed, so that loop after loop leaks nothing."""
    kept = []
    for client in clients:
        loop = getattr(client.io_loop, "asyncio_loop", None)
        if loop is not None and loop.is_closed():
            close_when_idle(client)
        else:
            kept.append(client)
    return kept
