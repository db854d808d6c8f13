"""The caller's request: copied for each send, refused when it carries credentials of its own."""

from __future__ import annotations

import copy
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, Union

from tornado.httpclient import HTTPRequest
from tornado.httputil import HTTPHeaders

_LINE_BREAK = re.compile(r"[\r\n]")


def outgoing_copy(request: Union[str, HTTPRequest], headers: Any, kwargs: dict[str, Any]) -> HTTPRequest:
    """The request to send, Tornado free to rewrite it: the caller's is never touched.

    Tornado writes Host, Connection and User-Agent back onto the request it is
    given. A request built here from a URL is our own; only a headers mapping the
    caller passed is copied (without one, a plain dict: Tornado converts it once,
    as for a raw fetch). A caller's `HTTPRequest` is copied with headers of its own.
    """
    if isinstance(request, str):
        return HTTPRequest(request, headers={} if headers is None else HTTPHeaders(headers), **kwargs)
    if type(request) is HTTPRequest:
        # What copy.copy() does for a plain HTTPRequest, without its __reduce_ex__ round trip.
        outgoing = HTTPRequest.__new__(HTTPRequest)
        outgoing.__dict__.update(request.__dict__)
    else:
        outgoing = copy.copy(request)  # a subclass may define how it is copied
    outgoing.headers = HTTPHeaders(request.headers)
    return outgoing


def refuse_own_credentials(request: HTTPRequest) -> None:
    """`ValueError` for a request that carries credentials: the client supplies ``Authorization``."""
    if _has_authorization(request.headers):
        raise ValueError("request has its own Authorization header; TornadoClient supplies it")
    if request.auth_username is not None:
        raise ValueError("request has auth_username; TornadoClient supplies the Authorization header")
    if "@" in request.url and urllib.parse.urlsplit(request.url).username is not None:
        raise ValueError("request URL carries user info; TornadoClient supplies the Authorization header")


def refuse_line_breaks(request: HTTPRequest) -> None:
    """`ValueError` for a CR or LF in a header, as Tornado 6.6 raises (older Tornado and Curl would send it).

    The message names neither the header nor its value: either may be a secret.
    """
    value: Any  # str, or the UTF-8 bytes Tornado takes too
    for name, value in request.headers.items():
        text = value.decode("latin1") if isinstance(value, bytes) else value
        if _LINE_BREAK.search(name) or (isinstance(text, str) and _LINE_BREAK.search(text)):
            raise ValueError("a header name or value has a CR, LF or another character not allowed")


def _has_authorization(headers: Mapping[str, str]) -> bool:
    if isinstance(headers, HTTPHeaders):
        return "Authorization" in headers  # case-insensitive
    return any(name.lower() == "authorization" for name in headers)
