"""Grants beyond client credentials: the JWT-bearer grant (RFC 7523 sec. 2.1) and token exchange (RFC 8693).

`JwtBearerGrant` and `TokenExchange` are what the user writes (``TornadoClient(...,
grant=...)``); `GrantFields` reads their sources before each token acquisition and
puts them into the form in place of ``grant_type=client_credentials``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from ._sources import Source, assertion_fingerprint, expired, jwt_claims, source_of, text
from .errors import TokenError
from .retry import NETWORK_FAILURE

__all__ = ["ACCESS_TOKEN_TYPE", "ID_TOKEN_TYPE", "JWT_TOKEN_TYPE", "GrantFields", "JwtBearerGrant", "TokenExchange"]

# Names of grant and token types (RFC 7523 sec. 2.1, RFC 8693 sec. 2.1 and 3), not secrets.
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
#: RFC 8693 sec. 3 token type identifiers.
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105


class JwtBearerGrant:
    """The JWT-bearer authorization grant (RFC 7523 sec. 2.1): a JWT in exchange for a token.

    ``TornadoClient(token_endpoint, client_id, grant=JwtBearerGrant(assertion))``
    sends ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and the
    ``assertion`` instead of ``grant_type=client_credentials``; the client still
    authenticates per ``auth_method`` (``"none"`` if the server asks for no client
    authentication). An expired assertion (its ``exp``) is read again, never sent.

    :arg assertion: the JWT: a str, a callable (sync or async) returning it, or a
        `FileSecret`.

    .. versionadded:: 2.0
    """

    def __init__(self, assertion: Any) -> None:
        self.assertion = source_of(assertion, "assertion")
        if self.assertion is None:
            raise ValueError("assertion is required for JwtBearerGrant")

    def __repr__(self) -> str:
        return f"<JwtBearerGrant assertion from {self.assertion.name if self.assertion else None}>"


class TokenExchange:
    """OAuth 2.0 token exchange (RFC 8693 sec. 2.1): a token for a subject, in exchange for its token.

    Sent in place of ``grant_type=client_credentials``, with the client's ``scope``,
    ``audience`` and ``resource``. For a token per caller (on-behalf-of) use
    `TornadoClient.on_behalf_of` instead, which caches one token per subject.

    :arg subject_token: the token of the party the new token acts for: a str, a
        callable (sync or async) returning it, or a `FileSecret`.
    :arg str subject_token_type: its type (default
        ``urn:ietf:params:oauth:token-type:access_token``).
    :arg actor_token: optionally, the token of the acting party (a source too).
    :arg str actor_token_type: its type; required with ``actor_token``.
    :arg str requested_token_type: the type of token wanted, when not the server's default.

    .. versionadded:: 2.0
    """

    def __init__(
        self,
        subject_token: Any,
        subject_token_type: str = ACCESS_TOKEN_TYPE,
        *,
        actor_token: Any = None,
        actor_token_type: Optional[str] = None,
        requested_token_type: Optional[str] = None,
    ) -> None:
        self.subject_token = source_of(subject_token, "subject_token")
        self.actor_token = source_of(actor_token, "actor_token")
        if self.subject_token is None:
            raise ValueError("subject_token is required for TokenExchange")
        for name, value in (("subject_token_type", subject_token_type), ("actor_token_type", actor_token_type),
                            ("requested_token_type", requested_token_type)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string")
        if (actor_token is None) != (actor_token_type is None):
            raise ValueError("actor_token and actor_token_type go together (RFC 8693 sec. 2.1)")
        self.subject_token_type = subject_token_type
        self.actor_token_type = actor_token_type
        self.requested_token_type = requested_token_type

    def __repr__(self) -> str:
        name = self.subject_token.name if self.subject_token else None
        return f"<TokenExchange subject_token from {name}, {self.subject_token_type}>"


class GrantFields:
    """The form fields of one grant, read from its sources before each token acquisition.

    `refresh` reads them (a JWT's ``exp`` is checked: an expired one is read again and
    never sent); `fields` gives ``grant_type`` and the grant's own fields; `fingerprint`
    names the grant for store keys (the assertion's issuer, subject and audience; a
    digest of the subject token), computed once per value read.
    """

    def __init__(self, grant: Any) -> None:
        self._grant_type = JWT_BEARER if isinstance(grant, JwtBearerGrant) else TOKEN_EXCHANGE
        self._sources: list[tuple[str, Source]] = []
        self._fixed: list[tuple[str, str]] = []
        if isinstance(grant, JwtBearerGrant):
            self._sources.append(("assertion", grant.assertion))  # type: ignore[arg-type]
        else:
            self._sources.append(("subject_token", grant.subject_token))
            self._fixed.append(("subject_token_type", grant.subject_token_type))
            if grant.actor_token is not None:
                self._sources.append(("actor_token", grant.actor_token))
                self._fixed.append(("actor_token_type", grant.actor_token_type))
            if grant.requested_token_type is not None:
                self._fixed.append(("requested_token_type", grant.requested_token_type))
        self._values: dict[str, str] = {}
        self.fingerprint = ""

    @property
    def rotates(self) -> bool:
        """Whether a source may give another value next time."""
        return any(source.rotates for _, source in self._sources)

    async def refresh(self, force: bool = False) -> bool:
        """Read every source; whether a value changed.

        :raises TokenError: (599) naming the source that cannot be read, or whose JWT
            has expired even after reading it again.
        """
        values = {}
        for name, source in self._sources:
            values[name] = await self._read(name, source, force)
        changed = values != self._values
        if changed:
            self._values = values
            self.fingerprint = self._fingerprint()
        return changed

    async def _read(self, name: str, source: Source, force: bool) -> str:
        value = text((await source.read(force))[0])
        if self._is_expired(name, value):
            value = text((await source.read(force=True))[0])
            if self._is_expired(name, value):
                raise TokenError(NETWORK_FAILURE, f"{name} from {source.name} has expired; it was not sent")
        return value

    def _is_expired(self, name: str, value: str) -> bool:
        if name != "assertion" and value.count(".") != 2:
            return False  # an opaque subject or actor token: its server knows its life
        try:
            return expired(jwt_claims(value))
        except ValueError:
            return False  # not a JWT after all: the server decides

    def _fingerprint(self) -> str:
        if self._grant_type == JWT_BEARER:
            try:
                return assertion_fingerprint("jwt-bearer", jwt_claims(self._values["assertion"]))
            except ValueError:
                pass
        digest = hashlib.sha256()
        for name, value in sorted(self._values.items()):
            digest.update(f"{name}\0{value}\0".encode())
        return f"{self._grant_type}:{digest.hexdigest()}"

    def fields(self) -> list[tuple[str, str]]:
        """``grant_type`` and the grant's fields, as read last."""
        return [("grant_type", self._grant_type), *self._values.items(), *self._fixed]

    @property
    def hidden(self) -> tuple[str, ...]:
        """The tokens and assertions sent, to blank out of errors."""
        return tuple(self._values.values())

    def __repr__(self) -> str:
        return f"<GrantFields {self._grant_type.rpartition(':')[2]}>"
