"""Where the command line's credentials come from: flags, environment, a file or stdin.

A flag wins over the environment. The secret comes from ``--client-secret``,
``--client-secret-file`` (``-`` for stdin) or ``TORNADO_ALF_CLIENT_SECRET``, in
that order; on the command line it shows in the process list, hence a warning.
``private_key_jwt`` and ``tls_client_auth`` need no secret but a key file or a
client certificate.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any, Optional, TextIO, Union

from ..auth import SECRET_METHODS, credential_methods

ENV_TOKEN_ENDPOINT = "TORNADO_ALF_TOKEN_ENDPOINT"  # noqa: S105 - a variable name
ENV_CLIENT_ID = "TORNADO_ALF_CLIENT_ID"
ENV_CLIENT_SECRET = "TORNADO_ALF_CLIENT_SECRET"  # noqa: S105 - a variable name
ENV_RESOURCE = "TORNADO_ALF_RESOURCE"
ENV_PARAMS = "TORNADO_ALF_PARAMS"

SECRET_ON_COMMAND_LINE = (
    "warning: --client-secret is visible to other users in the process list; "
    f"prefer --client-secret-file or {ENV_CLIENT_SECRET}"
)

# Form fields --param may not set: the client writes them, or a flag of their own does.
_PARAM_FLAGS = {"scope": "--scope", "resource": "--resource", "audience": "--audience"}
_PARAMS_OF_THE_CLIENT = frozenset({
    "grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type",
})

PrivateKey = Union[str, dict[str, Any]]


class UsageError(Exception):
    """The command line cannot work as given; exit status 2."""


@dataclasses.dataclass(frozen=True, repr=False)
class Credentials:
    """Who the client is and where it gets tokens; ``repr`` never shows the secret or key.

    ``auth_method`` is ``None`` when the user left the choice to the defaults;
    ``resource`` and ``params`` are the token request's extra form fields.
    """

    client_id: str
    client_secret: Optional[str]
    token_endpoint: Optional[str] = None
    issuer: Optional[str] = None
    warnings: tuple[str, ...] = ()
    auth_method: Optional[str] = None
    private_key: Optional[PrivateKey] = None
    resource: tuple[str, ...] = ()
    params: Mapping[str, list[str]] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        where = self.issuer or self.token_endpoint
        return f"<Credentials {self.client_id} at {where}>"


def credentials(args: argparse.Namespace, environ: Mapping[str, str], stdin: TextIO) -> Credentials:
    """The `Credentials` the parsed ``args`` and ``environ`` name.

    :raises UsageError: when something needed is missing or unreadable.
    """
    issuer: Optional[str] = args.issuer
    endpoint = args.token_endpoint or (None if issuer else environ.get(ENV_TOKEN_ENDPOINT))
    if not issuer and not endpoint:
        raise UsageError(f"no token endpoint: pass --token-endpoint, --issuer or set {ENV_TOKEN_ENDPOINT}")
    client_id = args.client_id or environ.get(ENV_CLIENT_ID)
    if not client_id:
        raise UsageError(f"no client id: pass --client-id or set {ENV_CLIENT_ID}")
    secret, warnings = _secret(args, environ, stdin)
    private_key = None if args.private_key_file is None else read_private_key(args.private_key_file)
    method = _auth_method(args, secret, private_key)
    # Without a secret, the default method would need one: a public client says --auth-method none.
    if secret is None and (method is None or method in SECRET_METHODS):
        raise UsageError(
            f"no client secret: pass --client-secret-file, set {ENV_CLIENT_SECRET}, or use --private-key-file, "
            "--client-cert or --auth-method none"
        )
    return Credentials(
        client_id, secret, endpoint, issuer, warnings, method, private_key,
        resource=resources(args, environ), params=params(args, environ),
    )


def resources(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The ``--resource`` flags, else the URIs in ``TORNADO_ALF_RESOURCE`` (space-separated)."""
    if args.resource:
        return tuple(args.resource)
    return tuple(environ.get(ENV_RESOURCE, "").split())


