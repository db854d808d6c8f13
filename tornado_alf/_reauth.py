"""What the resource's rejection of a token leads to: a new token and one replay, or a cool-down."""

from __future__ import annotations

import logging
import math
import time
from typing import Callable, Optional

from ._expiry import CachedToken
from ._manager import TokenManager
from ._recorder import Recorder
from ._token import Token

log = logging.getLogger("tornado_alf")


class Reauthentication:
    """Decides, for each token the resource rejected, whether a new one is fetched.

    A rejection invalidates the token it names, if that token is still current,
    and the request goes out once more with a new one. When a token obtained
    because of a rejection is itself rejected, the endpoint issues tokens the
    resource does not take (scope, audience, resource): for ``cooldown`` seconds
    rejections start no token request and their responses are returned as they
    are, so a resource that refuses every token costs one token request per
    cool-down instead of one per call. One WARNING says so per cool-down.

    ``cooldown`` is checked by `tornado_alf._arguments.check_reauth_cooldown`.
    """

    def __init__(
        self,
        tokens: TokenManager,
        cooldown: float,
        recorder: Recorder,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tokens = tokens
        self._cooldown = float(cooldown)
        self._recorder = recorder
        self._clock = clock
        self._quiet_until = -math.inf
        self._cooled: Optional[Token] = None  # the token whose rejection started the last cool-down
        self._proven: Optional[Token] = None  # the last token obtained after a rejection that the resource took

    async def renew(self, rejected: CachedToken, host: str, status: int, replay: bool) -> Optional[CachedToken]:
        """The token to send the request again with, or ``None`` when it is not sent again.

        :arg rejected: the token the resource at ``host`` answered ``status`` to.
        :arg replay: whether the request can be sent again (its body is not a ``body_producer``'s).
        :raises TokenError: when no new token could be obtained.
        """
        if self._quiet(rejected, host, status):
            if replay:
                self._recorder.reauthentications_suppressed += 1
            return None
        self._tokens.invalidate(rejected.token)
        if not replay:
            log.debug("%d on a request with a body_producer: token invalidated, request not sent again", status)
            return None
        renewed = await self._tokens.get(after_rejection=True)
        if renewed.token.access_token == rejected.token.access_token:
            log.debug("the token endpoint issued the rejected token again: request not sent again")
            return None
        self._recorder.reauthentication(host, status)
        return renewed

    def answered(self, cached: CachedToken, host: str, status: int, rejected: bool) -> None:
        """The resource at ``host`` answered ``status`` to a request with a token obtained after a rejection.

        A rejection of it may start a cool-down (the response is returned as it
        is); an answer below 400 proves the resource takes it, so that a later
        rejection is an ordinary one (a revocation, say).
        """
        if rejected:
            self._quiet(cached, host, status)
        elif status < 400 and self._proven is not cached.token:
            self._proven = cached.token

    def _quiet(self, rejected: CachedToken, host: str, status: int) -> bool:
        """Whether rejections start no token request now; a cool-down starts when ``rejected`` warrants one."""
        now = self._clock()
        if now < self._quiet_until:
            return True
        token = rejected.token
        if not rejected.after_rejection or self._cooldown == 0 or token is self._cooled or token is self._proven:
            return False
        self._cooled = token
        self._quiet_until = now + self._cooldown
        log.warning(
            "%s refused a freshly issued token (status %d), one obtained after its previous rejection: "
            "the token endpoint issues tokens this resource does not accept; check the client's scope, "
            "audience and resource. Rejections start no token request for %g s",
            host, status, self._cooldown,
        )
        return True

    def __repr__(self) -> str:
        left = self._quiet_until - self._clock()
        state = f"cool-down, {left:.0f} s left" if left > 0 else "no cool-down"
        return f"<Reauthentication, {state}>"
