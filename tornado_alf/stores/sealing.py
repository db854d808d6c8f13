"""Tokens sealed at rest: authenticated encryption of stored values, for shared stores.

Optional: needs ``cryptography`` (``pip install 'tornado-alf[encryption]'``). The
cipher is Fernet (AES-128-CBC with HMAC-SHA256, random IV), so a reader of the
cache learns nothing usable and a writer cannot forge or alter a value.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from .contract import wants_bytes

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

__all__ = ["EncryptedTokenStore", "Sealer"]

log = logging.getLogger("tornado_alf")

EncryptionKey = Union[str, bytes]
EncryptionKeys = Union[EncryptionKey, Sequence[EncryptionKey]]


class Sealer:
    """Seals text stored under a key and opens it back; the codec shared stores call.

    The first key seals; every key opens, so keys rotate by putting the new one
    first and keeping the old ones until the values they sealed have expired.
    The store key is sealed with the value: a value copied under another key
    (another client, scope or endpoint) does not open there.

    :arg encryption_key: a Fernet key (``cryptography.fernet.Fernet.generate_key()``,
        str or bytes) or a list of them, newest first.
    :raises ValueError: for an empty list or a value that is not a Fernet key
        (the message never shows the value).
    :raises ImportError: when ``cryptography`` is not installed.

    .. versionadded:: 1.0
    """

    def __init__(self, encryption_key: EncryptionKeys) -> None:
        try:
            from cryptography.fernet import Fernet, InvalidToken, MultiFernet
        except ImportError:
            raise ImportError(
                "encryption_key needs the cryptography package: pip install 'tornado-alf[encryption]'"
            ) from None
        keys = _key_list(encryption_key)
        if not keys:
            raise ValueError("encryption_key must be a Fernet key or a non-empty list of them")
        fernets = []
        for key in keys:
            if not isinstance(key, (str, bytes)):
                raise TypeError(f"encryption_key must hold str or bytes Fernet keys, not {type(key).__name__}")
            try:
                fernets.append(Fernet(key))
            except ValueError:  # binascii.Error is a ValueError too
                raise ValueError(
                    "encryption_key holds a value that is not a Fernet key (32 url-safe base64-encoded "
                    "bytes, as Fernet.generate_key() makes)"
                ) from None
        self._fernet: MultiFernet = MultiFernet(fernets)
        self._invalid = InvalidToken
        self._key_count = len(fernets)

    def seal(self, key: str, value: str) -> str:
        """``value`` sealed for the store key ``key``: URL-safe ASCII.

        :raises ValueError: for a ``key`` holding a newline, or text that is not
            valid Unicode (a lone surrogate: `UnicodeEncodeError`).
        """
        if "\n" in key:
            raise ValueError("a store key for sealed values cannot hold a newline")
        return self._fernet.encrypt(f"{key}\n{value}".encode()).decode("ascii")

    def open(self, key: str, sealed: Union[str, bytes]) -> Optional[str]:
        """The value sealed for ``key``; ``None`` if sealed with other keys, for another key, or not at all."""
        try:
            raw = sealed.encode("ascii") if isinstance(sealed, str) else sealed
            plain = self._fernet.decrypt(raw).decode("utf-8")
        except (self._invalid, UnicodeError):
            return None
        bound_key, newline, value = plain.partition("\n")
        if not newline or bound_key != key:
            return None
        return value

    def __repr__(self) -> str:
        return f"<Sealer with {self._key_count} key(s)>"


def _key_list(encryption_key: EncryptionKeys) -> list[object]:
    if isinstance(encryption_key, (str, bytes)):
        return [encryption_key]
    try:
        return list(encryption_key)
    except TypeError:
        kind = type(encryption_key).__name__
        raise TypeError(f"encryption_key must be a Fernet key or a list of them, not {kind}") from None


class EncryptedTokenStore:
    """A token store that seals every value before ``store`` sees it.

    Wraps any ``token_storage`` object with ``get``/``set`` (sync or async, and
    ``delete`` when it has one): a dict-like cache, ``redis.asyncio.Redis``,
    pymemcache. A value that does not open with ``encryption_key`` (sealed with
    another key, copied from another key, or written in clear) reads as absent:
    the client fetches a new token and overwrites it. For `RedisTokenStore`
    pass ``encryption_key`` to it instead::

        store = EncryptedTokenStore(redis.asyncio.Redis(), encryption_key=[new_key, old_key])
        client = TornadoClient(endpoint, client_id, secret, token_storage=store)

    :arg store: the object that keeps the sealed values.
    :arg encryption_key: a Fernet key or a list of them, newest first: the first seals, every one opens.

    .. versionadded:: 1.0
    """

    def __init__(self, store: Any, encryption_key: EncryptionKeys) -> None:
        for method in ("get", "set"):
            if not callable(getattr(store, method, None)):
                raise TypeError(
                    f"store must have get() and set(); {type(store).__name__} lacks {method}() "
                    "(for RedisTokenStore, pass encryption_key to it)"
                )
        self.store = store
        #: Whether ``store`` takes bytes keys and values (aiomcache); keys and values
        #: come and go here in the same type, so the client above passes bytes too.
        self.wants_bytes = wants_bytes(store)
        self._sealer = Sealer(encryption_key)

    def get(self, key: Union[str, bytes]) -> Any:
        """The opened value under ``key`` (awaitable if ``store.get`` is), ``None`` if absent or not ours."""
        raw = self.store.get(key)
        if inspect.isawaitable(raw):
            return self._open_later(_text(key), raw)
        return self._open(_text(key), raw)

    def set(self, key: Union[str, bytes], value: Union[str, bytes]) -> Any:
        """Seal ``value`` and store it under ``key`` (as bytes when ``key`` is bytes)."""
        sealed = self._sealer.seal(_text(key), _text(value))
        return self.store.set(key, sealed.encode("ascii") if isinstance(key, bytes) else sealed)

    def delete(self, key: Union[str, bytes]) -> Any:
        """Delete ``key`` when ``store`` can; otherwise the next token overwrites it."""
        delete = getattr(self.store, "delete", None)
        return delete(key) if callable(delete) else None

    async def _open_later(self, key: str, raw: Any) -> Optional[str]:
        return self._open(key, await raw)

    def _open(self, key: str, raw: object) -> Optional[str]:
        if raw is None:
            return None
        if not isinstance(raw, (str, bytes)):
            raise ValueError(f"stored value is a {type(raw).__name__}, not text")
        value = self._sealer.open(key, raw)
        if value is None:
            log.debug("a stored token does not open with the encryption keys; treated as absent")
        return value

    def __repr__(self) -> str:
        return f"<EncryptedTokenStore over {type(self.store).__name__}, {self._sealer!r}>"


def _text(value: Union[str, bytes]) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
