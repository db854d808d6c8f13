"""Client authentication without signing: HTTP Basic, the secret in the form, the client id alone."""

from __future__ import annotations

import base64

from .base import FormFields, form_encode, secret_fingerprint, spellings


class ClientSecretBasic:
    """HTTP Basic with the percent-encoded id and secret (RFC 6749 sec. 2.3.1)."""

    def __init__(self, client_id: str, client_secret: str, encoding: str = "form") -> None:
        if encoding == "form":
            user, password = form_encode(client_id), form_encode(client_secret)
        else:
            user, password = client_id, client_secret
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._header = "Basic " + credentials
        self.hidden = (*spellings(client_secret), credentials)
        self.fingerprint = secret_fingerprint(client_secret)

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send the credentials as the ``Authorization`` header."""
        headers["Authorization"] = self._header

    def __repr__(self) -> str:
        return "<ClientSecretBasic>"


class ClientSecretPost:
    """``client_id`` and ``client_secret`` in the form body (RFC 6749 sec. 2.3.1)."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self._fields = [("client_id", client_id), ("client_secret", client_secret)]
        self.hidden = spellings(client_secret)
        self.fingerprint = secret_fingerprint(client_secret)

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send the credentials as form fields."""
        form.extend(self._fields)

    def __repr__(self) -> str:
        return "<ClientSecretPost>"


class ClientIdOnly:
    """Only ``client_id`` in the form body.

    For ``none`` (a public client, RFC 6749 sec. 2.1) and ``tls_client_auth`` (RFC 8705
    sec. 2, where the client certificate presented in the TLS handshake is the proof).
    """

    hidden: tuple[str, ...] = ()  # nothing secret is sent
    fingerprint = ""  # tls_client_auth: the certificate is named from http_options

    def __init__(self, client_id: str, auth_method: str) -> None:
        self._client_id = client_id
        self._method = auth_method

    def apply(self, form: FormFields, headers: dict[str, str]) -> None:
        """Send the client id as a form field."""
        form.append(("client_id", self._client_id))

    def __repr__(self) -> str:
        return f"<ClientIdOnly {self._method}>"
