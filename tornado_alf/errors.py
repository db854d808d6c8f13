"""The one exception type the library raises for token trouble."""

from __future__ import annotations

from typing import Optional

from tornado.httpclient import HTTPClientError, HTTPResponse

from ._redact import fold

__all__ = ["TokenError"]

_MAX_DETAIL = 200


def _one_line(text: Optional[str]) -> Optional[str]:
    """Fold server-supplied text onto one bounded line (it ends up in logs)."""
    if text is None:
        return None
    folded = fold(text)
    if len(folded) > _MAX_DETAIL:
        folded = folded[: _MAX_DETAIL - 3] + "..."
    return folded


class TokenError(HTTPClientError):
    """No usable access token could be obtained; the resource request was not sent.

    A subclass of `tornado.httpclient.HTTPClientError`, so ``except HTTPClientError``
    handles it too. ``str(err)`` is one line without secrets, and ``err.args`` is
    ``(code, str(err))``: values the endpoint quoted back read ``[hidden]`` in both;
    only ``response`` holds the raw answer.

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
        # Error trackers and structured loggers record args: the one line, never the
        # response whose body may quote a credential back (it stays in .response).
        self.args = (code, str(self))

    def __str__(self) -> str:
        text = f"token request failed ({self.code}): {self.message}"
        if self.error:
            text += f": {self.error}"
            if self.error_description:
                text += f" ({self.error_description})"
        return text

    __repr__ = __str__
