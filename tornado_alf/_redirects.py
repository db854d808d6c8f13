"""The redirect chain of a resource request, followed here so that the token stays at its origin.

Tornado strips ``Authorization`` on a cross-origin redirect only since 6.5.6, never
puts it back on a later hop at the caller's origin, and Curl has rules of its own.
So every hop goes out with ``follow_redirects=False`` and `Attempt` follows the chain
with Tornado's rules (``simple_httpclient``'s ``_should_follow_redirect`` and
``finish``): ``follow_redirects``, ``max_redirects``, 301/302 POST and 303 become a
GET without body, ``Location`` resolved against the hop's URL; the response returned
has the caller's ``request`` and the last hop's ``effective_url``. The token goes on
every hop at the origin of the caller's request, and on no other.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any, Callable, Optional, Protocol

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders, HTTPInputError

from ._curl import hide_credentials

REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Dropped with the body when a redirect turns the request into a GET, as Tornado does.
_BODY_HEADERS = ("Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding")
# Never sent to another origin; libcurl and Tornado drop the same two.
_CREDENTIAL_HEADERS = ("Authorization", "Cookie")

Origin = tuple[str, str, Optional[int]]


def origin(url: str) -> Optional[Origin]:
    """``(scheme, host, port)`` of ``url``, the default port filled in; ``None`` if it has no valid port."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", _DEFAULT_PORTS.get(scheme) if port is None else port


def target(base: str, location: str) -> str:
    """``location`` resolved against ``base``, without user info: a redirect cannot supply credentials."""
    url = urllib.parse.urljoin(base, location)
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=host))


class Attempt:
    """One attempt of a resource request: its first hop sent at once; the redirects it answers, followed.

    :arg first: the caller's request, copied: ours to send and to annotate.
    :arg fresh: another such copy, each call; a hop starts from one, never from a
        request Tornado has sent (it writes ``Host`` and others onto those).
    :arg binding: for sender-constrained tokens: binds each hop that carries the
        token (a DPoP proof of its own) and sees each hop's response (its nonce).
    :arg held: for an attempt that may be replayed: an answer it says will be
        (on a hop that had the token) is kept from the caller's callbacks.

    ``sent`` is the first hop's response to come, as `AsyncHTTPClient.fetch` gives
    it with ``raise_error=False``. Then::

        response, token_seen = attempt.answered(await attempt.sent), True
        if attempt.redirected(response):
            response, token_seen = await attempt.follow(response)

    ``token_seen`` tells whether the hop that answered had the token.
    """

    __slots__ = ("_authorization", "_binding", "_client", "_first", "_fresh", "_held", "_saved", "sent")

    def __init__(
        self,
        client: AsyncHTTPClient,
        first: HTTPRequest,
        authorization: str,
        fresh: Callable[[], HTTPRequest],
        binding: Optional[HopBinding] = None,
        held: Optional[Held] = None,
    ) -> None:
        first.headers["Authorization"] = authorization
        if binding is not None:
            binding.bind(first)
        self._client, self._first, self._authorization, self._fresh = client, first, authorization, fresh
        self._binding, self._held = binding, held
        # What the hop changes on the caller's copy, put back: the response's request shows it.
        self._saved = (first.follow_redirects, first.header_callback, first.streaming_callback,
                       first.prepare_curl_callback)
        gated = (first.header_callback is not None or first.streaming_callback is not None) and self._budget() > 0
        self.sent = _hop(client, first, gated=gated, held=held)

    def _budget(self) -> int:
        """How many redirects to follow: none unless ``follow_redirects``, else ``max_redirects``."""
        first = self._first
        defaults: dict[str, Any] = self._client.defaults  # HTTPRequest._DEFAULTS, then the client's own
        follow = defaults.get("follow_redirects") if self._saved[0] is None else self._saved[0]
        budget: Optional[int] = defaults.get("max_redirects") if first.max_redirects is None else first.max_redirects
        return (budget or 0) if follow else 0

    def answered(self, response: HTTPResponse) -> HTTPResponse:
        """The first hop's ``response``, the caller's request restored on it (the token was on that hop)."""
        first = self._first
        first.follow_redirects, first.header_callback, first.streaming_callback, first.prepare_curl_callback = (
            self._saved)
        if self._binding is not None:
            self._binding.observe(response)
        return response

    def redirected(self, response: HTTPResponse) -> bool:
        """Whether ``response`` (the first hop's) is a redirect to follow."""
        return follows(response) and self._budget() > 0

    async def follow(self, response: HTTPResponse) -> tuple[HTTPResponse, bool]:
        """The end of the redirect chain ``response`` starts, and whether its hop had the token."""
        first, binding, budget = self._first, self._binding, self._budget()
        home = origin(first.url)
        hop, method, bodiless = first, first.method, False
        carried = True
        while budget > 0 and follows(response):
            budget -= 1
            url = target(hop.url, response.headers["Location"])
            if (response.code == 303 and method != "HEAD") or (response.code in (301, 302) and method == "POST"):
                method, bodiless = "GET", True
            hop = self._fresh()
            hop.url, hop.method = url, method
            if bodiless:
                hop.body = None  # type: ignore[assignment]  # Tornado's setter takes None too
                hop.body_producer = None
                _drop(hop, _BODY_HEADERS)
            _drop(hop, ("Host",))
            carried = home is not None and origin(url) == home
            if carried:
                hop.headers["Authorization"] = self._authorization
                if binding is not None:
                    binding.bind(hop)
            else:
                _drop(hop, _CREDENTIAL_HEADERS)
            response = await _hop(self._client, hop, gated=budget > 0, held=self._held if carried else None)
            if binding is not None:
                binding.observe(response)
        # As Tornado does: the caller's request, the URL the answer came from.
        response.request = first
        return response, carried


