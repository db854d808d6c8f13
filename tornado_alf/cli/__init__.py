"""``tornado-alf``: parse, run the command, and turn each kind of failure into an exit status.

Expected failures print one line on stderr (``tornado-alf: ...``) and no traceback;
every line printed passes through the run's `Masker`, so neither the client secret
nor a token can show, whatever a server quoted back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from collections.abc import Awaitable, Sequence
from typing import Callable, Optional

from ..errors import TokenError
from ..retry import NETWORK_FAILURE
from .commands import ResourceError, ResourceUnreachable, Streams, run_fetch, run_token
from .demo import run_demo
from .output import WarningLines, error_line, token_error_line
from .parser import build_parser
from .settings import UsageError, check_stdin_once, credentials
from .trace import Masker

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_TOKEN = 3
EXIT_RESOURCE = 4
EXIT_NETWORK = 5
EXIT_INTERRUPTED = 130

_COMMANDS = {"token": run_token, "fetch": run_fetch}


def main(argv: Optional[Sequence[str]] = None, streams: Optional[Streams] = None) -> int:
    """Run ``tornado-alf`` with ``argv`` (default: the process's); the exit status.

    :arg streams: stdin, stdout and stderr to use instead of the process's.
    """
    streams = streams or Streams()
    args = build_parser().parse_args(argv)  # argparse exits 2 with usage on its own errors
    if args.command == "demo":
        return _guarded(run_demo, Masker(), streams, verbose=False)
    masker = Masker()
    try:
        check_stdin_once(args)
        creds = credentials(args, os.environ, streams.stdin)
    except UsageError as exc:
        streams.stderr.write(error_line(str(exc)))
        return EXIT_USAGE
    masker.learn(creds.client_secret)
    for warning in creds.warnings:
        streams.stderr.write(error_line(warning))
    command = _COMMANDS[args.command]
    # Tornado logs a failed TLS handshake ("error on read") besides raising it; without a
    # handler, logging's last resort would print it as a second error line.
    tornado_log = logging.getLogger("tornado")
    if not tornado_log.handlers:  # main() may run many times in one process
        tornado_log.addHandler(logging.NullHandler())
    # The library's warnings (an auth method the issuer does not list...) as our own lines.
    warnings = WarningLines(streams.stderr, masker.text)
    logging.getLogger("tornado_alf").addHandler(warnings)
    try:
        return _guarded(lambda: command(creds, args, masker, streams), masker, streams, verbose=args.verbose)
    finally:
        logging.getLogger("tornado_alf").removeHandler(warnings)


def _guarded(
    run: Callable[[], Awaitable[None]], masker: Masker, streams: Streams, *, verbose: bool
) -> int:
    """Run the coroutine ``run`` makes; its failure as an exit status and one masked line."""
    status, message = EXIT_OK, ""
    try:
        asyncio.run(_awaited(run))
    except KeyboardInterrupt:
        status, message = EXIT_INTERRUPTED, "interrupted"
    except Exception as exc:  # the last line of defence: classified, never a raw traceback
        status, message = classify(exc)
        if status == EXIT_UNEXPECTED and verbose:
            streams.stderr.write(masker.text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
    if message:
        _write_error(streams, masker.text(error_line(message)))
    return status


def _write_error(streams: Streams, line: str) -> None:
    try:
        streams.stderr.write(line)
        streams.stderr.flush()
    except (OSError, ValueError):  # stderr closed: the exit status still tells
        pass


async def _awaited(run: Callable[[], Awaitable[None]]) -> None:
    await run()


def classify(exc: Exception) -> tuple[int, str]:
    """The exit status and the line to print for ``exc``."""
    if isinstance(exc, TokenError):
        return (EXIT_NETWORK if exc.code == NETWORK_FAILURE else EXIT_TOKEN), token_error_line(exc)
    if isinstance(exc, ResourceError):
        return EXIT_RESOURCE, str(exc)
    if isinstance(exc, ResourceUnreachable):
        return EXIT_NETWORK, str(exc)
    if isinstance(exc, (UsageError, ValueError)):  # TornadoClient names the argument it refuses
        return EXIT_USAGE, str(exc)
    return EXIT_UNEXPECTED, f"unexpected error: {type(exc).__name__}: {exc} (--verbose shows where)"
