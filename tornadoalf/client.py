"""``tornadoalf.client``: the original ``Client``, on top of `tornado_alf.TornadoClient`.

.. deprecated:: 1.0
   Use ``from tornado_alf import TornadoClient``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Optional, Union

from tornado.httpclient import HTTPRequest, HTTPResponse

from .manager import TokenError, new_client

__all__ = ["BAD_TOKEN", "Client", "TokenError"]

#: The resource status after which the original fetched a new token and replayed once.
BAD_TOKEN = 401

MIGRATE_CLIENT = (
    "tornadoalf.client.Client is deprecated: use `from tornado_alf import TornadoClient` "
    "(arguments: token_endpoint, client_id, client_secret)"
)

NO_CALLBACK = (
    "fetch(callback=...) is gone: Tornado 6 removed callbacks (tornado-alf 1.x did too); "
    "use `response = await client.fetch(...)`"
)


class Client:
    """The original tornado-alf client: ``fetch`` with a bearer token, one replay on 401.

    Note the argument order, the original's: ``client_id, client_secret,
    token_endpoint``. Tokens come from a `tornado_alf.TornadoClient` that sends the
    credentials by raw HTTP Basic, as the original did.

    :arg str client_id: the client identifier.
    :arg str client_secret: the client secret.
    :arg str token_endpoint: the token endpoint URL.
    :arg http_options: `~tornado.httpclient.HTTPRequest` keyword arguments for token requests.

    .. deprecated:: 1.0
       Emits a `DeprecationWarning`. Use ``from tornado_alf import TornadoClient``.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_endpoint: str,
        http_options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        warnings.warn(MIGRATE_CLIENT, DeprecationWarning, stacklevel=2)
        self._client = new_client(token_endpoint, client_id, client_secret, http_options)

    async def fetch(
        self, request: Union[str, HTTPRequest], raise_error: Any = True, **kwargs: Any
    ) -> HTTPResponse:
        """`tornado_alf.TornadoClient.fetch`, with the original's signature.

        Awaitable, and yieldable in ``@gen.coroutine``. A ``callback`` (by keyword,
        or a callable as the second positional argument, as tornado-alf 0.x took it)
        raises `TypeError`: Tornado 6 has no callbacks.

        :raises tornado_alf.TokenError: when no token could be obtained.
        :raises tornado.httpclient.HTTPClientError: for a non-2xx answer when
            ``raise_error`` is true.
        """
        if "callback" in kwargs or callable(raise_error):
            raise TypeError(NO_CALLBACK)
        return await self._client.fetch(request, bool(raise_error), **kwargs)

    def close(self) -> None:
        """Stop background token refreshes (not in the original; optional)."""
        self._client.close()

    def __repr__(self) -> str:
        return f"<tornadoalf Client, {self._client!r}>"
