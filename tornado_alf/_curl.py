"""What the library needs to know about Tornado's ``CurlAsyncHTTPClient``, without importing pycurl.

With the ``tornado.curl_httpclient`` logger at DEBUG, Tornado has libcurl report every
request header and request body it sends (``CurlAsyncHTTPClient._curl_debug``): the
``Authorization`` header and the token request's form would be logged, and whatever
an endpoint echoes in its response headers. Requests the library sends through Curl
get a debug function that logs the same lines with header values (but for a few
harmless ones) and request bodies hidden.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Optional

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from ._redact import HIDDEN

# Tornado's own logger for libcurl's debug output.
curl_log = logging.getLogger("tornado.curl_httpclient")

# Headers whose values are shown; any other may carry a credential, or one an endpoint echoed
# (a Location quoting the secret, a Set-Cookie): logged by name only.
_SHOWN_HEADERS = frozenset((
    "accept", "accept-encoding", "cache-control", "connection", "content-encoding", "content-length",
    "content-type", "date", "expect", "host", "server", "transfer-encoding", "user-agent",
))
_HEADER_OUT = 2
_DATA_OUT = 4

PrepareCurl = Callable[[Any], None]


def curl_class() -> Optional[type[AsyncHTTPClient]]:
    """``CurlAsyncHTTPClient`` if somebody imported it (importing it imports pycurl), else ``None``."""
    curl = sys.modules.get("tornado.curl_httpclient")
    return None if curl is None else curl.CurlAsyncHTTPClient


def is_curl(client: AsyncHTTPClient) -> bool:
    """Whether ``client`` is Tornado's ``CurlAsyncHTTPClient`` or a subclass."""
    curl = curl_class()
    return curl is not None and isinstance(client, curl)


def hide_credentials(client: AsyncHTTPClient, request: HTTPRequest) -> None:
    """Make ``request`` (the library's own copy) keep its credentials out of Curl's debug log."""
    # Tornado makes a Curl handle verbose only if its logger was at DEBUG when the client was
    # made, and logs only while it is: without DEBUG now, there is nothing to hide.
    if type(client) is not SimpleAsyncHTTPClient and curl_log.isEnabledFor(logging.DEBUG) and is_curl(client):
        # The request's own callback, else the client's default: ours takes the place of both.
        prepare = request.prepare_curl_callback or client.defaults.get("prepare_curl_callback")
        request.prepare_curl_callback = _with_masked_debug(prepare if callable(prepare) else None)


def _with_masked_debug(prepare: Optional[PrepareCurl]) -> PrepareCurl:
    def prepare_curl(curl: Any) -> None:
        if prepare is not None:
            prepare(curl)
        curl.setopt(curl.DEBUGFUNCTION, _masked_debug)

    return prepare_curl


def _masked_debug(debug_type: int, message: bytes) -> None:
    """Log as ``CurlAsyncHTTPClient._curl_debug`` does, with credentials and request bodies hidden."""
    text = message.decode("latin1")
    if debug_type == 0:
        curl_log.debug("%s", text.strip())
    elif debug_type in (1, _HEADER_OUT):
        arrow = ">" if debug_type == _HEADER_OUT else "<"
        for line in text.splitlines():
            name, colon, _ = line.partition(":")
            if colon and name.strip().lower() not in _SHOWN_HEADERS:
                line = f"{name}: {HIDDEN}"
            curl_log.debug("%s %s", arrow, line)
    elif debug_type == _DATA_OUT:
        curl_log.debug("> request body of %d bytes: %s", len(message), HIDDEN)
