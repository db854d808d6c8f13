"""Asking the token endpoint until a token comes or the retry policy gives up (RFC 6749 sec. 4.4)."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Optional

from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from ._binding import Binding
from ._grants import GrantFields
from ._network import send
from ._recorder import Recorder
from ._sources import CredentialChanged
from ._token import Token
from ._token_request import TokenRequest
from ._token_response import parse_token_response
from .auth import ClientAuthentication, FormFields
from .errors import TokenError
from .retry import NETWORK_FAILURE, Retry, Sleep

# Errors saying the credential or grant was refused: a rotated one may be worth reading again.
_REFUSED_CREDENTIAL = ("invalid_client", "invalid_grant")


class TokenEndpoint:
    """Where and how to ask for a token; `request_token` does the asking.

    :arg retry: when to ask again after a failed attempt, and after what wait.
    :arg sleep: how to wait (injected so tests record the waits).
    :arg recorder: counts attempts and retries, tells the hooks, logs each retry.
    :arg binding: the DPoP key and nonces (RFC 9449), when the client has one.
    """

    def __init__(
        self,
        url: str,
        auth: ClientAuthentication,
        fields: FormFields,
        http_options: Mapping[str, Any],
        retry: Retry,
        sleep: Sleep = asyncio.sleep,
        recorder: Optional[Recorder] = None,
        binding: Optional[Binding] = None,
        grant: Optional[GrantFields] = None,
    ) -> None:
        self.url = url
        self.host = urllib.parse.urlsplit(url).netloc
        self._recorder = Recorder(host=self.host) if recorder is None else recorder
        self._request = TokenRequest(url, auth, fields, http_options, binding)
        self._retry = retry
        self._sleep = sleep
        self._auth = auth
        self.grant = grant

    @property
    def rotates(self) -> bool:
        """Whether a credential or the grant is read from a source before each acquisition."""
        return hasattr(self._auth, "refresh") or (self.grant is not None and self.grant.rotates)

    async def refresh(self, grant: Optional[GrantFields] = None, force: bool = False) -> tuple[bool, str, str]:
        """Read the credential's and the grant's sources: ``(changed, credential fingerprint, grant fingerprint)``.

        The fingerprints name the credential and the grant in use, for the store key.

        :raises TokenError: naming a source that cannot be read.
        """
        grant = grant or self.grant
        refresh = getattr(self._auth, "refresh", None)
        changed = bool(await refresh(force)) if refresh is not None else False
        if grant is not None:
            changed = await grant.refresh(force) or changed
        return changed, getattr(self._auth, "fingerprint", ""), "" if grant is None else grant.fingerprint

    async def request_token(self, http_client: AsyncHTTPClient, grant: Optional[GrantFields] = None) -> Token:
        """Ask until a token comes or the retry policy gives up; `TokenError` then.

        A refusal (``invalid_client``, ``invalid_grant``) of a credential read from a
        source reads it again: if it changed (the rotation race), `CredentialChanged`
        asks the caller to start over once.
        """
        grant = grant or self.grant
        started = time.monotonic()
        response, issued_at, attempts = await self._last_answer(http_client, grant)
        hidden = self._request.hidden if grant is None else (*self._request.hidden, *grant.hidden)
        try:
            token = parse_token_response(response, issued_at, self.host, hidden, self._request.binding.token_types)
        except TokenError as exc:
            self._recorder.token_request(False, exc.code, exc.error, attempts, time.monotonic() - started)
            if exc.error in _REFUSED_CREDENTIAL and await self._changed(grant):
                raise CredentialChanged(exc) from None
            raise
        self._recorder.token_request(True, response.code, None, attempts, time.monotonic() - started)
        return token

    async def _changed(self, grant: Optional[GrantFields]) -> bool:
        """Whether the sources, read again whatever their stat says, now give other values."""
        try:
            changed, _, _ = await self.refresh(grant, force=True)
        except TokenError:
            return False  # the refusal is the error worth reporting
        return changed

    async def _last_answer(
        self, http_client: AsyncHTTPClient, grant: Optional[GrantFields]
    ) -> tuple[HTTPResponse, float, int]:
        """The answer to stop at (a success, or a failure not to retry), its send time, the attempts made."""
        retries = 0
        grant_fields = None if grant is None else grant.fields()
        while True:
            issued_at = time.time()
            self._recorder.token_request_attempts += 1
            response = await self._send(http_client, grant_fields)
            if 200 <= response.code < 300 or not self._should_retry(response, retries):
                return response, issued_at, retries + 1
            retries += 1
            retry_after = None if response.code == NETWORK_FAILURE else response.headers.get("Retry-After")
            wait = self._retry.wait_before(retries, retry_after)
            self._recorder.retry(response.code, retries, self._retry.total, wait)
            await self._sleep(wait)

    async def _send(self, http_client: AsyncHTTPClient, grant_fields: Optional[FormFields]) -> HTTPResponse:
        """One attempt; a ``use_dpop_nonce`` answer is sent once more with the nonce, within the attempt."""
        binding = self._request.binding
        response = await send(http_client, self._request.build(grant_fields))
        binding.observe(response)
        if binding.wants_nonce(response, token_endpoint=True):
            response = await send(http_client, self._request.build(grant_fields))
            binding.observe(response)
        return response

    def _should_retry(self, response: HTTPResponse, retries: int) -> bool:
        return retries < self._retry.total and self._retry.is_retryable(response.code)
