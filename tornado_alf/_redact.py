"""Blanking secrets out of text: what the library and the CLI show instead of a credential."""

from __future__ import annotations

from collections.abc import Collection

#: What stands in for a secret or a token wherever one would have shown.
HIDDEN = "[hidden]"


def fold(text: str) -> str:
    """``text`` on one line, runs of whitespace as one space."""
    return " ".join(text.split())


def blanked(text: str, hide: Collection[str]) -> str:
    """``text`` with every non-empty string of ``hide`` replaced by `HIDDEN`.

    Longest first, so that a secret containing a shorter one is hidden whole.
    """
    for needle in sorted(set(hide) - {""}, key=len, reverse=True):
        text = text.replace(needle, HIDDEN)
    return text


def redacted(text: str, hide: Collection[str]) -> str:
    """``text`` on one line with every string of ``hide`` replaced by `HIDDEN`.

    Applied to server-supplied text before `~tornado_alf.TokenError` cuts it short, so
    that a secret the server quoted back cannot survive in part past the cut.
    """
    return blanked(fold(text), {fold(needle) for needle in hide})
