"""``python -m tornado_alf`` / ``tornado-alf``: command-line entry point."""

from __future__ import annotations

import argparse
import asyncio
from typing import Optional

from ._demo import run_demo


def main(argv: Optional[list[str]] = None) -> None:
    """Run the command named on the command line."""
    parser = argparse.ArgumentParser(
        prog="tornado-alf", description="OAuth 2.0 client credentials for Tornado"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the embedded demo against a local authorization server")
    args = parser.parse_args(argv)
    if args.command == "demo":
        asyncio.run(run_demo())


if __name__ == "__main__":
    main()
