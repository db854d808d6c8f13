"""One token request to the endpoint (RFC 6749 sec. 4.4), retried as the policy says."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

from tornado.http1connection import _QuietException
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.iostream import StreamClosedError

from ._curl import hide_credentials
from ._parse import parse_token_response
from ._recorder import Recorder
from ._token import Token
from .auth.methods import ClientAuthentication, FormFields
from .errors import TokenError
from .retry import Retry, Sleep

log = logging.getLogger("tornado_alf")

ParamValue = Union[str, Iterable[str]]


def form_fields(scope: Union[str, Iterable[str], None], params: Mapping[str, ParamValue]) -> FormFields:
    """``grant_type`` plus ``scope`` (space-separated) and extra params (repeatable)."""
    fields: FormFields = [("grant_type", "client_credentials")]
    if scope is not None:
        scopes = [scope] if isinstance(scope, str) else list(scope)
        if not all(isinstance(item, str) for item in scopes):
            raise TypeError("scope must be a str or an iterable of str")
        fields.append(("scope", " ".join(scopes)))
    for name, value in params.items():
        values = [value] if isinstance(value, str) else list(value)
        if not isinstance(name, str) or not all(isinstance(item, str) for item in values):
            raise TypeError("token_request_params must map str to str or to an iterable of str")
        fields.extend((name, item) for item in values)
    return fields


def request_params(
    token_request_params: Optional[Mapping[str, ParamValue]], **named: Optional[ParamValue]
) -> dict[str, ParamValue]:
    """``token_request_params`` plus the named ones given (``audience``, ``resource``)."""
    params = dict(token_request_params or {})
    for name, value in named.items():
        if value is None:
            continue
        if name in params:
            raise ValueError(f"{name} is given both as an argument and in token_request_params")
        params[name] = value
    return params


class TokenEndpoint:
    """Where and how to ask for a token; `request_token` does the asking."""

    def __init__(
        self,
        url: str,
        auth: ClientAuthentication,
        fields: FormFields,
        http_options: Mapping[str, Any],
        retry: Retry,
        sleep: Sleep = asyncio.sleep,
        recorder: Optional[Recorder] = None,
    ) -> None:
        self.url = url
        self.host = urllib.parse.urlsplit(url).netloc
        self._recorder = Recorder(host=self.host) if recorder is None else recorder
        self._auth = auth
        self._fields = fields
        self._options = dict(http_options)
        self._retry = retry
        self._sleep = sleep

    def build_request(self) -> HTTPRequest:
        """A fresh token request: new headers and body each time (assertions are one-shot)."""
        form = list(self._fields)
        headers = dict(self._options.get("headers") or {})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers.setdefault("Accept", "application/json")
        self._auth.apply(form, headers)
        options = {**self._options, "headers": headers}
        return HTTPRequest(
            self.url,
            **options,
            method="POST",
            body=urllib.parse.urlencode(form, quote_via=urllib.parse.quote),
            follow_redirects=False,
        )

    async def request_token(self, http_client: AsyncHTTPClient) -> Token:
        """Ask until a token comes or the retry policy gives up; `TokenError` then."""
        started = time.monotonic()
        response, issued_at, attempts = await self._last_answer(http_client)
        try:
            token = parse_token_response(response, issued_at, self.host, self._auth.hidden)
        except TokenError as exc:
            self._recorder.token_request(False, exc.code, exc.error, attempts, time.monotonic() - started)
            raise
        self._recorder.token_request(True, response.code, None, attempts, time.monotonic() - started)
        return token

    async def _last_answer(self, http_client: AsyncHTTPClient) -> tuple[HTTPResponse, float, int]:
        """The answer to stop at (a success, or a failure not to retry), its send time, the attempts made."""
        retries = 0
        while True:
            issued_at = time.time()
            self._recorder.token_request_attempts += 1
            response = await self._send_once(http_client)
            if 200 <= response.code < 300 or not self._should_retry(response, retries):
                return response, issued_at, retries + 1
            retries += 1
            retry_after = None if response.code == 599 else response.headers.get("Retry-After")
            wait = self._retry.wait_before(retries, retry_after)
            log.info(
                "token request to %s failed with %d; retry %d of %d in %.2f s",
                self.host, response.code, retries, self._retry.total, wait,
            )
            self._recorder.retry(response.code, retries, self._retry.total, wait)
            await self._sleep(wait)

    def _should_retry(self, response: HTTPResponse, retries: int) -> bool:
        return retries < self._retry.total and self._retry.is_retryable(response.code)

    async def _send_once(self, http_client: AsyncHTTPClient) -> HTTPResponse:
        return await send(http_client, self.build_request())


async def send(http_client: AsyncHTTPClient, request: HTTPRequest) -> HTTPResponse:
    """The response to ``request``, whatever its status; a network failure becomes a 599."""
    hide_credentials(http_client, request)
    try:
        return await http_client.fetch(request, raise_error=False)
    except HTTPClientError as exc:  # timeouts and closed streams: code 599
        return HTTPResponse(request, exc.code, error=exc)
    except (OSError, StreamClosedError) as exc:
        return HTTPResponse(request, 599, error=exc)
    except _QuietException as exc:  # Tornado < 6.2: a reset mid-body, logged and raised in its place
        cause = exc.__context__
        return HTTPResponse(request, 599, error=cause if isinstance(cause, Exception) else exc)
