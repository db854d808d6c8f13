"""What ``tornado-alf token`` and ``tornado-alf fetch`` do, given parsed arguments."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any, BinaryIO, Optional, TextIO

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from tornado.httputil import HTTPHeaders

from .._network import NETWORK_ERRORS, is_network_failure
from ..client import TornadoClient
from ..errors import TokenError
from .output import token_json, token_text, write_response
from .settings import Credentials, UsageError, headers, read_body
from .trace import Masker, TracingHTTPClient


class ResourceError(Exception):
    """The resource answered non-2xx and ``--raise`` was given; exit status 4."""

    def __init__(self, response: HTTPResponse) -> None:
        self.response = response
        super().__init__(f"resource answered {response.code} {response.reason}: {response.request.method} "
                         f"{response.effective_url}")


class ResourceUnreachable(Exception):
    """The resource request got no answer (refused, DNS, reset, timeout); exit status 5."""


@dataclasses.dataclass
class Streams:
    """Where a command reads and writes; the real ones unless a caller says otherwise."""

    stdin: TextIO = dataclasses.field(default_factory=lambda: sys.stdin)
    stdout: TextIO = dataclasses.field(default_factory=lambda: sys.stdout)
    stderr: TextIO = dataclasses.field(default_factory=lambda: sys.stderr)


@contextlib.asynccontextmanager
async def open_client(
    creds: Credentials, args: argparse.Namespace, masker: Masker, streams: Streams
) -> AsyncIterator[TornadoClient]:
    """A `TornadoClient` for ``creds``, tracing to stderr with ``--verbose``; closed on exit."""
    http_client = _http_client(args.verbose, masker, streams.stderr)
    try:
        client = await _client(creds, args, http_client)
        try:
            yield client
        finally:
            client.close()
    finally:
        if http_client is not None:
            http_client.close()


async def run_token(creds: Credentials, args: argparse.Namespace, masker: Masker, streams: Streams) -> None:
    """Obtain a token and print what the endpoint said about it."""
    async with open_client(creds, args, masker, streams) as client:
        token = await client.get_token()
        masker.learn(token.access_token)
        if args.json:
            streams.stdout.write(token_json(client.token_endpoint, token, args.show_token) + "\n")
        else:
            streams.stdout.write(token_text(client.token_endpoint, token, args.show_token))


async def run_fetch(creds: Credentials, args: argparse.Namespace, masker: Masker, streams: Streams) -> None:
    """Send one request with a bearer token and write the response to stdout.

    :raises ResourceError: for a non-2xx answer with ``--raise``.
    """
    request = _request_options(args, streams.stdin)
    async with open_client(creds, args, masker, streams) as client:
        response = await _send(client, args.url, request)
    if args.raise_error and not 200 <= response.code < 300:
        raise ResourceError(response)
    write_response(_binary(streams.stdout), response, args.include)


async def _send(client: TornadoClient, url: str, request: dict[str, Any]) -> HTTPResponse:
    try:
        return await client.fetch(url, raise_error=False, **request)
    except NETWORK_ERRORS as exc:  # Tornado raises these even with raise_error=False
        if isinstance(exc, TokenError) or not is_network_failure(exc):
            raise
        reason = exc.message if isinstance(exc, HTTPClientError) else str(exc)
        raise ResourceUnreachable(f"could not reach the resource: {reason}") from None


def _request_options(args: argparse.Namespace, stdin: TextIO) -> dict[str, Any]:
    body = read_body(args.data, stdin)
    method = (args.method or ("POST" if body is not None else "GET")).upper()
    pairs = headers(args.headers)
    if any(name.lower() == "authorization" for name, _ in pairs):
        raise UsageError("-H Authorization: tornado-alf sends the bearer token in that header itself; leave it out")
    if body is not None and not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", "application/x-www-form-urlencoded"))  # as curl -d does
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""  # curl sends an empty body; Tornado insists on one for these methods
    return {
        "method": method,
        "headers": _header_dict(pairs),
        "body": body,
        "allow_nonstandard_methods": True,  # -X PURGE, a GET with -d: the user said so
        "connect_timeout": args.timeout,
        "request_timeout": args.timeout,
        **({"ca_certs": args.ca_certs} if args.ca_certs else {}),
    }


def _header_dict(pairs: list[tuple[str, str]]) -> HTTPHeaders:
    collected = HTTPHeaders()
    for name, value in pairs:
        collected.add(name, value)
    return collected


def _http_client(verbose: bool, masker: Masker, stderr: TextIO) -> Optional[TracingHTTPClient]:
    if not verbose:
        return None
    tracer = TracingHTTPClient(force_instance=True)
    tracer.start_trace(stderr, masker)
    return tracer


async def _client(
    creds: Credentials, args: argparse.Namespace, http_client: Optional[AsyncHTTPClient]
) -> TornadoClient:
    options: dict[str, Any] = {
        "scope": args.scope,
        "audience": args.audience,
        "resource": list(creds.resource) or None,
        "token_request_params": creds.params or None,
        "http_options": _token_http_options(args),
        "http_client": http_client,
        "refresh_ahead": None,  # one request per run: no background refresh to start
        **_key_options(creds, args),
    }
    if creds.issuer:
        return await _discovered_client(creds, args, options)
    assert creds.token_endpoint is not None  # noqa: S101 - credentials() guarantees one of the two
    # Plain http off the loopback: TornadoClient's ValueError, exit status 2.
    return TornadoClient(
        creds.token_endpoint, creds.client_id, creds.client_secret,
        auth_method=creds.auth_method or "client_secret_basic",
        allow_insecure_http=args.allow_insecure_http, **options,
    )


async def _discovered_client(creds: Credentials, args: argparse.Namespace, options: dict[str, Any]) -> TornadoClient:
    """`TornadoClient.from_issuer`, its refusals worded for the command line."""
    assert creds.issuer is not None  # noqa: S101 - the caller checked
    if creds.auth_method is not None:
        options["auth_method"] = creds.auth_method
    try:
        return await TornadoClient.from_issuer(
            creds.issuer, creds.client_id, creds.client_secret,
            allow_insecure_http=args.allow_insecure_http, **options,
        )
    except ValueError as exc:
        message = str(exc).replace("pass auth_method", "pass --auth-method")
        if urllib.parse.urlsplit(creds.issuer).scheme == "http" and not args.allow_insecure_http:
            message += "; --allow-insecure-http accepts an http:// issuer (local testing only)"
        raise UsageError(message) from None


def _token_http_options(args: argparse.Namespace) -> dict[str, Any]:
    http_options: dict[str, Any] = {"connect_timeout": args.timeout, "request_timeout": args.timeout}
    for name in ("ca_certs", "client_cert", "client_key"):
        if getattr(args, name):
            http_options[name] = getattr(args, name)
    return http_options


def _key_options(creds: Credentials, args: argparse.Namespace) -> dict[str, Any]:
    """The JWT arguments given; unset ones are left out, as the library refuses them for other methods."""
    given = {
        "private_key": creds.private_key,
        "private_key_id": args.private_key_id,
        "signing_alg": args.signing_alg,
    }
    return {name: value for name, value in given.items() if value is not None}


def _binary(stream: TextIO) -> BinaryIO:
    stream.flush()
    return stream.buffer
