"""tornado-alf: an OAuth 2.0 client-credentials client for Tornado."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._sealing import EncryptedTokenStore
from .client import TornadoClient
from .errors import TokenError
from .retry import Retry
from .stores import MemoryTokenStore, TokenStore

try:
    __version__ = version("tornado-alf")
except PackageNotFoundError:  # pragma: no cover - running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = [
    "EncryptedTokenStore",
    "MemoryTokenStore",
    "Retry",
    "TokenError",
    "TokenStore",
    "TornadoClient",
    "__version__",
]
