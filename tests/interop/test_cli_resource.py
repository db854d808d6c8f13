"""``tornado-alf fetch --resource`` against node oidc-provider, which needs a resource indicator.

Without ``resource`` oidc-provider issues an opaque token that the resource server (which
verifies JWTs with audience RESOURCE) refuses; with it, a JWT for that audience. The CLI
runs as a subprocess, as a user would run it.
"""

from __future__ import annotations

import json

from tests.interop._oidc import OTHER_RESOURCE, RESOURCE, OidcProvider
from tests.test_cli import cli


def env_for(provider: OidcProvider, **more: str) -> dict[str, str]:
    return {
        "TORNADO_ALF_TOKEN_ENDPOINT": provider.token_endpoint,
        "TORNADO_ALF_CLIENT_ID": "basic-client",
        "TORNADO_ALF_CLIENT_SECRET": provider.secrets["basic-client"],
        **more,
    }


async def test_fetch_with_resource_gets_a_token_the_resource_accepts(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    run = await cli("fetch", "--raise", "--resource", RESOURCE, "--scope", "read", protected_resource,
                    env=env_for(oidc_provider))
    assert run.status == 0, run.stderr
    assert json.loads(run.stdout) == {"client_id": "basic-client", "scope": "read"}
    assert run.stderr == ""


async def test_without_resource_the_token_is_refused(oidc_provider: OidcProvider, protected_resource: str) -> None:
    run = await cli("fetch", "--raise", protected_resource, env=env_for(oidc_provider))
    assert (run.status, run.stdout) == (4, "")
    warning, error = run.stderr.splitlines()
    # The fresh token is refused too: the library's cool-down warning points at the cause.
    assert warning.startswith("tornado-alf: warning: ")
    assert "refused a freshly issued token" in warning
    assert "resource" in warning
    assert error == f"tornado-alf: resource answered 401 Unauthorized: GET {protected_resource}"


async def test_resource_from_the_environment(oidc_provider: OidcProvider, protected_resource: str) -> None:
    run = await cli("fetch", "--raise", protected_resource,
                    env=env_for(oidc_provider, TORNADO_ALF_RESOURCE=RESOURCE))
    assert run.status == 0, run.stderr
    assert json.loads(run.stdout)["client_id"] == "basic-client"


async def test_issuer_discovery_with_resource(oidc_provider: OidcProvider, protected_resource: str) -> None:
    run = await cli(
        "fetch", "--raise", "--issuer", oidc_provider.issuer, "--allow-insecure-http",
        "--client-id", "post-client", "--auth-method", "client_secret_post", "--resource", RESOURCE,
        protected_resource, env={"TORNADO_ALF_CLIENT_SECRET": oidc_provider.secrets["post-client"]},
    )
    assert run.status == 0, run.stderr
    assert json.loads(run.stdout)["client_id"] == "post-client"


async def test_two_resources_reach_the_server_as_two_fields(oidc_provider: OidcProvider) -> None:
    # oidc-provider refuses more than one resource for this grant: its refusal proves both arrived.
    run = await cli("token", "--resource", RESOURCE, "--resource", OTHER_RESOURCE, env=env_for(oidc_provider))
    assert run.status == 3
    assert run.stderr.startswith("tornado-alf: token endpoint refused the request: invalid_target")
    assert "single resource" in run.stderr


async def test_unknown_resource_is_invalid_target(oidc_provider: OidcProvider) -> None:
    run = await cli("token", "--resource", "https://unknown.tornado-alf.test", env=env_for(oidc_provider))
    assert run.status == 3
    assert run.stderr.startswith("tornado-alf: token endpoint refused the request: invalid_target")
