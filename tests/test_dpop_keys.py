"""DPoP keys and proofs (RFC 9449 sec. 4): what `dpop_key` accepts, what each proof holds."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey
from joserfc.jws import JWSRegistry
from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders

from tornado_alf import Token, TornadoClient
from tornado_alf._binding import Binding, origin
from tornado_alf.auth.dpop import access_token_hash, htu, load_dpop_key

ENDPOINT = "https://as.example/token"

EC = ECKey.generate_key("P-256")
RSA = RSAKey.generate_key(2048)
ED = OKPKey.generate_key("Ed25519")


# An RSA proof's header (its jwk) is longer than joserfc's default limit of 512 bytes.
REGISTRY = JWSRegistry(algorithms=["ES256", "RS256", "PS256", "EdDSA", "Ed25519"])
REGISTRY.max_header_length = 4096


def decode(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of ``proof``, after checking its signature with the key in its header."""
    header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
    key = JWKRegistry.import_key(header["jwk"])
    claims = json.loads(jws.deserialize_compact(proof, key, algorithms=[header["alg"]], registry=REGISTRY).payload)
    return header, claims


@pytest.mark.parametrize(
    ("dpop_key", "alg"),
    [
        (True, "ES256"),
        (EC.as_pem(private=True), "ES256"),
        (EC.as_pem(private=True).decode(), "ES256"),
        (EC.as_dict(private=True), "ES256"),
        (RSA.as_pem(private=True), "RS256"),
        ({**RSA.as_dict(private=True), "alg": "PS256"}, "PS256"),
        (ED.as_dict(private=True), "EdDSA"),
        (ED.as_pem(private=True), "EdDSA"),
        ({**ED.as_dict(private=True), "alg": "Ed25519"}, "Ed25519"),
    ],
    ids=["generated", "ec-pem-bytes", "ec-pem-str", "ec-jwk", "rsa-pem", "rsa-jwk-ps256", "ed25519-jwk", "ed25519-pem",
         "ed25519-rfc9864"],
)
# joserfc warns that RFC 9864 deprecates "EdDSA" when it verifies one; servers still ask for it.
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_each_key_form_signs_proofs_that_verify_with_the_public_jwk(dpop_key: Any, alg: str) -> None:
    key = load_dpop_key(dpop_key)
    header, claims = decode(key.proof("POST", ENDPOINT))
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == alg == key.alg
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(header["jwk"])  # only the public half travels
    assert JWKRegistry.import_key(header["jwk"]).thumbprint() == key.thumbprint
    assert claims["htm"] == "POST"
    assert claims["htu"] == ENDPOINT
    assert "ath" not in claims
    assert "nonce" not in claims


def test_thumbprint_is_rfc_7638_of_the_given_key() -> None:
    assert load_dpop_key(EC.as_dict(private=True)).thumbprint == EC.thumbprint()
    assert load_dpop_key(True).thumbprint != load_dpop_key(True).thumbprint  # a new key each time


PUBLIC_EC = EC.as_dict(private=False)
BAD_KEYS: dict[str, Any] = {
    "public-jwk": PUBLIC_EC,
    "public-pem": EC.as_pem(private=False),
    "p384": ECKey.generate_key("P-384").as_dict(private=True),
    "ed448": OKPKey.generate_key("Ed448").as_dict(private=True),
    "alg-mismatch": {**RSA.as_dict(private=True), "alg": "ES256"},
    "symmetric": {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"},
    "garbage": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    "number": 42,
    "false-like-list": ["a"],
}


@pytest.mark.parametrize("name", sorted(BAD_KEYS))
def test_a_bad_key_is_a_value_error_at_construction_naming_dpop_key(name: str) -> None:
    with pytest.raises(ValueError, match="dpop_key") as caught:
        TornadoClient(ENDPOINT, "client", "secret", dpop_key=BAD_KEYS[name])
    # The message names the problem, never the key material.
    material = BAD_KEYS[name]
    if isinstance(material, dict) and "d" in material:
        assert material["d"] not in str(caught.value)
        assert material["d"] not in repr(caught.value.args)


def test_proof_for_a_resource_has_ath_nonce_and_htu_without_query_or_fragment() -> None:
    key = load_dpop_key(True)
    _, claims = key_claims(key.proof("GET", "https://rs.example:8443/a/b?x=1&y=2#frag", "n-1", "tok.en"))
    assert claims["htu"] == "https://rs.example:8443/a/b"
    assert claims["htm"] == "GET"
    assert claims["nonce"] == "n-1"
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"tok.en").digest()).rstrip(b"=").decode()
    assert claims["ath"] == digest == access_token_hash("tok.en")
    assert isinstance(claims["iat"], int)


def key_claims(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return decode(proof)


def test_every_proof_has_its_own_jti() -> None:
    key = load_dpop_key(True)
    jtis = {decode(key.proof("GET", "https://rs.example/"))[1]["jti"] for _ in range(500)}
    assert len(jtis) == 500


def test_repr_never_shows_the_key() -> None:
    jwk: dict[str, Any] = dict(EC.as_dict(private=True))
    key = load_dpop_key(jwk)
    client = TornadoClient(ENDPOINT, "client", "secret", dpop_key=jwk)
    for text in (repr(key), str(key), repr(client)):
        assert jwk["d"] not in text
        assert jwk["x"] not in text


@given(
    path=st.text(alphabet="abcxyz/-._~%", max_size=20),
    query=st.text(alphabet="ab=&%?/#", max_size=10),
    fragment=st.text(alphabet="ab=&?/#", max_size=10),
)
def test_htu_drops_query_and_fragment_and_keeps_the_rest(path: str, query: str, fragment: str) -> None:
    url = f"https://rs.example/{path}?{query}#{fragment}"
    assert htu(url) == f"https://rs.example/{path.split('#')[0]}"
    assert "?" not in htu(url)
    assert "#" not in htu(url)


ORIGINS = ["https://as.example", "https://as.example:443", "https://rs.example", "http://rs.example",
           "https://RS.example:8443", "https://rs.example:8443"]


@given(st.lists(st.tuples(st.sampled_from(ORIGINS), st.one_of(st.none(), st.text("abc-_", min_size=1, max_size=6))),
                max_size=12),
       st.sampled_from(ORIGINS))
def test_the_next_proof_carries_the_last_nonce_its_origin_sent(
    responses: list[tuple[str, Optional[str]]], asked: str
) -> None:
    binding = Binding(load_dpop_key(EC.as_dict(private=True)))
    expected: dict[str, str] = {}
    for url, nonce in responses:
        headers = HTTPHeaders({"DPoP-Nonce": nonce} if nonce else {})
        binding.observe(HTTPResponse(HTTPRequest(url + "/x"), 200, headers=headers, effective_url=url + "/x"))
        if nonce:
            expected[origin(url)] = nonce  # default ports and host case normalised
    request = HTTPRequest(asked + "/api?q=1")
    binding.bind_resource_request(request, Token("tok", "DPoP"))
    _, claims = decode(request.headers["DPoP"])
    assert claims.get("nonce") == expected.get(origin(asked))
    assert claims["htu"] == htu(asked + "/api")
