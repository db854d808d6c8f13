"""When the token endpoint struggles: which failures start a cool-down, how long it lasts, what callers get.

After a token request fails for a server-side reason (5xx, 429, or no answer: 599),
calls that need a new token fail at once with a repeat of that `TokenError` until the
cool-down ends, instead of each starting a retry sequence of its own against an
endpoint that is already struggling. A client error (``invalid_client``, any other
4xx) starts none: a fix at the server is seen by the very next call.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from typing import Callable, Optional

from .errors import TokenError
from .retry import NETWORK_FAILURE, parse_retry_after


def server_side(code: int) -> bool:
    """Whether a token request that ended with ``code`` failed through no fault of the client's."""
    return code == 429 or 500 <= code <= NETWORK_FAILURE


@dataclasses.dataclass(frozen=True)
class CooldownPolicy:
    """How long no token request starts after a server-side failure.

    :arg seconds: the cool-down (``failure_cooldown``); 0 turns it off.
    :arg backoff_max: the longest cool-down a ``Retry-After`` may ask for (``Retry.backoff_max``).
    :arg respect_retry_after: whether ``Retry-After`` sets the length (``Retry.respect_retry_after_header``).
    """

    seconds: float = 5.0
    backoff_max: float = 120.0
    respect_retry_after: bool = True

    def length(self, error: TokenError) -> float:
        """Seconds of cool-down after ``error``; 0 for none. ``Retry-After`` wins, capped by ``backoff_max``."""
        if self.seconds <= 0 or not server_side(error.code):
            return 0.0
        response = error.response
        if self.respect_retry_after and response is not None and error.code != NETWORK_FAILURE:
            header = response.headers.get("Retry-After")
            asked = None if header is None else parse_retry_after(header)
            if asked is not None:
                return min(self.backoff_max, asked)
        return self.seconds


class Cooldown:
    """The last server-side failure of one client's token requests, and until when it is repeated.

    :arg policy: how long each cool-down lasts.
    :arg clock: the monotonic clock.
    """

    def __init__(self, policy: CooldownPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._error: Optional[TokenError] = None
        self._since = 0.0
        self._until = 0.0
        #: Whether the latest token request failed for a server-side reason (no success since).
        self.failing = False
        self._repeats: weakref.WeakSet[BaseException] = weakref.WeakSet()

    def failed(self, error: TokenError) -> float:
        """Note a failed token request; the cool-down it starts, in seconds (0: none)."""
        self.failing = server_side(error.code)
        seconds = self.policy.length(error)
        if seconds > 0:
            self._error, self._since, self._until = error, self._clock(), self._clock() + seconds
        return seconds

    def fleet_failed(self, status: int, seconds_left: float) -> None:
        """Note that the token request of another process sharing the store failed with ``status``."""
        self.failing = True
        now = self._clock()
        message = "another process sharing the token store saw the token endpoint fail"
        self._error, self._since, self._until = TokenError(status, message), now, now + seconds_left

    def succeeded(self) -> None:
        """Note a token obtained: the endpoint answers again."""
        self.failing = False
        self._error, self._until = None, 0.0

    def active(self) -> bool:
        """Whether calls that need a new token fail at once now."""
        return self._error is not None and self._clock() < self._until

    def repeat(self) -> TokenError:
        """The `TokenError` for a call during the cool-down: the failure's, said to be a repeat."""
        error = self._error
        assert error is not None, "repeat() outside a cool-down"  # noqa: S101 - callers check active()
        now = self._clock()
        # The repeat first: a long message is cut at the end.
        message = (
            f"repeat of the failure {now - self._since:.1f} s ago, no token request for "
            f"{max(0.0, self._until - now):.1f} s more (cool-down): {error.message}"
        )
        repeat = TokenError(error.code, message, error.response, error=error.error,
                            error_description=error.error_description, error_uri=error.error_uri)
        self._repeats.add(repeat)
        return repeat

    def is_repeat(self, error: BaseException) -> bool:
        """Whether ``error`` is a repeat made here (the failure it repeats was logged already)."""
        return error in self._repeats

    def __repr__(self) -> str:
        if not self.active():
            return f"<Cooldown off, {self.policy.seconds:g} s after a failure>"
        return f"<Cooldown {self._until - self._clock():.1f} s left after a {self._error.code if self._error else 0}>"
