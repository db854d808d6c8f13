"""The package as users get it: installed metadata, the demo command, the README's code."""

from __future__ import annotations

import importlib.metadata
import pathlib
import re
import subprocess
import sys

import tornado_alf

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_public_surface_and_version() -> None:
    assert tornado_alf.__version__ == importlib.metadata.version("tornado-alf")
    for name in ("TornadoClient", "TokenError", "Retry", "MemoryTokenStore"):
        assert name in tornado_alf.__all__
    from tornado_alf.client import TornadoClient

    assert TornadoClient is tornado_alf.TornadoClient
    assert (pathlib.Path(tornado_alf.__file__).parent / "py.typed").exists()


def test_installed_package_imports_outside_the_checkout(tmp_path: pathlib.Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import tornado_alf, sys; print(tornado_alf.__version__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
    )
    assert result.stdout.strip() == importlib.metadata.version("tornado-alf")


def test_demo_command_tells_what_happened() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tornado_alf", "demo"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "200 concurrent requests on a cold client: 200 answered 200" in result.stdout
    assert "1 token request(s) made" in result.stdout
    assert "1 refresh, 200/200 answered 200" in result.stdout


def test_readme_python_blocks_compile() -> None:
    readme = (ROOT / "README.rst").read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", readme)
    assert len(blocks) >= 3
    for block in blocks:
        source = "\n".join(line[4:] for line in block.splitlines())
        compile(source, "README.rst", "exec")


def test_readme_commands_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.rst").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = re.search(r"^    (pip install .*pytest.*)$", readme, re.MULTILINE)
    assert test_command is not None
    assert test_command.group(1) in ci
