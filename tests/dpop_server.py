"""A token endpoint and a resource that verify sender-constrained tokens, for the DPoP tests.

`DPoPServer` checks every DPoP proof (RFC 9449 sec. 4.3): ``typ``, the signature with the
proof's own ``jwk``, ``htm``/``htu`` against the request it came with, ``iat``, a ``jti``
never seen before (a reused one is counted in ``replayed_proofs`` and refused), the
nonce when it demands one, and at the resource ``ath`` and the token's ``cnf.jkt``.
Certificate-bound tokens (RFC 8705 sec. 3): over TLS, the token records the client
certificate's ``x5t#S256`` and the resource accepts it only with that certificate.
Everything is counted where it arrives, for the tests to assert at the far end.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Callable, Optional

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry
from joserfc.jws import JWSRegistry
from tornado.web import Application, RequestHandler

from tests._serve import serve

PROOF_ALGS = ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"]
# An RSA proof's header (its jwk) is longer than joserfc's default limit of 512 bytes.
REGISTRY = JWSRegistry(algorithms=PROOF_ALGS)
REGISTRY.max_header_length = 4096


def b64_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


#: Every server made, for the tests' guard that no token or proof reaches a log record.
MADE: list[DPoPServer] = []


class ProofError(Exception):
    """The proof is unusable; the message says why (never the proof)."""


class DPoPServer:
    """Token endpoint ``/token``, resource ``/api``, redirect ``/hop?to=<path>``; counts what arrives.

    :arg str token_type: what the endpoint issues to a request with a proof: ``"DPoP"``,
        or ``"Bearer"`` to refuse binding (RFC 9449 sec. 5).
    :arg bool token_nonce: the endpoint demands a nonce (400 ``use_dpop_nonce``).
    :arg bool resource_nonce: the resource demands a nonce (401 ``DPoP error=use_dpop_nonce``).
    """

    def __init__(
        self, token_type: str = "DPoP", token_nonce: bool = False, resource_nonce: bool = False  # noqa: S107
    ) -> None:
        self.token_type = token_type
        self.token_latency = 0.0  # seconds each token request takes
        self.echo_proof = False  # refuse token requests, quoting the proof back (as careless servers do)
        self.token_nonce = token_nonce
        self.resource_nonce = resource_nonce
        self.nonce = secrets.token_urlsafe(12)
        self.token_posts = 0  # every POST to /token
        self.tokens_issued = 0
        self.nonce_challenges = {"token": 0, "resource": 0}
        self.resource_hits = 0
        self.resource_ok = 0
        self.replayed_proofs = 0
        self.refusals: list[str] = []  # why a resource request was refused
        self.proofs: list[dict[str, Any]] = []  # claims of every proof accepted, in order
        self.bindings: dict[str, dict[str, str]] = {}  # token -> cnf; cleared to revoke them all
        self.issued: list[str] = []
        #: (method, path, had Authorization, had DPoP) of every request.
        self.received: list[tuple[str, str, bool, bool]] = []
        self._jtis: set[str] = set()
        self.origin = ""
        self.tls_context: Optional[ssl.SSLContext] = None
        #: The ``cnf`` of a token the resource is given, ``None`` for a token it does not accept:
        #: by default what this server's endpoint issued; the interop tests read JWTs.
        self.cnf_of: Callable[[str], Optional[dict[str, str]]] = self.bindings.get
        MADE.append(self)

    @property
    def token_endpoint(self) -> str:
        return f"{self.origin}/token"

    @property
    def resource_url(self) -> str:
        return f"{self.origin}/api"

    def rotate_nonce(self) -> None:
        self.nonce = secrets.token_urlsafe(12)

    def application(self) -> Application:
        return Application(
            [(r"/token", _Token, {"server": self}), (r"/api", _Resource, {"server": self}),
             (r"/hop", _Hop, {"server": self})],
            log_function=lambda handler: None,
        )

    def verify(self, handler: RequestHandler, access_token: Optional[str]) -> dict[str, Any]:
        """The claims and ``jkt`` of the request's proof, or `ProofError`."""
        values = handler.request.headers.get_list("DPoP")
        if len(values) != 1:
            raise ProofError("not exactly one DPoP header")
        try:
            header = json.loads(base64.urlsafe_b64decode(values[0].split(".")[0] + "=="))
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in PROOF_ALGS:
                raise ProofError("typ or alg")
            if "d" in header["jwk"]:
                raise ProofError("private key in the jwk header")
            key = JWKRegistry.import_key(header["jwk"])
            verified = jws.deserialize_compact(values[0], key, algorithms=PROOF_ALGS, registry=REGISTRY)
            claims = json.loads(verified.payload)
        except (JoseError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise ProofError(f"bad proof: {type(exc).__name__}") from None
        self._check_claims(handler, claims, access_token)
        claims["jkt"] = key.thumbprint()
        self.proofs.append(claims)
        return dict(claims)

    def _check_claims(self, handler: RequestHandler, claims: dict[str, Any], access_token: Optional[str]) -> None:
        request = handler.request
        if claims.get("jti") in self._jtis:
            self.replayed_proofs += 1
            raise ProofError("jti seen before")
        self._jtis.add(claims.get("jti", ""))
        if claims.get("htm") != request.method:
            raise ProofError("htm")
        if claims.get("htu") != f"{request.protocol}://{request.host}{request.path}":
            raise ProofError("htu")
        if not isinstance(claims.get("iat"), int) or abs(claims["iat"] - time.time()) > 60:
            raise ProofError("iat")
        if access_token is not None and claims.get("ath") != b64_sha256(access_token.encode()):
            raise ProofError("ath")
        if access_token is None and "ath" in claims:
            raise ProofError("ath on a token request")


def peer_thumbprint(handler: RequestHandler) -> Optional[str]:
    der = handler.request.get_ssl_certificate(binary_form=True) if handler.request.protocol == "https" else None
    return b64_sha256(der) if isinstance(der, bytes) else None


class _Handler(RequestHandler):
    def initialize(self, server: DPoPServer) -> None:
        self.server = server

    def prepare(self) -> None:
        headers = self.request.headers
        self.server.received.append(
            (self.request.method or "", self.request.path, "Authorization" in headers, "DPoP" in headers)
        )

    def check_xsrf_cookie(self) -> None:
        """Not a browser application."""

    def answer(self, status: int, document: Optional[dict[str, Any]] = None, **headers: str) -> None:
        self.set_status(status)
        if self.server.token_nonce or self.server.resource_nonce:
            self.set_header("DPoP-Nonce", self.server.nonce)
        for name, value in headers.items():
            self.set_header(name.replace("_", "-"), value)
        self.finish(document or {})


class _Token(_Handler):
    async def post(self) -> None:
        server = self.server
        server.token_posts += 1
        if server.token_latency:
            await asyncio.sleep(server.token_latency)
        if self.get_body_argument("grant_type", None) != "client_credentials":
            self.answer(400, {"error": "unsupported_grant_type"})
            return
        if server.echo_proof:
            self.answer(400, {"error": "invalid_dpop_proof", "error_description": self.request.headers["DPoP"]})
            return
        cnf: dict[str, str] = {}
        if "DPoP" in self.request.headers:
            try:
                claims = server.verify(self, None)
            except ProofError as exc:
                self.answer(400, {"error": "invalid_dpop_proof", "error_description": str(exc)})
                return
            if server.token_nonce and claims.get("nonce") != server.nonce:
                server.nonce_challenges["token"] += 1
                self.answer(400, {"error": "use_dpop_nonce"})
                return
            if server.token_type == "DPoP":
                cnf["jkt"] = claims["jkt"]
        thumbprint = peer_thumbprint(self)
        if thumbprint:
            cnf["x5t#S256"] = thumbprint
        token = secrets.token_urlsafe(24)
        server.bindings[token] = cnf
        server.issued.append(token)
        server.tokens_issued += 1
        token_type = "DPoP" if "jkt" in cnf else "Bearer"
        self.answer(200, {"access_token": token, "token_type": token_type, "expires_in": 300})


class _Resource(_Handler):
    def get(self) -> None:
        self.serve()

    def post(self) -> None:
        self.serve()

    def serve(self) -> None:
        server = self.server
        server.resource_hits += 1
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        cnf = server.cnf_of(token)
        why = self.refusal(scheme, token, cnf)
        if why == "nonce":
            server.nonce_challenges["resource"] += 1
            self.answer(401, WWW_Authenticate='DPoP error="use_dpop_nonce", algs="ES256"')
        elif why:
            server.refusals.append(why)
            self.answer(401, WWW_Authenticate=f'{scheme or "Bearer"} error="invalid_token"')
        else:
            server.resource_ok += 1
            self.answer(200, {"scheme": scheme, "method": self.request.method})

    def refusal(self, scheme: str, token: str, cnf: Optional[dict[str, str]]) -> Optional[str]:
        """Why the request is refused, ``"nonce"`` to ask for one, or ``None``."""
        if cnf is None:
            return "unknown token"
        if "x5t#S256" in cnf and peer_thumbprint(self) != cnf["x5t#S256"]:
            return "certificate does not match cnf.x5t#S256"
        if "jkt" not in cnf:
            return None if scheme == "Bearer" else "a Bearer token sent as " + scheme
        if scheme != "DPoP":
            return "a DPoP-bound token sent as " + scheme
        try:
            claims = self.server.verify(self, token)
        except ProofError as exc:
            return str(exc)
        if claims["jkt"] != cnf["jkt"]:
            return "proof key does not match cnf.jkt"
        if self.server.resource_nonce and claims.get("nonce") != self.server.nonce:
            return "nonce"
        return None


class _Hop(_Handler):
    """Redirects to ``to``; a hop that carries a DPoP token has its proof checked like the resource's."""

    def get(self) -> None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme == "DPoP":
            try:
                self.server.verify(self, token)
            except ProofError as exc:
                self.server.refusals.append(f"hop: {exc}")
        self.redirect(self.get_query_argument("to"), status=int(self.get_query_argument("status", "307")))

    post = get


@contextlib.asynccontextmanager
async def running(
    server: DPoPServer, tls: Optional[tuple[Path, Path, Path]] = None
) -> AsyncIterator[DPoPServer]:
    """Serve ``server`` on 127.0.0.1; over TLS asking for a client certificate with ``(cert, key, ca)``."""
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tls[2]))
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        context.verify_mode = ssl.CERT_OPTIONAL
        server.tls_context = context
    async with serve(server.application(), context) as origin:
        server.origin = origin
        yield server
