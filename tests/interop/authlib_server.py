"""Authlib's authorization server (Flask integration) for the interop tests; run as a subprocess.

``python tests/interop/authlib_server.py <directory>`` serves on a free 127.0.0.1 port and
prints ``{"origin": ...}`` once listening. Everything it checks is Authlib's own code:
client authentication (``client_secret_basic``, and ``JWTBearerClientAssertion`` for
client assertions), the JWT-bearer grant (``JWTBearerGrant``) and token issuance. From
``<directory>`` it reads, on every token request:

- ``secret``: the current secret of client ``secret-client``: rewrite it to rotate
  (the old one is refused from then on);
- ``platform.jwk``: the public JWK of the "platform" that signs assertions for client
  ``assertion-client`` (iss = sub = client id) and JWT-bearer assertions of issuer
  ``bearer-client``;
- ``expires_in``: the lifetime of the tokens it issues.

``GET /resource`` answers 200 with the token's client and user for a live token, else
401; ``POST /revoke-all`` forgets every token issued so far.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.authorization_server import create_token_generator
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

DIRECTORY = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
TOKENS: dict[str, dict[str, Any]] = {}
SEEN_JTI: set[str] = set()
LOCK = threading.Lock()
ORIGIN = {"url": ""}


def _read(name: str) -> str:
    return (DIRECTORY / name).read_text().strip()


def platform_key() -> RSAKey:
    return RSAKey.import_key(json.loads(_read("platform.jwk")))


class Client(ClientMixin):  # type: ignore[misc]
    """One registered client: its id, how it authenticates, which grant it uses."""

    def __init__(self, client_id: str, auth_method: str, grant_type: str) -> None:
        self.client_id = client_id
        self.auth_method = auth_method
        self.grant_type = grant_type

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: Optional[str]) -> str:
        return scope or ""

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, _read("secret"))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == self.grant_type


CLIENTS = {
    "secret-client": Client("secret-client", "client_secret_basic", "client_credentials"),
    "assertion-client": Client("assertion-client", JWTBearerClientAssertion.CLIENT_AUTH_METHOD, "client_credentials"),
    "bearer-client": Client("bearer-client", "none", JWTBearerGrant.GRANT_TYPE),
}


class ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", JWTBearerClientAssertion.CLIENT_AUTH_METHOD)


class ClientAssertion(JWTBearerClientAssertion):  # type: ignore[misc]
    def get_audiences(self) -> list[str]:
        return [ORIGIN["url"] + "/token"]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        with LOCK:
            if jti in SEEN_JTI:
                return False
            SEEN_JTI.add(jti)
            return True

    def resolve_client_public_key(self, client: Client) -> RSAKey:
        return platform_key()


class BearerGrant(JWTBearerGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ("none",)

    def get_audiences(self) -> list[str]:
        return [ORIGIN["url"] + "/token"]

    def resolve_issuer_client(self, issuer: str) -> Optional[Client]:
        return CLIENTS.get(issuer)

    def resolve_client_public_key(self, client: Client) -> RSAKey:
        return platform_key()

    def authenticate_user(self, subject: str) -> dict[str, str]:
        return {"sub": subject}

    def has_granted_permission(self, client: Client, user: dict[str, str]) -> bool:
        return True


def save_token(token: dict[str, Any], req: Any) -> None:
    user = req.user["sub"] if isinstance(getattr(req, "user", None), dict) else None
    with LOCK:
        TOKENS[token["access_token"]] = {
            "client": req.client.client_id, "user": user, "expires_at": time.time() + token["expires_in"],
        }


def expires_in(client: Client, grant_type: str) -> int:
    return int(_read("expires_in"))


def make_app() -> Flask:
    app = Flask("authlib-interop")
    server = AuthorizationServer(app, query_client=CLIENTS.get, save_token=save_token)
    server.register_token_generator("default", BearerTokenGenerator(create_token_generator(True, 42), None, expires_in))
    server.register_grant(ClientCredentials)
    server.register_grant(BearerGrant)
    # A platform's token is reused for its lifetime (Kubernetes, Entra ID): no jti replay check.
    server.register_client_auth_method(ClientAssertion.CLIENT_AUTH_METHOD, ClientAssertion(validate_jti=False))

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    @app.get("/resource")
    def resource() -> Any:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        with LOCK:
            grant = TOKENS.get(value) if scheme == "Bearer" else None
        if grant is None or grant["expires_at"] <= time.time():
            return jsonify({"error": "invalid_token"}), 401
        return jsonify({"client": grant["client"], "user": grant["user"]})

    @app.post("/revoke-all")
    def revoke_all() -> Any:
        with LOCK:
            TOKENS.clear()
        return jsonify({})

    return app


def main() -> None:
    http = make_server("127.0.0.1", 0, make_app(), threaded=True)
    ORIGIN["url"] = f"http://127.0.0.1:{http.server_port}"
    print(json.dumps({"origin": ORIGIN["url"]}), flush=True)
    http.serve_forever()


if __name__ == "__main__":
    main()
