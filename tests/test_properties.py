"""Property tests on every parser of untrusted input, and on what the client sends.

Properties: a parser raises only its documented exception; valid inputs
round-trip; no endpoint answer makes the client send a request without
``Authorization`` or with a token other than the one the endpoint issued.
The ``WWW-Authenticate`` challenge parser lives on the standards branch and is
tested there.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import io
import json
import math
import time
from collections.abc import Iterator
from typing import Any, Optional, Union

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tornado_alf import TokenError, TornadoClient
from tornado_alf._token import Token
from tornado_alf._token_response import parse_expires_in, parse_token_response
from tornado_alf.retry import parse_retry_after
from tornado_alf.stores.codec import decode_token, encode_token
from tornado_alf.testing import AuthServer

CHEAP = settings(max_examples=2000, deadline=None, database=None)  # under a millisecond each
PURE = settings(max_examples=600, deadline=None, database=None)  # JSON documents: a few ms each
NETWORKED = settings(max_examples=300, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

VSCHARS = "".join(chr(c) for c in range(0x20, 0x7F))

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
access_tokens = st.text(alphabet=VSCHARS, min_size=1, max_size=200)  # some start or end with a space
sendable_tokens = access_tokens.filter(lambda token: token[0] != " " and token[-1] != " ")
valid_lifetimes = st.none() | st.integers(0, 10**12) | st.floats(0, 1e300, allow_nan=False)
any_field_value = json_values | access_tokens | st.floats() | st.integers(-(10**30), 10**30) \
    | st.sampled_from(["NaN", "Infinity", "-1", "1e999", "3600", " 60 ", "0x10", "1_000", "", "Bearer"])


def token_document() -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects shaped like token responses, each field sometimes valid, sometimes not."""
    fields = {
        "access_token": access_tokens | any_field_value,
        "token_type": st.sampled_from(["Bearer", "bearer", "BEARER", "mac", "", "Basic"]) | any_field_value,
        "expires_in": valid_lifetimes | any_field_value,
        "scope": st.text(max_size=20) | any_field_value,
        "refresh_token": any_field_value,
    }
    return st.fixed_dictionaries({}, optional=fields)


def valid_document() -> st.SearchStrategy[dict[str, Any]]:
    """Token responses the contract accepts."""
    return st.fixed_dictionaries(
        {"access_token": sendable_tokens | access_tokens},
        optional={"token_type": st.sampled_from(["Bearer", "bearer", "BEARER"]), "expires_in": valid_lifetimes,
                  "scope": st.text(max_size=20)},
    )


def answer(code: int, body: bytes, headers: Optional[dict[str, str]] = None) -> HTTPResponse:
    request = HTTPRequest("http://auth.example/token", method="POST", body="grant_type=client_credentials")
    return HTTPResponse(request, code, headers=HTTPHeaders(headers or {}), buffer=io.BytesIO(body))


