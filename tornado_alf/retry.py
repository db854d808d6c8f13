"""Retry policy for the token request: urllib3's names and backoff, Tornado's sleeping."""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import random
import time
from collections.abc import Awaitable, Collection
from typing import Any, Callable, Optional, Union

__all__ = ["Retry", "parse_retry_after"]

#: Status code Tornado reports for connection errors and timeouts.
NETWORK_FAILURE = 599


@dataclasses.dataclass(frozen=True)
class Retry:
    """How often and how patiently to retry a failed token request.

    The names and the wait schedule are urllib3 2.x's: no wait before the first
    retry, then ``min(backoff_max, backoff_factor * 2 ** (n - 1))`` before retry
    ``n``. Only statuses in ``status_forcelist`` and network failures (599:
    connection errors and timeouts) are retried. A ``Retry-After`` header on a
    retried response wins over the schedule when ``respect_retry_after_header``
    is true, capped at ``backoff_max``.

    :arg int total: retries after the first attempt; ``0`` means one attempt.
    :arg status_forcelist: statuses worth retrying.
    :arg float backoff_factor: scale of the exponential backoff, in seconds.
    :arg float backoff_max: the longest single wait, in seconds.
    :arg bool respect_retry_after_header: honour ``Retry-After`` on retried responses.
    :arg float backoff_jitter: up to this many random seconds added to each wait.

    .. versionadded:: 1.0
    """

    total: int = 3
    status_forcelist: Collection[int] = (429, 500, 502, 503, 504)
    backoff_factor: float = 0.3
    backoff_max: float = 120.0
    respect_retry_after_header: bool = True
    backoff_jitter: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.total, bool) or not isinstance(self.total, int) or self.total < 0:
            raise ValueError(f"Retry total must be a whole number >= 0, not {self.total!r}")
        for name in ("backoff_factor", "backoff_max", "backoff_jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"Retry {name} must be >= 0")
        object.__setattr__(self, "status_forcelist", frozenset(self.status_forcelist))

    @classmethod
    def from_setting(cls, setting: Union[int, Retry, Any, None]) -> Retry:
        """Read ``token_retry``: ``None``, an int, a `Retry`, or a urllib3 ``Retry``.

        A urllib3 ``Retry`` is read by duck typing; its ``allowed_methods`` is
        ignored, since the token request is always a POST that is safe to repeat.
        """
        if setting is None:
            return cls(total=0)
        if isinstance(setting, Retry):
            return setting
        if isinstance(setting, int) and not isinstance(setting, bool):
            return cls(total=setting)
        if hasattr(setting, "backoff_factor") and hasattr(setting, "total"):
            return cls._from_urllib3(setting)
        raise TypeError(
            "token_retry must be None, an int, a tornado_alf.Retry or a urllib3 Retry, "
            f"not {type(setting).__name__}"
        )

    @classmethod
    def _from_urllib3(cls, other: Any) -> Retry:
        total = other.total
        if total is None or total is False:
            counts = [c for c in (other.status, other.connect) if isinstance(c, int)]
            total = max(counts, default=0)
        return cls(
            total=int(total),
            status_forcelist=tuple(other.status_forcelist or ()),
            backoff_factor=float(other.backoff_factor),
            backoff_max=float(getattr(other, "backoff_max", cls.backoff_max)),
            respect_retry_after_header=bool(other.respect_retry_after_header),
            backoff_jitter=float(getattr(other, "backoff_jitter", 0.0)),
        )

    def is_retryable(self, code: int) -> bool:
        """Whether a response with this status (599: network failure) is worth retrying."""
        return code == NETWORK_FAILURE or code in self.status_forcelist

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1, 2, ...), urllib3 2.x style."""
        wait = 0.0 if retry_number <= 1 else self.backoff_factor * 2 ** (retry_number - 1)
        if self.backoff_jitter:
            wait += random.random() * self.backoff_jitter  # noqa: S311 - jitter, not crypto
        return max(0.0, min(self.backoff_max, wait))

    def wait_before(self, retry_number: int, retry_after: Optional[str]) -> float:
        """The wait before retry ``retry_number``, given the response's ``Retry-After``."""
        if self.respect_retry_after_header and retry_after is not None:
            seconds = parse_retry_after(retry_after)
            if seconds is not None:
                return min(self.backoff_max, seconds)
        return self.backoff(retry_number)


def parse_retry_after(value: str, now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 sec. 10.2.3), or ``None``.

    Accepts delay-seconds or an HTTP date; a date in the past means no wait.
    Anything else is ignored (``None``), never raised.
    """
    text = value.strip()
    if text.isdigit() and text.isascii():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are always GMT
        when = when.replace(tzinfo=datetime.timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


Sleep = Callable[[float], Awaitable[None]]
