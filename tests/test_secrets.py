"""Secret sweep: every code path with DEBUG logging on the root logger, nothing secret anywhere.

Each path runs with every logger at DEBUG. Afterwards no log record (message
and formatted traceback), no exception raised (str, repr and traceback), and
no repr() of client, token, store or error may contain the client secret (raw,
form-encoded or in the Basic header), an issued access token, or an
encryption key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import traceback
import urllib.parse
from collections.abc import Awaitable
from typing import Any, Callable, Optional

import pytest
import redis.asyncio
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tornado.httpclient import HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import free_port, refused_url
from tests.faultkit import BODIES_OF_200, RAW_FAULTS, RawServer, ResourceApp, records_at_debug
from tornado_alf import EncryptedTokenStore, MemoryTokenStore, RedisTokenStore, Retry, TokenError, TornadoClient
from tornado_alf._token import Token
from tornado_alf.stores.codec import decode_token
from tornado_alf.testing import AuthServer

ENCRYPTION_KEY = Fernet.generate_key().decode()
PRIVATE_KEY_PEM = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
OTHER_SECRET = "an0ther-s3cret!"  # the secret of a client the endpoint does not know


class Sweep:
    """What one path produced that a reader could see: texts to search."""

    def __init__(self, server: AuthServer) -> None:
        self.server = server
        self.texts: list[tuple[str, str]] = []
        self.errors: list[BaseException] = []
        self.extra_needles: dict[str, str] = {}

    def show(self, what: str, obj: object) -> None:
        self.texts.append((f"repr({what})", repr(obj)))
        self.texts.append((f"str({what})", str(obj)))

    def client(self, **kwargs: Any) -> TornadoClient:
        kwargs.setdefault("http_options", {"request_timeout": 0.5})
        endpoint = kwargs.pop("token_endpoint", self.server.token_endpoint)
        secret = kwargs.pop("client_secret", CLIENT_SECRET)
        client = TornadoClient(endpoint, CLIENT_ID, secret, **kwargs)
        self.show("client", client)
        return client

    async def fetch(self, client: TornadoClient, request: Any = None, **kwargs: Any) -> None:
        """Fetch, keeping whatever comes out (response or exception) for the search."""
        try:
            response = await client.fetch(request or self.server.resource_url, **kwargs)
        except Exception as error:  # the sweep looks at every exception, whatever its type
            self.errors.append(error)
            self.show("error", error)
            self.texts.append(("traceback", "".join(traceback.format_exception(error))))
        else:
            self.texts.append(("response.reason", response.reason or ""))
        self.show("client", client)

    def needles(self) -> dict[str, str]:
        found = {
            "client secret": CLIENT_SECRET,
            "form-encoded secret": urllib.parse.quote(CLIENT_SECRET, safe=""),
            "other secret": OTHER_SECRET,
            "encryption key": ENCRYPTION_KEY,
            "private key": PRIVATE_KEY_PEM.splitlines()[1],
        }
        for user_password in (f"{CLIENT_ID}:{CLIENT_SECRET}",
                              f"{CLIENT_ID}:{urllib.parse.quote(CLIENT_SECRET, safe='')}"):
            found["Basic credentials"] = base64.b64encode(user_password.encode()).decode()
        for number, token in enumerate(self.server.issued):
            found[f"access token {number}"] = token
        found.update(self.extra_needles)
        return found


async def success(sweep: Sweep) -> None:
    client = sweep.client()
    await sweep.fetch(client)
    await sweep.fetch(client)
    client.close()
    sweep.show("closed client", client)


async def success_client_secret_post(sweep: Sweep) -> None:
    client = sweep.client(auth_method="client_secret_post")
    await sweep.fetch(client)
    client.close()


async def success_raw_basic_encoding(sweep: Sweep) -> None:
    client = sweep.client(basic_auth_encoding="raw")
    await sweep.fetch(client)  # the test server decodes form rules: this one fails, which is fine here
    client.close()


async def replay_after_401(sweep: Sweep) -> None:
    client = sweep.client()
    await sweep.fetch(client)
    sweep.server.revoke_all()
    await sweep.fetch(client)
    client.close()


async def resource_rejects_every_token(sweep: Sweep) -> None:
    client = sweep.client()
    sweep.server.reject_all_tokens = True
    await sweep.fetch(client)
    await sweep.fetch(client, raise_error=False)
    client.close()


async def body_producer_401(sweep: Sweep) -> None:
    async def produce(write: Callable[[bytes], Awaitable[None]]) -> None:
        await write(b"{}")

    client = sweep.client(http_client=SimpleAsyncHTTPClient(force_instance=True))  # Curl ignores body_producer
    sweep.server.reject_all_tokens = True
    # Tornado annotates body_producer as returning a Future, but awaits whatever it returns
    # (its docs: write returns a Future too): a coroutine function is what users pass.
    request = HTTPRequest(sweep.server.resource_url, method="POST", body_producer=produce)  # type: ignore[arg-type]
    await sweep.fetch(client, request)
    client.close()


async def cross_origin_redirect(sweep: Sweep) -> None:
    async with ResourceApp(sweep.server) as here, ResourceApp(sweep.server) as there:
        client = sweep.client()
        await sweep.fetch(client, here.redirect_url(there.url("/protected")))
        await sweep.fetch(client, here.redirect_url(there.url("/open")))
        client.close()


async def storm_of_401(sweep: Sweep) -> None:
    client = sweep.client()
    await sweep.fetch(client)
    sweep.server.revoke_all()
    await asyncio.gather(*(sweep.fetch(client) for _ in range(50)))
    client.close()


async def retries_then_success(sweep: Sweep) -> None:
    sweep.server.fail_next(times=2, status=503, headers={"Retry-After": "0"})
    client = sweep.client(token_retry=Retry(total=3, backoff_factor=0.001))
    await sweep.fetch(client)
    client.close()


async def retries_exhausted(sweep: Sweep) -> None:
    sweep.server.fail_next(times=5, status=500, body=b"<html>oops</html>")
    client = sweep.client(token_retry=Retry(total=2, backoff_factor=0.001))
    await sweep.fetch(client)
    client.close()


async def wrong_client_secret(sweep: Sweep) -> None:
    client = sweep.client(client_secret=OTHER_SECRET, token_retry=2)
    await sweep.fetch(client)
    client.close()


async def endpoint_echoing_the_secret(sweep: Sweep) -> None:
    """A hostile or careless endpoint quotes the credentials it was sent in its error."""
    basic = sweep.server.token_request_log
    echo = {
        "error": f"invalid_client {CLIENT_SECRET}",
        "error_description": f"unknown secret {CLIENT_SECRET!r} ({urllib.parse.quote(CLIENT_SECRET, safe='')})",
        "error_uri": f"https://auth.example/help?secret={urllib.parse.quote(CLIENT_SECRET, safe='')}",
    }
    sweep.server.fail_next(status=401, body=json.dumps(echo).encode())
    client = sweep.client()
    await sweep.fetch(client)
    sweep.server.fail_next(status=302, headers={"Location": f"/login?secret={CLIENT_SECRET}"})
    await sweep.fetch(client)
    sweep.server.fail_next(status=200, body=json.dumps({"access_token": 7, "echo": CLIENT_SECRET}).encode())
    await sweep.fetch(client)
    assert basic  # the endpoint did see the credentials: what it echoes is the point
    client.close()


def echoing_endpoint(**kwargs: Any) -> Callable[[Sweep], Awaitable[None]]:
    """A token endpoint quoting back every credential it received, for one auth method."""

    async def path(sweep: Sweep) -> None:
        async with ResourceApp(sweep.server) as app:
            client = sweep.client(token_endpoint=app.url("/echo"), token_retry=Retry(total=1, backoff_factor=0),
                                  **kwargs)
            await sweep.fetch(client)
            client.close()
            assert app.echoed, "the endpoint received no credential"
            for number, value in enumerate(app.echoed):
                if value.count(".") == 2:  # a JWT assertion: its signature is what makes it usable
                    sweep.extra_needles[f"assertion signature {number}"] = value.rpartition(".")[2]
                sweep.extra_needles[f"credential received {number}"] = value.partition(" ")[2] or value
    return path


def bad_body(body: bytes) -> Callable[[Sweep], Awaitable[None]]:
    async def path(sweep: Sweep) -> None:
        token = sweep.server.issue_token()
        sweep.server.fail_next(status=200, body=body.replace(b"{token}", token.encode()))
        client = sweep.client()
        await sweep.fetch(client)
        client.close()
    return path


def raw_fault(script: Any) -> Callable[[Sweep], Awaitable[None]]:
    async def path(sweep: Sweep) -> None:
        async with RawServer(script) as raw:
            client = sweep.client(token_endpoint=raw.url)
            await sweep.fetch(client)
            client.close()
    return path


async def connection_refused(sweep: Sweep) -> None:
    client = sweep.client(token_endpoint=refused_url(), token_retry=Retry(total=1, backoff_factor=0))
    await sweep.fetch(client)
    client.close()


class FailingStore:
    """A store whose every call fails with a message quoting what it was given."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.values: dict[str, Any] = {}

    async def get(self, key: str) -> Any:
        if self.mode == "garbage":
            return self.values.get(key, "").upper() or None
        if self.mode == "hang":
            await asyncio.sleep(10)
        if self.mode == "wrong type":
            return {"access_token": "x"}
        raise ConnectionError(f"store down while reading {key}: last value {self.values.get(key)}")

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value
        if self.mode in ("raise", "hang"):
            raise ConnectionError(f"store down, could not write {value}")

    async def delete(self, key: str) -> None:
        raise ConnectionError(f"could not delete {self.values.get(key)}")

    def __repr__(self) -> str:
        return f"<FailingStore {self.mode}>"


