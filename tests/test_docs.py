"""The documentation: every Python example is valid code, the test examples pass, Sphinx builds clean."""

from __future__ import annotations

import inspect
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)")


def rst_files() -> list[pathlib.Path]:
    return sorted(path for path in DOCS.rglob("*.rst") if "_build" not in path.relative_to(DOCS).parts)


def python_blocks(path: pathlib.Path) -> list[str]:
    return ["\n".join(line[4:] for line in block.splitlines()) for block in BLOCK.findall(path.read_text())]


WITH_EXAMPLES = [path for path in rst_files() if ".. code-block:: python" in path.read_text()]
# The tutorial's tests use fixtures and import its things.py: tests/test_first_hour_docs.py runs
# them with pytest, in a project of their own.
WITH_TESTS = [
    path for path in WITH_EXAMPLES
    if any("async def test_" in b for b in python_blocks(path)) and path.name != "tutorial.rst"
]


def page_id(path: pathlib.Path) -> str:
    return path.relative_to(DOCS).as_posix()


@pytest.mark.parametrize("page", WITH_EXAMPLES, ids=[page_id(path) for path in WITH_EXAMPLES])
def test_code_blocks_compile(page: pathlib.Path) -> None:
    blocks = python_blocks(page)
    # A block the pattern misses (an option line, a tab) would go unchecked: count them.
    assert len(blocks) == page.read_text().count(".. code-block:: python")
    for block in blocks:
        compile(block, page.name, "exec")


def test_every_page_with_examples_is_collected() -> None:
    names = {page_id(path) for path in WITH_EXAMPLES}
    for page in ("tutorial.rst", "testing.rst", "migration.rst", "retries.rst", "storage/generic.rst",
                 "_sections/auth.rst", "_sections/redis.rst"):
        assert page in names


@pytest.mark.parametrize("page", WITH_TESTS, ids=[page_id(path) for path in WITH_TESTS])
async def test_test_examples_pass(page: pathlib.Path) -> None:
    # Blocks that define tests run in one namespace (a later one may use an earlier one's imports).
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    for block in python_blocks(page):
        if "async def test_" in block:
            exec(compile(block, page.name, "exec"), namespace)  # noqa: S102 - our own documentation
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        assert inspect.iscoroutinefunction(test)
        await test()


def test_sphinx_builds_without_a_warning(tmp_path: pathlib.Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), "docs", str(tmp_path / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    assert (tmp_path / "html" / "api.html").exists()
    assert "TornadoClient.fetch" in (tmp_path / "html" / "api.html").read_text()
