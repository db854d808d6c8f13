"""Sender-constrained tokens: what binds a token to this client (RFC 9449 DPoP, RFC 8705 sec. 3).

A `Binding` adds a DPoP proof to each token and resource request, keeps the servers'
nonces per origin, presents the client certificate to resources when asked, and names
the key and certificate in the store key (``tag``), so that a token bound to one key is
never handed to a client holding another. The DPoP signing itself is in
`tornado_alf.auth.dpop`, imported only when a ``dpop_key`` is given.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from tornado.httpclient import HTTPRequest, HTTPResponse

from ._challenge import parse_challenges
from ._token import Token

if TYPE_CHECKING:
    from .auth.dpop import DPoPKey

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, default ports spelled out, host lower-cased."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{scheme}://{(parts.hostname or '').lower()}:{port or _DEFAULT_PORTS.get(scheme, 0)}"


class Binding:
    """The DPoP key and nonces, and the certificate shown to resources, of one client.

    :arg dpop: the key that signs proofs, or ``None`` without DPoP.
    :arg resource_cert: ``client_cert``/``client_key`` options for resource requests
        (RFC 8705 certificate-bound tokens), or empty.
    :arg str cert_thumbprint: base64url SHA-256 of that certificate (``x5t#S256``).
    """

    def __init__(
        self,
        dpop: Optional[DPoPKey] = None,
        resource_cert: Optional[Mapping[str, Any]] = None,
        cert_thumbprint: str = "",
    ) -> None:
        self.dpop = dpop
        self._resource_cert = dict(resource_cert or {})
        self._binder: Optional[TokenBinder] = None  # the last token's: most requests carry the same one
        self._nonces: dict[str, str] = {}
        #: The proof of the latest token request, blanked out of errors should the endpoint quote it.
        self.last_proof = ""
        parts = []
        if dpop is not None:
            parts.append(f"jkt={dpop.thumbprint}")
        if cert_thumbprint:
            parts.append(f"x5t={cert_thumbprint}")
        #: What the store key must hold so that tokens never cross keys or certificates.
        self.tag = ";".join(parts)

    @property
    def token_types(self) -> tuple[str, ...]:
        """The ``token_type`` values this client can use, lower-cased."""
        return ("bearer", "dpop") if self.dpop is not None else ("bearer",)

    def sign_token_request(self, request: HTTPRequest) -> None:
        """Add a proof (no ``ath``) to a token request (RFC 9449 sec. 5)."""
        if self.dpop is not None:
            nonce = self._nonces.get(origin(request.url)) if self._nonces else None
            self.last_proof = self.dpop.proof(request.method, request.url, nonce)
            request.headers["DPoP"] = self.last_proof

    def bind_resource_request(self, request: HTTPRequest, token: Token) -> None:
        """Add the proof of a DPoP token (RFC 9449 sec. 7) and the client certificate, if asked.

        A token the server issued as Bearer goes without a proof: the server decided.
        """
        if self.dpop is not None and token.token_type == "DPoP":  # noqa: S105 - a scheme name
            nonce = self._nonces.get(origin(request.url)) if self._nonces else None
            request.headers["DPoP"] = self.dpop.proof(request.method, request.url, nonce, token.access_token)
        if self._resource_cert and request.client_cert is None:
            request.client_cert = self._resource_cert.get("client_cert")
            request.client_key = self._resource_cert.get("client_key")

    def observe(self, response: HTTPResponse) -> None:
        """Keep the ``DPoP-Nonce`` the server sent, for its origin (RFC 9449 sec. 8, 9)."""
        if self.dpop is None:
            return
        nonce = response.headers.get("DPoP-Nonce")
        if nonce:
            self._nonces[origin(response.effective_url or response.request.url)] = nonce

    def wants_nonce(self, response: HTTPResponse, token_endpoint: bool) -> bool:
        """Whether ``response`` asks for the request again with the nonce it carries.

        The token endpoint says so with 400 ``error=use_dpop_nonce`` (RFC 9449 sec. 8),
        a resource with 401 and a ``DPoP`` challenge of that error (sec. 9).
        """
        if self.dpop is None or response.code != (400 if token_endpoint else 401):
            return False
        if not response.headers.get("DPoP-Nonce"):
            return False
        if token_endpoint:
            return response.code == 400 and _json_error(response) == "use_dpop_nonce"
        if response.code != 401:
            return False
        challenges = parse_challenges(response.headers.get_list("WWW-Authenticate"))
        return any(c.scheme.lower() == "dpop" and c.params.get("error") == "use_dpop_nonce" for c in challenges)

    @property
    def active(self) -> bool:
        """Whether resource requests need anything besides ``Authorization``."""
        return self.dpop is not None or bool(self._resource_cert)

    def for_token(self, token: Token) -> TokenBinder:
        """What binds each hop of one resource request that carries ``token``: one per token, reused."""
        binder = self._binder
        if binder is None or binder.token is not token:
            binder = self._binder = TokenBinder(self, token)
        return binder

    def __repr__(self) -> str:
        kinds = [name for name, on in (("DPoP", self.dpop), ("certificate", self._resource_cert)) if on]
        return f"<Binding {' + '.join(kinds) or 'none'}, nonces for {len(self._nonces)} origins>"


class TokenBinder:
    """One resource request's binding: a new proof on every hop that carries ``token``."""

    def __init__(self, binding: Binding, token: Token) -> None:
        self._binding = binding
        self.token = token

    def bind(self, request: HTTPRequest) -> None:
        """A proof for this hop (its method and URL), and the certificate when asked."""
        self._binding.bind_resource_request(request, self.token)

    def observe(self, response: HTTPResponse) -> None:
        """Keep the hop's ``DPoP-Nonce``."""
        self._binding.observe(response)

    def __repr__(self) -> str:
        return f"<TokenBinder of {self.token!r}>"


def _json_error(response: HTTPResponse) -> Optional[str]:
    try:
        document = json.loads(response.body or b"")
    except (ValueError, RecursionError):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, str) else None


