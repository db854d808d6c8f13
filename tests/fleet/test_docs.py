"""The Redis section of the README (kept in docs/_sections until merged) holds valid Python."""

from __future__ import annotations

import pathlib
import re

SECTION = pathlib.Path(__file__).resolve().parents[2] / "docs" / "_sections" / "redis.rst"


def test_redis_section_python_blocks_compile() -> None:
    text = SECTION.read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    assert blocks
    for block in blocks:
        compile("\n".join(line[4:] for line in block.splitlines()), str(SECTION), "exec")
