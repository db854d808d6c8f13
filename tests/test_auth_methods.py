"""Client authentication methods against a local token endpoint that checks each one."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Optional

import pytest
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OctKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from tornado.web import Application, RequestHandler

from tests._serve import serve
from tests.interop._pki import CLIENT_SAN_DNS, Pki, make_pki
from tornado_alf import TokenError, TornadoClient
from tornado_alf.testing import AuthServer

CLIENT_ID = "jwt-test-client"
HMAC_SECRET = "an HMAC secret long enough for HS256: 0123456789abcdef"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AssertionServer(AuthServer):
    """An `AuthServer` whose token endpoint authenticates clients by JWT assertion only.

    It verifies the signature with ``key``, requires the RFC 7523 claims, refuses a
    replayed ``jti``, and keeps every verified header and claim set.
    """

    def __init__(self, key: Key, alg: str, audience: Optional[str] = None) -> None:
        super().__init__(CLIENT_ID, "unused")
        self.key = key
        self.alg = alg
        self.audience = audience
        self.headers: list[dict[str, Any]] = []
        self.claims: list[dict[str, Any]] = []
        self.assertions: list[str] = []

    def client_from(self, handler: RequestHandler, form: dict[str, list[str]]) -> Optional[str]:
        if "Authorization" in handler.request.headers or "client_secret" in form:
            return None
        if form.get("client_assertion_type") != [ASSERTION_TYPE] or len(form.get("client_assertion", [])) != 1:
            return None
        assertion = form["client_assertion"][0]
        registry = JWTClaimsRegistry(
            iss={"essential": True, "value": CLIENT_ID},
            sub={"essential": True, "value": CLIENT_ID},
            aud={"essential": True, "value": self.audience or self.token_endpoint},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            token = jwt.decode(assertion, self.key, algorithms=[self.alg])
            registry.validate(token.claims)
        except JoseError:
            return None
        if any(token.claims["jti"] == seen["jti"] for seen in self.claims):
            return None
        self.headers.append(dict(token.header))
        self.claims.append(dict(token.claims))
        self.assertions.append(assertion)
        return CLIENT_ID


async def _fetch_twice(client: TornadoClient, server: AuthServer) -> None:
    """Two token requests: one cold, one after the resource rejects the first token."""
    assert (await client.fetch(server.resource_url)).code == 200
    server.revoke_all()
    assert (await client.fetch(server.resource_url)).code == 200
    client.close()


def _assert_fresh_short_assertions(server: AssertionServer, caplog: pytest.LogCaptureFixture) -> None:
    assert server.token_requests == 2
    first, second = server.claims
    assert first["jti"] != second["jti"]
    now = time.time()
    for claims in server.claims:
        assert claims["iss"] == claims["sub"] == CLIENT_ID
        assert now - 10 <= claims["iat"] <= now + 1
        assert claims["exp"] - claims["iat"] == 60
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert not any(assertion in logged for assertion in server.assertions)


async def test_client_secret_jwt_signs_a_fresh_hs256_assertion_per_token_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with AssertionServer(OctKey.import_key(HMAC_SECRET), "HS256") as server:
        client = TornadoClient(server.token_endpoint, CLIENT_ID, HMAC_SECRET, auth_method="client_secret_jwt")
        await _fetch_twice(client, server)
    _assert_fresh_short_assertions(server, caplog)
    assert server.headers[0] == {"alg": "HS256", "typ": "JWT"}
    assert server.claims[0]["aud"] == server.token_endpoint
    form = server.token_request_log[0]["form"]
    assert form["client_assertion_type"] == [ASSERTION_TYPE]
    assert "client_id" not in form
    assert "client_secret" not in form
    assert "Authorization" not in server.token_request_log[0]["headers"]


async def test_client_secret_jwt_with_another_secret_is_refused() -> None:
    async with AssertionServer(OctKey.import_key(HMAC_SECRET), "HS256") as server:
        client = TornadoClient(
            server.token_endpoint, CLIENT_ID, HMAC_SECRET + "-not", auth_method="client_secret_jwt"
        )
        with pytest.raises(TokenError) as caught:
            await client.fetch(server.resource_url)
    assert caught.value.error == "invalid_client"


async def test_assertion_audience_overrides_the_token_endpoint() -> None:
    issuer = "https://issuer.tornado-alf.test"
    async with AssertionServer(OctKey.import_key(HMAC_SECRET), "HS256", audience=issuer) as server:
        client = TornadoClient(
            server.token_endpoint, CLIENT_ID, HMAC_SECRET,
            auth_method="client_secret_jwt", assertion_audience=issuer,
        )
        assert (await client.fetch(server.resource_url)).code == 200
    assert server.claims[0]["aud"] == issuer


@pytest.mark.parametrize(
    ("key", "alg", "private_key_id", "given_as", "expected_kid"),
    [
        (RSAKey.generate_key(2048, parameters={"kid": "r1"}), "RS256", None, "pem", None),
        (RSAKey.generate_key(2048, parameters={"kid": "r1"}), "PS256", "chosen-kid", "pem", "chosen-kid"),
        (ECKey.generate_key("P-256", parameters={"kid": "e1"}), "ES256", None, "jwk", "e1"),
        (RSAKey.generate_key(2048, parameters={"kid": "r2", "alg": "PS256"}), "PS256", None, "jwk", "r2"),
    ],
    ids=["rs256-pem-no-kid", "ps256-pem-with-private_key_id", "es256-jwk-kid", "jwk-alg-chooses-ps256"],
)
async def test_private_key_jwt_signs_with_the_key_and_names_its_kid(
    caplog: pytest.LogCaptureFixture,
    key: Any,
    alg: str,
    private_key_id: Optional[str],
    given_as: str,
    expected_kid: Optional[str],
) -> None:
    private_key = key.as_pem(private=True) if given_as == "pem" else key.as_dict(private=True)
    public = type(key).import_key(key.as_dict(private=False))
    async with AssertionServer(public, alg) as server:
        client = TornadoClient(
            server.token_endpoint, CLIENT_ID, auth_method="private_key_jwt",
            private_key=private_key, private_key_id=private_key_id,
            signing_alg=alg if given_as == "pem" and alg == "PS256" else None,
        )
        await _fetch_twice(client, server)
    _assert_fresh_short_assertions(server, caplog)
    expected_header = {"alg": alg, "typ": "JWT"}
    if expected_kid is not None:
        expected_header["kid"] = expected_kid
    assert server.headers[0] == expected_header


async def test_private_key_jwt_with_an_unknown_key_is_refused() -> None:
    registered = RSAKey.generate_key(2048)
    async with AssertionServer(RSAKey.import_key(registered.as_dict(private=False)), "RS256") as server:
        client = TornadoClient(
            server.token_endpoint, CLIENT_ID, auth_method="private_key_jwt",
            private_key=RSAKey.generate_key(2048).as_pem(private=True),
        )
        with pytest.raises(TokenError) as caught:
            await client.fetch(server.resource_url)
    assert caught.value.error == "invalid_client"


def test_a_signed_assertion_verifies_independently_of_the_test_server() -> None:
    # Cross-check with joserfc's JWS layer alone: the compact form is standard JWS.
    from tornado_alf.auth.jwt import private_key_jwt

    key = ECKey.generate_key("P-256")
    signer = private_key_jwt("me", key.as_pem(private=True), "https://as.test/token")
    verified = jws.deserialize_compact(signer.assertion(), ECKey.import_key(key.as_dict(private=False)))
    assert json.loads(verified.payload)["aud"] == "https://as.test/token"


class AnyClientId(AuthServer):
    """Accepts a request carrying only ``client_id``, as for public and mTLS clients."""

    def client_from(self, handler: RequestHandler, form: dict[str, list[str]]) -> Optional[str]:
        only_id = "Authorization" not in handler.request.headers and set(form) == {"grant_type", "client_id"}
        return self.client_id if only_id and form["client_id"] == [self.client_id] else None


async def test_none_sends_the_client_id_and_nothing_else() -> None:
    async with AnyClientId("public-client") as server:
        client = TornadoClient(server.token_endpoint, "public-client", auth_method="none")
        assert (await client.fetch(server.resource_url)).code == 200
        client.close()


class _MtlsTokenHandler(RequestHandler):
    """Issues a token when the TLS peer certificate names the client and the body has its id."""

    def initialize(self, log: list[dict[str, Any]]) -> None:
        self.log = log

    def post(self) -> None:
        certificate = self.request.get_ssl_certificate()  # a dict, or None without a peer certificate
        peer = certificate if isinstance(certificate, dict) else {}
        names = [value for kind, value in peer.get("subjectAltName", ()) if kind == "DNS"]
        form = {k: [v.decode() for v in vs] for k, vs in self.request.body_arguments.items()}
        self.log.append({"names": names, "form": form, "headers": dict(self.request.headers)})
        if names == [CLIENT_SAN_DNS] and form.get("client_id") == ["mtls-client"]:
            self.finish({"access_token": "mtls-token", "token_type": "Bearer", "expires_in": 60})
        else:
            self.set_status(401)
            self.finish({"error": "invalid_client"})


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


@pytest.fixture
async def mtls_token_endpoint(pki: Pki) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    context.verify_mode = ssl.CERT_REQUIRED
    log: list[dict[str, Any]] = []
    async with serve(Application([(r"/token", _MtlsTokenHandler, {"log": log})]), context) as origin:
        yield f"{origin}/token", log


async def test_tls_client_auth_presents_the_certificate_and_sends_the_client_id(
    pki: Pki, mtls_token_endpoint: tuple[str, list[dict[str, Any]]]
) -> None:
    url, log = mtls_token_endpoint
    async with AuthServer() as resource:
        resource.issued["mtls-token"] = float("inf")
        client = TornadoClient(
            url, "mtls-client", auth_method="tls_client_auth",
            http_options={"client_cert": str(pki.client_cert), "client_key": str(pki.client_key),
                          "ca_certs": str(pki.ca_cert)},
        )
        assert (await client.fetch(resource.resource_url)).code == 200
        client.close()
    assert log[0]["names"] == [CLIENT_SAN_DNS]
    assert log[0]["form"] == {"grant_type": ["client_credentials"], "client_id": ["mtls-client"]}
    assert "Authorization" not in log[0]["headers"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auth_method": "private_key_jwt"}, "private_key is required"),
        ({"auth_method": "private_key_jwt", "private_key": "not a key"}, "private_key is not a usable"),
        ({"auth_method": "private_key_jwt", "private_key": RSAKey.generate_key(2048).as_pem(private=False)},
         "private_key cannot sign"),
        ({"auth_method": "private_key_jwt", "private_key": RSAKey.generate_key(2048).as_pem(private=True),
          "signing_alg": "ES256"}, "private_key is not a usable ES256"),
        ({"auth_method": "private_key_jwt", "private_key": ECKey.generate_key("P-384").as_pem(private=True)},
         "private_key cannot sign"),
        ({"auth_method": "private_key_jwt", "private_key": RSAKey.generate_key(2048).as_pem(private=True),
          "signing_alg": "HS256"}, "signing_alg for private_key_jwt"),
        ({"auth_method": "client_secret_jwt", "signing_alg": "RS256"}, "signing_alg for client_secret_jwt"),
        ({"auth_method": "client_secret_jwt", "private_key_id": "k"}, "private_key_id is for"),
        ({"auth_method": "client_secret_basic", "private_key": "x"}, "private_key is only used"),
        ({"auth_method": "client_secret_post", "assertion_audience": "x"}, "assertion_audience is only used"),
        ({"auth_method": "tls_client_auth"}, "needs http_options with client_cert"),
        ({"auth_method": "client_secret_jwt", "client_secret": ""}, "client_secret must be a non-empty"),
        ({"auth_method": "client_secret_basic", "client_secret": None}, "client_secret must be a string for"),
        ({"auth_method": "client_secret_post", "client_secret": None}, "client_secret must be a string for"),
        ({"auth_method": "private_key_jwt_typo"}, "auth_method must be one of"),
    ],
)
def test_unusable_auth_arguments_raise_value_error_naming_them(kwargs: dict[str, Any], message: str) -> None:
    arguments = {"client_secret": HMAC_SECRET, **kwargs}
    with pytest.raises(ValueError, match=message):
        TornadoClient("https://as.tornado-alf.test/token", CLIENT_ID, **arguments)


def test_missing_joserfc_names_the_extra_to_install() -> None:
    script = (
        "import sys\n"
        "sys.modules['joserfc'] = None\n"  # what an environment without the extra looks like
        "from tornado_alf import TornadoClient\n"
        "TornadoClient('https://as.test/token', 'id', 'secret-long-enough-for-hs256-0123456789',"
        " auth_method='client_secret_jwt')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 1
    assert "ImportError: auth_method='client_secret_jwt' signs JWTs with joserfc" in result.stderr
    assert "pip install 'tornado-alf[jwt]'" in result.stderr
    # Secret-based methods work without it.
    script = script.replace("client_secret_jwt", "client_secret_post")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr


def test_repr_of_the_client_never_shows_key_or_secret() -> None:
    key = RSAKey.generate_key(2048)
    client = TornadoClient(
        "https://as.tornado-alf.test/token", CLIENT_ID, auth_method="private_key_jwt",
        private_key=key.as_pem(private=True),
    )
    text = repr(client) + repr(vars(client))
    private_exponent = key.as_dict(private=True)["d"]
    assert isinstance(private_exponent, str)
    assert private_exponent not in text
    assert "PRIVATE KEY" not in text