def is_valid_lifetime(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return False
    return math.isfinite(seconds) and seconds >= 0


def expected_token(document: dict[str, Any]) -> Optional[tuple[str, Optional[float]]]:
    """What a correct parser makes of ``document``: (access_token, expires_in), or None for an error."""
    token = document.get("access_token")
    if not isinstance(token, str) or not token or any(c not in VSCHARS for c in token):
        return None
    if token[0] == " " or token[-1] == " ":  # a Bearer header cannot carry it as issued
        return None
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        return None
    lifetime = document.get("expires_in")
    if not is_valid_lifetime(lifetime):
        return None
    return token, None if lifetime is None else float(lifetime)


# parse_token_response


def parsed(response: HTTPResponse) -> Union[Token, TokenError]:
    try:
        return parse_token_response(response, 1000.0, "auth.example")
    except TokenError as error:
        return error


@PURE
@given(code=st.integers(100, 599), body=st.binary(max_size=300))
def test_any_bytes_with_any_status_give_a_token_or_a_token_error(code: int, body: bytes) -> None:
    outcome = parsed(answer(code, body))
    if isinstance(outcome, TokenError):
        assert outcome.code == code
        assert "\n" not in str(outcome)
    else:
        assert 200 <= code < 300
        assert set(outcome.access_token) <= set(VSCHARS)


@PURE
@example(document={"access_token": "abc "}, code=200)
@example(document={"access_token": " abc"}, code=200)
@example(document={"access_token": "a b", "expires_in": "1e400"}, code=200)
@given(document=token_document(), code=st.sampled_from([200, 201, 204]))
def test_a_token_document_is_parsed_exactly_as_the_contract_says(document: dict[str, Any], code: int) -> None:
    body = json.dumps(document).encode()
    expected = expected_token(document)
    token = parsed(answer(code, body))
    if isinstance(token, TokenError):
        assert expected is None, f"valid document refused: {token}"
        assert token.code == code
    else:
        assert expected is not None, "invalid document accepted"
        assert (token.access_token, token.expires_in) == expected
        assert token.token_type == "Bearer"
        assert token.issued_at == 1000.0
        assert token.scope is None or isinstance(token.scope, str)


@PURE
@given(code=st.integers(300, 599), document=json_values | token_document(),
       location=st.none() | st.text(alphabet=VSCHARS, max_size=50))
def test_a_non_2xx_answer_is_always_a_token_error_with_its_status(
    code: int, document: Any, location: Optional[str]
) -> None:
    headers = {} if location is None else {"Location": location}
    with pytest.raises(TokenError) as caught:
        parse_token_response(answer(code, json.dumps(document).encode(), headers), 0.0, "auth.example")
    error = caught.value
    assert error.code == code
    for text in (error.error, error.error_description, error.error_uri):
        assert text is None or (isinstance(text, str) and "\n" not in text and len(text) <= 200)


secrets_to_hide = st.text(alphabet=VSCHARS.replace("[", "").replace("]", "") + "\t\n", min_size=8, max_size=40) \
    .filter(lambda secret: len(secret.split()) > 0 and len(" ".join(secret.split())) >= 8)


@PURE
@example(secret="s3cr3t-p@ss w+rd:/%&=?", before="x" * 180, after="", where="error_description", code=400)
@example(secret="s3cr3t-p@ss w+rd:/%&=?", before="", after="", where="Location", code=302)
@given(secret=secrets_to_hide, before=st.text(max_size=220), after=st.text(max_size=40),
       where=st.sampled_from(["error", "error_description", "error_uri", "Location"]),
       code=st.sampled_from([302, 307, 400, 401, 403, 500, 503]))
def test_a_secret_the_endpoint_quotes_back_never_shows(
    secret: str, before: str, after: str, where: str, code: int
) -> None:
    text = before + secret + after
    if where == "Location":
        response = answer(code, b"", {"Location": " ".join(text.split()) or "x"})
    else:
        response = answer(code, json.dumps({"error": "invalid_client", where: text}).encode())
    error = parsed_hiding(response, (secret,))
    folded = " ".join(secret.split())
    shown = [str(error), repr(error), error.message, error.error, error.error_description, error.error_uri]
    assert not [text for text in shown if text and folded in text]


def parsed_hiding(response: HTTPResponse, hide: tuple[str, ...]) -> TokenError:
    with pytest.raises(TokenError) as caught:
        parse_token_response(response, 0.0, "auth.example", hide)
    return caught.value


# parse_expires_in


@PURE
@given(value=json_values | st.floats() | st.text(alphabet="0123456789.-+eEinfaINF _x", max_size=12))
def test_expires_in_is_a_finite_non_negative_float_none_or_value_error(value: Any) -> None:
    try:
        seconds = parse_expires_in(value)
    except ValueError:
        assert not is_valid_lifetime(value)
    else:
        assert is_valid_lifetime(value)
        assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@CHEAP
@given(value=st.integers(0, 10**300) | st.floats(0, 1.7e308, allow_nan=False, allow_infinity=False))
def test_a_valid_expires_in_round_trips_as_number_and_as_string(value: float) -> None:
    assert parse_expires_in(value) == float(value)
    assert parse_expires_in(repr(value)) == float(value)


# Retry-After


@CHEAP
@example(value="9" * 400)  # delay-seconds past any float: inf, capped by backoff_max later
@example(value="Fri, 31 Dec 9999 23:59:59 -2359")
@example(value="Mon, 01 Jan 0001 00:00:00 +2359")
@example(value="\u0661\u0662")  # Arabic-Indic digits are not delay-seconds
@given(value=st.text() | st.text(alphabet="0123456789 ,:-+GMTAaBbCcDdEeFfJjNnOoSsTtUuVvYyLlRrPpMmWwHhIi",
                                 max_size=40))
def test_retry_after_is_a_wait_or_none_for_any_text(value: str) -> None:
    seconds = parse_retry_after(value, now=1_700_000_000.0)
    assert seconds is None or seconds >= 0  # never negative, never NaN


@CHEAP
@given(seconds=st.integers(0, 10**15), padding=st.sampled_from(["", " ", "\t", "  "]))
def test_retry_after_delay_seconds_round_trip(seconds: int, padding: str) -> None:
    assert parse_retry_after(f"{padding}{seconds}{padding}") == float(seconds)


@CHEAP
@given(when=st.datetimes(min_value=datetime.datetime(1970, 1, 2), max_value=datetime.datetime(9999, 12, 30),
                         timezones=st.just(datetime.timezone.utc)))
def test_retry_after_http_dates_round_trip(when: datetime.datetime) -> None:
    now = 1_700_000_000.0
    stamp = when.replace(microsecond=0)
    value = email.utils.format_datetime(stamp, usegmt=True)
    assert parse_retry_after(value, now=now) == max(0.0, stamp.timestamp() - now)


# stored values


stored_fields = {
    "access_token": access_tokens | any_field_value,
    "token_type": st.just("Bearer") | any_field_value,
    "issued_at": st.floats(0, 4e9) | any_field_value,
    "expires_at": st.none() | st.floats(0, 4e9) | any_field_value,
    "scope": st.none() | st.text(max_size=10) | any_field_value,
}


@PURE
@example(raw=json.dumps({"access_token": "t", "token_type": "Bearer", "issued_at": -1e308, "expires_at": 1e308}))
@example(raw=json.dumps({"access_token": "t ", "token_type": "Bearer", "issued_at": 1.0}))
@example(raw=b"\xff\xfe")
@example(raw="[" * 100_000)
@given(raw=st.text() | st.binary() | st.fixed_dictionaries({}, optional=stored_fields).map(json.dumps)
       | json_values.map(json.dumps))
def test_a_stored_value_decodes_to_a_usable_token_or_value_error(raw: Any) -> None:
    try:
        token = decode_token(raw)
    except ValueError:
        return
    assert set(token.access_token) <= set(VSCHARS)
    assert token.token_type == "Bearer"
    assert math.isfinite(token.issued_at)
    assert token.expires_in is None or (math.isfinite(token.expires_in) and token.expires_in >= 0)


@PURE
@given(access_token=sendable_tokens, lifetime=valid_lifetimes, scope=st.none() | st.text(max_size=30),
       issued_at=st.floats(0, 4e9))
def test_a_stored_token_round_trips(
    access_token: str, lifetime: Optional[float], scope: Optional[str], issued_at: float
) -> None:
    token = Token(access_token, "Bearer", lifetime, scope, issued_at)
    decoded = decode_token(encode_token(token))
    assert (decoded.access_token, decoded.scope, decoded.issued_at) == (access_token, scope, issued_at)
    if lifetime is None:
        assert decoded.expires_in is None
        assert encode_token(decoded) == encode_token(token)
    else:
        assert decoded.expires_at == token.expires_at
        assert decoded.expires_in is not None
        assert math.isclose(decoded.expires_in, lifetime, rel_tol=1e-9, abs_tol=1e-6)


# the client end to end: whatever the endpoint answers, the resource sees the issued token or nothing


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of our own, driven example by example (Hypothesis runs examples synchronously)."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def test_the_resource_sees_the_issued_token_or_no_request_at_all(loop: asyncio.AbstractEventLoop) -> None:
    server = AuthServer(CLIENT_ID, CLIENT_SECRET)
    loop.run_until_complete(_start(server))
    examples = {"token": 0, "error": 0}

    @NETWORKED
    @example(document={"access_token": "abc "}, code=200, garble=None)  # Tornado refuses such a header
    @example(document={"access_token": " abc"}, code=200, garble=None)  # read as "abc" after "Bearer "
    @example(document={"access_token": "abc\r\nX-Injected: 1"}, code=200, garble=None)
    @given(document=valid_document() | token_document(), code=st.sampled_from([200, 200, 200, 201, 400, 500]),
           garble=st.sampled_from([None, None, None, b"", b"<html>", b"[", b"\xff"]))
    def check(document: dict[str, Any], code: int, garble: Optional[bytes]) -> None:
        body = garble if garble is not None else json.dumps(document).encode()
        issued = document.get("access_token")
        if isinstance(issued, str):
            server.issued[issued] = math.inf  # the resource takes what the endpoint issued
        server.fail_next(status=code, body=body, headers={"Content-Type": "application/json"})
        before = server.resource_requests
        server.last_resource_authorization = None
        outcome = loop.run_until_complete(_fetch(server))
        if isinstance(outcome, TokenError):
            examples["error"] += 1
            assert server.resource_requests == before, "resource asked without a token"
        else:
            examples["token"] += 1
            assert code in (200, 201)
            assert garble is None
            assert server.resource_requests == before + 1
            assert server.last_resource_authorization == f"Bearer {issued}"

    try:
        check()
    finally:
        server.stop()
    assert examples["token"] > 20
    assert examples["error"] > 20
    print(f"client property: {examples}")


class PlantedStore:
    """A store that answers every read with one planted value."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def get(self, key: str) -> Any:
        return self.raw

    def set(self, key: str, value: str) -> None:
        self.raw = value


def planted_value(fields: dict[str, Any], now: float) -> str:
    """A stored value from generated fields; times are offsets from ``now``."""
    value: dict[str, Any] = {name: fields[name] for name in ("access_token", "token_type", "scope") if name in fields}
    if "issued_ago" in fields:
        value["issued_at"] = now - fields["issued_ago"] if isinstance(fields["issued_ago"], float) \
            else fields["issued_ago"]
    if "lifetime" in fields:
        lifetime = fields["lifetime"]
        value["expires_at"] = value.get("issued_at", now) + lifetime \
            if isinstance(lifetime, float) and isinstance(value.get("issued_at", now), float) else lifetime
    return json.dumps(value)


usable_stored = st.fixed_dictionaries(
    {"access_token": sendable_tokens, "token_type": st.just("Bearer"), "issued_ago": st.floats(-60, 3600),
     "lifetime": st.floats(0, 7200)},
    optional={"scope": st.none() | st.text(max_size=10)},
)
stored_documents = usable_stored | usable_stored | st.fixed_dictionaries({}, optional={
    "access_token": access_tokens | any_field_value,
    "token_type": st.just("Bearer") | any_field_value,
    "issued_ago": st.floats(-60, 7200) | any_field_value,
    "lifetime": st.none() | st.floats(-60, 7200) | any_field_value,
    "scope": any_field_value,
})


def test_a_stored_value_makes_the_client_send_that_token_or_the_endpoints(loop: asyncio.AbstractEventLoop) -> None:
    server = AuthServer(CLIENT_ID, CLIENT_SECRET)
    loop.run_until_complete(_start(server))
    examples = {"stored": 0, "endpoint": 0}

    @NETWORKED
    @example(fields={}, garbage="null")
    @example(fields={"access_token": "t ", "token_type": "Bearer", "issued_ago": 0.0, "lifetime": 60.0}, garbage=None)
    @given(fields=stored_documents, garbage=st.none() | st.none() | st.text(max_size=50))
    def check(fields: dict[str, Any], garbage: Optional[str]) -> None:
        raw = garbage if garbage is not None else planted_value(fields, time.time())
        planted = fields.get("access_token") if garbage is None else None
        if isinstance(planted, str):
            server.issued[planted] = math.inf  # the resource takes it; the client must judge it
        issued_before = set(server.issued)
        server.last_resource_authorization = None
        outcome = loop.run_until_complete(_fetch(server, PlantedStore(raw)))
        assert not isinstance(outcome, TokenError)
        # Declared, or mypy would still see the None set before the fetch wrote it.
        seen: Optional[str] = server.last_resource_authorization
        assert seen is not None
        assert seen.startswith("Bearer ")
        token = seen[len("Bearer "):]
        if token == planted and token in issued_before:
            examples["stored"] += 1
            assert decode_token(raw).access_token == planted  # only a value the codec accepts is used
        else:
            examples["endpoint"] += 1
            assert token in set(server.issued) - issued_before  # freshly issued for this example

    try:
        check()
    finally:
        server.stop()
    assert examples["stored"] > 5  # Hypothesis favours edge values: expired ones are most of the rest
    assert examples["endpoint"] > 5
    print(f"stored value property: {examples}")


async def _start(server: AuthServer) -> None:
    server.start()


async def _fetch(server: AuthServer, store: Any = None) -> object:
    client = TornadoClient(server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_storage=store)
    try:
        return await client.fetch(server.resource_url, raise_error=False)
    except TokenError as error:
        return error
    finally:
        client.close()
