"""``WWW-Authenticate`` challenges (RFC 9110 sec. 11.6.1) and the Bearer one (RFC 6750 sec. 3).

The header comes from the resource server: untrusted input, parsed here and only here.
The parser never raises and runs in linear time; what it cannot read it skips, up to
the next comma, and carries on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Optional, Union

from tornado.httpclient import HTTPResponse
from tornado.httputil import HTTPHeaders

# RFC 9110 sec. 5.6.2 tchar and sec. 11.2 token68.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SPACE = " \t"
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


@dataclasses.dataclass(frozen=True)
class Challenge:
    """One challenge: its scheme and either auth-params or a token68.

    ``scheme`` is spelled as the server sent it (compare it case-insensitively);
    ``params`` has lower-cased names and unquoted values, the first of any
    repeated name winning.
    """

    scheme: str
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    token68: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class BearerChallenge:
    """What a resource server said about the access token it rejected (RFC 6750 sec. 3).

    :arg realm: the ``realm`` auth-param, if sent.
    :arg scope: the scope the resource requires (``scope``), if sent.
    :arg error: ``invalid_request``, ``invalid_token``, ``insufficient_scope``, another
        code, or ``None`` when the request carried no usable token in the server's eyes.
    :arg error_description: the server's human-readable ``error_description``, if sent.
    :arg error_uri: the server's ``error_uri``, if sent.
    :arg params: every auth-param, lower-cased names, including ones this class does
        not name.

    .. versionadded:: 1.0
    """

    realm: Optional[str] = None
    scope: Optional[str] = None
    error: Optional[str] = None
    error_description: Optional[str] = None
    error_uri: Optional[str] = None
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def wants_new_token(self) -> bool:
        """Whether a fresh token could help.

        It could unless the server named a request or scope problem
        (``invalid_request``, ``insufficient_scope``), which a new token of the same
        client would meet again.
        """
        return self.error not in ("insufficient_scope", "invalid_request")


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Every challenge in the given ``WWW-Authenticate`` field values, in order.

    Several challenges may share one field value, separated by commas (RFC 9110
    sec. 11.6.1). Malformed elements are skipped.
    """
    drafts: list[tuple[str, Optional[str], dict[str, str]]] = []
    for value in values:
        params: Optional[dict[str, str]] = None  # of the challenge this value is on
        for element in _split_elements(value):
            param = _split_param(element)
            if param is not None:
                if params is not None:
                    _add_param(params, *param)
                continue
            scheme = _TOKEN.match(element)
            rest = element[scheme.end() :] if scheme else ""
            if scheme is None or (rest and rest[0] not in _SPACE):
                params = None  # garbage: its params, if any follow, belong to no challenge
                continue
            rest = rest.lstrip(_SPACE)
            token68 = rest if _TOKEN68.fullmatch(rest) else None
            params = {}
            first = _split_param(rest) if rest and token68 is None else None
            if first is not None:
                _add_param(params, *first)
            drafts.append((scheme.group(), token68, params))
    return [Challenge(scheme, params, token68) for scheme, token68, params in drafts]


def _split_elements(value: str) -> list[str]:
    """The non-empty comma-separated list elements of ``value``; quoted commas stay."""
    elements: list[str] = []
    start = position = 0
    while position < len(value):
        char = value[position]
        if char == '"':
            position = _end_of_quoted(value, position) or len(value)
            continue
        if char == ",":
            elements.append(value[start:position])
            start = position + 1
        position += 1
    elements.append(value[start:])
    return [element.strip(_SPACE) for element in elements if element.strip(_SPACE)]


def _end_of_quoted(value: str, position: int) -> Optional[int]:
    """Index just past the quoted string opening at ``position``; ``None`` if unterminated."""
    position += 1
    while position < len(value):
        char = value[position]
        if char == "\\":
            position += 2
        elif char == '"':
            return position + 1
        else:
            position += 1
    return None


def _split_param(element: str) -> Optional[tuple[str, str]]:
    """``(name, raw value)`` if ``element`` reads ``token BWS "=" BWS ...``, else ``None``."""
    name = _TOKEN.match(element)
    if name is None:
        return None
    rest = element[name.end() :].lstrip(_SPACE)
    if not rest.startswith("="):
        return None
    return name.group(), rest[1:].lstrip(_SPACE)


def _add_param(params: dict[str, str], name: str, raw_value: str) -> None:
    """Record one auth-param; a malformed value is dropped, a repeated name ignored."""
    value = _param_value(raw_value)
    if value is not None:
        params.setdefault(name.lower(), value)


def _param_value(raw: str) -> Optional[str]:
    """A token or quoted-string value, unescaped; ``None`` if it is neither."""
    if raw.startswith('"'):
        if _end_of_quoted(raw, 0) != len(raw):
            return None
        return _QUOTED_PAIR.sub(r"\1", raw[1:-1])
    return raw if _TOKEN.fullmatch(raw) else None


def bearer_challenge(
    # object: any value is accepted (never raises), so `err.response`, None or not, can be passed.
    source: Union[HTTPResponse, HTTPHeaders, Mapping[str, str], object],
) -> Optional[BearerChallenge]:
    """The ``Bearer`` challenge of a resource server's answer, or ``None`` if it sent none.

    :arg source: an `~tornado.httpclient.HTTPResponse` (e.g. the one `TornadoClient.fetch`
        returned, or ``err.response`` of the `~tornado.httpclient.HTTPClientError` it
        raised), its `~tornado.httputil.HTTPHeaders`, or a plain mapping of header names
        to values. Anything else, ``None`` included (``err.response`` after a network
        failure), has no challenge.

    Only the first ``Bearer`` challenge counts; other schemes are ignored.

    .. versionadded:: 1.0
    """
    headers = getattr(source, "headers", source)
    if isinstance(headers, HTTPHeaders):
        values = headers.get_list("WWW-Authenticate")
    elif isinstance(headers, Mapping):
        values = [value for name, value in headers.items() if name.lower() == "www-authenticate"]
    else:
        return None
    for challenge in parse_challenges(values):
        if challenge.scheme.lower() == "bearer":
            params = dict(challenge.params)
            return BearerChallenge(
                realm=params.get("realm"),
                scope=params.get("scope"),
                error=params.get("error"),
                error_description=params.get("error_description"),
                error_uri=params.get("error_uri"),
                params=params,
            )
    return None
