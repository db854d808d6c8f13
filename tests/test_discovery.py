"""TornadoClient.from_issuer: RFC 8414 / OpenID Connect Discovery against a local metadata server."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Optional

import pytest
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

from tests._serve import serve
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.interop._pki import make_pki
from tornado_alf import TokenError, TornadoClient
from tornado_alf._discovery import metadata_urls
from tornado_alf.testing import AuthServer


class Metadata:
    """Documents served by path; everything else is a 404. Records the paths asked for."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.requested: list[str] = []
        self.origin = ""


class _Handler(RequestHandler):
    def initialize(self, metadata: Metadata) -> None:
        self.metadata = metadata

    def get(self) -> None:
        self.metadata.requested.append(self.request.path)
        document = self.metadata.documents.get(self.request.path)
        if document is None:
            self.send_error(404)
        else:
            self.set_header("Content-Type", "application/json")
            self.finish(document if isinstance(document, bytes) else json.dumps(document))


def _app(metadata: Metadata) -> Application:
    return Application([(r"/.*", _Handler, {"metadata": metadata})])


@pytest.fixture
async def metadata() -> AsyncIterator[Metadata]:
    state = Metadata()
    async with serve(_app(state)) as state.origin:
        yield state


def test_metadata_urls_insert_the_well_known_segment_then_append_for_openid() -> None:
    assert metadata_urls("https://as.test") == [
        "https://as.test/.well-known/oauth-authorization-server",
        "https://as.test/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://as.test/realms/main/") == [
        "https://as.test/.well-known/oauth-authorization-server/realms/main",
        "https://as.test/realms/main/.well-known/openid-configuration",
    ]


async def test_rfc8414_document_is_read_first_and_its_token_endpoint_used(
    metadata: Metadata, auth_server: AuthServer
) -> None:
    metadata.documents["/.well-known/oauth-authorization-server"] = {
        "issuer": metadata.origin, "token_endpoint": auth_server.token_endpoint,
    }
    client = await TornadoClient.from_issuer(metadata.origin, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert metadata.requested == ["/.well-known/oauth-authorization-server"]
    # No list in the document: RFC 8414's default, client_secret_basic.
    assert auth_server.token_request_log[0]["headers"]["Authorization"].startswith("Basic ")
    client.close()


async def test_issuer_with_a_path_falls_back_to_openid_configuration(
    metadata: Metadata, auth_server: AuthServer
) -> None:
    issuer = metadata.origin + "/realms/main"
    metadata.documents["/realms/main/.well-known/openid-configuration"] = {
        "issuer": issuer, "token_endpoint": auth_server.token_endpoint,
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"],
    }
    client = await TornadoClient.from_issuer(issuer, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert metadata.requested == [
        "/.well-known/oauth-authorization-server/realms/main",
        "/realms/main/.well-known/openid-configuration",
    ]
    # A secret and a server without client_secret_basic: client_secret_post is picked.
    assert auth_server.token_request_log[0]["form"]["client_secret"] == [CLIENT_SECRET]
    client.close()


@pytest.mark.parametrize(
    "document_issuer",
    ["{origin}/", "{origin}/other", "https://attacker.test", None],
    ids=["trailing-slash", "other-path", "other-host", "missing"],
)
async def test_document_for_another_issuer_is_refused(metadata: Metadata, document_issuer: Optional[str]) -> None:
    document: dict[str, Any] = {"token_endpoint": "http://127.0.0.1:9/token"}
    if document_issuer is not None:
        document["issuer"] = document_issuer.format(origin=metadata.origin)
    metadata.documents["/.well-known/oauth-authorization-server"] = document
    with pytest.raises(TokenError, match="metadata names another issuer") as caught:
        await TornadoClient.from_issuer(metadata.origin, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)
    assert caught.value.code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "metadata is not JSON"),
        (b"[]", "metadata is not a JSON object"),
        ({"token_endpoint": "/relative"}, "token_endpoint must be an absolute"),
        ({"token_endpoint": "ftp://as.test/token"}, "token_endpoint must be an absolute"),
        ({"token_endpoint": "http://as.test/token", "token_endpoint_auth_methods_supported": "client_secret_basic"},
         "token_endpoint_auth_methods_supported is not a list"),
    ],
)
async def test_unusable_document_is_a_token_error(metadata: Metadata, body: Any, message: str) -> None:
    if isinstance(body, dict):
        body = {"issuer": metadata.origin, **body}
    metadata.documents["/.well-known/oauth-authorization-server"] = body
    with pytest.raises(TokenError, match=message):
        await TornadoClient.from_issuer(metadata.origin, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)


