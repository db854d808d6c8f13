"""DPoP proofs (RFC 9449): the client's key, one signed proof per HTTP request.

Signing is joserfc's job (the ``tornado-alf[jwt]`` extra); this module decides what
goes into each proof. It is imported only when ``dpop_key`` is given (see
`tornado_alf._binding`), so the core works without joserfc.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import os
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

#: A ``dpop_key``: PEM text or bytes, a private JWK, or ``True`` for a key made here.
DPoPKeyArgument = Union[str, bytes, Mapping[str, Any], bool]

#: The JWS algorithms of DPoP proofs, by key type and curve; the first is the default.
DPOP_ALGS: dict[tuple[str, Optional[str]], tuple[str, ...]] = {
    ("EC", "P-256"): ("ES256",),
    ("RSA", None): ("RS256", "PS256"),
    # EdDSA is what servers know today; RFC 9864's fully specified name when the JWK asks for it.
    ("OKP", "Ed25519"): ("EdDSA", "Ed25519"),
}
_KEY_CLASSES: tuple[Union[type[ECKey], type[RSAKey], type[OKPKey]], ...] = (ECKey, RSAKey, OKPKey)


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_quote = json.encoder.encode_basestring_ascii  # a str as a JSON string, quotes included


def _b64(data: bytes) -> str:
    """base64url without padding (RFC 7515 sec. 2)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def access_token_hash(access_token: str) -> str:
    """``ath`` (RFC 9449 sec. 4.2): base64url of the SHA-256 of the token's ASCII bytes."""
    return _b64(hashlib.sha256(access_token.encode("ascii")).digest())


def htu(url: str) -> str:
    """The ``htu`` of a request to ``url``: the URL without query and fragment (RFC 9449 sec. 4.2)."""
    if "?" not in url and "#" not in url and url.count("/") >= 3:
        return url  # already scheme://authority/path: nothing to drop (the common case, cheaply)
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _es256(private: ec.EllipticCurvePrivateKey, message: bytes, _: Key) -> bytes:
    """ES256 as joserfc signs it, without its per-call key lookups: the hot path of every proof.

    cryptography signs; the DER signature becomes JWS's ``r || s``, 32 bytes each
    (RFC 7518 sec. 3.4), as joserfc does. The tests verify these proofs with joserfc.
    """
    r, s = decode_dss_signature(private.sign(message, _ECDSA_SHA256))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class DPoPKey:
    """A private key that signs DPoP proofs; ``repr`` shows the algorithm, never the key.

    :arg key: the joserfc private key.
    :arg str alg: the JWS algorithm of every proof.
    :arg clock: wall-clock seconds, for ``iat``.
    """

    def __init__(self, key: Key, alg: str, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self.alg = alg
        self._sign: Callable[[bytes, Key], bytes] = JWSRegistry.algorithms[alg].sign
        if alg == "ES256":
            self._sign = functools.partial(_es256, cast(ec.EllipticCurvePrivateKey, key.get_op_key("sign")))
        self._clock = clock
        public = key.as_dict(private=False)
        for name in ("kid", "alg", "use", "key_ops"):
            public.pop(name, None)
        header = {"typ": "dpop+jwt", "alg": alg, "jwk": public}
        # The header is the same for every proof: encoded once.
        self._header = _b64(json.dumps(header, separators=(",", ":")).encode()) + "."
        self._ath = ("", "")  # (token, its hash): the same token is sent many times
        #: RFC 7638 thumbprint of the public key (``cnf.jkt`` of tokens bound to it).
        self.thumbprint: str = key.thumbprint()

    def proof(
        self, method: str, url: str, nonce: Optional[str] = None, access_token: Optional[str] = None
    ) -> str:
        """A new proof for one request: ``htm``, ``htu``, ``iat``, a unique ``jti``, ``ath``, ``nonce``."""
        # The claims as JSON: the base64url values need no escaping, the others go through json's.
        claims = (
            f'{{"jti":"{_b64(os.urandom(16))}","htm":{_quote(method)},'
            f'"htu":{_quote(htu(url))},"iat":{int(self._clock())}'
        )
        if access_token is not None:
            if self._ath[0] != access_token:
                self._ath = (access_token, access_token_hash(access_token))
            claims += f',"ath":"{self._ath[1]}"'
        if nonce is not None:
            claims += f',"nonce":{_quote(nonce)}'
        signing_input = self._header + _b64((claims + "}").encode())
        signature = self._sign(signing_input.encode("ascii"), self._key)
        return signing_input + "." + _b64(signature)

    def __repr__(self) -> str:
        return f"<DPoPKey {self.alg}>"


def load_dpop_key(dpop_key: object, clock: Callable[[], float] = time.time) -> DPoPKey:
    """The `DPoPKey` for a ``dpop_key`` argument; `ValueError` naming ``dpop_key`` if it cannot sign.

    ``True`` makes a new P-256 key (ES256). A PEM (str or bytes) or a JWK (a mapping) must
    hold a private key: P-256 EC (ES256), RSA (RS256, or PS256 when the JWK's ``alg``
    says so) or Ed25519 (EdDSA).
    """
    if dpop_key is True:
        return DPoPKey(ECKey.generate_key("P-256", private=True), "ES256", clock)
    if isinstance(dpop_key, Mapping):
        data: Union[str, bytes, dict[str, Any]] = dict(dpop_key)
    elif isinstance(dpop_key, (str, bytes)):
        data = dpop_key
    else:
        raise ValueError(f"dpop_key must be True, a PEM (str or bytes) or a JWK mapping, not {type(dpop_key).__name__}")
    key = _import(data)
    if not key.is_private:
        raise ValueError("dpop_key holds a public key; DPoP proofs need the private key")
    crv = key.as_dict(private=False).get("crv") if key.key_type != "RSA" else None
    curve = crv if isinstance(crv, str) else None
    algs = DPOP_ALGS.get((key.key_type, curve))
    if algs is None:
        raise ValueError(f"dpop_key: unsupported {key.key_type} key {curve or ''}; use P-256, RSA or Ed25519")
    wanted = data.get("alg") if isinstance(data, dict) else None
    if wanted is not None and wanted not in algs:
        raise ValueError(f"dpop_key: alg {wanted!r} does not fit this key; one of {algs}")
    signer = DPoPKey(key, wanted or algs[0], clock)
    try:
        signer.proof("POST", "https://check.invalid/")
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"dpop_key cannot sign {signer.alg} proofs: {type(exc).__name__}") from None
    return signer


def _import(data: Union[str, bytes, dict[str, Any]]) -> Key:
    candidates = _KEY_CLASSES
    if isinstance(data, dict):
        candidates = tuple(c for c in _KEY_CLASSES if c.key_type == data.get("kty"))
    for key_class in candidates:
        try:
            return key_class.import_key(data)
        except (JoseError, ValueError, TypeError):
            continue
    raise ValueError("dpop_key is not a usable private key (a PEM or a JWK: EC P-256, RSA or Ed25519)")
