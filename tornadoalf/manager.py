"""``tornadoalf.manager``: the original ``TokenManager``, on top of `tornado_alf.TornadoClient`.

.. deprecated:: 1.0
   Use `tornado_alf.TornadoClient.get_token`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Awaitable, Generator, Mapping
from typing import Any, Optional

from tornado_alf import TornadoClient

from .token import Token, TokenError, TokenHTTPError

__all__ = ["Token", "TokenError", "TokenHTTPError", "TokenManager"]

MIGRATE_MANAGER = (
    "tornadoalf.manager.TokenManager is deprecated: use "
    "`from tornado_alf import TornadoClient` and `await client.get_token()`"
)


def new_client(
    token_endpoint: str, client_id: str, client_secret: str, http_options: Optional[Mapping[str, Any]]
) -> TornadoClient:
    """A `TornadoClient` that authenticates as the original did: raw HTTP Basic."""
    # The original base64-encoded "id:secret" as given, without RFC 6749's form encoding.
    return TornadoClient(
        token_endpoint, client_id, client_secret, basic_auth_encoding="raw", http_options=http_options
    )


class _Done:
    """An awaitable that is already complete: ``reset_token()`` may be awaited or not."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield


class TokenManager:
    """Obtains and caches an access token, as the original ``tornadoalf.manager.TokenManager``.

    :arg str token_endpoint: the token endpoint URL.
    :arg str client_id: the client identifier.
    :arg str client_secret: the client secret, sent by HTTP Basic without form encoding.
    :arg http_options: `~tornado.httpclient.HTTPRequest` keyword arguments for token requests.

    .. deprecated:: 1.0
       Emits a `DeprecationWarning`. Use `tornado_alf.TornadoClient.get_token`.
    """

    def __init__(
        self,
        token_endpoint: str,
        client_id: str,
        client_secret: str,
        http_options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        warnings.warn(MIGRATE_MANAGER, DeprecationWarning, stacklevel=2)
        self._settings = (token_endpoint, client_id, client_secret, http_options)
        self._client = new_client(*self._settings)
        self._token = Token()

    def _has_token(self) -> bool:
        """Whether the token this manager last returned is still valid."""
        return self._token.is_valid()

    async def get_token(self) -> str:
        """The access token: the cached one while valid, else a new one from the endpoint.

        :raises tornado_alf.TokenError: when no token could be obtained.
        """
        token = await self._client.get_token()
        expires_at = token.expires_at
        expires_in = None if expires_at is None else max(0.0, expires_at - time.time())
        self._token = Token(token.access_token, expires_in)
        return token.access_token

    def reset_token(self) -> Awaitable[None]:
        """Forget the cached token: the next `get_token` asks the endpoint for a new one.

        The original's last releases made this a coroutine, earlier ones a plain
        call: the result may be awaited or ignored.
        """
        self._client.close()
        self._client = new_client(*self._settings)
        self._token = Token()
        return _Done()

    def __repr__(self) -> str:
        return f"<tornadoalf TokenManager, {self._client!r}>"
