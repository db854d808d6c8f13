"""The caller's request: copied for each send, refused when it carries credentials of its own."""

from __future__ import annotations

import copy
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, Callable, Union

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders

_LINE_BREAK = re.compile(r"[\r\n]")


class Outgoing:
    """A checked request: the copy to send, the client to send it with, and fresh copies for later hops.

    :arg request: the caller's request (a URL or an `HTTPRequest`, never modified).
    :arg headers: the ``headers`` passed with a URL, or ``None``.
    :arg kwargs: the other `HTTPRequest` arguments passed with a URL.
    :arg client_for: the HTTP client for the checked copy; its own checks (`ValueError`)
        come after those of the request's credentials and headers.
    """

    __slots__ = ("_headers", "_kwargs", "_request", "http_client", "request")

    def __init__(
        self,
        request: Union[str, HTTPRequest],
        headers: Any,
        kwargs: dict[str, Any],
        client_for: Callable[[HTTPRequest], AsyncHTTPClient],
    ) -> None:
        self._request, self._headers, self._kwargs = request, headers, kwargs
        self.request = self.fresh()
        refuse_unsendable(self.request)
        self.http_client = client_for(self.request)

    def fresh(self) -> HTTPRequest:
        """Another copy of the caller's request: each hop and the replay start from one."""
        return outgoing_copy(self._request, self._headers, self._kwargs)


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


def refuse_unsendable(request: HTTPRequest) -> None:
    """`ValueError` for a request that carries credentials (the client supplies ``Authorization``) or a CR/LF.

    A CR or LF in a header is refused as Tornado 6.6 refuses it (older Tornado and Curl
    would send it); the message names neither the header nor its value: either may be a secret.
    """
    headers = request.headers  # most requests built from a URL have none: two checks skipped
    if headers and _has_authorization(headers):
        raise ValueError("request has its own Authorization header; TornadoClient supplies it")
    if request.auth_username is not None:
        raise ValueError("request has auth_username; TornadoClient supplies the Authorization header")
    if "@" in request.url and urllib.parse.urlsplit(request.url).username is not None:
        raise ValueError("request URL carries user info; TornadoClient supplies the Authorization header")
    if headers:
        _refuse_line_breaks(headers)


def _refuse_line_breaks(headers: Mapping[str, Any]) -> None:
    value: Any  # str, or the UTF-8 bytes Tornado takes too
    for name, value in headers.items():
        text = value.decode("latin1") if isinstance(value, bytes) else value
        if _LINE_BREAK.search(name) or (isinstance(text, str) and _LINE_BREAK.search(text)):
            raise ValueError("a header name or value has a CR, LF or another character not allowed")


def _has_authorization(headers: Mapping[str, str]) -> bool:
    if type(headers) is HTTPHeaders or isinstance(headers, HTTPHeaders):
        return "Authorization" in headers  # case-insensitive
    return any(name.lower() == "authorization" for name in headers)
