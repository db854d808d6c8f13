"""Client authentication whose credential is read per token request: rotated secrets and keys, platform assertions.

Both classes add `refresh` to the `ClientAuthentication` protocol: the token endpoint
calls it before each token acquisition (never on a warm request), and again with
``force=True`` when the server answered ``invalid_client`` (the rotation race).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Callable, Optional

from .._sources import Source, Value, assertion_fingerprint, expired, jwt_claims
from ..errors import TokenError
from ..retry import NETWORK_FAILURE
from .base import ClientAuthentication, FormFields

#: RFC 7523 sec. 2.2's assertion type, for a client assertion the platform signed.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class RotatingAuthentication:
    """A `ClientAuthentication` rebuilt whenever one of its credential sources gives a new value.

    :arg sources: the credentials by argument name (``client_secret``, ``private_key``,
        ``client_certificate``); at least one of them rotates.
    :arg build: makes the authentication from the values read (by the same names);
        a `ValueError` (a rotated key that cannot sign) becomes `TokenError`.
    """

    def __init__(self, sources: dict[str, Source], build: Callable[[dict[str, Value]], ClientAuthentication]) -> None:
        self._sources = sources
        self._build = build
        self._inner: Optional[ClientAuthentication] = None
        self._fingerprint = ""

    async def refresh(self, force: bool = False) -> bool:
        """Read every source; rebuild when a value changed. Whether it changed.

        :raises TokenError: (599) naming the source that cannot be read or used.
        """
        values: dict[str, Value] = {}
        changed = self._inner is None
        for name, source in self._sources.items():
            values[name], was_changed = await source.read(force)
            changed = changed or was_changed
        if changed:
            try:
                self._inner = self._build(values)
            except ValueError as exc:  # the messages name arguments, never values
                rotating = ", ".join(source.name for source in self._sources.values() if source.rotates)
                raise TokenError(NETWORK_FAILURE, f"credential from {rotating} is not usable: {exc}") from None
            self._fingerprint = str(getattr(self._inner, "fingerprint", "")) or _values_fingerprint(values)
        return changed

    @property
    def hidden(self) -> tuple[str, ...]:
        """Every spelling of the credential the latest request carried."""
        return () if self._inner is None else self._inner.hidden

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the credential read last (computed once per value)."""
        return self._fingerprint

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Add the credential read last; `refresh` has run before."""
        if self._inner is None:  # pragma: no cover - the endpoint refreshes before every request
            raise RuntimeError("RotatingAuthentication.apply before refresh")
        self._inner.apply(form, headers)

    def __repr__(self) -> str:
        names = ", ".join(f"{name} from {source.name}" for name, source in self._sources.items())
        return f"<RotatingAuthentication {names}>"


def _values_fingerprint(values: dict[str, Value]) -> str:
    """A digest naming the credentials read, for the store key (which stretches it further)."""
    digest = hashlib.sha256(b"tornado-alf rotating credential\0")
    for name, value in sorted(values.items()):
        digest.update(name.encode() + b"\0" + (value.encode() if isinstance(value, str) else value) + b"\0")
    return "credential:" + digest.hexdigest()


class ClientAssertion:
    """A client assertion signed by the platform (RFC 7521 sec. 4.2, RFC 7523 sec. 2.2).

    Azure workload identity (``AZURE_FEDERATED_TOKEN_FILE``), a Kubernetes projected
    service-account token, GitHub Actions' OIDC token: the JWT from ``source`` is sent
    as ``client_assertion``. Its ``exp`` (read without verifying: the server verifies)
    decides whether it may be sent: an expired one is read again, and never sent.

    :arg str client_id: sent as ``client_id`` (Entra ID requires it).
    :arg source: where the assertion comes from.
    """

    def __init__(self, client_id: str, source: Source, clock: Callable[[], float] = time.time) -> None:
        self._client_id = client_id
        self._source = source
        self._clock = clock
        self._assertion = ""
        self.fingerprint = ""

    async def refresh(self, force: bool = False) -> bool:
        """Read the assertion; read it once more if it has expired.

        :raises TokenError: (599) naming the source when it cannot be read, is not a
            JWT, or holds an expired assertion even after reading it again.
        """
        value, changed = await self._source.read(force)
        claims = self._claims(value)
        if expired(claims, clock=self._clock):
            value, _ = await self._source.read(force=True)
            claims = self._claims(value)
            if expired(claims, clock=self._clock):
                raise TokenError(
                    NETWORK_FAILURE,
                    f"client_assertion from {self._source.name} has expired; it was not sent",
                )
        assertion = value if isinstance(value, str) else value.decode("ascii")
        changed = assertion != self._assertion
        if changed:
            self._assertion = assertion
            self.fingerprint = assertion_fingerprint("assertion", claims)
        return changed

    def _claims(self, value: Value) -> dict[str, Any]:
        try:
            return jwt_claims(value if isinstance(value, str) else value.decode("ascii"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError(
                NETWORK_FAILURE, f"client_assertion from {self._source.name} is not a JWT: {exc}"
            ) from None

    @property
    def hidden(self) -> tuple[str, ...]:
        """The assertion, and its signature alone."""
        if not self._assertion:
            return ()
        return (self._assertion, self._assertion.rpartition(".")[2])

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send the assertion read last as form fields."""
        form.append(("client_id", self._client_id))
        form.append(("client_assertion_type", ASSERTION_TYPE))
        form.append(("client_assertion", self._assertion))

    def __repr__(self) -> str:
        return f"<ClientAssertion from {self._source.name}>"
