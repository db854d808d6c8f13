"""The documentation a new user starts with, run as printed (issue 16, items 1, 4, 6 and 7).

The tutorial becomes a project of its own in a temporary directory (``things.py`` from
steps 1 to 4, ``test_things.py`` and the ``pyproject.toml`` of step 5, each exactly as
printed) and pytest runs it with that configuration, not this repository's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tornado_alf
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.test_docs import DOCS, ROOT, python_blocks
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

TUTORIAL = DOCS / "tutorial.rst"
TOML_BLOCK = re.compile(r"\.\. code-block:: toml\n\n((?:    .*\n|\n)+)")


def tutorial_project(directory: Path, with_configuration: bool = True) -> Path:
    """The tutorial's files in ``directory``, exactly as printed."""
    blocks = python_blocks(TUTORIAL)
    first_test = next(i for i, block in enumerate(blocks) if "async def test_" in block)
    assert first_test == len(blocks) - 1  # steps 1 to 4 are things.py, step 5 its test
    (directory / "things.py").write_text("\n\n".join(blocks[:first_test]))
    (directory / "test_things.py").write_text(blocks[first_test])
    if with_configuration:
        (toml,) = TOML_BLOCK.findall(TUTORIAL.read_text())
        (directory / "pyproject.toml").write_text("\n".join(line[4:] for line in toml.splitlines()) + "\n")
    else:  # a configuration file of its own, so that no other one up the tree is found
        (directory / "pytest.ini").write_text("[pytest]\n")
    return directory


def run_pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST")}
    environment["PYTHONPATH"] = str(ROOT)  # this checkout's tornado_alf, not another install's
    environment["THINGS_CLIENT_SECRET"] = "anything"  # things.py reads it at import
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=directory, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )


# 4. the tutorial's tests, with the configuration it shows


def test_tutorial_tests_pass_as_printed_in_a_project_of_their_own(tmp_path: Path) -> None:
    result = run_pytest(tutorial_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rootdir: {tmp_path}" in result.stdout
    assert "configfile: pyproject.toml" in result.stdout
    assert re.search(r"=+ 2 passed in ", result.stdout), result.stdout
    assert "warnings summary" not in result.stdout  # the configuration shown raises no deprecation


def test_without_the_configuration_the_tests_fail_as_the_issue_says(tmp_path: Path) -> None:
    # Without pytest-asyncio's auto mode pytest refuses the async tests (or, first, their
    # async fixtures): the configuration printed is what makes them run.
    result = run_pytest(tutorial_project(tmp_path, with_configuration=False))
    assert result.returncode != 0
    assert "passed" not in result.stdout
    assert re.search(r"async def functions are not natively supported|requested an async fixture", result.stdout)


# 7. a closed client refuses


async def test_a_closed_client_refuses_later_calls_as_the_tutorial_says(auth_server: AuthServer) -> None:
    assert "``fetch()`` and ``get_token()`` raise ``RuntimeError``" in " ".join(TUTORIAL.read_text().split())
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.fetch(auth_server.resource_url)
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_token()
    assert auth_server.resource_requests == 1


# 6. the API reference lists every public name; ClientStats serialises with asdict


def test_api_reference_documents_every_public_name() -> None:
    text = (DOCS / "api.rst").read_text()
    documented = set(re.findall(r"^\.\. (?:autoclass|autoexception|autofunction|data):: (\w+)", text, re.MULTILINE))
    assert set(tornado_alf.__all__) <= documented, set(tornado_alf.__all__) - documented


def test_api_reference_says_client_stats_is_a_dataclass() -> None:
    assert dataclasses.is_dataclass(tornado_alf.ClientStats)
    assert tornado_alf.ClientStats.__doc__ is not None
    assert "dataclasses.asdict(client.stats())" in tornado_alf.ClientStats.__doc__


async def test_observability_stats_json_snippet_runs_as_printed(auth_server: AuthServer) -> None:
    (snippet,) = [block for block in python_blocks(DOCS / "observability.rst") if "def stats_json" in block]
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    namespace: dict[str, Any] = {"client": client}
    exec(compile(snippet, "observability.rst", "exec"), namespace)  # noqa: S102 - our own documentation
    try:
        await client.fetch(auth_server.resource_url)
        await client.fetch(auth_server.resource_url)
    finally:
        client.close()
    stats = json.loads(namespace["stats_json"]())
    assert stats == dataclasses.asdict(client.stats())
    assert (stats["token_requests"], stats["cache_misses"], stats["cache_hits"]) == (1, 1, 1)
    assert set(stats) == {field.name for field in dataclasses.fields(tornado_alf.ClientStats)}


# 1. install instructions that work as written


def command_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("pip install")]


@pytest.mark.parametrize("page", [ROOT / "README.rst", DOCS / "index.rst"], ids=["README.rst", "index.rst"])
def test_install_commands_never_take_the_name_from_the_index(page: Path) -> None:
    text = page.read_text()
    commands = command_lines(text)
    assert commands
    for command in commands:
        # The index's tornado-alf is the 2015 package: a bare name (with or without extras) installs it.
        assert not re.search(r"""pip install ['"]?tornado-alf(\[\w+\])?['"]?\s*(#|$)""", command), command
    flat = " ".join(text.split())
    assert "0.4.4" in flat
    assert "``tornadoalf`` only" in flat


@pytest.mark.timeout(600)
def test_the_readme_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    # The README's wheel line, run in a copy of the package's files (an in-tree build would
    # leave build/ and *.egg-info in the checkout), then installed into a new venv.
    readme = (ROOT / "README.rst").read_text()
    (wheel_line,) = [line.strip() for line in readme.splitlines() if line.strip().startswith("pip wheel")]
    assert wheel_line.startswith("pip wheel --no-deps -w dist . && pip install dist/tornado_alf-*.whl")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("setup.py", "setup.cfg", "README.rst"):
        (checkout / name).write_bytes((ROOT / name).read_bytes())
    for package in ("tornado_alf", "tornadoalf"):
        copy_tree(ROOT / package, checkout / package)
    environment = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", "dist", "."], cwd=checkout,
                           env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = (checkout / "dist").glob("tornado_alf-*.whl")
    venv = tmp_path / "venv"
    # Tornado comes from the system's site-packages: the test needs no download beyond the build.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   env=environment, check=True, timeout=120, capture_output=True)
    show = "import tornado_alf; print(tornado_alf.__version__, tornado_alf.__file__)"
    where = subprocess.run([str(python), "-c", show], cwd=tmp_path, env=environment,
                           capture_output=True, text=True, timeout=60, check=True)
    version, path = where.stdout.split()
    assert version == tornado_alf.__version__
    assert Path(path).is_relative_to(venv)
    demo = subprocess.run([str(venv / "bin" / "tornado-alf"), "demo"], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120, check=True)
    assert "200 concurrent requests on a cold client: 200 answered 200" in demo.stdout


def copy_tree(source: Path, target: Path) -> None:
    for path in source.rglob("*"):
        if "__pycache__" in path.parts or path.is_dir():
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(path.read_bytes())
