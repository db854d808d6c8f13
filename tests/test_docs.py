"""The documentation sections' Python examples are valid code."""

from __future__ import annotations

import pathlib
import re

import pytest

SECTIONS = sorted((pathlib.Path(__file__).resolve().parent.parent / "docs" / "_sections").glob("*.rst"))


@pytest.mark.parametrize("section", SECTIONS, ids=[path.name for path in SECTIONS])
def test_code_blocks_compile(section: pathlib.Path) -> None:
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section.read_text())
    assert blocks
    for block in blocks:
        compile("\n".join(line[4:] for line in block.splitlines()), section.name, "exec")
