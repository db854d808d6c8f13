"""WWW-Authenticate parsing (RFC 9110 sec. 11.6.1) and RFC 6750 sec. 3 Bearer challenges."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tornado.httputil import HTTPHeaders

from tornado_alf import BearerChallenge, bearer_challenge
from tornado_alf._challenge import Challenge, parse_challenges


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Bearer realm="example", error="invalid_token", error_description="The access token expired"',
         [Challenge("Bearer", {"realm": "example", "error": "invalid_token",
                               "error_description": "The access token expired"})]),
        ("Bearer", [Challenge("Bearer")]),
        ("Bearer abc.def-ghi==", [Challenge("Bearer", {}, "abc.def-ghi==")]),
        # RFC 9110 sec. 11.6.1's own example: two challenges, an escaped quote, a comma in quotes.
        ('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
         [Challenge("Newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
          Challenge("Basic", {"realm": "simple"})]),
        ('Basic realm="a, b", Bearer error=insufficient_scope, scope="read write"',
         [Challenge("Basic", {"realm": "a, b"}),
          Challenge("Bearer", {"error": "insufficient_scope", "scope": "read write"})]),
        ("bEaReR REALM = x ,  ERROR =invalid_token", [Challenge("bEaReR", {"realm": "x", "error": "invalid_token"})]),
        (",, Bearer ,, realm=x ,", [Challenge("Bearer", {"realm": "x"})]),
        ('Bearer error="a\\\\b"', [Challenge("Bearer", {"error": "a\\b"})]),
        ('Bearer error="first", error="second"', [Challenge("Bearer", {"error": "first"})]),
        # Hostile or broken input: skipped, never raised.
        ('Bearer realm="unterminated', [Challenge("Bearer")]),
        ('Bearer realm="escaped quote at the end\\"', [Challenge("Bearer")]),
        ('"garbage, Bearer x', []),
        ("Bearer:x realm=y", []),
        ("realm=orphan, Bearer", [Challenge("Bearer")]),
        ('Bearer realm="x" trailing, error=invalid_token', [Challenge("Bearer", {"error": "invalid_token"})]),
        ("Bearer error=", [Challenge("Bearer", {}, "error=")]),  # token68 by the grammar
        ("", []),
        ("\x00\x01 Bearer", []),
    ],
)
def test_parse_challenges(header: str, expected: list[Challenge]) -> None:
    assert parse_challenges([header]) == expected


def test_challenges_of_several_header_lines_keep_their_order() -> None:
    headers = HTTPHeaders()
    headers.add("WWW-Authenticate", 'Basic realm="x"')
    headers.add("WWW-Authenticate", 'Bearer error="invalid_token", error_uri="https://as.test/e"')
    challenge = bearer_challenge(headers)
    assert challenge == BearerChallenge(
        error="invalid_token",
        error_uri="https://as.test/e",
        params={"error": "invalid_token", "error_uri": "https://as.test/e"},
    )


def test_params_of_one_line_never_attach_to_a_challenge_of_another() -> None:
    assert parse_challenges(["Bearer", 'error="invalid_token"']) == [Challenge("Bearer")]


def test_bearer_challenge_reads_a_plain_mapping_and_ignores_other_schemes() -> None:
    assert bearer_challenge({"www-authenticate": 'Basic realm="x"'}) is None
    assert bearer_challenge({"Content-Type": "text/plain"}) is None
    assert bearer_challenge(object()) is None
    challenge = bearer_challenge({"WWW-Authenticate": 'DPoP algs="ES256", Bearer scope="a b"'})
    assert challenge is not None
    assert challenge.scope == "a b"


@pytest.mark.parametrize(
    ("error", "wants_new_token"),
    [(None, True), ("invalid_token", True), ("some_new_code", True),
     ("insufficient_scope", False), ("invalid_request", False)],
)
def test_only_request_and_scope_errors_say_a_new_token_would_not_help(
    error: str | None, wants_new_token: bool
) -> None:
    assert BearerChallenge(error=error).wants_new_token is wants_new_token


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_text_parses_without_raising(header: str) -> None:
    for challenge in parse_challenges([header]):
        assert challenge.scheme
        assert all(name == name.lower() for name in challenge.params)


_tokens = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1, max_size=12)
_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(st.lists(st.tuples(_tokens, st.dictionaries(_tokens, _values, max_size=4)), min_size=1, max_size=4))
def test_rendered_challenges_parse_back(challenges: list[tuple[str, dict[str, str]]]) -> None:
    rendered = ", ".join(
        scheme + (" " + ", ".join(f"{name}={_quote(value)}" for name, value in params.items()) if params else "")
        for scheme, params in challenges
    )
    parsed = parse_challenges([rendered])
    expected = []
    for scheme, params in challenges:
        lowered: dict[str, str] = {}
        for name, value in params.items():
            lowered.setdefault(name.lower(), value)
        expected.append(Challenge(scheme, lowered))
    assert parsed == expected


def test_a_long_hostile_header_parses_in_linear_time() -> None:
    import time

    header = 'Bearer realm="' + "\\a" * 200_000 + ", x=" * 50_000
    started = time.perf_counter()
    parse_challenges([header])
    assert time.perf_counter() - started < 2.0