def store_failure(mode: str) -> Callable[[Sweep], Awaitable[None]]:
    async def path(sweep: Sweep) -> None:
        store = FailingStore(mode)
        client = sweep.client(token_storage=store, store_timeout=0.05)
        await sweep.fetch(client)
        sweep.server.revoke_all()
        await sweep.fetch(client)  # invalidation: discard, delete
        client.close()
    return path


async def redis_down(sweep: Sweep) -> None:
    redis_client = redis.asyncio.Redis(host="127.0.0.1", port=free_port(),
                                       password=CLIENT_SECRET, socket_connect_timeout=0.2)
    store = RedisTokenStore(redis_client)
    client = sweep.client(token_storage=store, store_timeout=0.5)
    await sweep.fetch(client)
    sweep.server.revoke_all()
    await sweep.fetch(client)
    sweep.show("store", store)
    client.close()
    await redis_client.aclose()


async def shared_memory_store(sweep: Sweep) -> None:
    store = MemoryTokenStore()
    first, second = sweep.client(token_storage=store), sweep.client(token_storage=store)
    await sweep.fetch(first)
    await sweep.fetch(second)
    sweep.server.revoke_all()
    await sweep.fetch(second)
    sweep.show("store", store)
    first.close()
    second.close()


async def encrypted_store(sweep: Sweep) -> None:
    cache: dict[str, str] = {}

    class Cache:
        def get(self, key: str) -> Optional[str]:
            return cache.get(key)

        def set(self, key: str, value: str) -> None:
            cache[key] = value

    store = EncryptedTokenStore(Cache(), encryption_key=ENCRYPTION_KEY)
    client = sweep.client(token_storage=store)
    await sweep.fetch(client)
    sweep.show("store", store)
    sweep.texts.extend(("sealed value", value) for value in cache.values())
    other = sweep.client(token_storage=EncryptedTokenStore(Cache(), encryption_key=Fernet.generate_key()))
    await sweep.fetch(other)  # a value it cannot open
    client.close()
    other.close()


