"""JWT client assertions for the token endpoint (RFC 7523 sec. 2.2, OpenID Connect Core sec. 9).

Signing is joserfc's job, installed with the ``tornado-alf[jwt]`` extra; this module
only decides what goes into each assertion. It is imported only when a JWT auth method
is chosen (see `tornado_alf.auth`), so the core works without joserfc.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Callable, Optional, Union

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OctKey, RSAKey

from .base import KEY_ALGS, FormFields, PrivateKey, spellings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Long enough for a slow network and a little clock skew, short enough that a
# captured assertion is soon worthless (servers also refuse a replayed jti).
ASSERTION_LIFETIME = 60
_KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}
_KEY_CLASSES: dict[str, Union[type[RSAKey], type[ECKey]]] = {"RSA": RSAKey, "EC": ECKey}


class JwtAssertion:
    """Signs a fresh client assertion for every token request.

    :arg str client_id: ``iss`` and ``sub`` of each assertion.
    :arg str audience: ``aud``, normally the token endpoint URL.
    :arg key: the joserfc key that signs.
    :arg str alg: the JWS algorithm.
    :arg kid: the ``kid`` JWS header, when the key has one.
    :arg clock: wall-clock seconds, for ``iat`` and ``exp``.
    :arg hide: spellings of the signing secret, for `hidden`.
    :arg headers: more JWS headers (``x5t#S256``).
    """

    def __init__(
        self,
        client_id: str,
        audience: str,
        key: Key,
        alg: str,
        kid: Optional[str] = None,
        clock: Callable[[], float] = time.time,
        hide: tuple[str, ...] = (),
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._client_id = client_id
        self._hide = hide
        self._last = ""
        self._audience = audience
        self._key = key
        self._header = {"alg": alg, "typ": "JWT"} if kid is None else {"alg": alg, "typ": "JWT", "kid": kid}
        self._header.update(headers or {})
        self._clock = clock

    def assertion(self) -> str:
        """One signed assertion with a new ``jti``, ``iat`` and ``exp``."""
        now = int(self._clock())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._audience,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        token: str = jwt.encode(self._header, claims, self._key, algorithms=[self._header["alg"]])
        return token

    @property
    def hidden(self) -> tuple[str, ...]:
        """The secret's spellings, the assertion sent last and its signature alone.

        One token request is in flight per client, so the last assertion is the
        one the answer being read was given for.
        """
        if not self._last:
            return self._hide
        return (*self._hide, self._last, self._last.rpartition(".")[2])

    @property
    def fingerprint(self) -> str:
        """The key's RFC 7638 thumbprint (of the public key; for an HMAC key, a digest), alg and audience."""
        return f"jwk:{self._key.thumbprint()}:{self._header['alg']}:{self._audience}"

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send a fresh assertion (RFC 7523 sec. 2.2) as form fields."""
        self._last = self.assertion()
        form.append(("client_assertion_type", ASSERTION_TYPE))
        form.append(("client_assertion", self._last))

    def __repr__(self) -> str:
        return f"<JwtAssertion {self._header['alg']}>"


def client_secret_jwt(
    client_id: str, client_secret: str, audience: str, alg: Optional[str] = None
) -> JwtAssertion:
    """``client_secret_jwt``: an HMAC assertion keyed with the client secret (non-empty)."""
    alg = alg or "HS256"
    key = OctKey.import_key(client_secret)
    return _checked(JwtAssertion(client_id, audience, key, alg, hide=spellings(client_secret)), "client_secret")


def private_key_jwt(
    client_id: str,
    private_key: PrivateKey,
    audience: str,
    alg: Optional[str] = None,
    kid: Optional[str] = None,
    certificate: Union[str, bytes, None] = None,
) -> JwtAssertion:
    """``private_key_jwt``: an assertion signed with the client's private key.

    ``private_key`` is a PEM string/bytes or a JWK (a mapping). ``alg`` defaults to
    the JWK's ``alg``, else RS256 for an RSA key and ES256 for an EC key. ``kid``
    defaults to the JWK's ``kid``; a PEM key has none unless one is given.
    ``certificate``, the PEM X.509 certificate of the key, adds the ``x5t#S256`` and
    ``x5t`` JWS headers (RFC 7515 sec. 4.1.8, 4.1.7) that Microsoft Entra ID asks for.
    """
    key = _import_key(private_key, alg)
    alg = alg or _default_alg(private_key, key.key_type)
    if alg not in KEY_ALGS:
        raise ValueError(f"signing_alg for private_key_jwt must be one of {KEY_ALGS}, not {alg!r}")
    kid = kid if kid is not None else key.kid
    headers = None if certificate is None else certificate_thumbprints(certificate, key)
    return _checked(JwtAssertion(client_id, audience, key, alg, kid, headers=headers), "private_key")


def certificate_thumbprints(certificate: Union[str, bytes], key: Key) -> dict[str, str]:
    """The ``x5t#S256`` and ``x5t`` headers of a PEM certificate that holds ``key``'s public key.

    :raises ValueError: when ``certificate`` is no PEM certificate, or certifies another key.
    """
    pem = certificate.encode("ascii") if isinstance(certificate, str) else certificate
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ValueError("client_certificate is not a PEM X.509 certificate") from None
    public = cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    if not isinstance(key, (RSAKey, ECKey)) or public != key.as_pem(private=False):
        raise ValueError("client_certificate does not certify private_key's public key")
    der = cert.public_bytes(Encoding.DER)
    return {
        "x5t#S256": _b64url(hashlib.sha256(der).digest()),
        # SHA-1 names the certificate (RFC 7515 sec. 4.1.7), it protects nothing; Entra still reads it.
        "x5t": _b64url(hashlib.sha1(der).digest()),  # noqa: S324
    }


def _b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _import_key(private_key: PrivateKey, alg: Optional[str]) -> Key:
    data = dict(private_key) if isinstance(private_key, Mapping) else private_key
    key_type = _KEY_TYPES.get(alg or "") or (data.get("kty") if isinstance(data, dict) else None)
    # A PEM says what it holds: without an alg, try the two types we can sign with.
    candidates = [_KEY_CLASSES[key_type]] if key_type in _KEY_CLASSES else list(_KEY_CLASSES.values())
    for key_class in candidates:
        try:
            return key_class.import_key(data)
        except (JoseError, ValueError, TypeError):
            continue
    raise ValueError(f"private_key is not a usable {alg or 'RSA or EC'} private key (PEM or JWK)")


def _default_alg(private_key: PrivateKey, key_type: str) -> str:
    if isinstance(private_key, Mapping) and isinstance(private_key.get("alg"), str):
        return str(private_key["alg"])
    return "ES256" if key_type == "EC" else "RS256"


def _checked(assertion: JwtAssertion, argument: str) -> JwtAssertion:
    """Sign once now, so a public or mismatched key fails at construction, not mid-request."""
    try:
        assertion.assertion()
    except (JoseError, ValueError) as exc:
        raise ValueError(f"{argument} cannot sign {assertion!r}: {type(exc).__name__}") from exc
    return assertion
