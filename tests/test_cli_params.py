"""``--resource`` and ``--param`` of ``tornado-alf token|fetch``, and their environment variables.

The CLI runs as a subprocess; the form fields are read where they arrive, in the local
authorization server's log of token requests.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.test_cli import cli, env_for
from tornado_alf.testing import AuthServer

API = "https://api.tornado-alf.test"
OTHER = "https://other.tornado-alf.test/v2"


def form(server: AuthServer) -> dict[str, list[str]]:
    """The form fields of the one token request ``server`` got."""
    assert server.token_requests == 1
    fields: dict[str, list[str]] = server.token_request_log[0]["form"]
    return fields


@pytest.mark.parametrize("command", ["token", "fetch"])
async def test_flags_add_repeatable_resource_and_params(auth_server: AuthServer, command: str) -> None:
    target = [auth_server.resource_url] if command == "fetch" else []
    run = await cli(
        command, *target, "--resource", API, "--resource", OTHER,
        "--param", "tenant=blue", "--param", "claim=a", "--param", "claim=b=c", "--param", "empty=",
        env=env_for(auth_server),
    )
    assert run.status == 0, run.stderr
    fields = form(auth_server)
    assert fields["resource"] == [API, OTHER]
    assert fields["tenant"] == ["blue"]
    assert fields["claim"] == ["a", "b=c"]  # only the first '=' splits
    assert fields["empty"] == [""]
    assert fields["grant_type"] == ["client_credentials"]
    if command == "fetch":
        assert json.loads(run.stdout)["path"] == "/resource"


@pytest.mark.parametrize("command", ["token", "fetch"])
async def test_environment_gives_them_when_no_flag_does(auth_server: AuthServer, command: str) -> None:
    target = [auth_server.resource_url] if command == "fetch" else []
    env = {
        **env_for(auth_server),
        "TORNADO_ALF_RESOURCE": f"{API} \n {OTHER}",
        "TORNADO_ALF_PARAMS": "tenant=blue%20green&claim=a&claim=b%26c",
    }
    run = await cli(command, *target, env=env)
    assert run.status == 0, run.stderr
    fields = form(auth_server)
    assert fields["resource"] == [API, OTHER]
    assert fields["tenant"] == ["blue green"]
    assert fields["claim"] == ["a", "b&c"]


async def test_flags_win_over_the_environment(auth_server: AuthServer) -> None:
    env = {**env_for(auth_server), "TORNADO_ALF_RESOURCE": OTHER, "TORNADO_ALF_PARAMS": "tenant=env"}
    run = await cli("token", "--resource", API, "--param", "tenant=flag", env=env)
    assert run.status == 0, run.stderr
    fields = form(auth_server)
    assert fields["resource"] == [API]
    assert fields["tenant"] == ["flag"]


async def test_without_them_no_field_is_added(auth_server: AuthServer) -> None:
    run = await cli("token", env=env_for(auth_server))
    assert run.status == 0, run.stderr
    assert sorted(form(auth_server)) == ["grant_type"]


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--param", "novalue"], {}, "every --param needs the form NAME=VALUE"),
    (["--param", "=value"], {}, "every --param needs the form NAME=VALUE"),
    (["--param", "resource=x"], {}, "--param resource=...: use --resource instead"),
    (["--param", "scope=x"], {}, "--param scope=...: use --scope instead"),
    (["--param", "grant_type=password"], {}, "--param grant_type=...: the client sets grant_type itself"),
    (["--param", "client_secret=hunter2-value"], {}, "the client sets client_secret itself"),
    ([], {"TORNADO_ALF_PARAMS": "tenant=blue&&hunter2-value"}, "TORNADO_ALF_PARAMS must be form-encoded"),
    ([], {"TORNADO_ALF_PARAMS": "audience=x"}, "--param audience=...: use --audience instead"),
])
async def test_malformed_or_reserved_params_are_usage_errors(
    auth_server: AuthServer, args: list[str], env: dict[str, str], message: str
) -> None:
    run = await cli("token", *args, env={**env_for(auth_server), **env})
    assert run.status == 2
    assert run.stderr.startswith("tornado-alf: ")
    assert message in run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert "hunter2-value" not in run.stderr  # a value may be a credential: never quoted back
    assert auth_server.token_requests == 0


async def test_help_lists_both_options_and_their_variables() -> None:
    for command in ("token", "fetch"):
        run = await cli(command, "--help")
        assert run.status == 0
        text = " ".join(run.stdout.split())
        for expected in ("--resource URI", "--param NAME=VALUE", "TORNADO_ALF_RESOURCE", "TORNADO_ALF_PARAMS"):
            assert expected in text


async def test_issuer_discovery_sends_them_too(auth_server: AuthServer) -> None:
    run = await cli(
        "token", "--issuer", auth_server.base_url, "--allow-insecure-http", "--client-id", CLIENT_ID,
        "--resource", API, "--param", "tenant=blue", env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET},
    )
    assert run.status == 0, run.stderr
    assert form(auth_server)["resource"] == [API]
    assert form(auth_server)["tenant"] == ["blue"]
