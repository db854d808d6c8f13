"""On-behalf-of calls: one token per subject (RFC 8693), in a bounded LRU of token managers.

A handler that calls another API for its caller exchanges the caller's token for one
of its own. `Subjects` keeps one `TokenManager` per subject (keyed by a digest of the
subject token, never the token), so each subject's token is cached, refreshed ahead
and single-flighted like the client's own; the least recently used subject goes when
``max_subjects`` are held, and subjects whose token has expired go first.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Awaitable
from typing import Any, Callable, Union

from tornado.httpclient import HTTPRequest, HTTPResponse

from ._grants import GrantFields, TokenExchange
from ._manager import TokenManager
from ._reauth import Reauthentication
from ._token import Token

#: ``fetch_with(tokens, reauth, request, raise_error, kwargs)``: the client's fetch, with the given tokens.
FetchWith = Callable[
    [TokenManager, Reauthentication, Union[str, HTTPRequest], bool, dict[str, Any]], Awaitable[HTTPResponse]
]
#: One subject's token manager and what its rejections lead to (its own cool-down).
Subject = tuple[TokenManager, Reauthentication]

#: Expired subjects looked at (oldest first) each time a new subject comes: a bounded sweep.
_SWEEP = 2


class Subjects:
    """At most ``max_subjects`` token managers, one per distinct exchange, least recently used out first.

    :arg make: builds the manager of one exchange, and its re-authentication, given its grant.
    """

    def __init__(self, make: Callable[[GrantFields], Subject], max_subjects: int) -> None:
        self._make = make
        self._max = max_subjects
        self._managers: collections.OrderedDict[str, Subject] = collections.OrderedDict()

    def subject(self, exchange: TokenExchange, subject_token: str) -> Subject:
        """The manager of ``exchange`` and its re-authentication: those already held, or new ones."""
        digest = _digest(exchange, subject_token)
        held = self._managers.get(digest)
        if held is not None:
            self._managers.move_to_end(digest)
            return held
        for _ in range(_SWEEP):
            oldest = next(iter(self._managers.values()), None)
            if oldest is None or not oldest[0].expired():
                break
            self._managers.popitem(last=False)
        held = self._managers[digest] = self._make(GrantFields(exchange))
        while len(self._managers) > self._max:
            self._managers.popitem(last=False)
        return held

    def close(self) -> None:
        """Close every manager (their requests in flight fail with `TokenError`) and forget them."""
        for manager, _ in self._managers.values():
            manager.close()
        self._managers.clear()

    def __len__(self) -> int:
        return len(self._managers)

    def __repr__(self) -> str:
        return f"<Subjects {len(self._managers)} of at most {self._max}>"


def _digest(exchange: TokenExchange, subject_token: str) -> str:
    """Names one exchange: a digest of the subject token and what else is asked; never the token."""
    digest = hashlib.sha256(subject_token.encode())
    actor = None if exchange.actor_token is None else exchange.actor_token.identity
    for part in (exchange.subject_token_type, actor, exchange.actor_token_type, exchange.requested_token_type):
        digest.update(b"\0" + repr(part).encode())
    return digest.hexdigest()


class OnBehalfOf:
    """A view of a `TornadoClient` that sends each request with a token exchanged for one subject.

    Made by `TornadoClient.on_behalf_of`; cheap, so make one per incoming request.
    `fetch` and `get_token` are those of the client, with the subject's token.
    ``repr()`` never shows the subject token.

    :arg tokens: the subject's token manager.
    :arg reauth: what the subject's rejected tokens lead to.
    :arg fetch_with: the client's fetch, given a token manager.
    :arg closed: whether the client was closed.

    .. versionadded:: 2.0
    """

    def __init__(
        self, tokens: TokenManager, reauth: Reauthentication, fetch_with: FetchWith, closed: Callable[[], bool]
    ) -> None:
        self._tokens = tokens
        self._reauth = reauth
        self._fetch_with = fetch_with
        self._closed = closed

    def fetch(
        self, request: Union[str, HTTPRequest], raise_error: bool = True, **kwargs: Any
    ) -> Awaitable[HTTPResponse]:
        """`TornadoClient.fetch`, with the subject's token (exchanged once, then cached): a future too.

        :raises TokenError: when the exchange failed; the request was not sent.
        """
        if self._closed():
            raise RuntimeError("fetch() called on a closed TornadoClient")
        return self._fetch_with(self._tokens, self._reauth, request, raise_error, kwargs)

    async def get_token(self) -> Token:
        """The subject's token `fetch` would send now.

        :raises TokenError: when the exchange failed.
        """
        if self._closed():
            raise RuntimeError("get_token() called on a closed TornadoClient")
        cached = self._tokens.current() or await self._tokens.get()
        return cached.token

    def __repr__(self) -> str:
        return f"<OnBehalfOf a subject: {self._tokens!r}>"


def subject_key(base: str, fingerprint: str) -> str:
    """The store key of one exchange: the client's key, and a digest of what names the exchange."""
    return hashlib.sha256(f"{base}\0{fingerprint}".encode()).hexdigest()


def check_max_subjects(value: object) -> int:
    """``max_subjects`` as given, if it is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("max_subjects must be an int >= 1")
    return value

