"""tornado-alf: an OAuth 2.0 client-credentials client for Tornado.

The public names are re-exported here (``__all__``). Inside, layers point one way:
``cli/`` uses the public API; `TornadoClient` (``client.py``) is built by ``_assembly``
from the core (``_manager``, ``_token_endpoint``, ...), which uses ``auth/`` and
``stores/``; values and errors sit at the bottom. docs/architecture.rst has the map;
``.importlinter`` checks it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._challenge import BearerChallenge, bearer_challenge
from ._grants import JwtBearerGrant, TokenExchange
from ._sources import FileSecret
from ._subjects import OnBehalfOf
from ._token import Token
from .client import TornadoClient
from .errors import TokenError
from .hooks import (
    ClientHooks,
    ClientStats,
    LoggingHooks,
    ReauthenticationEvent,
    RefreshAheadEvent,
    RetryEvent,
    TokenRequestEvent,
)
from .retry import Retry
from .stores.contract import TokenStore
from .stores.memory import MemoryTokenStore
from .stores.redis import RedisTokenStore
from .stores.sealing import EncryptedTokenStore

try:
    __version__ = version("tornado-alf")
except PackageNotFoundError:  # pragma: no cover - running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = [
    "BearerChallenge",
    "ClientHooks",
    "ClientStats",
    "EncryptedTokenStore",
    "FileSecret",
    "JwtBearerGrant",
    "LoggingHooks",
    "MemoryTokenStore",
    "OnBehalfOf",
    "ReauthenticationEvent",
    "RedisTokenStore",
    "RefreshAheadEvent",
    "Retry",
    "RetryEvent",
    "Token",
    "TokenError",
    "TokenExchange",
    "TokenRequestEvent",
    "TokenStore",
    "TornadoClient",
    "__version__",
    "bearer_challenge",
]