async def background_refresh_failure(sweep: Sweep) -> None:
    sweep.server.expires_in = 1
    client = sweep.client(expiry_margin=0, refresh_ahead=0.1)
    await sweep.fetch(client)
    sweep.server.fail_next(times=3, status=500, body=f'{{"error": "server_error", "x": "{CLIENT_SECRET}"}}'.encode())
    await asyncio.sleep(0.15)
    await sweep.fetch(client)  # starts a refresh that fails in the background
    await asyncio.sleep(0.1)
    client.close()


async def close_during_token_request(sweep: Sweep) -> None:
    sweep.server.token_latency = 0.2
    client = sweep.client()
    waiter = asyncio.ensure_future(sweep.fetch(client))
    await asyncio.sleep(0.05)
    client.close()
    await waiter
    await sweep.fetch(client)  # RuntimeError: closed


async def zero_lifetime(sweep: Sweep) -> None:
    sweep.server.expires_in = 0
    client = sweep.client()
    await sweep.fetch(client)
    await sweep.fetch(client)
    client.close()


PATHS: dict[str, Callable[[Sweep], Awaitable[None]]] = {
    "success": success,
    "success, client_secret_post": success_client_secret_post,
    "success attempt, raw basic encoding": success_raw_basic_encoding,
    "401 replay": replay_after_401,
    "resource rejects every token": resource_rejects_every_token,
    "body_producer 401": body_producer_401,
    "cross-origin redirect": cross_origin_redirect,
    "storm of 401": storm_of_401,
    "retries then success": retries_then_success,
    "retries exhausted": retries_exhausted,
    "wrong client secret": wrong_client_secret,
    "endpoint echoing the secret": endpoint_echoing_the_secret,
    "echo: client_secret_basic": echoing_endpoint(),
    "echo: client_secret_basic raw": echoing_endpoint(basic_auth_encoding="raw"),
    "echo: client_secret_post": echoing_endpoint(auth_method="client_secret_post"),
    "echo: client_secret_jwt": echoing_endpoint(auth_method="client_secret_jwt"),
    "echo: private_key_jwt": echoing_endpoint(auth_method="private_key_jwt", private_key=PRIVATE_KEY_PEM,
                                              client_secret=None),
    "RedisTokenStore, Redis down": redis_down,
    "connection refused": connection_refused,
    "expires_in 0": zero_lifetime,
    "shared memory store": shared_memory_store,
    "encrypted store": encrypted_store,
    "background refresh failure": background_refresh_failure,
    "close during token request": close_during_token_request,
    **{f"store failure: {mode}": store_failure(mode) for mode in ("raise", "garbage", "hang", "wrong type")},
    **{f"200 body: {name}": bad_body(body) for name, body, _ in BODIES_OF_200},
    **{f"transport: {name}": raw_fault(script) for name, script, _ in RAW_FAULTS},
}


