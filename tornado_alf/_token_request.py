"""What a token request carries (RFC 6749 sec. 4.4.2): its form fields and its `HTTPRequest`."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

from tornado.httpclient import HTTPRequest

from ._binding import Binding
from .auth import ClientAuthentication, FormFields

#: A ``token_request_params`` value: one string, or several to repeat the field.
ParamValue = Union[str, Iterable[str]]


def form_fields(scope: Union[str, Iterable[str], None], params: Mapping[str, ParamValue]) -> FormFields:
    """``grant_type`` plus ``scope`` (space-separated) and extra params (repeatable)."""
    fields: FormFields = [("grant_type", "client_credentials")]
    if scope is not None:
        fields.append(("scope", scope if isinstance(scope, str) else " ".join(scope)))
    for name, value in params.items():
        fields.extend((name, item) for item in ([value] if isinstance(value, str) else value))
    return fields


class TokenRequest:
    """Builds each token request to ``url``: a fresh body and headers every time.

    :arg auth: the client authentication; JWT assertions are one-shot, hence `build`
        for every attempt.
    :arg fields: the form fields besides the credentials.
    :arg http_options: `HTTPRequest` keyword arguments (checked by ``_arguments``).
    :arg binding: adds a DPoP proof to each request, when the client has a DPoP key.
    """

    def __init__(
        self,
        url: str,
        auth: ClientAuthentication,
        fields: FormFields,
        http_options: Mapping[str, Any],
        binding: Optional[Binding] = None,
    ) -> None:
        self.url = url
        self.binding = Binding() if binding is None else binding
        self._auth = auth
        self._fields = fields
        self._options = dict(http_options)

    @property
    def hidden(self) -> tuple[str, ...]:
        """Every spelling of the secret the latest request carried, and its DPoP proof, to blank out of errors."""
        proof = self.binding.last_proof
        return (*self._auth.hidden, proof, proof.rpartition(".")[2]) if proof else self._auth.hidden

    def build(self, grant_fields: Optional[FormFields] = None) -> HTTPRequest:
        """A new token request: a POST of the form that never follows a redirect.

        :arg grant_fields: ``grant_type`` and the fields of a grant other than client
            credentials, sent in place of ``grant_type=client_credentials``.
        """
        form = list(self._fields) if grant_fields is None else [*grant_fields, *self._fields[1:]]
        headers = dict(self._options.get("headers") or {})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers.setdefault("Accept", "application/json")
        self._auth.apply(form, headers)
        options = {**self._options, "headers": headers}
        request = HTTPRequest(
            self.url,
            **options,
            method="POST",
            body=urllib.parse.urlencode(form, quote_via=urllib.parse.quote),
            follow_redirects=False,
        )
        self.binding.sign_token_request(request)
        return request

    def __repr__(self) -> str:
        return f"<TokenRequest to {urllib.parse.urlsplit(self.url).netloc} with {self._auth!r}>"