def params(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, list[str]]:
    """The ``--param NAME=VALUE`` flags, else ``TORNADO_ALF_PARAMS`` (form-encoded, ``a=1&b=2``).

    A name given twice is sent twice. Values are never quoted back: one may be a credential.

    :raises UsageError: for a malformed pair, or a field the client or another flag sets.
    """
    pairs: list[tuple[str, str]] = []
    if args.param:
        for pair in args.param:
            name, equals, value = pair.partition("=")
            if not equals or not name:
                raise UsageError("every --param needs the form NAME=VALUE")
            pairs.append((name, value))
    elif environ.get(ENV_PARAMS):
        try:
            pairs = urllib.parse.parse_qsl(environ[ENV_PARAMS], keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise UsageError(f"{ENV_PARAMS} must be form-encoded NAME=VALUE pairs joined by &") from None
    collected: dict[str, list[str]] = {}
    for name, value in pairs:
        _check_param_name(name)
        collected.setdefault(name, []).append(value)
    return collected


def _check_param_name(name: str) -> None:
    if name in _PARAM_FLAGS:
        raise UsageError(f"--param {name}=...: use {_PARAM_FLAGS[name]} instead")
    if name in _PARAMS_OF_THE_CLIENT:
        raise UsageError(f"--param {name}=...: the client sets {name} itself")


def _auth_method(args: argparse.Namespace, secret: Optional[str], private_key: Optional[PrivateKey]) -> Optional[str]:
    """The auth method asked for or implied by a key or certificate; checks each has what it needs.

    The library says which methods the credentials allow; when that leaves one (a key or
    a certificate), it is the one, unless it is ``none``, which the user must ask for.
    """
    method: Optional[str] = args.auth_method
    allowed = credential_methods(secret, private_key, args.client_cert)
    if method is None and len(allowed) == 1 and allowed != ("none",):
        method = allowed[0]
    has_key = private_key is not None
    if method == "private_key_jwt" and not has_key:
        raise UsageError("--auth-method private_key_jwt needs --private-key-file PATH")
    if has_key and method != "private_key_jwt":
        raise UsageError(f"--private-key-file is for --auth-method private_key_jwt, not {method}")
    if method == "tls_client_auth" and not args.client_cert:
        raise UsageError("--auth-method tls_client_auth needs --client-cert PATH (and --client-key PATH)")
    if args.client_key and not args.client_cert:
        raise UsageError("--client-key needs --client-cert")
    for path, what in ((args.client_cert, "client certificate"), (args.client_key, "client key")):
        if path is not None:
            _check_readable(path, what)
    return method


def read_private_key(path: str) -> PrivateKey:
    """The ``private_key_jwt`` key in file ``path``: PEM text, or a JWK (a JSON object).

    :raises UsageError: when the file cannot be read or holds neither; never quoting it.
    """
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the private key from {path}: {_reason(exc)}") from None
    if text.startswith("-----BEGIN"):
        return text
    try:
        jwk = json.loads(text)
    except ValueError:
        jwk = None
    if not isinstance(jwk, dict):
        raise UsageError(f"the private key file {path} holds neither a PEM key nor a JWK (JSON object)")
    return jwk


def _check_readable(path: str, what: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot read the {what} from {path}: {_reason(exc)}") from None


def _secret(
    args: argparse.Namespace, environ: Mapping[str, str], stdin: TextIO
) -> tuple[Optional[str], tuple[str, ...]]:
    if args.client_secret is not None:
        return args.client_secret, (SECRET_ON_COMMAND_LINE,)
    if args.client_secret_file is not None:
        return read_secret_file(args.client_secret_file, stdin), ()
    return environ.get(ENV_CLIENT_SECRET) or None, ()


def read_secret_file(path: str, stdin: TextIO) -> str:
    """The secret in file ``path`` (``-``: stdin) without its line ending.

    :raises UsageError: when the file cannot be read or holds no secret.
    """
    try:
        if path == "-":
            text = stdin.read()
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the client secret from {path}: {_reason(exc)}") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise UsageError(f"the client secret file {path} is empty")
    return secret


def read_body(data: Optional[str], stdin: TextIO) -> Optional[bytes]:
    """The request body of ``-d``: the text itself, ``@file`` or ``@-`` (stdin), sent as is.

    :raises UsageError: when the file cannot be read.
    """
    if data is None or not data.startswith("@"):
        return None if data is None else data.encode("utf-8")
    path = data[1:]
    try:
        if path == "-":
            return stdin.buffer.read()
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise UsageError(f"cannot read the request body from {path}: {_reason(exc)}") from None


def headers(values: list[str]) -> list[tuple[str, str]]:
    """``-H "Name: value"`` flags as pairs, in order.

    :raises UsageError: for a flag without a colon or with an empty name.
    """
    pairs = []
    for value in values:
        name, colon, rest = value.partition(":")
        if not colon or not name.strip():
            # Not quoted back: a mistyped Authorization header is a credential.
            raise UsageError("every -H/--header needs the form 'Name: value'")
        pairs.append((name.strip(), rest.strip()))
    return pairs


def check_stdin_once(args: argparse.Namespace) -> None:
    """Refuse two readers of stdin (the secret and the body)."""
    if getattr(args, "client_secret_file", None) == "-" and getattr(args, "data", None) == "@-":
        raise UsageError("stdin can hold the client secret or the request body, not both")


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
