"""``--verbose``: every HTTP exchange of the command line, secrets and tokens masked.

`TracingHTTPClient` is Tornado's `SimpleAsyncHTTPClient` writing each request it
sends and each response it gets to a stream; `TornadoClient` takes it as
``http_client``, so token, discovery and resource requests all pass through it.
`Masker` hides credentials twice over: by position (the value of an
``Authorization`` header, of ``access_token``, ``client_secret``,
``client_assertion`` and kindred fields in forms and JSON) and by text (every
occurrence of a secret or token it knows, wherever it turns up). It learns the
tokens as they go by, so a token is masked from the response that issued it on.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from typing import Callable, Optional, TextIO

from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from .._redact import HIDDEN, blanked
from ..auth import spellings
from ..retry import NETWORK_FAILURE

#: Form and JSON fields whose value is a credential (RFC 6749, RFC 7523, OpenID Connect).
SECRET_FIELDS = ("access_token", "refresh_token", "id_token", "client_secret", "client_assertion")
#: Headers whose value, past the scheme, is a credential.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})

_FIELDS = "|".join(SECRET_FIELDS)
_FORM_FIELD = re.compile(rf"((?:^|&)(?:{_FIELDS})=)([^&]*)")
_JSON_FIELD = re.compile(rf'("(?:{_FIELDS})"\s*:\s*")((?:[^"\\]|\\.)*)(")')
# Bodies are shown up to this many characters: a trace is for reading.
_MAX_BODY = 4096


class Masker:
    """The secrets and tokens of one command run, and the means to blank them out.

    :arg secrets: what is known from the start (the client secret); more is learned
        with `learn` and from the traffic `mask_headers` and `mask_body` see.
    """

    def __init__(self, secrets: Iterable[Optional[str]] = ()) -> None:
        self._known: set[str] = set()
        for secret in secrets:
            self.learn(secret)

    def learn(self, secret: Optional[str]) -> None:
        """Mask ``secret`` from now on, as given and in both form encodings."""
        if secret:
            self._known.update(spellings(secret))

    def text(self, text: str) -> str:
        """``text`` with every known secret replaced by ``[hidden]``, longest first."""
        return blanked(text, self._known)

    def header(self, name: str, value: str) -> str:
        """A header value fit to show: an Authorization keeps only its scheme."""
        if name.lower() in SECRET_HEADERS:
            scheme, _, credentials = value.partition(" ")
            self.learn(credentials.strip() or scheme)
            return f"{scheme} {HIDDEN}" if credentials else HIDDEN
        return self.text(value)

    def body(self, body: str) -> str:
        """A form or JSON body with its credential fields masked, then known secrets."""
        for match in _JSON_FIELD.finditer(body):
            self.learn(match.group(2))
        for match in _FORM_FIELD.finditer(body):
            self.learn(urllib.parse.unquote_plus(match.group(2)))
            self.learn(match.group(2))
        body = _JSON_FIELD.sub(rf"\g<1>{HIDDEN}\g<3>", body)
        body = _FORM_FIELD.sub(rf"\g<1>{HIDDEN}", body)
        return self.text(body)


class TracingHTTPClient(SimpleAsyncHTTPClient):
    """A `SimpleAsyncHTTPClient` that writes each exchange to ``stream``, masked.

    Create it with ``force_instance=True`` (Tornado would otherwise share one per
    IOLoop) and close it when done; call `start_trace` before the first fetch.
    """

    def start_trace(self, stream: TextIO, masker: Masker) -> None:
        """Write to ``stream`` from now on, hiding what ``masker`` knows."""
        self._stream: Optional[TextIO] = stream
        self._masker = masker

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        """Trace ``request``, then the response on its way to ``callback``."""
        self._write_request(request)

        def traced(response: HTTPResponse) -> None:
            try:
                self._write_response(response)
            finally:
                callback(response)  # or the fetch would never finish

        super().fetch_impl(request, traced)

    def _write_request(self, request: HTTPRequest) -> None:
        lines = [f"{request.method} {request.url}"]
        lines += self._headers(request.headers)
        if request.body:
            lines += ["", *self._body(request.body)]
        self._emit(">", lines)

    def _write_response(self, response: HTTPResponse) -> None:
        if response.code == NETWORK_FAILURE:
            self._emit("*", [f"no response: {response.error}"])
            return
        lines = [f"{response.code} {response.reason}"]
        lines += self._headers(response.headers)
        if response.body:
            lines += ["", *self._body(response.body)]
        self._emit("<", lines)

    def _headers(self, headers: HTTPHeaders) -> list[str]:
        return [f"{name}: {self._masker.header(name, value)}" for name, value in headers.get_all()]

    def _body(self, body: bytes) -> list[str]:
        text = body.decode("utf-8", "replace")
        shown = self._masker.body(text)
        if len(shown) > _MAX_BODY:
            shown = shown[:_MAX_BODY] + f"... ({len(body)} bytes in all)"
        return shown.splitlines() or [""]

    def _emit(self, prefix: str, lines: list[str]) -> None:
        if self._stream is None:
            return
        # The text pass runs last over whole lines: a token learned from this very
        # response is then hidden wherever else in it it appears.
        text = "".join(f"{prefix} {self._masker.text(line)}".rstrip() + "\n" for line in lines)
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # stderr closed (a pipe to head): the trace ends, the command goes on
            self._stream = None
