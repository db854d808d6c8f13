"""The ``tornado-alf`` command line: its commands and options (argparse)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .. import __version__
from ..auth import AUTH_METHODS
from .settings import ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_PARAMS, ENV_RESOURCE, ENV_TOKEN_ENDPOINT

_EPILOG = """\
exit status: 0 ok, 1 unexpected error, 2 usage, 3 token endpoint refused or failed,
4 resource answered non-2xx (fetch --raise), 5 network (refused, DNS, timeout), 130 interrupted
"""

_DESCRIPTIONS = {
    "token": """\
Obtain an access token and show its type, scope, lifetime and expiry time.
The token itself is printed only with --show-token.
""",
    "fetch": """\
Send one request with a bearer token and write the response body to stdout.
A non-2xx answer is printed and exits 0, like curl; with --raise (curl -f)
it exits 4 and writes no body.
""",
}

if TYPE_CHECKING:  # generic only in typeshed
    _Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``tornado-alf [token|fetch|demo] ...``."""
    parser = argparse.ArgumentParser(
        prog="tornado-alf",
        description="OAuth 2.0 client credentials for Tornado: get a token, call a protected API.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _token_parser(commands)
    _fetch_parser(commands)
    commands.add_parser(
        "demo", help="run the embedded demo against a local authorization server",
        description="Start a local authorization server and show single flight and 401 recovery.",
    )
    return parser


def _command(commands: _Commands, name: str, summary: str) -> argparse.ArgumentParser:
    command = commands.add_parser(
        name, help=summary, description=_DESCRIPTIONS[name], epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _client_options(command)
    return command


def _token_parser(commands: _Commands) -> None:
    token = _command(commands, "token", "obtain a token and show its type, scope and lifetime")
    output = token.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object, for scripts")
    output.add_argument("--show-token", action="store_true", help="print the access token too (a secret!)")


def _client_options(parser: argparse.ArgumentParser) -> None:
    # Added to each command rather than through parents=: argparse copies a parent's
    # mutually exclusive groups out of their argument groups in --help.
    _server_options(parser.add_argument_group("authorization server"))
    _credential_options(parser.add_argument_group("client credentials"))
    _key_options(parser.add_argument_group("private_key_jwt and tls_client_auth"))
    _http_options(parser.add_argument_group("HTTP"))


def _server_options(where: argparse._ArgumentGroup) -> None:
    endpoint = where.add_mutually_exclusive_group()
    endpoint.add_argument("--token-endpoint", metavar="URL", help=f"token endpoint URL (env {ENV_TOKEN_ENDPOINT})")
    endpoint.add_argument("--issuer", metavar="URL", help="discover the token endpoint from this issuer (RFC 8414)")
    where.add_argument("--allow-insecure-http", action="store_true",
                       help="accept http:// issuers, token endpoints and resources off the loopback "
                            "(local testing, or where a service mesh encrypts)")


def _credential_options(client: argparse._ArgumentGroup) -> None:
    client.add_argument("--client-id", metavar="ID", help=f"client identifier (env {ENV_CLIENT_ID})")
    secret = client.add_mutually_exclusive_group()
    secret.add_argument("--client-secret-file", metavar="PATH",
                        help=f"read the client secret from PATH, '-' for stdin (or env {ENV_CLIENT_SECRET})")
    secret.add_argument("--client-secret", metavar="SECRET",
                        help="the client secret itself: visible in the process list, avoid")
    client.add_argument("--auth-method", choices=AUTH_METHODS, default=None, metavar="METHOD",
                        help=f"client authentication: {', '.join(AUTH_METHODS)} "
                        "(default: private_key_jwt with --private-key-file, tls_client_auth with "
                        "--client-cert and no secret, else client_secret_basic; with --issuer, "
                        "the first the issuer lists that the credentials allow)")
    client.add_argument("--scope", action="append", metavar="SCOPE",
                        help="scope to request; repeat for several")
    client.add_argument("--audience", metavar="AUDIENCE", help="audience parameter (Auth0, Okta...)")
    client.add_argument("--resource", action="append", metavar="URI",
                        help=f"resource indicator (RFC 8707); repeat for several (env {ENV_RESOURCE}, "
                        "space-separated)")
    client.add_argument("--param", action="append", metavar="NAME=VALUE",
                        help="extra form field of the token request; repeat for several "
                        f"(env {ENV_PARAMS}, form-encoded: a=1&b=2)")


def _key_options(keys: argparse._ArgumentGroup) -> None:
    keys.add_argument("--private-key-file", metavar="PATH",
                      help="private key signing private_key_jwt assertions: a PEM or JWK (JSON) file")
    keys.add_argument("--private-key-id", metavar="KID", help="kid header of the assertions (default: the JWK's)")
    keys.add_argument("--signing-alg", metavar="ALG",
                      help="assertion algorithm: RS256, PS256, ES256 (HS256 for client_secret_jwt); "
                      "default: the JWK's alg, else by key type")
    keys.add_argument("--client-cert", metavar="PATH", help="client certificate (PEM) for tls_client_auth")
    keys.add_argument("--client-key", metavar="PATH",
                      help="private key (PEM) of --client-cert, if the certificate file lacks it")


def _http_options(http: argparse._ArgumentGroup) -> None:
    http.add_argument("--timeout", type=_seconds, default=20.0, metavar="SECONDS",
                      help="connect and request timeout of each HTTP request (default 20)")
    http.add_argument("--ca-certs", metavar="PATH", help="CA bundle to verify https servers with")
    http.add_argument("-v", "--verbose", action="store_true",
                      help="show every HTTP exchange on stderr, secrets and tokens masked")


def _fetch_parser(commands: _Commands) -> None:
    command = _command(commands, "fetch", "call a protected URL with a bearer token (curl-like)")
    command.add_argument("url", metavar="URL", help="the protected resource")
    fetch = command.add_argument_group("request and response")
    fetch.add_argument("-X", "--request", dest="method", metavar="METHOD",
                       help="HTTP method (default GET, or POST with -d)")
    fetch.add_argument("-H", "--header", dest="headers", action="append", default=[], metavar="'NAME: VALUE'",
                       help="request header; repeat for several")
    fetch.add_argument("-d", "--data", metavar="DATA",
                       help="request body, sent as is: text, @file or @- for stdin")
    fetch.add_argument("-i", "--include", action="store_true", help="print the status line and headers first")
    fetch.add_argument("--raise", dest="raise_error", action="store_true",
                       help="a non-2xx answer is an error (exit 4, no body), like curl -f")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds > 0")
    return value
