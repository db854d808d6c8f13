"""``tornadoalf.token``: the original package's token value and error names.

.. deprecated:: 1.0
   Use `tornado_alf.Token` and `tornado_alf.TokenError`.
"""

from __future__ import annotations

import datetime
import time
from typing import Optional

from tornado_alf import TokenError

__all__ = ["Token", "TokenError", "TokenHTTPError"]

#: The original raised ``TokenHTTPError`` when the token endpoint answered with an error
#: and ``TokenError`` otherwise. tornado-alf raises one type for every failure to obtain
#: a token, so both names are `tornado_alf.TokenError` and either ``except`` catches it.
TokenHTTPError = TokenError


class Token:
    """An access token and how long it stays valid, as the original ``tornadoalf.token.Token``.

    :arg str access_token: the token; ``repr()`` never shows it.
    :arg expires_in: seconds from now until it expires; ``None`` for a token
        the endpoint gave no lifetime (valid until the API rejects it).

    .. deprecated:: 1.0
       `tornado_alf.TornadoClient.get_token` returns a `tornado_alf.Token`.
    """

    def __init__(self, access_token: str = "", expires_in: Optional[float] = 0) -> None:
        self.access_token = access_token
        self._expires_in = expires_in
        self._deadline = None if expires_in is None else time.monotonic() + expires_in
        lifetime = datetime.timedelta(seconds=0 if expires_in is None else expires_in)
        #: Local wall-clock time of expiry, as the original computed it (``datetime.now()``
        #: plus ``expires_in``); `is_valid` uses the monotonic clock instead.
        self.expires_on = datetime.datetime.now() + lifetime

    def is_valid(self) -> bool:
        """Whether the token is non-empty and has not expired."""
        if not self.access_token:
            return False
        return self._deadline is None or time.monotonic() < self._deadline

    def __repr__(self) -> str:
        left = None if self._deadline is None else self._deadline - time.monotonic()
        life = "no expiry given" if left is None else f"expires in {left:.0f} s"
        return f"<tornadoalf Token, {life}>"

    __str__ = __repr__
