"""`MemoryTokenStore`: tokens in this process's memory, shared by the clients given one instance."""

from __future__ import annotations

from typing import Optional

__all__ = ["MemoryTokenStore"]


class MemoryTokenStore:
    """Tokens in this process's memory; clients given the same instance share tokens.

    .. versionadded:: 1.0
    """

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str) -> Optional[str]:
        """The value stored under ``key``, or ``None``."""
        return self._values.get(key)

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        self._values[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._values.pop(key, None)

    def __repr__(self) -> str:
        return f"<MemoryTokenStore, {len(self._values)} token(s)>"
