"""``python -m tornado_alf`` / ``tornado-alf``: command-line entry point (see `tornado_alf.cli`)."""

from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
