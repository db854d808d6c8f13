"""When a token stops being used and when its replacement is fetched: pure arithmetic."""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

from ._token import Token


@dataclasses.dataclass(frozen=True, repr=False)
class CachedToken:
    """A token as this process uses it, with deadlines on the monotonic clock.

    ``after_rejection`` marks a token obtained because the resource rejected the
    one before it: its own rejection starts the re-authentication cool-down.

    ``expires`` is when the endpoint said it expires (``expires_in``, capped by
    ``max_token_lifetime``): past ``use_until`` it serves only in the stale-token
    grace, and never past ``expires``.
    """

    token: Token
    authorization: str
    use_until: float
    refresh_at: float
    after_rejection: bool = False
    expires: float = math.inf

    def __repr__(self) -> str:
        return f"<CachedToken of {self.token!r}>"


@dataclasses.dataclass(frozen=True)
class ExpiryPolicy:
    """``expiry_margin``, ``refresh_ahead`` and ``max_token_lifetime`` as one rule.

    A token is used until ``expires_in - min(expiry_margin, expires_in / 2)`` has
    passed since it was issued (capped by ``max_token_lifetime``); one background
    refresh starts ``refresh_ahead`` of the way from the token's arrival to that
    point, so a slow endpoint never makes a fresh token due at once.
    """

    expiry_margin: float = 30.0
    refresh_ahead: Optional[float] = 0.8
    max_token_lifetime: Optional[float] = None

    def usable_lifetime(self, token: Token) -> float:
        """Seconds from issue during which ``token`` is used (``inf``: until rejected)."""
        lifetime = math.inf
        if token.expires_in is not None:
            lifetime = token.expires_in - min(self.expiry_margin, token.expires_in / 2)
        if self.max_token_lifetime is not None:
            lifetime = min(lifetime, self.max_token_lifetime)
        return lifetime

    def schedule(
        self, token: Token, monotonic_now: float, wall_now: float, *, arrived: bool = False,
        after_rejection: bool = False,
    ) -> CachedToken:
        """Deadlines for ``token``, placed on the monotonic clock by its age on the wall clock.

        :arg arrived: whether ``token`` arrived from the endpoint just now; the
            refresh point of a token read from a store counts from its issue, as
            its arrival there is not known.
        :arg after_rejection: whether it was obtained because the resource rejected the previous one.
        """
        born = monotonic_now - max(0.0, wall_now - token.issued_at)
        lifetime = self.usable_lifetime(token)
        use_until = born + lifetime
        refresh_at = use_until  # the hot path checks expiry only once refresh is due
        if self.refresh_ahead is not None and math.isfinite(lifetime):
            start = monotonic_now if arrived else born
            refresh_at = start + self.refresh_ahead * (use_until - start)
        return CachedToken(token, f"{token.token_type} {token.access_token}", use_until, refresh_at, after_rejection,
                           expires=born + self.real_lifetime(token))

    def real_lifetime(self, token: Token) -> float:
        """Seconds from issue until ``token`` expires by ``expires_in`` and ``max_token_lifetime``."""
        lifetime = math.inf if token.expires_in is None else token.expires_in
        if self.max_token_lifetime is not None:
            lifetime = min(lifetime, self.max_token_lifetime)
        return lifetime
