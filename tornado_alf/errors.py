"""The one exception type the library raises for token trouble."""

from __future__ import annotations

from collections.abc import Collection
from typing import Optional

from tornado.httpclient import HTTPClientError, HTTPResponse

__all__ = ["TokenError"]

_MAX_DETAIL = 200


def _fold(text: str) -> str:
    return " ".join(text.split())


#: What stands in for a secret or a token wherever one would have shown.
HIDDEN = "[hidden]"


def blanked(text: str, hide: Collection[str]) -> str:
    """``text`` with every non-empty string of ``hide`` replaced by `HIDDEN`.

    Longest first, so that a secret containing a shorter one is hidden whole.
    """
    for needle in sorted(set(hide) - {""}, key=len, reverse=True):
        text = text.replace(needle, HIDDEN)
    return text


def redacted(text: str, hide: Collection[str]) -> str:
    """``text`` on one line with every string of ``hide`` replaced by ``[hidden]``.

    Applied to server-supplied text before `TokenError` cuts it short, so that a
    secret the server quoted back cannot survive in part past the cut.
    """
    return blanked(_fold(text), {_fold(needle) for needle in hide})


def _one_line(text: Optional[str]) -> Optional[str]:
    """Fold server-supplied text onto one bounded line (it ends up in logs)."""
    if text is None:
        return None
    folded = _fold(text)
    if len(folded) > _MAX_DETAIL:
        folded = folded[: _MAX_DETAIL - 3] + "..."
    return folded


class TokenError(HTTPClientError):
    """No usable access token could be obtained; the resource request was not sent.

    A subclass of `tornado.httpclient.HTTPClientError`, so ``except HTTPClientError``
    handles it too.

    :arg int code: the token endpoint's status; also for a 2xx whose body was unusable,
        and ``599`` when the endpoint could not be reached.
    :arg str message: one line saying what went wrong; never a secret or a token.
    :arg response: the token endpoint's `~tornado.httpclient.HTTPResponse`, or ``None``.
    :arg str error: the RFC 6749 sec. 5.2 ``error`` code, when the endpoint sent one.
    :arg str error_description: its ``error_description``, when sent.
    :arg str error_uri: its ``error_uri``, when sent.

    .. versionadded:: 1.0
    """

    def __init__(
        self,
        code: int,
        message: str,
        response: Optional[HTTPResponse] = None,
        *,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        error_uri: Optional[str] = None,
    ) -> None:
        self.error = _one_line(error)
        self.error_description = _one_line(error_description)
        self.error_uri = _one_line(error_uri)
        super().__init__(code, _one_line(message), response)

    def __str__(self) -> str:
        text = f"token request failed ({self.code}): {self.message}"
        if self.error:
            text += f": {self.error}"
            if self.error_description:
                text += f" ({self.error_description})"
        return text

    __repr__ = __str__
