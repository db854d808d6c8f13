"""The access token as the endpoint issued it: an immutable value."""

from __future__ import annotations

import dataclasses
import time
from typing import Optional


@dataclasses.dataclass(frozen=True, repr=False)
class Token:
    """An access token and what the endpoint said about it (RFC 6749 sec. 5.1).

    ``issued_at`` is wall-clock epoch seconds, so that a token read back from a
    shared store can tell how much of its life is left. ``repr()`` never shows
    the token itself.

    :arg str access_token: the token to send as ``Authorization: <token_type>``; a secret.
    :arg str token_type: ``"Bearer"``, or ``"DPoP"`` for a token bound to the client's
        DPoP key (RFC 9449); other types are refused.
    :arg expires_in: seconds of life the endpoint gave from ``issued_at``; ``None``
        when it gave none (the token is used until the resource rejects it).
    :arg scope: the ``scope`` the endpoint granted, when it said.
    :arg float issued_at: wall-clock epoch seconds at which the token was requested.

    .. versionadded:: 1.0
    """

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: Optional[float] = None
    scope: Optional[str] = None
    issued_at: float = dataclasses.field(default_factory=time.time)

    @property
    def expires_at(self) -> Optional[float]:
        """Wall-clock epoch seconds at which the endpoint said the token expires."""
        if self.expires_in is None:
            return None
        return self.issued_at + self.expires_in

    def __repr__(self) -> str:
        life = "no expiry given" if self.expires_at is None else f"expires in {self.expires_at - time.time():.0f} s"
        return f"<Token {self.token_type}, {life}>"

    __str__ = __repr__