async def outcome(attempt: Attempt) -> tuple[HTTPResponse, bool]:
    """The answer to ``attempt``, its redirects followed, and whether the hop that answered had the token."""
    response = attempt.answered(await attempt.sent)
    if attempt.redirected(response):
        return await attempt.follow(response)
    return response, True


class HopBinding(Protocol):
    """Binds the hops that carry a sender-constrained token (`tornado_alf._binding.TokenBinder`)."""

    def bind(self, request: HTTPRequest) -> None:
        """Add what proves possession to a hop that carries the token (a DPoP proof of its own)."""

    def observe(self, response: HTTPResponse) -> None:
        """Read what a hop's response says for the next proofs (its ``DPoP-Nonce``)."""


def follows(response: HTTPResponse) -> bool:
    """Whether ``response`` is a redirect to follow (when follow_redirects allows it)."""
    return response.code in REDIRECT_CODES and response.headers.get("Location") is not None


def _drop(request: HTTPRequest, names: tuple[str, ...]) -> None:
    for name in names:
        if name in request.headers:
            del request.headers[name]


def _hop(
    client: AsyncHTTPClient, request: HTTPRequest, *, gated: bool, held: Optional[Held] = None
) -> asyncio.Future[HTTPResponse]:
    """One hop, never followed by the HTTP client itself.

    :arg gated: whether a redirect answer would be followed (here): then the
        caller's callbacks do not see it, as they do not in Tornado.
    :arg held: whether an answer is to be kept from the callbacks for a replay.
    """
    hide_credentials(client, request)
    request.follow_redirects = False
    if (gated or held is not None) and (request.header_callback is not None or request.streaming_callback is not None):
        gate = _Gate(request.header_callback, request.streaming_callback, gated, held)
        request.header_callback = gate.header
        request.streaming_callback = gate.chunk if request.streaming_callback is not None else None
    try:
        return client.fetch(request, raise_error=False)
    except HTTPInputError:  # Tornado 6.6 on copying the headers; its message quotes the value, maybe a secret
        raise ValueError("a header name or value has a CR, LF or another character not allowed") from None


class Held:
    """The callbacks' share of an answer that its attempt's replay may replace.

    :arg replayed: told an answer's status and headers at the end of its header
        block, whether the attempt will be sent again for it. Those answers are
        kept here (a rejection: a short body) rather than passed on; `release`
        passes them on after all, when the answer is the one returned.
    """

    def __init__(self, replayed: Callable[[int, HTTPHeaders], bool]) -> None:
        self.replayed = replayed
        self._kept: list[tuple[Callable[[Any], Any], Any]] = []

    def keep(self, callback: Optional[Callable[[Any], Any]], item: Any) -> None:
        if callback is not None:
            self._kept.append((callback, item))

    def release(self) -> None:
        """Pass what was kept to the callbacks, in order; once."""
        kept, self._kept = self._kept, []
        for callback, item in kept:
            callback(item)


class _Gate:
    """Passes a hop's header lines and body to the caller's callbacks unless the hop is held back.

    Undecided until the end of a header block: a redirect with a ``Location`` to
    follow is dropped with its body; an answer its attempt will be replayed for
    is kept in `Held`; anything else is passed on as it comes. Informational
    blocks (100 Continue, as Curl reports them) are passed on.
    """

    def __init__(
        self,
        header_callback: Optional[Callable[[str], None]],
        streaming_callback: Optional[Callable[[bytes], Any]],
        follow: bool = True,
        held: Optional[Held] = None,
    ) -> None:
        self._header_callback = header_callback
        self._streaming_callback = streaming_callback
        self._follow = follow
        self._held = held
        self._block: list[str] = []
        self._passing: Optional[bool] = None
        self._keeping = False
        self._early: list[bytes] = []

    def header(self, line: str) -> None:
        if self._passing is None:
            self._block.append(line)
            if line.strip():
                return
            block, self._block = self._block, []
            code = _status(block[0])
            headers = _headers(block[1:])
            if self._follow and code in REDIRECT_CODES and "Location" in headers:
                self._passing = False
                return
            if code >= 200:
                self._passing = True
                self._keeping = self._held is not None and self._held.replayed(code, headers)
            for item in block:
                self._pass(item)
            early, self._early = self._early, []
            for data in early:
                self.chunk(data)
        elif self._passing:
            self._pass(line)

    def _pass(self, line: str) -> None:
        if self._keeping and self._held is not None:
            self._held.keep(self._header_callback, line)
        elif self._header_callback is not None:
            self._header_callback(line)

    def chunk(self, data: bytes) -> Any:
        if self._passing is None:  # Curl may deliver body before the header lines' callbacks
            self._early.append(data)
            return None
        if self._passing is False or self._streaming_callback is None:
            return None
        if self._keeping and self._held is not None:
            self._held.keep(self._streaming_callback, data)
            return None
        return self._streaming_callback(data)


def _headers(lines: list[str]) -> HTTPHeaders:
    try:
        return HTTPHeaders.parse("".join(line for line in lines if line.strip()))
    except HTTPInputError:  # the HTTP client reports its own error for such an answer
        return HTTPHeaders()


def _status(start_line: str) -> int:
    try:
        return int(start_line.split(None, 2)[1])
    except (IndexError, ValueError):
        return 0
