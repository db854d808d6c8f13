"""Federated client assertions, x5t#S256, the JWT-bearer grant and token exchange, against a local server.

The token endpoint here verifies what it is sent (signatures with joserfc, ``exp``,
``jti`` replay) and counts each grant; tests/interop/test_authlib.py proves the same
against Authlib's server.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import json
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from tornado.web import Application, RequestHandler

from tests._serve import serve
from tests.doubles import Callers
from tests.interop._pki import make_pki
from tornado_alf import FileSecret, JwtBearerGrant, MemoryTokenStore, Token, TokenError, TokenExchange, TornadoClient
from tornado_alf._expiry import ExpiryPolicy
from tornado_alf._grants import GrantFields
from tornado_alf._manager import TokenManager
from tornado_alf._reauth import Reauthentication
from tornado_alf._recorder import Recorder
from tornado_alf._subjects import Subjects

CLIENT_ID = "grant-client"
SECRET = "grant-client-secret"
PLATFORM = RSAKey.generate_key(2048, parameters={"kid": "platform"})
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def platform_token(subject: str = "system:serviceaccount:ns:app", lifetime: float = 600, **claims: Any) -> str:
    """A JWT as a platform (Kubernetes, Azure) issues it to a workload."""
    now = int(time.time())
    body = {"iss": "https://platform.test", "sub": subject, "aud": "api://token-exchange", "iat": now,
            "exp": now + lifetime, "jti": secrets.token_urlsafe(8), **claims}
    token: str = jwt.encode({"alg": "RS256", "kid": "platform"}, body, PLATFORM)
    return token


class GrantServer:
    """A token endpoint for the grants and client assertions under test, and a resource naming the subject."""

    def __init__(self) -> None:
        self.forms: list[dict[str, list[str]]] = []
        self.headers: list[dict[str, str]] = []
        self.issued: dict[str, str] = {}  # access token -> subject
        self.expires_in = 3600
        self.origin = ""

    @property
    def token_endpoint(self) -> str:
        return self.origin + "/token"

    @property
    def resource_url(self) -> str:
        return self.origin + "/resource"

    def count(self, grant_type: str) -> int:
        return sum(form.get("grant_type") == [grant_type] for form in self.forms)

    def verified(self, token: str) -> Optional[dict[str, Any]]:
        try:
            claims = dict(jwt.decode(token, PLATFORM, algorithms=["RS256"]).claims)
        except (JoseError, ValueError):
            return None
        return claims if claims["exp"] > time.time() else None

    def answer(self, form: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.forms.append(form)
        self.headers.append(headers)
        if not self.client_authenticated(form, headers):
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type", [""])[0]
        subject: Optional[str] = CLIENT_ID
        if grant == JWT_BEARER:
            claims = self.verified(form.get("assertion", [""])[0])
            subject = None if claims is None else claims["sub"]
        elif grant == TOKEN_EXCHANGE:
            subject = form.get("subject_token", [None])[0]
            if form.get("subject_token_type") != [ACCESS_TOKEN_TYPE] or subject not in self.issued.values():
                subject = None if subject is None or not subject.startswith("user-") else subject
        elif grant != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if subject is None:
            return 400, {"error": "invalid_grant"}
        token = secrets.token_urlsafe(16)
        self.issued[token] = subject
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}

    def client_authenticated(self, form: dict[str, list[str]], headers: dict[str, str]) -> bool:
        if "client_assertion" in form:
            claims = self.verified(form["client_assertion"][0])
            return form.get("client_assertion_type") == [ASSERTION_TYPE] and claims is not None
        basic = headers.get("Authorization", "")
        if basic.startswith("Basic "):
            return base64.b64decode(basic[6:]).decode() == f"{CLIENT_ID}:{SECRET}"
        return form.get("client_id") == ["public-client"]


class _Token(RequestHandler):
    def initialize(self, server: GrantServer) -> None:
        self.server = server

    def check_xsrf_cookie(self) -> None:
        """No cookies."""

    def post(self) -> None:
        form = urllib.parse.parse_qs(self.request.body.decode())
        status, document = self.server.answer(form, dict(self.request.headers))
        self.set_status(status)
        self.finish(json.dumps(document))


class _Resource(RequestHandler):
    def initialize(self, server: GrantServer) -> None:
        self.server = server

    def get(self) -> None:
        token = self.request.headers.get("Authorization", "")[7:]
        subject = self.server.issued.get(token)
        if subject is None:
            self.set_status(401)
        self.finish({"subject": subject})


@pytest.fixture
async def grant_server() -> AsyncIterator[GrantServer]:
    server = GrantServer()
    app = Application([(r"/token", _Token, {"server": server}), (r"/resource", _Resource, {"server": server})])
    async with serve(app) as origin:
        server.origin = origin
        yield server


def write(path: Path, text: str) -> None:
    path.with_suffix(".new").write_text(text)
    path.with_suffix(".new").replace(path)


def no_log_shows(caplog: pytest.LogCaptureFixture, *values: str) -> None:
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert not any(value in logged for value in values)


# --- federated client assertions ----------------------------------------------------------------


async def test_client_assertion_from_a_file_is_sent_as_jwt_bearer_and_rotates(
    grant_server: GrantServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "azure-identity-token"
    first = platform_token()
    write(path, first)
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, client_assertion=FileSecret(path))
    assert (await client.fetch(grant_server.resource_url)).code == 200
    second = platform_token()
    write(path, second)
    grant_server.issued.clear()  # every token revoked: the next request needs a new one
    assert (await client.fetch(grant_server.resource_url)).code == 200
    client.close()
    sent = [form["client_assertion"] for form in grant_server.forms]
    assert sent == [[first], [second]]
    assert grant_server.forms[0]["client_assertion_type"] == [ASSERTION_TYPE]
    assert grant_server.forms[0]["client_id"] == [CLIENT_ID]
    assert "Authorization" not in grant_server.headers[0]
    no_log_shows(caplog, first, second)


async def test_an_expired_assertion_is_read_again_and_never_sent(grant_server: GrantServer, tmp_path: Path) -> None:
    path = tmp_path / "token"
    write(path, platform_token(lifetime=-1))
    reads: list[str] = []

    def kubelet() -> str:
        # The platform renews the file only on the second look, as if it was just in time.
        reads.append("read")
        return platform_token(lifetime=-1 if len(reads) == 1 else 600)

    for source in (FileSecret(path), kubelet):
        client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, client_assertion=source)
        if isinstance(source, FileSecret):
            with pytest.raises(TokenError, match=f"client_assertion from file {path} has expired"):
                await client.get_token()
        else:
            await client.get_token()
        client.close()
    assert reads == ["read", "read"]
    assert len(grant_server.forms) == 1  # the expired ones never left
    assert grant_server.verified(grant_server.forms[0]["client_assertion"][0]) is not None


async def test_an_assertion_that_is_no_jwt_is_named_not_shown(grant_server: GrantServer) -> None:
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, client_assertion=lambda: "opaque-secret-value")
    with pytest.raises(TokenError, match="is not a JWT") as caught:
        await client.get_token()
    client.close()
    assert "opaque-secret-value" not in str(caught.value)


def test_client_assertion_refuses_other_credentials() -> None:
    with pytest.raises(ValueError, match="do not also give client_secret"):
        TornadoClient("https://a.example/token", CLIENT_ID, SECRET, client_assertion=platform_token())
    with pytest.raises(ValueError, match="client_assertion"):
        TornadoClient("https://a.example/token", CLIENT_ID, client_assertion="x.y.z", auth_method="none")


async def test_assertion_files_replaced_every_second_under_load_give_no_failure(
    grant_server: GrantServer, tmp_path: Path
) -> None:
    # The 60 s / 10 s run is benchmarks/rotation.py; this one compresses time: 1 s lifetimes over 6 s.
    path = tmp_path / "token"
    write(path, platform_token(lifetime=10))
    grant_server.expires_in = 2  # tokens short enough that assertions are used all along
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, client_assertion=FileSecret(path),
                           expiry_margin=0.5)
    callers = Callers(client, grant_server.resource_url, count=4, pause=0.005)
    for _ in range(6):  # the platform replaces the token every second
        await asyncio.sleep(1)
        write(path, platform_token(lifetime=10))
    await callers.stop()
    client.close()
    assert (callers.failures, callers.calls > 50,
            len({form["client_assertion"][0] for form in grant_server.forms}) > 3) == (0, True, True)


# --- private_key_jwt with a certificate (Microsoft Entra ID) ------------------------------------


async def test_private_key_jwt_with_a_certificate_sends_x5t_s256(tmp_path: Path) -> None:
    from tests.test_auth_methods import AssertionServer

    pki = make_pki(tmp_path)
    key_pem, cert_pem = pki.text("client_key"), pki.text("client_cert").encode()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)
    key = ECKey.import_key(key_pem)
    async with AssertionServer(key, "ES256") as server:
        server.client_id = "jwt-test-client"
        client = TornadoClient(server.token_endpoint, "jwt-test-client", auth_method="private_key_jwt",
                               private_key=FileSecret(pki.client_key), client_certificate=FileSecret(pki.client_cert))
        assert (await client.fetch(server.resource_url)).code == 200
        client.close()
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert server.headers[0]["x5t#S256"] == expected
    assert server.headers[0]["x5t"] == base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()  # noqa: S324


def test_a_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    other = RSAKey.generate_key(2048).as_pem(private=True)
    with pytest.raises(ValueError, match="client_certificate does not certify"):
        TornadoClient("https://a.example/token", CLIENT_ID, auth_method="private_key_jwt", private_key=other,
                      client_certificate=Path(pki.client_cert).read_bytes())


# --- the JWT-bearer grant -----------------------------------------------------------------------


async def test_jwt_bearer_grant_sends_the_assertion_and_caches_the_token(grant_server: GrantServer) -> None:
    assertion = platform_token(subject="workload-7")
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET, grant=JwtBearerGrant(assertion),
                           scope="read")
    responses = await asyncio.gather(*(client.fetch(grant_server.resource_url) for _ in range(50)))
    client.close()
    assert {json.loads(r.body)["subject"] for r in responses} == {"workload-7"}
    assert grant_server.count(JWT_BEARER) == len(grant_server.forms) == 1
    form = grant_server.forms[0]
    assert (form["assertion"], form["scope"]) == ([assertion], ["read"])


async def test_jwt_bearer_grant_with_an_expired_assertion_never_sends_it(grant_server: GrantServer) -> None:
    client = TornadoClient(grant_server.token_endpoint, "public-client", auth_method="none",
                           grant=JwtBearerGrant(lambda: platform_token(lifetime=-5)))
    with pytest.raises(TokenError, match=r"assertion from callable .* has expired"):
        await client.get_token()
    client.close()
    assert grant_server.forms == []


async def test_jwt_bearer_grant_tokens_are_stored_under_the_assertion_identity(grant_server: GrantServer) -> None:
    store = MemoryTokenStore()
    one = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET, token_storage=store,
                        grant=JwtBearerGrant(lambda: platform_token(subject="a")))
    other = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET, token_storage=store,
                          grant=JwtBearerGrant(lambda: platform_token(subject="b")))
    renewed = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET, token_storage=store,
                            grant=JwtBearerGrant(lambda: platform_token(subject="a")))
    subjects = [json.loads((await c.fetch(grant_server.resource_url)).body)["subject"] for c in (one, other, renewed)]
    for each in (one, other, renewed):
        each.close()
    # A renewed assertion for the same identity shares the token; another identity never does.
    assert (subjects, grant_server.count(JWT_BEARER)) == (["a", "b", "a"], 2)


# --- token exchange -----------------------------------------------------------------------------


async def test_token_exchange_grant_sends_every_rfc_8693_field(grant_server: GrantServer) -> None:
    exchange = TokenExchange("user-alice", actor_token=lambda: "actor-token", actor_token_type=ACCESS_TOKEN_TYPE,
                             requested_token_type="urn:ietf:params:oauth:token-type:jwt")
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET, grant=exchange,
                           audience="orders", resource="https://orders.example", scope=["a", "b"])
    body = json.loads((await client.fetch(grant_server.resource_url)).body)
    client.close()
    form = grant_server.forms[0]
    assert body == {"subject": "user-alice"}
    assert form == {
        "grant_type": [TOKEN_EXCHANGE], "subject_token": ["user-alice"], "subject_token_type": [ACCESS_TOKEN_TYPE],
        "actor_token": ["actor-token"], "actor_token_type": [ACCESS_TOKEN_TYPE],
        "requested_token_type": ["urn:ietf:params:oauth:token-type:jwt"],
        "audience": ["orders"], "resource": ["https://orders.example"], "scope": ["a b"],
    }


def test_token_exchange_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="actor_token and actor_token_type"):
        TokenExchange("s", actor_token="a")
    with pytest.raises(ValueError, match="subject_token is required"):
        TokenExchange(None)
    with pytest.raises(TypeError, match="grant must be"):
        TornadoClient("https://a.example/token", CLIENT_ID, SECRET, grant="token-exchange")  # type: ignore[arg-type]
    assert "user-" not in repr(TokenExchange("user-secret-token"))
    assertion = platform_token()
    assert assertion not in repr(JwtBearerGrant(assertion))


async def test_on_behalf_of_caches_one_token_per_subject_single_flighted(grant_server: GrantServer) -> None:
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET)
    users = [f"user-{n}" for n in range(5)]
    responses = await asyncio.gather(*(
        client.on_behalf_of(user).fetch(grant_server.resource_url) for user in users for _ in range(20)
    ))
    again = await client.on_behalf_of("user-3").fetch(grant_server.resource_url)
    own = await client.fetch(grant_server.resource_url)
    client.close()
    assert [json.loads(r.body)["subject"] for r in responses] == [u for u in users for _ in range(20)]
    assert json.loads(again.body)["subject"] == "user-3"
    assert json.loads(own.body)["subject"] == CLIENT_ID
    assert grant_server.count(TOKEN_EXCHANGE) == 5


async def test_on_behalf_of_keeps_at_most_max_subjects(grant_server: GrantServer) -> None:
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET, max_subjects=2)
    for user in ("user-a", "user-b", "user-a", "user-c", "user-a", "user-b"):
        await client.on_behalf_of(user).get_token()
    client.close()
    # user-a stays (recently used); user-b was pushed out by user-c and exchanged again.
    assert grant_server.count(TOKEN_EXCHANGE) == 4


async def test_on_behalf_of_replays_a_401_with_a_new_exchange(grant_server: GrantServer) -> None:
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET)
    view = client.on_behalf_of("user-z")
    await view.fetch(grant_server.resource_url)
    grant_server.issued.clear()
    response = await view.fetch(grant_server.resource_url)
    client.close()
    assert (response.code, grant_server.count(TOKEN_EXCHANGE)) == (200, 2)
    with pytest.raises(RuntimeError):
        await view.fetch(grant_server.resource_url)
    assert "user-z" not in repr(view)


async def test_on_behalf_of_a_refused_subject_raises_token_error(grant_server: GrantServer) -> None:
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET)
    with pytest.raises(TokenError) as caught:
        await client.on_behalf_of("stranger").fetch(grant_server.resource_url)
    client.close()
    assert caught.value.error == "invalid_grant"
    with pytest.raises(ValueError, match="subject_token"):
        client.on_behalf_of("")


# --- the per-subject cache as a policy ----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), max_size=60), st.integers(min_value=1, max_value=4))
def test_subjects_are_kept_least_recently_used_first(visits: list[int], bound: int) -> None:
    made: list[str] = []

    def make(grant: GrantFields) -> tuple[TokenManager, Reauthentication]:
        made.append(repr(grant))
        tokens = TokenManager(_never_called, None, "", ExpiryPolicy())
        return tokens, Reauthentication(tokens, 30, Recorder())

    subjects = Subjects(make, bound)
    model: collections.OrderedDict[int, None] = collections.OrderedDict()
    misses = 0
    for visit in visits:
        subjects.subject(TokenExchange(f"user-{visit}"), f"user-{visit}")
        if visit in model:
            model.move_to_end(visit)
        else:
            misses += 1
            model[visit] = None
            if len(model) > bound:
                model.popitem(last=False)
        assert len(subjects) == len(model) <= bound
    assert len(made) == misses


async def _never_called() -> Token:
    raise AssertionError("no token is requested here")


async def test_token_exchange_with_a_subject_token_file_follows_its_rotation(
    grant_server: GrantServer, tmp_path: Path
) -> None:
    path = tmp_path / "subject-token"
    write(path, "user-first")
    client = TornadoClient(grant_server.token_endpoint, CLIENT_ID, SECRET, grant=TokenExchange(FileSecret(path)))
    first = json.loads((await client.fetch(grant_server.resource_url)).body)["subject"]
    write(path, "user-second")
    grant_server.issued.clear()
    second = json.loads((await client.fetch(grant_server.resource_url)).body)["subject"]
    client.close()
    assert (first, second) == ("user-first", "user-second")