async def test_no_document_anywhere_is_a_token_error_with_the_last_status(metadata: Metadata) -> None:
    with pytest.raises(TokenError, match="serves no authorization server metadata") as caught:
        await TornadoClient.from_issuer(metadata.origin, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)
    assert caught.value.code == 404
    assert len(metadata.requested) == 2


async def test_unreachable_issuer_is_a_token_error_599() -> None:
    sock, port = bind_unused_port()
    sock.close()  # nothing listens there now
    with pytest.raises(TokenError) as caught:
        await TornadoClient.from_issuer(
            f"http://127.0.0.1:{port}", CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True
        )
    assert caught.value.code == 599


async def test_without_auth_method_an_unlisted_method_is_refused(metadata: Metadata) -> None:
    # An explicit auth_method the issuer does not list is used: tests/test_first_hour.py.
    metadata.documents["/.well-known/oauth-authorization-server"] = {
        "issuer": metadata.origin, "token_endpoint": "http://127.0.0.1:9/token",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
    }
    with pytest.raises(ValueError, match=r"the issuer supports none of .* pass auth_method"):
        await TornadoClient.from_issuer(metadata.origin, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("http://as.tornado-alf.test", "issuer is plain http:// to as.tornado-alf.test"),
        ("as.tornado-alf.test", "issuer must be an absolute https URL"),
        ("https://as.tornado-alf.test?tenant=1", "must not have a query or fragment"),
        ("https://as.tornado-alf.test#x", "must not have a query or fragment"),
    ],
)
async def test_unusable_issuer_raises_value_error(issuer: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await TornadoClient.from_issuer(issuer, CLIENT_ID, CLIENT_SECRET)


async def test_https_issuer_with_an_http_token_endpoint_is_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    state = Metadata()
    async with serve(_app(state), context) as state.origin:
        state.documents["/.well-known/oauth-authorization-server"] = {
            "issuer": state.origin, "token_endpoint": "http://as.tornado-alf.test/token",
        }
        options = {"ca_certs": str(pki.ca_cert)}
        with pytest.raises(TokenError, match="token_endpoint is plain http://"):
            await TornadoClient.from_issuer(state.origin, CLIENT_ID, CLIENT_SECRET, http_options=options)
        state.documents["/.well-known/oauth-authorization-server"]["token_endpoint"] = state.origin + "/token"
        client = await TornadoClient.from_issuer(state.origin, CLIENT_ID, CLIENT_SECRET, http_options=options)
        client.close()


class _ClientIdOnly(AuthServer):
    def client_from(self, handler: RequestHandler, form: dict[str, list[str]]) -> Optional[str]:
        return self.client_id if form.get("client_id") == [self.client_id] else None


async def test_mtls_alias_is_used_for_tls_client_auth(metadata: Metadata, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    async with _ClientIdOnly("mtls-client") as mtls_server:
        metadata.documents["/.well-known/oauth-authorization-server"] = {
            "issuer": metadata.origin, "token_endpoint": "http://127.0.0.1:9/token",
            "token_endpoint_auth_methods_supported": ["tls_client_auth"],
            "mtls_endpoint_aliases": {"token_endpoint": mtls_server.token_endpoint},
        }
        options = {"client_cert": str(pki.client_cert), "client_key": str(pki.client_key)}
        client = await TornadoClient.from_issuer(
            metadata.origin, "mtls-client", allow_insecure_http=True, http_options=options
        )
        assert (await client.fetch(mtls_server.resource_url)).code == 200
        client.close()
    assert mtls_server.token_requests == 1
