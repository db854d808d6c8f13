"""A request that got no HTTP answer, as Tornado reports it: status 599, never an exception.

Tornado raises for a refused, reset or timed-out connection even with
``raise_error=False``: `HTTPClientError` 599 for timeouts and closed streams,
`OSError` or `StreamClosedError` as they are for the rest. The token, discovery
and command-line requests all read those through here.
"""

from __future__ import annotations

from tornado.http1connection import _QuietException
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.iostream import StreamClosedError

from ._curl import hide_credentials
from .retry import NETWORK_FAILURE

#: What `AsyncHTTPClient.fetch` raises, with ``raise_error=False``, when no answer came.
NETWORK_ERRORS = (HTTPClientError, OSError, StreamClosedError, _QuietException)


def is_network_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says that no HTTP answer came (refused, reset, DNS, timeout)."""
    if isinstance(exc, HTTPClientError):
        return exc.code == NETWORK_FAILURE
    return isinstance(exc, (OSError, StreamClosedError, _QuietException))


async def send(http_client: AsyncHTTPClient, request: HTTPRequest) -> HTTPResponse:
    """The response to ``request``, whatever its status; a network failure becomes a 599."""
    hide_credentials(http_client, request)
    try:
        return await http_client.fetch(request, raise_error=False)
    except HTTPClientError as exc:  # timeouts and closed streams: code 599
        return HTTPResponse(request, exc.code, error=exc)
    except (OSError, StreamClosedError) as exc:
        return HTTPResponse(request, NETWORK_FAILURE, error=exc)
    except _QuietException as exc:  # Tornado < 6.2: a reset mid-body, logged and raised in its place
        cause = exc.__context__
        return HTTPResponse(request, NETWORK_FAILURE, error=cause if isinstance(cause, Exception) else exc)