def make_binding(dpop_key: object, present_client_cert: bool, http_options: Mapping[str, Any]) -> Binding:
    """The `Binding` for checked arguments; `ValueError` naming ``dpop_key`` for a key that cannot sign.

    :raises ImportError: naming the ``tornado-alf[jwt]`` extra when joserfc is missing.
    """
    dpop = None
    if dpop_key is not None and dpop_key is not False:
        try:
            from .auth.dpop import load_dpop_key
        except ImportError as exc:
            if exc.name is None or exc.name.split(".")[0] not in ("joserfc", "cryptography"):
                raise
            raise ImportError("dpop_key signs DPoP proofs with joserfc, which is missing: "
                              "pip install 'tornado-alf[jwt]'") from exc
        dpop = load_dpop_key(dpop_key)
    if not present_client_cert:
        return Binding(dpop)
    cert = {name: http_options.get(name) for name in ("client_cert", "client_key")}
    return Binding(dpop, cert, certificate_thumbprint(str(cert["client_cert"])))


def certificate_thumbprint(path: str) -> str:
    """``x5t#S256`` (RFC 8705 sec. 3.1) of the PEM certificate at ``path``; `ValueError` if unreadable."""
    try:
        with open(path) as handle:
            text = handle.read()
        # The first certificate: the client's own, ahead of any chain in the same file.
        start = text.index(ssl.PEM_HEADER)
        der = ssl.PEM_cert_to_DER_cert(text[start : text.index(ssl.PEM_FOOTER, start) + len(ssl.PEM_FOOTER)])
    except (OSError, ValueError) as exc:
        raise ValueError(f"present_client_cert: cannot read http_options client_cert: {type(exc).__name__}") from None
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")
