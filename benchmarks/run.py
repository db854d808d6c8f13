"""Benchmarks of tornado_alf against raw AsyncHTTPClient: ``python benchmarks/run.py [--quick]``.

Starts the local auth server (token endpoint and resource) in its own process and,
for the fleet, a redis-server on an ephemeral port; prints one markdown table
(figure, value, target, pass/fail) and writes the same as JSON. See ``--help``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's tornado_alf and benchmarks package, ahead of any installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._main import main

if __name__ == "__main__":
    sys.exit(main())