@pytest.mark.parametrize("path", list(PATHS.values()), ids=list(PATHS))
async def test_no_secret_in_logs_errors_or_reprs(
    auth_server: AuthServer, path: Callable[[Sweep], Awaitable[None]]
) -> None:
    sweep = Sweep(auth_server)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    with records_at_debug() as records:
        await path(sweep)
    sweep.show("server", auth_server)
    for token in auth_server.issued:
        sweep.show("token", Token(token, expires_in=60))
    sweep.texts.extend((f"log {r.name} {r.levelname}", formatter.format(r)) for r in records)
    if auth_server.resource_requests:
        assert records, "the sweep saw no log record at all"  # the test server logs each request
    needles = sweep.needles()
    leaks = [(where, name) for where, text in sweep.texts for name, needle in needles.items() if needle in text]
    assert leaks == []
    for error in sweep.errors:
        assert isinstance(error, (TokenError, RuntimeError)) or getattr(error, "code", None) == 401, repr(error)


def test_a_stored_token_shows_no_secret_in_repr() -> None:
    token = decode_token(json.dumps({"access_token": "eyJhbGciOi.secret-part.sig", "token_type": "Bearer",
                                     "issued_at": 1.0, "expires_at": 2e10}))
    for text in (repr(token), str(token), f"{token}", f"{token!r}"):
        assert "secret-part" not in text


async def test_an_endpoint_quoting_the_secret_back_gets_it_blanked_out(auth_server: AuthServer) -> None:
    quoted = urllib.parse.quote(CLIENT_SECRET, safe="")
    body = {"error": "invalid_client", "error_description": f"bad secret {CLIENT_SECRET} / {quoted}"}
    auth_server.fail_next(status=401, body=json.dumps(body).encode())
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    try:
        with pytest.raises(TokenError) as caught:
            await client.fetch(auth_server.resource_url)
    finally:
        client.close()
    error = caught.value
    assert error.error_description == "bad secret [hidden] / [hidden]"
    assert str(error) == (
        f"token request failed (401): token endpoint 127.0.0.1:{auth_server.port} refused the request: "
        "invalid_client (bad secret [hidden] / [hidden])"
    )
    assert error.__context__ is None
    assert error.response is not None  # the raw answer stays available to whoever asks for it


@pytest.mark.parametrize("offset", range(185, 200))
async def test_a_quoted_secret_cut_by_the_length_limit_leaves_no_part_of_it(
    auth_server: AuthServer, offset: int
) -> None:
    description = "x" * offset + CLIENT_SECRET + " and more"
    auth_server.fail_next(status=400, body=json.dumps({"error": "x", "error_description": description}).encode())
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    try:
        with pytest.raises(TokenError) as caught:
            await client.fetch(auth_server.resource_url)
    finally:
        client.close()
    shown = caught.value.error_description or ""
    assert len(shown) == 200
    assert CLIENT_SECRET[:3] not in shown  # "s3c": not even the start of it past the cut
